//! A counter's data port ("Write Operations", "Read Operations"): count
//! bytes go in through the write flip-flop to the count register and on to
//! the CE, as the mode says; bytes come out of the output latch or the live
//! CE through the read flip-flop.

use super::bcd::from_bcd;
use super::channel::{Channel, PendingReload, State};
use super::control_word::Access;
use super::mode::{square_high_ticks, Mode, MIN_PERIODIC_COUNT};

impl Channel {
    /// Turns a count as written into ticks: 0 means the full range.
    fn count_value(&self, raw: u16) -> u32 {
        let v = if self.bcd {
            from_bcd(raw)
        } else {
            u32::from(raw)
        };
        if v == 0 {
            self.modulus()
        } else {
            v
        }
    }

    /// A read of the data port: a latched status byte first, then the
    /// latched count or else the live CE, a byte at a time per the access.
    pub(super) fn read_byte(&mut self, t: u64) -> u8 {
        if let Some(s) = self.latched_status.take() {
            return s;
        }
        let value = self.latched_count.unwrap_or_else(|| self.ce_raw(t));
        let [lsb, msb] = value.to_le_bytes();
        let (byte, last) = match self.access {
            Access::Lsb => (lsb, true),
            Access::Msb => (msb, true),
            Access::LsbMsb => {
                self.read_msb_next = !self.read_msb_next;
                if self.read_msb_next {
                    (lsb, false)
                } else {
                    (msb, true)
                }
            }
        };
        if last {
            self.latched_count = None;
        }
        byte
    }

    /// A write to the data port: one byte of a count, per the access. True
    /// when the byte completed a count (it reached the count register).
    pub(super) fn write_byte(&mut self, value: u8, t: u64) -> bool {
        match self.access {
            Access::Lsb => self.count_written(u16::from(value), t),
            Access::Msb => self.count_written(u16::from(value) << 8, t),
            Access::LsbMsb if !self.write_msb_next => {
                self.write_msb_next = true;
                self.cr_lsb = value;
                if self.mode() == Mode::InterruptOnTerminalCount {
                    // Mode 0: the first byte disables counting and sets OUT
                    // low at once.
                    let ce = self.ce_value(t);
                    self.state = State::Stopped {
                        ce,
                        armed: false,
                        out: false,
                    };
                    self.has_count = false;
                }
                return false;
            }
            Access::LsbMsb => {
                self.write_msb_next = false;
                self.count_written(u16::from_le_bytes([self.cr_lsb, value]), t);
            }
        }
        true
    }

    /// A complete count reached the count register at tick `t`.
    fn count_written(&mut self, raw: u16, t: u64) {
        let n = self.count_value(raw);
        self.cr = n;
        self.has_count = true;
        let next_clk = t.saturating_add(1);
        match self.mode() {
            Mode::InterruptOnTerminalCount | Mode::SoftwareStrobe => {
                self.null_until = Some(next_clk);
                self.state = if self.gate {
                    State::Running {
                        base: next_clk,
                        start: n,
                        armed: true,
                    }
                } else {
                    State::Stopped {
                        ce: n,
                        armed: true,
                        out: self.mode().initial_out(),
                    }
                };
            }
            Mode::RateGenerator | Mode::SquareWave => {
                let n = n.max(MIN_PERIODIC_COUNT);
                match self.state {
                    State::Running { base, start, .. } => self.defer_reload(n, base, start, t),
                    State::Stopped { .. } => {
                        self.reload = n;
                        self.null_until = Some(next_clk);
                        self.state = if self.gate {
                            State::Running {
                                base: next_clk,
                                start: 0,
                                armed: false,
                            }
                        } else {
                            State::Stopped {
                                ce: n,
                                armed: false,
                                out: true,
                            }
                        };
                    }
                }
            }
            // Loaded by the next gate trigger.
            Mode::HardwareOneShot | Mode::HardwareStrobe => self.null_until = None,
        }
    }

    /// Modes 2 and 3: a count written while counting waits for the end of
    /// the current period (mode 2) or half-period (mode 3).
    fn defer_reload(&mut self, n: u32, base: u64, start: u32, t: u64) {
        if let Some(p) = self.pending.as_mut() {
            p.count = n;
            return;
        }
        let period = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
        let d = t.saturating_sub(base);
        let pos = self.periodic_position(base, start, t);
        let boundary = |ticks_left: u64| base.saturating_add(d).saturating_add(ticks_left);
        let high = u64::from(square_high_ticks(self.reload.max(MIN_PERIODIC_COUNT)));
        let (at, low_half) = if self.mode() == Mode::SquareWave && pos < high {
            (boundary(high - pos), true)
        } else {
            (boundary(period - pos), false)
        };
        self.pending = Some(PendingReload {
            at,
            count: n,
            low_half,
        });
        self.null_until = Some(at);
    }
}
