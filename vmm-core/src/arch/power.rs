//! Ending the run: how the hypervisor tells the machine it runs on that it is
//! done, with a status the runner turns into its exit code.

use super::port::{outb, outl};
use super::serial;

/// QEMU's `isa-debug-exit` device (the runner adds it at this port): QEMU exits
/// with status (value << 1) | 1.
const QEMU_DEBUG_EXIT_PORT: u16 = 0xF4;
/// Bochs' shutdown port: writing the ASCII string "Shutdown" ends the emulator.
const BOCHS_SHUTDOWN_PORT: u16 = 0x8900;

/// The outcome of the run, as the runner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RunOutcome {
    /// The guest ended as it meant to (QEMU status 1).
    GuestFinished = 0,
    /// The guest broke down: triple fault, invalid state, unhandled exit (QEMU status 3).
    GuestFailed = 1,
    /// The hypervisor itself failed (QEMU status 5).
    HypervisorFailed = 2,
}

/// Reports `outcome` and stops the machine; on hardware with none of these
/// devices, halts forever.
pub fn power_off(outcome: RunOutcome) -> ! {
    log::info!("vmm: run outcome: {outcome:?}");
    serial::drain();
    outl(QEMU_DEBUG_EXIT_PORT, outcome as u32);
    for b in b"Shutdown" {
        outb(BOCHS_SHUTDOWN_PORT, *b);
    }
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
