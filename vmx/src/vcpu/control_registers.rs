//! The guest's control registers and EFER (Intel SDM vol. 3C, 26.3 for the
//! CR0/CR4 guest/host masks and read shadows).
//!
//! CR0.NE and CR4.VMXE, which VMX operation forces to 1, are owned by the
//! host: the guest/host masks make the guest read its own values from the
//! read shadows, and a guest write that would change an owned bit exits and
//! is completed here, with EFER.LMA and the IA-32e-mode-guest entry control
//! following a change of CR0.PG. Such a write is checked first as the
//! processor checks it (`checks`): what it would refuse is #GP(0) for the
//! guest, not a state VM entry refuses.

mod checks;

use checks::{check_cr0_write, check_cr4_write, CrWriteContext};

use super::{read, write, SetupError, VmxVcpu, RSP};
use crate::controls::EntryControls;
use crate::exit::CrAccess;
use crate::fields::{natural as n, w32, w64};
use crate::host::CR4_VMXE;

/// CR0.NE (bit 5) and the bits the guest/host mask lets the host own.
const CR0_NE: u64 = 1 << 5;
/// #GP, the fault of a refused MOV to CR (SDM vol. 3A, 7.15).
const VECTOR_GP: u8 = 13;
/// CS in the guest segment order (ES, CS, SS, DS, FS, GS, LDTR, TR).
const SEGMENT_CS: u32 = 1;
/// Access rights bit 13: L, 64-bit code segment (SDM vol. 3C, 25.4.1).
const AR_L: u32 = 1 << 13;

/// EFER once a MOV to CR0 of `cr0` has completed: LMA = LME AND PG (Intel
/// SDM vol. 3A, 10.8.5; AMD APM vol. 2, 14.6.1).
pub fn efer_after_cr0_write(efer: u64, cr0: u64) -> u64 {
    const PG: u64 = 1 << 31;
    const LME: u64 = 1 << 8;
    const LMA: u64 = 1 << 10;
    if efer & LME != 0 && cr0 & PG != 0 {
        efer | LMA
    } else {
        efer & !LMA
    }
}

impl VmxVcpu {
    /// Sets the guest's CR0 as the guest sees it; the processor's copy keeps the
    /// bits VMX forces (NE), hidden behind the mask and read shadow.
    pub(super) fn set_cr0_value(&mut self, value: u64) -> Result<(), SetupError> {
        let (fixed0, fixed1) = self.cr0_fixed;
        write(n::CR0_GUEST_HOST_MASK, self.cr0_host_owned())?;
        write(n::CR0_READ_SHADOW, value)?;
        write(n::GUEST_CR0, (value | fixed0) & fixed1)
    }

    /// The CR0 guest/host mask: the bits VMX operation fixes (bar PE and PG,
    /// which unrestricted guest frees), NE, and PE while the guest's CS RPL
    /// is kept from VM entry (`protected_mode_entry`).
    pub(super) fn cr0_host_owned(&self) -> u64 {
        let (fixed0, fixed1) = self.cr0_fixed;
        fixed0 | !fixed1 | CR0_NE | self.cr0_owned_for_cs()
    }

    /// Sets the guest's CR4 as the guest sees it; VMXE stays set underneath.
    pub(super) fn set_cr4_value(&mut self, value: u64) -> Result<(), SetupError> {
        let (fixed0, fixed1) = self.cr4_fixed;
        write(n::CR4_GUEST_HOST_MASK, fixed0 | !fixed1 | CR4_VMXE)?;
        write(n::CR4_READ_SHADOW, value)?;
        write(n::GUEST_CR4, (value | fixed0 | CR4_VMXE) & fixed1)
    }

    /// A MOV to CR0/CR4 that touched a host-owned bit. The exit comes before
    /// the instruction's own checks (SDM vol. 3C, 26.1.1 "Relative Priority
    /// of Faults and VM Exits"), so they are made here: a value the processor
    /// would refuse raises #GP(0) with RIP left on the instruction (see
    /// [`checks`]); any other is recorded and the instruction stepped over.
    pub(super) fn complete_cr_access(&mut self, access: CrAccess) -> Result<bool, SetupError> {
        let CrAccess::MovToCr { cr, gpr } = access else {
            return Ok(false);
        };
        let source = if usize::from(gpr) == RSP {
            read(n::GUEST_RSP)
        } else {
            self.gprs[usize::from(gpr & 15)]
        };
        let ctx = self.cr_write_context();
        let value = ctx.operand(source);
        let checked = match cr {
            0 => check_cr0_write(value, &ctx),
            4 => check_cr4_write(value, &ctx),
            _ => return Ok(false),
        };
        if checked.is_err() {
            self.inject_exception(VECTOR_GP, Some(0));
            return Ok(true);
        }
        match cr {
            0 => {
                self.set_cr0_value(value)?;
                self.follow_long_mode_activation(value);
            }
            _ => self.set_cr4_value(value)?,
        }
        self.skip_instruction()?;
        Ok(true)
    }

    /// What a MOV to CR0/CR4 is checked against: the guest's own view of its
    /// control registers, EFER and CS.L, and the CR4 bits it may not set
    /// (those outside IA32_VMX_CR4_FIXED1, and VMXE: CPUID hides VMX).
    fn cr_write_context(&self) -> CrWriteContext {
        let (_, _, _, cs_access_rights) = self.segment(SEGMENT_CS);
        CrWriteContext {
            cr0: self.cr0(),
            cr3: self.cr3(),
            cr4: self.cr4(),
            efer: self.efer(),
            cs_long: cs_access_rights & AR_L != 0,
            cr4_reserved: !self.cr4_fixed.1 | CR4_VMXE,
        }
    }

    /// The processor's part of a MOV to CR0 the hypervisor completed:
    /// EFER.LMA becomes EFER.LME AND CR0.PG, activating or leaving IA-32e
    /// mode (Intel SDM vol. 3A, 10.8.5 "Initializing IA-32e Mode"; AMD APM
    /// vol. 2, 14.6.1), and the IA-32e-mode-guest entry control follows it.
    fn follow_long_mode_activation(&mut self, cr0: u64) {
        let efer = self.efer();
        let wanted = efer_after_cr0_write(efer, cr0);
        if wanted != efer {
            self.set_efer(wanted);
        }
    }

    /// Loads CR0, CR3, CR4 and EFER as a starting state, as the guest would
    /// see them: host-owned bits stay behind the masks and shadows, and the
    /// IA-32e-mode-guest entry control follows EFER.LMA.
    pub fn set_control_registers(
        &mut self,
        cr0: u64,
        cr3: u64,
        cr4: u64,
        efer: u64,
    ) -> Result<(), SetupError> {
        self.set_cr0_value(cr0)?;
        self.set_cr4_value(cr4)?;
        write(n::GUEST_CR3, cr3)?;
        self.set_efer(efer);
        Ok(())
    }

    /// Loads the guest's PAE PDPTE registers (SDM vol. 3A, 4.4.1): with EPT,
    /// VM entry under PAE paging takes them from these fields rather than
    /// from memory (SDM vol. 3C, 27.3.2.4), so a CR3 the hypervisor loads
    /// on the guest's behalf brings its PDPTEs along.
    pub fn set_pae_pdptes(&mut self, pdptes: [u64; 4]) -> Result<(), SetupError> {
        let fields = [
            w64::GUEST_PDPTE0,
            w64::GUEST_PDPTE1,
            w64::GUEST_PDPTE2,
            w64::GUEST_PDPTE3,
        ];
        for (field, value) in fields.into_iter().zip(pdptes) {
            write(field, value)?;
        }
        Ok(())
    }

    /// CR0 as the guest sees it (host-owned bits from the read shadow).
    pub fn cr0(&self) -> u64 {
        let mask = read(n::CR0_GUEST_HOST_MASK);
        (read(n::GUEST_CR0) & !mask) | (read(n::CR0_READ_SHADOW) & mask)
    }

    /// CR4 as the guest sees it.
    pub fn cr4(&self) -> u64 {
        let mask = read(n::CR4_GUEST_HOST_MASK);
        (read(n::GUEST_CR4) & !mask) | (read(n::CR4_READ_SHADOW) & mask)
    }

    pub fn cr3(&self) -> u64 {
        read(n::GUEST_CR3)
    }

    pub fn efer(&self) -> u64 {
        read(w64::GUEST_IA32_EFER)
    }

    /// Sets the guest's EFER, keeping the IA-32e-mode-guest entry control equal
    /// to EFER.LMA as VM entry requires (SDM 27.3.1.1).
    pub fn set_efer(&mut self, efer: u64) {
        const LMA: u64 = 1 << 10;
        let _ = write(w64::GUEST_IA32_EFER, efer);
        self.entry
            .set(EntryControls::IA32E_MODE_GUEST, efer & LMA != 0);
        let _ = write(w32::ENTRY_CONTROLS, u64::from(self.entry.bits()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_with_lme_activates_long_mode_and_leaving_paging_ends_it() {
        const PG: u64 = 1 << 31;
        const LME: u64 = 1 << 8;
        const LMA: u64 = 1 << 10;
        const NXE: u64 = 1 << 11;
        assert_eq!(efer_after_cr0_write(LME | NXE, PG | 0x11), LME | LMA | NXE);
        assert_eq!(efer_after_cr0_write(LME | LMA, 0x11), LME);
        assert_eq!(efer_after_cr0_write(0, PG | 1), 0, "32-bit paging");
        assert_eq!(efer_after_cr0_write(LME, 0x11), LME, "LME alone is not LMA");
    }
}
