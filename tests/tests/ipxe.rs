//! Debian's iPXE boot CD (issue 17, part 1): ISOLINUX loads `ipxe.krn`,
//! iPXE initialises its devices (waiting on the RTC's periodic interrupt,
//! IRQ8, which once went silent at random) and, with no network card on our
//! PC, prints "No more network devices". A hang that strikes at random needs
//! runs in a row: ten on SVM (QEMU) and three on VT-x (Bochs), each of which
//! must reach the line. The CD comes from `xtask::ipxe::ipxe_iso`
//! (`apt-get download ipxe` into `target/guests/cache/`, once).

use std::time::{Duration, Instant};
use tests::{literal, options, run_ok};
use xtask::bochs::BochsCpu;
use xtask::ipxe::{ipxe_iso, NO_MORE_DEVICES};
use xtask::runner::{Emulator, Outcome, RunOptions, BIOS_GUEST};

/// `runs` boots of the CD in a row; one that does not reach the line fails
/// the test naming the run, with the runner's timeout report (the
/// hypervisor's last heartbeat and the console's last lines).
fn boot_in_a_row(runs: u32, emulator: Emulator, timeout: Duration) {
    let iso = ipxe_iso().unwrap_or_else(|e| panic!("the iPXE CD: {e}"));
    for run in 1..=runs {
        let started = Instant::now();
        let report = run_ok(&RunOptions {
            guest: BIOS_GUEST.into(),
            iso: Some(iso.clone()),
            mem_mib: 64,
            emulator,
            bochs_cpu: BochsCpu::Intel,
            timeout,
            expect: vec![literal(NO_MORE_DEVICES)],
            ..options(BIOS_GUEST)
        });
        assert_eq!(
            report.outcome,
            Outcome::ExpectationsMet,
            "run {run} of {runs} on {emulator:?} did not reach {NO_MORE_DEVICES:?} \
             (after {:.1} s)\n{}\nhypervisor log: {}",
            started.elapsed().as_secs_f64(),
            report
                .timeout_report()
                .unwrap_or_else(|| format!("console:\n{}", report.console_tail(40))),
            report.hv_log_path.display()
        );
        // From the emulator's start; the wall time adds the runner's build
        // of the hypervisor (and, for Bochs, of the GRUB ISO).
        eprintln!(
            "iPXE run {run} of {runs} on {emulator:?}: {NO_MORE_DEVICES:?} after {:.1} s ({:.1} s in all)",
            report.matched_after.unwrap_or_default().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn ipxe_reaches_no_more_network_devices_ten_times_in_a_row_on_svm() {
    // About 6 s a run under TCG; the hang it guards against never ends.
    boot_in_a_row(10, Emulator::Qemu, Duration::from_secs(120));
}

#[test]
fn ipxe_reaches_no_more_network_devices_three_times_in_a_row_on_vmx() {
    // About 55 s a run under Bochs on a 2-core host.
    boot_in_a_row(3, Emulator::Bochs, Duration::from_secs(600));
}
