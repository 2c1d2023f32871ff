//! Counter 0's OUT as IRQ 0, and what happens to timer periods the guest
//! cannot take in time.
//!
//! # The chip
//!
//! OUT of counter 0 drives IRQ 0, an edge-triggered input of the master 8259.
//! In modes 2 and 3 ("Mode 2: Rate Generator", "Mode 3: Square Wave Mode" in
//! the Intel 8254 datasheet) OUT rises once per period of N input clocks, for
//! as long as the gate is high, which it always is for counter 0 on the PC.
//! On a PC a rise that comes while the previous one is still waiting in the
//! 8259's IRR sets nothing new, so that period's interrupt is lost. Hardware
//! loses one only when software keeps interrupts off for a whole period; a
//! guest of a slow host (a nested hypervisor under emulation) regularly cannot
//! take its tick before the next period ends, and a guest that counts ticks
//! (Linux's jiffies) then falls behind real time.
//!
//! # The policy for the periodic modes: missed ticks are delayed, not lost
//!
//! Taken from Xen's virtual platform timers (`xen/arch/x86/hvm/vpt.c`) in
//! their default mode, `HVM_PARAM_TIMER_MODE` = 0
//! (`HVMPTM_delay_for_missed_ticks`, `xen/include/public/hvm/params.h`):
//! every period that expires adds one to a count of owed interrupts
//! (`pending_intr_nr`), the interrupt is raised again while that count is not
//! zero, and the count goes down by one each time the guest acknowledges the
//! interrupt, so the guest ends up seeing every period, some late. KVM's
//! in-kernel PIT does the same when it re-injects (QEMU calls the policy
//! `lost_tick_policy=delay`). Here:
//!
//! - Every rise of OUT in modes 2 and 3 is counted, in closed form from the
//!   time that passed (so a long gap costs nothing more than a short one).
//! - [`Pit::irq0_request`] answers one owed rise with one edge on IRQ 0, but
//!   only when the 8259 says the previous request has been acknowledged (its
//!   IRR bit is clear again after the INTA cycle); until then the periods stay
//!   counted. After the acknowledge the next owed tick goes out at once: the
//!   8259 latches it in IRR and delivers it when the guest's priority and
//!   IF allow, one tick per acknowledge.
//! - The count is bounded, which Xen's is not: at most one second's worth of
//!   periods ([`BACKLOG_SPAN_TICKS`] divided by the period, rounded down: 18
//!   at the BIOS's 18.2 Hz, 249 at Linux's 250 Hz count of 4773, 1000 at a
//!   count of 1193). A guest kept from its ticks for longer
//!   loses the excess as before; catching up never replays more than one
//!   second of guest time.
//! - Reprogramming counter 0 (a control word selecting it, or a complete new
//!   count) drops the owed periods, keeping at most the one edge a real 8254
//!   would still be showing the 8259; Xen likewise starts a reprogrammed
//!   timer with nothing pending (`create_periodic_time`).
//! - Masking IRQ 0 in the 8259's IMR for long drops the owed periods too (at
//!   most the one edge the 8259 latches while masked stays, as on hardware),
//!   so a guest that unmasks IRQ 0 after a long pause is not stormed with old
//!   ticks. A short mask keeps them: Linux's 8259 driver masks IRQ 0 in the
//!   IMR for the length of every tick handler (it masks and acknowledges a
//!   level-handled 8259 line, then unmasks it when the handler is done), and
//!   the periods that end during a slow handler are exactly the ones that
//!   must not be lost. "Long" is [`MASK_DROP_TICKS`], 100 ms of continuous
//!   mask as seen by [`Pit::irq0_request`]. Xen instead holds the pending
//!   count while the IRQ is masked (`pt_update_irq` takes the timer off the
//!   vCPU's list, `pt_may_unmask_irq` puts it back) and delivers it on
//!   unmask.
//! - Xen's delay mode also holds the guest's time back: frozen while the
//!   vCPU is descheduled (`pt_freeze_time`, `pt_thaw_time`) and stepped
//!   forward to each late tick as it is acknowledged (`pt_intr_post`). Nothing
//!   here touches guest time; the TSC runs on.
//!
//! Mode 0 (and the other one-shot modes) keep the chip's behaviour: an edge
//! is raised whatever the 8259 holds, and rises the 8259 has no room for are
//! lost, as on hardware (at most one is ever owed).

use super::ticks::PIT_CLOCK_HZ;
use super::{ticks_to_ns, Pit};

/// The backlog bound: owed periods never add up to more than this many input
/// clocks (one second).
pub const BACKLOG_SPAN_TICKS: u64 = PIT_CLOCK_HZ;

/// IRQ 0 masked in the IMR for this many input clocks (100 ms) or more, as
/// seen by [`Pit::irq0_request`], drops the owed periods.
pub const MASK_DROP_TICKS: u64 = PIT_CLOCK_HZ / 10;

/// What the interrupt controller says about IRQ 0, for
/// [`Pit::irq0_request`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Irq0Status {
    /// The previous request is still waiting: IRQ 0's IRR bit is set (the
    /// guest has not acknowledged it with an INTA cycle yet).
    pub requested: bool,
    /// IRQ 0 is masked (its IMR bit is set).
    pub masked: bool,
}

impl Pit {
    /// True while counter 0 is in mode 2 or 3.
    fn irq0_periodic(&self) -> bool {
        self.channels[0].mode().is_periodic()
    }

    /// How many rises may be owed at once: one second's worth of periods in
    /// modes 2 and 3 (at least one), one in the other modes.
    pub(super) fn irq0_backlog_limit(&self) -> u64 {
        if self.irq0_periodic() {
            let period = u64::from(self.channels[0].periodic_count());
            (BACKLOG_SPAN_TICKS / period).max(1)
        } else {
            1
        }
    }

    /// Adds `rises` to the owed rises, up to the bound.
    pub(super) fn owe_irq0(&mut self, rises: u64) {
        let limit = self.irq0_backlog_limit();
        self.irq0_owed = self.irq0_owed.saturating_add(rises).min(limit);
    }

    /// Counts channel 0's rises since the last look, up to tick `t`.
    pub(super) fn collect_irq0(&mut self, t: u64) {
        let rises = self.channels[0].rises_between(self.irq0_scan_from, t);
        if rises > 0 {
            self.owe_irq0(rises);
        }
        self.channels[0].settle(t);
        self.irq0_scan_from = self.irq0_scan_from.max(t);
    }

    /// Counter 0 was reprogrammed: owed periods are dropped, keeping at most
    /// one edge.
    pub(super) fn irq0_reprogrammed(&mut self) {
        self.irq0_owed = self.irq0_owed.min(1);
    }

    /// Whether to raise IRQ 0 (an edge at the 8259) now, given what the 8259
    /// says about it in `pic`. Counts the periods that have ended by `now_ns`;
    /// in modes 2 and 3 answers one owed period per call once the previous
    /// request has been acknowledged (see the module's policy), and in the
    /// other modes raises any rise at once. Call it before each guest entry
    /// and raise IRQ 0 when it returns true.
    pub fn irq0_request(&mut self, now_ns: u64, pic: Irq0Status) -> bool {
        let t = self.tick(now_ns);
        self.collect_irq0(t);
        if pic.masked {
            let since = *self.irq0_masked_since.get_or_insert(t);
            if t.saturating_sub(since) >= MASK_DROP_TICKS {
                self.irq0_owed = self.irq0_owed.min(1);
            }
        } else {
            self.irq0_masked_since = None;
        }
        if self.irq0_owed == 0 || (pic.requested && self.irq0_periodic()) {
            return false;
        }
        self.irq0_owed -= 1;
        true
    }

    /// Periods counted and not yet answered with an edge (owed ticks).
    pub fn irq0_backlog(&self) -> u64 {
        self.irq0_owed
    }

    /// When channel 0 next wants IRQ 0 raised: `now_ns` while a rise is owed
    /// (even one waiting for the guest to acknowledge the previous one),
    /// `None` if OUT never rises without a new write.
    pub fn next_irq0_ns(&self, now_ns: u64) -> Option<u64> {
        if self.irq0_owed > 0 {
            return Some(now_ns);
        }
        let t = self.peek_tick(now_ns);
        let e = self.channels[0].next_rise_after(self.irq0_scan_from)?;
        if e <= t {
            Some(now_ns)
        } else {
            Some(ticks_to_ns(e).max(now_ns))
        }
    }
}
