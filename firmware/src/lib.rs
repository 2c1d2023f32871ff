//! The emulated BIOS, in the manner of NOVA's Vancouver VMM and Xen's emulated
//! BIOS: a small real-mode ROM at F0000h-FFFFFh, generated at VM creation,
//! whose reset vector, POST entry and interrupt stubs trap into the
//! hypervisor, and the BIOS services themselves written in Rust against the
//! guest's registers ([`Regs`]) and memory ([`RealMemory`]).
//!
//! The trap is a port write from a stub at a known ROM address (`out 0EAh, al`
//! then `iret`): the hypervisor tells the service from the stub's address, no
//! guest register is clobbered, and both SVM and VMX exit on port I/O alike.
#![no_std]
// The BIOS works on the guest's registers and memory only through `Regs` and
// `RealMemory`, which check every access; nothing here needs raw pointers.
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod bda;
pub mod bios;
pub mod bios_platform;
pub mod eltorito;
pub mod int10_video;
pub mod int13_disk;
pub mod keyboard;
pub mod memory;
pub mod regs;
pub mod rom;
pub mod system;

pub use bios_platform::{BiosPlatform, Next};
pub use memory::RealMemory;
pub use regs::Regs;
