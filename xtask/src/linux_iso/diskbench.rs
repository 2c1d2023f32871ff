//! `/bin/diskbench` of the initramfs: the guest-side disk benchmark
//! (`guest-tools/diskbench`), built for `x86_64-unknown-linux-gnu` and
//! linked statically (glibc's `libc.a`, from Debian's `libc6-dev`), so it
//! runs in the initramfs without a loader or libraries. Its own target
//! folder keeps the static flags from rebuilding the rest of the workspace.

use super::host::{read, run};
use crate::workspace_root;
use std::process::Command;

/// The guest's triple (the host's on x86-64 Linux).
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Where the program is in the initramfs.
pub const GUEST_PATH: &str = "bin/diskbench";

/// Builds the program (a no-op when it is up to date) and returns its bytes.
pub(super) fn build() -> Result<Vec<u8>, String> {
    let root = workspace_root();
    let target_dir = root.join("target").join("diskbench");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "--release", "-p", "diskbench"])
            .args(["--target", TARGET, "--target-dir"])
            .arg(&target_dir)
            .env(
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                "-C target-feature=+crt-static",
            )
            // Small in the initramfs: no debug information, no symbols.
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
        "cargo build -p diskbench (static, for the Linux ISO; it needs libc6-dev's libc.a)",
    )?;
    read(&target_dir.join(TARGET).join("release").join("diskbench"))
}

/// A short fingerprint of the program for the ISO's stamp (FNV-1a, 64 bits).
pub(super) fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}-{}", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_fingerprint_changes_with_the_bytes() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325-0");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c-1");
        assert_ne!(fingerprint(b"ab"), fingerprint(b"ba"));
    }
}
