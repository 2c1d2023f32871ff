//! The runner asks the guest to shut down as `xl shutdown` does (what
//! Ctrl-C does in `cargo xtask run`; here `RunOptions::shutdown_after`
//! makes the request without a signal): one byte on the hypervisor's
//! control channel (the host COM3 on QEMU's `pipe:` backend), for which
//! the hypervisor writes `control/shutdown` = `poweroff` into the guest's
//! XenStore as domain 0 (Xen's docs/misc/xenstore-paths.pandoc).
//!
//! What Linux 6.1 does then, from its sources: xenbus's watch on
//! `control/shutdown` (drivers/xen/manage.c, `shutdown_handler`) clears the
//! node and calls `do_poweroff`, which on a running system is
//! `orderly_poweroff(false)`: the kernel runs `/sbin/poweroff` as a usermode
//! helper (kernel/reboot.c, `__orderly_poweroff`) with no forced fallback.
//! The test ISO's `/sbin/poweroff` prints `vmm-linux: powering off` and
//! runs `busybox poweroff -f` (busybox's own applet would only signal
//! init, and PID 1 there is a shell). On the PC with ACPI the kernel powers
//! off through S5 (`acpi_power_off`, printing `reboot: Power down`); the
//! hypervisor takes that as a clean stop: exit 0.
//!
//! Without the Xen platform (`--xen off`) the guest has no PV shutdown
//! path: the hypervisor presses the ACPI power button instead (as `xl
//! shutdown -F` and QEMU's `system_powerdown` do). The test ISO runs no
//! daemon that acts on the button (no acpid, no logind), so the runner stops
//! the guest when the grace period runs out, with the status a Ctrl-C'd
//! command has (130).

use std::time::Duration;
use tests::{literal, options, run_ok};
use xtask::linux_iso::{make_linux_iso, POWERING_OFF, SHELL_READY};
use xtask::runner::{Outcome, RunOptions, RunReport, BIOS_GUEST, INTERRUPTED_EXIT_CODE};

/// The hypervisor's line for a request it passed on.
const ASKED: &str = "dom1: asked the guest to power off (control/shutdown)";
/// The hypervisor's line once its COM3 answered.
const CHANNEL: &str = "vmm: control channel on COM3";
/// `kernel_power_off`'s line (pr_fmt "reboot: ", kernel/reboot.c).
const HALTED: &str = "reboot: Power down";
/// The hypervisor's line for the power-off.
const STOPPED: &str = "guest stopped: powered off through ACPI (S5)";

fn linux(xen: bool, grace: Duration) -> RunOptions {
    let iso = make_linux_iso(false).unwrap_or_else(|e| panic!("the Linux ISO: {e}"));
    RunOptions {
        guest: BIOS_GUEST.into(),
        iso: Some(iso),
        mem_mib: 256,
        xen,
        timeout: Duration::from_secs(420),
        shutdown_after: Some(1),
        shutdown_grace: grace,
        ..options(BIOS_GUEST)
    }
}

fn context(report: &RunReport) -> String {
    format!(
        "outcome {:?}\n--- console ---\n{}\n--- hypervisor log ---\n{}",
        report.outcome,
        report.console_tail(60),
        report.hv_log
    )
}

#[test]
fn a_shutdown_request_powers_linux_off_through_control_shutdown_and_ends_the_run_cleanly() {
    let report = run_ok(&RunOptions {
        expect: vec![literal(SHELL_READY), literal(POWERING_OFF), literal(HALTED)],
        until_stopped: true,
        ..linux(true, Duration::from_secs(120))
    });
    let why = context(&report);
    assert_eq!(report.outcome, Outcome::ExpectationsMet, "{why}");
    assert_eq!(report.outcome.exit_code(), 0, "{why}");
    assert!(report.hv_log.contains(CHANNEL), "{why}");
    assert_eq!(report.hv_log.matches(ASKED).count(), 1, "{why}");
    let asked = report.hv_log.find(ASKED);
    assert!(
        asked.is_some() && asked < report.hv_log.find(STOPPED),
        "{why}"
    );
    // Nobody typed `poweroff`: the power-off came from the kernel's watch.
    assert!(!report.console.contains("# poweroff"), "{why}");
}

#[test]
fn without_xen_the_guest_cannot_be_asked_and_the_grace_period_stops_it_with_130() {
    let report = run_ok(&RunOptions {
        expect: vec![literal(SHELL_READY)],
        until_stopped: true,
        ..linux(false, Duration::from_secs(5))
    });
    let why = context(&report);
    match &report.outcome {
        Outcome::Interrupted { why: line } => assert_eq!(
            line,
            "xtask: the guest did not shut down within 5 s of the request: stopped it"
        ),
        other => panic!("expected Interrupted, got {other:?}\n{why}"),
    }
    assert_eq!(report.outcome.exit_code(), INTERRUPTED_EXIT_CODE);
    assert!(
        report
            .hv_log
            .contains("dom1: pressed the ACPI power button"),
        "{why}"
    );
    assert!(!report.hv_log.contains(ASKED), "{why}");
    assert!(!report.console.contains(POWERING_OFF), "{why}");
}
