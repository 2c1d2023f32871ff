//! INS/OUTS, with or without REP, completed by the hypervisor: many elements per
//! exit instead of one (Intel SDM vol. 2B, "INS/INSB/INSW/INSD" and
//! "OUTS/OUTSB/OUTSW/OUTSD"; vol. 2B "REP/REPE/REPZ/REPNE/REPNZ").
//!
//! The instruction is decoded (QEMU's SVM gives no decode assists) for its
//! segment and address size. Each element's address goes through the checks
//! the processor makes: segmentation as the mode has it (no ES/DS base in
//! 64-bit mode, limits outside it), then the guest's paging page by page. A
//! REP instruction whose count exceeds [`MAX_ELEMENTS_PER_EXIT`] is left with
//! RIP unchanged and its registers advanced, so the guest re-executes it: REP
//! string instructions are restartable exactly so, and the hypervisor never
//! spends unbounded time on one exit.

use crate::emulator::fetch::{decode_at_rip, FetchError};
use crate::emulator::guest_access::GuestAccess;
use crate::emulator::operands::{checked_linear, seg_reg};
use crate::emulator::{EmuError, GuestFault};
use crate::guest_memory::GuestMemoryError;
use crate::guest_paging::{data_access, raise_page_fault, translate, TranslateError};
use crate::vcpu::{vector, Exception, Gpr, IoAccess, IoDirection, SegReg, Vcpu, RFLAGS_DF};
use device_model::bus::PortIoBus;
use iced_x86::{Mnemonic, OpKind};

/// Most elements moved in one exit.
pub const MAX_ELEMENTS_PER_EXIT: u64 = 64 * 1024;

/// Why a string I/O instruction could not be completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringIoError {
    Fetch(FetchError),
    /// The decoded instruction is not INS/OUTS of the exit's direction and
    /// element size (the exit and the bytes disagree).
    NotStringIo,
    /// The walk of the guest's page tables left its RAM (a #PF is never an
    /// error: the guest takes it).
    Translate(TranslateError),
}

/// Completes (part of) a string I/O instruction through the domain's RAM and
/// MMIO bus; returns true when it is done and RIP has moved past it.
pub fn complete_string_io(
    vcpu: &mut dyn Vcpu,
    access: &mut GuestAccess<'_>,
    bus: &mut PortIoBus,
    io: IoAccess,
) -> Result<bool, StringIoError> {
    let insn = match decode_at_rip(vcpu, access.memory, access.max_phys_bits) {
        Ok(insn) => insn,
        Err(FetchError::PageFault { error_code, linear }) => {
            raise_page_fault(vcpu, error_code, linear);
            return Ok(false);
        }
        Err(e) => return Err(StringIoError::Fetch(e)),
    };
    let is_in = matches!(
        insn.mnemonic(),
        Mnemonic::Insb | Mnemonic::Insw | Mnemonic::Insd
    );
    let is_out = matches!(
        insn.mnemonic(),
        Mnemonic::Outsb | Mnemonic::Outsw | Mnemonic::Outsd
    );
    let agrees = (is_in && io.direction == IoDirection::In
        || is_out && io.direction == IoDirection::Out)
        && matches!(io.size, 1 | 2 | 4)
        && insn.memory_size().size() == usize::from(io.size);
    if !agrees {
        return Err(StringIoError::NotStringIo);
    }
    // INS writes ES:[rDI]; OUTS reads seg:[rSI] with a possible segment override.
    let mem_op = if is_in { 0 } else { 1 };
    let (index, segment) = match insn.op_kind(mem_op) {
        OpKind::MemoryESDI | OpKind::MemoryESEDI | OpKind::MemoryESRDI => (Gpr::Rdi, SegReg::Es),
        OpKind::MemorySegSI | OpKind::MemorySegESI | OpKind::MemorySegRSI => {
            (Gpr::Rsi, seg_reg(insn.memory_segment()))
        }
        _ => return Err(StringIoError::NotStringIo),
    };
    let address_mask: u64 = match insn.op_kind(mem_op) {
        OpKind::MemoryESDI | OpKind::MemorySegSI => 0xFFFF,
        OpKind::MemoryESEDI | OpKind::MemorySegESI => 0xFFFF_FFFF,
        _ => u64::MAX,
    };
    let rep = insn.has_rep_prefix() || insn.has_repne_prefix();
    let size = u64::from(io.size);
    let step = if vcpu.rflags() & RFLAGS_DF != 0 {
        size.wrapping_neg()
    } else {
        size
    };

    let count = if rep {
        vcpu.gprs()[Gpr::Rcx as usize] & address_mask
    } else {
        1
    };
    let todo = count.min(MAX_ELEMENTS_PER_EXIT);
    let mut pointer = vcpu.gprs()[index as usize] & address_mask;
    let mut done = 0;
    let mut halt = None;
    while done < todo {
        let element = element_linear(vcpu, segment, pointer, io.size)
            .and_then(|linear| locate(vcpu, access, linear, io.size, is_in))
            .map(|pieces| transfer(access, bus, io, &pieces, is_in));
        if let Err(e) = element {
            halt = Some(e);
            break;
        }
        pointer = pointer.wrapping_add(step) & address_mask;
        done += 1;
    }

    if done > 0 {
        let g = vcpu.gprs_mut();
        g[index as usize] = address_register(g[index as usize], pointer, address_mask);
        if rep {
            g[Gpr::Rcx as usize] =
                address_register(g[Gpr::Rcx as usize], count - done, address_mask);
        }
    }
    match halt {
        // A fault ends the instruction with the registers of the elements done,
        // as the processor leaves them (SDM vol. 2B, REP: "interrupted"
        // string instructions resume with the updated registers).
        Some(Halt::Fault(fault)) => {
            if let Some(cr2) = fault.cr2 {
                vcpu.set_cr2(cr2);
            }
            vcpu.inject_exception(fault.exception);
            return Ok(false);
        }
        Some(Halt::Stop(e)) => return Err(e),
        None => {}
    }
    let finished = done == count;
    if finished {
        vcpu.set_rip(io.next_rip.unwrap_or(insn.next_ip()));
    }
    Ok(finished)
}

/// The new value of rSI, rDI or rCX after a string instruction updated it at
/// the address size whose mask is `mask`: the address size picks SI/DI/CX,
/// ESI/EDI/ECX or RSI/RDI/RCX (Intel SDM vol. 2B, "REP/REPE/REPZ/REPNE/REPNZ":
/// "In 64-bit mode, if 67H is used to override address size attribute, the
/// count register is ECX and any implicit source/destination operand will use
/// the corresponding 32-bit index register"), and that register is written
/// as any register of its width is: a 16-bit write keeps bits 63:16, a
/// 32-bit write zero-extends into bits 63:32 (vol. 1, 3.4.1.1
/// "General-Purpose Registers in 64-Bit Mode"; outside 64-bit mode bits 63:32
/// are not visible, and are undefined once it is entered).
fn address_register(old: u64, value: u64, mask: u64) -> u64 {
    match mask {
        0xFFFF => (old & !0xFFFF) | (value & 0xFFFF),
        _ => value & mask,
    }
}

/// Why an element did not move.
enum Halt {
    /// The guest takes this fault (#PF, #GP, #SS) with RIP at the instruction.
    Fault(GuestFault),
    /// The guest cannot go on.
    Stop(StringIoError),
}

/// The linear address of the element at `offset` in `segment`, after the
/// segment checks: in 64-bit mode the bases of ES, DS, SS and CS are treated
/// as zero and only an FS or GS override adds its base, and the whole element
/// must be canonical, else #GP(0) (#SS(0) for SS) (Intel SDM vol. 3A, 3.4.4
/// "Segment Loading Instructions in IA-32e Mode", 3.3.7.1 "Canonical
/// Addressing"; AMD APM vol. 2, 4.5.3 "Segment Registers in 64-Bit Mode");
/// elsewhere the element must lie within the segment's limit and the linear
/// address wraps at 4 GiB (SDM vol. 3A, 5.3 "Limit Checking"; vol. 2B,
/// INS/OUTS "Protected Mode Exceptions" and "Real-Address Mode Exceptions").
fn element_linear(vcpu: &dyn Vcpu, segment: SegReg, offset: u64, size: u8) -> Result<u64, Halt> {
    checked_linear(vcpu, segment, offset, size).map_err(|e| match e {
        EmuError::Fault(fault) => Halt::Fault(fault),
        // checked_linear raises nothing else; a segment fault is its only kind.
        EmuError::Unsupported(_) | EmuError::Fatal { .. } => Halt::Fault(GuestFault::gp()),
    })
}

/// One element's bytes in guest-physical memory: the part on the element's
/// first page and, when the element crosses a page boundary, the part on the
/// next page, each translated on its own.
struct Pieces {
    /// (guest-physical address, length) of each part; `count` are used.
    parts: [(u64, usize); 2],
    count: usize,
}

impl Pieces {
    fn parts(&self) -> &[(u64, usize)] {
        &self.parts[..self.count]
    }
}

/// Translates every page an element of `size` bytes at `linear` touches,
/// before any of it is accessed, so an element that faults moves nothing.
///
/// The two linear pages of an element that crosses a page boundary may map
/// to any two physical pages, so each is walked separately; if the second is
/// not accessible the #PF reports CR2 = the first byte on it, the start of
/// that page (Intel SDM vol. 3A, 4.7 "Page-Fault Exceptions" and 6.15
/// "Exception and Interrupt Reference", interrupt 14: CR2 holds the linear
/// address that generated the exception).
fn locate(
    vcpu: &dyn Vcpu,
    access: &mut GuestAccess<'_>,
    linear: u64,
    size: u8,
    write: bool,
) -> Result<Pieces, Halt> {
    let size = usize::from(size);
    let first = (4096 - (linear & 0xFFF) as usize).min(size);
    let kind = data_access(vcpu, write);
    let mut translate = |linear| {
        translate(vcpu, access.memory, access.max_phys_bits, linear, kind).map_err(|e| match e {
            TranslateError::PageFault { error_code, linear } => Halt::Fault(GuestFault {
                exception: Exception {
                    vector: vector::PF,
                    error_code: Some(error_code),
                },
                cr2: Some(linear),
            }),
            TranslateError::TableOutsideRam { .. } => Halt::Stop(StringIoError::Translate(e)),
        })
    };
    let mut pieces = Pieces {
        parts: [(translate(linear)?, first), (0, 0)],
        count: 1,
    };
    if first < size {
        let next = linear.wrapping_add(first as u64);
        pieces.parts[1] = (translate(next)?, size - first);
        pieces.count = 2;
    }
    Ok(pieces)
}

/// Moves one element between the port and the translated `pieces`: INS
/// reads the port once, then stores; OUTS loads, then writes the port once.
fn transfer(
    access: &mut GuestAccess<'_>,
    bus: &mut PortIoBus,
    io: IoAccess,
    pieces: &Pieces,
    is_in: bool,
) {
    let mut bytes = [0u8; 4];
    if is_in {
        bytes = bus.read(io.port, io.size).to_le_bytes();
    }
    let mut at = 0;
    for &(gpa, len) in pieces.parts() {
        let piece = &mut bytes[at..at + len];
        if is_in {
            store(access, gpa, piece);
        } else {
            load(access, gpa, piece);
        }
        at += len;
    }
    if !is_in {
        bus.write(io.port, io.size, u32::from_le_bytes(bytes));
    }
}

/// Stores one element's piece as the platform decodes its address: RAM takes
/// it, the read-only ROM alias ignores it (a ROM has no write path), and
/// anything else is a memory cycle on the MMIO bus, which hands it to the
/// device that claims the address or drops it, as an undecoded write on a PC
/// is. The processor's side of INS is only the store (Intel SDM vol. 2B,
/// INS: "the byte, word, or doubleword ... is transferred to the memory
/// location"); what the store reaches is the platform's.
fn store(access: &mut GuestAccess<'_>, gpa: u64, data: &[u8]) {
    match access.memory.write(gpa, data) {
        Ok(()) | Err(GuestMemoryError::ReadOnly { .. }) => {}
        Err(GuestMemoryError::Unbacked { .. }) => match data.len() {
            n @ (1 | 2 | 4) => {
                let mut value = [0u8; 8];
                value[..n].copy_from_slice(data);
                access.mmio.write(gpa, n as u8, u64::from_le_bytes(value));
            }
            _ => {
                for (i, b) in data.iter().enumerate() {
                    access
                        .mmio
                        .write(gpa.wrapping_add(i as u64), 1, u64::from(*b));
                }
            }
        },
    }
}

/// Loads one element's piece: from RAM or the ROM alias, else from the MMIO
/// bus (all ones where no device claims the address).
fn load(access: &mut GuestAccess<'_>, gpa: u64, buf: &mut [u8]) {
    if access.memory.read(gpa, buf).is_ok() {
        return;
    }
    match buf.len() {
        n @ (1 | 2 | 4) => {
            buf.copy_from_slice(&access.mmio.read(gpa, n as u8).to_le_bytes()[..n]);
        }
        _ => {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = access.mmio.read(gpa.wrapping_add(i as u64), 1) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests;
