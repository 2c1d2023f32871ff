//! Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC/AT
//! system control port B (port 0x61).
//!
//! Implemented from the Intel 8254 datasheet (order no. 231164-005):
//! "Operational Description" (control word, "Write Operations", the
//! read/write flip-flops, "Read Operations": simple read, "Counter Latch
//! Command", "Read-Back Command" and its status byte), "Mode Definitions"
//! (modes 0-5; mode bits 11x alias modes 2 and 3) and "Operation Common to All
//! Modes" (gate, counter loading, terminal-count wrap to FFFF / 9999, initial
//! count 0 meaning 2^16 in binary and 10^4 in BCD). Port B follows the IBM
//! PC/AT Technical Reference, "System Board", "System Control Port B"
//! (port 61h).
//!
//! # Model
//!
//! The device holds no clock: every time-dependent call takes `now_ns`
//! (monotonic host nanoseconds) and converts it to whole input-clock periods
//! of the 1.193182 MHz timer clock, `floor(now_ns * 1193182 / 10^9)`, in
//! integer arithmetic from the same origin every time, so rounding never
//! accumulates. A channel is never stepped tick by tick: it keeps the tick at
//! which it was last loaded and computes its counting element (CE) and OUT in
//! closed form, so any amount of elapsed time costs the same and nothing
//! loops.
//!
//! Timing follows the datasheet: a count written at tick `t` reaches the CE on
//! the next CLK pulse (`t + 1`), so in mode 0 OUT rises N+1 ticks after the
//! count is written; a gate trigger in modes 1, 2, 3 and 5 loads the CE on the
//! next CLK pulse as well.
//!
//! # Choices where the datasheet leaves the answer open
//!
//! - Power-on state is undefined on the chip. Here every channel starts as if
//!   programmed for mode 0, LSB-then-MSB, binary, with no count: CE 0, OUT
//!   low, null count set, not counting. Channel 2's gate (port 0x61 bit 0)
//!   starts low.
//! - An initial count of 1 is illegal in modes 2 and 3; it is clamped to 2
//!   (the shortest legal period), so OUT still toggles and nothing divides by
//!   zero.
//! - BCD counts with a digit above 9 are undefined; each such digit is taken
//!   as 9.
//! - The control word register is write-only; reading port 0x43 returns 0xFF
//!   (the data bus floats).
//! - Programming a channel drives OUT to its mode's initial level at once
//!   (low for mode 0, high otherwise), as on the chip. For channel 0 a low to
//!   high step here is a real rising edge and is reported by
//!   [`Pit::irq0_pending`].
//! - Gates of channels 0 and 1 are tied high, as on the PC; so modes 1 and 5
//!   never trigger on those channels.
//! - Port B bits 0-3 read back as written, bit 4 (refresh detect) toggles
//!   every 18 timer clocks (15.09 us, the PC refresh period of channel 1 at
//!   its BIOS divisor, derived from time whatever channel 1 is programmed
//!   to), bit 5 is OUT of channel 2, bits 6 and 7 (I/O channel check, RAM
//!   parity check) read 0: no such errors happen here.

use crate::bus::{all_ones, PortIoDevice};
use crate::Clock;
use alloc::rc::Rc;
use core::cell::RefCell;

/// First port of the 8254 (counter 0).
pub const PIT_BASE: u16 = 0x40;
/// Number of ports the 8254 occupies (counters 0-2 and the control word).
pub const PIT_PORT_COUNT: u16 = 4;
/// System control port B.
pub const PORT_B: u16 = 0x61;
/// Number of ports port B occupies.
pub const PORT_B_PORT_COUNT: u16 = 1;
/// ISA IRQ driven by OUT of counter 0 (edge-triggered at the 8259).
pub const PIT_IRQ: u8 = 0;
/// Input clock of all three counters, in Hz.
pub const PIT_CLOCK_HZ: u64 = 1_193_182;

const NS_PER_SEC: u64 = 1_000_000_000;

/// Port of counter 0.
const COUNTER0_PORT: u16 = 0x40;
/// Port of counter 2.
const COUNTER2_PORT: u16 = 0x42;
/// Port of the control word register.
const CONTROL_WORD_PORT: u16 = 0x43;

/// Control word bits 7-6, SC1-SC0: select counter (3 = read-back command).
const CW_SC_SHIFT: u8 = 6;
/// SC1-SC0 value of the read-back command.
const CW_SC_READ_BACK: u8 = 0b11;
/// Control word bits 5-4, RW1-RW0: read/write access.
const CW_RW_SHIFT: u8 = 4;
/// Mask of RW1-RW0 after shifting.
const CW_RW_MASK: u8 = 0b11;
/// RW1-RW0 = 00: counter latch command.
const CW_RW_LATCH: u8 = 0b00;
/// RW1-RW0 = 01: read/write least significant byte only.
const CW_RW_LSB: u8 = 0b01;
/// RW1-RW0 = 10: read/write most significant byte only.
const CW_RW_MSB: u8 = 0b10;
/// RW1-RW0 = 11: read/write least significant byte first, then most.
const CW_RW_LSB_MSB: u8 = 0b11;
/// Control word bits 3-1, M2-M0: counter mode.
const CW_M_SHIFT: u8 = 1;
/// Mask of M2-M0 after shifting.
const CW_M_MASK: u8 = 0b111;
/// Control word bit 0, BCD: 1 = four-decade BCD counter, 0 = 16-bit binary.
const CW_BCD: u8 = 1 << 0;

/// Read-back bit 5, COUNT: 0 = latch the count of the selected counters.
const RB_COUNT: u8 = 1 << 5;
/// Read-back bit 4, STATUS: 0 = latch the status of the selected counters.
const RB_STATUS: u8 = 1 << 4;
/// Read-back bit 1, CNT 0: select counter 0 (bits 2 and 3 select 1 and 2).
const RB_CNT0: u8 = 1 << 1;

/// Status byte bit 7, OUTPUT: state of the OUT pin.
const STATUS_OUTPUT: u8 = 1 << 7;
/// Status byte bit 6, NULL COUNT: the last count written has not reached the CE.
const STATUS_NULL_COUNT: u8 = 1 << 6;

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

/// Counting range of a binary counter: initial count 0 means 65536.
const BINARY_MODULUS: u32 = 0x1_0000;
/// Counting range of a BCD counter: initial count 0 means 10000.
const BCD_MODULUS: u32 = 10_000;
/// Shortest period modes 2 and 3 accept (a count of 1 is illegal there).
const MIN_PERIODIC_COUNT: u32 = 2;

/// Whole timer-clock periods elapsed at `ns`: `floor(ns * 1193182 / 10^9)`.
pub fn ns_to_ticks(ns: u64) -> u64 {
    let t = u128::from(ns) * u128::from(PIT_CLOCK_HZ) / u128::from(NS_PER_SEC);
    u64::try_from(t).unwrap_or(u64::MAX)
}

/// The first nanosecond at which [`ns_to_ticks`] reaches `tick`.
pub fn ticks_to_ns(tick: u64) -> u64 {
    let hz = u128::from(PIT_CLOCK_HZ);
    let ns = (u128::from(tick) * u128::from(NS_PER_SEC)).div_ceil(hz);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The six counter modes ("Mode Definitions").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
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
    fn from_bits(m: u8) -> Self {
        match m & CW_M_MASK {
            0 => Mode::InterruptOnTerminalCount,
            1 => Mode::HardwareOneShot,
            2 | 6 => Mode::RateGenerator,
            3 | 7 => Mode::SquareWave,
            4 => Mode::SoftwareStrobe,
            _ => Mode::HardwareStrobe,
        }
    }

    /// OUT right after a control word: low in mode 0, high in all others.
    fn initial_out(self) -> bool {
        self != Mode::InterruptOnTerminalCount
    }
}

/// Read/write access selected by RW1-RW0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Lsb,
    Msb,
    LsbMsb,
}

impl Access {
    fn bits(self) -> u8 {
        match self {
            Access::Lsb => CW_RW_LSB,
            Access::Msb => CW_RW_MSB,
            Access::LsbMsb => CW_RW_LSB_MSB,
        }
    }
}

/// What the counting element is doing.
#[derive(Clone, Copy, Debug)]
enum State {
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
struct PendingReload {
    /// Tick at which the new count is loaded.
    at: u64,
    /// The new count (already clamped).
    count: u32,
    /// Mode 3: loaded at the end of a high half, so the new count starts with
    /// its low half.
    low_half: bool,
}

/// Number of ticks OUT is high in one mode 3 period of `n`.
fn square_high_ticks(n: u32) -> u32 {
    n / 2 + n % 2
}

/// Ticks until a counter holding `v` reaches terminal count (0 means all of
/// `modulus`).
fn ticks_to_terminal(v: u32, modulus: u32) -> u64 {
    match v % modulus {
        0 => u64::from(modulus),
        r => u64::from(r),
    }
}

/// Packs 0..=9999 into four BCD digits.
fn to_bcd(v: u32) -> u16 {
    let v = v % BCD_MODULUS;
    let digits = [v % 10, (v / 10) % 10, (v / 100) % 10, v / 1000];
    digits
        .iter()
        .enumerate()
        .fold(0u16, |acc, (i, d)| acc | ((*d as u16) << (4 * i)))
}

/// Reads four BCD digits; a digit above 9 counts as 9.
fn from_bcd(raw: u16) -> u32 {
    (0..4).rev().fold(0u32, |acc, i| {
        let digit = u32::from((raw >> (4 * i)) & 0xF).min(9);
        acc * 10 + digit
    })
}

/// One of the three counters.
#[derive(Clone, Copy, Debug)]
struct Channel {
    /// M2-M0 as last written (status reports them as written).
    mode_bits: u8,
    access: Access,
    bcd: bool,
    /// GATE input level.
    gate: bool,
    /// First byte of an LSB-then-MSB count, waiting for the second.
    cr_lsb: u8,
    /// Write flip-flop: the next count byte written is the MSB.
    write_msb_next: bool,
    /// Read flip-flop: the next count byte read is the MSB.
    read_msb_next: bool,
    /// Last complete count written (count register), as a number of ticks.
    cr: u32,
    /// A count has been written since the control word (and, in mode 0, no
    /// half-written count is pending).
    has_count: bool,
    /// Period the CE reloads with in modes 2 and 3.
    reload: u32,
    state: State,
    pending: Option<PendingReload>,
    /// NULL COUNT is set while the tick is below this; `None` = set until an
    /// event (a count write or a trigger) loads the CE.
    null_until: Option<u64>,
    /// Output latch holding a latched count.
    latched_count: Option<u16>,
    /// Latched status byte.
    latched_status: Option<u8>,
}

impl Channel {
    fn power_on(gate: bool) -> Self {
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

    fn mode(&self) -> Mode {
        Mode::from_bits(self.mode_bits)
    }

    fn modulus(&self) -> u32 {
        if self.bcd {
            BCD_MODULUS
        } else {
            BINARY_MODULUS
        }
    }

    /// Applies a pending mode 2/3 reload whose time has come by tick `t`.
    fn settle(&mut self, t: u64) {
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
    fn at(&self, t: u64) -> Self {
        let mut c = *self;
        c.settle(t);
        c
    }

    /// Position within the period of a running mode 2/3 counter.
    fn periodic_position(&self, base: u64, start: u32, t: u64) -> u64 {
        let n = u64::from(self.reload.max(MIN_PERIODIC_COUNT));
        (u64::from(start) + t.saturating_sub(base)) % n
    }

    /// CE contents at tick `t` as a plain number (below the modulus). The
    /// channel must be settled to `t`.
    fn ce_value(&self, t: u64) -> u32 {
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
    fn ce_raw(&self, t: u64) -> u16 {
        let v = self.ce_value(t);
        if self.bcd {
            to_bcd(v)
        } else {
            (v & 0xFFFF) as u16
        }
    }

    /// OUT at tick `t`. The channel must be settled to `t`.
    fn out_settled(&self, t: u64) -> bool {
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
    fn out(&self, t: u64) -> bool {
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
    fn next_rise_after(&self, a: u64) -> Option<u64> {
        let c = self.at(a);
        let e = c.next_rise_settled(a);
        match c.pending {
            Some(p) if e.is_none_or(|e| e > p.at) => c.at(p.at).next_rise_settled(p.at),
            _ => e,
        }
    }

    fn null_count(&self, t: u64) -> bool {
        self.null_until.is_none_or(|until| t < until)
    }

    fn status(&self, t: u64) -> u8 {
        let mut s = (self.access.bits() << CW_RW_SHIFT) | (self.mode_bits << CW_M_SHIFT);
        if self.bcd {
            s |= CW_BCD;
        }
        if self.out_settled(t) {
            s |= STATUS_OUTPUT;
        }
        if self.null_count(t) {
            s |= STATUS_NULL_COUNT;
        }
        s
    }

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

    /// A control word selecting this counter (RW not 00).
    fn program(&mut self, cw: u8, t: u64) {
        let ce = self.ce_value(t);
        self.mode_bits = (cw >> CW_M_SHIFT) & CW_M_MASK;
        self.access = match (cw >> CW_RW_SHIFT) & CW_RW_MASK {
            CW_RW_LSB => Access::Lsb,
            CW_RW_MSB => Access::Msb,
            _ => Access::LsbMsb,
        };
        self.bcd = cw & CW_BCD != 0;
        self.state = State::Stopped {
            ce,
            armed: false,
            out: self.mode().initial_out(),
        };
        self.has_count = false;
        self.pending = None;
        self.null_until = None;
        self.latched_count = None;
        self.latched_status = None;
        self.write_msb_next = false;
        self.read_msb_next = false;
    }

    /// Counter latch command (or the COUNT part of read-back): the first
    /// latch holds until read; later ones are ignored.
    fn latch_count(&mut self, t: u64) {
        if self.latched_count.is_none() {
            self.latched_count = Some(self.ce_raw(t));
        }
    }

    /// STATUS part of read-back: the first latch holds until read.
    fn latch_status(&mut self, t: u64) {
        if self.latched_status.is_none() {
            self.latched_status = Some(self.status(t));
        }
    }

    fn read_byte(&mut self, t: u64) -> u8 {
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

    fn write_byte(&mut self, value: u8, t: u64) {
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
            }
            Access::LsbMsb => {
                self.write_msb_next = false;
                self.count_written(u16::from_le_bytes([self.cr_lsb, value]), t);
            }
        }
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

    /// The GATE input changes to `high` at tick `t`.
    fn set_gate(&mut self, high: bool, t: u64) {
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

/// The 8254 and port B of one PC.
#[derive(Clone, Debug)]
pub struct Pit {
    channels: [Channel; 3],
    /// Port B bits 0-3 as written.
    port_b: u8,
    /// Latest tick seen; time never goes backwards here.
    last_tick: u64,
    /// Channel 0 edges up to this tick have been looked for.
    irq0_scan_from: u64,
    /// A channel 0 rising edge not yet reported.
    irq0_edge: bool,
}

impl Pit {
    /// The timer at power-on: no channel programmed, OUT 0 low, gate 2 low.
    pub fn new(now_ns: u64) -> Self {
        let t = ns_to_ticks(now_ns);
        Self {
            channels: [
                Channel::power_on(true),
                Channel::power_on(true),
                Channel::power_on(false),
            ],
            port_b: 0,
            last_tick: t,
            irq0_scan_from: t,
            irq0_edge: false,
        }
    }

    /// The tick of `now_ns`, never before one already seen.
    fn peek_tick(&self, now_ns: u64) -> u64 {
        ns_to_ticks(now_ns).max(self.last_tick)
    }

    fn tick(&mut self, now_ns: u64) -> u64 {
        self.last_tick = self.peek_tick(now_ns);
        self.last_tick
    }

    /// Notes whether channel 0's OUT rose since the last look, up to `t`.
    fn collect_irq0(&mut self, t: u64) {
        let ch0 = &mut self.channels[0];
        if !self.irq0_edge
            && ch0
                .next_rise_after(self.irq0_scan_from)
                .is_some_and(|e| e <= t)
        {
            self.irq0_edge = true;
        }
        ch0.settle(t);
        self.irq0_scan_from = self.irq0_scan_from.max(t);
    }

    /// Runs `f` on channel `idx` at tick `t`, keeping channel 0's edges.
    fn with_channel<R>(&mut self, idx: usize, t: u64, f: impl FnOnce(&mut Channel) -> R) -> R {
        if idx == 0 {
            self.collect_irq0(t);
        }
        let Some(ch) = self.channels.get_mut(idx) else {
            // Unreachable for the callers here; keeps the indexing total.
            return f(&mut Channel::power_on(true));
        };
        ch.settle(t);
        let before = ch.out_settled(t);
        let r = f(ch);
        ch.settle(t);
        if idx == 0 && !before && ch.out_settled(t) {
            self.irq0_edge = true;
        }
        r
    }

    /// Reads the byte at absolute port `port` (0x40-0x43, 0x61; others 0xFF).
    pub fn read(&mut self, port: u16, now_ns: u64) -> u8 {
        let t = self.tick(now_ns);
        match port {
            COUNTER0_PORT..=COUNTER2_PORT => {
                let idx = usize::from(port - COUNTER0_PORT);
                self.with_channel(idx, t, |c| c.read_byte(t))
            }
            PORT_B => self.read_port_b(t),
            // CONTROL_WORD_PORT is write-only: the bus floats.
            _ => 0xFF,
        }
    }

    /// Writes `value` to absolute port `port` (0x40-0x43, 0x61; others ignored).
    pub fn write(&mut self, port: u16, value: u8, now_ns: u64) {
        let t = self.tick(now_ns);
        match port {
            COUNTER0_PORT..=COUNTER2_PORT => {
                let idx = usize::from(port - COUNTER0_PORT);
                self.with_channel(idx, t, |c| c.write_byte(value, t));
            }
            CONTROL_WORD_PORT => self.write_control_word(value, t),
            PORT_B => {
                self.port_b = value & PORT_B_WRITABLE;
                let gate = value & PORT_B_TIMER2_GATE != 0;
                self.with_channel(2, t, |c| c.set_gate(gate, t));
            }
            _ => {}
        }
    }

    fn write_control_word(&mut self, cw: u8, t: u64) {
        let sc = cw >> CW_SC_SHIFT;
        if sc == CW_SC_READ_BACK {
            for idx in 0..3 {
                if cw & (RB_CNT0 << idx) == 0 {
                    continue;
                }
                self.with_channel(idx, t, |c| {
                    if cw & RB_COUNT == 0 {
                        c.latch_count(t);
                    }
                    if cw & RB_STATUS == 0 {
                        c.latch_status(t);
                    }
                });
            }
            return;
        }
        let idx = usize::from(sc);
        if (cw >> CW_RW_SHIFT) & CW_RW_MASK == CW_RW_LATCH {
            self.with_channel(idx, t, |c| c.latch_count(t));
        } else {
            self.with_channel(idx, t, |c| c.program(cw, t));
        }
    }

    fn read_port_b(&self, t: u64) -> u8 {
        let mut v = self.port_b;
        if (t / REFRESH_PERIOD_TICKS) % 2 == 1 {
            v |= PORT_B_REFRESH_DETECT;
        }
        if self.channels[2].out(t) {
            v |= PORT_B_TIMER2_OUT;
        }
        v
    }

    /// True, once, if channel 0's OUT has risen since the previous call (any
    /// number of rises count as one, as missed ticks do on a PC). Raise IRQ 0
    /// (an edge) on the 8259 when it returns true.
    pub fn irq0_pending(&mut self, now_ns: u64) -> bool {
        let t = self.tick(now_ns);
        self.collect_irq0(t);
        core::mem::take(&mut self.irq0_edge)
    }

    /// When channel 0's OUT next rises: `now_ns` if a rise is already owed,
    /// `None` if OUT never rises without a new write.
    pub fn next_irq0_ns(&self, now_ns: u64) -> Option<u64> {
        if self.irq0_edge {
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

    /// Level of OUT of channel 2 (the speaker timer).
    pub fn channel2_output(&self, now_ns: u64) -> bool {
        self.channels[2].out(self.peek_tick(now_ns))
    }
}

/// The timer on the port bus. Register one at [`PIT_BASE`] (length
/// [`PIT_PORT_COUNT`]) and one at [`PORT_B`] (length [`PORT_B_PORT_COUNT`]),
/// sharing the same [`Pit`]; each reads time from `clock` on every access.
pub struct PitPorts {
    base: u16,
    pit: Rc<RefCell<Pit>>,
    clock: Rc<dyn Clock>,
}

impl PitPorts {
    /// A window onto `pit` whose offset 0 is absolute port `base`.
    pub fn new(base: u16, pit: Rc<RefCell<Pit>>, clock: Rc<dyn Clock>) -> Self {
        Self { base, pit, clock }
    }
}

impl PortIoDevice for PitPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        let now = self.clock.now_ns();
        let Ok(mut pit) = self.pit.try_borrow_mut() else {
            return all_ones(size);
        };
        // Wider accesses read consecutive ports, as the ISA bus splits them.
        let port = self.base.wrapping_add(offset);
        (0..u16::from(size.min(4))).fold(0, |acc, i| {
            acc | (u32::from(pit.read(port.wrapping_add(i), now)) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        let Ok(mut pit) = self.pit.try_borrow_mut() else {
            return;
        };
        let port = self.base.wrapping_add(offset);
        for (i, byte) in value
            .to_le_bytes()
            .iter()
            .take(usize::from(size))
            .enumerate()
        {
            pit.write(port.wrapping_add(i as u16), *byte, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::PortIoBus;
    use alloc::boxed::Box;
    use core::cell::Cell;

    const CH0: u16 = 0x40;
    const CH2: u16 = 0x42;
    const CW: u16 = 0x43;

    /// Control word for LSB-then-MSB binary access to `ch` in `mode`.
    fn cw(ch: u8, mode: u8) -> u8 {
        (ch << CW_SC_SHIFT) | (CW_RW_LSB_MSB << CW_RW_SHIFT) | (mode << CW_M_SHIFT)
    }

    /// Programs `ch` for `mode` with `count`, all at tick `tick`.
    fn program(pit: &mut Pit, ch: u8, mode: u8, count: u16, tick: u64) {
        let now = ticks_to_ns(tick);
        pit.write(CW, cw(ch, mode), now);
        let port = CH0 + u16::from(ch);
        pit.write(port, count as u8, now);
        pit.write(port, (count >> 8) as u8, now);
    }

    /// Latches and reads the count of `ch` (LSB-then-MSB access) at `tick`.
    fn latched_count(pit: &mut Pit, ch: u8, tick: u64) -> u16 {
        let now = ticks_to_ns(tick);
        pit.write(CW, ch << CW_SC_SHIFT, now);
        let port = CH0 + u16::from(ch);
        let lsb = pit.read(port, now);
        let msb = pit.read(port, now);
        u16::from_le_bytes([lsb, msb])
    }

    /// Latches and reads the status byte of `ch` at `tick`.
    fn status(pit: &mut Pit, ch: u8, tick: u64) -> u8 {
        let now = ticks_to_ns(tick);
        pit.write(CW, 0xC0 | RB_COUNT | (RB_CNT0 << ch), now);
        pit.read(CH0 + u16::from(ch), now)
    }

    fn out2(pit: &Pit, tick: u64) -> bool {
        pit.channel2_output(ticks_to_ns(tick))
    }

    fn gate2(pit: &mut Pit, high: bool, tick: u64) {
        pit.write(PORT_B, u8::from(high), ticks_to_ns(tick));
    }

    #[test]
    fn tick_conversion_is_exact_integer_math() {
        assert_eq!(ns_to_ticks(0), 0);
        assert_eq!(ns_to_ticks(NS_PER_SEC), PIT_CLOCK_HZ);
        assert_eq!(ns_to_ticks(838), 0);
        assert_eq!(ns_to_ticks(839), 1);
        assert_eq!(ns_to_ticks(u64::MAX), 22_010_322_987_356_910);
        for tick in [0, 1, 2, 17, 11_932, 65_536, 1 << 40] {
            let ns = ticks_to_ns(tick);
            assert_eq!(ns_to_ticks(ns), tick);
            if ns > 0 {
                assert_eq!(ns_to_ticks(ns - 1), tick - 1);
            }
        }
    }

    #[test]
    fn mode2_divisor_11932_ticks_at_100_hz_through_irq0() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 11932, 0);
        assert!(
            pit.irq0_pending(0),
            "mode 2 drives OUT high from its power-on low"
        );
        assert!(!pit.irq0_pending(0));
        let mut now = 0;
        for k in 1..=100u64 {
            let next = pit.next_irq0_ns(now).unwrap();
            // Loaded on the CLK after the write, then one rise per period.
            assert_eq!(next, ticks_to_ns(1 + 11932 * k));
            assert!(!pit.irq0_pending(next - 1));
            assert!(pit.irq0_pending(next));
            assert!(!pit.irq0_pending(next));
            now = next;
        }
        // 100 rises take one second (10.000168 ms each).
        assert!((1_000_000_000..1_000_100_000).contains(&now), "{now}");
        // Half-way through a period the count is half the divisor.
        assert_eq!(latched_count(&mut pit, 0, 1 + 11932 * 100 + 5966), 5966);
    }

    #[test]
    fn missed_irq0_periods_coalesce_into_one() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 11932, 0);
        assert!(pit.irq0_pending(0));
        let later = 10 * NS_PER_SEC;
        assert!(pit.irq0_pending(later));
        assert!(!pit.irq0_pending(later));
        let next = pit.next_irq0_ns(later).unwrap();
        assert!(next > later && next - later <= 10_000_200);
    }

    #[test]
    fn next_irq0_is_now_while_an_edge_is_owed() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 100, 0);
        assert_eq!(pit.next_irq0_ns(5), Some(5));
        assert!(pit.irq0_pending(5));
        let late = ticks_to_ns(1000);
        assert_eq!(pit.next_irq0_ns(late), Some(late));
    }

    #[test]
    fn mode3_output_is_a_square_wave() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 3, 10, 0);
        for tick in 1..=40 {
            assert_eq!(out2(&pit, tick), (tick - 1) % 10 < 5, "tick {tick}");
            let b = pit.read(PORT_B, ticks_to_ns(tick));
            assert_eq!(b & PORT_B_TIMER2_OUT != 0, (tick - 1) % 10 < 5);
        }
        // Even counts: the CE goes down by two through each half.
        let counts: [u16; 6] = core::array::from_fn(|i| latched_count(&mut pit, 2, 41 + i as u64));
        assert_eq!(counts, [10, 8, 6, 4, 2, 10]);

        // Odd counts: high for (N+1)/2, low for (N-1)/2.
        program(&mut pit, 2, 3, 9, 100);
        for tick in 101..=140 {
            assert_eq!(out2(&pit, tick), (tick - 101) % 9 < 5, "tick {tick}");
        }
        let counts: [u16; 10] =
            core::array::from_fn(|i| latched_count(&mut pit, 2, 101 + i as u64));
        assert_eq!(counts, [8, 6, 4, 2, 0, 8, 6, 4, 2, 8]);
    }

    #[test]
    fn mode3_on_channel0_raises_irq0_once_per_period() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 3, 0, 0);
        assert!(pit.irq0_pending(0));
        // Count 0 is 65536: the PC's 18.2 Hz tick.
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(1 + 65536)));
        let t = ticks_to_ns(1 + 65536);
        assert!(pit.irq0_pending(t));
        assert_eq!(pit.next_irq0_ns(t), Some(ticks_to_ns(1 + 2 * 65536)));
    }

    #[test]
    fn mode0_output_rises_at_terminal_count_and_stays_high() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 0, 100, 0);
        assert!(!pit.irq0_pending(0));
        assert_eq!(status(&mut pit, 0, 50) & STATUS_OUTPUT, 0);
        // N + 1 clocks after the count is written.
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(101)));
        assert!(!pit.irq0_pending(ticks_to_ns(101) - 1));
        assert!(pit.irq0_pending(ticks_to_ns(101)));
        assert_eq!(latched_count(&mut pit, 0, 101), 0);
        // The counter wraps to FFFF and keeps counting; OUT stays high.
        assert_eq!(latched_count(&mut pit, 0, 102), 0xFFFF);
        assert_eq!(pit.next_irq0_ns(ticks_to_ns(200)), None);
        assert_eq!(status(&mut pit, 0, 200_000) & STATUS_OUTPUT, STATUS_OUTPUT);
        assert!(!pit.irq0_pending(ticks_to_ns(200_000)));
        // A new count drives OUT low again and it rises after N + 1 clocks.
        program(&mut pit, 0, 0, 10, 300_000);
        assert_eq!(status(&mut pit, 0, 300_005) & STATUS_OUTPUT, 0);
        assert_eq!(
            pit.next_irq0_ns(ticks_to_ns(300_005)),
            Some(ticks_to_ns(300_011))
        );
    }

    #[test]
    fn mode0_first_byte_of_a_count_stops_counting_and_drives_out_low() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 0, 10, 0);
        assert!(out2(&pit, 20));
        pit.write(CH2, 0x50, ticks_to_ns(20));
        assert!(!out2(&pit, 20));
        let frozen = latched_count(&mut pit, 2, 30);
        assert_eq!(latched_count(&mut pit, 2, 90), frozen);
        assert!(!out2(&pit, 1000));
        pit.write(CH2, 0x00, ticks_to_ns(1000));
        assert!(!out2(&pit, 1080));
        assert!(out2(&pit, 1081));
    }

    #[test]
    fn counter_latch_freezes_the_count_until_it_is_read() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 2, 1000, 0);
        pit.write(CW, 0x80, ticks_to_ns(100));
        // A second latch before the first is read is ignored.
        pit.write(CW, 0x80, ticks_to_ns(200));
        assert_eq!(pit.read(CH2, ticks_to_ns(500)), (901 & 0xFF) as u8);
        assert_eq!(pit.read(CH2, ticks_to_ns(600)), (901 >> 8) as u8);
        // Released: the next reads follow the counter.
        assert_eq!(latched_count(&mut pit, 2, 700), 1000 - 699);
        let lsb = pit.read(CH2, ticks_to_ns(800));
        let msb = pit.read(CH2, ticks_to_ns(800));
        assert_eq!(u16::from_le_bytes([lsb, msb]), 1000 - 799);
    }

    #[test]
    fn read_back_latches_status_and_count_of_several_channels() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 0x1234, 0);
        pit.write(CW, cw(2, 0), 0);
        // Null count is set until the CE is loaded on the next CLK.
        assert_ne!(status(&mut pit, 0, 0) & STATUS_NULL_COUNT, 0);
        let t = ticks_to_ns(10);
        // COUNT and STATUS latched (both active low) for counters 0 and 2.
        pit.write(CW, 0xC0 | (RB_CNT0 << 2) | RB_CNT0, t);
        let later = ticks_to_ns(5000);
        // OUT high, null count clear, RW 11, mode 010, binary.
        assert_eq!(pit.read(CH0, later), 0b1011_0100);
        assert_eq!(pit.read(CH0, later), (0x1234 - 9) as u8);
        assert_eq!(pit.read(CH0, later), ((0x1234 - 9) >> 8) as u8);
        // OUT low, null count set (no count yet), RW 11, mode 000.
        assert_eq!(pit.read(CH2, later), 0b0111_0000);
        // Status only: the next read after the status is the live count.
        pit.write(CW, 0xC0 | RB_COUNT | RB_CNT0, later);
        assert_eq!(pit.read(CH0, later), 0b1011_0100);
        assert_eq!(pit.read(CH0, later), (0x1234 - 4999 % 0x1234) as u8);
        // Neither bit clear: nothing is latched.
        pit.write(CW, 0xC0 | RB_COUNT | RB_STATUS | RB_CNT0, later);
        assert_eq!(status(&mut pit, 0, 5000) & 0x3F, 0b0011_0100);
    }

    #[test]
    fn status_reports_mode_bits_as_written_and_bcd() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        pit.write(CW, cw(2, 6) | CW_BCD, 0);
        assert_eq!(status(&mut pit, 2, 0) & 0x3F, 0b0011_1101);
        pit.write(CW, 0x80 | (CW_RW_LSB << CW_RW_SHIFT) | (7 << CW_M_SHIFT), 0);
        assert_eq!(status(&mut pit, 2, 0) & 0x3F, 0b0001_1110);
        pit.write(CW, 0x80 | (CW_RW_MSB << CW_RW_SHIFT) | (5 << CW_M_SHIFT), 0);
        assert_eq!(status(&mut pit, 2, 0) & 0x3F, 0b0010_1010);
    }

    #[test]
    fn modes_6_and_7_behave_as_2_and_3() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 6, 50, 0);
        assert!(pit.irq0_pending(0));
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(51)));
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 7, 10, 0);
        assert!(out2(&pit, 5) && !out2(&pit, 6) && out2(&pit, 11));
    }

    #[test]
    fn lsb_msb_flip_flops_order_bytes_and_are_independent() {
        let mut pit = Pit::new(0);
        // Gate 2 low: mode 0 loads the count and holds it.
        program(&mut pit, 2, 0, 0x1234, 0);
        let now = ticks_to_ns(10);
        // The datasheet's interleaved sequence: read LSB, write LSB, read MSB,
        // write MSB.
        assert_eq!(pit.read(CH2, now), 0x34);
        pit.write(CH2, 0x78, now);
        assert_eq!(pit.read(CH2, now), 0x12);
        pit.write(CH2, 0x56, now);
        assert_eq!(pit.read(CH2, now), 0x78);
        assert_eq!(pit.read(CH2, now), 0x56);
        // A control word resets both flip-flops.
        pit.read(CH2, now);
        pit.write(CH2, 0x11, now);
        pit.write(CW, cw(2, 0), now);
        pit.write(CH2, 0xCD, now);
        pit.write(CH2, 0xAB, now);
        assert_eq!(pit.read(CH2, now), 0xCD);
        assert_eq!(pit.read(CH2, now), 0xAB);
        // LSB only and MSB only.
        pit.write(CW, 0x80 | (CW_RW_LSB << CW_RW_SHIFT), now);
        pit.write(CH2, 0x42, now);
        assert_eq!(pit.read(CH2, now), 0x42);
        assert_eq!(pit.read(CH2, now), 0x42);
        pit.write(CW, 0x80 | (CW_RW_MSB << CW_RW_SHIFT), now);
        pit.write(CH2, 0x42, now);
        assert_eq!(pit.read(CH2, now), 0x42);
        assert_eq!(latched_count_lsb_only(&mut pit, now), 0x42);
    }

    /// Latches counter 2 and reads one byte (for single-byte access modes).
    fn latched_count_lsb_only(pit: &mut Pit, now: u64) -> u8 {
        pit.write(CW, 0x80, now);
        pit.read(CH2, now)
    }

    #[test]
    fn linux_tsc_calibration_polls_port_61_bit_5() {
        let mut pit = Pit::new(0);
        let mut now = 123_456;
        // pit_calibrate_tsc(): gate high, speaker off, channel 2 mode 0,
        // binary, 50 ms, then poll OUT 2 through port 0x61.
        let b = pit.read(PORT_B, now);
        pit.write(PORT_B, (b & !PORT_B_SPEAKER_DATA) | PORT_B_TIMER2_GATE, now);
        pit.write(CW, 0xB0, now);
        let latch: u16 = (PIT_CLOCK_HZ / (1000 / 50)) as u16;
        pit.write(CH2, latch as u8, now);
        pit.write(CH2, (latch >> 8) as u8, now);
        let start = now;
        let mut polls = 0u32;
        while pit.read(PORT_B, now) & PORT_B_TIMER2_OUT == 0 {
            now += 1_000;
            polls += 1;
            assert!(polls < 100_000, "OUT 2 never rose");
        }
        let elapsed = now - start;
        assert!((50_000_000..50_002_000).contains(&elapsed), "{elapsed}");
        assert_ne!(pit.read(PORT_B, now + 1_000_000) & PORT_B_TIMER2_OUT, 0);

        // quick_pit_calibrate(): count 0xFFFF, then read LSB/MSB pairs live
        // and watch the MSB go down.
        let t0 = 1000 * NS_PER_SEC;
        pit.write(CW, 0xB0, t0);
        pit.write(CH2, 0xFF, t0);
        pit.write(CH2, 0xFF, t0);
        let _ = (pit.read(CH2, t0), pit.read(CH2, t0));
        let msb_at = |pit: &mut Pit, ticks: u64| {
            let now = t0 + ticks_to_ns(ticks);
            pit.read(CH2, now);
            pit.read(CH2, now)
        };
        assert_eq!(msb_at(&mut pit, 100), 0xFF);
        assert_eq!(msb_at(&mut pit, 300), 0xFE);
        assert_eq!(msb_at(&mut pit, 600), 0xFD);
    }

    #[test]
    fn bcd_counts_down_in_decimal_and_wraps_to_9999() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        pit.write(CW, cw(2, 0) | CW_BCD, 0);
        pit.write(CH2, 0x00, 0);
        pit.write(CH2, 0x10, 0);
        assert_eq!(latched_count(&mut pit, 2, 1), 0x1000);
        assert_eq!(latched_count(&mut pit, 2, 2), 0x0999);
        assert_eq!(latched_count(&mut pit, 2, 11), 0x0990);
        assert!(!out2(&pit, 1000));
        assert!(out2(&pit, 1001));
        assert_eq!(latched_count(&mut pit, 2, 1001), 0x0000);
        assert_eq!(latched_count(&mut pit, 2, 1002), 0x9999);
    }

    #[test]
    fn bcd_count_0_is_10000_and_invalid_digits_count_as_9() {
        let mut pit = Pit::new(0);
        pit.write(CW, cw(0, 2) | CW_BCD, 0);
        pit.write(CH0, 0, 0);
        pit.write(CH0, 0, 0);
        assert!(pit.irq0_pending(0));
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(1 + 10_000)));
        assert_eq!(latched_count(&mut pit, 0, 1), 0x0000);
        assert_eq!(latched_count(&mut pit, 0, 2), 0x9999);

        gate2(&mut pit, true, 0);
        pit.write(CW, cw(2, 0) | CW_BCD, 0);
        pit.write(CH2, 0xAF, 0);
        pit.write(CH2, 0xFF, 0);
        assert_eq!(latched_count(&mut pit, 2, 1), 0x9999);
        let t = ticks_to_ns(10);
        pit.write(CW, cw(2, 0) | CW_BCD, t);
        pit.write(CH2, 0xAF, t);
        pit.write(CH2, 0x00, t);
        assert_eq!(latched_count(&mut pit, 2, 11), 0x0099);
        assert!(!out2(&pit, 109) && out2(&pit, 110));
    }

    #[test]
    fn gate_low_stops_channel2() {
        let mut pit = Pit::new(0);
        assert_eq!(pit.read(PORT_B, 0) & PORT_B_TIMER2_GATE, 0);
        program(&mut pit, 2, 0, 1000, 0);
        assert_eq!(latched_count(&mut pit, 2, 10), 1000);
        assert_eq!(latched_count(&mut pit, 2, 400), 1000);
        assert!(!out2(&pit, 5000));
        // Counting starts with the gate and stops again without it.
        gate2(&mut pit, true, 500);
        assert_eq!(latched_count(&mut pit, 2, 600), 900);
        gate2(&mut pit, false, 700);
        assert_eq!(latched_count(&mut pit, 2, 900), 800);
        gate2(&mut pit, true, 1000);
        assert!(!out2(&pit, 1799));
        assert!(out2(&pit, 1800));

        // Mode 2: gate low forces OUT high and stops; gate high reloads.
        program(&mut pit, 2, 2, 10, 2000);
        assert!(!out2(&pit, 2010));
        gate2(&mut pit, false, 2010);
        assert!(out2(&pit, 2010));
        assert_eq!(latched_count(&mut pit, 2, 2500), 1);
        gate2(&mut pit, true, 3000);
        assert_eq!(latched_count(&mut pit, 2, 3001), 10);
        assert!(!out2(&pit, 3010) && out2(&pit, 3011));
    }

    #[test]
    fn mode1_one_shot_is_triggered_by_gate_rising_edges() {
        let mut pit = Pit::new(0);
        program(&mut pit, 2, 1, 5, 0);
        assert!(out2(&pit, 5));
        assert_ne!(status(&mut pit, 2, 5) & STATUS_NULL_COUNT, 0);
        gate2(&mut pit, true, 10);
        assert!(!out2(&pit, 11) && !out2(&pit, 15) && out2(&pit, 16));
        // Retriggering restarts the full count; the gate level alone does not.
        gate2(&mut pit, false, 20);
        gate2(&mut pit, true, 30);
        gate2(&mut pit, false, 33);
        gate2(&mut pit, true, 33);
        assert!(!out2(&pit, 38) && out2(&pit, 39));
        // Channel 0's gate is tied high: mode 1 there never fires.
        program(&mut pit, 0, 1, 5, 0);
        pit.irq0_pending(0);
        assert_eq!(pit.next_irq0_ns(0), None);
    }

    #[test]
    fn mode4_strobes_once_and_mode5_after_each_trigger() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 4, 10, 0);
        assert!(pit.irq0_pending(0));
        assert_eq!(status(&mut pit, 0, 11) & STATUS_OUTPUT, 0);
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(12)));
        assert!(pit.irq0_pending(ticks_to_ns(12)));
        assert_eq!(pit.next_irq0_ns(ticks_to_ns(12)), None);
        assert!(!pit.irq0_pending(ticks_to_ns(1 << 20)));

        let mut pit = Pit::new(0);
        program(&mut pit, 2, 5, 3, 0);
        gate2(&mut pit, true, 10);
        assert!(out2(&pit, 13) && !out2(&pit, 14) && out2(&pit, 15));
        gate2(&mut pit, false, 20);
        gate2(&mut pit, true, 30);
        assert!(!out2(&pit, 34) && out2(&pit, 35));
    }

    #[test]
    fn mode2_new_count_takes_effect_at_the_end_of_the_period() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 100, 0);
        assert!(pit.irq0_pending(0));
        assert!(pit.irq0_pending(ticks_to_ns(150)));
        program_count_only(&mut pit, 50, 150);
        let mut probe = pit.clone();
        assert_ne!(status(&mut probe, 0, 200) & STATUS_NULL_COUNT, 0);
        assert_eq!(status(&mut probe, 0, 201) & STATUS_NULL_COUNT, 0);
        let mut now = ticks_to_ns(150);
        let mut rises = [0u64; 3];
        for r in &mut rises {
            *r = pit.next_irq0_ns(now).unwrap();
            assert!(pit.irq0_pending(*r));
            now = *r;
        }
        assert_eq!(rises, [201, 251, 301].map(ticks_to_ns));
    }

    fn program_count_only(pit: &mut Pit, count: u16, tick: u64) {
        pit.write(CH0, count as u8, ticks_to_ns(tick));
        pit.write(CH0, (count >> 8) as u8, ticks_to_ns(tick));
    }

    #[test]
    fn mode3_new_count_takes_effect_at_the_end_of_the_half_period() {
        let mut pit = Pit::new(0);
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 3, 10, 0);
        // High half runs ticks 1..6; the new count starts with its low half.
        pit.write(CH2, 20, ticks_to_ns(3));
        pit.write(CH2, 0, ticks_to_ns(3));
        assert!(out2(&pit, 5) && !out2(&pit, 6) && !out2(&pit, 15) && out2(&pit, 16));
        assert!(out2(&pit, 25) && !out2(&pit, 26));
    }

    #[test]
    fn count_0_is_65536_and_count_1_in_periodic_modes_is_clamped_to_2() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 0, 0);
        assert!(pit.irq0_pending(0));
        assert_eq!(latched_count(&mut pit, 0, 1), 0);
        assert_eq!(latched_count(&mut pit, 0, 2), 0xFFFF);
        assert_eq!(pit.next_irq0_ns(0), Some(ticks_to_ns(65_537)));

        program(&mut pit, 0, 2, 1, 100_000);
        let mut now = ticks_to_ns(100_000);
        pit.irq0_pending(now);
        for k in 1..=5 {
            let next = pit.next_irq0_ns(now).unwrap();
            assert_eq!(next, ticks_to_ns(100_001 + 2 * k));
            assert!(pit.irq0_pending(next));
            now = next;
        }
        gate2(&mut pit, true, 0);
        program(&mut pit, 2, 3, 1, 200_000);
        assert!(out2(&pit, 200_001) && !out2(&pit, 200_002) && out2(&pit, 200_003));
    }

    #[test]
    fn unprogrammed_timer_reads_zero_and_never_interrupts() {
        let mut pit = Pit::new(5_000);
        assert_eq!(pit.read(CH0, 6_000), 0);
        assert_eq!(pit.read(CH0, 6_000), 0);
        assert_eq!(pit.read(CW, 6_000), 0xFF);
        assert_eq!(status(&mut pit, 0, 10), 0b0111_0000);
        assert!(!pit.channel2_output(NS_PER_SEC));
        assert!(!pit.irq0_pending(NS_PER_SEC));
        assert_eq!(pit.next_irq0_ns(NS_PER_SEC), None);
    }

    #[test]
    fn other_ports_float_and_ignore_writes() {
        let mut pit = Pit::new(0);
        for port in [0x3F, 0x44, 0x60, 0x62, 0xFFFF] {
            pit.write(port, 0x34, 0);
            assert_eq!(pit.read(port, 0), 0xFF);
        }
        assert_eq!(pit.next_irq0_ns(0), None);
    }

    #[test]
    fn switching_modes_mid_count_restarts_cleanly() {
        let mut pit = Pit::new(0);
        program(&mut pit, 0, 2, 1000, 0);
        assert!(pit.irq0_pending(0));
        let frozen = latched_count(&mut pit, 0, 501);
        assert_eq!(frozen, 500);
        pit.write(CW, cw(0, 0), ticks_to_ns(501));
        assert_eq!(status(&mut pit, 0, 501) & STATUS_OUTPUT, 0);
        assert_eq!(latched_count(&mut pit, 0, 5000), frozen);
        assert!(!pit.irq0_pending(ticks_to_ns(1 << 24)));
        assert_eq!(pit.next_irq0_ns(ticks_to_ns(1 << 24)), None);
        program_count_only(&mut pit, 10, 1 << 24);
        assert_eq!(
            pit.next_irq0_ns(ticks_to_ns(1 << 24)),
            Some(ticks_to_ns((1 << 24) + 11))
        );
        // Back to mode 3: OUT steps high at once, which is a rising edge.
        pit.write(CW, cw(0, 3), ticks_to_ns((1 << 24) + 5));
        assert!(pit.irq0_pending(ticks_to_ns((1 << 24) + 5)));
    }

    #[test]
    fn port_b_reads_back_control_bits_and_derives_status_bits_from_time() {
        let mut pit = Pit::new(0);
        pit.write(PORT_B, 0xFF, 0);
        assert_eq!(pit.read(PORT_B, ticks_to_ns(0)), 0x0F);
        assert_eq!(
            pit.read(PORT_B, ticks_to_ns(18)),
            0x0F | PORT_B_REFRESH_DETECT
        );
        assert_eq!(pit.read(PORT_B, ticks_to_ns(36)), 0x0F);
        // Toggles every ~15 us.
        let mut pit = Pit::new(0);
        let toggles = (0..1000u64)
            .map(|us| pit.read(PORT_B, us * 1000) & PORT_B_REFRESH_DETECT)
            .collect::<alloc::vec::Vec<_>>()
            .windows(2)
            .filter(|w| w[0] != w[1])
            .count();
        assert!((65..=67).contains(&toggles), "{toggles}");
        pit.write(PORT_B, PORT_B_SPEAKER_DATA, ticks_to_ns(40));
        assert_eq!(pit.read(PORT_B, ticks_to_ns(40)), PORT_B_SPEAKER_DATA);
    }

    struct FakeClock(Cell<u64>);
    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            self.0.get()
        }
    }

    #[test]
    fn pit_ports_work_on_the_bus_with_the_clock() {
        let clock = Rc::new(FakeClock(Cell::new(0)));
        let pit = Rc::new(RefCell::new(Pit::new(0)));
        let mut bus = PortIoBus::default();
        bus.register(
            PIT_BASE,
            PIT_PORT_COUNT,
            Box::new(PitPorts::new(PIT_BASE, pit.clone(), clock.clone())),
        )
        .unwrap();
        bus.register(
            PORT_B,
            PORT_B_PORT_COUNT,
            Box::new(PitPorts::new(PORT_B, pit.clone(), clock.clone())),
        )
        .unwrap();
        bus.write(0x61, 1, 0x01);
        bus.write(0x43, 1, 0xB0);
        bus.write(0x42, 1, 100);
        bus.write(0x42, 1, 0);
        assert_eq!(bus.read(0x61, 1) & 0x20, 0);
        clock.0.set(ticks_to_ns(101));
        assert_eq!(bus.read(0x61, 1) & 0x20, 0x20);
        // A word read at 0x61 also reads the unclaimed 0x62 half as 0xFF.
        assert_eq!(bus.read(0x61, 2) >> 8, 0xFF);
        bus.write(0x43, 1, 0x34);
        bus.write(0x40, 1, 0x9C);
        bus.write(0x40, 1, 0x2E);
        assert!(pit.borrow_mut().irq0_pending(clock.now_ns()));
        assert_eq!(
            pit.borrow().next_irq0_ns(clock.now_ns()),
            Some(ticks_to_ns(102 + 11932))
        );
        assert_eq!(bus.read(0x43, 1), 0xFF);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_register_traffic_never_panics_and_keeps_invariants() {
        let mut rng = XorShift(0x8254_0061_DEAD_BEEF);
        let mut pit = Pit::new(0);
        let mut now: u64 = 0;
        let (mut scheduled, mut fired) = (0u32, 0u32);
        for step in 0..40_000 {
            let r = rng.next();
            now = match r % 8 {
                0 => now.saturating_add(rng.next() % 100_000_000),
                1 | 2 => now.saturating_add(rng.next() % 20_000),
                3 => now.saturating_sub(rng.next() % 1000), // a clock going backwards
                _ => now,
            };
            let ports = [0x40, 0x41, 0x42, 0x43, 0x43, 0x61, 0x44];
            let port = ports[(rng.next() % ports.len() as u64) as usize];
            let value = rng.next() as u8;
            if r & 0x100 != 0 {
                pit.write(port, value, now);
            } else {
                pit.read(port, now);
            }
            if step % 7 == 0 && pit.irq0_pending(now) {
                fired += 1;
            }
            let t = pit.peek_tick(now);
            for ch in &pit.channels {
                let c = ch.at(t);
                let raw = c.ce_raw(t);
                if c.bcd {
                    for i in 0..4 {
                        assert!((raw >> (4 * i)) & 0xF <= 9, "BCD count {raw:#x}");
                    }
                }
                if matches!(c.mode(), Mode::RateGenerator | Mode::SquareWave)
                    && c.has_count
                    && c.gate
                {
                    assert!(c.reload >= MIN_PERIODIC_COUNT);
                }
            }
            assert_eq!(
                pit.clone().read(PORT_B, now) & PORT_B_TIMER2_OUT != 0,
                pit.channel2_output(now)
            );
            if let Some(next) = pit.next_irq0_ns(now) {
                scheduled += 1;
                assert!(next >= now);
                let mut probe = pit.clone();
                if next > now {
                    assert!(!probe.irq0_pending(next - 1));
                }
                assert!(probe.irq0_pending(next), "step {step}");
            } else {
                assert!(!pit.clone().irq0_pending(now.saturating_add(NS_PER_SEC)));
            }
        }
        std::println!("irq0 scheduled at {scheduled} steps, fired {fired} times");
        assert!(scheduled > 1000 && fired > 100, "{scheduled} {fired}");
    }
}
