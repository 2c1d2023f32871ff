//! An interactive run's terminal. QEMU runs in its own process group (so
//! Ctrl-C reaches only the runner), and a background process group may not
//! read the terminal or change its modes (the kernel stops it with SIGTTIN
//! or SIGTTOU); so the runner does what QEMU's `-serial stdio` did: puts
//! the terminal in raw mode and passes what is typed to QEMU's stdin, now a
//! pipe. Raw as QEMU makes it (its char-stdio.c, `qemu_chr_set_echo_stdio`)
//! but with ISIG kept, so Ctrl-C is SIGINT for the runner. The modes are
//! set and restored with stty(1): xtask holds no `unsafe` for termios.

use std::io::{IsTerminal, Read, Write};
use std::process::{ChildStdin, Command, Stdio};

/// The terminal in raw mode while this lives.
pub(super) struct RawTerminal {
    /// `stty -g` from before.
    saved: String,
}

/// The modes QEMU's stdio backend sets (ISIG left on).
const RAW_MODES: &[&str] = &[
    "-ignbrk", "-brkint", "-parmrk", "-istrip", "-inlcr", "-igncr", "-icrnl", "-ixon", "opost",
    "-echo", "-echonl", "-icanon", "-iexten", "cs8", "-parenb", "min", "1", "time", "0",
];

impl RawTerminal {
    /// Raw mode when standard input is a terminal (None otherwise, or
    /// when stty fails: input then simply is not passed on).
    pub(super) fn enter() -> Option<Self> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let out = Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let saved = String::from_utf8(out.stdout).ok()?.trim().to_string();
        if !out.status.success() || saved.is_empty() {
            return None;
        }
        let raw = Command::new("stty")
            .args(RAW_MODES)
            .stdin(Stdio::inherit())
            .status()
            .ok()?;
        raw.success().then_some(Self { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = Command::new("stty")
            .arg(&self.saved)
            .stdin(Stdio::inherit())
            .status();
    }
}

/// Passes what is typed to `pipe` as it comes, until either side closes.
pub(super) fn forward_stdin(mut pipe: ChildStdin) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 256];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0
                || pipe
                    .write_all(&buf[..n])
                    .and_then(|()| pipe.flush())
                    .is_err()
            {
                break;
            }
        }
    });
}
