//! `triple-fault`: prints a line, loads an IDT with limit 0 and executes INT3.
//! The interrupt finds no vector (#GP), neither does the #GP (#DF), nor the
//! #DF: the processor shuts down (Intel SDM vol. 3A, 7.15, "Interrupt 8—Double
//! Fault Exception"). The hypervisor must report it and stop, not hang.

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;

/// The line printed before the fault.
pub const ANNOUNCEMENT: &str = "about to triple-fault";

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let message = b.data(format!("{ANNOUNCEMENT}\r\n\0").as_bytes());
    let empty_idtr = b.data(&[0, 0, 0, 0, 0, 0]); // limit 0, base 0
    assemble(&mut b.asm, message, empty_idtr).expect("triple-fault guest assembles");
    b.finish()
}

fn assemble(a: &mut CodeAssembler, message: u32, empty_idtr: u32) -> Result<(), IcedError> {
    emit_prologue(a)?;
    a.mov(si, message)?;
    emit_print_ds_si(a)?;
    a.lidt(ptr(empty_idtr as u64))?;
    a.int3()?;
    // Never reached: if it were, the run would end "cleanly" and the test fail.
    a.cli()?;
    a.hlt()?;
    Ok(())
}
