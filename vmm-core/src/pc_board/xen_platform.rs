//! The Xen PV-on-HVM interface on the PC board ([`super::DeviceSet::LegacyPcWithXen`]):
//! the Xen platform PCI device at 03.0 (`device_model::pci`'s
//! `xen_platform_config`), its unplug/log ports 10h-1Fh and BAR0
//! (`device_model::xen_platform`), its INTA# on GSI
//! [`pc_layout::irqs::XEN_PLATFORM`], and what the board does with the
//! guest's unplug request. See notes/xen-abi.md §8 and §5.3 (c).
//!
//! As firmware would leave it (SeaBIOS on QEMU's i440FX does the same for
//! the device in slot 3): BAR0 at [`pc_layout::ports::XEN_PLATFORM_IO`],
//! BAR1 at [`pc_layout::memory::XEN_PLATFORM_MMIO`], Interrupt Line 11,
//! PIIX3 PIRQC# (which slot 3's INTA# reaches on the i440FX board's
//! rotating wiring, PIRQ = (slot + pin - 2) mod 4) routed to IRQ 11, and
//! IRQ 11 level-triggered in the ELCR, as a shared PCI line must be (PIIX3
//! datasheet, ELCR2). The board drives GSI 11 straight from the device.
//!
//! BAR1 gets no MMIO device: the hypervisor maps grant frames into it, and
//! a read of a page it has not mapped reads all ones as unclaimed MMIO.

use super::PcBoard;
use crate::pc_board::irq_routing::IrqRouter;
use crate::pc_board::legacy_devices::LegacyDevices;
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::{Ref, RefCell};
use device_model::bus::{PortConflict, PortIoBus};
use device_model::ide::IdeController;
use device_model::pci::PciBus;
use device_model::pic8259::ELCR2;
use device_model::rate_limit::RateLimit;
use device_model::xen_platform::{
    product_name, GuestLogSink, XenPlatform, XenPlatformBarPorts, XenUnplugPorts,
    UNPLUG_AUX_IDE_DISKS, UNPLUG_IDE_DISKS,
};
use pc_layout::{irqs, memory, ports};

/// PIIX3 PIRQC#: where INTA# of device 3 arrives.
const XEN_PLATFORM_PIRQ: usize = 2;
/// The IDE positions (channel, slave) an unplug of all IDE disks covers.
const ALL_IDE_POSITIONS: [(usize, bool); 4] = [(0, false), (0, true), (1, false), (1, true)];

/// Guest driver log lines go to the hypervisor's log.
struct HypervisorLog;

impl GuestLogSink for HypervisorLog {
    fn log_line(&mut self, line: &str) {
        log::info!("xen platform: guest: {line}");
    }
}

/// What [`PcBoard::honour_unplug`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnplugOutcome {
    /// IDE hard disks taken off the bus (CD-ROM drives always stay).
    pub disks_detached: u8,
    /// The guest asked for its IDE disks to go and they stayed: no PV block
    /// backend serves them, and a guest must never lose a disk.
    pub disks_refused: bool,
}

/// The board's Xen platform device and its glue.
pub struct XenPlatformWiring {
    pub device: Rc<RefCell<XenPlatform>>,
    /// Where BAR0's ports are on the bus now.
    io_at: Option<u16>,
    /// The BAR0 base last acted on (a refused move is not retried every exit).
    io_seen: Option<u16>,
    relocation_warnings: RateLimit,
    /// The refused-unplug line is logged once per power-on.
    refusal_logged: bool,
}

impl XenPlatformWiring {
    /// Puts the platform device on `legacy`'s PCI bus, its ports on `bus`,
    /// and sets up IRQ 11 as firmware would (module documentation).
    pub fn new(bus: &mut PortIoBus, legacy: &LegacyDevices) -> Result<Self, PortConflict> {
        let device = Rc::new(RefCell::new(XenPlatform::new(Box::new(HypervisorLog))));
        {
            let mut pci = legacy.pci.borrow_mut();
            if let Err(e) = pci.add_xen_platform() {
                log::error!("xen platform: no PCI slot: {e:?}");
            }
            pci.set_pirq_route(XEN_PLATFORM_PIRQ, Some(irqs::XEN_PLATFORM));
        }
        {
            let mut pic = legacy.pic.borrow_mut();
            let elcr2 = pic.read_port(ELCR2);
            pic.write_port(ELCR2, elcr2 | 1 << (irqs::XEN_PLATFORM - 8));
        }
        bus.register(
            ports::XEN_UNPLUG,
            ports::XEN_UNPLUG_COUNT,
            Box::new(XenUnplugPorts(device.clone())),
        )?;
        let io_at = legacy.pci.borrow().xen_platform_io_base();
        if let Some(base) = io_at {
            bus.register(
                base,
                ports::XEN_PLATFORM_IO_SIZE,
                Box::new(XenPlatformBarPorts(device.clone())),
            )?;
        }
        Ok(Self {
            device,
            io_at,
            io_seen: io_at,
            relocation_warnings: RateLimit::new(20, 10_000),
            refusal_logged: false,
        })
    }

    /// Moves BAR0's ports when the guest reprograms the BAR (or turns I/O
    /// decoding off or on), as the IDE bus-master registers move.
    pub fn service(&mut self, bus: &mut PortIoBus, pci: &RefCell<PciBus>) {
        let wanted = pci.borrow().xen_platform_io_base();
        if wanted == self.io_seen {
            return;
        }
        self.io_seen = wanted;
        if let Some(old) = self.io_at.take() {
            bus.unregister(old);
        }
        let Some(base) = wanted else {
            return;
        };
        let ports = Box::new(XenPlatformBarPorts(self.device.clone()));
        match bus.register(base, ports::XEN_PLATFORM_IO_SIZE, ports) {
            Ok(()) => self.io_at = Some(base),
            Err(_) => {
                if self.relocation_warnings.allow() {
                    log::warn!("xen platform: BAR0 cannot move to {base:#x}: ports taken");
                }
            }
        }
    }

    /// Drives GSI 11 with INTA#: the event-channel upcall level, unless the
    /// guest set Interrupt Disable.
    pub fn poll(&self, router: &IrqRouter, pci: &RefCell<PciBus>) {
        let level = self.device.borrow().intx_level() && pci.borrow().xen_platform_intx_enabled();
        router.set_level(irqs::XEN_PLATFORM, level);
    }

    /// Acts on the disk bits of `mask` (module documentation of
    /// [`PcBoard::honour_unplug`]).
    fn unplug_disks(
        &mut self,
        mask: u16,
        pv_disks_served: bool,
        ide: &RefCell<IdeController>,
    ) -> UnplugOutcome {
        let mut outcome = UnplugOutcome::default();
        // Bit 0 takes every IDE disk; bit 2 alone all but the primary master.
        let positions: &[(usize, bool)] = if mask & UNPLUG_IDE_DISKS != 0 {
            &ALL_IDE_POSITIONS
        } else if mask & UNPLUG_AUX_IDE_DISKS != 0 {
            &ALL_IDE_POSITIONS[1..]
        } else {
            return outcome;
        };
        if !pv_disks_served {
            outcome.disks_refused = true;
            if !self.refusal_logged {
                self.refusal_logged = true;
                log::warn!(
                    "xen platform: the guest asked to unplug the emulated IDE disks \
                     (mask {mask:#06x}); not honoured: no PV block backend serves the disk"
                );
            }
            return outcome;
        }
        let mut ide = ide.borrow_mut();
        for &(channel, slave) in positions {
            outcome.disks_detached += u8::from(ide.detach_disk(channel, slave));
        }
        outcome
    }
}

impl PcBoard {
    /// The unplug mask the guest wrote to port 10h since the last call, if
    /// any (notes/xen-abi.md §8). The hypervisor takes it after the guest's
    /// port writes and passes it to [`PcBoard::honour_unplug`].
    pub fn take_unplug_request(&mut self) -> Option<u16> {
        let xen = self.xen.as_ref()?;
        let mask = xen.device.borrow_mut().take_unplug_request()?;
        let identity = xen.device.borrow().identity();
        log::info!(
            "xen platform: unplug {mask:#06x} requested by product {:?} ({}), build {:?}",
            identity.product,
            identity.product.and_then(product_name).unwrap_or("unknown"),
            identity.build
        );
        Some(mask)
    }

    /// Carries out what it can of an unplug `mask` (bit 0 all IDE disks, bit
    /// 2 all but the primary master, never CD-ROM drives; bit 1 NICs and
    /// bit 3 NVMe disks, which this board does not have). The disks go only
    /// when `pv_disks_served`: the PV block backend serves them to the
    /// guest's blkfront, so the guest does not see the same disk twice and
    /// never loses one. Call it as soon as the request is taken: Linux
    /// writes it in `xen_unplug_emulated_devices`, long before its ATA
    /// driver probes. Without PV disks the request is refused and logged once.
    pub fn honour_unplug(&mut self, mask: u16, pv_disks_served: bool) -> UnplugOutcome {
        match (self.xen.as_mut(), self.legacy.as_ref()) {
            (Some(xen), Some(d)) => xen.unplug_disks(mask, pv_disks_served, &d.ide),
            _ => UnplugOutcome::default(),
        }
    }

    /// Whether an emulated IDE hard disk is on the bus (before the guest's
    /// unplug, or again after a reset put the media back).
    pub fn has_ide_disk(&self) -> bool {
        self.legacy.as_ref().is_some_and(|d| {
            let ide = d.ide.borrow();
            (0..2).any(|ch| ide.has_disk(ch, false) || ide.has_disk(ch, true))
        })
    }

    /// The event-channel upcall of a guest with no vector callback: the
    /// hypervisor holds it `pending` while vCPU 0's `evtchn_upcall_pending`
    /// is set, and the platform device's INTA# (GSI 11) follows at once.
    /// Without the platform device this does nothing.
    pub fn set_xen_event_pending(&mut self, pending: bool) {
        let (Some(xen), Some(d)) = (self.xen.as_ref(), self.legacy.as_ref()) else {
            return;
        };
        xen.device.borrow_mut().set_event_pending(pending);
        xen.poll(&self.irqs, &d.pci);
    }

    /// The platform device, for what the guest identified itself as.
    pub fn xen_platform(&self) -> Option<Ref<'_, XenPlatform>> {
        self.xen.as_ref().map(|x| x.device.borrow())
    }

    /// Where grant frames may be mapped: BAR1's base and size as the guest
    /// has it programmed now (the firmware's [`memory::XEN_PLATFORM_MMIO`]
    /// unless moved), or `None` without the device or with memory decoding
    /// off.
    pub fn xen_grant_space(&self) -> Option<(u64, u64)> {
        self.xen.as_ref()?;
        let base = self
            .legacy
            .as_ref()?
            .pci
            .borrow()
            .xen_platform_mmio_base()?;
        Some((u64::from(base), memory::XEN_PLATFORM_MMIO_SIZE))
    }

    /// Bytes typed for the PV console (`console_input = hvc0`) since the
    /// last call, oldest first, for the console backend to put in the
    /// ring's `in[]`.
    pub fn take_hvc_input(&mut self) -> alloc::vec::Vec<u8> {
        self.hvc_backlog.take_all()
    }
}

#[cfg(test)]
mod tests;
