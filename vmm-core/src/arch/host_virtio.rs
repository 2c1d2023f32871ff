//! Finding the host's virtio-blk functions on the PCI bus and starting
//! their driver (`crate::host_disk`).

use super::phys::IDENTITY_MAPPED_END;
use super::virtio_hal::{IdentityHal, PortCam};
use crate::guest_config::PciAddress;
use crate::host_disk::VirtioDisk;
use alloc::format;
use alloc::string::String;
use block_backend::SectorMedium;
use virtio_drivers::transport::pci::bus::ConfigurationAccess;
use virtio_drivers::transport::pci::bus::{BarInfo, Command, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::PciTransport;

/// The PCI vendor of virtio devices (Virtio 1.2, 4.1.2).
const VIRTIO_VENDOR: u16 = 0x1AF4;
/// The modern (non-transitional) virtio-blk PCI device ID: 1040h plus the
/// virtio device ID 2 (Virtio 1.2, 4.1.2.1 and 5 "Device Types").
const VIRTIO_BLK_MODERN: u16 = 0x1042;

/// A host virtio-blk disk as a guest medium.
pub type HostDisk = SectorMedium<VirtioDisk<IdentityHal, PciTransport>>;

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
    Ok(SectorMedium::new(disk, read_only))
}
