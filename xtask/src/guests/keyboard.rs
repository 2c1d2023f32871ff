//! `keyboard`: unmasks IRQ1, and in a real-mode IRQ1 handler reads each scan
//! code from the i8042 data port (60h) into a buffer; after 8 codes it prints
//! them in hex. With `console_input = keyboard`, what is typed on the host
//! terminal arrives here as PS/2 set-1 scan codes.

use super::rom::{emit_print_ds_si, emit_prologue, emit_put_al, RomBuilder};
use iced_x86::code_asm::*;

/// How many scan codes the guest collects before printing.
pub const CODES: u32 = 8;
/// Prefix of the printed line; the codes follow as `xx ` groups.
pub const PREFIX: &str = "scancodes: ";
const COUNT: u32 = 0x500;
const BUFFER: u32 = 0x510;
const IVT_IRQ1: u32 = 0x09 * 4;

fn handler() -> Vec<u8> {
    let mut a = CodeAssembler::new(16).expect("16-bit");
    (|| -> Result<(), IcedError> {
        a.push(ax)?;
        a.push(bx)?;
        a.push(ds)?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.in_(al, 0x60u32)?;
        a.mov(bx, word_ptr(COUNT))?;
        a.and(bx, 0x0Fu32)?;
        a.mov(byte_ptr(bx + BUFFER), al)?;
        a.inc(word_ptr(COUNT))?;
        a.mov(al, 0x20u32)?;
        a.out(0x20u32, al)?;
        a.pop(ds)?;
        a.pop(bx)?;
        a.pop(ax)?;
        a.iret()
    })()
    .expect("handler assembles");
    a.assemble(0).expect("handler assembles")
}

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let handler = b.data(&handler());
    let hex = b.data(b"0123456789abcdef");
    let prefix = b.data(format!("{PREFIX}\0").as_bytes());
    let newline = b.data(b"\r\n\0");
    assemble(&mut b.asm, handler, hex, prefix, newline).expect("keyboard guest assembles");
    b.finish()
}

fn assemble(
    a: &mut CodeAssembler,
    handler: u32,
    hex: u32,
    prefix: u32,
    newline: u32,
) -> Result<(), IcedError> {
    let mut wait = a.create_label();
    let mut next = a.create_label();
    emit_prologue(a)?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.mov(word_ptr(IVT_IRQ1).es(), handler)?;
    a.mov(word_ptr(IVT_IRQ1 + 2).es(), 0xF000u32)?;
    a.mov(word_ptr(COUNT).es(), 0u32)?;
    for (port, value) in [
        (0x20u32, 0x11u32),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFD),
    ] {
        a.mov(al, value)?;
        a.out(port, al)?;
    }
    // A key that arrived before the PIC was programmed left IRQ1 high with no
    // edge the PIC will see: take what is already in the output buffer, as a
    // BIOS does, then let interrupts in.
    let mut drained = a.create_label();
    let mut drain = a.create_label();
    a.set_label(&mut drain)?;
    a.in_(al, 0x64u32)?;
    a.test(al, 0x01u32)?;
    a.jz(drained)?;
    a.in_(al, 0x60u32)?;
    a.mov(bx, word_ptr(COUNT).es())?;
    a.and(bx, 0x0Fu32)?;
    a.mov(byte_ptr(bx + BUFFER).es(), al)?;
    a.inc(word_ptr(COUNT).es())?;
    a.jmp(drain)?;
    a.set_label(&mut drained)?;
    a.sti()?;
    a.set_label(&mut wait)?;
    a.hlt()?;
    a.cmp(word_ptr(COUNT).es(), CODES)?;
    a.jb(wait)?;
    a.cli()?;
    a.mov(si, prefix)?;
    emit_print_ds_si(a)?;
    // Print each code as two hex digits and a space.
    a.xor(di, di)?;
    a.set_label(&mut next)?;
    a.mov(bl, byte_ptr(di + BUFFER).es())?;
    a.xor(bh, bh)?;
    a.push(bx)?;
    a.shr(bx, 4u32)?;
    a.mov(al, byte_ptr(bx + hex))?;
    emit_put_al(a)?;
    a.pop(bx)?;
    a.and(bx, 0x0Fu32)?;
    a.mov(al, byte_ptr(bx + hex))?;
    emit_put_al(a)?;
    a.mov(al, 0x20u32)?;
    emit_put_al(a)?;
    a.inc(di)?;
    a.cmp(di, CODES)?;
    a.jb(next)?;
    a.mov(si, newline)?;
    emit_print_ds_si(a)?;
    a.hlt()?;
    Ok(())
}
