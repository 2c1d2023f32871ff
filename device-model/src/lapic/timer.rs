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
//! count, so a periodic timer keeps its phase. [`LocalApic::poll`] counts the
//! expiries that are due (in closed form, so a long gap costs no more than a
//! short one) and re-arms for the first expiry after now. A
//! divide-configuration write while counting keeps the current count and
//! continues it at the new rate. The current count register is computed from
//! the origin alone, so it reads the same whatever interrupts are owed.
//!
//! # Periodic mode: missed periods are delayed, not lost
//!
//! In periodic mode the timer raises its vector each time the count reaches
//! 0 and reloads (SDM Vol. 3A 11.5.4 "APIC Timer"). On hardware a period
//! that ends while the previous timer interrupt still waits in the IRR sets
//! nothing new (the IRR holds one bit per vector, 11.8.4), so that period's
//! interrupt is lost; software loses one only if
//! it keeps interrupts off for a whole period. A guest of a slow host (a
//! nested hypervisor under emulated VT-x, or TCG) regularly cannot take its
//! tick before the next period ends, and neither can one whose vCPU is
//! polled late (several periods end between two polls). Linux counts its
//! periodic local APIC timer ticks as jiffies; losing them makes jiffies
//! fall behind the TSC until the clocksource watchdog marks the TSC unstable.
//!
//! So the periodic timer follows the rule of the PIT's IRQ 0
//! (`crate::pit8254::irq0`), taken from Xen's virtual platform timers
//! (`xen/arch/x86/hvm/vpt.c`; Xen's vLAPIC timer is one of them, created by
//! `create_periodic_time` in `xen/arch/x86/hvm/vlapic.c`) in their default
//! "delay for missed ticks" mode (`HVMPTM_delay_for_missed_ticks`):
//!
//! - Every period that ends while the LVT timer entry is unmasked is owed
//!   (Xen: `pt_timer_fn` and `pt_process_missed_ticks` add to
//!   `pending_intr_nr`).
//! - [`LocalApic::poll`] (called before each guest entry) answers one owed
//!   period by setting the timer vector in the IRR, but only while that
//!   vector is not already there; the rest stay owed. The IRR bit clears when
//!   the CPU acknowledges the interrupt (moves it to the ISR), so owed periods
//!   go out one per acknowledge, each new IRR bit then waiting behind the
//!   in-service one until the handler's EOI, as the priority rules of 11.8.4
//!   have it. This is Xen's pacing: `pt_update_irq` sets the vector in the
//!   vLAPIC's IRR at each VM entry while `pending_intr_nr` is not zero, and
//!   `pt_intr_post` takes one off the count each time the vector is injected
//!   (acknowledged). It is also the PIT's: an owed IRQ 0 edge goes out once
//!   the 8259's IRR bit is clear after the INTA cycle.
//! - The debt is bounded, which Xen's is not: at most one second's worth of
//!   periods ([`TIMER_BACKLOG_SPAN_NS`] divided by the period, rounded down,
//!   at least one: 250 at Linux's HZ=250, counting the one that goes to the
//!   IRR at once). A guest kept from its ticks longer loses the excess;
//!   catching up never replays more than a second.
//! - A new initial count (Linux writes one each time it programs the periodic
//!   tick, after the LVT timer entry and the divide configuration) drops the
//!   debt, as does a change of timer mode (which disarms the timer, 11.5.4.1)
//!   and INIT or RESET: Xen's `create_periodic_time` starts a reprogrammed
//!   timer with nothing pending. A divide-configuration write keeps the debt
//!   (the periods did end), cut to the new period's bound.
//! - Masking the LVT timer entry (or software-disabling the APIC, which masks
//!   every entry, 11.4.7.2) drops the debt, and periods that end while masked
//!   are not owed: a masked timer raises nothing (11.5.1), and Linux masks it
//!   only to stop the tick (`lapic_timer_shutdown` masks it and writes a zero
//!   initial count), never around each tick as its 8259 driver does with
//!   IRQ 0, so nothing the guest wants is lost this way. Xen's vpt.c (the
//!   4.x code read for this) instead keeps counting while masked
//!   (`pt_irq_masked` only holds delivery back) and pours it all out on
//!   unmask, the storm this bound and this rule avoid.
//! - A timer vector below 16, which the APIC refuses with an ESR "received
//!   illegal vector" (11.5.2), owes nothing: the debt is dropped.
//! - Xen's delay mode also holds guest time back to the ticks delivered
//!   (`pt_intr_post`, `pt_freeze_time`); nothing here touches guest time.
//!
//! One-shot and TSC-deadline modes keep the hardware's behaviour: each expiry
//! raises the vector once, whatever the IRR holds, and nothing is owed.

use super::lvt::Lvt;
use super::registers::*;
use super::LocalApic;

/// The APIC bus (timer input) frequency: 1 GHz, one cycle per nanosecond, as
/// KVM's. Guests learn it from CPUID 15h (core crystal clock) or the
/// hypervisor leaf 4000_0010h (EBX, in kHz), or calibrate against the PIT,
/// the PM timer or the HPET.
pub const APIC_BUS_HZ: u64 = 1_000_000_000;

const NS_PER_SEC: u128 = 1_000_000_000;

/// The bound on owed periodic interrupts: they never add up to more than
/// this many nanoseconds of periods (one second).
pub const TIMER_BACKLOG_SPAN_NS: u64 = 1_000_000_000;

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
    /// Periodic mode: expiries counted and not yet answered with an IRR bit
    /// (see the module's policy); 0 in the other modes.
    owed: u64,
}

impl Timer {
    pub(super) fn initial_count(&self) -> u32 {
        self.initial
    }

    pub(super) fn divide_config(&self) -> u32 {
        self.divide_config
    }

    /// Stops the timer and clears both the initial count and
    /// IA32_TSC_DEADLINE (a mode change, 11.5.4.1); owed periods are dropped.
    pub(super) fn disarm(&mut self) {
        self.initial = 0;
        self.origin_ticks = 0;
        self.deadline_ns = None;
        self.tsc_deadline = 0;
        self.owed = 0;
    }

    /// Drops the owed periodic interrupts.
    pub(super) fn drop_owed(&mut self) {
        self.owed = 0;
    }

    /// How many periodic interrupts may be owed at once: one second's worth
    /// of periods ([`TIMER_BACKLOG_SPAN_NS`]), at least one.
    fn owed_limit(&self) -> u64 {
        let period_cycles = u128::from(self.initial) * u128::from(divisor(self.divide_config));
        let period_ns = u128::from(cycles_to_ns(period_cycles)).max(1);
        u64::try_from(u128::from(TIMER_BACKLOG_SPAN_NS) / period_ns)
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Adds `periods` to the owed interrupts, up to the bound.
    fn owe(&mut self, periods: u64) {
        self.owed = self.owed.saturating_add(periods).min(self.owed_limit());
    }

    /// Periodic mode: how many expiries lie in `[deadline, now]`, the armed
    /// `deadline` being the first not yet counted (so at least one when it
    /// has come).
    fn periods_due(&self, deadline: u64, now: u64) -> u64 {
        let initial = u64::from(self.initial).max(1);
        let first = self.ticks_at(deadline) / initial;
        let last = self.ticks_at(now) / initial;
        last.saturating_sub(first).saturating_add(1)
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
        // A reprogrammed timer owes nothing (Xen's create_periodic_time).
        t.owed = 0;
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
        // The periods owed did end; keep them, within the new bound.
        t.owe(0);
    }

    /// Runs the timer to now. An expiry that is due fires: a one-shot or
    /// TSC-deadline timer raises the LVT timer vector (unless masked) once
    /// and disarms (the latter clearing IA32_TSC_DEADLINE); a periodic timer
    /// counts every period that ended as owed (unless masked; bounded) and
    /// re-arms for its first expiry after now. Then, in periodic mode, one
    /// owed period is answered with the timer vector in the IRR if the IRR
    /// does not already hold it (see the module's policy). Call it before
    /// each guest entry, and whenever [`LocalApic::next_deadline_ns`] has
    /// passed.
    pub fn poll(&mut self) {
        let now = self.now_ns();
        if let Some(deadline) = self.timer.deadline_ns.filter(|&d| d <= now) {
            self.timer_expired(deadline, now);
        }
        self.pay_owed_period();
    }

    /// The armed expiry at `deadline` (and, periodic, any after it up to
    /// `now`) has come.
    fn timer_expired(&mut self, deadline: u64, now: u64) {
        let entry = self.lvt_entry(Lvt::Timer);
        let masked = entry & LVT_MASKED != 0;
        if self.timer_periodic() {
            let periods = self.timer.periods_due(deadline, now);
            self.timer.deadline_ns = self.timer.next_expiry(now, true);
            if masked {
                self.timer.drop_owed();
            } else {
                self.timer.owe(periods);
            }
            return;
        }
        if self.timer_tsc_deadline_mode() {
            self.timer.tsc_deadline = 0;
        }
        self.timer.deadline_ns = None;
        if !masked {
            self.accept((entry & LVT_VECTOR) as u8, false);
        }
    }

    /// An owed period could go out now: periodic mode, periods owed, the
    /// LVT timer entry unmasked and its vector not waiting in the IRR.
    fn owed_period_ready(&self) -> bool {
        let entry = self.lvt_entry(Lvt::Timer);
        self.timer.owed > 0
            && self.timer_periodic()
            && entry & LVT_MASKED == 0
            && !self.irr.contains((entry & LVT_VECTOR) as u8)
    }

    /// Answers one owed period with the timer vector in the IRR, if one can
    /// go out now; drops the debt if the timer cannot owe (masked, another
    /// mode, or a vector the APIC refuses).
    fn pay_owed_period(&mut self) {
        if self.timer.owed == 0 {
            return;
        }
        let entry = self.lvt_entry(Lvt::Timer);
        if !self.timer_periodic() || entry & LVT_MASKED != 0 {
            self.timer.drop_owed();
            return;
        }
        if !self.owed_period_ready() {
            return;
        }
        let vector = (entry & LVT_VECTOR) as u8;
        self.accept(vector, false);
        self.timer.owed -= 1;
        if !self.irr.contains(vector) {
            // Refused (vector 0-15, an ESR error): nothing can be owed.
            self.timer.drop_owed();
        }
    }

    /// Periodic interrupts owed: periods that ended and that the guest has
    /// not been given yet because the previous one still waited in the IRR
    /// (see the module's policy). Bounded by one second's worth of periods.
    pub fn timer_backlog(&self) -> u64 {
        self.timer.owed
    }

    /// When the timer next wants [`LocalApic::poll`] (host nanoseconds of
    /// the clock): now while an owed period can go out (the previous one
    /// has been acknowledged), else its next expiry. `None` when not armed
    /// and nothing can go out.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        if self.owed_period_ready() {
            let now = self.now_ns();
            return Some(self.timer.deadline_ns.map_or(now, |d| d.min(now)));
        }
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
