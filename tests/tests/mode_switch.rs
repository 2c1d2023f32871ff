//! Real-mode/protected-mode round trips (issue 17, OpenBSD's boot loader
//! triple-faulting on VT-x): the `mode-switch` ROM guest and its variant
//! booted by the BIOS from a floppy, each on SVM (QEMU) and VT-x (Bochs),
//! and OpenBSD 5.1's install floppy, whose boot loader drops to real mode
//! for every BIOS call, up to its kernel's `cpu0:` line on both.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tests::{literal, options, run_ok, shared_guest};
use xtask::bochs::BochsCpu;
use xtask::guests::mode_switch::{self, bios};
use xtask::runner::{Emulator, Outcome, RunOptions, RunReport, BIOS_GUEST};

fn context(report: &RunReport) -> String {
    format!(
        "outcome {:?}\nconsole:\n{}\nscreen:\n{}\nlog:\n{}",
        report.outcome, report.console, report.screen, report.hv_log
    )
}

/// The guest printed `lines` in order, no failure, and exited with status 0.
fn assert_passed(report: &RunReport, lines: &[String]) {
    let why = context(report);
    assert_eq!(report.outcome, Outcome::GuestFinished, "{why}");
    let mut from = 0;
    for line in lines {
        let at = report.console[from..]
            .find(line.as_str())
            .unwrap_or_else(|| panic!("no `{line}` (in order):\n{why}"));
        from += at + line.len();
    }
    assert!(!report.console.contains(mode_switch::FAIL), "{why}");
    assert!(
        report
            .hv_log
            .contains("guest stopped: requested exit with status 0"),
        "{why}"
    );
}

fn on_vmx(opts: RunOptions) -> RunOptions {
    RunOptions {
        emulator: Emulator::Bochs,
        bochs_cpu: BochsCpu::Intel,
        timeout: Duration::from_secs(240),
        ..opts
    }
}

fn rom_guest_lines() -> Vec<String> {
    let mut lines = vec![mode_switch::START.to_string()];
    lines.extend((1..=3).map(|rpl| format!("{}{rpl}", mode_switch::PASS_TRIP)));
    lines.push(mode_switch::PASS_NO_RELOAD.into());
    lines.push(mode_switch::DONE.into());
    lines
}

#[test]
fn round_trips_between_real_and_protected_mode_behave_on_svm() {
    let report = run_ok(&options("mode-switch"));
    assert_passed(&report, &rom_guest_lines());
    assert!(
        report.hv_log.contains("backend svm"),
        "{}",
        context(&report)
    );
}

#[test]
fn round_trips_between_real_and_protected_mode_behave_on_vmx() {
    // Before the CS RPL fix in vmx::vcpu::protected_mode_entry, the exit
    // after setting PE resumed the guest at CPL 1: "FAIL CS.RPL (the CPL)
    // not 0 after the far jump".
    let report = run_ok(&on_vmx(options("mode-switch")));
    assert_passed(&report, &rom_guest_lines());
    assert!(
        report.hv_log.contains("backend vmx"),
        "{}",
        context(&report)
    );
}

/// The BIOS variant's floppy, written for this test.
fn bios_variant_floppy(name: &str) -> PathBuf {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("mode-switch-bios.img");
    std::fs::write(&img, bios::floppy_image()).unwrap();
    img
}

fn bios_variant(name: &str) -> RunOptions {
    RunOptions {
        floppy: Some(bios_variant_floppy(name)),
        ..options(BIOS_GUEST)
    }
}

#[test]
fn round_trips_around_bios_calls_behave_on_svm() {
    // QEMU's TCG does not check real-mode segment limits: here the trap
    // path's old 64 KiB ES went unnoticed (see the VT-x test).
    let report = run_ok(&bios_variant("svm"));
    assert_passed(&report, &[bios::START.into(), bios::DONE.into()]);
}

#[test]
fn round_trips_around_bios_calls_behave_on_vmx() {
    // Before the trap path kept ES's limit, INT 13h AH=08h left ES with a
    // 64 KiB limit and the read 1 MiB past its base raised #GP: "FAIL #GP or
    // #SS in real mode".
    let report = run_ok(&on_vmx(bios_variant("vmx")));
    assert_passed(&report, &[bios::START.into(), bios::DONE.into()]);
    assert!(
        report.hv_log.contains("backend vmx"),
        "{}",
        context(&report)
    );
}

/// OpenBSD's floppy booted to its kernel's first CPU line, timed.
fn openbsd_reaches_its_kernel(emulator: Emulator, timeout: Duration) {
    let Some(floppy) = shared_guest("openbsd51-floppy.img") else {
        return;
    };
    let started = Instant::now();
    let report = run_ok(&RunOptions {
        guest: BIOS_GUEST.into(),
        floppy: Some(floppy),
        mem_mib: 256,
        emulator,
        bochs_cpu: BochsCpu::Intel,
        timeout,
        expect: vec![literal("OpenBSD 5.1 (RAMDISK)"), literal("cpu0:")],
        ..options(BIOS_GUEST)
    });
    eprintln!(
        "OpenBSD on {emulator:?}: `cpu0:` after {:?} ({:?} in all)",
        report.matched_after,
        started.elapsed()
    );
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "{}",
        context(&report)
    );
}

#[test]
fn openbsd_boots_to_its_kernel_on_svm() {
    openbsd_reaches_its_kernel(Emulator::Qemu, Duration::from_secs(300));
}

#[test]
fn openbsd_boots_to_its_kernel_on_vmx() {
    // Before the fix: a triple fault in the boot loader at 4183Bh with
    // cs=000a when it started loading the kernel.
    openbsd_reaches_its_kernel(Emulator::Bochs, Duration::from_secs(900));
}
