//! What a run produced: how it ended, the consoles and logs, and the exit
//! statistics blocks in the hypervisor's log.

use std::path::PathBuf;
use std::time::Duration;

/// Markers around the statistics block in the hypervisor log.
pub const STATS_BEGIN: &str = "--- exit statistics ---";
pub const STATS_END: &str = "--- end of exit statistics ---";

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
    /// How long after the emulator started the last expectation matched.
    pub matched_after: Option<Duration>,
    /// The hypervisor's log as it was when the last expectation matched.
    pub hv_log_at_match: Option<String>,
}

/// The last exit statistics block in `log`.
pub fn last_stats_block(log: &str) -> Option<String> {
    let start = log.rfind(STATS_BEGIN)? + STATS_BEGIN.len();
    let end = start + log[start..].find(STATS_END)?;
    Some(log[start..end].trim_matches('\n').to_string())
}

impl RunReport {
    /// The exit statistics block of the log (the last, when the hypervisor
    /// printed snapshots), if the hypervisor printed one.
    pub fn stats(&self) -> Option<String> {
        last_stats_block(&self.hv_log)
    }

    /// The last statistics snapshot logged before the last expectation matched.
    pub fn stats_at_match(&self) -> Option<String> {
        last_stats_block(self.hv_log_at_match.as_deref()?)
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
