//! The test file on the CD: fixed text the guest reads back through its own
//! drivers, and its sha256 as `sha256sum` writes it.

use super::host::run;
use std::path::Path;
use std::process::Command;

/// The test file's path on the CD (relative to its root).
pub const TESTDATA_PATH: &str = "testdata/hello.txt";

/// The test file: lines of text from a fixed pseudo-random sequence, about
/// 6 KB, so it spans several 2 KiB CD sectors and ends inside one.
pub fn testdata_bytes() -> Vec<u8> {
    const LINES: u32 = 120;
    // xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
    // generators, scrambled", 2016): fixed seed, fixed output.
    let mut state: u64 = 0x766d_6d2d_6c69_6e78; // "vmm-linx"
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut text = String::new();
    for i in 1..=LINES {
        let (a, b) = (next(), next());
        text.push_str(&format!("hello {i:03}/{LINES} {a:016x}{b:016x}\n"));
    }
    text.into_bytes()
}

/// The hex digest at the start of a `sha256sum` line.
pub(super) fn parse_sha256_line(line: &str) -> Option<String> {
    let digest = line.split_whitespace().next()?;
    (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| digest.to_ascii_lowercase())
}

pub(super) fn sha256_of(path: &Path) -> Result<String, String> {
    let out = run(Command::new("sha256sum").arg(path), "sha256sum")?;
    parse_sha256_line(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| format!("sha256sum printed no digest for {}", path.display()))
}
