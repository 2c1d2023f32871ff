//! The two counting formats selected by control word bit 0: a 16-bit binary
//! counter or a four-decade BCD counter ("Operation Common to All Modes":
//! initial count 0 means 2^16 in binary and 10^4 in BCD; a BCD digit above 9
//! is undefined on the chip and taken as 9 here).

/// Counting range of a binary counter: initial count 0 means 65536.
pub(super) const BINARY_MODULUS: u32 = 0x1_0000;
/// Counting range of a BCD counter: initial count 0 means 10000.
pub(super) const BCD_MODULUS: u32 = 10_000;

/// Packs 0..=9999 into four BCD digits.
pub(super) fn to_bcd(v: u32) -> u16 {
    let v = v % BCD_MODULUS;
    let digits = [v % 10, (v / 10) % 10, (v / 100) % 10, v / 1000];
    digits
        .iter()
        .enumerate()
        .fold(0u16, |acc, (i, d)| acc | ((*d as u16) << (4 * i)))
}

/// Reads four BCD digits; a digit above 9 counts as 9.
pub(super) fn from_bcd(raw: u16) -> u32 {
    (0..4).rev().fold(0u32, |acc, i| {
        let digit = u32::from((raw >> (4 * i)) & 0xF).min(9);
        acc * 10 + digit
    })
}
