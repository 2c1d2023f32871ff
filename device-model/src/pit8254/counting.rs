//! The counting element and OUT in closed form: from the tick a channel was
//! loaded at, what the CE holds, what OUT is and when OUT next rises at any
//! later tick, per mode ("Mode Definitions"), without stepping tick by tick,
//! so any amount of elapsed time costs the same and nothing loops.

use super::bcd::to_bcd;
use super::channel::{Channel, State};
use super::mode::{square_high_ticks, ticks_to_terminal, Mode, MIN_PERIODIC_COUNT};

impl Channel {
    /// The period, in input clocks, a mode 2/3 counter runs with now.
    pub(super) fn periodic_count(&self) -> u32 {
        self.reload.max(MIN_PERIODIC_COUNT)
    }

    /// Position within the period of a running mode 2/3 counter.
    pub(super) fn periodic_position(&self, base: u64, start: u32, t: u64) -> u64 {
        let n = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
        (u64::from(start) + t.saturating_sub(base)) % n
    }

    /// CE contents at tick `t` as a plain number (below the modulus). The
    /// channel must be settled to `t`.
    pub(super) fn ce_value(&self, t: u64) -> u32 {
        let m = u64::from(self.modulus());
        let v = match self.state {
            State::Stopped { ce, .. } => u64::from(ce),
            State::Running { base, start, .. } => match self.mode() {
                Mode::RateGenerator => {
                    let n = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
                    n - self.periodic_position(base, start, t)
                }
                Mode::SquareWave => {
                    let n = self.reload.max(MIN_PERIODIC_COUNT);
                    let h = u64::from(square_high_ticks(n));
                    let pos = self.periodic_position(base, start, t);
                    let step = if pos < h { pos } else { pos - h };
                    // Even counts load N, odd counts N - 1; both go down by two.
                    let top = u64::from(n - n % 2);
                    top.saturating_sub(2 * step)
                }
                _ => {
                    let d = t.saturating_sub(base) % m;
                    u64::from(start) % m + m - d
                }
            },
        };
        // Below the modulus by construction; the fallback only keeps it total.
        u32::try_from(v % m).unwrap_or(0)
    }

    /// The CE as the guest reads it (binary, or four BCD digits).
    pub(super) fn ce_raw(&self, t: u64) -> u16 {
        let v = self.ce_value(t);
        if self.bcd {
            to_bcd(v)
        } else {
            (v & 0xFFFF) as u16
        }
    }

    /// OUT at tick `t`. The channel must be settled to `t`.
    pub(super) fn out_settled(&self, t: u64) -> bool {
        let (base, start, armed) = match self.state {
            State::Stopped { out, .. } => return out,
            State::Running { base, start, armed } => (base, start, armed),
        };
        let d = t.saturating_sub(base);
        let to_terminal = ticks_to_terminal(start, self.modulus());
        match self.mode() {
            Mode::InterruptOnTerminalCount | Mode::HardwareOneShot => !armed || d >= to_terminal,
            Mode::SoftwareStrobe | Mode::HardwareStrobe => !(armed && d == to_terminal),
            Mode::RateGenerator => {
                let n = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
                self.periodic_position(base, start, t) != n - 1
            }
            Mode::SquareWave => {
                let h = u64::from(square_high_ticks(self.reload.max(MIN_PERIODIC_COUNT)));
                self.periodic_position(base, start, t) < h
            }
        }
    }

    /// OUT at tick `t`.
    pub(super) fn out(&self, t: u64) -> bool {
        self.at(t).out_settled(t)
    }

    /// First tick after `a` at which OUT rises, ignoring any pending reload.
    fn next_rise_settled(&self, a: u64) -> Option<u64> {
        let State::Running { base, start, armed } = self.state else {
            return None;
        };
        let to_terminal = ticks_to_terminal(start, self.modulus());
        let after = |e: u64| (e > a).then_some(e);
        match self.mode() {
            Mode::InterruptOnTerminalCount | Mode::HardwareOneShot if armed => {
                after(base.saturating_add(to_terminal))
            }
            Mode::SoftwareStrobe | Mode::HardwareStrobe if armed => {
                after(base.saturating_add(to_terminal).saturating_add(1))
            }
            Mode::RateGenerator | Mode::SquareWave => {
                // OUT rises whenever the position wraps from N - 1 to 0.
                let n = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
                let first = base.saturating_add(n - u64::from(start) % n);
                if first > a {
                    Some(first)
                } else {
                    let periods = (a - first) / n + 1;
                    Some(first.saturating_add(periods.saturating_mul(n)))
                }
            }
            _ => None,
        }
    }

    /// First tick after `a` at which OUT rises. The channel must not have
    /// been settled past `a`.
    pub(super) fn next_rise_after(&self, a: u64) -> Option<u64> {
        let c = self.at(a);
        let e = c.next_rise_settled(a);
        match c.pending {
            Some(p) if e.is_none_or(|e| e > p.at) => c.at(p.at).next_rise_settled(p.at),
            _ => e,
        }
    }

    /// Number of ticks after `a` up to and including `b` at which OUT rises,
    /// in closed form, across a pending reload as [`Self::next_rise_after`]
    /// sees it. The channel must not have been settled past `a`.
    pub(super) fn rises_between(&self, a: u64, b: u64) -> u64 {
        if b <= a {
            return 0;
        }
        let c = self.at(a);
        match c.pending {
            // Rises up to the reload come from the old count, later ones from
            // the new one.
            Some(p) if p.at < b => c.rises_settled(a, p.at) + c.at(p.at).rises_settled(p.at, b),
            _ => c.rises_settled(a, b),
        }
    }

    /// Rises in ticks `a + 1 ..= b`, ignoring any pending reload.
    fn rises_settled(&self, a: u64, b: u64) -> u64 {
        match self.next_rise_settled(a) {
            Some(first) if first <= b => {
                if self.mode().is_periodic() {
                    (b - first) / u64::from(self.periodic_count()) + 1
                } else {
                    1
                }
            }
            _ => 0,
        }
    }

    pub(super) fn null_count(&self, t: u64) -> bool {
        self.null_until.is_none_or(|until| t < until)
    }
}
