//! The host's COM1, a 16550A (PC16550D datasheet): the guest's console leaves
//! through it, so the terminal running QEMU shows what the guest prints.

use super::port::{inb, outb};
use device_model::ByteSink;

const COM1: u16 = pc_layout::ports::COM[0];
/// LSR bit 5: transmitter holding register empty; bit 6: transmitter empty.
const LSR_THRE: u8 = 1 << 5;
const LSR_TEMT: u8 = 1 << 6;
/// Bounded wait for a transmitter that never drains (no UART at all).
const SPIN_LIMIT: u32 = 100_000;

/// Programs 115200 baud, 8N1, FIFOs on. Firmware may leave the UART in any
/// state (Bochs' BIOS leaves 5-bit characters), so every register is set.
pub fn init() {
    outb(COM1 + 1, 0x00); // IER: no interrupts
    outb(COM1 + 3, 0x80); // LCR: DLAB
    outb(COM1, 0x01); // DLL: divisor 1 = 115200 baud
    outb(COM1 + 1, 0x00); // DLM
    outb(COM1 + 3, 0x03); // LCR: 8 data bits, no parity, 1 stop bit
    outb(COM1 + 2, 0xC7); // FCR: enable and clear FIFOs
    outb(COM1 + 4, 0x03); // MCR: DTR, RTS
}

/// Sends one byte.
pub fn write_byte(b: u8) {
    let mut spins = 0;
    while inb(COM1 + 5) & LSR_THRE == 0 && spins < SPIN_LIMIT {
        spins += 1;
        core::hint::spin_loop();
    }
    outb(COM1, b);
}

/// LSR bit 0: data ready.
const LSR_DR: u8 = 1 << 0;

/// A byte typed on the host terminal, if one is waiting.
pub fn try_read_byte() -> Option<u8> {
    (inb(COM1 + 5) & LSR_DR != 0).then(|| inb(COM1))
}

/// Waits until every byte has left the UART (before powering off).
pub fn drain() {
    let mut spins = 0;
    while inb(COM1 + 5) & LSR_TEMT == 0 && spins < SPIN_LIMIT {
        spins += 1;
        core::hint::spin_loop();
    }
}

/// The guest console's way out: bytes go to the host COM1 unchanged.
pub struct HostConsole;

impl ByteSink for HostConsole {
    fn write_byte(&mut self, byte: u8) {
        write_byte(byte);
    }
}

/// The host's COM2: the screen mirror's channel (the runner reads it).
const COM2: u16 = pc_layout::ports::COM[1];

/// Programs COM2 like COM1.
pub fn init_com2() {
    for (offset, value) in [
        (1u16, 0x00u8),
        (3, 0x80),
        (0, 0x01),
        (1, 0x00),
        (3, 0x03),
        (2, 0xC7),
        (4, 0x03),
    ] {
        outb(COM2 + offset, value);
    }
}

/// The screen mirror's way out: bytes to the host COM2.
pub struct HostScreenChannel;

impl ByteSink for HostScreenChannel {
    fn write_byte(&mut self, byte: u8) {
        let mut spins = 0;
        while inb(COM2 + 5) & LSR_THRE == 0 && spins < SPIN_LIMIT {
            spins += 1;
            core::hint::spin_loop();
        }
        outb(COM2, byte);
    }
}

/// The host's COM3: the runner's control channel (the protocol is
/// [`pc_layout::host_control`]). Only read, never written.
const COM3: u16 = pc_layout::host_control::PORT;
/// 16550 register offsets (PC16550D datasheet, table II "Register
/// Addresses"): receiver buffer (DLAB 0), line status, scratch.
const RBR: u16 = 0;
const LSR: u16 = 5;
const SCR: u16 = 7;
/// What an undecoded port reads on the ISA bus.
const FLOATING: u8 = 0xFF;

/// Set once [`init_control`] found a UART at COM3.
static CONTROL_PRESENT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Probes COM3 and programs it like COM1; true when a UART answers. A
/// missing port (Bochs, most real machines) reads FFh and keeps nothing:
/// the scratch register, which a 16550 keeps as written (PC16550D, 8.10
/// "Scratchpad Register"; the 8250 has none, and its line status would
/// read FFh), must hold two patterns in turn, and the line status must
/// not read FFh (bit 7 is 0 with the FIFOs' error flag clear).
pub fn init_control() -> bool {
    let present = [0x5Au8, 0xA5].iter().all(|&pattern| {
        outb(COM3 + SCR, pattern);
        inb(COM3 + SCR) == pattern
    }) && inb(COM3 + LSR) != FLOATING;
    if present {
        for (offset, value) in [
            (1u16, 0x00u8),
            (3, 0x80),
            (0, 0x01),
            (1, 0x00),
            (3, 0x03),
            (2, 0xC7),
            (4, 0x03),
        ] {
            outb(COM3 + offset, value);
        }
        // The FIFOs were just cleared: nothing the firmware left is taken
        // for a request.
    }
    CONTROL_PRESENT.store(present, core::sync::atomic::Ordering::Relaxed);
    present
}

/// A byte from the control channel, if one is waiting; never a read of a
/// port that is not there.
pub fn try_read_control_byte() -> Option<u8> {
    if !CONTROL_PRESENT.load(core::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let lsr = inb(COM3 + LSR);
    // FFh: the port went away (a hot-unplugged card); read nothing.
    (lsr != FLOATING && lsr & LSR_DR != 0).then(|| inb(COM3 + RBR))
}
