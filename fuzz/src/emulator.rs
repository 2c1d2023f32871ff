//! `emulator`: the instruction emulator on random instruction bytes and a
//! random vCPU (mode, registers, segments, flags), either over flat memory
//! (linear = physical, the emulator alone) or over the domain's real memory
//! path: the instruction fetched at CS:RIP through the guest's paging, its
//! operands split between guest RAM, a read-only alias and an MMIO device,
//! as `exits/mmio.rs` runs it.
//!
//! Input: a mode byte, 15 instruction bytes, the vCPU state, then memory
//! patches (address, length, bytes) until the input ends.

use crate::input::Input;
use crate::vcpu::{fill_gprs, real_mode, FakeVcpu};
use device_model::mmio_bus::{MmioBus, MmioDevice};
use iced_x86::{Decoder, DecoderOptions};
use std::cell::RefCell;
use vmm_core::emulator::fetch::decode_at_rip;
use vmm_core::emulator::guest_access::GuestAccess;
use vmm_core::emulator::{emulate, EmuError, EmuMemory, GuestFault};
use vmm_core::guest_memory::{Alias, GuestMemory};
use vmm_core::vcpu::{SegReg, Segment, Vcpu};

/// Flat memory's size: every access past it is a #GP.
const FLAT_SIZE: usize = 0x1_0000;
/// Guest RAM of the real-memory path.
const RAM_SIZE: usize = 0x4_0000;
/// A 64 KiB read-only alias of RAM at the top of 4 GiB, as the BIOS ROM has.
const ALIAS: Alias = Alias {
    gpa: 0xFFFF_0000,
    len: 0x1_0000,
    target: 0x3_0000,
};
/// An MMIO register file right above RAM.
const MMIO_BASE: u64 = RAM_SIZE as u64;
const MMIO_LEN: u64 = 0x1000;
/// Physical-address width of the guest (CPUID 8000_0008h).
const MAX_PHYS_BITS: u8 = 40;

/// Linear = physical memory that refuses anything outside its bytes.
struct FlatMemory(Vec<u8>);

impl FlatMemory {
    fn range(&self, linear: u64, len: usize) -> Result<std::ops::Range<usize>, EmuError> {
        let end = linear
            .checked_add(len as u64)
            .ok_or(EmuError::Fatal { gpa: linear })?;
        if end > self.0.len() as u64 {
            return Err(EmuError::Fault(GuestFault::gp()));
        }
        Ok(linear as usize..end as usize)
    }
}

impl EmuMemory for FlatMemory {
    fn read(&mut self, _: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError> {
        let r = self.range(linear, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }

    fn write(&mut self, _: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError> {
        let r = self.range(linear, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
}

/// An MMIO register file: 8-byte registers that read back what was written.
struct Registers([u64; (MMIO_LEN / 8) as usize]);

impl MmioDevice for Registers {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        let value = self.0[(offset / 8) as usize % self.0.len()];
        value >> (8 * (offset % 8)) & mask(size)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.0[(offset / 8) as usize % self.0.len()] = value & mask(size);
    }
}

fn mask(size: u8) -> u64 {
    match size {
        8.. => u64::MAX,
        n => (1u64 << (8 * u32::from(n))) - 1,
    }
}

thread_local! {
    /// The real-memory path's RAM, allocated once (guest memory is
    /// `'static`, as the hypervisor's is) and cleared before every run.
    static GUEST: RefCell<GuestMemory> = RefCell::new({
        let mut m = GuestMemory::new(Box::leak(vec![0u8; RAM_SIZE].into_boxed_slice()));
        assert!(m.add_alias(ALIAS));
        m
    });
}

/// The vCPU: mode, flags, control registers, segments, registers.
fn vcpu(mode: u8, input: &mut Input) -> FakeVcpu {
    let mut v = real_mode(0, 0);
    v.rflags = 2 | (u64::from(input.u16()) & 0x4DD5);
    let bitness = mode & 3;
    match bitness {
        // 64-bit: long mode, paging, CS.L.
        2 | 3 => {
            v.cr.cr0 = 0x8000_0011;
            v.cr.cr4 = 1 << 5;
            v.cr.efer = (1 << 8) | (1 << 10);
        }
        // 32-bit protected mode, maybe with (PAE) paging.
        1 => {
            v.cr.cr0 = 0x11 | if mode & 8 != 0 { 1 << 31 } else { 0 };
            v.cr.cr4 = if mode & 16 != 0 { 1 << 5 } else { 0 };
        }
        _ => {}
    }
    if mode & 32 != 0 {
        // Write protection, SMAP and the like: whatever the input says.
        v.cr.cr0 ^= u64::from(input.u32()) & 0x0005_0000;
        v.cr.cr4 ^= u64::from(input.u32()) & 0x0030_0000;
        v.cr.efer |= u64::from(input.u8() & 1) << 11;
    }
    v.cr.cr3 = u64::from(input.u32() & 0x3_F000) | u64::from(input.u8() & 0x18);
    for (i, seg) in v.segments.iter_mut().enumerate() {
        let attrs = input.u16();
        *seg = Segment {
            selector: input.u16(),
            // Keep the segment present and of the right kind most of the time.
            attrs: if attrs & 0x8000 != 0 {
                attrs & 0xFFF
            } else if i == 1 {
                0x9B | (attrs & 0x600)
            } else {
                0x93 | (attrs & 0x400)
            },
            limit: if input.bool() { u32::MAX } else { 0xFFFF },
            base: u64::from(input.u16() & 0xFFF0),
        };
    }
    if bitness >= 2 {
        v.segments[SegReg::Cs as usize].attrs |= Segment::ATTR_L;
        v.segments[SegReg::Cs as usize].attrs &= !Segment::ATTR_DB;
    } else if bitness == 1 {
        v.segments[SegReg::Cs as usize].attrs |= Segment::ATTR_DB;
    }
    v.rip = u64::from(input.u16());
    fill_gprs(&mut v, input);
    for x in v.xmm.iter_mut() {
        *x = if input.bool() {
            u128::from(input.u64()) | u128::from(input.u64()) << 64
        } else {
            0
        };
    }
    v
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let insn_bytes: [u8; 15] = input.array();
    let mut v = vcpu(mode, &mut input);
    if mode & 4 == 0 {
        flat(&mut v, &insn_bytes, &mut input);
    } else {
        guest_path(&mut v, &insn_bytes, &mut input);
    }
}

/// The emulator alone, over flat memory.
fn flat(v: &mut FakeVcpu, insn_bytes: &[u8; 15], input: &mut Input) {
    let bitness = match v.segments[SegReg::Cs as usize] {
        cs if cs.attrs & Segment::ATTR_L != 0 => 64,
        cs if cs.attrs & Segment::ATTR_DB != 0 => 32,
        _ => 16,
    };
    let insn = Decoder::with_ip(bitness, insn_bytes, v.rip, DecoderOptions::NONE).decode();
    if insn.is_invalid() {
        return;
    }
    let mut mem = FlatMemory(vec![0u8; FLAT_SIZE]);
    while !input.is_empty() {
        let at = usize::from(input.u16());
        let len = usize::from(input.u8() % 64);
        let bytes = input.bytes(len);
        let end = (at + bytes.len()).min(FLAT_SIZE);
        mem.0[at..end].copy_from_slice(&bytes[..end - at]);
    }
    let _ = emulate(v, &mut mem, &insn);
}

/// The MMIO exit's path: fetch through the guest's paging, then execute
/// against RAM, the alias and the MMIO bus.
fn guest_path(v: &mut FakeVcpu, insn_bytes: &[u8; 15], input: &mut Input) {
    GUEST.with(|guest| {
        let mut memory = guest.borrow_mut();
        memory.ram_mut().fill(0);
        // The instruction where CS:RIP points when paging is off (with paging
        // on, wherever the guest's tables say, if anywhere).
        let cs = v.segments[SegReg::Cs as usize];
        let code = cs.base.wrapping_add(v.rip) as usize % RAM_SIZE;
        let end = (code + insn_bytes.len()).min(RAM_SIZE);
        memory.ram_mut()[code..end].copy_from_slice(&insn_bytes[..end - code]);
        // Page tables and data: patches anywhere in RAM.
        while !input.is_empty() {
            let at = (input.u32() as usize) % RAM_SIZE;
            let len = usize::from(input.u8() % 64);
            let bytes = input.bytes(len);
            let end = (at + bytes.len()).min(RAM_SIZE);
            memory.ram_mut()[at..end].copy_from_slice(&bytes[..end - at]);
        }
        let insn = match decode_at_rip(v, &mut memory, MAX_PHYS_BITS) {
            Ok(insn) => insn,
            Err(_) => return,
        };
        let mut mmio = MmioBus::default();
        mmio.register(MMIO_BASE, MMIO_LEN, Box::new(Registers([0; 512])))
            .expect("one device cannot conflict");
        let mut access = GuestAccess {
            memory: &mut memory,
            mmio: &mut mmio,
            max_phys_bits: MAX_PHYS_BITS,
        };
        let _ = emulate(v, &mut access, &insn);
    });
}
