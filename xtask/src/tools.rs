//! External programs the runner needs, checked before use. Nothing here
//! installs anything: [`crate::provision`] does that, once, for the commands
//! of the CLI.

use crate::packages::{apt_command, package_providing};
use std::path::Path;

/// True if `program` can be found on PATH.
pub fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Checks that `program` (a program on PATH, or an absolute path for a
/// package without a program) is there; otherwise the one line saying which
/// command installs it.
pub fn require(program: &str) -> Result<(), String> {
    let present = if program.starts_with('/') {
        Path::new(program).exists()
    } else {
        has(program)
    };
    if present {
        return Ok(());
    }
    Err(match package_providing(program) {
        Some(p) => format!(
            "{program} is missing (Debian package {}): `cargo xtask test` installs everything the project uses, or run: {}",
            p.name,
            apt_command(&[p.name], false)
        ),
        None => format!("{program} is missing and is not on the project's package list"),
    })
}
