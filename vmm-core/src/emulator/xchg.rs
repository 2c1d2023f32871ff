//! XCHG and CMPXCHG (Intel SDM vol. 2D, "XCHG—Exchange Register/Memory With
//! Register"; vol. 2A, "CMPXCHG—Compare and Exchange"). LOCK is implicit or
//! harmless: the vCPU is stopped while its instruction is emulated.

use super::flags::{alu, AluOp};
use super::operands::{operand_size, read_operand, read_reg, write_operand, write_reg};
use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic, Register};

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    matches!(m, Mnemonic::Xchg | Mnemonic::Cmpxchg)
}

/// The accumulator of an operand size.
fn accumulator(size: u8) -> Register {
    match size {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    }
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    let unsupported = EmuError::Unsupported(insn.mnemonic());
    let dest = read_operand(vcpu, mem, insn, 0)?;
    let src = read_operand(vcpu, mem, insn, 1)?;
    if insn.mnemonic() == Mnemonic::Xchg {
        write_operand(vcpu, mem, insn, 0, src)?;
        return write_operand(vcpu, mem, insn, 1, dest);
    }
    // CMPXCHG: compare the accumulator with the destination, as CMP does.
    let size = operand_size(insn, 0);
    let acc_reg = accumulator(size);
    let acc = read_reg(vcpu, acc_reg).ok_or(unsupported)?;
    let (_, flags) = alu(AluOp::Cmp, size, acc, dest, vcpu.rflags());
    if acc == dest {
        write_operand(vcpu, mem, insn, 0, src)?;
    } else {
        // The processor writes the destination back unchanged, then loads the
        // accumulator (a 32-bit load zero-extends into RAX).
        write_operand(vcpu, mem, insn, 0, dest)?;
        write_reg(vcpu, acc_reg, dest).ok_or(unsupported)?;
    }
    vcpu.set_rflags(flags);
    Ok(())
}
