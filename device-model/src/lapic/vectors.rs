//! The 256-bit vector sets behind IRR, ISR and TMR (SDM 11.8.4, Figure
//! 11-20): bit `v` of the set is bit `v % 32` of the register at offset
//! `base + (v / 32) * 10h`.

/// A set of interrupt vectors, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct VectorSet([u32; 8]);

impl VectorSet {
    pub(super) fn set(&mut self, vector: u8) {
        self.0[usize::from(vector >> 5)] |= 1 << (vector & 31);
    }

    pub(super) fn clear(&mut self, vector: u8) {
        self.0[usize::from(vector >> 5)] &= !(1 << (vector & 31));
    }

    pub(super) fn contains(&self, vector: u8) -> bool {
        self.0[usize::from(vector >> 5)] & (1 << (vector & 31)) != 0
    }

    /// The highest vector in the set.
    pub(super) fn highest(&self) -> Option<u8> {
        self.0
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, &w)| (w != 0).then(|| (i as u8) * 32 + (31 - w.leading_zeros() as u8)))
    }

    /// Register `index` (0-7): vectors `32 * index` to `32 * index + 31`.
    pub(super) fn word(&self, index: usize) -> u32 {
        self.0.get(index).copied().unwrap_or(0)
    }
}
