//! VM-exit decoding: the exit-reason field, the exit qualifications this
//! backend handles, the interruption-information format shared by VM-exit
//! interruption information, IDT-vectoring information and VM-entry
//! interruption information, and the exit type the vCPU returns,
//! [`VmxExit`], decoded from them.
//!
//! Cited manual: Intel 64 and IA-32 Architectures Software Developer's Manual,
//! order number 325462, in the chapter numbering Intel adopted in 2023 (see
//! [`crate::controls`]):
//! - vol. 3D, appendix C "VMX Basic Exit Reasons";
//! - vol. 3C, 25.9.1 "Basic VM-Exit Information" (the exit-reason field),
//!   25.9.2 "Information for VM Exits Due to Vectored Events", 25.9.3
//!   "Information for VM Exits That Occur During Event Delivery";
//! - vol. 3C, 28.2.1 "Basic VM-Exit Information" (exit qualifications for
//!   task switches, control-register accesses, I/O instructions and EPT
//!   violations);
//! - vol. 3C, 26.4.2 "Treatment of Task Switches";
//! - vol. 3C, 25.8.3 "VM-Entry Controls for Event Injection" and 27.6.1.1
//!   "Details of Vectored-Event Injection".
//!
//! Every decoder is total: any 32- or 64-bit value decodes without panicking.

mod decode;
mod interruption;
mod qualification;

pub use decode::VmxExit;
pub(crate) use decode::{decode, Decoded};
pub use interruption::{
    encode_entry_interruption, entry_error_code, InterruptionInfo, InterruptionType,
};
pub use qualification::{
    CrAccess, EptViolation, IoQualification, TaskSwitchQualification, TaskSwitchSource,
};

/// Basic exit reasons, bits 15:0 of the exit-reason field (appendix C).
pub mod reason {
    /// Exception or non-maskable interrupt.
    pub const EXCEPTION_OR_NMI: u16 = 0;
    /// External interrupt.
    pub const EXTERNAL_INTERRUPT: u16 = 1;
    /// Triple fault.
    pub const TRIPLE_FAULT: u16 = 2;
    /// INIT signal.
    pub const INIT: u16 = 3;
    /// Start-up IPI.
    pub const SIPI: u16 = 4;
    /// I/O system-management interrupt.
    pub const IO_SMI: u16 = 5;
    /// Other system-management interrupt.
    pub const OTHER_SMI: u16 = 6;
    /// Interrupt window opened.
    pub const INTERRUPT_WINDOW: u16 = 7;
    /// NMI window opened.
    pub const NMI_WINDOW: u16 = 8;
    /// Task switch.
    pub const TASK_SWITCH: u16 = 9;
    /// CPUID.
    pub const CPUID: u16 = 10;
    /// GETSEC.
    pub const GETSEC: u16 = 11;
    /// HLT.
    pub const HLT: u16 = 12;
    /// INVD.
    pub const INVD: u16 = 13;
    /// INVLPG.
    pub const INVLPG: u16 = 14;
    /// RDPMC.
    pub const RDPMC: u16 = 15;
    /// RDTSC.
    pub const RDTSC: u16 = 16;
    /// RSM in SMM.
    pub const RSM: u16 = 17;
    /// VMCALL.
    pub const VMCALL: u16 = 18;
    /// VMCLEAR.
    pub const VMCLEAR: u16 = 19;
    /// VMLAUNCH.
    pub const VMLAUNCH: u16 = 20;
    /// VMPTRLD.
    pub const VMPTRLD: u16 = 21;
    /// VMPTRST.
    pub const VMPTRST: u16 = 22;
    /// VMREAD.
    pub const VMREAD: u16 = 23;
    /// VMRESUME.
    pub const VMRESUME: u16 = 24;
    /// VMWRITE.
    pub const VMWRITE: u16 = 25;
    /// VMXOFF.
    pub const VMXOFF: u16 = 26;
    /// VMXON.
    pub const VMXON: u16 = 27;
    /// Control-register access (MOV CR, CLTS, LMSW).
    pub const CR_ACCESS: u16 = 28;
    /// MOV DR.
    pub const MOV_DR: u16 = 29;
    /// I/O instruction.
    pub const IO_INSTRUCTION: u16 = 30;
    /// RDMSR.
    pub const RDMSR: u16 = 31;
    /// WRMSR.
    pub const WRMSR: u16 = 32;
    /// VM-entry failure due to invalid guest state.
    pub const ENTRY_FAILURE_GUEST_STATE: u16 = 33;
    /// VM-entry failure due to MSR loading.
    pub const ENTRY_FAILURE_MSR_LOADING: u16 = 34;
    /// MWAIT.
    pub const MWAIT: u16 = 36;
    /// Monitor trap flag.
    pub const MONITOR_TRAP_FLAG: u16 = 37;
    /// MONITOR.
    pub const MONITOR: u16 = 39;
    /// PAUSE.
    pub const PAUSE: u16 = 40;
    /// VM-entry failure due to a machine-check event.
    pub const ENTRY_FAILURE_MACHINE_CHECK: u16 = 41;
    /// TPR below threshold.
    pub const TPR_BELOW_THRESHOLD: u16 = 43;
    /// APIC access.
    pub const APIC_ACCESS: u16 = 44;
    /// Virtualized EOI.
    pub const VIRTUALIZED_EOI: u16 = 45;
    /// Access to GDTR or IDTR.
    pub const GDTR_IDTR_ACCESS: u16 = 46;
    /// Access to LDTR or TR.
    pub const LDTR_TR_ACCESS: u16 = 47;
    /// EPT violation.
    pub const EPT_VIOLATION: u16 = 48;
    /// EPT misconfiguration.
    pub const EPT_MISCONFIGURATION: u16 = 49;
    /// INVEPT.
    pub const INVEPT: u16 = 50;
    /// RDTSCP.
    pub const RDTSCP: u16 = 51;
    /// VMX-preemption timer expired.
    pub const PREEMPTION_TIMER: u16 = 52;
    /// INVVPID.
    pub const INVVPID: u16 = 53;
    /// WBINVD or WBNOINVD.
    pub const WBINVD: u16 = 54;
    /// XSETBV.
    pub const XSETBV: u16 = 55;
    /// APIC write.
    pub const APIC_WRITE: u16 = 56;
    /// RDRAND.
    pub const RDRAND: u16 = 57;
    /// INVPCID.
    pub const INVPCID: u16 = 58;
    /// VMFUNC.
    pub const VMFUNC: u16 = 59;
    /// ENCLS.
    pub const ENCLS: u16 = 60;
    /// RDSEED.
    pub const RDSEED: u16 = 61;
    /// Page-modification log full.
    pub const PML_FULL: u16 = 62;
    /// XSAVES.
    pub const XSAVES: u16 = 63;
    /// XRSTORS.
    pub const XRSTORS: u16 = 64;
}

/// A VMX instruction the guest executed (each one exits unconditionally).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmxInstruction {
    Vmclear,
    Vmlaunch,
    Vmptrld,
    Vmptrst,
    Vmread,
    Vmresume,
    Vmwrite,
    Vmxoff,
    Vmxon,
    Invept,
    Invvpid,
    Vmfunc,
}

/// A basic exit reason (appendix C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    ExceptionOrNmi,
    ExternalInterrupt,
    TripleFault,
    Init,
    Sipi,
    IoSmi,
    OtherSmi,
    InterruptWindow,
    NmiWindow,
    TaskSwitch,
    Cpuid,
    Getsec,
    Hlt,
    Invd,
    Invlpg,
    Rdpmc,
    Rdtsc,
    Rsm,
    Vmcall,
    Vmx(VmxInstruction),
    CrAccess,
    MovDr,
    IoInstruction,
    Rdmsr,
    Wrmsr,
    /// VM entry failed: invalid guest state.
    EntryFailureGuestState,
    /// VM entry failed: an entry in the VM-entry MSR-load area.
    EntryFailureMsrLoading,
    Mwait,
    MonitorTrapFlag,
    Monitor,
    Pause,
    /// VM entry failed: a machine-check event.
    EntryFailureMachineCheck,
    TprBelowThreshold,
    ApicAccess,
    VirtualizedEoi,
    GdtrIdtrAccess,
    LdtrTrAccess,
    EptViolation,
    EptMisconfiguration,
    Rdtscp,
    PreemptionTimer,
    Wbinvd,
    Xsetbv,
    ApicWrite,
    Rdrand,
    Invpcid,
    Encls,
    Rdseed,
    PmlFull,
    Xsaves,
    Xrstors,
    /// A basic reason this crate does not name.
    Unknown(u16),
}

impl ExitReason {
    /// Decodes a basic exit reason.
    pub fn from_basic(basic: u16) -> Self {
        use ExitReason as E;
        use VmxInstruction as V;
        match basic {
            reason::EXCEPTION_OR_NMI => E::ExceptionOrNmi,
            reason::EXTERNAL_INTERRUPT => E::ExternalInterrupt,
            reason::TRIPLE_FAULT => E::TripleFault,
            reason::INIT => E::Init,
            reason::SIPI => E::Sipi,
            reason::IO_SMI => E::IoSmi,
            reason::OTHER_SMI => E::OtherSmi,
            reason::INTERRUPT_WINDOW => E::InterruptWindow,
            reason::NMI_WINDOW => E::NmiWindow,
            reason::TASK_SWITCH => E::TaskSwitch,
            reason::CPUID => E::Cpuid,
            reason::GETSEC => E::Getsec,
            reason::HLT => E::Hlt,
            reason::INVD => E::Invd,
            reason::INVLPG => E::Invlpg,
            reason::RDPMC => E::Rdpmc,
            reason::RDTSC => E::Rdtsc,
            reason::RSM => E::Rsm,
            reason::VMCALL => E::Vmcall,
            reason::VMCLEAR => E::Vmx(V::Vmclear),
            reason::VMLAUNCH => E::Vmx(V::Vmlaunch),
            reason::VMPTRLD => E::Vmx(V::Vmptrld),
            reason::VMPTRST => E::Vmx(V::Vmptrst),
            reason::VMREAD => E::Vmx(V::Vmread),
            reason::VMRESUME => E::Vmx(V::Vmresume),
            reason::VMWRITE => E::Vmx(V::Vmwrite),
            reason::VMXOFF => E::Vmx(V::Vmxoff),
            reason::VMXON => E::Vmx(V::Vmxon),
            reason::CR_ACCESS => E::CrAccess,
            reason::MOV_DR => E::MovDr,
            reason::IO_INSTRUCTION => E::IoInstruction,
            reason::RDMSR => E::Rdmsr,
            reason::WRMSR => E::Wrmsr,
            reason::ENTRY_FAILURE_GUEST_STATE => E::EntryFailureGuestState,
            reason::ENTRY_FAILURE_MSR_LOADING => E::EntryFailureMsrLoading,
            reason::MWAIT => E::Mwait,
            reason::MONITOR_TRAP_FLAG => E::MonitorTrapFlag,
            reason::MONITOR => E::Monitor,
            reason::PAUSE => E::Pause,
            reason::ENTRY_FAILURE_MACHINE_CHECK => E::EntryFailureMachineCheck,
            reason::TPR_BELOW_THRESHOLD => E::TprBelowThreshold,
            reason::APIC_ACCESS => E::ApicAccess,
            reason::VIRTUALIZED_EOI => E::VirtualizedEoi,
            reason::GDTR_IDTR_ACCESS => E::GdtrIdtrAccess,
            reason::LDTR_TR_ACCESS => E::LdtrTrAccess,
            reason::EPT_VIOLATION => E::EptViolation,
            reason::EPT_MISCONFIGURATION => E::EptMisconfiguration,
            reason::INVEPT => E::Vmx(V::Invept),
            reason::RDTSCP => E::Rdtscp,
            reason::PREEMPTION_TIMER => E::PreemptionTimer,
            reason::INVVPID => E::Vmx(V::Invvpid),
            reason::WBINVD => E::Wbinvd,
            reason::XSETBV => E::Xsetbv,
            reason::APIC_WRITE => E::ApicWrite,
            reason::RDRAND => E::Rdrand,
            reason::INVPCID => E::Invpcid,
            reason::VMFUNC => E::Vmx(V::Vmfunc),
            reason::ENCLS => E::Encls,
            reason::RDSEED => E::Rdseed,
            reason::PML_FULL => E::PmlFull,
            reason::XSAVES => E::Xsaves,
            reason::XRSTORS => E::Xrstors,
            other => E::Unknown(other),
        }
    }
}

/// Exit-reason bits 15:0: the basic exit reason.
const EXIT_REASON_BASIC_MASK: u32 = 0xFFFF;
/// Exit-reason bit 27: the exit came from enclave mode.
const EXIT_REASON_ENCLAVE: u32 = 1 << 27;
/// Exit-reason bit 28: a monitor-trap-flag exit was pending (SMM exits only).
const EXIT_REASON_PENDING_MTF: u32 = 1 << 28;
/// Exit-reason bit 29: the exit came from VMX root operation (SMM exits only).
const EXIT_REASON_FROM_ROOT: u32 = 1 << 29;
/// Exit-reason bit 31: VM entry failed (the guest never ran).
const EXIT_REASON_ENTRY_FAILURE: u32 = 1 << 31;

/// The 32-bit exit-reason VMCS field, decoded (SDM 25.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitReasonField {
    pub reason: ExitReason,
    /// Bit 31: VM entry failed; only reasons 33, 34 and 41 come with it.
    pub entry_failure: bool,
    /// Bit 27: the guest was in an SGX enclave.
    pub from_enclave: bool,
    /// Bit 28: an MTF VM exit was pending.
    pub pending_mtf: bool,
    /// Bit 29: the exit came from VMX root operation.
    pub from_vmx_root: bool,
}

impl ExitReasonField {
    /// Decodes the exit-reason field.
    pub fn decode(raw: u32) -> Self {
        Self {
            reason: ExitReason::from_basic((raw & EXIT_REASON_BASIC_MASK) as u16),
            entry_failure: raw & EXIT_REASON_ENTRY_FAILURE != 0,
            from_enclave: raw & EXIT_REASON_ENCLAVE != 0,
            pending_mtf: raw & EXIT_REASON_PENDING_MTF != 0,
            from_vmx_root: raw & EXIT_REASON_FROM_ROOT != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_reasons_decode_per_appendix_c() {
        assert_eq!(ExitReason::from_basic(0), ExitReason::ExceptionOrNmi);
        assert_eq!(ExitReason::from_basic(10), ExitReason::Cpuid);
        assert_eq!(ExitReason::from_basic(12), ExitReason::Hlt);
        assert_eq!(ExitReason::from_basic(30), ExitReason::IoInstruction);
        assert_eq!(ExitReason::from_basic(48), ExitReason::EptViolation);
        assert_eq!(ExitReason::from_basic(49), ExitReason::EptMisconfiguration);
        assert_eq!(ExitReason::from_basic(52), ExitReason::PreemptionTimer);
        assert_eq!(ExitReason::from_basic(64), ExitReason::Xrstors);
        assert_eq!(
            ExitReason::from_basic(24),
            ExitReason::Vmx(VmxInstruction::Vmresume)
        );
        assert_eq!(
            ExitReason::from_basic(50),
            ExitReason::Vmx(VmxInstruction::Invept)
        );
    }

    #[test]
    fn gaps_and_unknown_reasons_are_kept_as_numbers() {
        for n in [35, 38, 42, 65, 0xFFFF] {
            assert_eq!(ExitReason::from_basic(n), ExitReason::Unknown(n));
        }
    }

    #[test]
    fn exit_reason_field_separates_entry_failure_and_flags() {
        let f = ExitReasonField::decode((1 << 31) | 33);
        assert_eq!(f.reason, ExitReason::EntryFailureGuestState);
        assert!(f.entry_failure && !f.from_enclave);
        let f = ExitReasonField::decode((1 << 27) | (1 << 28) | (1 << 29) | 12);
        assert_eq!(f.reason, ExitReason::Hlt);
        assert!(!f.entry_failure && f.from_enclave && f.pending_mtf && f.from_vmx_root);
    }

    #[test]
    fn every_exit_reason_field_decodes() {
        for raw in (0..=u32::MAX).step_by(0x1_0001) {
            let _ = ExitReasonField::decode(raw);
        }
    }
}
