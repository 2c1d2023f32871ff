//! The register map (SDM 11.4.1, Table 11-1), the names of the bits in each
//! register, and the xAPIC memory-mapped face (11.4.1: "registers are 32 bits,
//! 128-bit aligned"; accesses must be 32-bit and aligned).
//!
//! Choices for accesses the manual calls undefined: a read of another size or
//! alignment returns the bytes a 32-bit read of the containing register gives
//! (the 12 bytes after each register read 0); such a write is dropped; a
//! read of an offset that is no register returns 0 and a write there is
//! dropped (the "illegal register address" error is not raised).

use super::lvt::Lvt;
use super::LocalApic;
use crate::mmio_bus::all_ones;

/// The size of the APIC page.
pub const APIC_PAGE_SIZE: u64 = 0x1000;

/// Local APIC ID register (11.4.6).
pub const APIC_ID: u32 = 0x020;
/// Local APIC version register (11.4.8).
pub const APIC_VERSION: u32 = 0x030;
/// Task priority register (11.8.3.1).
pub const APIC_TPR: u32 = 0x080;
/// Arbitration priority register: not modelled, reads 0 (xAPIC only).
pub const APIC_APR: u32 = 0x090;
/// Processor priority register, read-only (11.8.3.1).
pub const APIC_PPR: u32 = 0x0A0;
/// EOI register, write-only (11.8.5).
pub const APIC_EOI: u32 = 0x0B0;
/// Remote read register: not supported, reads 0 (xAPIC only).
pub const APIC_RRD: u32 = 0x0C0;
/// Logical destination register (11.6.2.2).
pub const APIC_LDR: u32 = 0x0D0;
/// Destination format register (11.6.2.2), xAPIC only.
pub const APIC_DFR: u32 = 0x0E0;
/// Spurious interrupt vector register (11.9).
pub const APIC_SVR: u32 = 0x0F0;
/// In-service register, 8 registers of 32 bits from here.
pub const APIC_ISR: u32 = 0x100;
/// Trigger mode register, 8 registers from here.
pub const APIC_TMR: u32 = 0x180;
/// Interrupt request register, 8 registers from here.
pub const APIC_IRR: u32 = 0x200;
/// Error status register (11.5.3).
pub const APIC_ESR: u32 = 0x280;
/// LVT CMCI: not implemented here (no CMCI; version says 6 LVT entries).
pub const APIC_LVT_CMCI: u32 = 0x2F0;
/// Interrupt command register, bits 31:0 (11.6.1); writing it sends.
pub const APIC_ICR_LOW: u32 = 0x300;
/// Interrupt command register, bits 63:32 (xAPIC only).
pub const APIC_ICR_HIGH: u32 = 0x310;
/// LVT timer register (11.5.1).
pub const APIC_LVT_TIMER: u32 = 0x320;
/// LVT thermal sensor register.
pub const APIC_LVT_THERMAL: u32 = 0x330;
/// LVT performance monitoring counters register.
pub const APIC_LVT_PERF: u32 = 0x340;
/// LVT LINT0 register.
pub const APIC_LVT_LINT0: u32 = 0x350;
/// LVT LINT1 register.
pub const APIC_LVT_LINT1: u32 = 0x360;
/// LVT error register.
pub const APIC_LVT_ERROR: u32 = 0x370;
/// Timer initial count register (11.5.4).
pub const APIC_TIMER_INITIAL_COUNT: u32 = 0x380;
/// Timer current count register, read-only.
pub const APIC_TIMER_CURRENT_COUNT: u32 = 0x390;
/// Timer divide configuration register.
pub const APIC_TIMER_DIVIDE: u32 = 0x3E0;
/// SELF IPI register (11.12.11), x2APIC only (MSR 83Fh).
pub const APIC_SELF_IPI: u32 = 0x3F0;

/// Version register: an integrated APIC (11.4.8: 1xH).
pub const VERSION_INTEGRATED_APIC: u32 = 0x14;
/// Version register bits 23:16: the number of LVT entries minus one.
pub const VERSION_MAX_LVT_SHIFT: u32 = 16;
/// Six LVT entries (timer, thermal, performance, LINT0, LINT1, error).
pub const VERSION_MAX_LVT: u32 = 5;
/// Version register bit 24: EOI-broadcast suppression supported.
pub const VERSION_EOI_BROADCAST_SUPPRESSION: u32 = 1 << 24;

/// TPR bits 7:4 task-priority class, 3:0 sub-class; the rest reserved.
pub const TPR_WRITABLE: u32 = 0xFF;

/// SVR bits 7:0: the spurious vector.
pub const SVR_VECTOR: u32 = 0xFF;
/// SVR bit 8: APIC software enable.
pub const SVR_APIC_ENABLED: u32 = 1 << 8;
/// SVR bit 9: focus processor checking disabled (stored; no effect here).
pub const SVR_FOCUS_CHECK_DISABLED: u32 = 1 << 9;
/// SVR bit 12: EOI-broadcast suppression (when supported).
pub const SVR_SUPPRESS_EOI_BROADCAST: u32 = 1 << 12;
/// SVR after reset (11.9): vector FFh, software-disabled.
pub const SVR_RESET: u32 = 0xFF;

/// LDR bits 31:24: the xAPIC logical APIC ID; the rest reserved.
pub const LDR_XAPIC_ID_SHIFT: u32 = 24;
/// The LDR bits an xAPIC write keeps.
pub const LDR_WRITABLE: u32 = 0xFF00_0000;

/// DFR bits 31:28: the model; bits 27:0 read as ones.
pub const DFR_MODEL_SHIFT: u32 = 28;
/// DFR model 1111b: flat.
pub const DFR_MODEL_FLAT: u32 = 0xF;
/// DFR model 0000b: cluster.
pub const DFR_MODEL_CLUSTER: u32 = 0x0;
/// The DFR bits a write keeps.
pub const DFR_WRITABLE: u32 = 0xF000_0000;
/// DFR after reset: all ones (flat model).
pub const DFR_RESET: u32 = 0xFFFF_FFFF;

/// ESR bit 0: send checksum error (P6/Pentium only; never set here).
pub const ESR_SEND_CHECKSUM: u32 = 1 << 0;
/// ESR bit 1: receive checksum error (never set here).
pub const ESR_RECEIVE_CHECKSUM: u32 = 1 << 1;
/// ESR bit 2: send accept error (never set here).
pub const ESR_SEND_ACCEPT: u32 = 1 << 2;
/// ESR bit 3: receive accept error (never set here).
pub const ESR_RECEIVE_ACCEPT: u32 = 1 << 3;
/// ESR bit 4: redirectable IPI (never set here).
pub const ESR_REDIRECTABLE_IPI: u32 = 1 << 4;
/// ESR bit 5: send illegal vector (an IPI with a vector 0-15).
pub const ESR_SEND_ILLEGAL_VECTOR: u32 = 1 << 5;
/// ESR bit 6: received illegal vector (an interrupt with a vector 0-15).
pub const ESR_RECEIVED_ILLEGAL_VECTOR: u32 = 1 << 6;
/// ESR bit 7: illegal register address (never set here).
pub const ESR_ILLEGAL_REGISTER_ADDRESS: u32 = 1 << 7;

/// LVT bits 7:0: vector.
pub const LVT_VECTOR: u32 = 0xFF;
/// LVT bits 10:8: delivery mode (not in the timer and error entries).
pub const LVT_DELIVERY_MODE_SHIFT: u32 = 8;
/// LVT delivery mode field.
pub const LVT_DELIVERY_MODE: u32 = 0x7 << LVT_DELIVERY_MODE_SHIFT;
/// LVT bit 12: delivery status, read-only (always 0: idle).
pub const LVT_DELIVERY_STATUS: u32 = 1 << 12;
/// LVT bit 13: interrupt input pin polarity (LINT0/LINT1).
pub const LVT_INPUT_POLARITY: u32 = 1 << 13;
/// LVT bit 14: remote IRR, read-only (LINT0/LINT1; always 0 here).
pub const LVT_REMOTE_IRR: u32 = 1 << 14;
/// LVT bit 15: trigger mode level (LINT0/LINT1).
pub const LVT_TRIGGER_LEVEL: u32 = 1 << 15;
/// LVT bit 16: masked.
pub const LVT_MASKED: u32 = 1 << 16;
/// LVT timer bits 18:17: timer mode.
pub const LVT_TIMER_MODE_SHIFT: u32 = 17;
/// LVT timer mode field.
pub const LVT_TIMER_MODE: u32 = 0x3 << LVT_TIMER_MODE_SHIFT;
/// Timer mode 00b: one-shot.
pub const TIMER_MODE_ONE_SHOT: u32 = 0;
/// Timer mode 01b: periodic.
pub const TIMER_MODE_PERIODIC: u32 = 1;
/// Timer mode 10b: TSC-deadline.
pub const TIMER_MODE_TSC_DEADLINE: u32 = 2;
/// The LVT timer bits a write keeps.
pub const LVT_TIMER_WRITABLE: u32 = LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE;
/// The LVT thermal and performance-counter bits a write keeps.
pub const LVT_THERMAL_WRITABLE: u32 = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED;
/// The LVT LINT0/LINT1 bits a write keeps.
pub const LVT_LINT_WRITABLE: u32 =
    LVT_VECTOR | LVT_DELIVERY_MODE | LVT_INPUT_POLARITY | LVT_TRIGGER_LEVEL | LVT_MASKED;
/// The LVT error bits a write keeps.
pub const LVT_ERROR_WRITABLE: u32 = LVT_VECTOR | LVT_MASKED;

/// ICR bits 7:0: vector.
pub const ICR_VECTOR: u32 = 0xFF;
/// ICR bits 10:8: delivery mode.
pub const ICR_DELIVERY_MODE_SHIFT: u32 = 8;
/// ICR bit 11: logical destination mode.
pub const ICR_DESTINATION_LOGICAL: u32 = 1 << 11;
/// ICR bit 12: delivery status (xAPIC), read-only, always 0 here.
pub const ICR_DELIVERY_STATUS: u32 = 1 << 12;
/// ICR bit 14: level assert (0 = de-assert).
pub const ICR_LEVEL_ASSERT: u32 = 1 << 14;
/// ICR bit 15: trigger mode level.
pub const ICR_TRIGGER_LEVEL: u32 = 1 << 15;
/// ICR bits 19:18: destination shorthand.
pub const ICR_SHORTHAND_SHIFT: u32 = 18;
/// The ICR low bits a write keeps.
pub const ICR_LOW_WRITABLE: u32 = 0x000C_CFFF;
/// ICR high bits 31:24 (bits 63:56 of the ICR): the xAPIC destination.
pub const ICR_HIGH_DESTINATION_SHIFT: u32 = 24;
/// The ICR high bits an xAPIC write keeps.
pub const ICR_HIGH_WRITABLE: u32 = 0xFF00_0000;

/// Divide configuration bits 0, 1 and 3 (bit 2 reserved).
pub const TIMER_DIVIDE_WRITABLE: u32 = 0xB;

/// SELF IPI bits 7:0: vector; the rest reserved.
pub const SELF_IPI_VECTOR: u32 = 0xFF;

/// The first of 8 registers at `base`, 16 bytes apart, holding `offset`.
fn in_bank(offset: u32, base: u32) -> Option<usize> {
    let i = offset.checked_sub(base)? >> 4;
    (i < 8).then_some(i as usize)
}

impl LocalApic {
    /// The version register.
    pub(super) fn version(&self) -> u32 {
        let eoi = if self.eoi_suppression_supported {
            VERSION_EOI_BROADCAST_SUPPRESSION
        } else {
            0
        };
        VERSION_INTEGRATED_APIC | (VERSION_MAX_LVT << VERSION_MAX_LVT_SHIFT) | eoi
    }

    /// The register at `offset` (16-byte aligned) as the current mode reads
    /// it, or `None` if there is none (in either mode). Write-only registers
    /// (EOI, SELF IPI) read 0 here; the x2APIC layer decides which exist.
    pub(super) fn read_register(&self, offset: u32) -> Option<u32> {
        if let Some(i) = in_bank(offset, APIC_ISR) {
            return Some(self.isr.word(i));
        }
        if let Some(i) = in_bank(offset, APIC_TMR) {
            return Some(self.tmr.word(i));
        }
        if let Some(i) = in_bank(offset, APIC_IRR) {
            return Some(self.irr.word(i));
        }
        if let Some(lvt) = Lvt::at(offset) {
            return Some(self.lvt_entry(lvt));
        }
        Some(match offset {
            APIC_ID => {
                if self.is_x2apic() {
                    self.apic_id
                } else {
                    (self.apic_id & 0xFF) << 24
                }
            }
            APIC_VERSION => self.version(),
            APIC_TPR => u32::from(self.tpr),
            APIC_APR | APIC_RRD | APIC_EOI | APIC_SELF_IPI => 0,
            APIC_PPR => u32::from(self.ppr()),
            APIC_LDR => {
                if self.is_x2apic() {
                    self.x2apic_ldr()
                } else {
                    self.ldr
                }
            }
            APIC_DFR => self.dfr,
            APIC_SVR => self.svr,
            APIC_ESR => self.esr,
            APIC_ICR_LOW => self.icr_low,
            APIC_ICR_HIGH => self.icr_high,
            APIC_TIMER_INITIAL_COUNT => self.timer.initial_count(),
            APIC_TIMER_CURRENT_COUNT => self.timer_current_count(),
            APIC_TIMER_DIVIDE => self.timer.divide_config(),
            _ => return None,
        })
    }

    /// The SVR bits a write keeps.
    pub(super) fn svr_writable(&self) -> u32 {
        let eoi = if self.eoi_suppression_supported {
            SVR_SUPPRESS_EOI_BROADCAST
        } else {
            0
        };
        SVR_VECTOR | SVR_APIC_ENABLED | SVR_FOCUS_CHECK_DISABLED | eoi
    }

    /// SVR write (11.4.7.2): clearing bit 8 masks every LVT entry (so the
    /// timer owes no periodic interrupts).
    pub(super) fn write_svr(&mut self, value: u32) {
        self.svr = value & self.svr_writable();
        if !self.is_software_enabled() {
            for entry in &mut self.lvt {
                *entry |= LVT_MASKED;
            }
            self.timer.drop_owed();
        }
    }

    /// ESR write (11.5.3): latches the errors seen since the last write and
    /// starts collecting anew.
    pub(super) fn write_esr(&mut self) {
        self.esr = core::mem::take(&mut self.esr_pending);
    }

    /// A write of `value` to the register at `offset` (16-byte aligned)
    /// with xAPIC semantics: read-only bits and registers are left alone,
    /// ICR low sends, EOI ends the highest in-service interrupt.
    pub(super) fn write_register(&mut self, offset: u32, value: u32) {
        if let Some(lvt) = Lvt::at(offset) {
            self.write_lvt(lvt, value);
            return;
        }
        match offset {
            APIC_TPR => self.tpr = (value & TPR_WRITABLE) as u8,
            APIC_EOI => self.eoi(),
            APIC_LDR => self.ldr = value & LDR_WRITABLE,
            APIC_DFR => self.dfr = (value & DFR_WRITABLE) | !DFR_WRITABLE,
            APIC_SVR => self.write_svr(value),
            APIC_ESR => self.write_esr(),
            APIC_ICR_LOW => {
                self.icr_low = value & ICR_LOW_WRITABLE;
                let destination = self.icr_high >> ICR_HIGH_DESTINATION_SHIFT;
                self.send_ipi(self.icr_low, destination);
            }
            APIC_ICR_HIGH => self.icr_high = value & ICR_HIGH_WRITABLE,
            APIC_TIMER_INITIAL_COUNT => self.write_initial_count(value),
            APIC_TIMER_DIVIDE => self.write_divide_config(value),
            // ID, version, APR, PPR, RRD, ISR, TMR, IRR, current count:
            // read-only; anything else: no register.
            _ => {}
        }
    }

    /// A guest read of `size` bytes at `offset` into the APIC page. All ones
    /// while the page is not decoded (APIC globally disabled or in x2APIC
    /// mode, 11.4.3 and 11.12.2).
    pub fn mmio_read(&mut self, offset: u64, size: u8) -> u64 {
        if !self.is_enabled() || self.is_x2apic() {
            return all_ones(size);
        }
        if offset >= APIC_PAGE_SIZE {
            return 0;
        }
        let within = offset & 0xF;
        if within >= 4 {
            return 0;
        }
        let register = (offset & !0xF) as u32;
        let value = match register {
            APIC_SELF_IPI => 0,
            _ => self.read_register(register).unwrap_or(0),
        };
        (u64::from(value) >> (within * 8)) & all_ones(size)
    }

    /// A guest write of the low `size` bytes of `value` at `offset` into the
    /// APIC page. Only aligned 32-bit writes to registers take effect.
    pub fn mmio_write(&mut self, offset: u64, size: u8, value: u64) {
        if !self.is_enabled() || self.is_x2apic() {
            return;
        }
        if size != 4 || offset & 0xF != 0 || offset >= APIC_PAGE_SIZE {
            return;
        }
        let register = offset as u32;
        if register == APIC_SELF_IPI {
            return;
        }
        self.write_register(register, value as u32);
    }
}
