//! Task switches (issue 11): the `task-gate` guest CALLs a task that
//! returns with IRET, then takes a double fault through a task gate, as
//! 32-bit OSes do, and its double-fault task checks what the switch left it
//! and exits cleanly. On VT-x (Bochs) the switch is
//! a VM exit the hypervisor completes in software; on SVM (QEMU) the
//! processor performs it, the intercept being off.

use regex::Regex;
use std::time::Duration;
use tests::{options, run_ok};
use xtask::bochs::BochsCpu;
use xtask::guests::task_gate::{ANNOUNCEMENT, CALLED, DONE, SURVIVED, WRONG};
use xtask::runner::{Emulator, Outcome, RunOptions, RunReport};

fn context(report: &RunReport) -> String {
    format!(
        "outcome {:?}\nconsole:\n{}\nlog:\n{}",
        report.outcome, report.console, report.hv_log
    )
}

/// The called task ran and returned, then the double-fault task ran, found
/// its state right and ended the run.
fn assert_handled_in_its_own_task(report: &RunReport) {
    let why = context(report);
    assert_eq!(report.outcome, Outcome::GuestFinished, "{why}");
    let announced = report.console.find(ANNOUNCEMENT);
    let called = report.console.find(CALLED);
    let done = report.console.find(DONE);
    assert!(
        announced.is_some() && announced < called && called < done,
        "{why}"
    );
    for failure in [WRONG, SURVIVED] {
        assert!(!report.console.contains(failure), "{why}");
    }
    assert!(
        report
            .hv_log
            .contains("guest stopped: requested exit with status 0"),
        "{why}"
    );
}

#[test]
fn a_double_fault_through_a_task_gate_runs_its_task_on_svm() {
    let report = run_ok(&RunOptions {
        stats: true,
        ..options("task-gate")
    });
    assert_handled_in_its_own_task(&report);
    assert!(
        report.hv_log.contains("backend svm"),
        "{}",
        context(&report)
    );
}

#[test]
fn a_double_fault_through_a_task_gate_runs_its_task_on_vmx() {
    let report = run_ok(&RunOptions {
        emulator: Emulator::Bochs,
        bochs_cpu: BochsCpu::Intel,
        timeout: Duration::from_secs(180),
        stats: true,
        ..options("task-gate")
    });
    assert_handled_in_its_own_task(&report);
    // CALL, IRET and the task gate: three switches, each completed by the
    // hypervisor.
    let stats = report.stats().expect("statistics");
    assert!(stats.contains("backend vmx"), "{stats}");
    let task_switch = Regex::new(r"(?m)^task-switch\s+3\s").unwrap();
    assert!(task_switch.is_match(&stats), "{stats}");
}
