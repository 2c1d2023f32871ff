//! PC/AT system control port B (port 61h; IBM PC/AT Technical Reference,
//! "System Board", "System Control Port B"): the gate of counter 2 and the
//! speaker enable, the refresh-detect toggle and OUT of counter 2.

use super::Pit;

/// System control port B, where the board places it.
pub const PORT_B: u16 = pc_layout::ports::PORT_B;
/// Number of ports port B occupies.
pub const PORT_B_PORT_COUNT: u16 = 1;
/// Port B bit 0 (read/write): timer 2 gate speaker (GATE input of counter 2).
pub const PORT_B_TIMER2_GATE: u8 = 1 << 0;
/// Port B bit 1 (read/write): speaker data enable (ANDed with OUT 2).
pub const PORT_B_SPEAKER_DATA: u8 = 1 << 1;
/// Port B bit 2 (read/write): enable RAM parity check, active low.
pub const PORT_B_ENABLE_RAM_PARITY_CHECK_N: u8 = 1 << 2;
/// Port B bit 3 (read/write): enable I/O channel check, active low.
pub const PORT_B_ENABLE_IO_CHECK_N: u8 = 1 << 3;
/// Port B bit 4 (read-only): refresh detect, toggles each refresh cycle.
pub const PORT_B_REFRESH_DETECT: u8 = 1 << 4;
/// Port B bit 5 (read-only): timer 2 output (OUT of counter 2).
pub const PORT_B_TIMER2_OUT: u8 = 1 << 5;
/// Port B bit 6 (read-only): I/O channel check occurred; always 0 here.
pub const PORT_B_IO_CHANNEL_CHECK: u8 = 1 << 6;
/// Port B bit 7 (read-only): RAM parity check occurred; always 0 here.
pub const PORT_B_RAM_PARITY_CHECK: u8 = 1 << 7;
/// The port B bits software writes and reads back.
const PORT_B_WRITABLE: u8 = PORT_B_TIMER2_GATE
    | PORT_B_SPEAKER_DATA
    | PORT_B_ENABLE_RAM_PARITY_CHECK_N
    | PORT_B_ENABLE_IO_CHECK_N;

/// Timer clocks per refresh request (channel 1's BIOS divisor: 15.09 us).
const REFRESH_PERIOD_TICKS: u64 = 18;

impl Pit {
    pub(super) fn read_port_b(&self, t: u64) -> u8 {
        let mut v = self.port_b;
        if (t / REFRESH_PERIOD_TICKS) % 2 == 1 {
            v |= PORT_B_REFRESH_DETECT;
        }
        if self.channels[2].out(t) {
            v |= PORT_B_TIMER2_OUT;
        }
        v
    }

    /// Bits 0-3 are kept as written; bit 0 drives GATE of counter 2.
    pub(super) fn write_port_b(&mut self, value: u8, t: u64) {
        self.port_b = value & PORT_B_WRITABLE;
        let gate = value & PORT_B_TIMER2_GATE != 0;
        self.with_channel(2, t, |c| c.set_gate(gate, t));
    }
}
