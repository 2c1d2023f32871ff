//! Helpers for the integration tests in `tests/`: each boots the real
//! hypervisor under QEMU through the runner library (`xtask`), exactly as
//! `cargo xtask run` does, and asserts on what the guest and the hypervisor
//! printed.
//!
//! The hypervisor image comes from `VMM_ELF` when `cargo xtask test` set it;
//! otherwise it is built into a separate target folder, so a plain
//! `cargo test --workspace` works without running cargo against its own lock.
//!
//! [`linux_shell`] scripts sessions at the Linux test ISO's shell;
//! [`pv_disk`] the PV disk's steps there.

pub mod linux_shell;
pub mod modern_pc;
pub mod pv_disk;

use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;
use xtask::runner::{run, RunOptions, RunReport};

/// Options for a run of a built-in guest under TCG.
pub fn options(guest: &str) -> RunOptions {
    RunOptions {
        guest: guest.into(),
        timeout: Duration::from_secs(120),
        target_dir: Some(nested_target_dir()),
        ..RunOptions::default()
    }
}

/// Where the tests build the hypervisor when `VMM_ELF` is not set.
pub fn nested_target_dir() -> PathBuf {
    xtask::workspace_root().join("target").join("nested")
}

/// A guest image from `../shared/guests`, or None (with the skip message)
/// where `../shared` is not beside the checkout.
pub fn shared_guest(name: &str) -> Option<PathBuf> {
    let path = xtask::shared_dir().join("guests").join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} is absent (../shared/guests is not beside the checkout)",
            path.display()
        );
        None
    }
}

/// Regular expressions from literal text.
pub fn literal(text: &str) -> Regex {
    Regex::new(&regex::escape(text)).expect("escaped text is a valid regex")
}

/// Runs and returns the report, failing the test with the runner's message if
/// the run could not even start.
pub fn run_ok(opts: &RunOptions) -> RunReport {
    match run(opts) {
        Ok(r) => r,
        Err(e) => panic!("the run could not start: {e}"),
    }
}
