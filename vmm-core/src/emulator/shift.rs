//! SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR by 1, CL or imm8 on a memory or
//! register destination (Intel SDM vol. 2B, "SAL/SAR/SHL/SHR—Shift" and
//! "RCL/RCR/ROL/ROR—Rotate"). The count is masked to 5 bits (6 with a 64-bit
//! operand); a masked count of 0 changes no flag.

use super::flags::{AF, CF, OF, PF, SF, STATUS, ZF};
use super::operands::{operand_size, read_operand, write_operand};
use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic};

/// A shift or rotate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    Shl,
    Shr,
    Sar,
    Rol,
    Ror,
    Rcl,
    Rcr,
}

fn op_of(m: Mnemonic) -> Option<ShiftOp> {
    Some(match m {
        Mnemonic::Shl | Mnemonic::Sal => ShiftOp::Shl,
        Mnemonic::Shr => ShiftOp::Shr,
        Mnemonic::Sar => ShiftOp::Sar,
        Mnemonic::Rol => ShiftOp::Rol,
        Mnemonic::Ror => ShiftOp::Ror,
        Mnemonic::Rcl => ShiftOp::Rcl,
        Mnemonic::Rcr => ShiftOp::Rcr,
        _ => return None,
    })
}

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    op_of(m).is_some()
}

fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn msb(v: u64, size: u8) -> u64 {
    (v >> (u32::from(size) * 8 - 1)) & 1
}

fn szp(r: u64, size: u8) -> u64 {
    let mut f = 0;
    if r & mask(size) == 0 {
        f |= ZF;
    }
    if msb(r, size) != 0 {
        f |= SF;
    }
    if (r as u8).count_ones().is_multiple_of(2) {
        f |= PF;
    }
    f
}

/// Result, new RFLAGS, and the status flags the SDM leaves undefined for
/// these inputs (tests do not compare those).
pub fn shift(op: ShiftOp, size: u8, a: u64, count: u64, flags: u64) -> (u64, u64, u64) {
    let bits = u32::from(size) * 8;
    let masked = (count & if size == 8 { 0x3F } else { 0x1F }) as u32;
    let a = a & mask(size);
    if masked == 0 {
        return (a, flags, 0);
    }
    let cf_in = flags & CF;
    let of_undefined = if masked > 1 { OF } else { 0 };
    match op {
        ShiftOp::Shl | ShiftOp::Shr | ShiftOp::Sar => {
            let (r, cf) = match op {
                ShiftOp::Shl => {
                    let wide = u128::from(a) << masked;
                    ((wide as u64) & mask(size), ((wide >> bits) & 1) as u64)
                }
                ShiftOp::Shr => {
                    let r = if masked >= bits { 0 } else { a >> masked };
                    let cf = if masked > bits {
                        0
                    } else {
                        (a >> (masked - 1)) & 1
                    };
                    (r, cf)
                }
                _ => {
                    let signed = ((a << (64 - bits)) as i64) >> (64 - bits);
                    let r = (signed >> masked.min(63)) as u64 & mask(size);
                    let cf = ((signed >> (masked - 1).min(63)) & 1) as u64;
                    (r, cf)
                }
            };
            let of = match op {
                ShiftOp::Shl => msb(r, size) ^ cf,
                ShiftOp::Shr => msb(a, size),
                _ => 0,
            };
            let mut f = (flags & !STATUS) | szp(r, size) | cf;
            if of != 0 {
                f |= OF;
            }
            // Shifting 8/16-bit operands by more than their width leaves CF
            // (and OF) undefined.
            let cf_undefined = if masked > bits { CF | OF } else { 0 };
            (r, f, AF | of_undefined | cf_undefined)
        }
        ShiftOp::Rol | ShiftOp::Ror => {
            let n = masked % bits;
            let r = if op == ShiftOp::Rol {
                ((a << n) | if n == 0 { 0 } else { a >> (bits - n) }) & mask(size)
            } else {
                ((a >> n) | if n == 0 { 0 } else { a << (bits - n) }) & mask(size)
            };
            let (cf, of) = if op == ShiftOp::Rol {
                let cf = r & 1;
                (cf, msb(r, size) ^ cf)
            } else {
                (msb(r, size), msb(r, size) ^ ((r >> (bits - 2)) & 1))
            };
            let mut f = (flags & !(CF | OF)) | cf;
            if of != 0 {
                f |= OF;
            }
            (r, f, of_undefined)
        }
        ShiftOp::Rcl | ShiftOp::Rcr => {
            // Rotate the (bits+1)-bit value CF:operand.
            let n = if size <= 2 {
                masked % (bits + 1)
            } else {
                masked
            };
            let width = bits + 1;
            let value = (u128::from(cf_in) << bits) | u128::from(a);
            let all = (1u128 << width) - 1;
            let rotated = if n == 0 {
                value
            } else if op == ShiftOp::Rcl {
                ((value << n) | (value >> (width - n))) & all
            } else {
                ((value >> n) | (value << (width - n))) & all
            };
            let r = rotated as u64 & mask(size);
            let cf = (rotated >> bits) as u64 & 1;
            let of = if op == ShiftOp::Rcl {
                msb(r, size) ^ cf
            } else {
                msb(r, size) ^ ((r >> (bits - 2)) & 1)
            };
            let mut f = (flags & !(CF | OF)) | cf;
            if of != 0 {
                f |= OF;
            }
            (r, f, of_undefined)
        }
    }
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    let op = op_of(insn.mnemonic()).ok_or(EmuError::Unsupported(insn.mnemonic()))?;
    let size = operand_size(insn, 0);
    let a = read_operand(vcpu, mem, insn, 0)?;
    // The D0/D1 forms have no count operand in iced's view when the count is 1.
    let count = if insn.op_count() > 1 {
        read_operand(vcpu, mem, insn, 1)?
    } else {
        1
    };
    let (r, flags, _) = shift(op, size, a, count, vcpu.rflags());
    write_operand(vcpu, mem, insn, 0, r)?;
    vcpu.set_rflags(flags);
    Ok(())
}
