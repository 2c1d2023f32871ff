//! The local vector table (SDM 11.5.1), the local interrupt pins LINT0 and
//! LINT1, virtual wire mode, and error reporting (11.5.3).
//!
//! The PC wires the 8259's INTR to LINT0 and the NMI logic to LINT1 of every
//! APIC (MP specification 1.4, 3.6.2.2 "Virtual Wire Mode"). The 8259 reaches
//! the CPU either with the APIC globally disabled (the CPU's INTR pin is then
//! the 8259's, 11.4.3) or through an unmasked LINT0 in ExtINT mode, in which
//! case the CPU takes its vector from the 8259 (11.5.1, delivery mode 111b).
//! The hypervisor asks [`LocalApic::pic_interrupts_pass`] and, if true,
//! injects from the PIC as before.

use super::registers::*;
use super::{DeliveryMode, LocalApic};

/// The entries of the LVT, in register order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lvt {
    Timer = 0,
    Thermal = 1,
    Perf = 2,
    Lint0 = 3,
    Lint1 = 4,
    Error = 5,
}

/// How many LVT entries there are.
pub(super) const LVT_COUNT: usize = 6;

/// LINT0 = ExtINT, level-triggered, unmasked: what SeaBIOS writes
/// (`smp_scan`, "Set LINT0 as Ext_INT, level triggered").
pub const VIRTUAL_WIRE_LINT0: u32 =
    ((DeliveryMode::ExtInt as u32) << LVT_DELIVERY_MODE_SHIFT) | LVT_TRIGGER_LEVEL;
/// LINT1 = NMI, unmasked, as SeaBIOS writes it ("Set LINT1 as NMI, level
/// triggered"; NMI delivery is edge whatever the trigger bit says, 11.5.1).
pub const VIRTUAL_WIRE_LINT1: u32 =
    ((DeliveryMode::Nmi as u32) << LVT_DELIVERY_MODE_SHIFT) | LVT_TRIGGER_LEVEL;

impl Lvt {
    /// The entry at MMIO `offset`.
    pub(super) fn at(offset: u32) -> Option<Self> {
        Some(match offset {
            APIC_LVT_TIMER => Self::Timer,
            APIC_LVT_THERMAL => Self::Thermal,
            APIC_LVT_PERF => Self::Perf,
            APIC_LVT_LINT0 => Self::Lint0,
            APIC_LVT_LINT1 => Self::Lint1,
            APIC_LVT_ERROR => Self::Error,
            _ => return None,
        })
    }

    /// The bits a write keeps (11.5.1, Figure 11-8).
    pub(super) fn writable(self) -> u32 {
        match self {
            Self::Timer => LVT_TIMER_WRITABLE,
            Self::Thermal | Self::Perf => LVT_THERMAL_WRITABLE,
            Self::Lint0 | Self::Lint1 => LVT_LINT_WRITABLE,
            Self::Error => LVT_ERROR_WRITABLE,
        }
    }

    /// The bits that exist (writable or read-only): x2APIC writes setting
    /// any other bit fault (11.12.1.3).
    pub(super) fn defined(self) -> u32 {
        match self {
            Self::Lint0 | Self::Lint1 => self.writable() | LVT_DELIVERY_STATUS | LVT_REMOTE_IRR,
            _ => self.writable() | LVT_DELIVERY_STATUS,
        }
    }
}

/// The delivery mode field of an LVT entry.
fn delivery_mode(entry: u32) -> u32 {
    (entry & LVT_DELIVERY_MODE) >> LVT_DELIVERY_MODE_SHIFT
}

impl LocalApic {
    pub(super) fn lvt_entry(&self, lvt: Lvt) -> u32 {
        self.lvt[lvt as usize]
    }

    /// An LVT write: reserved and read-only bits dropped; the mask stays set
    /// while the APIC is software-disabled (11.4.7.2); a timer mode change
    /// disarms the timer (11.5.4.1); a masked timer entry owes no periodic
    /// interrupts (see `timer`).
    pub(super) fn write_lvt(&mut self, lvt: Lvt, value: u32) {
        if lvt == Lvt::Timer {
            self.poll();
        }
        let mut entry = value & lvt.writable();
        if !self.is_software_enabled() {
            entry |= LVT_MASKED;
        }
        let old = self.lvt[lvt as usize];
        self.lvt[lvt as usize] = entry;
        if lvt == Lvt::Timer && (old ^ entry) & LVT_TIMER_MODE != 0 {
            self.timer.disarm();
        }
        if lvt == Lvt::Timer && entry & LVT_MASKED != 0 {
            self.timer.drop_owed();
        }
    }

    /// The 8259's INTR reaches the CPU: the APIC is globally disabled, or
    /// LINT0 is unmasked in ExtINT mode (11.5.1, MP spec virtual wire mode).
    /// The CPU then takes the PIC's vector, not one from this APIC.
    pub fn pic_interrupts_pass(&self) -> bool {
        if !self.is_enabled() {
            return true;
        }
        let lint0 = self.lvt_entry(Lvt::Lint0);
        lint0 & LVT_MASKED == 0 && delivery_mode(lint0) == DeliveryMode::ExtInt as u32
    }

    /// The level of LINT1 (the board's NMI line). A rising edge with LINT1
    /// unmasked in NMI mode makes an NMI for [`LocalApic::take_nmi`]; in fixed
    /// mode it raises LINT1's vector (edge). Other modes are ignored. With the
    /// APIC globally disabled LINT1 is the CPU's NMI pin: every rising edge
    /// is an NMI.
    pub fn set_lint1(&mut self, level: bool) {
        let rising = level && !self.lint1;
        self.lint1 = level;
        if !rising {
            return;
        }
        if !self.is_enabled() {
            // The pin is the CPU's NMI input (11.4.3).
            self.nmi_pending = true;
            return;
        }
        let lint1 = self.lvt_entry(Lvt::Lint1);
        if lint1 & LVT_MASKED != 0 {
            return;
        }
        match delivery_mode(lint1) {
            m if m == DeliveryMode::Nmi as u32 => self.nmi_pending = true,
            m if m == DeliveryMode::Fixed as u32 => self.accept((lint1 & LVT_VECTOR) as u8, false),
            _ => {}
        }
    }

    /// What a PC BIOS does to the bootstrap processor's APIC at POST (SeaBIOS
    /// `smp_scan`): software-enable it (SVR bit 8, keeping the spurious vector)
    /// and program virtual wire mode, LINT0 = ExtINT and LINT1 = NMI, both
    /// unmasked ([`VIRTUAL_WIRE_LINT0`], [`VIRTUAL_WIRE_LINT1`]). The
    /// hypervisor calls it when the BIOS starts, so guests that never touch
    /// the APIC get the 8259's interrupts. Does nothing unless the APIC is
    /// in xAPIC mode.
    pub fn program_virtual_wire(&mut self) {
        if !self.is_enabled() || self.is_x2apic() {
            return;
        }
        self.write_svr(self.svr | SVR_APIC_ENABLED);
        self.write_lvt(Lvt::Lint0, VIRTUAL_WIRE_LINT0);
        self.write_lvt(Lvt::Lint1, VIRTUAL_WIRE_LINT1);
    }

    /// Records `error` (ESR bits) for the next ESR write to latch and, if the
    /// error LVT is unmasked, raises its vector (11.5.3). An error vector
    /// that is itself illegal only records "received illegal vector".
    pub(super) fn report_error(&mut self, error: u32) {
        self.esr_pending |= error;
        let entry = self.lvt_entry(Lvt::Error);
        if entry & LVT_MASKED != 0 {
            return;
        }
        let vector = (entry & LVT_VECTOR) as u8;
        if vector < super::priority::FIRST_LEGAL_VECTOR {
            self.esr_pending |= ESR_RECEIVED_ILLEGAL_VECTOR;
        } else {
            self.accept(vector, false);
        }
    }
}
