//! A domain's board: the devices it has (a PC/AT's legacy set, or none for a
//! guest that uses only paravirtual devices), the interrupt routing between
//! them and the vCPU, and where typed input goes. Ports, IRQs and addresses
//! come from one table, the `pc_layout` crate.

mod console;
mod irq_routing;
mod legacy_devices;

pub use console::ConsoleInput;
pub use irq_routing::{IrqRouter, GSI_COUNT};
pub use legacy_devices::LegacyDevices;

use crate::guest_memory::GuestMemory;
use crate::interrupts::InterruptController;
use alloc::boxed::Box;
use alloc::rc::Rc;
use block_backend::BlockBackend;
use console::SerialBacklog;
use core::cell::Ref;
use device_model::bus::{PortConflict, PortIoBus};
use device_model::vga_text::VgaText;
use device_model::{ByteSink, Clock};

/// Which device sets a board has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSet {
    /// The PC/AT: 8259 pair, 8254, RTC/CMOS, i8042, four UARTs, POST port,
    /// PCI (i440FX/PIIX3) with IDE, VGA text.
    LegacyPc,
    /// No emulated devices (a PVH guest): unclaimed ports read all ones.
    None,
}

/// One domain's board.
pub struct PcBoard {
    /// The PC/AT devices, when the board has them.
    pub legacy: Option<LegacyDevices>,
    pub irqs: IrqRouter,
    clock: Rc<dyn Clock>,
    pub console_input: ConsoleInput,
    serial_backlog: SerialBacklog,
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
        let mut irqs = IrqRouter::default();
        let legacy = match devices {
            DeviceSet::LegacyPc => Some(LegacyDevices::new(
                bus,
                &mut irqs,
                &clock,
                console,
                unix_seconds,
                ram_bytes,
            )?),
            DeviceSet::None => None,
        };
        Ok(Self {
            legacy,
            irqs,
            clock,
            console_input: ConsoleInput::Serial,
            serial_backlog: SerialBacklog::default(),
        })
    }

    /// Puts a hard disk on the IDE primary master; false without IDE.
    pub fn attach_disk(&mut self, media: Box<dyn BlockBackend>) -> bool {
        self.legacy.as_mut().map(|d| d.attach_disk(media)).is_some()
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
        if let Some(d) = self.legacy.as_mut() {
            d.poll(now_ns, &self.irqs);
        }
    }

    /// The earliest time a device will want to interrupt, for a halted guest.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        self.legacy.as_ref().and_then(|d| d.next_deadline(now_ns))
    }

    /// A byte typed on the host console.
    pub fn console_byte(&mut self, byte: u8) {
        log::trace!("console input {byte:#04x} -> {:?}", self.console_input);
        let (serial, keyboard) = self.console_input.targets();
        if serial {
            self.serial_backlog.push(byte);
            self.feed_serial();
        }
        if let (true, Some(d)) = (keyboard, self.legacy.as_ref()) {
            d.kbc.borrow_mut().type_bytes(&[byte]);
        }
    }

    /// Current time of the board clock.
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}

impl InterruptController for PcBoard {
    fn has_interrupt(&self) -> bool {
        self.legacy
            .as_ref()
            .is_some_and(|d| d.pic.borrow().has_interrupt())
    }

    fn acknowledge(&mut self) -> u8 {
        match self.legacy.as_ref() {
            Some(d) => d.pic.borrow_mut().acknowledge(),
            // Nothing asserted INTR; a spurious acknowledge reads the 8259's
            // spurious vector on real hardware, and there is no 8259 here.
            None => 0xFF,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::FakeClock;
    use block_backend::MemoryBlock;
    use core::cell::Cell;

    struct Discard;
    impl ByteSink for Discard {
        fn write_byte(&mut self, _: u8) {}
    }

    fn board(devices: DeviceSet, bus: &mut PortIoBus) -> PcBoard {
        let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
        PcBoard::new(devices, bus, clock, Box::new(Discard), 0, 1 << 20).unwrap()
    }

    #[test]
    fn a_board_without_devices_claims_no_port_and_never_interrupts() {
        let mut bus = PortIoBus::default();
        let mut b = board(DeviceSet::None, &mut bus);
        for port in [
            pc_layout::ports::PIC_MASTER,
            pc_layout::ports::PIT,
            pc_layout::ports::CMOS_DATA,
            pc_layout::ports::COM[0],
            pc_layout::ports::IDE_PRIMARY_COMMAND,
        ] {
            assert_eq!(bus.read(port, 1), 0xFF, "port {port:#x}");
        }
        b.poll(1_000_000_000);
        b.console_byte(b'x');
        assert!(!b.has_interrupt());
        assert!(b.vga().is_none());
        assert_eq!(b.next_deadline(0), None);
        let disk = MemoryBlock::new(alloc::vec![0u8; 512], false);
        assert!(!b.attach_disk(Box::new(disk)));
        assert!(!b.irqs.is_connected(pc_layout::irqs::PIT));
    }

    #[test]
    fn the_pc_board_routes_every_isa_line_to_the_pic() {
        let mut bus = PortIoBus::default();
        let mut b = board(DeviceSet::LegacyPc, &mut bus);
        for irq in 0..pc_layout::irqs::ISA_COUNT {
            assert!(b.irqs.is_connected(irq));
        }
        // Unmask IRQ3 at vector 08h+3, then raise its GSI through the router.
        for (port, value) in [
            (0x20u16, 0x11u32),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0x21, 0xF7),
        ] {
            bus.write(port, 1, value);
        }
        b.irqs.pulse(pc_layout::irqs::COM2_COM4);
        assert!(b.has_interrupt());
        assert_eq!(b.acknowledge(), 0x0B);
        let disk = MemoryBlock::new(alloc::vec![0u8; 512], false);
        assert!(b.attach_disk(Box::new(disk)));
    }
}
