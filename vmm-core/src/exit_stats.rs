//! Exit statistics of a domain: how often each exit reason happened and how many
//! host TSC cycles the hypervisor spent handling it. Benchmarks build on these.

use crate::vcpu::ExitReason;
use core::fmt;

/// The lines around a statistics block in the log, which the runner looks for.
pub const STATS_BEGIN: &str = "--- exit statistics ---";
pub const STATS_END: &str = "--- end of exit statistics ---";

/// Count and handling cycles of one exit reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCounter {
    pub count: u64,
    pub cycles: u64,
}

/// Per-reason counters plus the cycles spent in the guest.
#[derive(Clone, Debug, Default)]
pub struct ExitStats {
    counters: [ExitCounter; ExitReason::ALL.len()],
    /// Cycles between VMRUN/VMRESUME and the exit (guest time plus world switch).
    pub guest_cycles: u64,
    /// Passes of the halted guest's wait loop that polled the host disk at
    /// once instead of sleeping a host tick, because an IDE DMA transfer was
    /// on the host (`run_loop::sleep_until_interrupt`): what completion
    /// polling costs while the guest has nothing else to do.
    pub disk_polls_halted: u64,
}

impl ExitStats {
    /// Counts one exit of `reason` whose handling took `cycles`.
    pub fn record(&mut self, reason: ExitReason, cycles: u64) {
        let c = &mut self.counters[reason.index()];
        c.count += 1;
        c.cycles = c.cycles.saturating_add(cycles);
    }

    /// The counter of `reason`.
    pub fn get(&self, reason: ExitReason) -> ExitCounter {
        self.counters[reason.index()]
    }

    /// Total number of exits.
    pub fn total_exits(&self) -> u64 {
        self.counters.iter().map(|c| c.count).sum()
    }

    /// Writes the whole block the runner finds in the log: the markers, the
    /// domain and backend, the table, what `more` adds (the Xen counts), and
    /// the host time it was taken at.
    pub fn write_block(
        &self,
        out: &mut dyn fmt::Write,
        domain: u32,
        backend: &str,
        now_ns: u64,
        more: &dyn Fn(&mut dyn fmt::Write) -> fmt::Result,
    ) -> fmt::Result {
        writeln!(out, "{STATS_BEGIN}")?;
        writeln!(
            out,
            "domain {domain} backend {backend} at_ms {}",
            now_ns / 1_000_000
        )?;
        self.write_report(out)?;
        more(out)?;
        writeln!(out, "{STATS_END}")
    }

    /// Writes the table the runner shows for `--stats`: one line per reason that happened.
    pub fn write_report(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "{:<10} {:>12} {:>16} {:>12}",
            "exit", "count", "cycles", "cycles/exit"
        )?;
        for reason in ExitReason::ALL {
            let c = self.get(reason);
            if c.count > 0 {
                writeln!(
                    out,
                    "{:<10} {:>12} {:>16} {:>12}",
                    reason.name(),
                    c.count,
                    c.cycles,
                    c.cycles / c.count
                )?;
            }
        }
        writeln!(
            out,
            "{:<10} {:>12} {:>16}",
            "total",
            self.total_exits(),
            self.counters.iter().map(|c| c.cycles).sum::<u64>()
        )?;
        writeln!(
            out,
            "{:<10} {:>12} {:>16}",
            "in-guest", "", self.guest_cycles
        )?;
        if self.disk_polls_halted > 0 {
            writeln!(out, "{:<10} {:>12}", "disk-poll", self.disk_polls_halted)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_counts_and_cycles_per_reason() {
        let mut s = ExitStats::default();
        s.record(ExitReason::Io, 100);
        s.record(ExitReason::Io, 50);
        s.record(ExitReason::Hlt, 7);
        assert_eq!(
            s.get(ExitReason::Io),
            ExitCounter {
                count: 2,
                cycles: 150
            }
        );
        assert_eq!(s.get(ExitReason::Cpuid), ExitCounter::default());
        assert_eq!(s.total_exits(), 3);
    }

    #[test]
    fn report_lists_only_reasons_that_happened() {
        let mut s = ExitStats::default();
        s.record(ExitReason::Cpuid, 30);
        let mut out = String::new();
        s.write_report(&mut out).unwrap();
        assert!(out.contains("cpuid"));
        assert!(!out.contains("rdmsr"));
        assert!(out
            .lines()
            .any(|l| l.starts_with("total") && l.contains(" 1 ")));
    }
}
