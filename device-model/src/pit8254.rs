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
mod tests;
