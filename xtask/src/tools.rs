//! External programs the runner needs, and what to do when one is missing.

use std::process::Command;

/// True if `program` can be found on PATH.
pub fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Makes sure the Debian package `package` that provides `path` is installed
/// (for packages without a program of their own, like `grub-pc-bin`).
pub fn ensure_package(path: &str, package: &str) -> Result<(), String> {
    if std::path::Path::new(path).exists() {
        return Ok(());
    }
    install(package)?;
    if std::path::Path::new(path).exists() {
        Ok(())
    } else {
        Err(format!(
            "{path} is missing and installing {package} did not provide it"
        ))
    }
}

fn install(package: &str) -> Result<(), String> {
    let command = format!("apt-get install -y {package}");
    if !is_root() {
        return Err(format!(
            "{package} is not installed; install it with: sudo {command}"
        ));
    }
    eprintln!("xtask: installing {package} ...");
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("(apt-get install -y -qq {package} || (apt-get update -qq && apt-get install -y -qq {package})) >/dev/null"))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("`{command}` failed"))
    }
}

/// Makes sure `program` exists, installing Debian package `package` with
/// apt-get when we are root; otherwise returns the one line telling the user
/// the exact command.
pub fn ensure(program: &str, package: &str) -> Result<(), String> {
    if has(program) {
        return Ok(());
    }
    install(package)?;
    if has(program) {
        Ok(())
    } else {
        Err(format!(
            "{program} is still missing after installing {package}"
        ))
    }
}
