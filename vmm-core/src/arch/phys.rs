//! Direct access to host physical memory, which the boot page tables
//! identity-map up to [`IDENTITY_MAPPED_END`].

use crate::boot_info::PhysRead;

/// End of the identity map the boot code builds (4 GiB of 2 MiB pages).
pub const IDENTITY_MAPPED_END: u64 = 1 << 32;

/// Physical memory during boot, for reading the loader's structures.
pub struct BootMemory;

impl PhysRead for BootMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let Some(end) = addr.checked_add(buf.len() as u64) else {
            return false;
        };
        if addr == 0 || end > IDENTITY_MAPPED_END {
            return false;
        }
        // SAFETY: the range is inside the identity map, the loader placed its
        // structures in RAM, and nothing writes to them while we read.
        let src = unsafe { core::slice::from_raw_parts(addr as *const u8, buf.len()) };
        buf.copy_from_slice(src);
        true
    }
}

/// Takes ownership of the physical range `[start, start+len)` as a byte slice.
///
/// # Safety
/// The range must be RAM inside the identity map that nothing else uses for as
/// long as the slice lives (it comes from the physical allocator, which never
/// hands out a range twice, or is a boot module the allocator excludes).
pub unsafe fn claim(start: u64, len: u64) -> &'static mut [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { core::slice::from_raw_parts_mut(start as *mut u8, len as usize) }
}

/// Start and end of the hypervisor image, from the linker script.
pub fn image_range() -> (u64, u64) {
    extern "C" {
        static __image_start: u8;
        static __bss_end: u8;
    }
    // Only the addresses of the linker symbols are taken, never their contents.
    (&raw const __image_start as u64, &raw const __bss_end as u64)
}
