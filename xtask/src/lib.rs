//! The host side of the project: building the hypervisor, making test guests,
//! and booting them under QEMU with the consoles captured and matched. The
//! `cargo xtask` CLI and the integration tests both drive this library.

pub mod bench_boot;
pub mod bench_disk;
pub mod bench_io;
pub mod bochs;
pub mod build;
pub mod expect;
pub mod fuzz;
pub mod grub;
pub mod guests;
pub mod ipxe;
pub mod linux_iso;
pub mod packages;
pub mod provision;
pub mod pv_demo;
pub mod pvh_kernel;
pub mod qemu;
pub mod runner;
pub mod soak_disks;
pub mod tools;
pub mod unsafe_audit;
pub mod xl_config;

use std::path::PathBuf;

/// The workspace root (parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// `../shared` beside the checkout: guest images and notes every developer
/// and CI run has (absent elsewhere; callers skip with a clear message).
pub fn shared_dir() -> PathBuf {
    workspace_root().join("..").join("shared")
}
