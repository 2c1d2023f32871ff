//! What a run produced: how it ended, the consoles and logs, and the exit
//! statistics blocks in the hypervisor's log.

use std::path::PathBuf;
use std::time::Duration;

/// Markers around the statistics block in the hypervisor log.
pub const STATS_BEGIN: &str = "--- exit statistics ---";
pub const STATS_END: &str = "--- end of exit statistics ---";

/// What the hypervisor's heartbeat lines start with (`vmm_core::heartbeat`).
pub const HEARTBEAT: &str = "heartbeat:";
/// How often the runner asks the hypervisor for a heartbeat.
pub const HEARTBEAT_MS: u64 = 5_000;
/// Guest console lines a timeout report shows.
const TIMEOUT_TAIL_LINES: usize = 40;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation matched.
    ExpectationsMet,
    /// No expectations were given and the guest ended cleanly.
    GuestFinished,
    /// The machine stopped before the expectation `pending` matched.
    ExpectationsUnmet {
        pending: String,
        guest_finished: bool,
    },
    /// The guest broke down (triple fault, invalid state, unhandled exit).
    GuestFailed,
    /// The hypervisor failed (panic, exception, missing hardware support).
    HypervisorFailed,
    /// QEMU itself failed or exited unexpectedly.
    EmulatorFailed { status: Option<i32>, stderr: String },
    /// Time ran out.
    Timeout,
    /// Stopped by a second Ctrl-C, or because the guest did not shut down
    /// within the grace period of a shutdown request; `why` is the line
    /// the runner printed.
    Interrupted { why: String },
}

impl Outcome {
    /// The runner's exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::ExpectationsMet | Outcome::GuestFinished => 0,
            Outcome::ExpectationsUnmet { .. } | Outcome::GuestFailed => 1,
            Outcome::HypervisorFailed => 2,
            Outcome::EmulatorFailed { .. } => 3,
            Outcome::Timeout => 124,
            Outcome::Interrupted { .. } => super::control::INTERRUPTED_EXIT_CODE,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub outcome: Outcome,
    /// Everything the guest wrote to its console.
    pub console: String,
    /// The hypervisor's log.
    pub hv_log: String,
    /// Where the log file is.
    pub hv_log_path: PathBuf,
    /// The guest's text screen at the end (empty for guests that do not use it).
    pub screen: String,
    /// The hypervisor log's length in bytes when each expectation matched,
    /// in order (see [`RunReport::hv_log_at`]).
    pub hv_log_len_at_match: Vec<u64>,
    /// How long after the emulator started the last expectation matched.
    pub matched_after: Option<Duration>,
    /// The hypervisor's log as it was when the last expectation matched.
    pub hv_log_at_match: Option<String>,
    /// Set when `RunOptions::kill_after` stopped the emulator with SIGKILL:
    /// how long after the emulator started.
    pub killed_after: Option<Duration>,
}

/// The last exit statistics block in `log`.
pub fn last_stats_block(log: &str) -> Option<String> {
    let start = log.rfind(STATS_BEGIN)? + STATS_BEGIN.len();
    let end = start + log[start..].find(STATS_END)?;
    Some(log[start..end].trim_matches('\n').to_string())
}

/// The last heartbeat line in `log`, from its [`HEARTBEAT`] on.
pub fn last_heartbeat(log: &str) -> Option<&str> {
    log.lines()
        .rev()
        .find_map(|l| l.find(HEARTBEAT).map(|at| l[at..].trim_end()))
}

impl RunReport {
    /// For a run that timed out, what shows where the guest was stuck: the
    /// hypervisor's last heartbeat (its RIP, CS:IP, IF, halt, the PIC and
    /// the top exits of the last period) and the last 40 lines of guest
    /// output; None for other outcomes.
    pub fn timeout_report(&self) -> Option<String> {
        if self.outcome != Outcome::Timeout {
            return None;
        }
        let beat = match last_heartbeat(&self.hv_log) {
            Some(line) => format!("the hypervisor's last heartbeat:\n  {line}"),
            None => format!(
                "the hypervisor logged no heartbeat (the first is due {HEARTBEAT_MS} ms of its time after \
                 the guest starts, a few times that under Bochs): the run ended sooner, or the guest \
                 never started, or the hypervisor is stuck itself; see {}",
                self.hv_log_path.display()
            ),
        };
        Some(format!(
            "{beat}\n--- last {TIMEOUT_TAIL_LINES} lines of guest output ---\n{}",
            self.console_tail(TIMEOUT_TAIL_LINES)
        ))
    }

    /// The exit statistics block of the log (the last, when the hypervisor
    /// printed snapshots), if the hypervisor printed one.
    pub fn stats(&self) -> Option<String> {
        last_stats_block(&self.hv_log)
    }

    /// The last statistics snapshot logged before the last expectation matched.
    pub fn stats_at_match(&self) -> Option<String> {
        last_stats_block(self.hv_log_at_match.as_deref()?)
    }

    /// The hypervisor's log as it was when expectation `index` matched
    /// (None if it never did): the statistics snapshots logged by then.
    pub fn hv_log_at(&self, index: usize) -> Option<&str> {
        let len = *self.hv_log_len_at_match.get(index)? as usize;
        let mut end = len.min(self.hv_log.len());
        while !self.hv_log.is_char_boundary(end) {
            end -= 1;
        }
        Some(&self.hv_log[..end])
    }

    /// The last `n` lines of the guest console.
    pub fn console_tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.console.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// QEMU exit status for each hypervisor outcome: `isa-debug-exit` exits with
/// (value << 1) | 1, and the hypervisor writes 0, 1 or 2.
pub(super) const QEMU_GUEST_FINISHED: i32 = 1;
pub(super) const QEMU_GUEST_FAILED: i32 = 3;
pub(super) const QEMU_HYPERVISOR_FAILED: i32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome, hv_log: &str, console: &str) -> RunReport {
        RunReport {
            outcome,
            console: console.into(),
            hv_log: hv_log.into(),
            hv_log_path: PathBuf::from("target/runs/x/hv.log"),
            screen: String::new(),
            hv_log_len_at_match: vec![4, 300],
            matched_after: None,
            hv_log_at_match: None,
            killed_after: None,
        }
    }

    const LOG: &str = "[INFO ] vmm: starting at the reset vector\n\
        [INFO ] dom1: heartbeat: at_ms=5000 rip=0000000000000010 cs=f000 mode=real\n\
        [INFO ] BIOS: booting\n\
        [INFO ] dom1: heartbeat: at_ms=10000 rip=0000000000000042 cs=f000 mode=real\n";

    #[test]
    fn the_log_at_a_match_is_its_prefix_then() {
        let r = report(Outcome::ExpectationsMet, LOG, "");
        assert_eq!(r.hv_log_at(0), Some("[INF"));
        assert_eq!(r.hv_log_at(1), Some(LOG), "cut to the log's length");
        assert_eq!(r.hv_log_at(2), None);
    }

    #[test]
    fn the_last_heartbeat_is_found_from_its_prefix_on() {
        assert_eq!(
            last_heartbeat(LOG),
            Some("heartbeat: at_ms=10000 rip=0000000000000042 cs=f000 mode=real")
        );
        assert_eq!(last_heartbeat("[INFO ] nothing\n"), None);
    }

    #[test]
    fn a_timeout_reports_the_last_heartbeat_and_the_console_tail() {
        let console: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        let text = report(Outcome::Timeout, LOG, &console)
            .timeout_report()
            .expect("a timeout has a report");
        assert!(text.contains("rip=0000000000000042"), "{text}");
        assert!(!text.contains("rip=0000000000000010"), "{text}");
        assert!(text.contains("line 11\nline 12"), "{text}");
        assert!(!text.contains("line 10\n"), "{text}");
        let silent = report(Outcome::Timeout, "", "").timeout_report().unwrap();
        assert!(silent.contains("no heartbeat"), "{silent}");
        assert!(silent.contains("target/runs/x/hv.log"), "{silent}");
        assert_eq!(
            report(Outcome::ExpectationsMet, LOG, "").timeout_report(),
            None
        );
    }
}
