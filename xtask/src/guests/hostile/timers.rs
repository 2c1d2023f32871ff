//! `hostile-pit-rtc`: the PIT's channel 0 and the RTC's periodic interrupt
//! at their fastest rates, with real-mode handlers that count them:
//!
//! - `sti-hlt-cli`: `sti; hlt; cli` while IRQ0 (1 kHz) is already
//!   requested: the HLT ends at once and the interrupt comes in before the
//!   CLI (STI's shadow covers only the HLT); the handler masks IRQ0 after
//!   it, so the count is 1;
//! - `pit-fastest`: divisor 2 in mode 2 (about 600 kHz). Every interrupt is
//!   due again before its handler returns, so the interrupted code gets no
//!   instruction in, on a PC as here; the handler masks IRQ0 at the
//!   [`STORM`]th, and the guest, reading port 61h meanwhile, goes on.
//! - `pit-fast-loop`: divisor 1193 (1 kHz), IRQ0 unmasked: a loop of
//!   [`ITERATIONS`] port reads (an exit each) runs to its end while the
//!   interrupts keep coming.
//! - `rtc-fastest`: rate 3 (8192 Hz), the way of `pit-fastest` with IRQ8,
//!   whose handler reads register C to acknowledge each.
//!
//! The line says how many interrupts the handlers counted. Then both timers
//! are stopped and the guest halts with interrupts off.

use super::kit::{Prog, SCRATCH};
use iced_x86::code_asm::*;

pub const STI_HLT_CLI: &str = "sti-hlt-cli";
pub const PIT_FASTEST: &str = "pit-fastest";
pub const RTC_FASTEST: &str = "rtc-fastest";
pub const PIT_FAST_LOOP: &str = "pit-fast-loop";
pub const DONE: &str = "hostile-pit-rtc: done";

/// Interrupts the handlers take before masking their line.
pub const STORM: u32 = 300;
/// The loop's iterations.
pub const ITERATIONS: u32 = 1000;
/// Port reads a storm probe waits at most (a lost interrupt line shows as a
/// count below [`STORM`], not as a hang).
const PATIENCE: u32 = 10_000;

/// Counters and limits (SS = 0).
const IRQ0_COUNT: u32 = SCRATCH;
const IRQ8_COUNT: u32 = SCRATCH + 2;
const IRQ0_LIMIT: u32 = SCRATCH + 4;
const IRQ0_SEEN: u32 = SCRATCH + 6;

pub fn build() -> Vec<u8> {
    super::rom(Vec::new(), program)
}

fn cmos_write(p: &mut Prog<'_>, index: u32, value: u32) -> Result<(), IcedError> {
    p.mov(al, index | 0x80)?; // NMI stays disabled
    p.out(0x70u32, al)?;
    p.mov(al, value)?;
    p.out(0x71u32, al)
}

/// PIT channel 0, lobyte/hibyte, mode 2, `divisor`.
fn pit_rate(p: &mut Prog<'_>, divisor: u32) -> Result<(), IcedError> {
    p.mov(al, 0x34u32)?;
    p.out(0x43u32, al)?;
    p.mov(al, divisor & 0xFF)?;
    p.out(0x40u32, al)?;
    p.mov(al, divisor >> 8)?;
    p.out(0x40u32, al)
}

/// With interrupts on, reads port 61h (an exit each) until the word at
/// `counter` reaches [`STORM`], at most [`PATIENCE`] times.
fn wait_for_storm(p: &mut Prog<'_>, counter: u32) -> Result<(), IcedError> {
    let mut again = p.create_label();
    let mut done = p.create_label();
    p.mov(ecx, PATIENCE)?;
    p.sti()?;
    p.set_label(&mut again)?;
    p.cmp(word_ptr(counter).ss(), STORM)?;
    p.jae(done)?;
    p.in_(al, 0x61u32)?;
    p.dec(ecx)?;
    p.jnz(again)?;
    p.set_label(&mut done)?;
    p.cli()
}

/// Prints " <label> " and the word at `counter`.
fn show(p: &mut Prog<'_>, label: &str, counter: u32) -> Result<(), IcedError> {
    p.print(&format!(" {label} "))?;
    p.mov(ax, word_ptr(counter).ss())?;
    p.hex16()
}

fn program(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.install_real_mode_handlers()?;

    // IRQ0: count; at the limit, mask IRQ0; EOI.
    let irq0 = p.mark();
    let irq8 = p.mark();
    let start = p.mark();
    let start_label = p.label(start);
    p.jmp(start_label)?;
    p.place(irq0)?;
    let mut no_mask = p.create_label();
    p.push(ax)?;
    p.inc(word_ptr(IRQ0_COUNT).ss())?;
    p.mov(ax, word_ptr(IRQ0_COUNT).ss())?;
    p.cmp(ax, word_ptr(IRQ0_LIMIT).ss())?;
    p.jne(no_mask)?;
    p.in_(al, 0x21u32)?;
    p.or(al, 0x01u32)?;
    p.out(0x21u32, al)?;
    p.set_label(&mut no_mask)?;
    p.mov(al, 0x20u32)?;
    p.out(0x20u32, al)?;
    p.pop(ax)?;
    p.iret()?;
    // IRQ8: count; read register C (the RTC's acknowledge); at the storm's
    // end, mask IRQ8; EOI both.
    p.place(irq8)?;
    let mut no_mask8 = p.create_label();
    p.push(ax)?;
    p.inc(word_ptr(IRQ8_COUNT).ss())?;
    p.mov(al, 0x0Cu32)?;
    p.out(0x70u32, al)?;
    p.in_(al, 0x71u32)?;
    p.cmp(word_ptr(IRQ8_COUNT).ss(), STORM)?;
    p.jne(no_mask8)?;
    p.in_(al, 0xA1u32)?;
    p.or(al, 0x01u32)?;
    p.out(0xA1u32, al)?;
    p.set_label(&mut no_mask8)?;
    p.mov(al, 0x20u32)?;
    p.out(0xA0u32, al)?;
    p.out(0x20u32, al)?;
    p.pop(ax)?;
    p.iret()?;
    p.place(start)?;

    let (irq0_at, irq8_at) = (p.addr(irq0), p.addr(irq8));
    p.mov(word_ptr(0x08 * 4).es(), irq0_at)?;
    p.mov(word_ptr(0x08 * 4 + 2).es(), cs)?;
    p.mov(word_ptr(0x70 * 4).es(), irq8_at)?;
    p.mov(word_ptr(0x70 * 4 + 2).es(), cs)?;
    p.mov(word_ptr(IRQ0_COUNT).ss(), 0u32)?;
    p.mov(word_ptr(IRQ8_COUNT).ss(), 0u32)?;
    p.mov(word_ptr(IRQ0_LIMIT).ss(), STORM)?;

    // Only IRQ0 (and the cascade) first.
    p.program_pics(0x08, 0x70, 0xFA, 0xFF)?;

    // STI; HLT; CLI with IRQ0 already requested: the HLT ends at once and
    // the interrupt is taken before the CLI (STI's shadow covers only the
    // HLT), exactly once.
    p.probe(
        STI_HLT_CLI,
        |p| {
            let mut poll = p.create_label();
            let mut requested = p.create_label();
            p.mov(word_ptr(IRQ0_LIMIT).ss(), 1u32)?; // masked after one
            pit_rate(p, 1193)?;
            p.mov(ecx, 1_000_000u32)?;
            p.set_label(&mut poll)?;
            p.mov(al, 0x0Au32)?; // OCW3: read IRR
            p.out(0x20u32, al)?;
            p.in_(al, 0x20u32)?;
            p.test(al, 1u32)?;
            p.jnz(requested)?;
            p.dec(ecx)?;
            p.jnz(poll)?;
            p.set_label(&mut requested)?;
            p.mov(word_ptr(IRQ0_COUNT).ss(), 0u32)?;
            p.sti()?;
            p.hlt()?;
            p.cli()?;
            p.mov(ax, word_ptr(IRQ0_COUNT).ss())?;
            p.mov(word_ptr(IRQ0_SEEN).ss(), ax)
        },
        |p| show(p, "irq0", IRQ0_SEEN),
    )?;
    p.mov(word_ptr(IRQ0_COUNT).ss(), 0u32)?;
    p.mov(word_ptr(IRQ0_LIMIT).ss(), STORM)?;
    p.mov(al, 0xFAu32)?; // IRQ0 unmasked again
    p.out(0x21u32, al)?;
    p.probe(
        PIT_FASTEST,
        |p| {
            pit_rate(p, 2)?;
            wait_for_storm(p, IRQ0_COUNT)
        },
        |p| show(p, "irq0", IRQ0_COUNT),
    )?;

    // IRQ0 again at 1 kHz, never masked, while the loop runs.
    p.probe(
        PIT_FAST_LOOP,
        |p| {
            let mut again = p.create_label();
            p.mov(word_ptr(IRQ0_COUNT).ss(), 0u32)?;
            p.mov(word_ptr(IRQ0_LIMIT).ss(), 0xFFFFu32)?;
            pit_rate(p, 1193)?;
            p.mov(al, 0xFAu32)?;
            p.out(0x21u32, al)?;
            p.mov(cx, ITERATIONS)?;
            p.sti()?;
            p.set_label(&mut again)?;
            p.in_(al, 0x61u32)?;
            p.loop_(again)?;
            p.cli()
        },
        |p| {
            p.print(" loop ")?;
            p.mov(ax, ITERATIONS)?;
            p.sub(ax, cx)?;
            p.hex16()?;
            show(p, "irq0", IRQ0_COUNT)
        },
    )?;

    p.mov(al, 0xFBu32)?; // IRQ0 masked again
    p.out(0x21u32, al)?;

    // IRQ8 alone: rate 3 (122 us), periodic interrupt enabled.
    p.probe(
        RTC_FASTEST,
        |p| {
            p.mov(al, 0xFEu32)?;
            p.out(0xA1u32, al)?;
            cmos_write(p, 0x0A, 0x23)?;
            cmos_write(p, 0x0B, 0x42)?;
            wait_for_storm(p, IRQ8_COUNT)
        },
        |p| show(p, "irq8", IRQ8_COUNT),
    )?;
    cmos_write(p, 0x0B, 0x02)?;

    // The PIT to a one-shot that never fires again; every line masked.
    p.mov(al, 0x30u32)?;
    p.out(0x43u32, al)?;
    p.mov(al, 0xFFu32)?;
    p.out(0x21u32, al)?;
    p.out(0xA1u32, al)?;
    p.print(&format!("{DONE}\r\n"))?;
    p.halt()
}
