//! Pseudo-random numbers for stress and property tests. The same seed gives
//! the same sequence on every machine, so a failing random test fails again
//! when replayed; [`XorShift::per_run`] picks a new seed on every run (more
//! of the input space over time), prints it, and takes it back from
//! `VMM_TEST_SEED` to replay a failure. Not for anything that needs
//! unpredictability. Used only by tests, so it has the standard library.
//!
//! [`XorShift`] is Marsaglia's xorshift64 with shifts 13, 7, 17 ("Xorshift
//! RNGs", Journal of Statistical Software 8(14), 2003); [`XorShift32`] is his
//! xorshift32 with shifts 13, 17, 5. Both are the generators the tests used
//! when each carried its own copy, so their sequences are unchanged.
#![forbid(unsafe_code)]

/// xorshift64 (shifts 13, 7, 17): each step returns the new state.
///
/// The state is public so a test can build one with `XorShift(seed)` and look
/// at where it is. A zero state never leaves zero: seed with anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorShift(pub u64);

impl XorShift {
    /// A generator starting from `seed` (which should not be 0).
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for the randomised test `test`, seeded anew on every run:
    /// from `VMM_TEST_SEED` when set (hexadecimal with `0x`, or decimal), else
    /// from the clock mixed with `salt`. The seed is printed (cargo test shows
    /// it with a failing test's output) with the command that replays it.
    pub fn per_run(test: &str, salt: u64) -> Self {
        let seed = seed_from_env().unwrap_or_else(|| fresh_seed(salt));
        std::eprintln!(
            "{test}: seed {seed:#x} (replay: VMM_TEST_SEED={seed:#x} cargo test {test})"
        );
        Self(seed)
    }

    /// Advances the state and returns it.
    // Named like the copies it replaces, whose callers say `rng.next()`; an
    // `Iterator` would hand out `Option<u64>` for a sequence that never ends.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next value modulo `n` (slightly biased, which a test does not
    /// mind). Panics if `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// The low byte of the next value.
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// The environment variable that replays a randomised test's seed.
pub const SEED_VARIABLE: &str = "VMM_TEST_SEED";

/// `VMM_TEST_SEED` as a seed, when set to a non-zero number.
fn seed_from_env() -> Option<u64> {
    parse_seed(&std::env::var(SEED_VARIABLE).ok()?)
}

/// A seed written as `0x` hexadecimal or decimal; None for 0 or garbage.
pub fn parse_seed(text: &str) -> Option<u64> {
    let text = text.trim();
    let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => text.parse().ok()?,
    };
    (value != 0).then_some(value)
}

/// A non-zero seed from the clock and `salt` (so tests started in the same
/// nanosecond still differ), through one round of splitmix64's finaliser.
fn fresh_seed(salt: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = nanos ^ salt ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    if z == 0 {
        1
    } else {
        z
    }
}

/// xorshift32 (shifts 13, 17, 5) on a 32-bit state: each step returns the new
/// state. A zero state never leaves zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorShift32(pub u32);

impl XorShift32 {
    /// A generator starting from `seed` (which should not be 0).
    pub const fn new(seed: u32) -> Self {
        Self(seed)
    }

    /// As [`XorShift::per_run`], on a 32-bit state.
    pub fn per_run(test: &str, salt: u32) -> Self {
        let seed = XorShift::per_run(test, u64::from(salt)).0;
        // Fold to 32 bits, never to zero.
        Self(((seed ^ (seed >> 32)) as u32).max(1))
    }

    /// Advances the state and returns it.
    // As for `XorShift::next`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift64_from_seed_1_is_marsaglias_sequence() {
        let mut rng = XorShift::new(1);
        assert_eq!(rng.next(), 0x4082_2041);
        assert_eq!(rng.next(), 0x1000_4106_0C01_1441);
        assert_eq!(rng.next(), 0x9B1E_842F_6E86_2629);
    }

    #[test]
    fn xorshift64_sequence_the_tests_were_written_against() {
        // The seed the IDE and VGA stress tests use, with the values the
        // copies in those tests produced (worked out independently).
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        assert_eq!(rng.next(), 0xDC1B_77AE_0BF3_4DAD);
        assert_eq!(rng.next(), 0x64F0_EEB9_026E_6076);
        assert_eq!(rng.next(), 0x7B07_CE91_E590_6136);
    }

    #[test]
    fn each_value_is_the_new_state() {
        let mut rng = XorShift::new(0x8254_0061_DEAD_BEEF);
        for _ in 0..100 {
            let v = rng.next();
            assert_eq!(rng.0, v);
        }
    }

    #[test]
    fn below_and_byte_draw_one_value_each() {
        let mut a = XorShift::new(0xE170_0715_0CD0_0100);
        let mut b = a.clone();
        for n in [1u64, 2, 3, 7, 1000, u64::MAX] {
            let v = a.below(n);
            assert!(v < n);
            assert_eq!(v, b.next() % n);
        }
        for _ in 0..10 {
            assert_eq!(a.byte(), b.next() as u8);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn nonzero_seeds_never_reach_zero_and_zero_stays_zero() {
        let mut rng = XorShift::new(1);
        assert!((0..10_000).all(|_| rng.next() != 0));
        let mut stuck = XorShift::new(0);
        assert_eq!(stuck.next(), 0);
        let mut rng32 = XorShift32::new(1);
        assert!((0..10_000).all(|_| rng32.next() != 0));
        assert_eq!(XorShift32::new(0).next(), 0);
    }

    #[test]
    fn xorshift32_from_seed_1_is_marsaglias_sequence() {
        let mut rng = XorShift32::new(1);
        assert_eq!(rng.next(), 0x0004_2021);
        assert_eq!(rng.next(), 0x0408_0601);
        assert_eq!(rng.next(), 0x9DCC_A8C5);
    }

    #[test]
    fn xorshift32_sequence_the_pci_test_was_written_against() {
        let mut rng = XorShift32(0x1BAD_5EED);
        assert_eq!(rng.next(), 0xBE64_7C75);
        assert_eq!(rng.next(), 0x0CB2_5480);
        assert_eq!(rng.next(), 0x826C_85B1);
        assert_eq!(rng.0, 0x826C_85B1);
    }

    #[test]
    fn seeds_parse_in_hex_or_decimal_and_never_zero() {
        assert_eq!(parse_seed("0x1F"), Some(31));
        assert_eq!(parse_seed(" 42 "), Some(42));
        assert_eq!(parse_seed("0"), None);
        assert_eq!(parse_seed("zz"), None);
    }

    #[test]
    fn fresh_seeds_are_non_zero_and_differ_by_salt() {
        let (a, b) = (fresh_seed(1), fresh_seed(2));
        assert!(a != 0 && b != 0);
        assert_ne!(a, b);
    }
}
