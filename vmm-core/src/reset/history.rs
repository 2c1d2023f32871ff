//! The resets a guest has asked for: how many, and whether they come so fast
//! that the guest is in a reboot loop.

use alloc::collections::VecDeque;
use device_model::rate_limit::RateLimit;

/// More resets than this within [`RESET_LOOP_WINDOW_NS`] is a reboot loop.
pub const RESET_LOOP_LIMIT: u32 = 100;
/// The window of host time [`RESET_LOOP_LIMIT`] applies to: 10 s.
pub const RESET_LOOP_WINDOW_NS: u64 = 10_000_000_000;

/// The resets of one domain.
pub struct ResetHistory {
    /// Host times of the latest resets, at most [`RESET_LOOP_LIMIT`].
    recent: VecDeque<u64>,
    /// Resets so far.
    count: u32,
    /// A guest rebooting all the time gets a few log lines, then one in many.
    pub log: RateLimit,
}

impl Default for ResetHistory {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(RESET_LOOP_LIMIT as usize),
            count: 0,
            log: RateLimit::new(20, 100),
        }
    }
}

impl ResetHistory {
    /// Counts a reset at host time `now_ns`; false when it is one more than
    /// [`RESET_LOOP_LIMIT`] within [`RESET_LOOP_WINDOW_NS`], a reboot loop.
    pub fn record(&mut self, now_ns: u64) -> bool {
        self.count = self.count.saturating_add(1);
        if self.recent.len() == RESET_LOOP_LIMIT as usize {
            let oldest = self.recent.pop_front().unwrap_or(0);
            if now_ns.saturating_sub(oldest) < RESET_LOOP_WINDOW_NS {
                return false;
            }
        }
        self.recent.push_back(now_ns);
        true
    }

    /// Resets counted so far.
    pub fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn a_hundred_resets_in_ten_seconds_are_fine_the_hundred_and_first_is_a_loop() {
        let mut h = ResetHistory::default();
        for i in 0..u64::from(RESET_LOOP_LIMIT) {
            assert!(h.record(i * SEC / 20), "reset {}", i + 1);
        }
        assert!(!h.record(5 * SEC));
        assert_eq!(h.count(), RESET_LOOP_LIMIT + 1);
    }

    #[test]
    fn ten_resets_a_second_go_on_for_ever_eleven_make_a_loop() {
        // At ten a second, the 101st of any run comes 10 s after the first.
        let mut h = ResetHistory::default();
        for i in 0..600u64 {
            assert!(h.record(i * SEC / 10), "reset {}", i + 1);
        }
        assert_eq!(h.count(), 600);
        // At eleven a second, the 101st comes after 9.09 s.
        let mut h = ResetHistory::default();
        let stopped = (0..200u64).find(|i| !h.record(i * SEC / 11));
        assert_eq!(stopped, Some(u64::from(RESET_LOOP_LIMIT)));
    }
}
