//! What a device holds: a hard disk over a [`BlockBackend`] (its capacity,
//! CHS translation, multiple count, write cache and serial number) or an ATAPI
//! CD-ROM drive, and the sector geometry and error bits of disk accesses.

use super::registers::{ERROR_ABRT, ERROR_IDNF, ERROR_UNC};
use crate::atapi::AtapiDrive;
use alloc::boxed::Box;
use block_backend::{BlockBackend, BlockError};

/// Bytes in an ATA sector.
pub const SECTOR_SIZE: usize = 512;
/// Largest READ/WRITE MULTIPLE block (IDENTIFY word 47).
pub const MAX_MULTIPLE: u8 = 16;
/// Largest 48-bit LBA capacity.
pub(super) const MAX_LBA48: u64 = (1 << 48) - 1;
/// Default CHS translation: heads.
pub(super) const DEFAULT_HEADS: u8 = 16;
/// Default CHS translation: sectors per track.
pub(super) const DEFAULT_SPT: u8 = 63;

/// The medium of one device.
pub(super) enum Media {
    Disk(Disk),
    Cdrom(AtapiDrive),
}

/// A hard disk.
pub(super) struct Disk {
    pub(super) backend: Box<dyn BlockBackend>,
    /// Capacity in sectors.
    pub(super) sectors: u64,
    /// Sectors per READ/WRITE MULTIPLE block; 0 = multiple mode disabled.
    pub(super) multiple: u8,
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    pub(super) heads: u8,
    pub(super) sectors_per_track: u8,
    pub(super) write_cache: bool,
    pub(super) serial: [u8; 20],
}

impl Disk {
    /// Writes `data` at byte `offset`. With the write cache disabled (SET
    /// FEATURES 82h, IDENTIFY word 85 bit 5 clear; ATA/ATAPI-6, SET
    /// FEATURES) a write completes only once it is durable: the medium is
    /// flushed after it.
    pub(super) fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        self.backend.write_at(offset, data)?;
        if !self.write_cache {
            self.backend.flush()?;
        }
        Ok(())
    }
}

/// The Error register bits for a failed backend access (ATA/ATAPI-6, Error
/// field): IDNF for an address past the medium, ABRT for a write to
/// read-only media or a request the host device refused (virtio `UNSUPP`),
/// UNC for the host device's I/O error (virtio `IOERR`): never success.
pub(super) fn media_error(e: BlockError) -> u8 {
    match e {
        BlockError::OutOfRange => ERROR_IDNF,
        BlockError::ReadOnly | BlockError::Unsupported => ERROR_ABRT,
        BlockError::Io => ERROR_UNC,
    }
}
