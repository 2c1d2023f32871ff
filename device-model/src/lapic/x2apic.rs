//! IA32_APIC_BASE (SDM 11.4.4), the APIC's modes and the transitions between
//! them (11.12.5 "x2APIC State Transitions", Figure 11-28 in the 2023
//! editions), and the x2APIC MSR interface (11.12.1.2 "x2APIC Register
//! Address Space", Table 11-6; 11.12.1.3 "Reserved Bit Checking").
//!
//! In x2APIC mode register `offset` of the xAPIC page is MSR
//! `800h + offset / 10h`, 32 bits wide, except the ICR, one 64-bit MSR
//! (830h). APR, RRD, DFR and ICR high do not exist; the ID is the 32-bit
//! x2APIC ID and the LDR is read-only, derived from it; SELF IPI (83Fh) is
//! new. Reading a write-only register, writing a read-only one, touching a
//! register that does not exist, or setting reserved bits (the high dword
//! included) is a #GP, as is touching any of these MSRs outside x2APIC
//! mode. Bits that exist but are read-only (delivery status, remote IRR) may
//! be written back as read and are ignored.

use super::lvt::Lvt;
use super::registers::*;
use super::LocalApic;

/// IA32_APIC_BASE.
pub const IA32_APIC_BASE: u32 = 0x1B;
/// IA32_APIC_BASE bit 8: this is the bootstrap processor (read-only here).
pub const APIC_BASE_BSP: u64 = 1 << 8;
/// IA32_APIC_BASE bit 10: x2APIC mode.
pub const APIC_BASE_EXTD: u64 = 1 << 10;
/// IA32_APIC_BASE bit 11: APIC global enable.
pub const APIC_BASE_EN: u64 = 1 << 11;
/// IA32_APIC_BASE bits 51:12: the page's address. Everything else not named
/// above is reserved. (A CPU with a smaller MAXPHYADDR reserves more; the
/// address is stored and reported but only [`APIC_DEFAULT_BASE`] is decoded
/// by the hypervisor.)
pub const APIC_BASE_ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// The APIC page after reset.
pub const APIC_DEFAULT_BASE: u64 = 0xFEE0_0000;
/// The first x2APIC MSR (800h + offset / 10h).
pub const X2APIC_MSR_FIRST: u32 = 0x800;
/// The last MSR of the x2APIC range.
pub const X2APIC_MSR_LAST: u32 = 0x8FF;

/// The guest gets #GP(0) for the MSR access. Each variant says why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicFault {
    /// x2APIC register MSR accessed outside x2APIC mode.
    NotX2apic,
    /// No such register (in this mode), or an MSR this APIC does not handle.
    NoSuchRegister,
    /// Write to a read-only register.
    ReadOnly,
    /// Read of a write-only register (EOI, SELF IPI).
    WriteOnly,
    /// Reserved bits set in the value written.
    ReservedBits,
    /// IA32_APIC_BASE write asking for an illegal mode or mode transition.
    IllegalTransition,
}

/// The APIC's global mode (IA32_APIC_BASE bits 11:10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Disabled,
    Xapic,
    X2apic,
}

impl Mode {
    /// The mode `base` asks for; EN = 0 with EXTD = 1 is invalid.
    fn of(base: u64) -> Option<Self> {
        match (base & APIC_BASE_EN != 0, base & APIC_BASE_EXTD != 0) {
            (false, false) => Some(Self::Disabled),
            (true, false) => Some(Self::Xapic),
            (true, true) => Some(Self::X2apic),
            (false, true) => None,
        }
    }
}

impl LocalApic {
    /// A guest RDMSR of IA32_APIC_BASE or an x2APIC register.
    pub fn read_msr(&mut self, msr: u32) -> Result<u64, ApicFault> {
        if msr == IA32_APIC_BASE {
            return Ok(self.apic_base);
        }
        let offset = x2apic_offset(msr)?;
        if !self.is_x2apic() {
            return Err(ApicFault::NotX2apic);
        }
        match offset {
            APIC_ICR_LOW => Ok((u64::from(self.icr_high) << 32) | u64::from(self.icr_low)),
            APIC_EOI | APIC_SELF_IPI => Err(ApicFault::WriteOnly),
            APIC_APR | APIC_RRD | APIC_DFR | APIC_ICR_HIGH => Err(ApicFault::NoSuchRegister),
            _ => self
                .read_register(offset)
                .map(u64::from)
                .ok_or(ApicFault::NoSuchRegister),
        }
    }

    /// A guest WRMSR of IA32_APIC_BASE or an x2APIC register.
    pub fn write_msr(&mut self, msr: u32, value: u64) -> Result<(), ApicFault> {
        if msr == IA32_APIC_BASE {
            return self.write_apic_base(value);
        }
        let offset = x2apic_offset(msr)?;
        if !self.is_x2apic() {
            return Err(ApicFault::NotX2apic);
        }
        if offset == APIC_ICR_LOW {
            let low = value as u32;
            let high = (value >> 32) as u32;
            if low & !ICR_LOW_WRITABLE != 0 {
                return Err(ApicFault::ReservedBits);
            }
            self.icr_low = low;
            self.icr_high = high;
            self.send_ipi(low, high);
            return Ok(());
        }
        if matches!(offset, APIC_APR | APIC_RRD | APIC_DFR | APIC_ICR_HIGH) {
            return Err(ApicFault::NoSuchRegister);
        }
        if let Some(lvt) = Lvt::at(offset) {
            let v = checked(value, lvt.defined())?;
            self.write_lvt(lvt, v);
            return Ok(());
        }
        match offset {
            APIC_TPR => self.tpr = checked(value, TPR_WRITABLE)? as u8,
            APIC_EOI => {
                checked(value, 0)?;
                self.eoi();
            }
            APIC_SVR => {
                let v = checked(value, self.svr_writable())?;
                self.write_svr(v);
            }
            APIC_ESR => {
                checked(value, 0)?;
                self.write_esr();
            }
            APIC_TIMER_INITIAL_COUNT => {
                let v = checked(value, u32::MAX)?;
                self.write_initial_count(v);
            }
            APIC_TIMER_DIVIDE => {
                let v = checked(value, TIMER_DIVIDE_WRITABLE)?;
                self.write_divide_config(v);
            }
            APIC_SELF_IPI => {
                let v = checked(value, SELF_IPI_VECTOR)?;
                self.self_ipi(v as u8);
            }
            _ if self.read_register(offset).is_some() => return Err(ApicFault::ReadOnly),
            _ => return Err(ApicFault::NoSuchRegister),
        }
        Ok(())
    }

    /// IA32_APIC_BASE write (11.4.4, 11.12.5): reserved bits and illegal
    /// transitions (x2APIC → xAPIC, disabled → x2APIC, EXTD without EN) fault;
    /// the BSP flag is read-only. Disabling resets the registers
    /// (11.4.3: the APIC "may return to the state described in 11.4.7.1"),
    /// so re-enabling starts from the reset state; xAPIC → x2APIC keeps every
    /// register (11.12.5.1), the ID and LDR now reading their x2APIC forms.
    fn write_apic_base(&mut self, value: u64) -> Result<(), ApicFault> {
        let defined = APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN | APIC_BASE_ADDRESS_MASK;
        if value & !defined != 0 {
            return Err(ApicFault::ReservedBits);
        }
        let old = Mode::of(self.apic_base).unwrap_or(Mode::Disabled);
        let new = Mode::of(value).ok_or(ApicFault::IllegalTransition)?;
        if matches!(
            (old, new),
            (Mode::X2apic, Mode::Xapic) | (Mode::Disabled, Mode::X2apic)
        ) {
            return Err(ApicFault::IllegalTransition);
        }
        self.apic_base = (value & !APIC_BASE_BSP) | (self.apic_base & APIC_BASE_BSP);
        if new == Mode::Disabled && old != Mode::Disabled {
            self.reset_registers();
        }
        Ok(())
    }
}

/// The xAPIC offset of x2APIC MSR `msr`.
fn x2apic_offset(msr: u32) -> Result<u32, ApicFault> {
    if (X2APIC_MSR_FIRST..=X2APIC_MSR_LAST).contains(&msr) {
        Ok((msr - X2APIC_MSR_FIRST) << 4)
    } else {
        Err(ApicFault::NoSuchRegister)
    }
}

/// `value` as a 32-bit register value, if it sets no bit outside `defined`.
fn checked(value: u64, defined: u32) -> Result<u32, ApicFault> {
    if value & !u64::from(defined) != 0 {
        Err(ApicFault::ReservedBits)
    } else {
        Ok(value as u32)
    }
}
