//! The emulated PC of a domain: which device sits at which ports and which
//! IRQ line, and the glue the devices leave to the hypervisor: sampling their
//! interrupt outputs into the 8259 pair, timed events, console input.
//!
//! Port and IRQ assignments are the PC/AT's (IBM PC/AT Technical Reference,
//! "System I/O Address Map" and "Hardware Interrupt Listing").

use crate::guest_memory::GuestMemory;
use crate::interrupts::InterruptController;
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::RefCell;
use device_model::atapi::AtapiDrive;
use device_model::block::BlockBackend;
use device_model::bus::{PortConflict, PortIoBus};
use device_model::cmos_rtc::{CmosPorts, CmosRtc};
use device_model::i8042::{
    I8042Ports, AUX_IRQ, COMMAND_PORT, DATA_PORT, I8042, KEYBOARD_IRQ, SYSTEM_CONTROL_PORT_A,
};
use device_model::ide::{
    BusMasterPorts, IdeController, IdePorts, BUS_MASTER_LEN, COMMAND_BLOCK_LEN, CONTROL_BLOCK_LEN,
    PRIMARY_COMMAND_BASE, PRIMARY_CONTROL_PORT, PRIMARY_IRQ, SECONDARY_COMMAND_BASE,
    SECONDARY_CONTROL_PORT, SECONDARY_IRQ,
};
use device_model::pci::{PciBus, PciPorts};
use device_model::pic8259::{PicPair, PicPorts, PIC_PORT_RANGES};
use device_model::pit8254::{
    Pit, PitPorts, PIT_BASE, PIT_IRQ, PIT_PORT_COUNT, PORT_B, PORT_B_PORT_COUNT,
};
use device_model::post_code::{PostCode, POST_PORT};
use device_model::uart16550::{Uart16550, COM_PORTS, UART_PORT_COUNT};
use device_model::vga_text::{VgaPorts, VgaText, VGA_PORT_BASE, VGA_PORT_COUNT};
use device_model::{ByteSink, Clock};

/// The far end of a serial port with nothing plugged in.
struct Unconnected;

impl ByteSink for Unconnected {
    fn write_byte(&mut self, _byte: u8) {}
}

/// COM1's IRQ.
pub const COM1_IRQ: u8 = 4;
/// IRQs of COM2, COM3, COM4 (COM1/COM3 share IRQ 4, COM2/COM4 IRQ 3).
pub const COM2_4_IRQS: [u8; 3] = [3, 4, 3];
/// The RTC's IRQ.
pub const RTC_IRQ: u8 = 8;
/// CMOS index/data ports.
const CMOS_PORT: u16 = 0x70;
/// PCI configuration ports.
const PCI_CONFIG_PORT: u16 = 0xCF8;
/// Where the BIOS places the IDE bus-master registers (PIIX3 BAR4).
pub const BMIDE_BASE: u16 = 0xC000;

/// Where console input goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleInput {
    /// COM1's receiver (serial-console guests).
    Serial,
    /// The PS/2 keyboard (guests on the VGA text screen).
    Keyboard,
    /// Both: a BIOS guest may read either (DOS the keyboard, Linux ttyS0).
    Both,
}

/// The devices of one PC.
pub struct Platform {
    pub pic: Rc<RefCell<PicPair>>,
    pub pit: Rc<RefCell<Pit>>,
    pub rtc: Rc<RefCell<CmosRtc>>,
    pub kbc: Rc<RefCell<I8042>>,
    pub com1: Rc<RefCell<Uart16550>>,
    /// COM2-COM4: present, with nothing attached (output is dropped).
    pub com2_4: [Rc<RefCell<Uart16550>>; 3],
    pub pci: Rc<RefCell<PciBus>>,
    pub vga: Rc<RefCell<VgaText>>,
    pub ide: Rc<RefCell<IdeController>>,
    /// Where the IDE bus-master registers are on the bus now.
    bmide_at: Option<u16>,
    /// The BAR4 base last acted on (a refused move is not retried every exit).
    bmide_seen: Option<u16>,
    clock: Rc<dyn Clock>,
    pub console_input: ConsoleInput,
    /// Typed bytes waiting for room in COM1's receiver (a terminal line is
    /// paced; the host hands over whole lines at once).
    serial_backlog: alloc::collections::VecDeque<u8>,
}

/// Most typed bytes held back for COM1.
const SERIAL_BACKLOG_LIMIT: usize = 64 * 1024;

impl Platform {
    /// Builds the PC and places its devices on `bus`. COM1 transmits to
    /// `console`; the RTC starts at `unix_seconds` (UTC).
    pub fn new(
        bus: &mut PortIoBus,
        clock: Rc<dyn Clock>,
        console: Box<dyn ByteSink>,
        unix_seconds: u64,
        ram_bytes: u64,
    ) -> Result<Self, PortConflict> {
        let now = clock.now_ns();
        let pic = Rc::new(RefCell::new(PicPair::new()));
        let pit = Rc::new(RefCell::new(Pit::new(now)));
        let rtc = Rc::new(RefCell::new(CmosRtc::new(unix_seconds, now)));
        rtc.borrow_mut().set_memory_size(ram_bytes);
        let kbc = Rc::new(RefCell::new(I8042::new()));
        let com1 = Rc::new(RefCell::new(Uart16550::new(console)));
        let com2_4 =
            core::array::from_fn(|_| Rc::new(RefCell::new(Uart16550::new(Box::new(Unconnected)))));
        let pci = Rc::new(RefCell::new(PciBus::new_pc()));
        // What the firmware leaves set up (as SeaBIOS does): the bus-master
        // registers at BAR4, and both IDE channels decoding (PIIX3 IDETIM bit
        // 15), without which Linux's ata_piix treats the ports as disabled.
        pci.borrow_mut().set_ide_bmide_base(BMIDE_BASE);
        pci.borrow_mut().set_ide_decode(true);
        let vga = Rc::new(RefCell::new(VgaText::new()));
        let ide = Rc::new(RefCell::new(IdeController::new()));

        for (base, len) in PIC_PORT_RANGES {
            bus.register(base, len, Box::new(PicPorts::new(base, pic.clone())))?;
        }
        bus.register(
            PIT_BASE,
            PIT_PORT_COUNT,
            Box::new(PitPorts::new(PIT_BASE, pit.clone(), clock.clone())),
        )?;
        bus.register(
            PORT_B,
            PORT_B_PORT_COUNT,
            Box::new(PitPorts::new(PORT_B, pit.clone(), clock.clone())),
        )?;
        bus.register(
            CMOS_PORT,
            2,
            Box::new(CmosPorts::new(rtc.clone(), clock.clone())),
        )?;
        for port in [DATA_PORT, COMMAND_PORT, SYSTEM_CONTROL_PORT_A] {
            bus.register(port, 1, Box::new(I8042Ports::new(port, kbc.clone())))?;
        }
        bus.register(COM_PORTS[0], UART_PORT_COUNT, Box::new(com1.clone()))?;
        for (port, uart) in COM_PORTS[1..].iter().zip(&com2_4) {
            bus.register(*port, UART_PORT_COUNT, Box::new(uart.clone()))?;
        }
        bus.register(POST_PORT, 1, Box::new(PostCode::default()))?;
        bus.register(PCI_CONFIG_PORT, 8, Box::new(PciPorts::new(pci.clone())))?;
        bus.register(
            VGA_PORT_BASE,
            VGA_PORT_COUNT,
            Box::new(VgaPorts::new(VGA_PORT_BASE, vga.clone())),
        )?;
        for (base, len) in [
            (PRIMARY_COMMAND_BASE, COMMAND_BLOCK_LEN),
            (PRIMARY_CONTROL_PORT, CONTROL_BLOCK_LEN),
            (SECONDARY_COMMAND_BASE, COMMAND_BLOCK_LEN),
            (SECONDARY_CONTROL_PORT, CONTROL_BLOCK_LEN),
        ] {
            bus.register(base, len, Box::new(IdePorts::new(base, ide.clone())))?;
        }
        let bmide_at = pci.borrow().ide_bmide_base();
        if let Some(base) = bmide_at {
            bus.register(
                base,
                BUS_MASTER_LEN,
                Box::new(BusMasterPorts::new(ide.clone())),
            )?;
        }
        Ok(Self {
            pic,
            pit,
            rtc,
            kbc,
            com1,
            com2_4,
            pci,
            vga,
            ide,
            bmide_at,
            bmide_seen: bmide_at,
            clock,
            console_input: ConsoleInput::Serial,
            serial_backlog: alloc::collections::VecDeque::new(),
        })
    }

    /// Puts a hard disk on the IDE primary master.
    pub fn attach_disk(&mut self, media: Box<dyn BlockBackend>) {
        self.ide.borrow_mut().attach_disk(0, false, media);
    }

    /// Puts a CD-ROM drive holding `media` on the IDE secondary master.
    pub fn attach_cdrom(&mut self, media: Box<dyn BlockBackend>) {
        self.ide
            .borrow_mut()
            .attach_cdrom(1, false, AtapiDrive::new(Some(media)));
    }

    /// Work the devices leave to the platform after guest I/O: bus-master DMA
    /// into guest memory, and moving the bus-master registers when the guest
    /// reprograms the IDE function's BAR4.
    pub fn service(&mut self, bus: &mut PortIoBus, memory: &mut GuestMemory) {
        self.ide.borrow_mut().run_dma(memory);
        let wanted = self.pci.borrow().ide_bmide_base();
        if wanted == self.bmide_seen {
            return;
        }
        self.bmide_seen = wanted;
        if let Some(old) = self.bmide_at.take() {
            bus.unregister(old);
        }
        if let Some(base) = wanted {
            let ports = Box::new(BusMasterPorts::new(self.ide.clone()));
            match bus.register(base, BUS_MASTER_LEN, ports) {
                Ok(()) => self.bmide_at = Some(base),
                Err(_) => {
                    log::warn!("IDE bus-master registers cannot move to {base:#x}: ports taken")
                }
            }
        }
    }

    /// Moves typed bytes into COM1's receiver as far as it has room.
    fn feed_serial(&mut self) {
        let mut com1 = self.com1.borrow_mut();
        while com1.rx_room() > 0 {
            let Some(b) = self.serial_backlog.pop_front() else {
                break;
            };
            com1.receive(b);
        }
    }

    /// Samples every device's interrupt output into the PIC at `now_ns`.
    /// Called before each guest entry and while the guest is halted.
    pub fn poll(&mut self, now_ns: u64) {
        self.feed_serial();
        let mut pic = self.pic.borrow_mut();
        if self.pit.borrow_mut().irq0_pending(now_ns) {
            // An edge: raise and drop the line.
            pic.set_irq(PIT_IRQ, true);
            pic.set_irq(PIT_IRQ, false);
        }
        let mut kbc = self.kbc.borrow_mut();
        kbc.service(now_ns);
        pic.set_irq(KEYBOARD_IRQ, kbc.irq1_level());
        pic.set_irq(AUX_IRQ, kbc.irq12_level());
        // Shared ISA lines: a line is up while any UART on it asserts it.
        let mut com_lines = [false; 16];
        com_lines[usize::from(COM1_IRQ)] = self.com1.borrow().interrupt_pending();
        for (irq, uart) in COM2_4_IRQS.iter().zip(&self.com2_4) {
            com_lines[usize::from(*irq)] |= uart.borrow().interrupt_pending();
        }
        for irq in [3u8, 4] {
            pic.set_irq(irq, com_lines[usize::from(irq)]);
        }
        pic.set_irq(RTC_IRQ, self.rtc.borrow_mut().irq_level(now_ns));
        let ide = self.ide.borrow();
        pic.set_irq(PRIMARY_IRQ, ide.irq_level(0));
        pic.set_irq(SECONDARY_IRQ, ide.irq_level(1));
    }

    /// The earliest time a device will want to interrupt, for a halted guest.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        let pit = self.pit.borrow().next_irq0_ns(now_ns);
        let rtc = self.rtc.borrow().next_event_ns(now_ns);
        // The keyboard paces typed bytes one per millisecond.
        let kbc = Some(now_ns + 1_000_000);
        [pit, rtc, kbc].into_iter().flatten().min()
    }

    /// A byte typed on the host console.
    pub fn console_byte(&mut self, byte: u8) {
        log::trace!("console input {byte:#04x} -> {:?}", self.console_input);
        let (serial, keyboard) = match self.console_input {
            ConsoleInput::Serial => (true, false),
            ConsoleInput::Keyboard => (false, true),
            ConsoleInput::Both => (true, true),
        };
        if serial && self.serial_backlog.len() < SERIAL_BACKLOG_LIMIT {
            self.serial_backlog.push_back(byte);
            self.feed_serial();
        }
        if keyboard {
            self.kbc.borrow_mut().type_bytes(&[byte]);
        }
    }

    /// Current time of the platform clock.
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}

impl InterruptController for Platform {
    fn has_interrupt(&self) -> bool {
        self.pic.borrow().has_interrupt()
    }

    fn acknowledge(&mut self) -> u8 {
        self.pic.borrow_mut().acknowledge()
    }
}
