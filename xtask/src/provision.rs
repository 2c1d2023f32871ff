//! Everything the runner, the benchmarks and the test suite need from the
//! host, in one list, and the one place that installs it.
//!
//! `cargo xtask test` provisions the whole list once, up front and serially,
//! before any lint, build or test; `cargo xtask run` and the benchmarks
//! provision the part they use. Nothing else installs anything: the
//! integration tests and the library functions they call only check, through
//! [`crate::tools::require`], and fail with one line naming the command that
//! installs what is missing.

use crate::build::{target_installed, HV_TARGET};
use crate::packages::{apt_command, Need, Package, PACKAGES};
use crate::workspace_root;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub use crate::packages::ALL_NEEDS;

/// Parts of the pinned Rust toolchain (rust-toolchain.toml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// Only the bare-metal target (building the hypervisor).
    Target,
    /// The target and the linters (`cargo xtask test`).
    TargetAndLinters,
}

/// Rustup components the linters need.
const LINTER_COMPONENTS: [&str; 2] = ["rustfmt", "clippy"];

/// True if the file that shows `package` is installed is there.
fn is_installed(package: &Package) -> bool {
    if package.provides.starts_with('/') {
        Path::new(package.provides).exists()
    } else {
        crate::tools::has(package.provides)
    }
}

/// The distinct packages the needs call for that are not installed, in list order.
pub fn missing_packages(needs: &[Need]) -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = Vec::new();
    for p in PACKAGES {
        if p.needed_for.iter().any(|n| needs.contains(n))
            && !is_installed(p)
            && !missing.contains(&p.name)
        {
            missing.push(p.name);
        }
    }
    missing
}

/// Installs what `toolchain` and `needs` call for and is missing, printing one
/// summary line with what was installed and how long it took. Not root and a
/// package missing: the error is the one line with the exact `sudo` command.
pub fn provision(toolchain: Toolchain, needs: &[Need]) -> Result<(), String> {
    let started = Instant::now();
    let mut installed: Vec<String> = provision_toolchain(toolchain)?;
    let missing = missing_packages(needs);
    if !missing.is_empty() {
        if !is_root() {
            return Err(format!(
                "missing Debian packages: {}; install them with: {}",
                missing.join(" "),
                apt_command(&missing, false)
            ));
        }
        apt_install(&missing)?;
        let still = missing_packages(needs);
        if !still.is_empty() {
            return Err(format!(
                "installing {} did not provide {}",
                missing.join(" "),
                still.join(" ")
            ));
        }
        installed.extend(missing.iter().map(|p| p.to_string()));
    }
    let secs = started.elapsed().as_secs_f64();
    if installed.is_empty() {
        eprintln!("xtask: provisioning: everything present ({secs:.1} s)");
    } else {
        eprintln!(
            "xtask: provisioning: installed {} in {secs:.1} s",
            installed.join(", ")
        );
    }
    Ok(())
}

/// Adds the bare-metal target (and the linters) to the pinned toolchain
/// where they are missing: rustup does not add a toolchain file's targets to
/// a toolchain that already exists. Returns what it added.
fn provision_toolchain(toolchain: Toolchain) -> Result<Vec<String>, String> {
    let mut added = Vec::new();
    if !target_installed()? {
        rustup(&["target", "add", HV_TARGET])?;
        added.push(format!("rustup target {HV_TARGET}"));
    }
    if toolchain == Toolchain::TargetAndLinters {
        let listed = rustup_output(&["component", "list", "--installed"])?;
        for component in LINTER_COMPONENTS {
            let present = listed
                .lines()
                .any(|l| l == component || l.starts_with(&format!("{component}-")));
            if !present {
                rustup(&["component", "add", component])?;
                added.push(format!("rustup component {component}"));
            }
        }
    }
    Ok(added)
}

fn rustup_output(args: &[&str]) -> Result<String, String> {
    let out = Command::new("rustup")
        .current_dir(workspace_root())
        .args(args)
        .output()
        .map_err(|e| format!("cannot run rustup (install it from rustup.rs): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`rustup {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn rustup(args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: rustup {} ...", args.join(" "));
    rustup_output(args).map(|_| ())
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// How long apt waits for another apt (or dpkg) to release its lock.
const DPKG_LOCK_TIMEOUT_SECS: u32 = 600;

/// Holds the runner's own apt lock: two runners on one machine take turns
/// instead of failing on dpkg's lock. Dropping the guard releases it.
pub struct AptLock(#[allow(dead_code)] std::fs::File);

/// Waits for the runner's apt lock (a file in the temporary folder, locked
/// with `flock`; dpkg's own lock is waited for through `DPkg::Lock::Timeout`).
pub fn apt_lock() -> Result<AptLock, String> {
    let path = std::env::temp_dir().join("vmm-xtask-apt.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(AptLock(file))
}

/// An apt-get command that waits for dpkg's lock instead of failing on it.
pub fn apt_get(args: &[&str]) -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.arg("-o")
        .arg(format!("DPkg::Lock::Timeout={DPKG_LOCK_TIMEOUT_SECS}"))
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

/// `apt-get update` then `apt-get install` of `packages`, under the lock.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let _lock = apt_lock()?;
    // Another runner may have installed them while we waited.
    let packages: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|name| {
            PACKAGES
                .iter()
                .filter(|p| p.name == *name)
                .any(|p| !is_installed(p))
        })
        .collect();
    if packages.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {} ...", packages.join(" "));
    run_apt(apt_get(&["update", "-qq"]), "apt-get update")?;
    let mut install = apt_get(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&packages);
    run_apt(install, &apt_command(&packages, true))
}

fn run_apt(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .find(|l| l.starts_with("E:"))
        .or_else(|| stderr.lines().last())
        .unwrap_or("no message");
    Err(format!("`{what}` failed: {}", reason.trim()))
}
