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
//! Requests are asynchronous: `VirtioDisk` is a
//! [`block_backend::QueueDevice`], so `block_backend::SectorQueue` keeps as
//! many on the device at once as its virtqueue holds (16 descriptors, three
//! per request: Virtio 1.2, 2.7 "Split Virtqueues", 5.2.6), each added with
//! the driver's non-blocking calls and
//! found finished by polling the used ring (`peek_used`) on the run loop's
//! exits, on the host tick and while the guest is halted; the device's
//! interrupts stay off (2.7.10, `VIRTQ_AVAIL_F_NO_INTERRUPT`), so no host
//! interrupt needs routing. The request memory (header, data, status)
//! belongs to `arch::virtio_hal::InFlight` from submission to completion.
//!
//! `virtio-drivers` 0.13 has no non-blocking flush: a flush is sent with
//! its blocking `flush()` once no other request is on the device (the
//! blocking call takes the first used entry as its own), which
//! `SectorQueue` guarantees by holding a flush, and what comes after it,
//! until the device is idle. The flush covers every write completed before
//! it (5.2.6.2); the hypervisor waits for the host's fdatasync meanwhile.
//!
//! This file holds what is logic and runs on the host: the mapping from
//! the driver's errors to [`BlockError`] (never success); `arch::host_virtio`
//! has the device (`VirtioDisk`), whose request memory only the bare-metal
//! build can hand to a device. `block_backend::QueueStats` counts what the
//! queue did (`--stats`).

use block_backend::BlockError;

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
