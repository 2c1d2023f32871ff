//! The bare-metal platform: entry, descriptor tables, port I/O, the log
//! channel, the host console, heap and physical memory, and powering off.
//! Built only for `x86_64-unknown-none`; every `unsafe` of the hypervisor
//! outside the backends lives in these files.

pub mod boot;
pub mod cpu;
pub mod debugcon;
pub mod exceptions;
pub mod gdt;
pub mod heap;
pub mod host_cpu;
pub mod host_rtc;
pub mod host_timer;
pub mod host_virtio;
pub mod phys;
pub mod port;
pub mod power;
pub mod serial;
pub mod tsc;
pub mod virtio_hal;
