//! The power management timer's count as a function of time (ACPI 6.5,
//! 4.8.3.3 "Power Management Timer (PM_TMR)"): a counter at 3.579545 MHz,
//! computed in closed form from the nanoseconds since the device started,
//! so rounding never accumulates and any elapsed time costs the same.

/// The timer's input clock (ACPI 6.5, 4.8.3.3: "3.579545 MHz").
pub const PM_TIMER_HZ: u64 = 3_579_545;
/// The counter's width: 24 bits (the FADT's TMR_VAL_EXT is clear).
pub const PM_TIMER_BITS: u32 = 24;
/// The counter bit whose every change sets TMR_STS: its most significant.
pub const PM_TIMER_STATUS_SHIFT: u32 = PM_TIMER_BITS - 1;

const NS_PER_SEC: u128 = 1_000_000_000;

/// Whole timer ticks in `elapsed_ns`: floor(elapsed_ns × 3579545 / 10^9).
pub fn ticks(elapsed_ns: u64) -> u64 {
    // elapsed_ns × 3579545 < 2^86 fits in u128; the quotient is below
    // elapsed_ns and fits in u64.
    (u128::from(elapsed_ns) * u128::from(PM_TIMER_HZ) / NS_PER_SEC) as u64
}

/// The first elapsed nanosecond at which [`ticks`] reaches `tick`:
/// ceil(tick × 10^9 / 3579545), `u64::MAX` if that is beyond a u64.
pub fn ns_of_tick(tick: u64) -> u64 {
    let hz = u128::from(PM_TIMER_HZ);
    let ns = (u128::from(tick) * NS_PER_SEC).div_ceil(hz);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The counter value the guest reads after `ticks` ticks.
pub fn counter(ticks: u64) -> u32 {
    (ticks & ((1 << PM_TIMER_BITS) - 1)) as u32
}

/// How many times the counter's top bit has changed after `ticks` ticks.
pub fn status_toggles(ticks: u64) -> u64 {
    ticks >> PM_TIMER_STATUS_SHIFT
}
