//! A periodic host timer interrupt, so the hypervisor regains control from a
//! guest that computes without exiting: with the INTR intercept on, a physical
//! interrupt during VMRUN ends in #VMEXIT(INTR) (AMD APM vol. 2, 15.21.1
//! "Physical Interrupt Masking"), after which the run loop delivers the guest's
//! own pending timer and device interrupts.
//!
//! The host's 8259 pair is remapped to vectors 20h-2Fh with only IRQ0
//! unmasked, and PIT channel 0 runs in mode 2 at [`TICK_HZ`] (Intel 8259A and
//! 8254 datasheets). The handler only acknowledges the interrupt: the exit was
//! the point.

use super::port::outb;

/// Host tick rate: one tick per [`crate::run_loop::HOST_TICK_NS`], which
/// the run loop's deadline checks reckon with.
pub const TICK_HZ: u32 = (1_000_000_000 / crate::run_loop::HOST_TICK_NS) as u32;
/// First vector of the host master PIC.
pub const HOST_PIC_BASE: u8 = 0x20;

const PIT_CHANNEL0: u16 = pc_layout::ports::PIT;
const PIT_COMMAND: u16 = pc_layout::ports::PIT + 3;
const PIT_HZ: u32 = 1_193_182;
const MASTER_CMD: u16 = pc_layout::ports::PIC_MASTER;
const MASTER_DATA: u16 = pc_layout::ports::PIC_MASTER + 1;
const SLAVE_CMD: u16 = pc_layout::ports::PIC_SLAVE;
const SLAVE_DATA: u16 = pc_layout::ports::PIC_SLAVE + 1;

/// Programs the host PIC and PIT. Interrupts stay disabled until the caller
/// enables them.
pub fn init() {
    // ICW1: edge, cascade, ICW4 needed; ICW2: vector bases; ICW3: slave on IR2; ICW4: 8086 mode.
    outb(MASTER_CMD, 0x11);
    outb(SLAVE_CMD, 0x11);
    outb(MASTER_DATA, HOST_PIC_BASE);
    outb(SLAVE_DATA, HOST_PIC_BASE + 8);
    outb(MASTER_DATA, 0x04);
    outb(SLAVE_DATA, 0x02);
    outb(MASTER_DATA, 0x01);
    outb(SLAVE_DATA, 0x01);
    // Only IRQ0 (the tick).
    outb(MASTER_DATA, 0xFE);
    outb(SLAVE_DATA, 0xFF);
    // Channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
    let divisor = PIT_HZ / TICK_HZ;
    outb(PIT_COMMAND, 0b0011_0100);
    outb(PIT_CHANNEL0, divisor as u8);
    outb(PIT_CHANNEL0, (divisor >> 8) as u8);
}

/// Lets host interrupts in (the tick); from here on they arrive between exits.
pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}
