//! A domain's board: the devices it has (a PC/AT's legacy set, or none for a
//! guest that uses only paravirtual devices), the interrupt routing between
//! them and the vCPU, where typed input goes, and what a system reset does to
//! them. Ports, IRQs and addresses come from one table, the `pc_layout` crate.
//! The Xen PV-on-HVM interface (the platform PCI device, its unplug ports
//! and interrupt, the PV console's typed input) is in `xen_platform`.

mod apic;
mod console;
mod irq_routing;
mod legacy_devices;
mod xen_platform;

pub use apic::{io_apic_id, isa_irq_pin, ApicDevices};
pub use console::{ConsoleInput, ConsoleTargets};
pub use irq_routing::{IrqRouter, GSI_COUNT};
pub use legacy_devices::LegacyDevices;
pub use xen_platform::{UnplugOutcome, XenPlatformWiring};

use crate::guest_memory::GuestMemory;
use crate::interrupts::InterruptController;
use alloc::boxed::Box;
use alloc::rc::Rc;
use block_backend::BlockBackend;
use console::{InputBacklog, SharedSink};
use core::cell::Ref;
use device_model::bus::{PortConflict, PortIoBus};
use device_model::pic8259::PicRegisters;
use device_model::reset::ResetSource;
use device_model::vga_text::VgaText;
use device_model::{ByteSink, Clock};

/// Which device sets a board has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSet {
    /// The PC/AT: 8259 pair, 8254, RTC/CMOS, i8042, four UARTs, POST port,
    /// PCI (i440FX/PIIX3) with IDE, VGA text.
    LegacyPc,
    /// The PC/AT plus the Xen PV-on-HVM interface: the Xen platform PCI
    /// device at 03.0 with its unplug/log ports 10h-1Fh and INTA# on IRQ 11.
    LegacyPcWithXen,
    /// No emulated devices (a PVH guest): unclaimed ports read all ones.
    None,
}

/// One domain's board.
pub struct PcBoard {
    /// The PC/AT devices, when the board has them.
    pub legacy: Option<LegacyDevices>,
    /// The Xen platform device, on a [`DeviceSet::LegacyPcWithXen`] board.
    pub xen: Option<XenPlatformWiring>,
    /// The modern PC's local APIC, I/O APIC and ACPI PM registers, on a
    /// board given them ([`PcBoard::add_apic`]).
    pub apic: Option<ApicDevices>,
    pub irqs: IrqRouter,
    clock: Rc<dyn Clock>,
    pub console_input: ConsoleInput,
    serial_backlog: InputBacklog,
    /// Typed bytes for the PV console, until its backend takes them.
    hvc_backlog: InputBacklog,
    /// What [`PcBoard::reset`] builds the board again from.
    devices: DeviceSet,
    console: SharedSink,
    ram_bytes: u64,
}

impl PcBoard {
    /// Builds a board with `devices`, placed on `bus`. COM1 transmits to
    /// `console`; the RTC starts at `unix_seconds` (UTC).
    pub fn new(
        devices: DeviceSet,
        bus: &mut PortIoBus,
        clock: Rc<dyn Clock>,
        console: Box<dyn ByteSink>,
        unix_seconds: u64,
        ram_bytes: u64,
    ) -> Result<Self, PortConflict> {
        let console = SharedSink::new(console);
        Self::build(devices, bus, clock, console, unix_seconds, ram_bytes)
    }

    fn build(
        devices: DeviceSet,
        bus: &mut PortIoBus,
        clock: Rc<dyn Clock>,
        console: SharedSink,
        unix_seconds: u64,
        ram_bytes: u64,
    ) -> Result<Self, PortConflict> {
        let mut irqs = IrqRouter::default();
        let legacy = match devices {
            DeviceSet::LegacyPc | DeviceSet::LegacyPcWithXen => Some(LegacyDevices::new(
                bus,
                &mut irqs,
                &clock,
                Box::new(console.clone()),
                unix_seconds,
                ram_bytes,
            )?),
            DeviceSet::None => None,
        };
        let xen = match (&legacy, devices) {
            (Some(d), DeviceSet::LegacyPcWithXen) => Some(XenPlatformWiring::new(bus, d)?),
            _ => None,
        };
        Ok(Self {
            legacy,
            xen,
            apic: None,
            irqs,
            clock,
            console_input: ConsoleInput::Serial,
            serial_backlog: InputBacklog::default(),
            hvc_backlog: InputBacklog::default(),
            devices,
            console,
            ram_bytes,
        })
    }

    /// A system reset: the board's devices as a newly built board has them,
    /// placed on `bus` (a fresh one: the old bus's devices are this board's
    /// old ones), with nothing in the drives. As on a PC, the battery-backed
    /// RTC is the exception: it keeps its time and CMOS RAM and only sees its
    /// RESET pin ([`device_model::cmos_rtc::CmosRtc::reset`]). What the host
    /// set up stays: the console, where typed bytes go, and typed bytes not
    /// yet delivered (to COM1 or to the PV console). The Xen platform device
    /// comes back fresh: no unplug request, nothing pending.
    ///
    /// Every request is a full reset, whatever its source, as QEMU's PIIX3 and
    /// i8042 models make it (on a PC/AT the 8042's line resets the processor
    /// alone, and a PIIX3 soft reset is an INIT; both leave the devices as
    /// they are, but the BIOS's POST then programs them all again anyway).
    pub fn reset(&mut self, bus: &mut PortIoBus) -> Result<(), PortConflict> {
        let mut fresh = Self::build(
            self.devices,
            bus,
            self.clock.clone(),
            self.console.clone(),
            0,
            self.ram_bytes,
        )?;
        if let (Some(old), Some(new)) = (self.legacy.as_ref(), fresh.legacy.as_ref()) {
            core::mem::swap(&mut *old.rtc.borrow_mut(), &mut *new.rtc.borrow_mut());
            new.rtc.borrow_mut().reset(self.clock.now_ns());
        }
        if let Some(apic) = self.apic.take() {
            let pic = fresh.legacy.as_ref().map(|d| &d.pic);
            apic.reset(pic, &mut fresh.irqs, bus)?;
            fresh.apic = Some(apic);
        }
        fresh.console_input = self.console_input;
        fresh.serial_backlog = core::mem::take(&mut self.serial_backlog);
        fresh.hvc_backlog = core::mem::take(&mut self.hvc_backlog);
        *self = fresh;
        Ok(())
    }

    /// Makes the board the modern PC: a local APIC, an I/O APIC and the ACPI
    /// PM registers beside the 8259 pair (see [`apic`]), or on a board
    /// without the PC/AT's devices (PVH) the local APIC and the PM
    /// registers alone. The caller places the APICs' pages on the MMIO bus
    /// ([`ApicDevices::lapic_mmio`]; the I/O APIC's only with the PC/AT).
    pub fn add_apic(&mut self, bus: &mut PortIoBus) -> Result<(), PortConflict> {
        let pic = self.legacy.as_ref().map(|d| &d.pic);
        self.apic = Some(ApicDevices::new(&self.clock, pic, &mut self.irqs, bus)?);
        Ok(())
    }

    /// True when the guest put the machine in ACPI soft-off since the last call.
    pub fn take_power_off(&mut self) -> bool {
        self.apic.as_mut().is_some_and(ApicDevices::take_power_off)
    }

    /// The reset the guest asked for through the board's devices since the
    /// last call, if any: the 8042's pulse or output port, port 92h, or the
    /// PIIX3's RC register at CF9h (see [`device_model::reset`]).
    pub fn take_reset_request(&mut self) -> Option<ResetSource> {
        let d = self.legacy.as_ref()?;
        let keyboard = d.kbc.borrow_mut().take_reset_source();
        let chipset = d.pci.borrow_mut().take_reset_request();
        keyboard.or(chipset.map(ResetSource::ResetControl))
    }

    /// Puts a hard disk on the IDE primary master; false without IDE.
    pub fn attach_disk(&mut self, media: Box<dyn BlockBackend>) -> bool {
        self.attach_disk_at(pc_layout::ide_drives::DISKS[0], media)
    }

    /// Puts a hard disk on the IDE position `at` (channel, slave; see
    /// `pc_layout::ide_drives`); false without IDE.
    pub fn attach_disk_at(&mut self, at: (usize, bool), media: Box<dyn BlockBackend>) -> bool {
        self.legacy
            .as_mut()
            .map(|d| d.attach_disk(at, media))
            .is_some()
    }

    /// Puts a CD-ROM drive holding `media` on the IDE secondary master;
    /// false without IDE.
    pub fn attach_cdrom(&mut self, media: Box<dyn BlockBackend>) -> bool {
        self.legacy
            .as_mut()
            .map(|d| d.attach_cdrom(media))
            .is_some()
    }

    /// The VGA, on a board that has one.
    pub fn vga(&self) -> Option<Ref<'_, VgaText>> {
        self.legacy.as_ref().map(|d| d.vga.borrow())
    }

    /// Work the devices leave to the board after guest I/O.
    pub fn service(&mut self, bus: &mut PortIoBus, memory: &mut GuestMemory) {
        if let Some(d) = self.legacy.as_mut() {
            d.service(bus, memory);
            if let Some(xen) = self.xen.as_mut() {
                xen.service(bus, &d.pci);
            }
        }
    }

    /// Moves typed bytes into COM1's receiver as far as it has room.
    fn feed_serial(&mut self) {
        let Some(d) = self.legacy.as_ref() else {
            return;
        };
        let mut com1 = d.uarts[0].borrow_mut();
        while com1.rx_room() > 0 {
            let Some(b) = self.serial_backlog.pop() else {
                break;
            };
            com1.receive(b);
        }
    }

    /// Samples every device's interrupt output at `now_ns`. Called before
    /// each guest entry and while the guest is halted.
    pub fn poll(&mut self, now_ns: u64) {
        self.feed_serial();
        let irq0 = self.apic.as_ref().and_then(ApicDevices::irq0_status);
        if let Some(d) = self.legacy.as_mut() {
            d.poll(now_ns, &self.irqs, irq0);
            if let Some(xen) = self.xen.as_ref() {
                xen.poll(&self.irqs, &d.pci);
            }
        }
        if let Some(apic) = self.apic.as_mut() {
            apic.poll();
        }
    }

    /// The earliest time a device will want to interrupt, for a halted guest.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        self.deadlines(now_ns).into_iter().flatten().min()
    }

    /// The next deadline of each group of devices: the PC/AT's, then the
    /// APICs' and PM timer's. Apart, so a deadline that stands at `now`
    /// (the PIT's tick owed behind an unacknowledged IRQ 0) does not hide
    /// the other group's from a caller that looks only ahead.
    pub fn deadlines(&self, now_ns: u64) -> [Option<u64>; 2] {
        [
            self.legacy.as_ref().and_then(|d| d.next_deadline(now_ns)),
            self.apic.as_ref().and_then(ApicDevices::next_deadline),
        ]
    }

    /// True while an IDE DMA transfer waits for the host disk.
    pub fn dma_in_flight(&self) -> bool {
        self.legacy
            .as_ref()
            .is_some_and(|d| d.ide.borrow().dma_in_flight())
    }

    /// A byte typed on the host console.
    pub fn console_byte(&mut self, byte: u8) {
        log::trace!("console input {byte:#04x} -> {:?}", self.console_input);
        let to = self.console_input.targets();
        if to.serial {
            self.serial_backlog.push(byte);
            self.feed_serial();
        }
        if let (true, Some(d)) = (to.keyboard, self.legacy.as_ref()) {
            d.kbc.borrow_mut().type_bytes(&[byte]);
        }
        if to.hvc {
            self.hvc_backlog.push(byte);
        }
    }

    /// False when the board's interrupt controller masks every input, so a
    /// halted vCPU can never be woken by it. A board without the PC/AT's
    /// controller cannot tell (its guest's wake-ups come from elsewhere).
    pub fn interrupts_possible(&self) -> bool {
        let pic_all_masked = self
            .legacy
            .as_ref()
            .is_some_and(|d| d.pic.borrow().every_input_masked());
        match self.apic.as_ref() {
            Some(apic) => apic.can_interrupt(pic_all_masked),
            None => !pic_all_masked,
        }
    }

    /// The 8259 pair's registers (master, slave), on a board that has them.
    pub fn pic_registers(&self) -> Option<[PicRegisters; 2]> {
        self.legacy.as_ref().map(|d| d.pic.borrow().registers())
    }

    /// Current time of the board clock.
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}

impl InterruptController for PcBoard {
    /// The local APIC's highest pending vector comes first; the 8259's INTR
    /// counts only while LINT0 passes it (virtual wire).
    fn has_interrupt(&self) -> bool {
        if let Some(apic) = self.apic.as_ref() {
            if apic.lapic.borrow().has_interrupt() {
                return true;
            }
            if !apic.pic_passes() {
                return false;
            }
        }
        self.legacy
            .as_ref()
            .is_some_and(|d| d.pic.borrow().has_interrupt())
    }

    fn acknowledge(&mut self) -> u8 {
        if let Some(apic) = self.apic.as_ref() {
            if let Some(vector) = apic.lapic.borrow_mut().acknowledge() {
                return vector;
            }
        }
        match self.legacy.as_ref() {
            Some(d) => d.pic.borrow_mut().acknowledge(),
            // Nothing asserted INTR; a spurious acknowledge reads the 8259's
            // spurious vector on real hardware, and there is no 8259 here.
            None => 0xFF,
        }
    }
}

#[cfg(test)]
mod tests;
