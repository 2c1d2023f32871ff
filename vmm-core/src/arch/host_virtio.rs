//! Finding the host's virtio-blk functions on the PCI bus, starting their
//! driver (`crate::host_disk` has the design) and [`VirtioDisk`], a device
//! as the [`QueueDevice`] a guest medium's `SectorQueue` drives.

use super::phys::IDENTITY_MAPPED_END;
use super::virtio_hal::InFlight;
use super::virtio_hal::{IdentityHal, PortCam};
use crate::guest_config::PciAddress;
use crate::host_disk::{block_error, FIRST_FLUSH_LOG, VIRTIO_BLK_F_FLUSH};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use block_backend::{BlockError, QueueDevice, SectorQueue};
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::pci::bus::ConfigurationAccess;
use virtio_drivers::transport::pci::bus::{BarInfo, Command, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::Transport;
use virtio_drivers::Hal;

/// The PCI vendor of virtio devices (Virtio 1.2, 4.1.2).
const VIRTIO_VENDOR: u16 = 0x1AF4;
/// The modern (non-transitional) virtio-blk PCI device ID: 1040h plus the
/// virtio device ID 2 (Virtio 1.2, 4.1.2.1 and 5 "Device Types").
const VIRTIO_BLK_MODERN: u16 = 0x1042;

/// A host virtio-blk disk as a guest medium.
pub type HostDisk = SectorQueue<VirtioDisk<IdentityHal, PciTransport>>;

/// Starts the driver of the virtio-blk function at `addr`; `read_only`
/// refuses the guest's writes whatever the device allows.
pub fn open(addr: PciAddress, read_only: bool) -> Result<HostDisk, String> {
    let f = DeviceFunction {
        bus: addr.bus,
        device: addr.device,
        function: addr.function,
    };
    let at = format!("{:02x}:{:02x}.{}", addr.bus, addr.device, addr.function);
    let id = PortCam.read_word(f, 0);
    let (vendor, device) = (id as u16, (id >> 16) as u16);
    if vendor != VIRTIO_VENDOR || device != VIRTIO_BLK_MODERN {
        return Err(format!(
            "host PCI {at} is {vendor:04x}:{device:04x}, not a modern virtio-blk device \
             ({VIRTIO_VENDOR:04x}:{VIRTIO_BLK_MODERN:04x}, QEMU's virtio-blk-pci,disable-legacy=on)"
        ));
    }
    let mut root = PciRoot::new(PortCam);
    let bars = root.bars(f).map_err(|e| format!("host PCI {at}: {e}"))?;
    for bar in bars.iter().flatten() {
        if let BarInfo::Memory { address, size, .. } = bar {
            if address.saturating_add(*size) > IDENTITY_MAPPED_END {
                return Err(format!(
                    "host PCI {at}: BAR at {address:#x} is above the 4 GiB the hypervisor maps"
                ));
            }
        }
    }
    // Memory decoding for the BARs, bus mastering for the queues, and no
    // INTx: completions are polled.
    let (_, command) = root.get_status_command(f);
    root.set_command(
        f,
        command | Command::MEMORY_SPACE | Command::BUS_MASTER | Command::INTERRUPT_DISABLE,
    );
    let transport = PciTransport::new::<IdentityHal, _>(&mut root, f)
        .map_err(|e| format!("host PCI {at}: {e}"))?;
    let disk = VirtioDisk::new(transport)
        .map_err(|e| format!("host PCI {at}: virtio-blk set-up failed: {e}"))?;
    Ok(SectorQueue::new(disk, read_only))
}

/// Descriptors one virtio-blk request takes in the split virtqueue without
/// indirect descriptors: the header, the data buffer and the status byte,
/// each its own descriptor (Virtio 1.2, 5.2.6).
const DESCRIPTORS_PER_REQUEST: usize = 3;

/// `VIRTIO_F_INDIRECT_DESC` (Virtio 1.2, 6 "Reserved Feature Bits"; 2.7.5.3
/// "Indirect Descriptors"): a request's descriptors may live in a table of
/// their own, so each takes one slot of the ring.
const VIRTIO_F_INDIRECT_DESC: u64 = 1 << 28;

/// A host virtio-blk device as a [`QueueDevice`].
pub struct VirtioDisk<H: Hal, T: Transport> {
    blk: VirtIOBlk<H, T>,
    requests: InFlight,
    /// `VIRTIO_BLK_F_FLUSH` was offered, so negotiated: the driver asks for
    /// every feature it supports that the device offers (3.1.1), and it
    /// supports this one. Without it the device writes through (5.2.6.2).
    flush: bool,
    /// A flush has completed (logged once, so a run's log shows the
    /// guest's flushes reach the host).
    flushed: bool,
    /// `VIRTIO_F_INDIRECT_DESC` was offered, so negotiated (the driver,
    /// built with `alloc`, supports it): one ring slot per request.
    indirect: bool,
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
            requests: InFlight::new(),
            flush: offered & VIRTIO_BLK_F_FLUSH != 0,
            indirect: offered & VIRTIO_F_INDIRECT_DESC != 0,
            flushed: false,
        })
    }
}

impl<H: Hal, T: Transport> QueueDevice for VirtioDisk<H, T> {
    fn sectors(&self) -> u64 {
        self.blk.capacity()
    }

    fn read_only(&self) -> bool {
        self.blk.readonly()
    }

    fn has_write_cache(&self) -> bool {
        self.flush
    }

    /// Requests that fit the virtqueue at once (a request the queue has no
    /// room for would fail with `QueueFull`): one per ring slot with
    /// indirect descriptors (QEMU offers them), else one per
    /// [`DESCRIPTORS_PER_REQUEST`] slots.
    fn slots(&self) -> usize {
        let size = usize::from(self.blk.virt_queue_size());
        if self.indirect {
            size
        } else {
            size / DESCRIPTORS_PER_REQUEST
        }
    }

    fn start_read(&mut self, lba: u64, sectors: usize) -> Result<u16, BlockError> {
        let lba = usize::try_from(lba).map_err(|_| BlockError::OutOfRange)?;
        let len = sectors.saturating_mul(block_backend::sector::SECTOR_SIZE as usize);
        let token = self.requests.start_read(&mut self.blk, lba, len);
        token.map_err(block_error)
    }

    fn start_write(&mut self, lba: u64, data: Vec<u8>) -> Result<u16, BlockError> {
        let lba = usize::try_from(lba).map_err(|_| BlockError::OutOfRange)?;
        let token = self.requests.start_write(&mut self.blk, lba, data);
        token.map_err(block_error)
    }

    fn finish(&mut self) -> Option<(u16, Result<Vec<u8>, BlockError>)> {
        if self.requests.is_empty() {
            return None;
        }
        let (token, result) = self.requests.finish(&mut self.blk)?;
        Some((token, result.map_err(block_error)))
    }

    /// `VIRTIO_BLK_T_FLUSH` (5.2.6), waited for, with nothing else on the
    /// device (see the module's note); a device without the feature writes
    /// through, so there is nothing to wait for.
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
