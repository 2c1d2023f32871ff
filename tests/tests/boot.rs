//! The hypervisor boots in QEMU (TCG with SVM and NPT) and runs real-mode
//! guests from the x86 reset vector.

use tests::{literal, options, run_ok};
use xtask::guests::hello::GREETING;
use xtask::guests::triple_fault::ANNOUNCEMENT;
use xtask::runner::{Loader, Outcome, RunOptions};

#[test]
fn hello_guest_prints_through_emulated_com1_from_real_mode() {
    let report = run_ok(&RunOptions {
        expect: vec![
            literal(GREETING),
            regex::Regex::new(r"CPU vendor: (AuthenticAMD|GenuineIntel)").unwrap(),
        ],
        ..options("hello")
    });
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
    assert!(
        report.hv_log.contains("backend svm"),
        "log:\n{}",
        report.hv_log
    );
}

#[test]
fn hello_guest_ends_cleanly_when_it_halts_with_interrupts_off() {
    let report = run_ok(&options("hello"));
    assert_eq!(
        report.outcome,
        Outcome::GuestFinished,
        "log:\n{}",
        report.hv_log
    );
    assert_eq!(report.outcome.exit_code(), 0);
    assert!(
        report
            .hv_log
            .contains("guest stopped: halted with interrupts disabled"),
        "log:\n{}",
        report.hv_log
    );
}

#[test]
fn triple_fault_is_reported_with_registers_and_the_run_fails() {
    let report = run_ok(&options("triple-fault"));
    assert_eq!(
        report.outcome,
        Outcome::GuestFailed,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
    assert_ne!(report.outcome.exit_code(), 0);
    assert!(
        report.console.contains(ANNOUNCEMENT),
        "console:\n{}",
        report.console
    );
    assert!(
        report.hv_log.contains("guest stopped: triple fault"),
        "log:\n{}",
        report.hv_log
    );
    // the register dump follows the report: the guest was in real mode at F000:xxxx
    assert!(
        report.hv_log.contains("cs=f000 base=00000000000f0000"),
        "log:\n{}",
        report.hv_log
    );
    // and the hypervisor itself carried on to report the outcome
    assert!(
        report.hv_log.contains("run outcome: GuestFailed"),
        "log:\n{}",
        report.hv_log
    );
}

#[test]
fn stats_count_exits_by_reason() {
    let report = run_ok(&RunOptions {
        stats: true,
        ..options("hello")
    });
    assert_eq!(report.outcome, Outcome::GuestFinished);
    let stats = report.stats().expect("an exit statistics block in the log");
    let count = |reason: &str| -> u64 {
        let line = stats
            .lines()
            .find(|l| l.split_whitespace().next() == Some(reason))
            .unwrap_or_else(|| {
                panic!("no `{reason}` line in\n{stats}");
            });
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    // Every byte printed costs at least a status read and a data write.
    let printed = report.console.len() as u64;
    assert!(
        count("io") >= 2 * printed,
        "io exits {} for {printed} bytes\n{stats}",
        count("io")
    );
    assert_eq!(count("cpuid"), 1, "{stats}");
    assert_eq!(count("hlt"), 1, "{stats}");
}

#[test]
fn an_expectation_the_guest_never_prints_fails_the_run() {
    let report = run_ok(&RunOptions {
        expect: vec![literal("this text is never printed")],
        ..options("hello")
    });
    assert!(
        matches!(
            report.outcome,
            Outcome::ExpectationsUnmet {
                guest_finished: true,
                ..
            }
        ),
        "{:?}",
        report.outcome
    );
    assert_ne!(report.outcome.exit_code(), 0);
}

#[test]
fn boots_from_a_grub_iso_through_multiboot2() {
    let report = run_ok(&RunOptions {
        loader: Loader::Grub,
        expect: vec![literal(GREETING)],
        ..options("hello")
    });
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
}

#[test]
fn an_exception_inside_the_hypervisor_is_reported_with_registers() {
    let report = run_ok(&RunOptions {
        selftest: Some("exception".into()),
        ..options("hello")
    });
    assert_eq!(
        report.outcome,
        Outcome::HypervisorFailed,
        "log:\n{}",
        report.hv_log
    );
    let log = &report.hv_log;
    assert!(
        log.contains("hypervisor exception: vector 6 (#UD invalid opcode) error code 0x0 rip 0x"),
        "log:\n{log}"
    );
    assert!(log.contains("cr2 0x"), "log:\n{log}");
    assert!(log.contains("rax="), "log:\n{log}");
    assert!(
        report.console.is_empty(),
        "the guest must not have run: {}",
        report.console
    );
}

#[test]
fn without_svm_the_hypervisor_names_the_qemu_flags_that_provide_it() {
    let report = run_ok(&RunOptions {
        qemu_cpu: Some("qemu64".into()),
        ..options("hello")
    });
    assert_eq!(
        report.outcome,
        Outcome::HypervisorFailed,
        "log:\n{}",
        report.hv_log
    );
    let error_lines: Vec<&str> = report
        .hv_log
        .lines()
        .filter(|l| l.starts_with("[ERROR]"))
        .collect();
    assert_eq!(error_lines.len(), 1, "one clear line, got: {error_lines:?}");
    assert!(
        error_lines[0].contains("-cpu qemu64,+svm,+npt,+vgif"),
        "{}",
        error_lines[0]
    );
}

#[test]
fn pit_interrupts_reach_a_real_mode_handler_through_the_pic() {
    let report = run_ok(&RunOptions {
        stats: true,
        expect: vec![literal(xtask::guests::timer::DONE)],
        ..options("timer")
    });
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
}
