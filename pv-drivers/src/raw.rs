//! The ring-memory edge: frames reached through raw pointers, as a guest
//! reaches its own RAM and the hypervisor's pages mapped into it (shared
//! info, grant frames, the XenStore and console rings).
//!
//! Every access is volatile (the hypervisor and backends change these
//! pages behind the compiler's back) or atomic where the ABI wants locked
//! operations (event-channel bits, `xen/include/public/xen.h`; grant flags,
//! `xen/include/public/grant_table.h`).
#![allow(unsafe_code)]

use crate::memory::{check_range, GuestPages, MemError};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use xen_abi::XEN_PAGE_SIZE;

/// One 4 KiB page at a raw address.
#[derive(Clone, Copy, Debug)]
pub struct MappedPage {
    base: NonNull<u8>,
}

impl MappedPage {
    /// The page at `base`.
    ///
    /// # Safety
    ///
    /// `base` is 8-byte aligned and the [`XEN_PAGE_SIZE`] bytes from it stay
    /// valid for volatile and atomic reads and writes for as long as this
    /// value (or a copy) is used, and nothing else holds a Rust reference
    /// to them meanwhile (other agents — a hypervisor, a backend — may
    /// write them concurrently, which volatile and atomic accesses allow).
    pub unsafe fn new(base: *mut u8) -> Option<Self> {
        if !(base as usize).is_multiple_of(8) {
            return None;
        }
        NonNull::new(base).map(|base| Self { base })
    }

    fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: callers pass offsets checked against the page size; the
        // result stays inside the page `new` was given.
        unsafe { self.base.as_ptr().add(offset) }
    }

    /// Copies bytes out of the page (volatile reads).
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
        check_range(0, offset, buf.len())?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: inside the page (checked above), valid for reads by
            // `new`'s contract.
            *b = unsafe { self.at(offset + i).read_volatile() };
        }
        Ok(())
    }

    /// Copies bytes into the page (volatile writes).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), MemError> {
        check_range(0, offset, data.len())?;
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: inside the page (checked above), valid for writes by
            // `new`'s contract.
            unsafe { self.at(offset + i).write_volatile(b) };
        }
        Ok(())
    }

    fn atomic_u64(&self, offset: usize) -> Result<&AtomicU64, MemError> {
        check_range(0, offset, 8)?;
        if !offset.is_multiple_of(8) {
            return Err(MemError { gfn: 0, offset });
        }
        // SAFETY: aligned (base and offset are multiples of 8), inside the
        // page, valid and only accessed atomically or volatilely for the
        // page's life (`new`'s contract).
        Ok(unsafe { AtomicU64::from_ptr(self.at(offset).cast()) })
    }

    fn atomic_u16(&self, offset: usize) -> Result<&AtomicU16, MemError> {
        check_range(0, offset, 2)?;
        if !offset.is_multiple_of(2) {
            return Err(MemError { gfn: 0, offset });
        }
        // SAFETY: as for `atomic_u64`, with 2-byte alignment.
        Ok(unsafe { AtomicU16::from_ptr(self.at(offset).cast()) })
    }

    /// Locked OR; the old value.
    pub fn fetch_or_u64(&self, offset: usize, bits: u64) -> Result<u64, MemError> {
        Ok(self.atomic_u64(offset)?.fetch_or(bits, Ordering::SeqCst))
    }

    /// Locked AND; the old value.
    pub fn fetch_and_u64(&self, offset: usize, bits: u64) -> Result<u64, MemError> {
        Ok(self.atomic_u64(offset)?.fetch_and(bits, Ordering::SeqCst))
    }

    /// Locked exchange; the old value.
    pub fn swap_u64(&self, offset: usize, value: u64) -> Result<u64, MemError> {
        Ok(self.atomic_u64(offset)?.swap(value, Ordering::SeqCst))
    }

    /// Locked compare-and-exchange; the value found.
    pub fn compare_exchange_u16(
        &self,
        offset: usize,
        current: u16,
        new: u16,
    ) -> Result<u16, MemError> {
        let a = self.atomic_u16(offset)?;
        Ok(
            match a.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        )
    }
}

/// Guest frames `frames` at `base + gfn * 4096`: a guest's direct map of
/// its physical address space (identity when `base` is 0).
#[derive(Debug)]
pub struct DirectMap {
    base: usize,
    frames: core::ops::Range<u64>,
}

impl DirectMap {
    /// Frames `frames` mapped from `base` on.
    ///
    /// # Safety
    ///
    /// For every frame in `frames`, the page at `base + gfn * 4096` meets
    /// [`MappedPage::new`]'s contract for the life of the result.
    pub unsafe fn new(base: usize, frames: core::ops::Range<u64>) -> Self {
        Self { base, frames }
    }

    fn page(&self, gfn: u64, offset: usize) -> Result<MappedPage, MemError> {
        let err = MemError { gfn, offset };
        if !self.frames.contains(&gfn) {
            return Err(err);
        }
        let addr = usize::try_from(gfn)
            .ok()
            .and_then(|g| g.checked_mul(XEN_PAGE_SIZE))
            .and_then(|a| a.checked_add(self.base))
            .ok_or(err)?;
        // SAFETY: a frame of `frames`, mapped as `DirectMap::new`'s
        // contract says.
        unsafe { MappedPage::new(addr as *mut u8) }.ok_or(err)
    }
}

fn at_frame(gfn: u64, e: MemError) -> MemError {
    MemError {
        gfn,
        offset: e.offset,
    }
}

impl GuestPages for DirectMap {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
        check_range(gfn, offset, buf.len())?;
        self.page(gfn, offset)?
            .read(offset, buf)
            .map_err(|e| at_frame(gfn, e))
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError> {
        check_range(gfn, offset, data.len())?;
        self.page(gfn, offset)?
            .write(offset, data)
            .map_err(|e| at_frame(gfn, e))
    }

    fn fetch_or_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        self.page(gfn, offset)?
            .fetch_or_u64(offset, bits)
            .map_err(|e| at_frame(gfn, e))
    }

    fn fetch_and_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        self.page(gfn, offset)?
            .fetch_and_u64(offset, bits)
            .map_err(|e| at_frame(gfn, e))
    }

    fn swap_u64(&mut self, gfn: u64, offset: usize, value: u64) -> Result<u64, MemError> {
        self.page(gfn, offset)?
            .swap_u64(offset, value)
            .map_err(|e| at_frame(gfn, e))
    }

    fn compare_exchange_u16(
        &mut self,
        gfn: u64,
        offset: usize,
        current: u16,
        new: u16,
    ) -> Result<u16, MemError> {
        self.page(gfn, offset)?
            .compare_exchange_u16(offset, current, new)
            .map_err(|e| at_frame(gfn, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;

    #[repr(align(4096))]
    struct Page([u8; XEN_PAGE_SIZE]);

    #[test]
    fn a_direct_map_reads_writes_and_locks_inside_its_frames() {
        let mut pages = Box::new([Page([0; XEN_PAGE_SIZE]), Page([0; XEN_PAGE_SIZE])]);
        let base = pages.as_mut_ptr() as usize;
        // SAFETY: the two pages live in `pages` until the end of the test
        // and are touched only through the map meanwhile.
        let mut m = unsafe { DirectMap::new(base - 5 * XEN_PAGE_SIZE, 5..7) };
        m.write_u32(6, 4, 0xAABBCCDD).unwrap();
        assert_eq!(m.read_u32(6, 4).unwrap(), 0xAABBCCDD);
        assert_eq!(m.fetch_or_u64(5, 8, 3).unwrap(), 0);
        assert_eq!(m.fetch_and_u64(5, 8, !1).unwrap(), 3);
        assert_eq!(m.swap_u64(5, 8, 7).unwrap(), 2);
        assert_eq!(m.compare_exchange_u16(5, 8, 7, 1).unwrap(), 7);
        assert_eq!(m.read_u64(5, 8).unwrap(), 1);
        assert!(m.read_u32(7, 0).is_err(), "outside the frames");
        assert!(m.read_u32(5, 4094).is_err(), "across the page end");
        assert!(m.fetch_or_u64(5, 4, 1).is_err(), "misaligned");
        let _ = m;
        assert_eq!(pages[1].0[4], 0xDD);
    }
}
