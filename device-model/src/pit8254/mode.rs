//! The six counter modes ("Mode Definitions") and the arithmetic of their
//! periods: how long OUT stays high in a square wave and how far a counter is
//! from terminal count.

use super::control_word::CW_M_MASK;

/// Shortest period modes 2 and 3 accept (a count of 1 is illegal there).
pub(super) const MIN_PERIODIC_COUNT: u32 = 2;

/// The six counter modes ("Mode Definitions").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Mode 0: interrupt on terminal count.
    InterruptOnTerminalCount,
    /// Mode 1: hardware retriggerable one-shot.
    HardwareOneShot,
    /// Mode 2: rate generator.
    RateGenerator,
    /// Mode 3: square wave mode.
    SquareWave,
    /// Mode 4: software triggered strobe.
    SoftwareStrobe,
    /// Mode 5: hardware triggered strobe (retriggerable).
    HardwareStrobe,
}

impl Mode {
    /// Decodes M2-M0; 110 and 111 are modes 2 and 3.
    pub(super) fn from_bits(m: u8) -> Self {
        match m & CW_M_MASK {
            0 => Mode::InterruptOnTerminalCount,
            1 => Mode::HardwareOneShot,
            2 | 6 => Mode::RateGenerator,
            3 | 7 => Mode::SquareWave,
            4 => Mode::SoftwareStrobe,
            _ => Mode::HardwareStrobe,
        }
    }

    /// Modes 2 and 3: OUT rises once per period for as long as the gate is
    /// high, with no new write ("Mode 2: Rate Generator", "Mode 3: Square
    /// Wave Mode").
    pub(super) fn is_periodic(self) -> bool {
        matches!(self, Mode::RateGenerator | Mode::SquareWave)
    }

    /// OUT right after a control word: low in mode 0, high in all others.
    pub(super) fn initial_out(self) -> bool {
        self != Mode::InterruptOnTerminalCount
    }
}

/// Number of ticks OUT is high in one mode 3 period of `n`.
pub(super) fn square_high_ticks(n: u32) -> u32 {
    n / 2 + n % 2
}

/// Ticks until a counter holding `v` reaches terminal count (0 means all of
/// `modulus`).
pub(super) fn ticks_to_terminal(v: u32, modulus: u32) -> u64 {
    match v % modulus {
        0 => u64::from(modulus),
        r => u64::from(r),
    }
}
