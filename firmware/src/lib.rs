//! The emulated BIOS (to come, see the BIOS issue): a small real-mode ROM at
//! F0000-FFFFF generated at VM creation, whose reset vector, POST entry and
//! interrupt stubs trap into the hypervisor, and the BIOS services (INT 10h, 13h,
//! 15h, 16h, 1Ah, El Torito boot, E820) written in Rust against the guest's
//! registers and memory.
#![no_std]
