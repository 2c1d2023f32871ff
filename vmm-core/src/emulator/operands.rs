//! Reading and writing instruction operands: registers (with the partial-
//! register rules of Intel SDM vol. 1, 3.4.1.1 "General-Purpose Registers in
//! 64-Bit Mode": 32-bit writes zero-extend, 8/16-bit writes merge), memory
//! through [`EmuMemory`] at the effective address iced-x86 computes from the
//! guest's registers and segment bases, and immediates.

use super::{EmuError, EmuMemory, GuestFault};
use crate::emulator::fetch::code_bitness;
use crate::vcpu::{vector, Exception, SegReg, Segment, Vcpu};
use iced_x86::{Instruction, OpKind, Register};

/// A general-purpose register: its index in `Gprs`, width in bytes, and
/// whether it is one of AH/CH/DH/BH.
fn gpr_slot(reg: Register) -> Option<(usize, u8, bool)> {
    if reg.is_gpr8() {
        let n = reg as usize - Register::AL as usize;
        // Without REX the encodings 4-7 are AH, CH, DH, BH; iced lists them
        // right after BL and before SPL.
        return match reg {
            Register::AH | Register::CH | Register::DH | Register::BH => {
                Some((reg as usize - Register::AH as usize, 1, true))
            }
            Register::SPL | Register::BPL | Register::SIL | Register::DIL => {
                Some((4 + reg as usize - Register::SPL as usize, 1, false))
            }
            _ if n < 4 => Some((n, 1, false)),
            _ => Some((8 + reg as usize - Register::R8L as usize, 1, false)),
        };
    }
    if reg.is_gpr16() {
        return Some((reg as usize - Register::AX as usize, 2, false));
    }
    if reg.is_gpr32() {
        return Some((reg as usize - Register::EAX as usize, 4, false));
    }
    if reg.is_gpr64() {
        return Some((reg as usize - Register::RAX as usize, 8, false));
    }
    None
}

/// Mask of `size` bytes.
pub fn mask(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        4 => 0xFFFF_FFFF,
        _ => u64::MAX,
    }
}

/// Reads a general-purpose register, zero-extended.
pub fn read_reg(vcpu: &dyn Vcpu, reg: Register) -> Option<u64> {
    let (i, size, high) = gpr_slot(reg)?;
    let v = vcpu.gprs()[i];
    Some(if high {
        (v >> 8) & 0xFF
    } else {
        v & mask(size)
    })
}

/// Writes a general-purpose register with the merge/zero-extension rules.
pub fn write_reg(vcpu: &mut dyn Vcpu, reg: Register, value: u64) -> Option<()> {
    let (i, size, high) = gpr_slot(reg)?;
    let g = &mut vcpu.gprs_mut()[i];
    *g = match (size, high) {
        (1, true) => (*g & !0xFF00) | ((value & 0xFF) << 8),
        (4, _) => value & 0xFFFF_FFFF,
        (8, _) => value,
        _ => (*g & !mask(size)) | (value & mask(size)),
    };
    Some(())
}

/// The segment an iced segment register names.
pub fn seg_reg(reg: Register) -> SegReg {
    match reg {
        Register::ES => SegReg::Es,
        Register::CS => SegReg::Cs,
        Register::SS => SegReg::Ss,
        Register::FS => SegReg::Fs,
        Register::GS => SegReg::Gs,
        _ => SegReg::Ds,
    }
}

/// #GP(0), or #SS(0) for a stack-segment access (Intel SDM vol. 3A, 7.15:
/// "Interrupt 12—Stack Fault Exception" and "Interrupt 13—General Protection").
fn segment_fault(seg: SegReg) -> EmuError {
    let vector = if seg == SegReg::Ss {
        vector::SS
    } else {
        vector::GP
    };
    EmuError::Fault(GuestFault {
        exception: Exception {
            vector,
            error_code: Some(0),
        },
        cr2: None,
    })
}

/// The linear address of `size` bytes at `offset` in segment `seg`, after the
/// checks the processor makes (Intel SDM vol. 3A, 3.4.5.1 "Code- and
/// Data-Segment Descriptor Types" for expand-down limits; 3.3.7.1 "Canonical
/// Addressing" in 64-bit mode, where only FS and GS have a base). Real mode
/// also checks the 64 KiB (or unreal) limit.
pub fn checked_linear(
    vcpu: &dyn Vcpu,
    seg: SegReg,
    offset: u64,
    size: u8,
) -> Result<u64, EmuError> {
    let cr = vcpu.control_regs();
    let segment = vcpu.segment(seg);
    let last = offset.wrapping_add(u64::from(size.max(1)) - 1);
    if code_bitness(cr.cr0, cr.efer, &vcpu.segment(SegReg::Cs)) == 64 {
        let base = if matches!(seg, SegReg::Fs | SegReg::Gs) {
            segment.base
        } else {
            0
        };
        let linear = base.wrapping_add(offset);
        let canonical = |a: u64| ((a as i64) << 16 >> 16) as u64 == a;
        if !canonical(linear) || !canonical(linear.wrapping_add(u64::from(size.max(1)) - 1)) {
            return Err(segment_fault(seg));
        }
        return Ok(linear);
    }
    let limit = u64::from(segment.limit);
    // Data segment type bit 2 (with bit 3 clear): expand-down.
    let expand_down = segment.attrs & 0x1C == 0x14;
    let within = if expand_down {
        let top = if segment.attrs & Segment::ATTR_DB != 0 {
            0xFFFF_FFFF
        } else {
            0xFFFF
        };
        offset > limit && last <= top && last >= offset
    } else {
        last <= limit && last >= offset
    };
    if !within {
        return Err(segment_fault(seg));
    }
    Ok(segment.base.wrapping_add(offset) & 0xFFFF_FFFF)
}

/// The linear address of memory operand `op`, checked for `size` bytes.
pub fn linear_address(vcpu: &dyn Vcpu, insn: &Instruction, op: u32) -> Result<u64, EmuError> {
    // The effective address alone (segment bases as 0), masked to the address size by iced.
    let offset = insn
        .try_virtual_address(op, 0, |reg, _, _| {
            if reg.is_segment_register() {
                Some(0)
            } else {
                read_reg(vcpu, reg)
            }
        })
        .ok_or(EmuError::Unsupported(insn.mnemonic()))?;
    checked_linear(
        vcpu,
        seg_reg(insn.memory_segment()),
        offset,
        memory_size(insn),
    )
}

/// Size in bytes of the memory operand.
pub fn memory_size(insn: &Instruction) -> u8 {
    insn.memory_size().size() as u8
}

/// Reads `size` bytes little-endian at `linear`.
pub fn read_mem(
    vcpu: &dyn Vcpu,
    mem: &mut dyn EmuMemory,
    linear: u64,
    size: u8,
) -> Result<u64, EmuError> {
    let mut b = [0u8; 8];
    let n = usize::from(size.min(8));
    mem.read(vcpu, linear, &mut b[..n])?;
    Ok(u64::from_le_bytes(b))
}

/// Writes the low `size` bytes of `value` at `linear`.
pub fn write_mem(
    vcpu: &dyn Vcpu,
    mem: &mut dyn EmuMemory,
    linear: u64,
    size: u8,
    value: u64,
) -> Result<(), EmuError> {
    let n = usize::from(size.min(8));
    mem.write(vcpu, linear, &value.to_le_bytes()[..n])
}

/// Reads operand `op` (register, memory or immediate) of `size` bytes.
pub fn read_operand(
    vcpu: &dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
    op: u32,
) -> Result<u64, EmuError> {
    let unsupported = EmuError::Unsupported(insn.mnemonic());
    match insn.op_kind(op) {
        OpKind::Register => read_reg(vcpu, insn.op_register(op)).ok_or(unsupported),
        OpKind::Memory => {
            let linear = linear_address(vcpu, insn, op)?;
            read_mem(vcpu, mem, linear, memory_size(insn))
        }
        OpKind::Immediate8
        | OpKind::Immediate16
        | OpKind::Immediate32
        | OpKind::Immediate64
        | OpKind::Immediate8to16
        | OpKind::Immediate8to32
        | OpKind::Immediate8to64
        | OpKind::Immediate32to64 => Ok(insn.immediate(op)),
        _ => Err(unsupported),
    }
}

/// Writes `value` to operand `op` (register or memory).
pub fn write_operand(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
    op: u32,
    value: u64,
) -> Result<(), EmuError> {
    match insn.op_kind(op) {
        OpKind::Register => write_reg(vcpu, insn.op_register(op), value)
            .ok_or(EmuError::Unsupported(insn.mnemonic())),
        OpKind::Memory => {
            let linear = linear_address(vcpu, insn, op)?;
            write_mem(vcpu, mem, linear, memory_size(insn), value)
        }
        _ => Err(EmuError::Unsupported(insn.mnemonic())),
    }
}

/// Width in bytes of operand `op`.
pub fn operand_size(insn: &Instruction, op: u32) -> u8 {
    match insn.op_kind(op) {
        OpKind::Register => insn.op_register(op).size() as u8,
        OpKind::Memory => memory_size(insn),
        OpKind::Immediate8 => 1,
        OpKind::Immediate16 | OpKind::Immediate8to16 => 2,
        OpKind::Immediate32 | OpKind::Immediate8to32 => 4,
        _ => 8,
    }
}
