//! The guest's disks on the host's own virtio-blk devices (Virtio 1.2,
//! section 5.2 "Block Device"; section 4.1 "Virtio Over PCI Bus" for the
//! modern transport): what the guest writes through IDE, ATAPI or INT 13h
//! reaches the image file the runner attached to QEMU.
//!
//! The driver is the `virtio-drivers` crate (rcore-os, MIT, `no_std`, used
//! by Android's pVM firmware and several research kernels), not queues
//! written here: it implements the split virtqueue (Virtio 1.2, 2.7) with
//! its memory barriers, feature negotiation (3.1.1) and the modern PCI
//! capability walk (4.1.4), is maintained and fuzzed by others, and needs
//! from us only a [`virtio_drivers::Hal`] (DMA memory and address
//! translation, `arch/virtio_hal.rs`) and PCI configuration access.
//!
//! Requests are synchronous for now: each one is added to the queue, the
//! device is notified and the hypervisor polls the used ring until the
//! device completes it (the device's interrupts stay off). This file holds
//! what is logic and runs on the host: the mapping from the driver's errors
//! to [`BlockError`] (never success), and [`VirtioDisk`], the
//! [`SectorDevice`] that `block_backend::SectorMedium` turns into a guest
//! medium (bounds, request splitting, partial sectors).

use block_backend::{BlockError, SectorDevice};
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::Transport;
use virtio_drivers::Hal;

/// `VIRTIO_BLK_F_FLUSH` (Virtio 1.2, 5.2.3 "Feature bits"): the device has
/// a volatile write cache that `VIRTIO_BLK_T_FLUSH` empties.
pub const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;
/// `VIRTIO_BLK_F_RO` (5.2.3): the device is read-only.
pub const VIRTIO_BLK_F_RO: u64 = 1 << 5;

/// Logged when a host virtio-blk device first completes a flush.
pub const FIRST_FLUSH_LOG: &str =
    "host virtio-blk: the guest's first flush completed on the host (VIRTIO_BLK_T_FLUSH)";

/// What a failed request means for the guest. The device's own statuses
/// (5.2.6: `VIRTIO_BLK_S_IOERR`, `VIRTIO_BLK_S_UNSUPP`) become the medium
/// errors the emulated devices report; a driver failure (queue full, DMA,
/// a device not ready) is an I/O error too: never success.
pub fn block_error(e: virtio_drivers::Error) -> BlockError {
    match e {
        virtio_drivers::Error::Unsupported => BlockError::Unsupported,
        _ => BlockError::Io,
    }
}

/// A host virtio-blk device as a [`SectorDevice`].
pub struct VirtioDisk<H: Hal, T: Transport> {
    blk: VirtIOBlk<H, T>,
    /// `VIRTIO_BLK_F_FLUSH` was offered, so negotiated: the driver asks for
    /// every feature it supports that the device offers (3.1.1), and it
    /// supports this one. Without it the device writes through (5.2.6.2).
    flush: bool,
    /// A flush has completed (logged once, so a run's log shows the
    /// guest's flushes reach the host).
    flushed: bool,
}

impl<H: Hal, T: Transport> VirtioDisk<H, T> {
    /// Initialises the device behind `transport` (status, features, the
    /// request queue, DRIVER_OK: Virtio 1.2, 3.1.1) with its interrupts
    /// off: completions are polled.
    pub fn new(mut transport: T) -> Result<Self, virtio_drivers::Error> {
        let offered = transport.read_device_features();
        let mut blk = VirtIOBlk::<H, T>::new(transport)?;
        blk.disable_interrupts();
        Ok(Self {
            blk,
            flush: offered & VIRTIO_BLK_F_FLUSH != 0,
            flushed: false,
        })
    }
}

impl<H: Hal, T: Transport> SectorDevice for VirtioDisk<H, T> {
    fn sectors(&self) -> u64 {
        self.blk.capacity()
    }

    fn read_only(&self) -> bool {
        self.blk.readonly()
    }

    fn has_write_cache(&self) -> bool {
        self.flush
    }

    fn read_sectors(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let lba = usize::try_from(lba).map_err(|_| BlockError::OutOfRange)?;
        self.blk.read_blocks(lba, buf).map_err(block_error)
    }

    fn write_sectors(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        let lba = usize::try_from(lba).map_err(|_| BlockError::OutOfRange)?;
        self.blk.write_blocks(lba, data).map_err(block_error)
    }

    /// `VIRTIO_BLK_T_FLUSH` (5.2.6), waited for; a device without the
    /// feature writes through, so there is nothing to wait for.
    fn flush(&mut self) -> Result<(), BlockError> {
        if !self.flush {
            return Ok(());
        }
        self.blk.flush().map_err(block_error)?;
        if !self.flushed {
            self.flushed = true;
            log::info!("{FIRST_FLUSH_LOG}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_statuses_become_medium_errors_never_success() {
        assert_eq!(block_error(virtio_drivers::Error::IoError), BlockError::Io);
        assert_eq!(
            block_error(virtio_drivers::Error::Unsupported),
            BlockError::Unsupported
        );
        for e in [
            virtio_drivers::Error::NotReady,
            virtio_drivers::Error::QueueFull,
            virtio_drivers::Error::DmaError,
            virtio_drivers::Error::WrongToken,
        ] {
            assert_eq!(block_error(e), BlockError::Io);
        }
    }
}
