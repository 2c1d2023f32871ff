//! ADD, ADC, SUB, SBB, CMP, AND, OR, XOR, TEST, INC, DEC, NEG, NOT on a memory
//! (MMIO) or register destination (Intel SDM vol. 2, the pages of each; flags
//! in [`super::flags`]). A LOCK prefix needs no extra work: the emulator runs
//! with the vCPU stopped, so the read-modify-write is already atomic to it.

use super::flags::{alu, AluOp};
use super::operands::{operand_size, read_operand, write_operand};
use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic};

fn op_of(m: Mnemonic) -> Option<AluOp> {
    Some(match m {
        Mnemonic::Add => AluOp::Add,
        Mnemonic::Adc => AluOp::Adc,
        Mnemonic::Sub => AluOp::Sub,
        Mnemonic::Sbb => AluOp::Sbb,
        Mnemonic::Cmp => AluOp::Cmp,
        Mnemonic::And => AluOp::And,
        Mnemonic::Or => AluOp::Or,
        Mnemonic::Xor => AluOp::Xor,
        Mnemonic::Test => AluOp::Test,
        Mnemonic::Inc => AluOp::Inc,
        Mnemonic::Dec => AluOp::Dec,
        Mnemonic::Neg => AluOp::Neg,
        Mnemonic::Not => AluOp::Not,
        _ => return None,
    })
}

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    op_of(m).is_some()
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    let op = op_of(insn.mnemonic()).ok_or(EmuError::Unsupported(insn.mnemonic()))?;
    let size = operand_size(insn, 0);
    let a = read_operand(vcpu, mem, insn, 0)?;
    let b = if insn.op_count() > 1 {
        read_operand(vcpu, mem, insn, 1)?
    } else {
        0
    };
    let (r, flags) = alu(op, size, a, b, vcpu.rflags());
    if op.writes_result() {
        write_operand(vcpu, mem, insn, 0, r)?;
    }
    vcpu.set_rflags(flags);
    Ok(())
}
