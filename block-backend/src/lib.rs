//! Storage behind the emulated disks and CD-ROMs: the [`BlockBackend`] trait
//! a medium implements, [`MemoryBlock`] (a medium held in memory) and
//! [`SharedBlock`] (one medium used by two parties, such as the IDE
//! controller and the BIOS), and [`SectorMedium`] (a byte-addressed medium
//! over a device that moves whole sectors, such as the host's virtio-blk
//! disk, see [`sector`]). The device model, the BIOS and the hypervisor all
//! take their media through this crate.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

pub mod queue;
pub mod sector;
pub mod sector_queue;
pub use queue::{BlockQueue, Completion, Immediate, Request, RequestId, SubmitError};
pub use sector::{SectorDevice, SectorMedium};
pub use sector_queue::{QueueDevice, QueueStats, SectorQueue};

/// Why a block access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// Past the end of the medium.
    OutOfRange,
    /// A write to read-only media.
    ReadOnly,
    /// The host device behind the medium failed the request (virtio-blk
    /// `VIRTIO_BLK_S_IOERR`, Virtio 1.2 section 5.2.6): the guest sees its
    /// device's medium error (ATA UNC, ATAPI MEDIUM ERROR, INT 13h AH=10h).
    Io,
    /// The host device does not do this request (`VIRTIO_BLK_S_UNSUPP`):
    /// the guest sees its command aborted (ATA ABRT).
    Unsupported,
}

/// A byte-addressed medium: an ISO, a disk image, a floppy image.
pub trait BlockBackend {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// True if the medium is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True for media that refuse writes (ISO images).
    fn read_only(&self) -> bool;
    /// Reads `buf.len()` bytes at `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `data` at `offset`.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError>;
    /// Makes every completed write durable: returns only once the medium
    /// says so (for a host disk, a completed `VIRTIO_BLK_T_FLUSH`). Media
    /// without a volatile cache (memory) have nothing to do.
    fn flush(&mut self) -> Result<(), BlockError> {
        Ok(())
    }
    /// True when writes may sit in a volatile cache until [`Self::flush`]
    /// (what ATA IDENTIFY word 85 bit 5 reports).
    fn has_write_cache(&self) -> bool {
        false
    }
    /// The medium's asynchronous side, when it has one (a host disk, see
    /// [`sector_queue`]): a caller that can wait for a completion (IDE
    /// bus-master DMA) submits there and polls; `None` for media that are
    /// synchronous anyway (memory), which the caller then uses directly.
    fn as_queue(&mut self) -> Option<&mut dyn BlockQueue> {
        None
    }
    /// The queue's counters, for a medium with one.
    fn queue_stats(&self) -> Option<QueueStats> {
        None
    }
}

/// A medium held in memory: a boot module on the hypervisor, a vector in tests.
pub struct MemoryBlock {
    data: Box<dyn AsMutBytes>,
    read_only: bool,
}

/// Byte storage a [`MemoryBlock`] can own.
pub trait AsMutBytes {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl AsMutBytes for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl AsMutBytes for &'static mut [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl MemoryBlock {
    /// A medium over `data`.
    pub fn new(data: impl AsMutBytes + 'static, read_only: bool) -> Self {
        Self {
            data: Box::new(data),
            read_only,
        }
    }

    fn range(&self, offset: u64, len: usize) -> Result<core::ops::Range<usize>, BlockError> {
        let end = offset
            .checked_add(len as u64)
            .ok_or(BlockError::OutOfRange)?;
        if end > self.len() {
            return Err(BlockError::OutOfRange);
        }
        Ok(offset as usize..end as usize)
    }
}

impl BlockBackend for MemoryBlock {
    fn len(&self) -> u64 {
        self.data.bytes().len() as u64
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let r = self.range(offset, buf.len())?;
        buf.copy_from_slice(&self.data.bytes()[r]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let r = self.range(offset, data.len())?;
        self.data.bytes_mut()[r].copy_from_slice(data);
        Ok(())
    }
}

/// A medium used by two parties at once (the IDE controller and the BIOS):
/// both see the same bytes.
#[derive(Clone)]
pub struct SharedBlock(pub alloc::rc::Rc<core::cell::RefCell<dyn BlockBackend>>);

impl SharedBlock {
    /// Shares `medium`.
    pub fn new(medium: impl BlockBackend + 'static) -> Self {
        Self(alloc::rc::Rc::new(core::cell::RefCell::new(medium)))
    }
}

impl BlockBackend for SharedBlock {
    fn len(&self) -> u64 {
        self.0.borrow().len()
    }

    fn read_only(&self) -> bool {
        self.0.borrow().read_only()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.0.borrow().read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        self.0.borrow_mut().write_at(offset, data)
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        self.0.borrow_mut().flush()
    }

    fn has_write_cache(&self) -> bool {
        self.0.borrow().has_write_cache()
    }

    fn queue_stats(&self) -> Option<QueueStats> {
        self.0.borrow().queue_stats()
    }

    fn as_queue(&mut self) -> Option<&mut dyn BlockQueue> {
        let queued = self.0.borrow_mut().as_queue().is_some();
        if queued {
            Some(self)
        } else {
            None
        }
    }
}

/// The shared medium's queue, for a holder that found one through
/// [`BlockBackend::as_queue`] (a medium without one answers every
/// submission `Full` and never completes: holders ask first).
impl BlockQueue for SharedBlock {
    fn len(&self) -> u64 {
        self.0.borrow().len()
    }

    fn read_only(&self) -> bool {
        self.0.borrow().read_only()
    }

    fn depth(&self) -> usize {
        self.0.borrow_mut().as_queue().map_or(1, |q| q.depth())
    }

    fn request_bytes(&self) -> usize {
        let mut medium = self.0.borrow_mut();
        medium
            .as_queue()
            .map_or(sector::MAX_REQUEST_BYTES, |q| q.request_bytes())
    }

    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError> {
        match self.0.borrow_mut().as_queue() {
            Some(q) => q.submit(request),
            None => Err(SubmitError::Full(request)),
        }
    }

    fn poll(&mut self) -> Option<Completion> {
        self.0.borrow_mut().as_queue().and_then(|q| q.poll())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn reads_and_writes_within_the_medium() {
        let mut b = MemoryBlock::new(vec![0u8; 1024], false);
        b.write_at(512, &[1, 2, 3]).unwrap();
        let mut buf = [0u8; 3];
        b.read_at(512, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
    }

    #[test]
    fn a_shared_medium_shows_writes_to_every_holder() {
        let mut a = SharedBlock::new(MemoryBlock::new(vec![0u8; 512], false));
        let b = a.clone();
        a.write_at(10, &[7]).unwrap();
        let mut buf = [0u8; 1];
        b.read_at(10, &mut buf).unwrap();
        assert_eq!(buf, [7]);
    }

    #[test]
    fn refuses_out_of_range_and_read_only_access() {
        let mut b = MemoryBlock::new(vec![0u8; 1024], true);
        let mut buf = [0u8; 4];
        assert_eq!(b.read_at(1022, &mut buf), Err(BlockError::OutOfRange));
        assert_eq!(b.read_at(u64::MAX, &mut buf), Err(BlockError::OutOfRange));
        assert_eq!(b.write_at(0, &[1]), Err(BlockError::ReadOnly));
    }
}
