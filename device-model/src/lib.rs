//! The legacy PC platform as plain state machines: each device sits on a bus at
//! an offset, never touches hardware, time or globals, and runs under `cargo test`.
//! Output, interrupts and storage reach a device through small traits.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod bus;
pub mod debug_exit;
pub mod rate_limit;
pub mod uart16550;

/// Where a device sends bytes it outputs (a console, a log).
pub trait ByteSink {
    fn write_byte(&mut self, byte: u8);
}
