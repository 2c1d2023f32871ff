//! Host physical memory: the allocator of physical ranges. The hypervisor
//! identity-maps host RAM, so a physical address is also a usable pointer.

pub mod phys_alloc;

pub use phys_alloc::PhysAllocator;

/// Size of a small page.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a large (2 MiB) page.
pub const LARGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;

/// Rounds `v` up to a multiple of `align` (a power of two); None on overflow.
pub fn align_up(v: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    v.checked_add(align - 1).map(|x| x & !(align - 1))
}
