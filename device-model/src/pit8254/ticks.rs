//! Host time to timer clocks and back. The device holds no clock: every
//! time-dependent call converts monotonic host nanoseconds to whole periods of
//! the 1.193182 MHz input clock from the same origin every time, so rounding
//! never accumulates.

/// Input clock of all three counters, in Hz.
pub const PIT_CLOCK_HZ: u64 = 1_193_182;

/// Nanoseconds in one second.
pub(super) const NS_PER_SEC: u64 = 1_000_000_000;

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
