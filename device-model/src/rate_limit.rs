//! Rate limiting for log lines a guest can trigger at will.

/// Lets the first `burst` events through, then one in every `every`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    seen: u64,
    burst: u64,
    every: u64,
}

impl RateLimit {
    /// A limiter that passes `burst` events, then one in `every`.
    pub const fn new(burst: u64, every: u64) -> Self {
        Self {
            seen: 0,
            burst,
            every,
        }
    }

    /// Counts an event; true when it should be logged.
    pub fn allow(&mut self) -> bool {
        self.seen = self.seen.saturating_add(1);
        self.seen <= self.burst || (self.every > 0 && self.seen.is_multiple_of(self.every))
    }

    /// Events counted so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_a_burst_then_samples() {
        let mut r = RateLimit::new(3, 10);
        let passed: std::vec::Vec<u64> = (1..=30).filter(|_| r.allow()).collect();
        assert_eq!(passed, [1, 2, 3, 10, 20, 30]);
    }
}
