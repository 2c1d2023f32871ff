//! A guest that asks for a reset (the 8042's pulse, 64h <- FEh) is rebooted,
//! as QEMU reboots one: the vCPU at the reset vector, fresh devices, the
//! firmware loaded again, RAM kept; with `--no-reboot` the run ends cleanly
//! at the request instead, as with QEMU's `-no-reboot`. The `reset` guest
//! counts its boots in RAM, so a second boot proves the reset was warm, and
//! checks that COM1 came back fresh. Under QEMU (SVM) and Bochs (VT-x), and
//! through the emulated BIOS from a floppy, whose second boot needs a fresh
//! POST.

use std::path::PathBuf;
use std::time::Duration;
use tests::{options, run_ok};
use xtask::bochs::BochsCpu;
use xtask::guests::reset::{
    floppy_image, BOOT_LINE, DEVICE_KEPT_STATE, IGNORED, REBOOTED, TOO_MANY_BOOTS,
};
use xtask::runner::{Emulator, Outcome, RunOptions, RunReport, BIOS_GUEST};

/// The hypervisor's line for the one reset.
const REBOOTING: &str = "dom1: guest requested a reset (i8042 pulse); rebooting (reset 1)";
/// The hypervisor's line when `--no-reboot` stops the guest.
const STOPPED: &str = "guest stopped: reset requested (i8042 pulse), not rebooting (no_reboot)";

fn context(report: &RunReport) -> String {
    format!(
        "outcome {:?}\nconsole:\n{}\nlog:\n{}",
        report.outcome, report.console, report.hv_log
    )
}

/// Both boots ran, the second on a fresh COM1, and the guest ended itself.
fn assert_rebooted_once(report: &RunReport) {
    let why = context(report);
    assert_eq!(report.outcome, Outcome::GuestFinished, "{why}");
    assert_eq!(report.outcome.exit_code(), 0);
    let first = report.console.find(&format!("{BOOT_LINE}1"));
    let second = report.console.find(&format!("{BOOT_LINE}2"));
    assert!(first.is_some() && first < second, "{why}");
    assert!(report.console.contains(REBOOTED), "{why}");
    for failure in [IGNORED, DEVICE_KEPT_STATE, TOO_MANY_BOOTS] {
        assert!(!report.console.contains(failure), "{why}");
    }
    assert_eq!(report.hv_log.matches("guest requested a reset").count(), 1);
    assert!(report.hv_log.contains(REBOOTING), "{why}");
    assert!(
        report
            .hv_log
            .contains("guest stopped: requested exit with status 0"),
        "{why}"
    );
}

#[test]
fn a_reset_request_reboots_the_guest_with_its_ram_kept() {
    assert_rebooted_once(&run_ok(&options("reset")));
}

#[test]
fn with_no_reboot_a_reset_request_ends_the_run_cleanly_after_one_boot() {
    let report = run_ok(&RunOptions {
        no_reboot: true,
        ..options("reset")
    });
    let why = context(&report);
    assert_eq!(report.outcome, Outcome::GuestFinished, "{why}");
    assert_eq!(report.outcome.exit_code(), 0, "as QEMU -no-reboot exits");
    assert!(report.console.contains(&format!("{BOOT_LINE}1")), "{why}");
    assert!(!report.console.contains(&format!("{BOOT_LINE}2")), "{why}");
    assert!(!report.console.contains(IGNORED), "{why}");
    assert!(report.hv_log.contains(STOPPED), "{why}");
    assert!(!report.hv_log.contains("guest requested a reset"), "{why}");
    // One line, no register dump: the guest did what it meant to.
    assert!(!report.hv_log.contains("rip="), "{why}");
}

#[test]
fn a_bios_guest_runs_post_again_and_boots_its_floppy_again() {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("reset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let floppy: PathBuf = dir.join("reset.img");
    std::fs::write(&floppy, floppy_image()).unwrap();
    let report = run_ok(&RunOptions {
        floppy: Some(floppy),
        boot: Some("floppy".into()),
        ..options(BIOS_GUEST)
    });
    assert_rebooted_once(&report);
    // POST booted the floppy once per power-on.
    let boots = report
        .hv_log
        .matches("BIOS: booting 0000:7c00 from drive 0x00")
        .count();
    assert_eq!(boots, 2, "{}", context(&report));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reset_request_reboots_the_guest_on_vmx() {
    let report = run_ok(&RunOptions {
        emulator: Emulator::Bochs,
        bochs_cpu: BochsCpu::Intel,
        timeout: Duration::from_secs(180),
        ..options("reset")
    });
    assert_rebooted_once(&report);
    assert!(
        report.hv_log.contains("backend vmx"),
        "{}",
        context(&report)
    );
}
