//! The VMX control fields: which events and instructions leave the guest, and
//! what VM exits and VM entries load and save.
//!
//! Cited manual: Intel 64 and IA-32 Architectures Software Developer's Manual,
//! order number 325462, in the chapter numbering Intel adopted in 2023 (the
//! VMCS is chapter 25, VM entries 27, VM exits 28, address translation 29; older
//! editions number each one lower):
//! - vol. 3C, 25.6.1 "Pin-Based VM-Execution Controls", 25.6.2 "Processor-Based
//!   VM-Execution Controls" (primary and secondary);
//! - vol. 3C, 25.7.1 "VM-Exit Controls";
//! - vol. 3C, 25.8.1 "VM-Entry Controls".
//!
//! Which settings a processor allows is reported by the capability MSRs and
//! applied in [`crate::capabilities`].

use bitflags::bitflags;

bitflags! {
    /// Pin-based VM-execution controls (SDM 25.6.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PinBasedControls: u32 {
        /// Bit 0: external interrupts cause VM exits.
        const EXTERNAL_INTERRUPT_EXITING = 1 << 0;
        /// Bit 3: non-maskable interrupts cause VM exits.
        const NMI_EXITING = 1 << 3;
        /// Bit 5: NMIs are never blocked by the guest; virtual-NMI blocking is tracked instead.
        const VIRTUAL_NMIS = 1 << 5;
        /// Bit 6: the VMX-preemption timer counts down in non-root operation.
        const ACTIVATE_PREEMPTION_TIMER = 1 << 6;
        /// Bit 7: posted-interrupt notifications are processed.
        const PROCESS_POSTED_INTERRUPTS = 1 << 7;
    }
}

bitflags! {
    /// Primary processor-based VM-execution controls (SDM 25.6.2).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PrimaryControls: u32 {
        /// Bit 2: exit at the start of any instruction once RFLAGS.IF=1 and nothing blocks interrupts.
        const INTERRUPT_WINDOW_EXITING = 1 << 2;
        /// Bit 3: RDTSC/RDTSCP/RDMSR of IA32_TSC return the TSC plus the TSC offset.
        const USE_TSC_OFFSETTING = 1 << 3;
        /// Bit 7: HLT causes a VM exit.
        const HLT_EXITING = 1 << 7;
        /// Bit 9: INVLPG causes a VM exit.
        const INVLPG_EXITING = 1 << 9;
        /// Bit 10: MWAIT causes a VM exit.
        const MWAIT_EXITING = 1 << 10;
        /// Bit 11: RDPMC causes a VM exit.
        const RDPMC_EXITING = 1 << 11;
        /// Bit 12: RDTSC and RDTSCP cause VM exits.
        const RDTSC_EXITING = 1 << 12;
        /// Bit 15: MOV to CR3 causes a VM exit (unless the value is a CR3-target value).
        const CR3_LOAD_EXITING = 1 << 15;
        /// Bit 16: MOV from CR3 causes a VM exit.
        const CR3_STORE_EXITING = 1 << 16;
        /// Bit 17: the tertiary processor-based controls are used.
        const ACTIVATE_TERTIARY_CONTROLS = 1 << 17;
        /// Bit 19: MOV to CR8 causes a VM exit.
        const CR8_LOAD_EXITING = 1 << 19;
        /// Bit 20: MOV from CR8 causes a VM exit.
        const CR8_STORE_EXITING = 1 << 20;
        /// Bit 21: the TPR shadow in the virtual-APIC page is used.
        const USE_TPR_SHADOW = 1 << 21;
        /// Bit 22: exit at the start of any instruction once nothing blocks virtual NMIs.
        const NMI_WINDOW_EXITING = 1 << 22;
        /// Bit 23: MOV to or from a debug register causes a VM exit.
        const MOV_DR_EXITING = 1 << 23;
        /// Bit 24: every I/O instruction causes a VM exit (ignored when I/O bitmaps are used).
        const UNCONDITIONAL_IO_EXITING = 1 << 24;
        /// Bit 25: the I/O bitmaps decide which ports cause VM exits.
        const USE_IO_BITMAPS = 1 << 25;
        /// Bit 27: the monitor trap flag debugging feature is on.
        const MONITOR_TRAP_FLAG = 1 << 27;
        /// Bit 28: the MSR bitmaps decide which RDMSR/WRMSR cause VM exits.
        const USE_MSR_BITMAPS = 1 << 28;
        /// Bit 29: MONITOR causes a VM exit.
        const MONITOR_EXITING = 1 << 29;
        /// Bit 30: PAUSE causes a VM exit.
        const PAUSE_EXITING = 1 << 30;
        /// Bit 31: the secondary processor-based controls are used.
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
    }
}

bitflags! {
    /// Secondary processor-based VM-execution controls (SDM 25.6.2).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SecondaryControls: u32 {
        /// Bit 0: accesses to the APIC-access page are treated specially.
        const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
        /// Bit 1: guest-physical addresses are translated through EPT.
        const ENABLE_EPT = 1 << 1;
        /// Bit 2: LGDT/LIDT/LLDT/LTR/SGDT/SIDT/SLDT/STR cause VM exits.
        const DESCRIPTOR_TABLE_EXITING = 1 << 2;
        /// Bit 3: RDTSCP does not cause #UD.
        const ENABLE_RDTSCP = 1 << 3;
        /// Bit 4: x2APIC MSR accesses to the TPR are virtualized.
        const VIRTUALIZE_X2APIC_MODE = 1 << 4;
        /// Bit 5: linear translations are cached per virtual-processor identifier.
        const ENABLE_VPID = 1 << 5;
        /// Bit 6: WBINVD and WBNOINVD cause VM exits.
        const WBINVD_EXITING = 1 << 6;
        /// Bit 7: the guest may run with paging off or in real mode (requires EPT).
        const UNRESTRICTED_GUEST = 1 << 7;
        /// Bit 8: APIC-register reads are virtualized.
        const APIC_REGISTER_VIRTUALIZATION = 1 << 8;
        /// Bit 9: virtual interrupts are evaluated and delivered without VM exits.
        const VIRTUAL_INTERRUPT_DELIVERY = 1 << 9;
        /// Bit 10: a series of PAUSEs in a spin loop causes a VM exit.
        const PAUSE_LOOP_EXITING = 1 << 10;
        /// Bit 11: RDRAND causes a VM exit.
        const RDRAND_EXITING = 1 << 11;
        /// Bit 12: INVPCID does not cause #UD.
        const ENABLE_INVPCID = 1 << 12;
        /// Bit 13: VMFUNC does not cause #UD.
        const ENABLE_VM_FUNCTIONS = 1 << 13;
        /// Bit 14: VMREAD/VMWRITE in the guest may access a shadow VMCS.
        const VMCS_SHADOWING = 1 << 14;
        /// Bit 15: ENCLS leaves selected by the ENCLS-exiting bitmap cause VM exits.
        const ENABLE_ENCLS_EXITING = 1 << 15;
        /// Bit 16: RDSEED causes a VM exit.
        const RDSEED_EXITING = 1 << 16;
        /// Bit 17: dirtied guest-physical pages are logged (page-modification logging).
        const ENABLE_PML = 1 << 17;
        /// Bit 18: some EPT violations become virtualization exceptions (#VE) instead.
        const EPT_VIOLATION_VE = 1 << 18;
        /// Bit 19: Intel Processor Trace hides VMX non-root operation.
        const CONCEAL_VMX_FROM_PT = 1 << 19;
        /// Bit 20: XSAVES/XRSTORS do not cause #UD.
        const ENABLE_XSAVES_XRSTORS = 1 << 20;
        /// Bit 22: EPT execute permission is split by user and supervisor mode.
        const MODE_BASED_EXECUTE_CONTROL = 1 << 22;
        /// Bit 25: the TSC multiplier scales what the guest reads from the TSC.
        const USE_TSC_SCALING = 1 << 25;
    }
}

bitflags! {
    /// VM-exit controls (SDM 25.7.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ExitControls: u32 {
        /// Bit 2: DR7 and IA32_DEBUGCTL are saved into the guest-state area.
        const SAVE_DEBUG_CONTROLS = 1 << 2;
        /// Bit 9: the host runs in 64-bit mode after the exit (IA32_EFER.LMA/LME set).
        const HOST_ADDRESS_SPACE_SIZE = 1 << 9;
        /// Bit 12: IA32_PERF_GLOBAL_CTRL is loaded from the host-state area.
        const LOAD_PERF_GLOBAL_CTRL = 1 << 12;
        /// Bit 15: an external-interrupt exit acknowledges the interrupt and records its vector.
        const ACKNOWLEDGE_INTERRUPT_ON_EXIT = 1 << 15;
        /// Bit 18: IA32_PAT is saved into the guest-state area.
        const SAVE_PAT = 1 << 18;
        /// Bit 19: IA32_PAT is loaded from the host-state area.
        const LOAD_PAT = 1 << 19;
        /// Bit 20: IA32_EFER is saved into the guest-state area.
        const SAVE_EFER = 1 << 20;
        /// Bit 21: IA32_EFER is loaded from the host-state area.
        const LOAD_EFER = 1 << 21;
        /// Bit 22: the VMX-preemption timer value is saved into the guest-state area.
        const SAVE_PREEMPTION_TIMER = 1 << 22;
        /// Bit 23: IA32_BNDCFGS is cleared.
        const CLEAR_BNDCFGS = 1 << 23;
        /// Bit 24: Intel Processor Trace hides the VM exit.
        const CONCEAL_VMX_FROM_PT = 1 << 24;
    }
}

bitflags! {
    /// VM-entry controls (SDM 25.8.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EntryControls: u32 {
        /// Bit 2: DR7 and IA32_DEBUGCTL are loaded from the guest-state area.
        const LOAD_DEBUG_CONTROLS = 1 << 2;
        /// Bit 9: the guest is in IA-32e mode after the entry (IA32_EFER.LMA is loaded from this bit).
        const IA32E_MODE_GUEST = 1 << 9;
        /// Bit 10: the entry is into system-management mode (dual-monitor treatment only).
        const ENTRY_TO_SMM = 1 << 10;
        /// Bit 11: the dual-monitor treatment of SMIs and SMM is turned off.
        const DEACTIVATE_DUAL_MONITOR = 1 << 11;
        /// Bit 13: IA32_PERF_GLOBAL_CTRL is loaded from the guest-state area.
        const LOAD_PERF_GLOBAL_CTRL = 1 << 13;
        /// Bit 14: IA32_PAT is loaded from the guest-state area.
        const LOAD_PAT = 1 << 14;
        /// Bit 15: IA32_EFER is loaded from the guest-state area.
        const LOAD_EFER = 1 << 15;
        /// Bit 16: IA32_BNDCFGS is loaded from the guest-state area.
        const LOAD_BNDCFGS = 1 << 16;
        /// Bit 17: Intel Processor Trace hides the VM entry.
        const CONCEAL_VMX_FROM_PT = 1 << 17;
    }
}

/// One of the five 32-bit control fields whose allowed settings a capability
/// MSR reports (SDM vol. 3D, appendix A.3-A.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlRegister {
    Pin,
    Primary,
    Secondary,
    Exit,
    Entry,
}

impl ControlRegister {
    /// The field's name as the SDM writes it.
    pub fn name(self) -> &'static str {
        match self {
            ControlRegister::Pin => "pin-based controls",
            ControlRegister::Primary => "primary processor-based controls",
            ControlRegister::Secondary => "secondary processor-based controls",
            ControlRegister::Exit => "VM-exit controls",
            ControlRegister::Entry => "VM-entry controls",
        }
    }

    /// The SDM's name of control `bit` (0-31) of this field, if this crate knows it.
    pub fn bit_name(self, bit: u32) -> Option<&'static str> {
        use ControlRegister::*;
        Some(match (self, bit) {
            (Pin, 0) => "external-interrupt exiting",
            (Pin, 3) => "NMI exiting",
            (Pin, 5) => "virtual NMIs",
            (Pin, 6) => "activate VMX-preemption timer",
            (Pin, 7) => "process posted interrupts",
            (Primary, 2) => "interrupt-window exiting",
            (Primary, 3) => "use TSC offsetting",
            (Primary, 7) => "HLT exiting",
            (Primary, 9) => "INVLPG exiting",
            (Primary, 10) => "MWAIT exiting",
            (Primary, 11) => "RDPMC exiting",
            (Primary, 12) => "RDTSC exiting",
            (Primary, 15) => "CR3-load exiting",
            (Primary, 16) => "CR3-store exiting",
            (Primary, 17) => "activate tertiary controls",
            (Primary, 19) => "CR8-load exiting",
            (Primary, 20) => "CR8-store exiting",
            (Primary, 21) => "use TPR shadow",
            (Primary, 22) => "NMI-window exiting",
            (Primary, 23) => "MOV-DR exiting",
            (Primary, 24) => "unconditional I/O exiting",
            (Primary, 25) => "use I/O bitmaps",
            (Primary, 27) => "monitor trap flag",
            (Primary, 28) => "use MSR bitmaps",
            (Primary, 29) => "MONITOR exiting",
            (Primary, 30) => "PAUSE exiting",
            (Primary, 31) => "activate secondary controls",
            (Secondary, 0) => "virtualize APIC accesses",
            (Secondary, 1) => "enable EPT",
            (Secondary, 2) => "descriptor-table exiting",
            (Secondary, 3) => "enable RDTSCP",
            (Secondary, 4) => "virtualize x2APIC mode",
            (Secondary, 5) => "enable VPID",
            (Secondary, 6) => "WBINVD exiting",
            (Secondary, 7) => "unrestricted guest",
            (Secondary, 8) => "APIC-register virtualization",
            (Secondary, 9) => "virtual-interrupt delivery",
            (Secondary, 10) => "PAUSE-loop exiting",
            (Secondary, 11) => "RDRAND exiting",
            (Secondary, 12) => "enable INVPCID",
            (Secondary, 13) => "enable VM functions",
            (Secondary, 14) => "VMCS shadowing",
            (Secondary, 15) => "enable ENCLS exiting",
            (Secondary, 16) => "RDSEED exiting",
            (Secondary, 17) => "enable PML",
            (Secondary, 18) => "EPT-violation #VE",
            (Secondary, 19) => "conceal VMX from PT",
            (Secondary, 20) => "enable XSAVES/XRSTORS",
            (Secondary, 22) => "mode-based execute control for EPT",
            (Secondary, 25) => "use TSC scaling",
            (Exit, 2) => "save debug controls",
            (Exit, 9) => "host address-space size",
            (Exit, 12) => "load IA32_PERF_GLOBAL_CTRL",
            (Exit, 15) => "acknowledge interrupt on exit",
            (Exit, 18) => "save IA32_PAT",
            (Exit, 19) => "load IA32_PAT",
            (Exit, 20) => "save IA32_EFER",
            (Exit, 21) => "load IA32_EFER",
            (Exit, 22) => "save VMX-preemption timer value",
            (Exit, 23) => "clear IA32_BNDCFGS",
            (Exit, 24) => "conceal VMX from PT",
            (Entry, 2) => "load debug controls",
            (Entry, 9) => "IA-32e mode guest",
            (Entry, 10) => "entry to SMM",
            (Entry, 11) => "deactivate dual-monitor treatment",
            (Entry, 13) => "load IA32_PERF_GLOBAL_CTRL",
            (Entry, 14) => "load IA32_PAT",
            (Entry, 15) => "load IA32_EFER",
            (Entry, 16) => "load IA32_BNDCFGS",
            (Entry, 17) => "conceal VMX from PT",
            _ => return None,
        })
    }

    /// The bits of this field that have a named constant here.
    pub fn named_bits(self) -> u32 {
        match self {
            ControlRegister::Pin => PinBasedControls::all().bits(),
            ControlRegister::Primary => PrimaryControls::all().bits(),
            ControlRegister::Secondary => SecondaryControls::all().bits(),
            ControlRegister::Exit => ExitControls::all().bits(),
            ControlRegister::Entry => EntryControls::all().bits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ControlRegister; 5] = [
        ControlRegister::Pin,
        ControlRegister::Primary,
        ControlRegister::Secondary,
        ControlRegister::Exit,
        ControlRegister::Entry,
    ];

    #[test]
    fn every_named_constant_has_an_sdm_name_and_no_other_bit_does() {
        for register in ALL {
            for bit in 0..32 {
                let named = register.named_bits() & (1 << bit) != 0;
                assert_eq!(
                    register.bit_name(bit).is_some(),
                    named,
                    "{register:?} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn bit_positions_match_the_sdm_tables() {
        assert_eq!(PrimaryControls::HLT_EXITING.bits(), 0x80);
        assert_eq!(
            PrimaryControls::ACTIVATE_SECONDARY_CONTROLS.bits(),
            0x8000_0000
        );
        assert_eq!(
            (SecondaryControls::ENABLE_EPT | SecondaryControls::UNRESTRICTED_GUEST).bits(),
            0x82
        );
        assert_eq!(SecondaryControls::ENABLE_VPID.bits(), 0x20);
        assert_eq!(ExitControls::HOST_ADDRESS_SPACE_SIZE.bits(), 0x200);
        assert_eq!(EntryControls::IA32E_MODE_GUEST.bits(), 0x200);
        assert_eq!(EntryControls::LOAD_EFER.bits(), 0x8000);
        assert_eq!(PinBasedControls::VIRTUAL_NMIS.bits(), 0x20);
    }

    #[test]
    fn names_are_the_sdm_spelling() {
        assert_eq!(ControlRegister::Secondary.bit_name(1), Some("enable EPT"));
        assert_eq!(
            ControlRegister::Secondary.bit_name(7),
            Some("unrestricted guest")
        );
        assert_eq!(ControlRegister::Primary.bit_name(0), None);
        assert_eq!(ControlRegister::Entry.bit_name(32), None);
        assert_eq!(
            ControlRegister::Secondary.name(),
            "secondary processor-based controls"
        );
    }
}
