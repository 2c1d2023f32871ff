//! Allocator of physical memory ranges, built from the loader's memory map.
//!
//! Everything the hypervisor allocates lives as long as the machine (the heap,
//! guest RAM, page tables), so this carves ranges and never takes them back.
//! Guest RAM wants large aligned runs, so allocation is first-fit by alignment.

use super::align_up;
use crate::boot_info::{FixedList, MemoryRegion, RegionKind};

/// Most disjoint free ranges we track.
const MAX_RANGES: usize = 64;

/// Below this address memory is left alone: the real-mode IVT, BIOS data and
/// option ROM areas of the legacy PC live there.
pub const LOW_MEMORY_END: u64 = 0x10_0000;

/// Free physical ranges `[start, end)`.
pub struct PhysAllocator {
    free: FixedList<(u64, u64), MAX_RANGES>,
}

impl PhysAllocator {
    /// Free memory = usable regions above 1 MiB minus every `reserved` range
    /// (the hypervisor image, the modules, the boot information).
    pub fn new<'a>(
        regions: impl Iterator<Item = &'a MemoryRegion>,
        reserved: &[(u64, u64)],
    ) -> Self {
        let mut free = FixedList::default();
        for r in regions.filter(|r| r.kind == RegionKind::Usable) {
            let start = r.start.max(LOW_MEMORY_END);
            let end = r.start.saturating_add(r.len);
            if start < end {
                subtract_into(&mut free, (start, end), reserved);
            }
        }
        Self { free }
    }

    /// Allocates `size` bytes aligned to `align` (a power of two); None if no free range fits.
    pub fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        if size == 0 || !align.is_power_of_two() {
            return None;
        }
        let mut found = None;
        for (i, &(start, end)) in self.free.iter().enumerate() {
            let Some(a) = align_up(start, align) else {
                continue;
            };
            if a.checked_add(size).is_some_and(|e| e <= end) {
                found = Some((i, a));
                break;
            }
        }
        let (index, addr) = found?;
        let mut next = FixedList::default();
        for (i, &(start, end)) in self.free.iter().enumerate() {
            if i != index {
                next.push((start, end));
                continue;
            }
            if start < addr {
                next.push((start, addr));
            }
            if addr + size < end {
                next.push((addr + size, end));
            }
        }
        self.free = next;
        Some(addr)
    }

    /// Bytes still free.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|(s, e)| e - s).sum()
    }
}

/// Pushes the parts of `range` that no `reserved` range covers.
fn subtract_into(
    out: &mut FixedList<(u64, u64), MAX_RANGES>,
    range: (u64, u64),
    reserved: &[(u64, u64)],
) {
    let (start, end) = range;
    if start >= end {
        return;
    }
    if let Some(&(rs, re)) = reserved.iter().find(|&&(rs, re)| rs < end && re > start) {
        subtract_into(out, (start, rs.max(start)), reserved);
        subtract_into(out, (re.min(end), end), reserved);
    } else {
        out.push((start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable(start: u64, len: u64) -> MemoryRegion {
        MemoryRegion {
            start,
            len,
            kind: RegionKind::Usable,
        }
    }

    #[test]
    fn low_memory_and_reserved_regions_are_never_handed_out() {
        let map = [
            usable(0, 0x9F000),
            MemoryRegion {
                start: 0xF0000,
                len: 0x10000,
                kind: RegionKind::Reserved,
            },
            usable(0x10_0000, 0x100_0000),
        ];
        let mut a = PhysAllocator::new(
            map.iter(),
            &[(0x10_0000, 0x20_0000), (0x40_0000, 0x40_1000)],
        );
        assert_eq!(a.free_bytes(), 0x100_0000 - 0x10_0000 - 0x1000);
        let mut got = Vec::new();
        while let Some(p) = a.alloc(0x1000, 0x1000) {
            got.push(p);
        }
        assert!(got
            .iter()
            .all(|&p| p >= 0x20_0000 && p + 0x1000 <= 0x110_0000));
        assert!(!got.contains(&0x40_0000));
        assert_eq!(a.free_bytes(), 0);
    }

    #[test]
    fn alignment_is_honoured_and_the_gap_stays_free() {
        let map = [usable(0x10_0000, 0x80_0000)];
        let mut a = PhysAllocator::new(map.iter(), &[]);
        let small = a.alloc(0x1000, 0x1000).unwrap();
        assert_eq!(small, 0x10_0000);
        let big = a.alloc(0x20_0000, 0x20_0000).unwrap();
        assert_eq!(big, 0x20_0000);
        // the gap between the two is still usable
        assert_eq!(a.alloc(0x1000, 0x1000), Some(0x10_1000));
    }

    #[test]
    fn impossible_requests_fail_cleanly() {
        let map = [usable(0x10_0000, 0x10_0000)];
        let mut a = PhysAllocator::new(map.iter(), &[]);
        assert_eq!(a.alloc(0x20_0000, 0x1000), None);
        assert_eq!(a.alloc(0, 0x1000), None);
        assert_eq!(a.alloc(0x1000, 3), None);
        assert_eq!(a.alloc(u64::MAX, 0x1000), None);
    }

    #[test]
    fn overlapping_reserved_ranges_are_subtracted_once() {
        let map = [usable(0x10_0000, 0x10_0000)];
        let a = PhysAllocator::new(
            map.iter(),
            &[(0x11_0000, 0x13_0000), (0x12_0000, 0x14_0000)],
        );
        assert_eq!(a.free_bytes(), 0x10_0000 - 0x3_0000);
    }
}
