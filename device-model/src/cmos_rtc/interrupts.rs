//! The interrupt sources ("Interrupts", "Periodic Interrupt Selection"):
//! periodic (PF), alarm (AF) and update-ended (UF) flags in register C, worked
//! out lazily in closed form for the interval since the last call, and IRQF,
//! which drives IRQ8.

use super::clock::{NS_PER_SEC, TIME_BASE_HZ};
use super::registers::{
    REG_A_RS, REG_B_AIE, REG_B_PIE, REG_B_SET, REG_B_SQWE, REG_B_UIE, REG_C_AF, REG_C_IRQF,
    REG_C_PF, REG_C_UF, RTC_REGISTER_A, RTC_REGISTER_B, RTC_REGISTER_C,
};
use super::CmosRtc;

/// The ISA interrupt the RTC drives (slave 8259, input 0).
pub const RTC_IRQ: u8 = pc_layout::irqs::RTC;

impl CmosRtc {
    /// The IRQ8 output as the guest's last access left it, without letting
    /// time run on (a read of register C has just lowered it, say).
    pub fn irq_asserted(&self) -> bool {
        self.reg(RTC_REGISTER_C) & REG_C_IRQF != 0
    }

    /// The IRQ8 output at `now_ns`: high while register C's IRQF is set.
    pub fn irq_level(&mut self, now_ns: u64) -> bool {
        self.advance(now_ns);
        self.reg(RTC_REGISTER_C) & REG_C_IRQF != 0
    }

    /// When the next enabled interrupt source can raise IRQ8, for a halted
    /// guest to sleep until; `now_ns` if one is already due (call
    /// [`Self::irq_level`]). `None` if no enabled source will fire, or if IRQ8
    /// is already high: it cannot rise again before the guest reads register C.
    pub fn next_event_ns(&self, now_ns: u64) -> Option<u64> {
        if self.reg(RTC_REGISTER_C) & REG_C_IRQF != 0 || !self.divider_running() {
            return None;
        }
        let b = self.reg(RTC_REGISTER_B);
        let mut next: Option<i128> = None;
        let mut consider = |t: i128| next = Some(next.map_or(t, |n| n.min(t)));
        if b & REG_B_PIE != 0 {
            if let Some(ticks) = self.period_ticks() {
                let edge = self.periodic_index(self.last_ns, ticks) + 1;
                consider(self.origin_ns + ceil_div(edge * ticks * NS_PER_SEC, TIME_BASE_HZ));
            }
        }
        if b & REG_B_SET == 0 {
            let k = self.second_index(self.last_ns);
            if b & REG_B_UIE != 0 {
                consider(self.second_boundary_ns(k + 1));
            }
            if b & REG_B_AIE != 0 {
                let secs = self.secs_at(self.last_ns);
                if let Some(alarm) = self.next_alarm_after(secs) {
                    let k_alarm = k + i128::from(alarm.saturating_sub(secs));
                    consider(self.second_boundary_ns(k_alarm));
                }
            }
        }
        next.map(|t| t.max(i128::from(now_ns)))
            .and_then(|t| u64::try_from(t).ok())
    }

    /// The RESET pin asserted at `now_ns`, as a system reset drives it (the
    /// datasheet's "RESET" pin description): PIE, AIE, UIE and SQWE in
    /// register B and IRQF, PF, AF and UF in register C are cleared, so IRQ8
    /// goes low; the clock, the calendar and the RAM are not affected, nor
    /// is the rest of register B (SET, DM, 24/12, DSE) or register A.
    pub fn reset(&mut self, now_ns: u64) {
        self.advance(now_ns);
        let b = self.reg(RTC_REGISTER_B);
        self.set_reg(
            RTC_REGISTER_B,
            b & !(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE),
        );
        self.set_reg(RTC_REGISTER_C, 0);
    }

    pub(super) fn update_irqf(&mut self) {
        let b = self.reg(RTC_REGISTER_B);
        let flags = self.reg(RTC_REGISTER_C) & (REG_C_PF | REG_C_AF | REG_C_UF);
        let pending = (flags & REG_C_PF != 0 && b & REG_B_PIE != 0)
            || (flags & REG_C_AF != 0 && b & REG_B_AIE != 0)
            || (flags & REG_C_UF != 0 && b & REG_B_UIE != 0);
        let irqf = if pending { REG_C_IRQF } else { 0 };
        self.set_reg(RTC_REGISTER_C, flags | irqf);
    }

    /// The periodic interrupt period in 32.768 kHz cycles; `None` for rate 0.
    /// Rates 1 and 2 give 256 Hz and 128 Hz with this time base (table 3).
    fn period_ticks(&self) -> Option<i128> {
        match self.reg(RTC_REGISTER_A) & REG_A_RS {
            0 => None,
            1 => Some(128),
            2 => Some(256),
            rs => Some(1 << (rs - 1)),
        }
    }

    /// How many periodic edges of `ticks` cycles the divider has passed at `t`.
    fn periodic_index(&self, t: u64, ticks: i128) -> i128 {
        self.elapsed_ns(t) * TIME_BASE_HZ / (NS_PER_SEC * ticks)
    }

    /// Sets PF, UF and AF for what happened between the last call and
    /// `now_ns`; returns the effective now (never before the last one).
    pub(super) fn advance(&mut self, now_ns: u64) -> u64 {
        let now = now_ns.max(self.last_ns);
        let last = self.last_ns;
        let mut flags = 0;
        if self.divider_running() {
            if let Some(ticks) = self.period_ticks() {
                // "PF is set to one independent of the state of the PIE bit."
                if self.periodic_index(now, ticks) > self.periodic_index(last, ticks) {
                    flags |= REG_C_PF;
                }
            }
            if self.updating() && self.second_index(now) > self.second_index(last) {
                flags |= REG_C_UF;
                let (from, to) = (self.secs_at(last), self.secs_at(now));
                if self.next_alarm_after(from).is_some_and(|a| a <= to) {
                    flags |= REG_C_AF;
                }
            }
        }
        let c = self.reg(RTC_REGISTER_C);
        self.set_reg(RTC_REGISTER_C, c | flags);
        self.last_ns = now;
        self.update_irqf();
        now
    }
}

fn ceil_div(n: i128, d: i128) -> i128 {
    (n + d - 1) / d
}
