//! A byte-addressed [`BlockBackend`] over a device that moves whole 512-byte
//! sectors: the host's virtio-blk disk (Virtio 1.2, section 5.2 "Block
//! Device": requests address 512-byte sectors whatever the device's
//! `blk_size`, section 5.2.6).
//!
//! [`SectorMedium`] does the logic that is the same for every such device,
//! and is tested here on the host: the bounds check (no guest request
//! reaches outside its image, whatever its offset and length, with no
//! arithmetic overflow), splitting a request into device requests of at most
//! [`MAX_REQUEST_BYTES`], read-modify-write of a partial first or last
//! sector, the read-only check before any device access, and passing the
//! device's failures on as [`BlockError`]s, never as success.

use crate::{BlockBackend, BlockError};
use alloc::vec;
use core::cell::RefCell;

/// The sector size of virtio-blk requests (Virtio 1.2, 5.2.6: "sector" is
/// always 512 bytes).
pub const SECTOR_SIZE: u64 = 512;

/// The most bytes one device request carries. The virtio-blk device takes a
/// request's data in one descriptor (QEMU sets no `size_max`, Virtio 1.2,
/// 5.2.3); 256 KiB holds a Linux guest's usual IDE DMA command or blkif
/// request whole, so each costs the host one request, while the buffers
/// the hypervisor holds per request stay bounded.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// A device moving whole sectors synchronously.
pub trait SectorDevice {
    /// Capacity in 512-byte sectors.
    fn sectors(&self) -> u64;
    /// True when the device refuses writes (virtio `VIRTIO_BLK_F_RO`).
    fn read_only(&self) -> bool;
    /// True when the device has a volatile write cache that
    /// [`Self::flush`] empties (virtio `VIRTIO_BLK_F_FLUSH` negotiated).
    fn has_write_cache(&self) -> bool;
    /// Reads `buf.len() / 512` sectors from `lba`; `buf.len()` is a non-zero
    /// multiple of 512, at most [`MAX_REQUEST_BYTES`], inside the device.
    fn read_sectors(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `data` (same rules as [`Self::read_sectors`]) at `lba`.
    fn write_sectors(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError>;
    /// Returns once every completed write is durable.
    fn flush(&mut self) -> Result<(), BlockError>;
}

/// A [`SectorDevice`] as a byte-addressed medium. `read_only` adds the
/// guest-side write protection of a medium (a CD-ROM) to the device's own.
pub struct SectorMedium<D: SectorDevice> {
    device: RefCell<D>,
    read_only: bool,
}

impl<D: SectorDevice> SectorMedium<D> {
    /// The medium over `device`; `read_only` refuses writes even when the
    /// device would take them.
    pub fn new(device: D, read_only: bool) -> Self {
        let read_only = read_only || device.read_only();
        Self {
            device: RefCell::new(device),
            read_only,
        }
    }

    /// `offset..offset + len` if it lies inside the medium.
    fn check(&self, offset: u64, len: usize) -> Result<(), BlockError> {
        let end = offset
            .checked_add(len as u64)
            .ok_or(BlockError::OutOfRange)?;
        if end > self.len() {
            return Err(BlockError::OutOfRange);
        }
        Ok(())
    }
}

/// The device requests covering `offset..offset + len`: (first sector,
/// byte offset into that sector, bytes of the request's data) per request,
/// each at most [`MAX_REQUEST_BYTES`] of whole sectors.
pub(crate) fn split(offset: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut pos = offset;
    let end = offset + len as u64;
    core::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let lba = pos / SECTOR_SIZE;
        let skip = (pos % SECTOR_SIZE) as usize;
        let room = MAX_REQUEST_BYTES - skip;
        let n = ((end - pos) as usize).min(room);
        pos += n as u64;
        Some((lba, skip, n))
    })
}

/// Whole sectors holding `skip + n` bytes.
fn sectors_for(skip: usize, n: usize) -> usize {
    (skip + n).div_ceil(SECTOR_SIZE as usize) * SECTOR_SIZE as usize
}

impl<D: SectorDevice> BlockBackend for SectorMedium<D> {
    fn len(&self) -> u64 {
        self.device.borrow().sectors().saturating_mul(SECTOR_SIZE)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.check(offset, buf.len())?;
        let mut device = self.device.borrow_mut();
        let mut done = 0;
        let mut bounce = vec![];
        for (lba, skip, n) in split(offset, buf.len()) {
            let whole = sectors_for(skip, n);
            let out = &mut buf[done..done + n];
            if skip == 0 && whole == n {
                device.read_sectors(lba, out)?;
            } else {
                bounce.resize(whole, 0);
                device.read_sectors(lba, &mut bounce)?;
                out.copy_from_slice(&bounce[skip..skip + n]);
            }
            done += n;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        self.check(offset, data.len())?;
        let device = self.device.get_mut();
        let mut done = 0;
        let mut bounce = vec![];
        for (lba, skip, n) in split(offset, data.len()) {
            let whole = sectors_for(skip, n);
            let part = &data[done..done + n];
            if skip == 0 && whole == n {
                device.write_sectors(lba, part)?;
            } else {
                // A partial sector: read it, change the guest's bytes, write
                // it back.
                bounce.resize(whole, 0);
                device.read_sectors(lba, &mut bounce)?;
                bounce[skip..skip + n].copy_from_slice(part);
                device.write_sectors(lba, &bounce)?;
            }
            done += n;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        if self.read_only {
            return Ok(());
        }
        self.device.get_mut().flush()
    }

    fn has_write_cache(&self) -> bool {
        !self.read_only && self.device.borrow().has_write_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A device in a vector that records its requests and fails on demand.
    struct FakeDevice {
        data: Vec<u8>,
        read_only: bool,
        requests: Vec<(char, u64, usize)>,
        fail_at: Option<(u64, BlockError)>,
        flushes: usize,
    }

    impl FakeDevice {
        fn new(sectors: usize) -> Self {
            Self {
                data: (0..sectors * 512).map(|i| (i * 7 % 251) as u8).collect(),
                read_only: false,
                requests: Vec::new(),
                fail_at: None,
                flushes: 0,
            }
        }
        fn request(&mut self, kind: char, lba: u64, len: usize) -> Result<usize, BlockError> {
            assert!(len > 0 && len.is_multiple_of(512) && len <= MAX_REQUEST_BYTES);
            let start = (lba * 512) as usize;
            assert!(start + len <= self.data.len(), "request outside the device");
            self.requests.push((kind, lba, len));
            match self.fail_at {
                Some((bad, e)) if (lba..lba + (len / 512) as u64).contains(&bad) => Err(e),
                _ => Ok(start),
            }
        }
    }

    impl SectorDevice for FakeDevice {
        fn sectors(&self) -> u64 {
            self.data.len() as u64 / 512
        }
        fn read_only(&self) -> bool {
            self.read_only
        }
        fn has_write_cache(&self) -> bool {
            true
        }
        fn read_sectors(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
            let start = self.request('r', lba, buf.len())?;
            buf.copy_from_slice(&self.data[start..start + buf.len()]);
            Ok(())
        }
        fn write_sectors(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
            let start = self.request('w', lba, data.len())?;
            self.data[start..start + data.len()].copy_from_slice(data);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), BlockError> {
            self.flushes += 1;
            Ok(())
        }
    }

    /// Sectors in the largest device request.
    const PIECE_SECTORS: u64 = (MAX_REQUEST_BYTES / 512) as u64;

    #[test]
    fn aligned_requests_go_to_the_device_whole_or_in_pieces_of_the_largest_size() {
        let mut m = SectorMedium::new(FakeDevice::new(4 * PIECE_SECTORS as usize), false);
        let data = vec![0xAB; 3 * MAX_REQUEST_BYTES + 8192];
        m.write_at(4096, &data).unwrap();
        let reqs = m.device.borrow().requests.clone();
        let p = PIECE_SECTORS;
        assert_eq!(
            reqs.as_slice(),
            [
                ('w', 8, MAX_REQUEST_BYTES),
                ('w', 8 + p, MAX_REQUEST_BYTES),
                ('w', 8 + 2 * p, MAX_REQUEST_BYTES),
                ('w', 8 + 3 * p, 8192)
            ]
        );
        let mut back = vec![0; data.len()];
        m.read_at(4096, &mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_partial_sector_write_keeps_the_rest_of_the_sector() {
        let mut m = SectorMedium::new(FakeDevice::new(8), false);
        let before = m.device.borrow().data.clone();
        m.write_at(510, &[1, 2, 3, 4]).unwrap();
        let after = m.device.borrow().data.clone();
        assert_eq!(&after[510..514], &[1, 2, 3, 4]);
        assert_eq!(&after[..510], &before[..510]);
        assert_eq!(&after[514..], &before[514..]);
        let mut b = [0u8; 6];
        m.read_at(509, &mut b).unwrap();
        assert_eq!(b, [before[509], 1, 2, 3, 4, before[514]]);
    }

    #[test]
    fn every_unaligned_request_matches_a_plain_byte_copy() {
        let mut rng = test_rng::XorShift::per_run(
            "every_unaligned_request_matches_a_plain_byte_copy",
            0x5ec7,
        );
        let mut m = SectorMedium::new(FakeDevice::new(300), false);
        let mut model = m.device.borrow().data.clone();
        for _ in 0..300 {
            let off = rng.below(model.len() as u64);
            let len = rng.below((model.len() as u64 - off).min(150_000) + 1) as usize;
            if rng.below(2) == 0 {
                let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                m.write_at(off, &data).unwrap();
                model[off as usize..off as usize + len].copy_from_slice(&data);
            } else {
                let mut buf = vec![0; len];
                m.read_at(off, &mut buf).unwrap();
                assert_eq!(buf, model[off as usize..off as usize + len]);
            }
        }
        assert_eq!(m.device.borrow().data, model);
    }

    #[test]
    fn requests_outside_the_image_never_reach_the_device() {
        let mut m = SectorMedium::new(FakeDevice::new(8), false);
        let mut buf = [0u8; 2];
        assert_eq!(m.read_at(4095, &mut buf), Err(BlockError::OutOfRange));
        assert_eq!(m.read_at(u64::MAX, &mut buf), Err(BlockError::OutOfRange));
        assert_eq!(m.write_at(u64::MAX - 1, &buf), Err(BlockError::OutOfRange));
        assert_eq!(m.write_at(4096, &[1]), Err(BlockError::OutOfRange));
        assert!(m.device.borrow().requests.is_empty());
        assert_eq!(m.read_at(4096, &mut []), Ok(()));
    }

    #[test]
    fn read_only_media_refuse_writes_before_the_device_sees_them() {
        let mut m = SectorMedium::new(FakeDevice::new(8), true);
        assert_eq!(m.write_at(0, &[1; 512]), Err(BlockError::ReadOnly));
        let mut dev = FakeDevice::new(8);
        dev.read_only = true;
        let mut m2 = SectorMedium::new(dev, false);
        assert!(m2.read_only());
        assert_eq!(m2.write_at(0, &[1; 512]), Err(BlockError::ReadOnly));
        assert!(m.device.borrow().requests.is_empty());
        assert!(m2.device.borrow().requests.is_empty());
        assert!(!m2.has_write_cache());
    }

    #[test]
    fn device_errors_reach_the_caller_and_stop_the_request() {
        let failing = PIECE_SECTORS + 72;
        let mut dev = FakeDevice::new(4 * PIECE_SECTORS as usize);
        dev.fail_at = Some((failing, BlockError::Io));
        let mut m = SectorMedium::new(dev, false);
        let mut buf = vec![0u8; 3 * MAX_REQUEST_BYTES];
        assert_eq!(m.read_at(0, &mut buf), Err(BlockError::Io));
        // The request past the failing one was never sent.
        assert_eq!(m.device.borrow().requests.len(), 2);
        assert_eq!(m.write_at(failing * 512 + 3, &[1]), Err(BlockError::Io));
        m.device.get_mut().fail_at = Some((0, BlockError::Unsupported));
        assert_eq!(m.write_at(0, &[0; 512]), Err(BlockError::Unsupported));
    }

    #[test]
    fn flush_reaches_the_device() {
        let mut m = SectorMedium::new(FakeDevice::new(8), false);
        assert!(m.has_write_cache());
        m.flush().unwrap();
        assert_eq!(m.device.borrow().flushes, 1);
    }
}
