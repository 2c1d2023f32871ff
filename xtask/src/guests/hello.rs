//! `hello`: from the reset vector in real mode, prints a greeting and the CPU
//! vendor string (from CPUID leaf 0) through COM1, then halts with interrupts
//! off: the clean end of a run.

use super::rom::{emit_print_ds_si, emit_prologue, emit_uart_init, RomBuilder};
use iced_x86::code_asm::*;

/// The line the integration tests look for.
pub const GREETING: &str = "Hello from a real-mode guest";

/// Where the vendor string is assembled in guest RAM.
const VENDOR_BUFFER: u32 = 0x6000;

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let greeting = b.data(format!("{GREETING}\r\n\0").as_bytes());
    let vendor_prefix = b.data(b"CPU vendor: \0");
    assemble(&mut b.asm, greeting, vendor_prefix).expect("hello guest assembles");
    b.finish()
}

fn assemble(a: &mut CodeAssembler, greeting: u32, vendor_prefix: u32) -> Result<(), IcedError> {
    emit_prologue(a)?;
    emit_uart_init(a)?;
    a.mov(si, greeting)?;
    emit_print_ds_si(a)?;

    // CPUID leaf 0 leaves the vendor in EBX, EDX, ECX; store it at 0000:6000
    // followed by CR LF NUL.
    a.xor(eax, eax)?;
    a.cpuid()?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.mov(di, VENDOR_BUFFER)?;
    for reg in [ebx, edx, ecx] {
        a.mov(eax, reg)?;
        a.stosd()?;
    }
    a.mov(eax, 0x0000_0A0D_u32)?;
    a.stosd()?;

    a.mov(si, vendor_prefix)?;
    emit_print_ds_si(a)?;
    a.push(es)?;
    a.pop(ds)?;
    a.mov(si, VENDOR_BUFFER)?;
    emit_print_ds_si(a)?;

    a.cli()?;
    a.hlt()?;
    Ok(())
}
