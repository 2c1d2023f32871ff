//! The modern PC (issue 15) as the stock kernel uses it beyond what the
//! Linux sessions of `xen_hvm.rs` check: `reboot` goes through the FADT's
//! reset register (CF9h ← 06h), and with `no_reboot` that ends the run
//! cleanly after one boot, as QEMU's `-no-reboot` does.

use tests::linux_shell::{linux_iso, Backend, Session};
use tests::literal;
use xtask::linux_iso::SHELL_READY;
use xtask::runner::RunOptions;

#[test]
fn linux_reboots_through_the_fadt_reset_register() {
    let session = Session {
        boot: vec![literal(SHELL_READY)],
        steps: Vec::new(),
        last: Some("reboot -f".into()),
    };
    let report = tests::run_ok(&session.apply(RunOptions {
        xen: false,
        no_reboot: true,
        ..Backend::Svm.options(linux_iso(), 60)
    }));
    session.assert_met(&report);
    // Linux's first reboot method with ACPI is the FADT's RESET_REG (an
    // i8042 pulse would mean it fell back to the keyboard controller).
    assert!(
        report
            .hv_log
            .contains("guest stopped: reset requested (PIIX3 CF9h hard reset), not rebooting"),
        "{}",
        report.hv_log
    );
}
