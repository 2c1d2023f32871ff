//! MOV, MOVZX, MOVSX/MOVSXD, MOVNTI (Intel SDM vol. 2B, "MOV—Move",
//! "MOVZX—Move With Zero-Extend", "MOVSX/MOVSXD—Move With Sign-Extension",
//! "MOVNTI—Store Doubleword Using Non-Temporal Hint"), all forms including
//! moffs. None of them changes RFLAGS.

use super::operands::{operand_size, read_operand, write_operand};
use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic, OpKind};

/// Sign-extends the low `size` bytes of `v`.
fn sign_extend(v: u64, size: u8) -> u64 {
    match size {
        1 => v as u8 as i8 as i64 as u64,
        2 => v as u16 as i16 as i64 as u64,
        4 => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    // MOV to/from segment and control/debug registers are never MMIO accesses.
    let plain =
        |op: u32| !matches!(insn.op_kind(op), OpKind::Register) || insn.op_register(op).is_gpr();
    if insn.op_count() != 2 || !plain(0) || !plain(1) {
        return Err(EmuError::Unsupported(insn.mnemonic()));
    }
    let src = read_operand(vcpu, mem, insn, 1)?;
    let value = match insn.mnemonic() {
        Mnemonic::Movsx | Mnemonic::Movsxd => sign_extend(src, operand_size(insn, 1)),
        // MOV r/m64, imm32 sign-extends: iced already gives the extended immediate.
        _ => src,
    };
    write_operand(vcpu, mem, insn, 0, value)
}
