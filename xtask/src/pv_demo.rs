//! Building `guest-tools/pv-demo`, the Rust PVH guest kernel that runs the
//! `pv-drivers` frontends in a real guest (`tests/tests/pv_demo.rs` boots
//! it on both backends; `cargo xtask run --kernel FILE` boots it by hand).

use crate::build::{require_target, HV_TARGET};
use crate::workspace_root;
use std::path::PathBuf;
use std::process::Command;

/// The crate and binary name.
pub const PACKAGE: &str = "pv-demo";

/// Builds pv-demo for `x86_64-unknown-none` (release) into the workspace's
/// target folder and returns the ELF's path; one line on failure.
pub fn build() -> Result<PathBuf, String> {
    build_into(&workspace_root().join("target"))
}

/// As [`build`], into the cargo target folder `target_dir` (the tests use
/// their own to stay clear of the outer cargo's lock).
pub fn build_into(target_dir: &std::path::Path) -> Result<PathBuf, String> {
    require_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            PACKAGE,
            "--bin",
            PACKAGE,
        ])
        .args(["--target", HV_TARGET, "--target-dir"])
        .arg(target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building {PACKAGE} for {HV_TARGET} failed (cargo build --release -p {PACKAGE} --target {HV_TARGET})"
        ));
    }
    let elf = target_dir.join(HV_TARGET).join("release").join(PACKAGE);
    if !elf.is_file() {
        return Err(format!(
            "{PACKAGE} was built but {} is missing",
            elf.display()
        ));
    }
    Ok(elf)
}
