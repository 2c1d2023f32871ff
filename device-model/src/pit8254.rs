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
//!   [`Pit::irq0_request`].
//! - Channel 0's periods in modes 2 and 3 that end while the guest has not
//!   yet acknowledged the previous IRQ 0 are counted and raised later, one
//!   per acknowledge, rather than lost (Xen's default "delay for missed
//!   ticks" timer mode, bounded to one second of ticks); see `irq0`.
//! - Gates of channels 0 and 1 are tied high, as on the PC; so modes 1 and 5
//!   never trigger on those channels.
//! - Port B bits 0-3 read back as written, bit 4 (refresh detect) toggles
//!   every 18 timer clocks (15.09 us, the PC refresh period of channel 1 at
//!   its BIOS divisor, derived from time whatever channel 1 is programmed
//!   to), bit 5 is OUT of channel 2, bits 6 and 7 (I/O channel check, RAM
//!   parity check) read 0: no such errors happen here.
//!
//! # Layout
//!
//! - `ticks`: host nanoseconds to timer clocks and back.
//! - `bcd`, `control_word`, `mode`: the counting formats, the bit layout of
//!   the control word, read-back command and status byte, and the six modes.
//! - `channel`: one counter's state; `counting` evaluates its CE and OUT in
//!   closed form; `count_register` is its data port; `gate` starts, stops and
//!   triggers it; `control_commands` programs and latches it.
//! - [`Pit`] (here) ties the three counters together; `irq0` turns channel
//!   0's rises into IRQ 0 requests and keeps the missed-tick backlog;
//!   `port_b` and `ports` are its port-I/O faces.

mod bcd;
mod channel;
mod control_commands;
mod control_word;
mod count_register;
mod counting;
mod gate;
mod irq0;
mod mode;
mod port_b;
mod ports;
mod ticks;

use channel::Channel;

pub use irq0::{Irq0Status, BACKLOG_SPAN_TICKS, MASK_DROP_TICKS};

pub use port_b::{
    PORT_B, PORT_B_ENABLE_IO_CHECK_N, PORT_B_ENABLE_RAM_PARITY_CHECK_N, PORT_B_IO_CHANNEL_CHECK,
    PORT_B_PORT_COUNT, PORT_B_RAM_PARITY_CHECK, PORT_B_REFRESH_DETECT, PORT_B_SPEAKER_DATA,
    PORT_B_TIMER2_GATE, PORT_B_TIMER2_OUT,
};
pub use ports::{PitPorts, PIT_BASE, PIT_PORT_COUNT};
pub use ticks::{ns_to_ticks, ticks_to_ns, PIT_CLOCK_HZ};

/// ISA IRQ driven by OUT of counter 0 (edge-triggered at the 8259).
pub const PIT_IRQ: u8 = pc_layout::irqs::PIT;

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
    /// Channel 0 rising edges not yet answered with an IRQ 0 edge: at most
    /// one outside modes 2 and 3, at most one second's worth of periods in
    /// them (see `irq0`).
    irq0_owed: u64,
    /// The first tick at which [`Pit::irq0_request`] saw IRQ 0 masked, while
    /// it stays masked.
    irq0_masked_since: Option<u64>,
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
            irq0_owed: 0,
            irq0_masked_since: None,
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
            self.owe_irq0(1);
        }
        r
    }

    /// Level of OUT of channel 2 (the speaker timer).
    pub fn channel2_output(&self, now_ns: u64) -> bool {
        self.channels[2].out(self.peek_tick(now_ns))
    }
}

#[cfg(test)]
mod tests;
