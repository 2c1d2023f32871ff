//! The APIC timer (SDM 11.5.4 "APIC Timer", 11.5.4.1 "TSC-Deadline Mode").
//!
//! The counter decrements once every `divisor` APIC bus cycles, the divisor
//! coming from the divide configuration register (1, 2, 4 ... 128). Writing
//! the initial count loads the current count and starts counting (0 stops
//! the timer). One-shot: at 0 the timer raises its LVT vector once and stays
//! at 0. Periodic: at 0 it raises the vector and reloads. TSC-deadline: the
//! count registers are unused (initial-count writes are ignored, the current
//! count reads 0) and the timer fires when the guest's TSC reaches
//! IA32_TSC_DEADLINE, which it then clears. A masked timer still counts; it
//! just raises nothing. A write to the LVT timer entry that changes the mode
//! disarms the timer: the initial count and IA32_TSC_DEADLINE become 0.
//! Every write that changes the timer (initial count, divide configuration,
//! LVT timer entry, IA32_TSC_DEADLINE) first fires an expiry already due
//! under the old settings, as the hardware would have before the write.
//!
//! # Model
//!
//! Time is host nanoseconds from [`crate::Clock`]; nothing steps tick by
//! tick. The timer keeps an origin (host time and the number of counter
//! decrements, "ticks", already done at that time) and computes the count in
//! closed form: `ticks(now) = origin_ticks + bus_cycles(now - origin) /
//! divisor`. Expiries fall where `ticks` reaches a multiple of the initial
//! count, so a periodic timer keeps its phase. [`LocalApic::poll`] fires
//! once for an expiry that is due, however many periods passed since (no
//! burst of interrupts after the vCPU was descheduled), and re-arms for the
//! first expiry after now. A divide-configuration write while counting keeps
//! the current count and continues it at the new rate.

use super::lvt::Lvt;
use super::registers::*;
use super::LocalApic;

/// The APIC bus (timer input) frequency: 1 GHz, one cycle per nanosecond, as
/// KVM's. Guests learn it from CPUID 15h (core crystal clock) or the
/// hypervisor leaf 4000_0010h (EBX, in kHz), or calibrate against the PIT,
/// the PM timer or the HPET.
pub const APIC_BUS_HZ: u64 = 1_000_000_000;

const NS_PER_SEC: u128 = 1_000_000_000;

/// Whole bus cycles in `ns` nanoseconds.
fn ns_to_cycles(ns: u64) -> u64 {
    u64::try_from(u128::from(ns) * u128::from(APIC_BUS_HZ) / NS_PER_SEC).unwrap_or(u64::MAX)
}

/// The first nanosecond by which `cycles` bus cycles have passed.
fn cycles_to_ns(cycles: u128) -> u64 {
    let hz = u128::from(APIC_BUS_HZ);
    u64::try_from(cycles.saturating_mul(NS_PER_SEC).div_ceil(hz)).unwrap_or(u64::MAX)
}

/// The divisor a divide configuration value selects (11.5.4, Figure 11-10):
/// bits 3, 1, 0 = 000b → 2, 001b → 4 ... 110b → 128, 111b → 1.
pub(super) fn divisor(config: u32) -> u64 {
    let code = (config & 0x3) | ((config & 0x8) >> 1);
    if code == 7 {
        1
    } else {
        2 << code
    }
}

/// The timer's counting state.
#[derive(Clone, Debug, Default)]
pub(super) struct Timer {
    /// Initial count register.
    initial: u32,
    /// Divide configuration register (bits 0, 1, 3).
    divide_config: u32,
    /// Host time at which `origin_ticks` decrements had been done.
    origin_ns: u64,
    /// Decrements done since the initial count was loaded, at `origin_ns`.
    origin_ticks: u64,
    /// The next expiry; `None` when not armed.
    deadline_ns: Option<u64>,
    /// IA32_TSC_DEADLINE.
    tsc_deadline: u64,
}

impl Timer {
    pub(super) fn initial_count(&self) -> u32 {
        self.initial
    }

    pub(super) fn divide_config(&self) -> u32 {
        self.divide_config
    }

    /// Stops the timer and clears both the initial count and
    /// IA32_TSC_DEADLINE (a mode change, 11.5.4.1).
    pub(super) fn disarm(&mut self) {
        self.initial = 0;
        self.origin_ticks = 0;
        self.deadline_ns = None;
        self.tsc_deadline = 0;
    }

    /// Decrements done by `now`.
    fn ticks_at(&self, now: u64) -> u64 {
        let cycles = ns_to_cycles(now.saturating_sub(self.origin_ns));
        self.origin_ticks
            .saturating_add(cycles / divisor(self.divide_config))
    }

    /// When the counter reaches tick `target`.
    fn time_of_tick(&self, target: u64) -> u64 {
        let cycles = u128::from(target.saturating_sub(self.origin_ticks))
            * u128::from(divisor(self.divide_config));
        self.origin_ns.saturating_add(cycles_to_ns(cycles))
    }

    /// The first expiry after the counter's state at `now`: the count
    /// reaching 0 (one-shot), or the next multiple of the initial count
    /// (periodic).
    fn next_expiry(&self, now: u64, periodic: bool) -> Option<u64> {
        let initial = u64::from(self.initial);
        if initial == 0 {
            return None;
        }
        let target = if periodic {
            (self.ticks_at(now) / initial)
                .saturating_add(1)
                .saturating_mul(initial)
        } else {
            initial
        };
        Some(self.time_of_tick(target))
    }
}

impl LocalApic {
    /// LVT timer bits 18:17.
    fn timer_mode(&self) -> u32 {
        (self.lvt_entry(Lvt::Timer) & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT
    }

    fn timer_periodic(&self) -> bool {
        self.timer_mode() == TIMER_MODE_PERIODIC
    }

    fn timer_tsc_deadline_mode(&self) -> bool {
        self.timer_mode() == TIMER_MODE_TSC_DEADLINE
    }

    /// The current count register.
    pub(super) fn timer_current_count(&self) -> u32 {
        let t = &self.timer;
        if self.timer_tsc_deadline_mode() || t.initial == 0 || t.deadline_ns.is_none() {
            return 0;
        }
        let initial = u64::from(t.initial);
        let ticks = t.ticks_at(self.now_ns());
        let left = if self.timer_periodic() {
            initial - ticks % initial
        } else {
            initial - ticks.min(initial)
        };
        left as u32
    }

    /// Initial count write: loads the count and starts (non-zero) or stops
    /// (zero) the timer. Ignored in TSC-deadline mode.
    pub(super) fn write_initial_count(&mut self, value: u32) {
        if self.timer_tsc_deadline_mode() {
            return;
        }
        self.poll();
        let now = self.now_ns();
        let periodic = self.timer_periodic();
        let t = &mut self.timer;
        t.initial = value;
        t.origin_ns = now;
        t.origin_ticks = 0;
        t.deadline_ns = t.next_expiry(now, periodic);
    }

    /// Divide configuration write: a counting timer keeps its current count
    /// and continues at the new rate.
    pub(super) fn write_divide_config(&mut self, value: u32) {
        self.poll();
        let now = self.now_ns();
        let periodic = self.timer_periodic();
        let counting = !self.timer_tsc_deadline_mode() && self.timer.deadline_ns.is_some();
        let t = &mut self.timer;
        if counting {
            let initial = u64::from(t.initial).max(1);
            let ticks = t.ticks_at(now);
            t.origin_ticks = if periodic {
                ticks % initial
            } else {
                ticks.min(initial)
            };
            t.origin_ns = now;
        }
        t.divide_config = value & TIMER_DIVIDE_WRITABLE;
        if counting {
            t.deadline_ns = t.next_expiry(now, periodic);
        }
    }

    /// Fires the timer if an expiry is due: raises the LVT timer vector
    /// (unless masked) once, then re-arms a periodic timer for its first
    /// expiry after now, or disarms a one-shot or TSC-deadline timer (the
    /// latter clearing IA32_TSC_DEADLINE).
    pub fn poll(&mut self) {
        let now = self.now_ns();
        match self.timer.deadline_ns {
            Some(deadline) if deadline <= now => {}
            _ => return,
        }
        let periodic = self.timer_periodic();
        if self.timer_tsc_deadline_mode() {
            self.timer.deadline_ns = None;
            self.timer.tsc_deadline = 0;
        } else if periodic {
            self.timer.deadline_ns = self.timer.next_expiry(now, true);
        } else {
            self.timer.deadline_ns = None;
        }
        let entry = self.lvt_entry(Lvt::Timer);
        if entry & LVT_MASKED == 0 {
            self.accept((entry & LVT_VECTOR) as u8, false);
        }
    }

    /// When the timer next expires (host nanoseconds of the clock): the run
    /// loop should call [`LocalApic::poll`] then. `None` when not armed.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        self.timer.deadline_ns
    }

    /// A guest write of IA32_TSC_DEADLINE (MSR 6E0h) of `deadline_tsc`, when
    /// its TSC reads `guest_tsc_now` and runs at `tsc_hz`. Arms the timer for
    /// the host time at which the guest TSC reaches the deadline (at once if
    /// it already has); 0 disarms. Ignored unless the LVT timer is in
    /// TSC-deadline mode (11.5.4.1).
    pub fn set_tsc_deadline(&mut self, deadline_tsc: u64, guest_tsc_now: u64, tsc_hz: u64) {
        if !self.timer_tsc_deadline_mode() {
            return;
        }
        self.poll();
        self.timer.tsc_deadline = deadline_tsc;
        if deadline_tsc == 0 {
            self.timer.deadline_ns = None;
            return;
        }
        let delta_tsc = u128::from(deadline_tsc.saturating_sub(guest_tsc_now));
        let delta_ns = match tsc_hz {
            0 => 0,
            hz => {
                u64::try_from((delta_tsc * NS_PER_SEC).div_ceil(u128::from(hz))).unwrap_or(u64::MAX)
            }
        };
        self.timer.deadline_ns = Some(self.now_ns().saturating_add(delta_ns));
    }

    /// IA32_TSC_DEADLINE as the guest reads it: the armed deadline, 0 once it
    /// fired or when not in TSC-deadline mode.
    pub fn tsc_deadline(&self) -> u64 {
        if self.timer_tsc_deadline_mode() {
            self.timer.tsc_deadline
        } else {
            0
        }
    }
}
