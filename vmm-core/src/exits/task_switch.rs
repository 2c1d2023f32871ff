//! A task switch the hardware left to the hypervisor (VT-x exits on each
//! one, Intel SDM vol. 3C, 26.4.2 "Treatment of Task Switches"; SVM
//! performs them itself, `svm::intercepts`). The switch is emulated by
//! [`crate::task_switch`]; this file supplies where the old task resumes
//! and turns the outcome into the guest's:
//!
//! - Done: the guest runs on in the new task.
//! - A fault: delivered to the guest. When the switch was delivering a
//!   hardware exception through a task gate, the fault is a second one
//!   during its delivery and combines with it as the processor combines
//!   them (SDM vol. 3A, 7.15 "Interrupt 8—Double Fault Exception (#DF)",
//!   tables 7-4 and 7-5): contributory after contributory, or contributory
//!   or #PF after #PF, is #DF(0); contributory or #PF while delivering #DF
//!   is a triple fault, and the guest is stopped and reported.
//! - Memory that is not RAM, or a mode without task switches: the guest is
//!   stopped and reported ([`StopReason::TaskSwitch`]).

use super::flow::Flow;
use super::instruction::{fetch_failed, inject};
use super::stop::StopReason;
use crate::domain::Domain;
use crate::emulator::fetch::decode_at_rip;
use crate::emulator::GuestFault;
use crate::task_switch::{switch_task, Failure, Request};
use crate::vcpu::{vector, EventKind, Exception, TaskSwitchSource, Vcpu};

/// Handles a task switch to TSS `selector` started by `source`; `next_rip`
/// is the RIP past the instruction that started it, where reported.
pub(super) fn handle_task_switch(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    selector: u16,
    source: TaskSwitchSource,
    next_rip: Option<u64>,
) -> Flow {
    // CALL, JMP, IRET and INT n resume past the instruction; an event the
    // processor raised resumes at RIP (the faulting instruction for a fault,
    // the next one for an interrupt).
    let by_instruction = match source {
        TaskSwitchSource::Gate { kind, .. } => kind == EventKind::Software,
        _ => true,
    };
    let return_rip = match (by_instruction, next_rip) {
        (false, _) => vcpu.rip(),
        (true, Some(rip)) => rip,
        (true, None) => match decode_at_rip(vcpu, &mut dom.memory, dom.max_phys_bits) {
            Ok(insn) => insn.next_ip(),
            Err(e) => return fetch_failed(vcpu, e),
        },
    };
    let request = Request {
        selector,
        source,
        return_rip,
    };
    match switch_task(vcpu, &mut dom.memory, dom.max_phys_bits, &request) {
        Ok(()) => Flow::Continue,
        Err(Failure::Fault(fault)) => deliver(vcpu, dom, source, fault),
        Err(Failure::Stop(cause)) => Flow::Stop(StopReason::TaskSwitch { selector, cause }),
    }
}

/// How the processor treats a second exception raised while it delivers a
/// first one (SDM vol. 3A, 7.15, table 7-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combined {
    /// The second is delivered on its own.
    Serial,
    DoubleFault,
    TripleFault,
}

/// #DE, #TS, #NP, #SS, #GP, #CP: the contributory exceptions (table 7-4).
fn contributory(vector: u8) -> bool {
    matches!(vector, 0 | 10..=13 | 21)
}

/// #PF and #VE: the page-fault class (table 7-4).
fn page_fault_class(vector: u8) -> bool {
    matches!(vector, 14 | 20)
}

fn combine(first: u8, second: u8) -> Combined {
    let serious = contributory(second) || page_fault_class(second);
    if first == vector::DF && serious {
        Combined::TripleFault
    } else if (contributory(first) && contributory(second)) || (page_fault_class(first) && serious)
    {
        Combined::DoubleFault
    } else {
        Combined::Serial
    }
}

/// Delivers `fault`, combined with the exception the switch was delivering.
fn deliver(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    source: TaskSwitchSource,
    fault: GuestFault,
) -> Flow {
    let combined = match source {
        TaskSwitchSource::Gate {
            vector: first,
            kind: EventKind::Exception,
            ..
        } => combine(first, fault.exception.vector),
        _ => Combined::Serial,
    };
    let exception = match combined {
        Combined::TripleFault => return Flow::Stop(StopReason::TripleFault),
        Combined::DoubleFault => Exception {
            vector: vector::DF,
            error_code: Some(0),
        },
        Combined::Serial => {
            if let Some(cr2) = fault.cr2 {
                vcpu.set_cr2(cr2);
            }
            fault.exception
        }
    };
    inject(vcpu, dom, exception, "a task switch failed");
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::super::handle_exit;
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::guest_memory::test_memory;
    use crate::task_switch::tests::{fill, vcpu};
    use crate::task_switch::StopCause;
    use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
    use crate::vcpu::VmExit;
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use alloc::vec;
    use core::cell::Cell;

    /// A console that drops what it is sent.
    use crate::test_support::Discard;

    /// A domain with 1 MiB of RAM holding the task-switch fixture: the
    /// running task's TSS at selector 18h, an available one at 20h, a
    /// not-present one at 48h, one past RAM at 58h.
    fn domain() -> Domain {
        let mut memory = test_memory(0x10_0000);
        fill(&mut memory);
        Domain::new(
            1,
            GuestConfig::default(),
            memory,
            Box::new(FakeTables::default()),
            Box::new(Discard),
            Rc::new(FakeClock(Rc::new(Cell::new(0)))),
            0,
        )
        .unwrap()
    }

    fn run(v: &mut FakeVcpu, dom: &mut Domain, selector: u16, source: TaskSwitchSource) -> Flow {
        let exit = VmExit::TaskSwitch {
            selector,
            source,
            next_rip: None,
        };
        handle_exit(v, dom, exit, &FakeHost::default())
    }

    fn gate(vector: u8) -> TaskSwitchSource {
        TaskSwitchSource::Gate {
            vector,
            kind: EventKind::Exception,
            error_code: Some(0),
        }
    }

    fn u32_at(dom: &Domain, gpa: u64) -> u32 {
        u32::from_le_bytes(dom.memory.read_bytes::<4>(gpa).unwrap())
    }

    #[test]
    fn a_task_switch_exit_is_completed_and_the_guest_runs_the_new_task() {
        let mut dom = domain();
        let mut v = vcpu();
        let exit = VmExit::TaskSwitch {
            selector: 0x20,
            source: TaskSwitchSource::Call,
            next_rip: Some(0x7007),
        };
        assert_eq!(
            handle_exit(&mut v, &mut dom, exit, &FakeHost::default()),
            Flow::Continue
        );
        assert_eq!(v.rip, 0x9000);
        assert_eq!(u32_at(&dom, 0x2020), 0x7007, "saved EIP");
        assert!(v.injected.is_empty());
    }

    #[test]
    fn without_a_next_rip_an_int_n_is_decoded_for_its_length() {
        let mut dom = domain();
        dom.memory.write(0x7000, &[0xCD, 0x30]).unwrap(); // int 30h
        let mut v = vcpu();
        let int30 = TaskSwitchSource::Gate {
            vector: 0x30,
            kind: EventKind::Software,
            error_code: None,
        };
        assert_eq!(run(&mut v, &mut dom, 0x20, int30), Flow::Continue);
        assert_eq!(u32_at(&dom, 0x2020), 0x7002, "the task resumes past INT");
    }

    #[test]
    fn a_double_fault_task_gate_to_a_missing_tss_is_a_triple_fault() {
        let mut dom = domain();
        let mut v = vcpu();
        assert_eq!(
            run(&mut v, &mut dom, 0x48, gate(vector::DF)),
            Flow::Stop(StopReason::TripleFault)
        );
        assert!(v.injected.is_empty());
    }

    #[test]
    fn a_gp_task_gate_to_a_missing_tss_becomes_a_double_fault() {
        let mut dom = domain();
        let mut v = vcpu();
        assert_eq!(
            run(&mut v, &mut dom, 0x48, gate(vector::GP)),
            Flow::Continue
        );
        let df = Exception {
            vector: vector::DF,
            error_code: Some(0),
        };
        assert_eq!(v.injected, vec![df]);
    }

    #[test]
    fn a_call_to_a_missing_tss_delivers_np_with_its_selector() {
        let mut dom = domain();
        let mut v = vcpu();
        assert_eq!(
            run(&mut v, &mut dom, 0x48, TaskSwitchSource::Call),
            Flow::Continue
        );
        let np = Exception {
            vector: 11,
            error_code: Some(0x48),
        };
        assert_eq!(v.injected, vec![np]);
        assert_eq!(v.rip, 0x7000, "the CALL faults");
    }

    #[test]
    fn a_tss_outside_ram_stops_the_guest_and_says_so() {
        let mut dom = domain();
        let mut v = vcpu();
        let flow = run(&mut v, &mut dom, 0x58, TaskSwitchSource::Jmp);
        let stop = StopReason::TaskSwitch {
            selector: 0x58,
            cause: StopCause::OutsideRam { gpa: 0x20_0000 },
        };
        assert_eq!(flow, Flow::Stop(stop));
        let report = alloc::format!("{stop}");
        assert!(
            report.contains("0x58") && report.contains("0x200000"),
            "{report}"
        );
    }

    #[test]
    fn exceptions_combine_as_table_7_5_says() {
        // #GP while delivering #GP through a task gate: #DF.
        assert_eq!(combine(vector::GP, 10), Combined::DoubleFault);
        // #PF while delivering #PF, #TS while delivering #PF: #DF.
        assert_eq!(combine(vector::PF, vector::PF), Combined::DoubleFault);
        assert_eq!(combine(vector::PF, 10), Combined::DoubleFault);
        // #PF while delivering #GP: serial.
        assert_eq!(combine(vector::GP, vector::PF), Combined::Serial);
        // Anything after a benign exception (#BP, #UD): serial.
        assert_eq!(combine(3, 10), Combined::Serial);
        assert_eq!(combine(vector::UD, vector::PF), Combined::Serial);
        // #TS or #PF while delivering #DF: shutdown.
        assert_eq!(combine(vector::DF, 10), Combined::TripleFault);
        assert_eq!(combine(vector::DF, vector::PF), Combined::TripleFault);
    }
}
