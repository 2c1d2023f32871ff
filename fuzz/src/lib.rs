//! Coverage-guided fuzz targets for the parts of the hypervisor a guest (or
//! the media it boots from) drives with data of its choosing. Each target is
//! a `run(&[u8])` here, so a panic found by the fuzzer replays as a plain
//! function call; `fuzz_targets/` wraps each in libFuzzer's entry point, and
//! `cargo xtask fuzz` builds and runs them.
//!
//! Every target must not panic on any input: a panic (or an assertion about
//! what the code under test promises) is a finding.

pub mod apic_pm;
pub mod bios_handle;
pub mod bios_trap;
pub mod blkif_ring;
pub mod eltorito;
pub mod pvh_start;
pub mod emulator;
pub mod hypercall;
pub mod ide_dma;
pub mod input;
pub mod media;
pub mod seeds;
pub mod vcpu;
pub mod xenstore_ring;
