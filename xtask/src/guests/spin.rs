//! `spin`: prints a line, enables interrupts with the 8259s still masked as
//! at power-on, and spins on `jmp $` forever: a guest that falls silent
//! without halting, for the runner's timeout report (the hypervisor's last
//! heartbeat must name the loop's address).

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;

/// The line printed before the loop.
pub const ANNOUNCEMENT: &str = "spinning forever";

/// `jmp $` (EB FE).
const JMP_SELF: [u8; 2] = [0xEB, 0xFE];

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let message = b.data(format!("{ANNOUNCEMENT}\r\n\0").as_bytes());
    assemble(&mut b.asm, message).expect("spin guest assembles");
    b.finish()
}

/// The IP of the loop in segment F000h (where the guest's RIP stays).
pub fn loop_ip() -> u16 {
    let rom = build();
    let at = rom
        .windows(JMP_SELF.len())
        .position(|w| w == JMP_SELF)
        .expect("the spin guest has its loop");
    u16::try_from(at).expect("the code is in the ROM's first 64 KiB")
}

fn assemble(a: &mut CodeAssembler, message: u32) -> Result<(), IcedError> {
    emit_prologue(a)?;
    a.mov(si, message)?;
    emit_print_ds_si(a)?;
    a.sti()?;
    let mut spin = a.create_label();
    a.set_label(&mut spin)?;
    a.jmp(spin)?;
    Ok(())
}
