//! `timer`: programs the 8259 pair and 8254 channel 0 the way a BIOS does
//! (IRQ0 at vector 08h, 100 Hz), installs a real-mode IRQ0 handler that counts
//! ticks and sends EOI, then sleeps with `sti; hlt` until 10 ticks have come,
//! and prints how many. Proves interrupt delivery, the PIC, the PIT and the
//! halted vCPU's wake-up end to end.

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;

/// The line printed after the ticks.
pub const DONE: &str = "timer: 10 interrupts";
/// Where the tick counter lives (0000:0500, free RAM after the BIOS data area).
const COUNTER: u32 = 0x500;
/// IVT slot of vector 08h.
const IVT_IRQ0: u32 = 0x08 * 4;
/// PIT divisor for 100 Hz.
const DIVISOR: u32 = 11_932;

/// The IRQ0 handler, assembled on its own: it refers to nothing by address
/// but the counter, so it can sit anywhere in the ROM.
fn handler() -> Vec<u8> {
    let mut a = CodeAssembler::new(16).expect("16-bit");
    (|| -> Result<(), IcedError> {
        a.push(ax)?;
        a.push(ds)?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.inc(word_ptr(COUNTER))?;
        a.mov(al, 0x20u32)?;
        a.out(0x20u32, al)?; // non-specific EOI
        a.pop(ds)?;
        a.pop(ax)?;
        a.iret()
    })()
    .expect("handler assembles");
    a.assemble(0).expect("handler assembles")
}

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let handler = b.data(&handler());
    let done = b.data(format!("{DONE}\r\n\0").as_bytes());
    assemble(&mut b.asm, handler, done).expect("timer guest assembles");
    b.finish()
}

fn out(a: &mut CodeAssembler, port: u32, value: u32) -> Result<(), IcedError> {
    a.mov(al, value)?;
    a.out(port, al)
}

fn assemble(a: &mut CodeAssembler, handler: u32, done: u32) -> Result<(), IcedError> {
    let mut wait = a.create_label();
    emit_prologue(a)?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.mov(word_ptr(IVT_IRQ0).es(), handler)?;
    a.mov(word_ptr(IVT_IRQ0 + 2).es(), 0xF000u32)?;
    a.mov(word_ptr(COUNTER).es(), 0u32)?;
    // 8259A: ICW1-ICW4, master at 08h, slave at 70h, then mask all but IRQ0.
    for (port, value) in [
        (0x20, 0x11),
        (0xA0, 0x11),
        (0x21, 0x08),
        (0xA1, 0x70),
        (0x21, 0x04),
        (0xA1, 0x02),
        (0x21, 0x01),
        (0xA1, 0x01),
        (0x21, 0xFE),
        (0xA1, 0xFF),
    ] {
        out(a, port, value)?;
    }
    // 8254 channel 0: lobyte/hibyte, mode 2, 100 Hz.
    out(a, 0x43, 0x34)?;
    out(a, 0x40, DIVISOR & 0xFF)?;
    out(a, 0x40, DIVISOR >> 8)?;
    a.sti()?;
    a.set_label(&mut wait)?;
    a.hlt()?;
    a.cmp(word_ptr(COUNTER).es(), 10u32)?;
    a.jb(wait)?;
    a.cli()?;
    a.mov(si, done)?;
    emit_print_ds_si(a)?;
    a.hlt()?;
    Ok(())
}
