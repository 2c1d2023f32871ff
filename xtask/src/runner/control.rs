//! Asking the guest to shut down: the control channel to the hypervisor
//! (the protocol is `pc_layout::host_control`: one byte on the host's COM3,
//! which QEMU connects to two FIFOs in the run folder), Ctrl-C, and the
//! grace period after a request.
//!
//! Ctrl-C is caught with the `ctrlc` crate rather than libc's `signal`:
//! xtask holds no `unsafe` (see `unsafe_audit`), and `ctrlc` runs the
//! handler on an ordinary thread, so it may count presses without the
//! async-signal-safety rules a raw handler must keep. QEMU runs in its own
//! process group, so the terminal's SIGINT reaches only the runner.

use pc_layout::host_control;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The grace period `--shutdown-grace` defaults to.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Exit status of a run stopped by Ctrl-C or after its grace period, as a
/// shell reports a command ended by SIGINT (128 + 2).
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// Ctrl-C presses since [`catch_ctrl_c`].
static PRESSES: AtomicUsize = AtomicUsize::new(0);

/// From now on Ctrl-C (SIGINT) no longer ends this process: each press is
/// counted for the run under way to act on. Call it once, from the command
/// line tool; the library's callers (the tests) never need it.
pub fn catch_ctrl_c() -> Result<(), String> {
    static INSTALLED: Once = Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        result = ctrlc::set_handler(|| {
            PRESSES.fetch_add(1, Ordering::SeqCst);
        })
        .map_err(|e| format!("cannot catch Ctrl-C: {e}"));
    });
    result
}

fn presses() -> usize {
    PRESSES.load(Ordering::SeqCst)
}

/// The FIFOs QEMU's `pipe:` backend opens, `<dir>/control.in` and
/// `.out`, created with mkfifo; returns the base path for `-serial
/// pipe:<base>`.
pub(super) fn make_fifos(dir: &Path) -> Result<PathBuf, String> {
    let base = dir.join(host_control::FIFO_BASE);
    for end in ["in", "out"] {
        let path = base.with_extension(end);
        let _ = std::fs::remove_file(&path);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .map_err(|e| format!("cannot run mkfifo: {e}"))?;
        if !status.success() {
            return Err(format!("mkfifo {} failed ({status})", path.display()));
        }
    }
    Ok(base)
}

/// The runner's end of the channel: `<base>.in` opened for reading and
/// writing, so the open never waits for QEMU, and bytes wait in the pipe
/// until QEMU's UART takes them.
pub(super) fn open_channel(base: &Path) -> Result<File, String> {
    let path = base.with_extension("in");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// What the run does about shutting the guest down.
pub(super) struct Shutdown {
    channel: Option<File>,
    /// Request once this many expectations matched (`RunOptions::shutdown_after`).
    after: Option<usize>,
    grace: Duration,
    /// Ctrl-C presses already acted on (counted from before the run).
    presses_seen: usize,
    /// When the request was made (by Ctrl-C or the script).
    asked_at: Option<Instant>,
    /// The byte waits until the hypervisor has programmed its UART.
    sent: bool,
}

impl Shutdown {
    pub(super) fn new(channel: Option<File>, after: Option<usize>, grace: Duration) -> Self {
        Self {
            channel,
            after,
            grace,
            presses_seen: presses(),
            asked_at: None,
            sent: false,
        }
    }

    /// True once a request waits to be sent: the caller then finds out
    /// whether the hypervisor reads its channel yet.
    pub(super) fn wants_channel(&self) -> bool {
        self.asked_at.is_some() && !self.sent
    }

    /// Acts on Ctrl-C, the script and the grace period; `matched` is the
    /// expectations matched so far, `ready` whether the hypervisor reads its
    /// channel yet. Some(why) when the run must stop now.
    pub(super) fn poll(&mut self, matched: usize, ready: bool, now: Instant) -> Option<String> {
        self.poll_with(presses(), matched, ready, now)
    }

    /// [`Shutdown::poll`] with `pressed` Ctrl-C presses counted so far.
    fn poll_with(
        &mut self,
        pressed: usize,
        matched: usize,
        ready: bool,
        now: Instant,
    ) -> Option<String> {
        if pressed > self.presses_seen {
            self.presses_seen = pressed;
            if self.asked_at.is_some() {
                return Some("xtask: Ctrl-C again: stopped the guest".into());
            }
            if self.channel.is_none() {
                return Some(
                    "xtask: Ctrl-C: this emulator gives the hypervisor no control channel: \
                     stopped the guest"
                        .into(),
                );
            }
            eprintln!(
                "\r\nxtask: Ctrl-C: asking the guest to shut down (control/shutdown); \
                 Ctrl-C again to stop it now\r"
            );
            self.asked_at = Some(now);
        }
        if self.asked_at.is_none() && self.after.is_some_and(|n| matched >= n) {
            if self.channel.is_none() {
                return Some(
                    "xtask: cannot ask the guest to shut down: this emulator gives the \
                     hypervisor no control channel"
                        .into(),
                );
            }
            eprintln!("\r\nxtask: asking the guest to shut down (control/shutdown)\r");
            self.asked_at = Some(now);
        }
        let asked = self.asked_at?;
        if !self.sent && ready {
            if let Some(channel) = self.channel.as_mut() {
                if let Err(e) = channel
                    .write_all(&[host_control::SHUTDOWN])
                    .and_then(|()| channel.flush())
                {
                    return Some(format!(
                        "xtask: cannot send the shutdown request: {e}: stopped the guest"
                    ));
                }
            }
            self.sent = true;
        }
        (now.duration_since(asked) >= self.grace).then(|| {
            format!(
                "xtask: the guest did not shut down within {} s of the request: stopped it",
                self.grace.as_secs_f64()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn channel(name: &str) -> (PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("xtask-control-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = make_fifos(&dir).unwrap();
        assert!(base.with_extension("out").exists());
        let file = open_channel(&base).unwrap();
        (base, file)
    }

    fn read_waiting(base: &Path) -> Vec<u8> {
        // Another read-write opening of the FIFO: never blocks, sees what
        // waits; a short read timeout is had by reading what is there.
        let mut f = open_channel(base).unwrap();
        let mut buf = [0u8; 16];
        let n = f.read(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn the_request_is_one_byte_sent_once_the_hypervisor_reads_its_channel() {
        let (base, file) = channel("script");
        let t0 = Instant::now();
        let mut s = Shutdown::new(Some(file), Some(2), Duration::from_secs(30));
        assert_eq!(s.poll(1, true, t0), None);
        assert!(s.asked_at.is_none(), "not before two expectations matched");
        assert_eq!(s.poll(2, false, t0), None);
        assert!(s.asked_at.is_some() && !s.sent, "asked, not yet sendable");
        assert_eq!(s.poll(2, true, t0), None);
        assert!(s.sent);
        assert_eq!(s.poll(3, true, t0 + Duration::from_secs(1)), None);
        assert_eq!(read_waiting(&base), b"S", "one byte, once");
        let why = s.poll(3, true, t0 + Duration::from_secs(30)).unwrap();
        assert_eq!(
            why,
            "xtask: the guest did not shut down within 30 s of the request: stopped it"
        );
        let _ = std::fs::remove_dir_all(base.parent().unwrap());
    }

    #[test]
    fn ctrl_c_asks_once_then_a_second_press_stops_at_once() {
        let (base, file) = channel("ctrl-c");
        let t0 = Instant::now();
        let mut s = Shutdown::new(Some(file), None, Duration::from_secs(30));
        let base_presses = s.presses_seen;
        assert_eq!(s.poll_with(base_presses, 9, true, t0), None);
        assert!(s.asked_at.is_none());
        assert_eq!(s.poll_with(base_presses + 1, 0, true, t0), None);
        assert!(s.sent);
        assert_eq!(read_waiting(&base), b"S");
        let why = s
            .poll_with(base_presses + 2, 0, true, t0 + Duration::from_secs(1))
            .unwrap();
        assert_eq!(why, "xtask: Ctrl-C again: stopped the guest");
        let _ = std::fs::remove_dir_all(base.parent().unwrap());
        // Without a channel the first press stops the run.
        let mut none = Shutdown::new(None, None, Duration::from_secs(30));
        let p = none.presses_seen;
        let why = none.poll_with(p + 1, 0, true, t0).unwrap();
        assert!(why.contains("no control channel"), "{why}");
    }

    #[test]
    fn without_a_channel_a_scripted_request_stops_the_run_saying_why() {
        let mut s = Shutdown::new(None, Some(0), Duration::from_secs(30));
        let why = s.poll(0, true, Instant::now()).unwrap();
        assert!(why.contains("no control channel"), "{why}");
        let mut idle = Shutdown::new(None, None, Duration::from_secs(30));
        assert_eq!(idle.poll(5, true, Instant::now()), None);
    }

    #[test]
    fn the_request_byte_is_the_documented_one() {
        assert_eq!(host_control::SHUTDOWN, b'S');
        assert_eq!(host_control::PORT, 0x3E8);
        assert_eq!(INTERRUPTED_EXIT_CODE, 128 + 2);
    }
}
