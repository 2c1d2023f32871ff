//! The guest heartbeat: with `heartbeat_ms`, the run loop logs one line per
//! period saying where the guest is and what it has been doing, so a guest
//! that falls silent can be diagnosed from the log of a run that timed out
//! (the runner prints the last heartbeat): its RIP (and CS:IP in real and
//! virtual-8086 mode), its mode, RFLAGS.IF, whether it is halted waiting for
//! an interrupt, the 8259 pair's IRR, IMR and ISR, and the exit reasons that
//! happened most since the previous heartbeat.

use crate::exit_stats::ExitStats;
use crate::vcpu::{ExitReason, SegReg, Vcpu, CR0_PE, EFER_LMA, RFLAGS_IF};
use core::fmt;
use device_model::pic8259::PicRegisters;

/// What every heartbeat line starts with; the runner looks for it.
pub const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// How many exit reasons a heartbeat names.
pub const TOP_EXITS: usize = 3;

/// RFLAGS.VM: virtual-8086 mode.
const RFLAGS_VM: u64 = 1 << 17;

/// The processor mode a heartbeat reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuMode {
    Real,
    Vm86,
    Protected,
    /// IA-32e mode: 64-bit code or a compatibility-mode segment.
    Long,
}

impl CpuMode {
    fn name(self) -> &'static str {
        match self {
            CpuMode::Real => "real",
            CpuMode::Vm86 => "vm86",
            CpuMode::Protected => "protected",
            CpuMode::Long => "long",
        }
    }
}

/// One heartbeat: the guest's state at a moment and its exits since the last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Host time, as the statistics blocks give it.
    pub at_ms: u64,
    /// The time the exit counts cover.
    pub period_ms: u64,
    pub rip: u64,
    pub cs: u16,
    pub mode: CpuMode,
    pub rflags: u64,
    /// Halted, the hypervisor waiting for an interrupt to wake it.
    pub halted: bool,
    /// Master and slave 8259A, on a board that has them.
    pub pic: Option<[PicRegisters; 2]>,
    /// Exits since the last heartbeat, all reasons together.
    pub exits: u64,
    /// The most frequent reasons since the last heartbeat, most first.
    pub top_exits: [Option<(ExitReason, u64)>; TOP_EXITS],
}

impl Heartbeat {
    /// The guest's state now.
    pub fn capture(
        vcpu: &dyn Vcpu,
        pic: Option<[PicRegisters; 2]>,
        halted: bool,
        now_ns: u64,
        since: &HeartbeatClock,
        stats: &ExitStats,
    ) -> Self {
        let cr = vcpu.control_regs();
        let rflags = vcpu.rflags();
        let mode = if cr.cr0 & CR0_PE == 0 {
            CpuMode::Real
        } else if cr.efer & EFER_LMA != 0 {
            CpuMode::Long
        } else if rflags & RFLAGS_VM != 0 {
            CpuMode::Vm86
        } else {
            CpuMode::Protected
        };
        let (exits, top_exits) = top_exits_since(&since.exits_then, stats);
        Self {
            at_ms: now_ns / 1_000_000,
            period_ms: now_ns.saturating_sub(since.then_ns) / 1_000_000,
            rip: vcpu.rip(),
            cs: vcpu.segment(SegReg::Cs).selector,
            mode,
            rflags,
            halted,
            pic,
            exits,
            top_exits,
        }
    }
}

impl fmt::Display for Heartbeat {
    /// One line: `heartbeat: at_ms=65000 rip=000000000000061c cs=9c20
    /// cs:ip=9c20:061c mode=real if=1 halted=no pic master irr=01 imr=b8
    /// isr=00 slave irr=00 imr=8e isr=00 exits in 5000 ms: 5106 (intr 5012,
    /// io 91, hlt 3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{HEARTBEAT_PREFIX} at_ms={} rip={:016x} cs={:04x}",
            self.at_ms, self.rip, self.cs
        )?;
        if matches!(self.mode, CpuMode::Real | CpuMode::Vm86) {
            write!(f, " cs:ip={:04x}:{:04x}", self.cs, self.rip as u16)?;
        }
        write!(
            f,
            " mode={} if={} halted={}",
            self.mode.name(),
            u8::from(self.rflags & RFLAGS_IF != 0),
            if self.halted { "yes" } else { "no" }
        )?;
        match self.pic {
            Some([m, s]) => write!(
                f,
                " pic master irr={:02x} imr={:02x} isr={:02x} slave irr={:02x} imr={:02x} isr={:02x}",
                m.irr, m.imr, m.isr, s.irr, s.imr, s.isr
            )?,
            None => f.write_str(" pic none")?,
        }
        write!(f, " exits in {} ms: {}", self.period_ms, self.exits)?;
        let mut top = self.top_exits.iter().flatten();
        if let Some((reason, count)) = top.next() {
            write!(f, " ({} {count}", reason.name())?;
            for (reason, count) in top {
                write!(f, ", {} {count}", reason.name())?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// When the next heartbeat is due, and the counts the last one left.
#[derive(Clone, Debug, Default)]
pub struct HeartbeatClock {
    /// Host time of the last heartbeat (or of the first look).
    then_ns: u64,
    /// Host time of the next; 0 before the first look.
    next_ns: u64,
    exits_then: ExitStats,
}

impl HeartbeatClock {
    /// True when a heartbeat is due at `now_ns` with `period_ms` (0: never).
    /// The first look only starts the period.
    pub fn due(&mut self, now_ns: u64, period_ms: u64) -> bool {
        let period_ns = period_ms.saturating_mul(1_000_000);
        if period_ns == 0 {
            return false;
        }
        if self.next_ns == 0 {
            self.then_ns = now_ns;
            self.next_ns = now_ns.saturating_add(period_ns).max(1);
            return false;
        }
        now_ns >= self.next_ns
    }

    /// A heartbeat was logged at `now_ns` with `stats` as they are now.
    pub fn beat(&mut self, now_ns: u64, period_ms: u64, stats: &ExitStats) {
        self.then_ns = now_ns;
        self.next_ns = now_ns
            .saturating_add(period_ms.saturating_mul(1_000_000))
            .max(1);
        self.exits_then = stats.clone();
    }
}

/// The exits between `then` and `now`: their number, and the reasons that
/// happened most, most first (ties in the table's order).
fn top_exits_since(
    then: &ExitStats,
    now: &ExitStats,
) -> (u64, [Option<(ExitReason, u64)>; TOP_EXITS]) {
    let mut top = [None; TOP_EXITS];
    let mut total = 0u64;
    for reason in ExitReason::ALL {
        let count = now.get(reason).count.saturating_sub(then.get(reason).count);
        total = total.saturating_add(count);
        if count == 0 {
            continue;
        }
        // Insert into the sorted list, dropping the smallest if full.
        let mut entry = Some((reason, count));
        for slot in top.iter_mut() {
            match (*slot, entry) {
                (None, _) => {
                    *slot = entry.take();
                    break;
                }
                (Some((_, held)), Some((_, new))) if new > held => {
                    core::mem::swap(slot, &mut entry);
                }
                _ => {}
            }
        }
    }
    (total, top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::FakeVcpu;
    use alloc::string::ToString;

    fn pic() -> [PicRegisters; 2] {
        [
            PicRegisters {
                irr: 0x01,
                imr: 0xB8,
                isr: 0x00,
            },
            PicRegisters {
                irr: 0x00,
                imr: 0x8E,
                isr: 0x01,
            },
        ]
    }

    #[test]
    fn a_real_mode_heartbeat_names_cs_ip_if_the_pic_and_the_top_exits() {
        let beat = Heartbeat {
            at_ms: 65_000,
            period_ms: 5_000,
            rip: 0x061C,
            cs: 0x9C20,
            mode: CpuMode::Real,
            rflags: 0x246,
            halted: false,
            pic: Some(pic()),
            exits: 5_106,
            top_exits: [
                Some((ExitReason::ExternalInterrupt, 5_012)),
                Some((ExitReason::Io, 91)),
                Some((ExitReason::Hlt, 3)),
            ],
        };
        assert_eq!(
            beat.to_string(),
            "heartbeat: at_ms=65000 rip=000000000000061c cs=9c20 cs:ip=9c20:061c mode=real \
             if=1 halted=no pic master irr=01 imr=b8 isr=00 slave irr=00 imr=8e isr=01 \
             exits in 5000 ms: 5106 (intr 5012, io 91, hlt 3)"
        );
    }

    #[test]
    fn a_halted_long_mode_guest_without_a_pic_or_exits() {
        let beat = Heartbeat {
            at_ms: 7,
            period_ms: 5,
            rip: 0xFFFF_FFFF_8100_0000,
            cs: 0x10,
            mode: CpuMode::Long,
            rflags: 0x2,
            halted: true,
            pic: None,
            exits: 0,
            top_exits: [None; TOP_EXITS],
        };
        assert_eq!(
            beat.to_string(),
            "heartbeat: at_ms=7 rip=ffffffff81000000 cs=0010 mode=long if=0 halted=yes \
             pic none exits in 5 ms: 0"
        );
    }

    #[test]
    fn capture_counts_only_the_exits_since_the_last_beat_most_first() {
        let mut stats = ExitStats::default();
        stats.record(ExitReason::Cpuid, 1);
        let mut clock = HeartbeatClock::default();
        assert!(!clock.due(1_000_000, 5), "the first look starts the period");
        assert!(!clock.due(5_999_999, 5));
        assert!(clock.due(6_000_000, 5));
        clock.beat(6_000_000, 5, &stats);
        for _ in 0..4 {
            stats.record(ExitReason::Io, 1);
        }
        for _ in 0..9 {
            stats.record(ExitReason::ExternalInterrupt, 1);
        }
        stats.record(ExitReason::Hlt, 1);
        stats.record(ExitReason::Cpuid, 1);
        stats.record(ExitReason::Cpuid, 1);
        let vcpu = FakeVcpu {
            rip: 0x1234,
            rflags: 0x202,
            ..FakeVcpu::default()
        };
        let beat = Heartbeat::capture(&vcpu, Some(pic()), true, 11_500_000, &clock, &stats);
        assert_eq!(beat.at_ms, 11);
        assert_eq!(beat.period_ms, 5);
        assert_eq!(beat.rip, 0x1234);
        assert_eq!(beat.mode, CpuMode::Real);
        assert!(beat.halted);
        assert_eq!(beat.exits, 16);
        assert_eq!(
            beat.top_exits,
            [
                Some((ExitReason::ExternalInterrupt, 9)),
                Some((ExitReason::Io, 4)),
                Some((ExitReason::Cpuid, 2)),
            ]
        );
        // Capturing does not restart the period; `beat` does.
        assert!(!clock.due(10_999_999, 5));
        assert!(clock.due(11_000_000, 5));
        assert!(!clock.due(11_000_000, 0), "0 turns it off");
    }
}
