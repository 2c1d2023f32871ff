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
    TaskSwitchQualification, TaskSwitchSource,
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
    /// The VMX-preemption timer counted down to 0 (basic reason 52; SDM
    /// vol. 3C, 26.5.1 "VMX-Preemption Timer"): the deadline the run loop
    /// set has come. The exit has no qualification.
    PreemptionTimer,
    EptViolation {
        gpa: u64,
        violation: EptViolation,
        /// The event the processor was delivering when the violation
        /// happened, from the IDT-vectoring information field (SDM vol. 3C,
        /// 25.9.3); None for an access of the instruction at RIP.
        during_delivery: Option<InterruptionInfo>,
    },
    /// A task switch, which VMX non-root operation leaves to the hypervisor
    /// once the gate and the new TSS descriptor passed their checks (SDM
    /// vol. 3C, 26.4.2 "Treatment of Task Switches").
    TaskSwitch {
        qualification: TaskSwitchQualification,
        /// Guest RIP plus the VM-exit instruction length (SDM 28.2.5) when an
        /// instruction started the switch: CALL, JMP, IRET, or INT n, INT3,
        /// INTO, INT1 through a task gate. None for an event the processor
        /// raised, whose task returns to guest RIP.
        next_rip: Option<u64>,
        /// For a switch through a task gate in the IDT, the event being
        /// delivered and its error code, from the IDT-vectoring fields (SDM
        /// 25.9.3); None otherwise.
        event: Option<(InterruptionInfo, Option<u32>)>,
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
        ExitReason::PreemptionTimer => VmxExit::PreemptionTimer,
        ExitReason::EptViolation => VmxExit::EptViolation {
            gpa: read(w64::GUEST_PHYSICAL_ADDRESS),
            violation: EptViolation::decode(qualification),
            during_delivery: InterruptionInfo::decode(read(w32::IDT_VECTORING_INFO) as u32),
        },
        ExitReason::TaskSwitch => decode_task_switch(qualification, &read),
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

/// A task-switch exit: the qualification, the event from the IDT-vectoring
/// fields for a switch through a task gate, and the return RIP where an
/// instruction started the switch.
fn decode_task_switch(qualification: u64, read: &impl Fn(u32) -> u64) -> VmxExit {
    let qualification = TaskSwitchQualification::decode(qualification);
    let event = match qualification.source {
        TaskSwitchSource::IdtGate => InterruptionInfo::decode(read(w32::IDT_VECTORING_INFO) as u32)
            .map(|info| {
                let error_code = info
                    .error_code_valid
                    .then(|| read(w32::IDT_VECTORING_ERROR_CODE) as u32);
                (info, error_code)
            }),
        _ => None,
    };
    let by_instruction = match event {
        Some((info, _)) => info.kind.needs_instruction_length(),
        None => qualification.source != TaskSwitchSource::IdtGate,
    };
    let next_rip =
        by_instruction.then(|| read(n::GUEST_RIP).wrapping_add(read(w32::EXIT_INSTRUCTION_LENGTH)));
    VmxExit::TaskSwitch {
        qualification,
        next_rip,
        event,
    }
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
    fn a_task_switch_by_an_instruction_carries_its_next_rip() {
        // JMP 0030:0 to a TSS: source 2, instruction length 2 at FFF0h.
        let exit = decode(u32::from(reason::TASK_SWITCH), (2 << 30) | 0x30, vmcs);
        assert_eq!(
            exit,
            Decoded::Exit(VmxExit::TaskSwitch {
                qualification: TaskSwitchQualification {
                    selector: 0x30,
                    source: TaskSwitchSource::Jmp
                },
                next_rip: Some(0xFFF2),
                event: None,
            })
        );
    }

    #[test]
    fn a_task_switch_through_a_task_gate_carries_the_event_and_its_error_code() {
        // #DF (vector 8, hardware exception, error code 0) through the gate.
        let df = 8 | (3 << 8) | (1 << 11) | (1 << 31);
        let fields = |field| match field {
            w32::IDT_VECTORING_INFO => df,
            w32::IDT_VECTORING_ERROR_CODE => 0,
            other => vmcs(other),
        };
        let Decoded::Exit(VmxExit::TaskSwitch {
            qualification,
            next_rip,
            event: Some((info, error_code)),
        }) = decode(u32::from(reason::TASK_SWITCH), (3 << 30) | 0x48, fields)
        else {
            panic!("not a task switch with its event");
        };
        assert_eq!(qualification.selector, 0x48);
        assert_eq!(qualification.source, TaskSwitchSource::IdtGate);
        assert_eq!(
            (info.vector, info.kind),
            (8, InterruptionType::HardwareException)
        );
        assert_eq!(error_code, Some(0));
        assert_eq!(next_rip, None, "a fault's task returns to the faulting RIP");
        // INT 30h through a task gate returns past the instruction.
        let int30 = 0x30 | (4 << 8) | (1 << 31);
        let fields = |field| match field {
            w32::IDT_VECTORING_INFO => int30,
            other => vmcs(other),
        };
        let Decoded::Exit(VmxExit::TaskSwitch {
            next_rip,
            event: Some((_, error_code)),
            ..
        }) = decode(u32::from(reason::TASK_SWITCH), (3 << 30) | 0x48, fields)
        else {
            panic!("not a task switch with its event");
        };
        assert_eq!((next_rip, error_code), (Some(0xFFF2), None));
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
    fn reason_52_is_the_preemption_timer() {
        assert_eq!(reason::PREEMPTION_TIMER, 52);
        assert_eq!(decode(52, 0, vmcs), Decoded::Exit(VmxExit::PreemptionTimer));
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
