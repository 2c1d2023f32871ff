//! Building the bare-metal hypervisor image.

use crate::workspace_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target triple of the hypervisor.
pub const HV_TARGET: &str = "x86_64-unknown-none";

/// Environment variable naming a prebuilt hypervisor ELF (set by `cargo xtask
/// test` so the integration tests do not run cargo inside cargo).
pub const HV_ELF_ENV: &str = "VMM_ELF";

/// Checks that the pinned toolchain has the bare-metal target (the CLI's
/// commands add it through [`crate::provision`]; nothing else installs).
pub fn require_target() -> Result<(), String> {
    if target_installed()? {
        Ok(())
    } else {
        Err(format!(
            "the {HV_TARGET} target is missing: `cargo xtask test` adds it, or run: rustup target add {HV_TARGET}"
        ))
    }
}

/// True if the pinned toolchain's sysroot has the bare-metal target.
pub fn target_installed() -> Result<bool, String> {
    let sysroot = Command::new("rustc")
        .current_dir(workspace_root())
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    Ok(Path::new(&sysroot)
        .join("lib/rustlib")
        .join(HV_TARGET)
        .is_dir())
}

/// Builds `vmm` for bare metal and returns the ELF's path. `target_dir`
/// overrides cargo's (the tests use a separate one to stay clear of the
/// outer cargo's lock).
pub fn build_hypervisor(release: bool, target_dir: Option<&PathBuf>) -> Result<PathBuf, String> {
    require_target()?;
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root).args([
        "build", "--quiet", "-p", "vmm-core", "--bin", "vmm", "--target", HV_TARGET,
    ]);
    if release {
        cmd.arg("--release");
    }
    let target = target_dir.cloned().unwrap_or_else(|| root.join("target"));
    cmd.arg("--target-dir").arg(&target);
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the hypervisor failed (is the target installed? `rustup target add x86_64-unknown-none`)".into());
    }
    Ok(target
        .join(HV_TARGET)
        .join(if release { "release" } else { "debug" })
        .join("vmm"))
}

/// The hypervisor to boot: `VMM_ELF` if set, else a fresh release build.
pub fn hypervisor_elf(target_dir: Option<&PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(HV_ELF_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(format!("{HV_ELF_ENV}={} is not a file", p.display()));
        }
        return Ok(p);
    }
    build_hypervisor(true, target_dir)
}
