//! A list with a fixed capacity and no heap, for data read before the heap exists.

/// Up to `N` values kept inline; pushing onto a full list drops the value and says so.
#[derive(Clone, Copy)]
pub struct FixedList<T: Copy, const N: usize> {
    items: [Option<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> Default for FixedList<T, N> {
    fn default() -> Self {
        Self {
            items: [None; N],
            len: 0,
        }
    }
}

impl<T: Copy, const N: usize> FixedList<T, N> {
    /// Appends `value`; false (and nothing kept) when the list is full.
    pub fn push(&mut self, value: T) -> bool {
        if self.len == N {
            return false;
        }
        self.items[self.len] = Some(value);
        self.len += 1;
        true
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items[..self.len].iter().flatten()
    }
}
