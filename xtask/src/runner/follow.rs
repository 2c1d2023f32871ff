//! Following a started emulator: typing the scripted input, reading the
//! guest's serial console and text screen, matching the expectations,
//! asking the guest to shut down (Ctrl-C, `shutdown_after`) and stopping it
//! when it does not, killing the emulator when asked to (`kill_after`), and
//! deciding how the run ended.

use super::control::Shutdown;
use super::media::SCREEN_FILE;
use super::options::{Emulator, RunOptions};
use super::report::{
    Outcome, RunReport, QEMU_GUEST_FAILED, QEMU_GUEST_FINISHED, QEMU_HYPERVISOR_FAILED,
};
use crate::bochs;
use crate::expect::Expectations;
use std::io::Write;
use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The hypervisor's log line that says the guest is about to run: "dom1:
/// starting at the reset vector, ..." or "... at the PVH kernel's entry".
const GUEST_STARTED: &str = ": starting at the ";

fn guest_started(hv_log: &std::path::Path) -> bool {
    std::fs::read_to_string(hv_log)
        .map(|s| s.contains(GUEST_STARTED))
        .unwrap_or(false)
}

pub(super) fn follow(
    child: &mut Child,
    opts: &RunOptions,
    hv_log: &std::path::Path,
    emulator: Emulator,
    rx: mpsc::Receiver<Vec<u8>>,
    stderr_thread: std::thread::JoinHandle<String>,
    control: Option<std::fs::File>,
) -> Result<Followed, String> {
    let spawned = Instant::now();
    let mut matched: Option<(Duration, String)> = None;
    let screen_path = hv_log.with_file_name(SCREEN_FILE);
    let mut screen = ScreenReader::default();
    let mut serial_seen = false;
    // Typed input waits until the hypervisor has started the guest (before
    // that, the host UART is not yet programmed and would drop it); the pipe
    // stays open for the whole run, since EOF would close QEMU's serial backend.
    let mut stdin = child.stdin.take();
    // Typed input waits until the guest has started (see `guest_started`).
    let typing = !opts.input.is_empty() || !opts.send.is_empty();
    let mut started = false;
    let mut sends_done = 0;

    let mut expectations = Expectations::new(opts.expect.clone());
    // The hypervisor log's length as each expectation matched.
    let mut log_len_at_match: Vec<u64> = Vec::new();
    let mut bytes = Vec::new();
    let deadline = Instant::now() + opts.timeout;
    let mut met_at: Option<Instant> = None;
    let mut shutdown = Shutdown::new(control, opts.shutdown_after, opts.shutdown_grace);
    // Set when the run is stopped after a shutdown request: the line said.
    let mut interrupted: Option<String> = None;
    let mut hv_ready = false;
    // When `kill_after` is set and every expectation matched: the moment
    // the emulator is killed.
    let mut kill_at: Option<Instant> = None;
    let mut killed_after: Option<Duration> = None;
    let ended = loop {
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        if kill_at.is_some_and(|k| now >= k) {
            killed_after = Some(spawned.elapsed());
            break None;
        }
        // The request byte waits until the hypervisor has set up its
        // channel, which it has once the guest started.
        if !hv_ready && shutdown.wants_channel() {
            hv_ready = guest_started(hv_log);
        }
        if let Some(why) = shutdown.poll(expectations.matched(), hv_ready, now) {
            eprintln!("\r\n{why}\r");
            interrupted = Some(why);
            break None;
        }
        // Once every expectation matched, give a run asked for statistics a
        // moment to stop on its own and print them; a run that must end by
        // itself follows on until it does.
        if let Some(t) = met_at {
            if opts.kill_after.is_some() {
                kill_at = kill_at.or(opts.kill_after.map(|d| t + d));
            } else if !opts.until_stopped
                && (!opts.stats || now.duration_since(t) > Duration::from_secs(5))
            {
                break None;
            }
        }
        if typing && !started && guest_started(hv_log) {
            if let Some(pipe) = stdin.as_mut() {
                let _ = pipe.write_all(&opts.input);
                let _ = pipe.flush();
            }
            started = true;
        }
        if started {
            while let Some((after, bytes)) = opts.send.get(sends_done) {
                if expectations.matched() < *after {
                    break;
                }
                if let Some(pipe) = stdin.as_mut() {
                    let _ = pipe.write_all(bytes);
                    let _ = pipe.flush();
                }
                sends_done += 1;
            }
        }
        if screen.poll(&screen_path) {
            // The screen is shown while the guest has said nothing on its serial
            // console (a DOS guest); after that, serial output has the terminal.
            if opts.echo && !serial_seen {
                let mut out = std::io::stdout().lock();
                let _ = write!(
                    out,
                    "\x1b[H\x1b[2J{}\r\n",
                    screen.text.replace('\n', "\r\n")
                );
                let _ = out.flush();
            }
            expectations.advance_with_screen(&String::from_utf8_lossy(&bytes), &screen.text);
            note_matches(&expectations, &mut log_len_at_match, hv_log);
            if expectations.all_met() && met_at.is_none() {
                met_at = Some(Instant::now());
                matched = Some(at_match(spawned, hv_log));
            }
        }
        let wait = Duration::from_millis(100).min(deadline - now);
        let wait = kill_at.map_or(wait, |k| wait.min(k.saturating_duration_since(now)));
        match rx.recv_timeout(wait) {
            Ok(chunk) => {
                if opts.echo {
                    let mut out = std::io::stdout().lock();
                    if !serial_seen && !screen.text.is_empty() {
                        let _ = out.write_all(b"\x1b[2J\x1b[H");
                    }
                    let _ = out.write_all(&chunk);
                    let _ = out.flush();
                }
                serial_seen = true;
                bytes.extend_from_slice(&chunk);
                expectations.advance_with_screen(&String::from_utf8_lossy(&bytes), &screen.text);
                note_matches(&expectations, &mut log_len_at_match, hv_log);
                if expectations.all_met() && met_at.is_none() {
                    met_at = Some(Instant::now());
                    matched = Some(at_match(spawned, hv_log));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Some(
                    child
                        .wait()
                        .map_err(|e| format!("waiting for the emulator: {e}"))?,
                );
            }
        }
    };
    let status = match ended {
        Some(s) => match emulator {
            Emulator::Qemu => s.code(),
            // Bochs always exits with 1: the hypervisor's log says how it ended.
            Emulator::Bochs => {
                bochs::status_from_log(&std::fs::read_to_string(hv_log).unwrap_or_default())
            }
        },
        // Timeout, expectations met, a shutdown not obeyed, `kill_after`:
        // SIGKILL (what `Child::kill` sends on Unix).
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let stderr_text = stderr_thread.join().unwrap_or_default();
    let console = String::from_utf8_lossy(&bytes).into_owned();
    // The last screen frame may arrive as the machine stops.
    if screen.poll(&screen_path) {
        expectations.advance_with_screen(&console, &screen.text);
    }
    let outcome = if let Some(why) = interrupted {
        Outcome::Interrupted { why }
    } else if expectations.all_met() && (!opts.until_stopped || killed_after.is_some()) {
        Outcome::ExpectationsMet
    } else if ended.is_none() {
        Outcome::Timeout
    } else {
        match status {
            // Every expectation matched and then the guest ended cleanly.
            Some(QEMU_GUEST_FINISHED) if expectations.all_met() => Outcome::ExpectationsMet,
            Some(QEMU_GUEST_FINISHED) if !expectations.any() => Outcome::GuestFinished,
            Some(QEMU_GUEST_FINISHED) => Outcome::ExpectationsUnmet {
                pending: expectations.pending().unwrap_or_default().to_string(),
                guest_finished: true,
            },
            Some(QEMU_GUEST_FAILED) => Outcome::GuestFailed,
            Some(QEMU_HYPERVISOR_FAILED) => Outcome::HypervisorFailed,
            other => Outcome::EmulatorFailed {
                status: other,
                stderr: stderr_text,
            },
        }
    };
    let (matched_after, hv_log_at_match) = matched.unzip();
    Ok(Followed {
        outcome,
        console,
        screen: screen.text,
        log_len_at_match,
        matched_after,
        hv_log_at_match,
        killed_after,
    })
}

/// What `follow` saw.
pub(super) struct Followed {
    outcome: Outcome,
    console: String,
    screen: String,
    log_len_at_match: Vec<u64>,
    matched_after: Option<Duration>,
    hv_log_at_match: Option<String>,
    killed_after: Option<Duration>,
}

impl Followed {
    pub(super) fn report(self, hv_log: String, hv_log_path: PathBuf) -> RunReport {
        RunReport {
            outcome: self.outcome,
            console: self.console,
            hv_log,
            hv_log_path,
            screen: self.screen,
            hv_log_len_at_match: self.log_len_at_match,
            matched_after: self.matched_after,
            hv_log_at_match: self.hv_log_at_match,
            killed_after: self.killed_after,
        }
    }
}

/// Notes the hypervisor log's length for each expectation matched since
/// the last call (what a benchmark needs to take the statistics snapshots
/// logged up to a match: `RunReport::hv_log_at`).
fn note_matches(e: &Expectations, lens: &mut Vec<u64>, hv_log: &std::path::Path) {
    while lens.len() < e.matched() {
        lens.push(std::fs::metadata(hv_log).map_or(0, |m| m.len()));
    }
}

/// The time since the emulator started and the hypervisor's log so far.
fn at_match(spawned: Instant, hv_log: &std::path::Path) -> (Duration, String) {
    (
        spawned.elapsed(),
        std::fs::read_to_string(hv_log).unwrap_or_default(),
    )
}

/// Follows the screen channel: STX, 25 lines, ETX per frame; keeps the latest.
#[derive(Default)]
struct ScreenReader {
    offset: usize,
    partial: Vec<u8>,
    /// The latest complete screen.
    text: String,
}

impl ScreenReader {
    /// Reads what arrived; true if a new frame completed.
    fn poll(&mut self, path: &std::path::Path) -> bool {
        let Ok(all) = std::fs::read(path) else {
            return false;
        };
        if all.len() <= self.offset {
            return false;
        }
        let mut updated = false;
        for &b in &all[self.offset..] {
            match b {
                0x02 => self.partial.clear(),
                0x03 => {
                    self.text = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    updated = true;
                }
                _ => self.partial.push(b),
            }
        }
        self.offset = all.len();
        updated
    }
}

#[cfg(test)]
mod kill_tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    /// SIGKILL's number (POSIX: "SIGKILL 9").
    const SIGKILL: i32 = 9;

    #[test]
    fn kill_after_sigkills_the_emulator_that_long_after_the_match_and_keeps_what_was_seen() {
        // A stand-in for QEMU that prints a numbered line every 10 ms.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "i=0; while :; do echo line $i; i=$((i+1)); sleep 0.01; done",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh starts");
        let (rx, stderr_thread) = super::super::streams::stream_output(&mut child);
        let opts = RunOptions {
            expect: vec![regex::Regex::new("line 3\n").unwrap()],
            kill_after: Some(Duration::from_millis(300)),
            timeout: Duration::from_secs(30),
            ..RunOptions::default()
        };
        let log = std::env::temp_dir().join(format!("kill-after-{}.log", std::process::id()));
        let started = Instant::now();
        let followed = follow(
            &mut child,
            &opts,
            &log,
            Emulator::Qemu,
            rx,
            stderr_thread,
            None,
        )
        .expect("follows");
        let status = child.try_wait().expect("waited").expect("stopped");
        assert_eq!(status.signal(), Some(SIGKILL), "{status:?}");
        assert_eq!(followed.outcome, Outcome::ExpectationsMet);
        let killed = followed.killed_after.expect("killed by kill_after");
        assert!(
            killed >= Duration::from_millis(300) && started.elapsed() < Duration::from_secs(20)
        );
        // What the runner saw up to the kill: the match and lines after it.
        assert!(
            followed.console.contains("line 3\nline 4\n"),
            "{}",
            followed.console
        );
    }
}
