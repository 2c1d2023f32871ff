//! Turning the exit-information fields of the current VMCS into the crate's
//! exit type, [`VmxExit`] (SDM vol. 3C, 25.9 "VM-Exit Information Fields";
//! 28.2.1 for the exit qualifications).
//!
//! The decoder reads the exit reason and qualification it is given and asks
//! for any other field (guest RIP, instruction length, guest-physical
//! address) only for the exits that carry it. CR accesses come back
//! undecided: the vCPU completes a MOV to a host-owned CR0/CR4 bit itself
//! (see `vcpu::control_registers`), and such exits never leave this crate.

use super::{
    CrAccess, EptViolation, ExitReason, ExitReasonField, InterruptionInfo, IoQualification,
};
use crate::fields::{natural as n, w32, w64};
use crate::instructions::VmxError;

/// A decoded VM exit (CR accesses to host-owned bits never leave this crate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmxExit {
    Io {
        info: IoQualification,
        next_rip: u64,
    },
    Cpuid,
    Rdmsr,
    Wrmsr,
    Hlt,
    TripleFault,
    ExternalInterrupt,
    InterruptWindow,
    Nmi,
    Vmcall,
    VmxInstruction,
    Xsetbv,
    /// INVD, which exits unconditionally (SDM vol. 3C, 26.1.2).
    Invd,
    /// WBINVD or WBNOINVD, with "WBINVD exiting" set.
    Wbinvd,
    EptViolation {
        gpa: u64,
        violation: EptViolation,
        /// The event the processor was delivering when the violation
        /// happened, from the IDT-vectoring information field (SDM vol. 3C,
        /// 25.9.3); None for an access of the instruction at RIP.
        during_delivery: Option<InterruptionInfo>,
    },
    /// The VM entry failed on the guest state (reason 33) or MSR loading (34).
    InvalidGuestState {
        reason: u16,
        qualification: u64,
    },
    /// VMLAUNCH/VMRESUME itself failed (VMfail).
    EntryFailed(VmxError),
    Other {
        reason: u16,
        qualification: u64,
    },
}

/// What an exit decodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// An exit for the hypervisor.
    Exit(VmxExit),
    /// A control-register access: the vCPU completes it if it can, and
    /// reports `otherwise` if not.
    CrAccess {
        access: CrAccess,
        otherwise: VmxExit,
    },
}

/// Decodes the exit whose exit-reason field is `raw_reason` and whose exit
/// qualification is `qualification`; `read` reads any other field of the
/// current VMCS (by its encoding) the exit needs.
pub(crate) fn decode(raw_reason: u32, qualification: u64, read: impl Fn(u32) -> u64) -> Decoded {
    let field = ExitReasonField::decode(raw_reason);
    let basic = raw_reason as u16;
    Decoded::Exit(match field.reason {
        ExitReason::IoInstruction => match IoQualification::decode(qualification) {
            Some(info) => {
                let next_rip = read(n::GUEST_RIP).wrapping_add(read(w32::EXIT_INSTRUCTION_LENGTH));
                VmxExit::Io { info, next_rip }
            }
            None => VmxExit::Other {
                reason: basic,
                qualification,
            },
        },
        ExitReason::Cpuid => VmxExit::Cpuid,
        ExitReason::Rdmsr => VmxExit::Rdmsr,
        ExitReason::Wrmsr => VmxExit::Wrmsr,
        ExitReason::Hlt => VmxExit::Hlt,
        ExitReason::TripleFault => VmxExit::TripleFault,
        ExitReason::ExternalInterrupt | ExitReason::Init | ExitReason::Sipi => {
            VmxExit::ExternalInterrupt
        }
        ExitReason::InterruptWindow => VmxExit::InterruptWindow,
        ExitReason::ExceptionOrNmi => VmxExit::Nmi,
        ExitReason::Vmcall => VmxExit::Vmcall,
        ExitReason::Vmx(_) => VmxExit::VmxInstruction,
        ExitReason::Xsetbv => VmxExit::Xsetbv,
        ExitReason::Invd => VmxExit::Invd,
        ExitReason::Wbinvd => VmxExit::Wbinvd,
        ExitReason::EptViolation => VmxExit::EptViolation {
            gpa: read(w64::GUEST_PHYSICAL_ADDRESS),
            violation: EptViolation::decode(qualification),
            during_delivery: InterruptionInfo::decode(read(w32::IDT_VECTORING_INFO) as u32),
        },
        ExitReason::CrAccess => {
            return Decoded::CrAccess {
                access: CrAccess::decode(qualification),
                otherwise: VmxExit::Other {
                    reason: basic,
                    qualification,
                },
            }
        }
        ExitReason::EntryFailureGuestState | ExitReason::EntryFailureMsrLoading => {
            VmxExit::InvalidGuestState {
                reason: basic,
                qualification,
            }
        }
        _ => VmxExit::Other {
            reason: basic,
            qualification,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{reason, InterruptionType};

    /// A VMCS whose fields all read 0 but guest RIP, the instruction length
    /// and the guest-physical address.
    fn vmcs(field: u32) -> u64 {
        match field {
            n::GUEST_RIP => 0xFFF0,
            w32::EXIT_INSTRUCTION_LENGTH => 2,
            w64::GUEST_PHYSICAL_ADDRESS => 0xFEE0_0000,
            _ => 0,
        }
    }

    #[test]
    fn io_exits_carry_the_next_rip() {
        // OUT DX, AL to port 3F8h (SDM table 28-5).
        let q = (0x3F8 << 16) | (1 << 6);
        let Decoded::Exit(VmxExit::Io { info, next_rip }) =
            decode(u32::from(reason::IO_INSTRUCTION), q, vmcs)
        else {
            panic!("not an I/O exit");
        };
        assert_eq!(info.port, 0x3F8);
        assert_eq!(next_rip, 0xFFF2);
    }

    #[test]
    fn ept_violations_read_the_guest_physical_address() {
        assert!(matches!(
            decode(u32::from(reason::EPT_VIOLATION), 0x2, vmcs),
            Decoded::Exit(VmxExit::EptViolation {
                gpa: 0xFEE0_0000,
                ..
            })
        ));
    }

    #[test]
    fn an_ept_violation_during_event_delivery_carries_the_idt_vectoring_information() {
        // INT3 (vector 3, software exception, type 6) being delivered.
        let int3 = 3 | (6 << 8) | (1 << 31);
        let vectoring = |field| match field {
            w32::IDT_VECTORING_INFO => int3,
            other => vmcs(other),
        };
        let Decoded::Exit(VmxExit::EptViolation {
            during_delivery, ..
        }) = decode(u32::from(reason::EPT_VIOLATION), 0x1, vectoring)
        else {
            panic!("not an EPT violation");
        };
        let info = during_delivery.expect("the event in delivery");
        assert_eq!(info.vector, 3);
        assert_eq!(info.kind, InterruptionType::SoftwareException);
        // Without a valid IDT-vectoring field there is none.
        assert!(matches!(
            decode(u32::from(reason::EPT_VIOLATION), 0x1, vmcs),
            Decoded::Exit(VmxExit::EptViolation {
                during_delivery: None,
                ..
            })
        ));
    }

    #[test]
    fn cr_accesses_are_left_to_the_vcpu_with_a_fallback() {
        // MOV CR0, RAX.
        let Decoded::CrAccess { access, otherwise } = decode(u32::from(reason::CR_ACCESS), 0, vmcs)
        else {
            panic!("not a CR access");
        };
        assert_eq!(access, CrAccess::MovToCr { cr: 0, gpr: 0 });
        assert_eq!(
            otherwise,
            VmxExit::Other {
                reason: reason::CR_ACCESS,
                qualification: 0
            }
        );
    }

    #[test]
    fn invd_and_wbinvd_are_exits_of_their_own() {
        assert_eq!(
            decode(u32::from(reason::INVD), 0, vmcs),
            Decoded::Exit(VmxExit::Invd)
        );
        assert_eq!(
            decode(u32::from(reason::WBINVD), 0, vmcs),
            Decoded::Exit(VmxExit::Wbinvd)
        );
    }

    #[test]
    fn entry_failures_keep_the_basic_reason() {
        assert_eq!(
            decode(
                (1 << 31) | u32::from(reason::ENTRY_FAILURE_GUEST_STATE),
                3,
                vmcs
            ),
            Decoded::Exit(VmxExit::InvalidGuestState {
                reason: reason::ENTRY_FAILURE_GUEST_STATE,
                qualification: 3
            })
        );
    }
}
