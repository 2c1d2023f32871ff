//! The CS selector between the MOV to CR0 that sets CR0.PE and the far JMP
//! that reloads CS (Intel SDM vol. 3A, 10.9.1 "Switching to Protected
//! Mode"; numbering as in [`crate::controls`]).
//!
//! Those instructions run in protected mode with the selector real mode
//! left in CS: a segment number, whose low two bits are whatever they are
//! (OpenBSD's boot loader runs at 4012h: RPL 2). They are not the CPL. In
//! VMX non-root operation the CPL is SS.DPL (vol. 3C, 25.4.1 "Guest Register
//! State"), 0 here, and with unrestricted guest VM entry places no condition
//! on the RPL of CS (27.3.1.2 "Checks on Guest Segment Registers"): on a
//! processor, a VM exit in this window changes nothing.
//!
//! Bochs' VT-x (Debian's 2.7) takes the CPL from the RPL of the CS selector
//! VM entry loads (entries to real mode with CS = 4012h run on: there its
//! CPL is 0 whatever the selector). A VM exit in the window (in three runs
//! of three the host's timer interrupt, taken on the instruction after the
//! MOV to CR0) resumed OpenBSD's boot loader at CPL 2: its far jump to a
//! conforming code segment took RPL 2, its next load of a DPL-0 data
//! segment raised #GP, delivered through the real-mode IVT still in IDTR: a
//! triple fault (issue 17).
//!
//! So VM entry in that state is given the CS selector with its RPL replaced
//! by SS.DPL, the CPL on a processor and in Bochs alike, and the guest's own
//! RPL is kept here: [`VmxVcpu::segment`] reports it, and it goes back into
//! the selector if the guest clears PE before reloading CS (10.9.2
//! "Switching Back to Real-Address Mode" does not ask for a reload; a
//! real-mode PUSH CS or interrupt would push the wrong segment otherwise).
//! To put it back before the guest runs a real-mode instruction, CR0.PE is
//! host-owned while an RPL is kept, so clearing it exits (vol. 3C, 26.1.3
//! "Instructions That Cause VM Exits Conditionally", MOV to CR0). What the
//! guest can still see: MOV or PUSH of CS inside the window reads RPL = CPL,
//! protected mode's own rule (vol. 3A, 5.5 "Privilege Levels"), instead of
//! the real-mode segment's low bits.

use super::{read, write, SetupError, VmxVcpu};
use crate::fields::{natural as n, w16, w32};

/// CR0.PE.
pub(super) const CR0_PE: u64 = 1 << 0;
/// RFLAGS.VM: virtual-8086 mode, where the CPL is 3 whatever the selectors.
const RFLAGS_VM: u64 = 1 << 17;
/// Selector bits 1:0, the requested privilege level (vol. 3A, 3.4.2).
const SELECTOR_RPL: u16 = 0b11;
/// Access-rights bits 6:5, the descriptor privilege level, and bit 16,
/// unusable (vol. 3C, 25.4.1).
const AR_DPL_SHIFT: u32 = 5;
const AR_DPL_MASK: u32 = 0b11;
const AR_UNUSABLE: u32 = 1 << 16;

/// CS as the VMCS holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CsFields {
    pub selector: u16,
    pub base: u64,
    pub limit: u32,
    pub access_rights: u32,
}

/// A CS selector whose RPL the VMCS does not show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KeptRpl {
    /// The selector as the guest loaded it.
    guest_selector: u16,
    /// CS as VM entry was given it: while the VMCS still holds exactly this,
    /// the guest has not reloaded CS.
    entered: CsFields,
}

/// What the choice of the entry selector reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntryState {
    /// CR0.PE set and RFLAGS.VM clear: protected mode.
    pub protected: bool,
    pub cs: CsFields,
    /// SS.DPL, the CPL, when SS is usable. (A 64-bit guest at CPL 1 or 2
    /// may hold a null SS, whose DPL Bochs does not keep: then nothing is
    /// changed.)
    pub ss_dpl: Option<u16>,
}

/// The CS selector VM entry must be given, if it is not the one the VMCS
/// holds, and the RPL kept from then on.
pub(super) fn cs_for_entry(
    kept: Option<KeptRpl>,
    state: &EntryState,
) -> (Option<u16>, Option<KeptRpl>) {
    let mut cs = state.cs;
    let mut rewrite = None;
    if let Some(k) = kept.filter(|k| k.entered == cs) {
        if state.protected {
            return (None, Some(k));
        }
        // Back in real mode without a reload: the guest's own selector.
        cs.selector = k.guest_selector;
        rewrite = Some(k.guest_selector);
    }
    let cpl = state.ss_dpl.filter(|_| state.protected);
    if let Some(cpl) = cpl.filter(|&cpl| cs.selector & SELECTOR_RPL != cpl) {
        let selector = (cs.selector & !SELECTOR_RPL) | cpl;
        let kept = KeptRpl {
            guest_selector: cs.selector,
            entered: CsFields { selector, ..cs },
        };
        return (Some(selector), Some(kept));
    }
    (rewrite, None)
}

/// The guest's CS selector, given CS as the VMCS holds it.
pub(super) fn guest_cs_selector(kept: Option<KeptRpl>, cs: CsFields) -> u16 {
    kept.filter(|k| k.entered == cs)
        .map_or(cs.selector, |k| k.guest_selector)
}

impl VmxVcpu {
    /// CS from the VMCS.
    pub(super) fn cs_fields(&self) -> CsFields {
        CsFields {
            selector: read(w16::GUEST_CS_SELECTOR) as u16,
            base: read(n::GUEST_CS_BASE),
            limit: read(w32::GUEST_CS_LIMIT) as u32,
            access_rights: read(w32::GUEST_CS_ACCESS_RIGHTS) as u32,
        }
    }

    /// Gives VM entry the CS selector its CPL needs (see the module doc).
    /// With nothing kept: one VMREAD in real mode, three when CS.RPL is
    /// SS.DPL (outside the window).
    pub(super) fn prepare_cs_for_entry(&mut self) -> Result<(), SetupError> {
        let cr0 = read(n::GUEST_CR0);
        let nothing_kept = self.kept_cs_rpl.is_none();
        if nothing_kept && cr0 & CR0_PE == 0 {
            return Ok(());
        }
        let ss = read(w32::GUEST_SS_ACCESS_RIGHTS) as u32;
        let ss_dpl = (ss & AR_UNUSABLE == 0).then_some(((ss >> AR_DPL_SHIFT) & AR_DPL_MASK) as u16);
        if nothing_kept
            && ss_dpl.is_none_or(|dpl| read(w16::GUEST_CS_SELECTOR) as u16 & SELECTOR_RPL == dpl)
        {
            return Ok(());
        }
        let state = EntryState {
            protected: cr0 & CR0_PE != 0 && read(n::GUEST_RFLAGS) & RFLAGS_VM == 0,
            cs: self.cs_fields(),
            ss_dpl,
        };
        let (selector, kept) = cs_for_entry(self.kept_cs_rpl, &state);
        if let Some(selector) = selector {
            write(w16::GUEST_CS_SELECTOR, u64::from(selector))?;
        }
        self.keep_cs_rpl(kept)
    }

    /// Records `kept`, owning CR0.PE exactly while an RPL is kept; the read
    /// shadow takes the guest's PE when ownership starts.
    pub(super) fn keep_cs_rpl(&mut self, kept: Option<KeptRpl>) -> Result<(), SetupError> {
        let owned = self.kept_cs_rpl.is_some();
        let guest_cr0 = self.cr0();
        self.kept_cs_rpl = kept;
        if owned != kept.is_some() {
            write(n::CR0_READ_SHADOW, guest_cr0)?;
            write(n::CR0_GUEST_HOST_MASK, self.cr0_host_owned())?;
        }
        Ok(())
    }

    /// PE while an RPL is kept, else nothing (for the CR0 guest/host mask).
    pub(super) fn cr0_owned_for_cs(&self) -> u64 {
        if self.kept_cs_rpl.is_some() {
            CR0_PE
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Access rights of a real-mode CS as Bochs leaves it (read/write data,
    /// accessed, present, DPL 0) and of a flat 32-bit conforming code segment.
    const AR_REAL_CS: u32 = 0x93;
    const AR_CONFORMING_CODE: u32 = 0xC09F;

    fn real_cs(segment: u16) -> CsFields {
        CsFields {
            selector: segment,
            base: u64::from(segment) << 4,
            limit: 0xFFFF,
            access_rights: AR_REAL_CS,
        }
    }

    fn state(protected: bool, cs: CsFields, ss_dpl: u16) -> EntryState {
        EntryState {
            protected,
            cs,
            ss_dpl: Some(ss_dpl),
        }
    }

    #[test]
    fn after_setting_pe_entry_gets_the_rpl_of_the_cpl_and_the_guest_keeps_its_own() {
        let cs = real_cs(0x4012);
        let (selector, kept) = cs_for_entry(None, &state(true, cs, 0));
        assert_eq!(selector, Some(0x4010));
        let entered = CsFields {
            selector: 0x4010,
            ..cs
        };
        assert_eq!(
            guest_cs_selector(kept, entered),
            0x4012,
            "reads report the guest's selector"
        );
        // The next entry, CS untouched: nothing to write, still kept.
        assert_eq!(cs_for_entry(kept, &state(true, entered, 0)), (None, kept));
    }

    #[test]
    fn a_far_jump_ends_the_window_and_nothing_is_kept() {
        let (_, kept) = cs_for_entry(None, &state(true, real_cs(0x4012), 0));
        let flat = CsFields {
            selector: 0x08,
            base: 0,
            limit: 0xFFFF_FFFF,
            access_rights: AR_CONFORMING_CODE,
        };
        assert_eq!(cs_for_entry(kept, &state(true, flat, 0)), (None, None));
        assert_eq!(guest_cs_selector(kept, flat), 0x08);
    }

    #[test]
    fn clearing_pe_before_any_reload_puts_the_guests_selector_back() {
        let cs = real_cs(0x4012);
        let (_, kept) = cs_for_entry(None, &state(true, cs, 0));
        let entered = CsFields {
            selector: 0x4010,
            ..cs
        };
        assert_eq!(
            cs_for_entry(kept, &state(false, entered, 0)),
            (Some(0x4012), None)
        );
    }

    #[test]
    fn real_mode_v8086_and_ordinary_protected_mode_are_left_alone() {
        // Real mode: the RPL bits of a segment number mean nothing.
        assert_eq!(
            cs_for_entry(None, &state(false, real_cs(0x4013), 0)),
            (None, None)
        );
        // Virtual-8086 mode (not `protected` here): CPL 3 whatever CS holds.
        assert_eq!(
            cs_for_entry(None, &state(false, real_cs(0x1000), 3)),
            (None, None)
        );
        // Protected mode after a far jump: CS.RPL is the CPL, at 0 and 3.
        for (selector, dpl) in [(0x08u16, 0u16), (0x1B, 3)] {
            let cs = CsFields {
                selector,
                base: 0,
                limit: 0xFFFF_FFFF,
                access_rights: AR_CONFORMING_CODE,
            };
            assert_eq!(cs_for_entry(None, &state(true, cs, dpl)), (None, None));
        }
    }

    #[test]
    fn an_unusable_ss_says_nothing_about_the_cpl_and_nothing_changes() {
        // 64-bit code at CPL 2 with a null SS.
        let cs = CsFields {
            selector: 0x2A,
            base: 0,
            limit: 0xFFFF_FFFF,
            access_rights: 0xA0DB,
        };
        let null_ss = EntryState {
            ss_dpl: None,
            ..state(true, cs, 0)
        };
        assert_eq!(cs_for_entry(None, &null_ss), (None, None));
    }

    #[test]
    fn a_selector_the_hypervisor_loads_meanwhile_is_not_overwritten() {
        let (_, kept) = cs_for_entry(None, &state(true, real_cs(0x4012), 0));
        // A real-mode CS loaded by the hypervisor (a reset, a boot): not the
        // entered one, so the kept RPL does not apply to it.
        assert_eq!(
            cs_for_entry(kept, &state(false, real_cs(0xF000), 0)),
            (None, None)
        );
    }
}
