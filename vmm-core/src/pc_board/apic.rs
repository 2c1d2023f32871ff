//! The modern PC's interrupt fabric and ACPI power management (issue 15),
//! beside the PC/AT's 8259 pair: the boot processor's local APIC, an I/O
//! APIC with 24 pins, and the ACPI PM1a/PM-timer registers.
//!
//! Wiring, as on QEMU's `pc` machine and the tables in `pc_acpi` describe it
//! (ACPI 6.5, 5.2.12.5 "Interrupt Source Override Structure"):
//! - every ISA IRQ drives its 8259 input and the I/O APIC pin of the same
//!   number, except IRQ 0 (the PIT), which reaches pin 2 (the MADT's
//!   override IRQ0 → GSI 2); GSIs 16-23 exist only on the I/O APIC;
//! - the 8259 pair's INTR reaches the processor through LINT0 while the
//!   local APIC passes it (globally disabled, or LINT0 in ExtINT mode: the
//!   virtual-wire mode the BIOS leaves, Intel SDM vol. 3A, 12.5.1; MP spec
//!   1.4, 3.6.2.2);
//! - the I/O APIC's messages go to the local APIC, and the local APIC's EOI
//!   of a level-triggered vector goes back to the I/O APIC (SDM 12.8.5);
//! - the ACPI SCI is GSI 9, level-triggered.

use super::irq_routing::{IrqRouter, GSI_COUNT};
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::RefCell;
use device_model::acpi_pm::{AcpiPm, SleepRequest};
use device_model::bus::{PortConflict, PortIoBus};
use device_model::ioapic::{IoApic, IoApicDeliveryMode, IoApicMmio, IoApicPin};
use device_model::lapic::LocalApic;
use device_model::mmio_bus::MmioDevice;
use device_model::pic8259::{PicIrqLine, PicPair};
use device_model::pit8254::Irq0Status;
use device_model::rate_limit::RateLimit;
use device_model::{Clock, IrqLine};
use pc_layout::{irqs, ports};

/// The I/O APIC pin an ISA IRQ reaches: its own number, but IRQ 0 → pin 2.
pub fn isa_irq_pin(irq: u8) -> u8 {
    if irq == irqs::PIT {
        2
    } else {
        irq
    }
}

/// One GSI as the modern PC wires it: the same level to the 8259 input (an
/// ISA line) and to its I/O APIC pin.
struct GsiLine {
    pic: Option<PicIrqLine>,
    pin: IoApicPin,
}

impl GsiLine {
    /// `gsi` as this board wires it: an ISA IRQ (0-15) to its 8259 input
    /// (when the board has the 8259 pair) and its I/O APIC pin
    /// ([`isa_irq_pin`]), a higher GSI to its pin only.
    fn new(pic: Option<&Rc<RefCell<PicPair>>>, ioapic: &Rc<RefCell<IoApic>>, gsi: u8) -> Self {
        let (pic, pin) = if gsi < irqs::ISA_COUNT {
            (
                pic.map(|p| PicIrqLine::new(p.clone(), gsi)),
                isa_irq_pin(gsi),
            )
        } else {
            (None, gsi)
        };
        Self {
            pic,
            pin: IoApicPin::new(ioapic.clone(), pin),
        }
    }
}

impl IrqLine for GsiLine {
    fn set_level(&self, high: bool) {
        if let Some(pic) = &self.pic {
            pic.set_level(high);
        }
        self.pin.set_level(high);
    }
}

/// The modern PC's devices. They live as long as the domain: a system
/// reset puts them back in their reset state rather than building new ones,
/// so the MMIO bus keeps reaching them.
pub struct ApicDevices {
    pub lapic: Rc<RefCell<LocalApic>>,
    pub ioapic: Rc<RefCell<IoApic>>,
    pub pm: Rc<RefCell<AcpiPm>>,
    /// Messages the one vCPU cannot take (INIT/SIPI to others, SMI) are
    /// logged, a few at a time.
    dropped: RateLimit,
}

impl ApicDevices {
    /// The devices of a freshly powered-on modern PC, wired to `pic` and
    /// `router` and placed on `bus`, with the BIOS's virtual-wire set-up of
    /// LINT0. Without an 8259 pair (a PVH board, `pic` None) the local APIC
    /// stays as at power-on, for the guest to set up, and the I/O APIC is
    /// still built (the SCI is wired to it) but the caller leaves its page
    /// off the MMIO bus and the MADT does not list it, as Xen's PVH guests
    /// have none.
    pub fn new(
        clock: &Rc<dyn Clock>,
        pic: Option<&Rc<RefCell<PicPair>>>,
        router: &mut IrqRouter,
        bus: &mut PortIoBus,
    ) -> Result<Self, PortConflict> {
        let ioapic = Rc::new(RefCell::new(IoApic::new(io_apic_id())));
        let sci = GsiLine::new(pic, &ioapic, irqs::ACPI_SCI);
        let devices = Self {
            lapic: Rc::new(RefCell::new(LocalApic::new(0, true, clock.clone()))),
            ioapic,
            pm: Rc::new(RefCell::new(AcpiPm::new(clock.clone(), Box::new(sci)))),
            dropped: RateLimit::new(8, 10_000),
        };
        devices.wire(pic, router, bus)?;
        if pic.is_some() {
            devices.lapic.borrow_mut().program_virtual_wire();
        }
        Ok(devices)
    }

    /// After a system reset: the same devices in their reset state, wired
    /// to the new board's `pic`, `router` and `bus`, with the BIOS's
    /// virtual-wire set-up again.
    pub fn reset(
        &self,
        pic: Option<&Rc<RefCell<PicPair>>>,
        router: &mut IrqRouter,
        bus: &mut PortIoBus,
    ) -> Result<(), PortConflict> {
        self.lapic.borrow_mut().reset();
        if pic.is_some() {
            self.lapic.borrow_mut().program_virtual_wire();
        }
        self.ioapic.borrow_mut().reset();
        self.pm.borrow_mut().reset();
        self.wire(pic, router, bus)
    }

    fn wire(
        &self,
        pic: Option<&Rc<RefCell<PicPair>>>,
        router: &mut IrqRouter,
        bus: &mut PortIoBus,
    ) -> Result<(), PortConflict> {
        for gsi in 0..GSI_COUNT as u8 {
            // ISA IRQ 2 is the cascade: nothing drives it, and pin 2 is the
            // PIT's (IRQ 0 connects there).
            if gsi != irqs::CASCADE {
                router.connect(gsi, Box::new(GsiLine::new(pic, &self.ioapic, gsi)));
            }
        }
        bus.register(
            ports::ACPI_PM,
            ports::ACPI_PM_COUNT,
            Box::new(self.pm.clone()),
        )
    }

    /// Runs time on (the APIC timer, the PM timer's status bit) and moves
    /// interrupt messages between the I/O APIC and the local APIC.
    pub fn poll(&mut self) {
        self.lapic.borrow_mut().poll();
        self.pm.borrow_mut().poll();
        self.route();
    }

    /// Moves the I/O APIC's messages to the local APIC and the local APIC's
    /// level-triggered EOIs back to the I/O APIC (which may send again).
    pub fn route(&mut self) {
        for _ in 0..2 * GSI_COUNT {
            let eoi = self.lapic.borrow_mut().take_eoi_broadcast();
            match eoi {
                Some(vector) => self.ioapic.borrow_mut().end_of_interrupt(vector),
                None => break,
            }
        }
        loop {
            let message = self.ioapic.borrow_mut().take_message();
            let Some(m) = message else { break };
            let mut lapic = self.lapic.borrow_mut();
            match m.mode {
                IoApicDeliveryMode::Fixed | IoApicDeliveryMode::LowestPriority => {
                    // Lowest priority with one processor is that processor.
                    let lowest = m.mode == IoApicDeliveryMode::LowestPriority;
                    if lowest || lapic.matches(u32::from(m.destination), m.logical) {
                        lapic.deliver(m.vector, m.level_triggered);
                    }
                }
                // ExtINT through the I/O APIC is the 8259's INTR on pin 0,
                // which this board does not connect (the 8259 reaches the
                // processor through LINT0).
                other => {
                    if self.dropped.allow() {
                        log::info!("I/O APIC pin {}: {other:?} message not delivered", m.pin);
                    }
                }
            }
        }
        while let Some(ipi) = self.lapic.borrow_mut().take_ipi() {
            if self.dropped.allow() {
                log::info!("local APIC: IPI to other processors not delivered (one vCPU): {ipi:?}");
            }
        }
    }

    /// The earliest time the APIC timer or the PM timer's status bit wants
    /// a poll.
    pub fn next_deadline(&self) -> Option<u64> {
        let lapic = self.lapic.borrow().next_deadline_ns();
        let pm = self.pm.borrow().next_deadline_ns();
        [lapic, pm].into_iter().flatten().min()
    }

    /// False when nothing can ever interrupt the processor: no vector
    /// pending at the local APIC, its timer not running, every I/O APIC pin
    /// masked, and the 8259 either cut off at LINT0 or (`pic_all_masked`)
    /// masking every input. A guest halted then would sleep forever.
    pub fn can_interrupt(&self, pic_all_masked: bool) -> bool {
        let lapic = self.lapic.borrow();
        if lapic.has_interrupt() || lapic.next_deadline_ns().is_some() {
            return true;
        }
        if lapic.pic_interrupts_pass() && !pic_all_masked {
            return true;
        }
        let ioapic = self.ioapic.borrow();
        (0..device_model::ioapic::IOAPIC_PINS).any(|pin| {
            ioapic
                .redirection_entry(pin)
                .is_some_and(|e| e & device_model::ioapic::registers::MASK == 0)
        })
    }

    /// What IRQ 0's path holds when the PIT reaches the processor through
    /// the I/O APIC (pin 2 unmasked, as an OS in symmetric I/O mode sets
    /// it): whether the vector it carries still waits in the local APIC's
    /// IRR. The PIT paces the ticks it owes on that, as it does on the
    /// 8259's IRR otherwise (`device_model::pit8254::irq0`), where the 8259,
    /// masked and never acknowledged in that mode, would hold it forever.
    /// None while pin 2 is masked: the 8259's view applies.
    pub fn irq0_status(&self) -> Option<Irq0Status> {
        let entry = self
            .ioapic
            .borrow()
            .redirection_entry(isa_irq_pin(irqs::PIT))?;
        if entry & device_model::ioapic::registers::MASK != 0 {
            return None;
        }
        let vector = (entry & 0xFF) as u8;
        Some(Irq0Status {
            requested: self.lapic.borrow().is_requested(vector),
            masked: false,
        })
    }

    /// True when the 8259's INTR reaches the processor (LINT0 virtual wire).
    pub fn pic_passes(&self) -> bool {
        self.lapic.borrow().pic_interrupts_pass()
    }

    /// The guest's soft-off request, if it made one since the last call.
    pub fn take_power_off(&mut self) -> bool {
        match self.pm.borrow_mut().take_sleep_request() {
            Some(SleepRequest::SoftOff) => true,
            Some(other) => {
                if self.dropped.allow() {
                    log::info!("ACPI: sleep state {other:?} is not supported; the guest runs on");
                }
                false
            }
            None => false,
        }
    }

    /// The ACPI power button: the runner's graceful-shutdown request for a
    /// guest with ACPI.
    pub fn press_power_button(&self) {
        self.pm.borrow_mut().power_button();
    }

    /// The local APIC's registers on the MMIO bus.
    pub fn lapic_mmio(&self) -> Box<dyn MmioDevice> {
        Box::new(LapicMmio(self.lapic.clone()))
    }

    /// The I/O APIC's registers on the MMIO bus.
    pub fn ioapic_mmio(&self) -> Box<dyn MmioDevice> {
        Box::new(IoApicMmio::new(self.ioapic.clone()))
    }
}

/// The I/O APIC's ID, as the MADT gives it: after the local APICs' (the
/// board runs one vCPU).
pub fn io_apic_id() -> u8 {
    pc_acpi::io_apic_id(1)
}

/// The local APIC's page (Intel SDM vol. 3A, 12.4.1: FEE00000h).
struct LapicMmio(Rc<RefCell<LocalApic>>);

impl MmioDevice for LapicMmio {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        self.0.borrow_mut().mmio_read(offset, size)
    }
    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.0.borrow_mut().mmio_write(offset, size, value);
    }
}
