//! The SSE moves drivers use on MMIO (Intel SDM vol. 2B, "MOVD/MOVQ—Move
//! Doubleword/Move Quadword", "MOVQ—Move Quadword", "MOVDQA", "MOVDQU",
//! "MOVAPS", "MOVUPS", "MOVAPD", "MOVUPD"; vol. 2A, 2.4 "Memory Alignment"):
//! loads into an XMM register zero the bits above the loaded width; the
//! aligned forms raise #GP(0) on a misaligned 16-byte access.

use super::operands::{linear_address, read_operand, write_operand};
use super::{EmuError, EmuMemory, GuestFault};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Movd | Movq | Movdqu | Movdqa | Movups | Movaps | Movupd | Movapd
    )
}

fn xmm_index(reg: Register) -> Option<u8> {
    reg.is_xmm()
        .then(|| (reg as usize - Register::XMM0 as usize) as u8)
}

fn aligned_form(m: Mnemonic) -> bool {
    matches!(m, Mnemonic::Movdqa | Mnemonic::Movaps | Mnemonic::Movapd)
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    let unsupported = EmuError::Unsupported(insn.mnemonic());
    let is_xmm = |op: u32| insn.op_kind(op) == OpKind::Register && insn.op_register(op).is_xmm();
    let size = insn.memory_size().size();
    if size == 16 {
        // 128-bit moves between an XMM register and memory.
        let mem_op = if insn.op_kind(0) == OpKind::Memory {
            0
        } else {
            1
        };
        let reg_op = 1 - mem_op;
        let index = xmm_index(insn.op_register(reg_op)).ok_or(unsupported)?;
        let linear = linear_address(vcpu, insn, mem_op)?;
        if aligned_form(insn.mnemonic()) && linear % 16 != 0 {
            return Err(EmuError::Fault(GuestFault::gp()));
        }
        if mem_op == 0 {
            mem.write(vcpu, linear, &vcpu.xmm(index).to_le_bytes())?;
        } else {
            let mut b = [0u8; 16];
            mem.read(vcpu, linear, &mut b)?;
            vcpu.set_xmm(index, u128::from_le_bytes(b));
        }
        return Ok(());
    }
    // MOVD/MOVQ: 32 or 64 bits between an XMM register and a GPR or memory.
    if is_xmm(0) {
        let index = xmm_index(insn.op_register(0)).ok_or(unsupported)?;
        let value = if is_xmm(1) {
            // MOVQ xmm, xmm: the low quadword.
            vcpu.xmm(xmm_index(insn.op_register(1)).ok_or(unsupported)?) as u64
        } else {
            read_operand(vcpu, mem, insn, 1)?
        };
        vcpu.set_xmm(index, u128::from(value));
        Ok(())
    } else if is_xmm(1) {
        let value = vcpu.xmm(xmm_index(insn.op_register(1)).ok_or(unsupported)?) as u64;
        write_operand(vcpu, mem, insn, 0, value)
    } else {
        Err(unsupported)
    }
}
