//! The legacy PC platform as plain state machines: each device sits on a bus at
//! an offset, never touches hardware, time or globals, and runs under `cargo test`.
//! Output, interrupts, time and guest memory reach a device through the small
//! traits below, storage through `block_backend::BlockBackend`; the hypervisor
//! implements them and tests fake them.
#![no_std]
// Devices are plain state machines over safe traits; nothing here needs unsafe.
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod acpi_pm;
pub mod atapi;
pub mod bus;
pub mod cmos_rtc;
pub mod debug_exit;
pub mod i8042;
pub mod ide;
pub mod ioapic;
pub mod lapic;
pub mod mmio_bus;
pub mod pci;
pub mod pic8259;
pub mod pit8254;
pub mod post_code;
pub mod rate_limit;
pub mod reset;
pub mod uart16550;
pub mod vga_text;
pub mod xen_platform;

/// Where a device sends bytes it outputs (a console, a log).
pub trait ByteSink {
    fn write_byte(&mut self, byte: u8);
}

/// An interrupt request line from a device to the interrupt controller.
/// ISA lines are edge-triggered at the 8259 unless ELCR says level: the device
/// only states its output level; the controller decides what an edge means.
pub trait IrqLine {
    /// Drives the line high (asserted) or low.
    fn set_level(&self, high: bool);
}

/// Host time for time-driven devices: nanoseconds since an arbitrary start,
/// never going backwards.
pub trait Clock {
    fn now_ns(&self) -> u64;
}

/// Guest-physical memory as a bus-master DMA engine sees it. Every access is
/// checked by the implementation; a failure means the range is not guest RAM.
pub trait DmaMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), DmaError>;
    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), DmaError>;
}

/// A DMA access outside guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaError {
    pub gpa: u64,
}

/// One function on the PCI bus: its 256-byte configuration space.
pub trait PciFunction {
    /// Reads the aligned dword at `offset` (a multiple of 4, below 256).
    fn config_read(&mut self, offset: u8) -> u32;
    /// Writes the bytes of `value` selected by `byte_mask` (bit i = byte i) to
    /// the aligned dword at `offset`.
    fn config_write(&mut self, offset: u8, value: u32, byte_mask: u8);
}
