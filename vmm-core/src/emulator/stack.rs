//! PUSH r/m and POP r/m with an MMIO memory operand (Intel SDM vol. 2B,
//! "PUSH—Push Word, Doubleword, or Quadword Onto the Stack" and "POP—Pop a
//! Value From the Stack"). The stack itself is SS:rSP with the stack address
//! size: 64 bits in 64-bit mode, else SS.B selects 32 or 16 bits. POP into a
//! memory operand that uses rSP computes the address after the increment.

use super::operands::{checked_linear, linear_address, memory_size, read_mem, write_mem};
use super::{EmuError, EmuMemory};
use crate::emulator::fetch::code_bitness;
use crate::vcpu::{Gpr, SegReg, Segment, Vcpu};
use iced_x86::{Instruction, Mnemonic, OpKind};

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    matches!(m, Mnemonic::Push | Mnemonic::Pop)
}

/// Mask of the stack address size.
fn stack_mask(vcpu: &dyn Vcpu) -> u64 {
    let cr = vcpu.control_regs();
    if code_bitness(cr.cr0, cr.efer, &vcpu.segment(SegReg::Cs)) == 64 {
        u64::MAX
    } else if vcpu.segment(SegReg::Ss).attrs & Segment::ATTR_DB != 0 {
        0xFFFF_FFFF
    } else {
        0xFFFF
    }
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    if insn.op_kind(0) != OpKind::Memory {
        return Err(EmuError::Unsupported(insn.mnemonic()));
    }
    let size = memory_size(insn);
    let mask = stack_mask(vcpu);
    let rsp = vcpu.gprs()[Gpr::Rsp as usize];
    let sp = rsp & mask;
    if insn.mnemonic() == Mnemonic::Push {
        let value = read_mem(vcpu, mem, linear_address(vcpu, insn, 0)?, size)?;
        let new_sp = sp.wrapping_sub(u64::from(size)) & mask;
        write_mem(
            vcpu,
            mem,
            checked_linear(vcpu, SegReg::Ss, new_sp, size)?,
            size,
            value,
        )?;
        vcpu.gprs_mut()[Gpr::Rsp as usize] = (rsp & !mask) | new_sp;
    } else {
        let value = read_mem(vcpu, mem, checked_linear(vcpu, SegReg::Ss, sp, size)?, size)?;
        let new_sp = sp.wrapping_add(u64::from(size)) & mask;
        // The destination address is computed with the incremented rSP; put it
        // back if the store faults, so the instruction has no effect.
        vcpu.gprs_mut()[Gpr::Rsp as usize] = (rsp & !mask) | new_sp;
        let stored =
            linear_address(vcpu, insn, 0).and_then(|a| write_mem(vcpu, mem, a, size, value));
        if stored.is_err() {
            vcpu.gprs_mut()[Gpr::Rsp as usize] = rsp;
        }
        stored?;
    }
    Ok(())
}
