//! Guest memory as the frontends see it: 4 KiB frames by guest frame number
//! (GFN), with byte copies and the few atomic operations the ABI demands
//! (event-channel bits, grant flags).
//!
//! A real guest implements [`GuestPages`] over its direct map
//! ([`crate::raw::DirectMap`]); host tests back the frames with host
//! memory and with the hypervisor's own pages, so the rings and tables the
//! frontends write are the ones the `xen-services` backends read.

use xen_abi::XEN_PAGE_SIZE;

/// A frame that is not there, or an access that leaves its page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemError {
    /// The frame.
    pub gfn: u64,
    /// The offset of the access in it.
    pub offset: usize,
}

/// Checks that `len` bytes at `offset` stay inside one page.
pub fn check_range(gfn: u64, offset: usize, len: usize) -> Result<(), MemError> {
    match offset.checked_add(len) {
        Some(end) if end <= XEN_PAGE_SIZE => Ok(()),
        _ => Err(MemError { gfn, offset }),
    }
}

/// Access to guest frames by number. Every access stays inside one page
/// (an access crossing the page end is a [`MemError`]).
///
/// The atomic operations have non-atomic defaults (read, modify, write),
/// correct for a backing nobody else touches concurrently (host tests);
/// an implementation over memory a hypervisor or another vCPU writes
/// concurrently must override them with locked instructions, as
/// [`crate::raw::DirectMap`] does (`xen/include/public/xen.h`: the
/// event-channel bits are updated with atomic operations;
/// `xen/include/public/grant_table.h`: flags change by
/// compare-and-exchange).
pub trait GuestPages {
    /// Copies `buf.len()` bytes from `offset` in frame `gfn`.
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError>;

    /// Copies `data` to `offset` in frame `gfn`.
    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError>;

    /// Atomically ORs `bits` into the aligned `u64` at `offset`; returns the
    /// old value.
    fn fetch_or_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        let old = self.read_u64(gfn, offset)?;
        self.write_u64(gfn, offset, old | bits)?;
        Ok(old)
    }

    /// Atomically ANDs `bits` into the aligned `u64` at `offset`; returns
    /// the old value.
    fn fetch_and_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        let old = self.read_u64(gfn, offset)?;
        self.write_u64(gfn, offset, old & bits)?;
        Ok(old)
    }

    /// Atomically replaces the aligned `u64` at `offset`; returns the old
    /// value.
    fn swap_u64(&mut self, gfn: u64, offset: usize, value: u64) -> Result<u64, MemError> {
        let old = self.read_u64(gfn, offset)?;
        self.write_u64(gfn, offset, value)?;
        Ok(old)
    }

    /// Atomically stores `new` in the aligned `u16` at `offset` if it holds
    /// `current`; returns the value found (equal to `current` on success).
    fn compare_exchange_u16(
        &mut self,
        gfn: u64,
        offset: usize,
        current: u16,
        new: u16,
    ) -> Result<u16, MemError> {
        let old = self.read_u16(gfn, offset)?;
        if old == current {
            self.write_u16(gfn, offset, new)?;
        }
        Ok(old)
    }

    /// A full memory barrier between the accesses before and after it
    /// (`xen_mb()`); the rings' ordering rules (`xen/include/public/io/ring.h`)
    /// call for it between a producer index and the event index.
    fn fence(&mut self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }

    /// Reads a little-endian `u16`.
    fn read_u16(&mut self, gfn: u64, offset: usize) -> Result<u16, MemError> {
        let mut b = [0u8; 2];
        self.read(gfn, offset, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Reads a little-endian `u32`.
    fn read_u32(&mut self, gfn: u64, offset: usize) -> Result<u32, MemError> {
        let mut b = [0u8; 4];
        self.read(gfn, offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Reads a little-endian `u64`.
    fn read_u64(&mut self, gfn: u64, offset: usize) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read(gfn, offset, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes a little-endian `u16`.
    fn write_u16(&mut self, gfn: u64, offset: usize, v: u16) -> Result<(), MemError> {
        self.write(gfn, offset, &v.to_le_bytes())
    }

    /// Writes a little-endian `u32`.
    fn write_u32(&mut self, gfn: u64, offset: usize, v: u32) -> Result<(), MemError> {
        self.write(gfn, offset, &v.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    fn write_u64(&mut self, gfn: u64, offset: usize, v: u64) -> Result<(), MemError> {
        self.write(gfn, offset, &v.to_le_bytes())
    }
}

/// Frames in host memory, allocated on first write (reads of a frame never
/// written see zeros). For tests and for frontends run on the host.
#[derive(Clone, Debug, Default)]
pub struct HostPages {
    frames: alloc::collections::BTreeMap<u64, alloc::boxed::Box<[u8; XEN_PAGE_SIZE]>>,
}

impl HostPages {
    /// No frames yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn frame(&mut self, gfn: u64) -> &mut [u8; XEN_PAGE_SIZE] {
        self.frames
            .entry(gfn)
            .or_insert_with(|| alloc::boxed::Box::new([0; XEN_PAGE_SIZE]))
    }
}

impl GuestPages for HostPages {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
        check_range(gfn, offset, buf.len())?;
        match self.frames.get(&gfn) {
            Some(f) => buf.copy_from_slice(&f[offset..offset + buf.len()]),
            None => buf.fill(0),
        }
        Ok(())
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError> {
        check_range(gfn, offset, data.len())?;
        self.frame(gfn)[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_stay_in_their_page() {
        let mut m = HostPages::new();
        m.write_u32(3, 4092, 7).unwrap();
        assert_eq!(m.read_u32(3, 4092).unwrap(), 7);
        assert_eq!(
            m.write_u32(3, 4093, 7),
            Err(MemError {
                gfn: 3,
                offset: 4093
            })
        );
        assert!(m.read(3, usize::MAX, &mut [0u8; 2]).is_err());
        assert_eq!(m.fetch_or_u64(3, 8, 0b101).unwrap(), 0);
        assert_eq!(m.fetch_and_u64(3, 8, !1).unwrap(), 0b101);
        assert_eq!(m.swap_u64(3, 8, 9).unwrap(), 0b100);
        assert_eq!(m.compare_exchange_u16(3, 8, 1, 2).unwrap(), 9);
        assert_eq!(m.compare_exchange_u16(3, 8, 9, 2).unwrap(), 9);
        assert_eq!(m.read_u64(3, 8).unwrap(), 2);
    }
}
