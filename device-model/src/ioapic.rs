//! The I/O APIC: 24 interrupt input pins, each routed by its redirection
//! table entry to a message for the local APICs, as QEMU/KVM model it
//! (version 20h, with the EOI register at offset 40h).
//!
//! References:
//! - Intel 82093AA I/O Advanced Programmable Interrupt Controller (IOAPIC)
//!   datasheet (order number 290566-001, May 1996): 3.1 "Memory Mapped
//!   Registers for Accessing IOAPIC Registers" (IOREGSEL, IOWIN), 3.2
//!   "IOAPIC Registers": 3.2.1 IOAPICID, 3.2.2 IOAPICVER, 3.2.3 IOAPICARB,
//!   3.2.4 "IOREDTBL\[23:0\]—I/O Redirection Table Registers" (the field
//!   layout and the meaning of delivery mode, destination mode, delivery
//!   status, polarity, remote IRR, trigger mode, mask and destination).
//! - Intel I/O Controller Hub datasheets (ICH9 and later), "I/O APIC
//!   Registers", "EOI—EOI Register" (offset 40h: a write whose bits 7:0 match
//!   the vector of a level-triggered entry clears its remote IRR), which the
//!   version 20h I/O APIC QEMU and KVM model has.
//! - Intel SDM vol. 3A, chapter 12 "Advanced Programmable Interrupt
//!   Controller (APIC)": 12.6.2 "Determining IPI Destination" (physical and
//!   logical destination mode), 12.6.1 "Interrupt Command Register (ICR)"
//!   (the delivery modes a message carries), 12.8.5 "Signaling Interrupt
//!   Servicing Completion" (the local APIC's EOI broadcast to the I/O APICs
//!   for level-triggered vectors).
//!
//! What is modelled and how:
//! - The guest reaches the registers through IOREGSEL (offset 00h, the
//!   index in bits 7:0) and IOWIN (offset 10h, 32-bit accesses only, as the
//!   datasheet requires); a write to EOI (offset 40h) is
//!   [`IoApic::end_of_interrupt`] with its bits 7:0. Any other offset or
//!   size reads 0 and drops writes. The registers are not aliased across the
//!   page.
//! - Inputs are [`IoApic::set_irq`] (or an [`IoApicPin`]): `true` means the
//!   device asserts its interrupt. The polarity bit (13) is stored and read
//!   back but inverts nothing, as in QEMU and KVM: the board wires every
//!   source to match what its ACPI tables tell the guest (the MADT's
//!   interrupt source overrides, the DSDT's `_PRT`), so the polarity the
//!   guest programs is always the source's own, and "asserted" is all the
//!   model needs to know. A guest that programs the opposite polarity still
//!   sees its interrupts; it cannot invert a line.
//! - Edge-triggered entries send one message on each rising edge while
//!   unmasked; an edge on a masked pin is lost (the datasheet: "Edge-
//!   sensitive interrupts signaled on a masked interrupt pin are ignored").
//!   Unlike QEMU, and like KVM, unmasking does not replay it.
//! - Level-triggered entries send while the pin is asserted, unmasked and
//!   remote IRR is clear, and set remote IRR when they do. An EOI for the
//!   entry's vector clears remote IRR and sends again if the pin is still
//!   asserted. The level of a masked pin is remembered, so unmasking an
//!   asserted level-triggered pin sends, as does reprogramming an asserted
//!   pin's entry to level-triggered (as in KVM).
//! - Writing an entry as edge-triggered clears its remote IRR (KVM and QEMU
//!   do this; Linux relies on it to clear a stuck remote IRR on I/O APICs
//!   without the EOI register). Remote IRR and delivery status are
//!   otherwise read-only; delivery status always reads 0 (idle): a message
//!   is handed to the board at once.
//! - NMI, SMI, INIT and ExtINT entries behave as edge-triggered whatever
//!   their trigger mode bit says (the datasheet on each of these delivery
//!   modes: "must be programmed as edge triggered"; for NMI: "treated as an
//!   edge triggered interrupt, even if it is programmed as a level
//!   triggered interrupt"): they never set remote IRR, which no EOI would
//!   clear. Entries with a reserved delivery mode (011b, 110b) send nothing.
//! - Reserved bits of an entry (55:17) read 0 whatever is written.
//! - Messages wait in a queue the board drains with
//!   [`IoApic::take_message`]. A pin has at most one message in it: an edge
//!   arriving while the pin's previous message still waits is merged into
//!   it, so the queue never holds more than 24 messages however the guest
//!   and its devices behave.
//! - The ID register holds the 4-bit ID in bits 27:24 and is writable; the
//!   arbitration register reads the same ID (as in QEMU and KVM); the
//!   version register reads 0017_0020h (24 entries, version 20h). Reset
//!   restores the ID given to [`IoApic::new`] (the MADT's), masks every
//!   entry, clears IOREGSEL and the queue, and keeps the input levels: they
//!   are the devices' outputs, not the I/O APIC's state.

use crate::mmio_bus::MmioDevice;
use crate::IrqLine;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;

pub mod registers;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

use registers::{
    Entry, ARB_REGISTER, FIRST_REDIRECTION, ID_REGISTER, ID_SHIFT, VERSION_REGISTER, VERSION_VALUE,
};

/// Where the board maps the I/O APIC.
pub const IOAPIC_BASE: u64 = pc_layout::memory::IO_APIC;
/// Bytes of guest-physical space the I/O APIC decodes (one page).
pub const IOAPIC_MMIO_SIZE: u64 = 0x1000;
/// Input pins (redirection table entries).
pub const IOAPIC_PINS: u8 = 24;
/// Offset of IOREGSEL, the register index (bits 7:0).
pub const IOREGSEL: u64 = 0x00;
/// Offset of IOWIN, the 32-bit window on the register IOREGSEL selects.
pub const IOWIN: u64 = 0x10;
/// Offset of the EOI register (version 20h I/O APICs).
pub const IOAPIC_EOI: u64 = 0x40;

/// How a message is delivered (redirection entry bits 10:8; the datasheet's
/// "Delivery Mode", the SDM's delivery modes of an interrupt message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoApicDeliveryMode {
    /// 000b: the vector to every destination processor.
    Fixed,
    /// 001b: the vector to the destination processor at the lowest priority.
    LowestPriority,
    /// 010b: a system management interrupt (the vector is ignored).
    Smi,
    /// 100b: a non-maskable interrupt (the vector is ignored).
    Nmi,
    /// 101b: INIT (the vector is ignored).
    Init,
    /// 111b: an interrupt from an 8259A-compatible controller; the vector
    /// comes from its INTA cycle.
    ExtInt,
}

impl IoApicDeliveryMode {
    /// The mode encoded in the three bits `bits`; 011b and 110b are reserved.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits & 0x7 {
            0b000 => Some(Self::Fixed),
            0b001 => Some(Self::LowestPriority),
            0b010 => Some(Self::Smi),
            0b100 => Some(Self::Nmi),
            0b101 => Some(Self::Init),
            0b111 => Some(Self::ExtInt),
            _ => None,
        }
    }

    /// Whether an entry in this mode may be level-triggered: only fixed and
    /// lowest-priority ones (the others "must be programmed as edge
    /// triggered" and are treated as such).
    pub(crate) fn can_be_level(self) -> bool {
        matches!(self, Self::Fixed | Self::LowestPriority)
    }
}

/// An interrupt message from the I/O APIC to the local APICs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApicMessage {
    /// Destination (entry bits 63:56): an APIC ID in physical mode, a set of
    /// processors matched against each LDR in logical mode.
    pub destination: u8,
    /// Logical destination mode (entry bit 11 set).
    pub logical: bool,
    /// Delivery mode (entry bits 10:8).
    pub mode: IoApicDeliveryMode,
    /// The vector (entry bits 7:0); meaningful for fixed and lowest-priority.
    pub vector: u8,
    /// The local APIC sets the vector's TMR bit and broadcasts its EOI back
    /// ([`IoApic::end_of_interrupt`]).
    pub level_triggered: bool,
    /// The pin that sent it.
    pub pin: u8,
}

/// The I/O APIC.
#[derive(Clone, Debug)]
pub struct IoApic {
    /// The ID reset restores.
    reset_id: u8,
    /// The 4-bit ID (ID register bits 27:24).
    id: u8,
    /// IOREGSEL.
    ioregsel: u8,
    redirection: [Entry; IOAPIC_PINS as usize],
    /// Bit n: pin n is asserted.
    asserted: u32,
    /// Messages not yet taken, at most one per pin.
    queue: VecDeque<ApicMessage>,
    /// Bit n: pin n has a message in `queue`.
    queued: u32,
}

impl IoApic {
    /// An I/O APIC with ID `id` (its low 4 bits: the ID register's width),
    /// every entry masked.
    pub fn new(id: u8) -> Self {
        let id = id & 0xF;
        Self {
            reset_id: id,
            id,
            ioregsel: 0,
            redirection: [Entry::RESET; IOAPIC_PINS as usize],
            asserted: 0,
            queue: VecDeque::with_capacity(usize::from(IOAPIC_PINS)),
            queued: 0,
        }
    }

    /// Hardware reset: ID back to the one given to [`IoApic::new`], IOREGSEL
    /// 0, every entry masked with its other fields 0, no message waiting.
    /// The input levels are kept.
    pub fn reset(&mut self) {
        self.id = self.reset_id;
        self.ioregsel = 0;
        self.redirection = [Entry::RESET; IOAPIC_PINS as usize];
        self.queue.clear();
        self.queued = 0;
    }

    /// The current ID (the guest may change it).
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The 64-bit redirection table entry of `pin`, as the guest reads it.
    pub fn redirection_entry(&self, pin: u8) -> Option<u64> {
        self.redirection.get(usize::from(pin)).map(|e| e.0)
    }

    /// Whether `pin`'s device asserts it (as last set through
    /// [`IoApic::set_irq`]).
    pub fn pin_asserted(&self, pin: u8) -> bool {
        pin < IOAPIC_PINS && self.asserted & (1 << pin) != 0
    }

    /// The device on `pin` asserts (`true`) or deasserts its interrupt,
    /// whatever the entry's polarity (see the module documentation). Pins
    /// from 24 up are not wired and are ignored.
    pub fn set_irq(&mut self, pin: u8, level: bool) {
        if pin >= IOAPIC_PINS {
            return;
        }
        let bit = 1u32 << pin;
        let was = self.asserted & bit != 0;
        if level {
            self.asserted |= bit;
        } else {
            self.asserted &= !bit;
        }
        if !level {
            return;
        }
        let entry = self.redirection[usize::from(pin)];
        if entry.level_triggered() || !was {
            self.service(pin);
        }
    }

    /// An EOI for `vector`, broadcast by a local APIC or written to the EOI
    /// register: every level-triggered entry with that vector and remote IRR
    /// set has remote IRR cleared, and sends again if its pin is still
    /// asserted and unmasked.
    pub fn end_of_interrupt(&mut self, vector: u8) {
        for pin in 0..IOAPIC_PINS {
            let entry = &mut self.redirection[usize::from(pin)];
            if entry.vector() == vector && entry.remote_irr() {
                entry.set_remote_irr(false);
                self.service(pin);
            }
        }
    }

    /// The oldest message not yet delivered.
    pub fn take_message(&mut self) -> Option<ApicMessage> {
        let message = self.queue.pop_front()?;
        self.queued &= !(1 << message.pin);
        Some(message)
    }

    /// Whether a message waits for [`IoApic::take_message`].
    pub fn has_message(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Reads the register `index` selects (what IOWIN returns).
    pub fn read_register(&self, index: u8) -> u32 {
        match index {
            ID_REGISTER | ARB_REGISTER => u32::from(self.id) << ID_SHIFT,
            VERSION_REGISTER => VERSION_VALUE,
            _ => match Self::redirection_index(index) {
                Some((pin, high)) => {
                    let bits = self.redirection[pin].0;
                    if high {
                        (bits >> 32) as u32
                    } else {
                        bits as u32
                    }
                }
                None => 0,
            },
        }
    }

    /// Writes `value` to the register `index` selects (a write to IOWIN).
    /// Read-only registers and fields keep their value.
    pub fn write_register(&mut self, index: u8, value: u32) {
        if index == ID_REGISTER {
            self.id = ((value >> ID_SHIFT) & 0xF) as u8;
            return;
        }
        let Some((pin, high)) = Self::redirection_index(index) else {
            return;
        };
        let entry = &mut self.redirection[pin];
        *entry = entry.with_guest_dword(high, value);
        if !entry.level() {
            entry.set_remote_irr(false);
        }
        let entry = *entry;
        // Unmasking an asserted level-triggered pin, or making an asserted
        // pin level-triggered, sends; `service` checks the rest.
        if entry.level_triggered() && self.asserted & (1 << pin) != 0 {
            self.service(pin as u8);
        }
    }

    /// The pin and dword (high or low) a redirection register index names.
    fn redirection_index(index: u8) -> Option<(usize, bool)> {
        let n = usize::from(index.checked_sub(FIRST_REDIRECTION)?);
        let pin = n / 2;
        (pin < usize::from(IOAPIC_PINS)).then_some((pin, n % 2 == 1))
    }

    /// Sends `pin`'s interrupt if its entry lets it: unmasked, a defined
    /// delivery mode, and for level-triggered entries the pin asserted and
    /// remote IRR clear (which it then sets).
    fn service(&mut self, pin: u8) {
        let entry = self.redirection[usize::from(pin)];
        if entry.masked() {
            return;
        }
        let Some(mode) = entry.mode() else {
            return;
        };
        let level_triggered = entry.level_triggered();
        if level_triggered {
            if entry.remote_irr() || self.asserted & (1 << pin) == 0 {
                return;
            }
            self.redirection[usize::from(pin)].set_remote_irr(true);
        }
        let message = ApicMessage {
            destination: entry.destination(),
            logical: entry.logical(),
            mode,
            vector: entry.vector(),
            level_triggered,
            pin,
        };
        if self.queued & (1 << pin) == 0 {
            self.queued |= 1 << pin;
            self.queue.push_back(message);
        }
    }
}

/// IOREGSEL and EOI answer any access size (their meaning is in bits 7:0);
/// IOWIN only 32-bit ones.
impl MmioDevice for IoApic {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        match (offset, size) {
            (IOREGSEL, _) => u64::from(self.ioregsel),
            (IOWIN, 4) => u64::from(self.read_register(self.ioregsel)),
            _ => 0,
        }
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        match (offset, size) {
            (IOREGSEL, _) => self.ioregsel = value as u8,
            (IOWIN, 4) => self.write_register(self.ioregsel, value as u32),
            (IOAPIC_EOI, _) => self.end_of_interrupt(value as u8),
            _ => {}
        }
    }
}

/// The I/O APIC on the MMIO bus while the board keeps it shared (with its
/// pins' devices and the local APICs' EOI broadcast).
pub struct IoApicMmio {
    ioapic: Rc<RefCell<IoApic>>,
}

impl IoApicMmio {
    /// `ioapic`'s registers, for [`crate::mmio_bus::MmioBus::register`] at
    /// [`IOAPIC_BASE`] with [`IOAPIC_MMIO_SIZE`].
    pub fn new(ioapic: Rc<RefCell<IoApic>>) -> Self {
        Self { ioapic }
    }
}

impl MmioDevice for IoApicMmio {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        self.ioapic.borrow_mut().read(offset, size)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.ioapic.borrow_mut().write(offset, size, value)
    }
}

/// One input pin of a shared [`IoApic`], as a device's interrupt line.
pub struct IoApicPin {
    ioapic: Rc<RefCell<IoApic>>,
    pin: u8,
}

impl IoApicPin {
    /// Pin `pin` (0-23) of `ioapic`.
    pub fn new(ioapic: Rc<RefCell<IoApic>>, pin: u8) -> Self {
        Self { ioapic, pin }
    }
}

impl IrqLine for IoApicPin {
    fn set_level(&self, high: bool) {
        self.ioapic.borrow_mut().set_irq(self.pin, high);
    }
}
