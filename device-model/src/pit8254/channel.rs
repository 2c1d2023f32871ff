//! One counter's state: what was programmed, the count register and output
//! latches, and what the counting element is doing. A channel is never stepped
//! tick by tick; it keeps the tick at which it was last loaded, and `counting`
//! evaluates the CE and OUT at any later tick in closed form.

use super::bcd::{BCD_MODULUS, BINARY_MODULUS};
use super::control_word::Access;
use super::mode::{square_high_ticks, Mode};

/// What the counting element is doing.
#[derive(Clone, Copy, Debug)]
pub(super) enum State {
    /// Not counting (no count since the control word, gate low in a gated
    /// mode, a one-shot waiting for its trigger): the CE holds `ce` and OUT
    /// holds `out`. `armed` as in `Running`, kept across a gate pause.
    Stopped { ce: u32, armed: bool, out: bool },
    /// Counting since tick `base`. In modes 0, 1, 4 and 5 `start` is the CE
    /// value at `base` and `armed` says the terminal count (modes 0, 1) or
    /// strobe (modes 4, 5) is still ahead. In modes 2 and 3 `start` is the
    /// position within the period (0 = just reloaded) and `armed` is unused.
    Running { base: u64, start: u32, armed: bool },
}

/// A count written in mode 2 or 3 while counting: it reaches the CE at the
/// end of the current period (mode 2) or half-period (mode 3).
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingReload {
    /// Tick at which the new count is loaded.
    pub(super) at: u64,
    /// The new count (already clamped).
    pub(super) count: u32,
    /// Mode 3: loaded at the end of a high half, so the new count starts with
    /// its low half.
    pub(super) low_half: bool,
}

/// One of the three counters.
#[derive(Clone, Copy, Debug)]
pub(super) struct Channel {
    /// M2-M0 as last written (status reports them as written).
    pub(super) mode_bits: u8,
    pub(super) access: Access,
    pub(super) bcd: bool,
    /// GATE input level.
    pub(super) gate: bool,
    /// First byte of an LSB-then-MSB count, waiting for the second.
    pub(super) cr_lsb: u8,
    /// Write flip-flop: the next count byte written is the MSB.
    pub(super) write_msb_next: bool,
    /// Read flip-flop: the next count byte read is the MSB.
    pub(super) read_msb_next: bool,
    /// Last complete count written (count register), as a number of ticks.
    pub(super) cr: u32,
    /// A count has been written since the control word (and, in mode 0, no
    /// half-written count is pending).
    pub(super) has_count: bool,
    /// Period the CE reloads with in modes 2 and 3.
    pub(super) reload: u32,
    pub(super) state: State,
    pub(super) pending: Option<PendingReload>,
    /// NULL COUNT is set while the tick is below this; `None` = set until an
    /// event (a count write or a trigger) loads the CE.
    pub(super) null_until: Option<u64>,
    /// Output latch holding a latched count.
    pub(super) latched_count: Option<u16>,
    /// Latched status byte.
    pub(super) latched_status: Option<u8>,
}

impl Channel {
    pub(super) fn power_on(gate: bool) -> Self {
        Self {
            mode_bits: 0,
            access: Access::LsbMsb,
            bcd: false,
            gate,
            cr_lsb: 0,
            write_msb_next: false,
            read_msb_next: false,
            cr: BINARY_MODULUS,
            has_count: false,
            reload: BINARY_MODULUS,
            state: State::Stopped {
                ce: 0,
                armed: false,
                out: false,
            },
            pending: None,
            null_until: None,
            latched_count: None,
            latched_status: None,
        }
    }

    pub(super) fn mode(&self) -> Mode {
        Mode::from_bits(self.mode_bits)
    }

    pub(super) fn modulus(&self) -> u32 {
        if self.bcd {
            BCD_MODULUS
        } else {
            BINARY_MODULUS
        }
    }

    /// Applies a pending mode 2/3 reload whose time has come by tick `t`.
    pub(super) fn settle(&mut self, t: u64) {
        if let Some(p) = self.pending {
            if p.at <= t {
                self.pending = None;
                self.reload = p.count;
                let start = if p.low_half {
                    square_high_ticks(p.count)
                } else {
                    0
                };
                self.state = State::Running {
                    base: p.at,
                    start,
                    armed: false,
                };
            }
        }
    }

    /// A copy settled to tick `t`, for read-only questions.
    pub(super) fn at(&self, t: u64) -> Self {
        let mut c = *self;
        c.settle(t);
        c
    }
}
