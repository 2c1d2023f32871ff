//! The GATE input ("Operation Common to All Modes", gate): level-sensitive
//! in modes 0, 2, 3 and 4 (low pauses counting), a rising-edge trigger in
//! modes 1, 2, 3 and 5 (loads the CE on the next CLK pulse). Gates of
//! channels 0 and 1 are tied high on the PC; channel 2's is port B bit 0.

use super::channel::{Channel, State};
use super::mode::{ticks_to_terminal, Mode, MIN_PERIODIC_COUNT};

impl Channel {
    /// The GATE input changes to `high` at tick `t`.
    pub(super) fn set_gate(&mut self, high: bool, t: u64) {
        if high == self.gate {
            return;
        }
        self.gate = high;
        let next_clk = t.saturating_add(1);
        match self.mode() {
            Mode::InterruptOnTerminalCount | Mode::SoftwareStrobe => match self.state {
                State::Running { base, start, armed } if !high => {
                    let ce = self.ce_value(t);
                    let still_armed =
                        armed && t.saturating_sub(base) < ticks_to_terminal(start, self.modulus());
                    let out = self.mode() != Mode::InterruptOnTerminalCount || !still_armed;
                    self.state = State::Stopped {
                        ce,
                        armed: still_armed,
                        out,
                    };
                }
                State::Stopped { ce, armed, .. } if high && self.has_count => {
                    self.state = State::Running {
                        base: t,
                        start: ce,
                        armed,
                    };
                }
                _ => {}
            },
            Mode::RateGenerator | Mode::SquareWave => {
                if !high {
                    if let State::Running { .. } = self.state {
                        // Counting stops and OUT goes high at once.
                        let ce = self.ce_value(t);
                        self.state = State::Stopped {
                            ce,
                            armed: false,
                            out: true,
                        };
                    }
                    if self.pending.take().is_some() {
                        self.null_until = None;
                    }
                } else if self.has_count {
                    // The trigger reloads the CE on the next CLK pulse.
                    self.reload = self.cr.max(MIN_PERIODIC_COUNT);
                    self.pending = None;
                    self.null_until = Some(next_clk);
                    self.state = State::Running {
                        base: next_clk,
                        start: 0,
                        armed: false,
                    };
                }
            }
            Mode::HardwareOneShot | Mode::HardwareStrobe => {
                if high && self.has_count {
                    self.null_until = Some(next_clk);
                    self.state = State::Running {
                        base: next_clk,
                        start: self.cr,
                        armed: true,
                    };
                }
            }
        }
    }
}
