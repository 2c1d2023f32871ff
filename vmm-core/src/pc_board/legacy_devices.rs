//! The PC/AT's legacy devices: which chip sits at which ports (from the
//! board layout, `pc_layout`), and the glue the chips leave to the board:
//! sampling their interrupt outputs onto GSIs, bus-master DMA, moving the IDE
//! bus-master registers, time-driven events.

use super::irq_routing::IrqRouter;
use crate::guest_memory::GuestMemory;
use alloc::boxed::Box;
use alloc::rc::Rc;
use block_backend::BlockBackend;
use core::cell::RefCell;
use device_model::atapi::AtapiDrive;
use device_model::bus::{PortConflict, PortIoBus};
use device_model::cmos_rtc::{CmosPorts, CmosRtc};
use device_model::i8042::{I8042Ports, I8042};
use device_model::ide::{
    BusMasterPorts, IdeController, IdePorts, BUS_MASTER_LEN, COMMAND_BLOCK_LEN, CONTROL_BLOCK_LEN,
};
use device_model::pci::{PciBus, PciPorts};
use device_model::pic8259::{PicIrqLine, PicPair, PicPorts};
use device_model::pit8254::{Irq0Status, Pit, PitPorts};
use device_model::post_code::PostCode;
use device_model::rate_limit::RateLimit;
use device_model::uart16550::Uart16550;
use device_model::vga_text::{VgaPorts, VgaText};
use device_model::{ByteSink, Clock};
use pc_layout::{irqs, ports};

/// The far end of a serial port with nothing plugged in.
struct Unconnected;

impl ByteSink for Unconnected {
    fn write_byte(&mut self, _byte: u8) {}
}

/// The devices of one PC/AT.
pub struct LegacyDevices {
    pub pic: Rc<RefCell<PicPair>>,
    pub pit: Rc<RefCell<Pit>>,
    pub rtc: Rc<RefCell<CmosRtc>>,
    pub kbc: Rc<RefCell<I8042>>,
    /// COM1-COM4 in [`ports::COM`] order; COM2-COM4 have nothing attached
    /// (their output is dropped).
    pub uarts: [Rc<RefCell<Uart16550>>; 4],
    pub pci: Rc<RefCell<PciBus>>,
    pub vga: Rc<RefCell<VgaText>>,
    pub ide: Rc<RefCell<IdeController>>,
    /// Where the IDE bus-master registers are on the bus now.
    bmide_at: Option<u16>,
    /// The BAR4 base last acted on (a refused move is not retried every exit).
    bmide_seen: Option<u16>,
    /// A guest reprogramming BAR4 in a loop gets a few log lines, not a flood.
    relocation_warnings: RateLimit,
}

impl LegacyDevices {
    /// Builds the PC's devices, places them on `bus` and connects the ISA
    /// lines of `router` to the 8259 pair. COM1 transmits to `console`; the
    /// RTC starts at `unix_seconds` (UTC) and reports `ram_bytes` in its NVRAM.
    pub fn new(
        bus: &mut PortIoBus,
        router: &mut IrqRouter,
        clock: &Rc<dyn Clock>,
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
        let mut console = Some(console);
        let uarts = core::array::from_fn(|_| {
            let sink = console.take().unwrap_or_else(|| Box::new(Unconnected));
            Rc::new(RefCell::new(Uart16550::new(sink)))
        });
        let pci = Rc::new(RefCell::new(PciBus::new_pc()));
        // What the firmware leaves set up (as SeaBIOS does): the bus-master
        // registers at BAR4, and both IDE channels decoding (PIIX3 IDETIM bit
        // 15), without which Linux's ata_piix treats the ports as disabled.
        pci.borrow_mut().set_ide_bmide_base(ports::IDE_BUS_MASTER);
        pci.borrow_mut().set_ide_decode(true);
        let vga = Rc::new(RefCell::new(VgaText::new()));
        let ide = Rc::new(RefCell::new(IdeController::new()));

        for irq in 0..irqs::ISA_COUNT {
            router.connect(irq, Box::new(PicIrqLine::new(pic.clone(), irq)));
        }
        for base in [ports::PIC_MASTER, ports::PIC_SLAVE, ports::PIC_ELCR] {
            bus.register(base, 2, Box::new(PicPorts::new(base, pic.clone())))?;
        }
        for (base, len) in [(ports::PIT, ports::PIT_COUNT), (ports::PORT_B, 1)] {
            bus.register(
                base,
                len,
                Box::new(PitPorts::new(base, pit.clone(), clock.clone())),
            )?;
        }
        bus.register(
            ports::CMOS_INDEX,
            2,
            Box::new(CmosPorts::new(rtc.clone(), clock.clone())),
        )?;
        for port in [
            ports::I8042_DATA,
            ports::I8042_COMMAND,
            ports::SYSTEM_CONTROL_A,
        ] {
            bus.register(port, 1, Box::new(I8042Ports::new(port, kbc.clone())))?;
        }
        for (port, uart) in ports::COM.iter().zip(&uarts) {
            bus.register(*port, ports::UART_COUNT, Box::new(uart.clone()))?;
        }
        bus.register(ports::POST, 1, Box::new(PostCode::default()))?;
        bus.register(
            ports::PCI_CONFIG,
            ports::PCI_CONFIG_COUNT,
            Box::new(PciPorts::new(pci.clone())),
        )?;
        bus.register(
            ports::VGA,
            ports::VGA_COUNT,
            Box::new(VgaPorts::new(ports::VGA, vga.clone())),
        )?;
        for (base, len) in [
            (ports::IDE_PRIMARY_COMMAND, COMMAND_BLOCK_LEN),
            (ports::IDE_PRIMARY_CONTROL, CONTROL_BLOCK_LEN),
            (ports::IDE_SECONDARY_COMMAND, COMMAND_BLOCK_LEN),
            (ports::IDE_SECONDARY_CONTROL, CONTROL_BLOCK_LEN),
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
            uarts,
            pci,
            vga,
            ide,
            bmide_at,
            bmide_seen: bmide_at,
            relocation_warnings: RateLimit::new(20, 10_000),
        })
    }

    /// Puts a hard disk on the IDE position `at` (channel, slave).
    pub fn attach_disk(&mut self, at: (usize, bool), media: Box<dyn BlockBackend>) {
        self.ide.borrow_mut().attach_disk(at.0, at.1, media);
    }

    /// Puts a CD-ROM drive holding `media` on the IDE secondary master.
    pub fn attach_cdrom(&mut self, media: Box<dyn BlockBackend>) {
        self.ide
            .borrow_mut()
            .attach_cdrom(1, false, AtapiDrive::new(Some(media)));
    }

    /// Work the devices leave to the board after guest I/O: bus-master DMA
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
                    if self.relocation_warnings.allow() {
                        log::warn!("IDE bus-master registers cannot move to {base:#x}: ports taken")
                    }
                }
            }
        }
    }

    /// Samples every device's interrupt output onto its GSI at `now_ns`.
    ///
    /// Time-driven sources are sampled twice: first as the guest's last
    /// access left them, then after time has run on to `now_ns`. A line the
    /// guest lowered (reading RTC register C, the 8042's output buffer) and
    /// that a new periodic interrupt or a paced keystroke raises again before
    /// this poll must be seen low in between, or the edge-triggered 8259
    /// never sees the rising edge and the interrupt is lost for good (8259A
    /// datasheet, "Edge Triggered Mode"; the iPXE hang of issue 17).
    ///
    /// `irq0` is what the interrupt controller that takes IRQ 0 holds for
    /// it, when that is not the 8259 (the I/O APIC path of the modern PC,
    /// [`super::ApicDevices::irq0_status`]).
    pub fn poll(&mut self, now_ns: u64, router: &IrqRouter, irq0: Option<Irq0Status>) {
        {
            let kbc = self.kbc.borrow();
            router.set_level(irqs::KEYBOARD, kbc.irq1_level());
            router.set_level(irqs::MOUSE, kbc.irq12_level());
        }
        router.set_level(irqs::RTC, self.rtc.borrow().irq_asserted());
        if self
            .pit
            .borrow_mut()
            .irq0_request(now_ns, irq0.unwrap_or_else(|| self.irq0_status()))
        {
            // The PIT's output is an edge at the 8259.
            router.pulse(irqs::PIT);
        }
        let mut kbc = self.kbc.borrow_mut();
        kbc.service(now_ns);
        router.set_level(irqs::KEYBOARD, kbc.irq1_level());
        router.set_level(irqs::MOUSE, kbc.irq12_level());
        // Shared ISA lines: a line is up while any UART on it asserts it.
        let mut com_lines = [false; irqs::ISA_COUNT as usize];
        for (irq, uart) in irqs::COM.iter().zip(&self.uarts) {
            com_lines[usize::from(*irq)] |= uart.borrow().interrupt_pending();
        }
        for irq in [irqs::COM2_COM4, irqs::COM1_COM3] {
            router.set_level(irq, com_lines[usize::from(irq)]);
        }
        router.set_level(irqs::RTC, self.rtc.borrow_mut().irq_level(now_ns));
        let ide = self.ide.borrow();
        router.set_level(irqs::IDE_PRIMARY, ide.irq_level(0));
        router.set_level(irqs::IDE_SECONDARY, ide.irq_level(1));
    }

    /// What the 8259 holds for IRQ 0, which decides when the PIT raises a
    /// tick it owes (see [`Pit::irq0_request`]: a periodic tick waits until
    /// the previous one has been acknowledged).
    fn irq0_status(&self) -> Irq0Status {
        let [master, _] = self.pic.borrow().registers();
        let bit = 1u8 << irqs::PIT;
        Irq0Status {
            requested: master.irr & bit != 0,
            masked: master.imr & bit != 0,
        }
    }

    /// The earliest time a device will want to interrupt, for a halted guest.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        let pit = self.pit.borrow().next_irq0_ns(now_ns);
        let rtc = self.rtc.borrow().next_event_ns(now_ns);
        // The keyboard paces typed bytes one per millisecond.
        let kbc = Some(now_ns + 1_000_000);
        [pit, rtc, kbc].into_iter().flatten().min()
    }
}
