//! What a guest starts with, one file per way of booting: its memory layout
//! (what is loaded where, which ranges are aliased or read-only), its board's
//! devices and media, and its vCPU's first state.
//!
//! - [`rom`]: a ROM image ending at 1 MiB and aliased below 4 GiB, entered at
//!   the reset vector (the built-in test guests, and the BIOS's own image).
//! - [`bios`]: the emulated BIOS on the PC/AT board with its media.
//! - [`media`]: the media in the drives, kept by the domain so a reset can
//!   boot them again.
//!
//! - [`pvh`]: a Xen PVH kernel started at its 32-bit entry with an
//!   `hvm_start_info`, no firmware and no emulated devices.

mod acpi;
pub mod bios;
pub mod media;
pub mod pvh;
pub mod rom;
