//! Interrupt acceptance and priority (SDM 11.8.3.1 "Task and Processor
//! Priorities", 11.8.4 "Interrupt Acceptance for Fixed Interrupts", 11.8.5
//! "Signaling Interrupt Servicing Completion", 11.5.2 "Valid Interrupt
//! Vectors").
//!
//! A fixed interrupt sets its IRR bit (and its TMR bit for level, clears it
//! for edge). The CPU is interrupted when the highest IRR vector's priority
//! class (bits 7:4) is above the processor priority's class; acknowledging
//! moves that vector from IRR to ISR. An EOI clears the highest ISR bit and,
//! for a level-triggered vector, broadcasts an EOI message to the I/O APICs
//! unless SVR bit 12 suppresses it.

use super::registers::*;
use super::LocalApic;

/// Vectors 0-15 are reserved for exceptions: an APIC never delivers them.
pub(super) const FIRST_LEGAL_VECTOR: u8 = 16;

/// The priority class of a vector or priority: bits 7:4.
fn class(priority: u8) -> u8 {
    priority >> 4
}

impl LocalApic {
    /// The processor priority (11.8.3.1): the TPR if its class is at least
    /// the highest in-service vector's class, else that vector's class.
    pub(super) fn ppr(&self) -> u8 {
        let isrv = self.isr.highest().unwrap_or(0);
        if class(self.tpr) >= class(isrv) {
            self.tpr
        } else {
            isrv & 0xF0
        }
    }

    /// Accepts `vector` into the IRR (local sources: LVT, self IPI, and
    /// [`LocalApic::deliver`] once it has checked the APIC may accept).
    /// Vectors 0-15 are refused with "received illegal vector".
    pub(super) fn accept(&mut self, vector: u8, level_triggered: bool) {
        if vector < FIRST_LEGAL_VECTOR {
            self.report_error(ESR_RECEIVED_ILLEGAL_VECTOR);
            return;
        }
        self.irr.set(vector);
        if level_triggered {
            self.tmr.set(vector);
        } else {
            self.tmr.clear(vector);
        }
    }

    /// A fixed or lowest-priority interrupt message for this APIC (from the
    /// I/O APIC, an MSI or an IPI the router found this APIC a target of).
    /// Dropped while the APIC is globally or software-disabled; vectors 0-15
    /// set ESR "received illegal vector" (and raise the error LVT) instead.
    pub fn deliver(&mut self, vector: u8, level_triggered: bool) {
        if !self.is_enabled() || !self.is_software_enabled() {
            return;
        }
        self.accept(vector, level_triggered);
    }

    /// The highest requested vector the CPU should be interrupted with now,
    /// if any: its class is above the PPR's.
    fn deliverable(&self) -> Option<u8> {
        if !self.is_enabled() {
            return None;
        }
        let irrv = self.irr.highest()?;
        (class(irrv) > class(self.ppr())).then_some(irrv)
    }

    /// The APIC asks the CPU for an interrupt: the highest IRR vector's
    /// priority class is above the processor priority's (11.8.4). A
    /// software-disabled APIC still asks for interrupts it holds (11.4.7.2).
    pub fn has_interrupt(&self) -> bool {
        self.deliverable().is_some()
    }

    /// True while `vector` waits in the IRR, accepted and not yet taken by
    /// the CPU (the board's PIT asks, to pace the ticks it owes the way it
    /// does behind the 8259's IRR).
    pub fn is_requested(&self, vector: u8) -> bool {
        self.irr.contains(vector)
    }

    /// The CPU takes the interrupt (the INTA cycle): the highest deliverable
    /// IRR vector moves to the ISR and is returned. `None` when
    /// [`LocalApic::has_interrupt`] is false.
    pub fn acknowledge(&mut self) -> Option<u8> {
        let vector = self.deliverable()?;
        self.irr.clear(vector);
        self.isr.set(vector);
        Some(vector)
    }

    /// EOI (11.8.5): the highest in-service vector is done. A level-triggered
    /// one (TMR set) is queued for [`LocalApic::take_eoi_broadcast`] unless
    /// EOI-broadcast suppression is on.
    pub(super) fn eoi(&mut self) {
        let Some(vector) = self.isr.highest() else {
            return;
        };
        self.isr.clear(vector);
        let suppressed =
            self.eoi_suppression_supported && self.svr & SVR_SUPPRESS_EOI_BROADCAST != 0;
        if self.tmr.contains(vector) && !suppressed {
            self.eoi_broadcast.set(vector);
        }
    }

    /// Takes a level-triggered vector whose EOI the board must pass to the
    /// I/O APICs (which clear Remote IRR on the pins with that vector).
    /// Each vector is held once however many EOIs came, highest first.
    pub fn take_eoi_broadcast(&mut self) -> Option<u8> {
        let vector = self.eoi_broadcast.highest()?;
        self.eoi_broadcast.clear(vector);
        Some(vector)
    }
}
