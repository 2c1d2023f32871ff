//! BT, BTS, BTR, BTC (Intel SDM vol. 2A, "BT—Bit Test" and the BTS/BTR/BTC
//! pages). With a register bit offset and a memory operand the offset
//! addresses a bit string: it is signed and may reach beyond the operand, so
//! the access moves by (offset / operand bits) operands. CF receives the bit;
//! ZF is unchanged; OF, SF, AF and PF are undefined (left as they were here).

use super::flags::CF;
use super::operands::{
    linear_address, operand_size, read_mem, read_operand, write_mem, write_operand,
};
use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use iced_x86::{Instruction, Mnemonic, OpKind};

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Bt | Mnemonic::Bts | Mnemonic::Btr | Mnemonic::Btc
    )
}

/// The operand after the bit operation, and the bit's old value.
pub fn bit_op(m: Mnemonic, value: u64, bit: u32) -> (u64, bool) {
    let was = value >> bit & 1 != 0;
    let v = match m {
        Mnemonic::Bts => value | 1 << bit,
        Mnemonic::Btr => value & !(1 << bit),
        Mnemonic::Btc => value ^ 1 << bit,
        _ => value,
    };
    (v, was)
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    let m = insn.mnemonic();
    let size = operand_size(insn, 0);
    let bits = u64::from(size) * 8;
    let offset = read_operand(vcpu, mem, insn, 1)?;
    let set_cf = |vcpu: &mut dyn Vcpu, was: bool| {
        let f = vcpu.rflags() & !CF;
        vcpu.set_rflags(if was { f | CF } else { f });
    };
    if insn.op_kind(0) == OpKind::Memory && insn.op_kind(1) == OpKind::Register {
        // Sign-extend the register offset to 64 bits, then split it.
        let shift = 64 - bits;
        let signed = ((offset << shift) as i64) >> shift;
        let operand_index = signed.div_euclid(bits as i64);
        let bit = signed.rem_euclid(bits as i64) as u32;
        let base = linear_address(vcpu, insn, 0)?;
        let addr = base.wrapping_add((operand_index * i64::from(size)) as u64);
        let value = read_mem(vcpu, mem, addr, size)?;
        let (new, was) = bit_op(m, value, bit);
        if m != Mnemonic::Bt {
            write_mem(vcpu, mem, addr, size, new)?;
        }
        set_cf(vcpu, was);
        return Ok(());
    }
    let bit = (offset % bits) as u32;
    let value = read_operand(vcpu, mem, insn, 0)?;
    let (new, was) = bit_op(m, value, bit);
    if m != Mnemonic::Bt {
        write_operand(vcpu, mem, insn, 0, new)?;
    }
    set_cf(vcpu, was);
    Ok(())
}
