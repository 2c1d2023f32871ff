//! A guest that falls silent is diagnosable from the run that timed out
//! (issue 17): the hypervisor logs a heartbeat every few seconds, and the
//! runner's timeout report shows the last one (RIP, CS:IP, IF, halt, the
//! PIC's registers, the top exits) with the last lines of guest output. The
//! `spin` guest loops on `jmp $` with interrupts on and every PIC input
//! masked.

use std::time::Duration;
use tests::{options, run_ok};
use xtask::bochs::BochsCpu;
use xtask::guests::spin;
use xtask::runner::{Emulator, Outcome, RunOptions};

fn assert_report_names_the_loop(opts: &RunOptions) {
    let report = run_ok(opts);
    assert_eq!(report.outcome, Outcome::Timeout, "{}", report.hv_log);
    let text = report.timeout_report().expect("a timeout has a report");
    let ip = spin::loop_ip();
    for wanted in [
        format!("rip={ip:016x} cs=f000 cs:ip=f000:{ip:04x} mode=real if=1 halted=no"),
        "pic master irr=00 imr=ff isr=00 slave irr=00 imr=ff isr=00".to_string(),
        // The guest makes no exits of its own: only the host timer's.
        "(intr ".to_string(),
        spin::ANNOUNCEMENT.to_string(),
    ] {
        assert!(text.contains(&wanted), "{wanted:?} is not in:\n{text}");
    }
}

#[test]
fn a_spinning_guest_times_out_with_a_report_naming_its_rip() {
    assert_report_names_the_loop(&RunOptions {
        // Heartbeats come every 5 s of guest time once it runs.
        timeout: Duration::from_secs(15),
        ..options("spin")
    });
}

#[test]
fn a_spinning_guest_times_out_with_a_report_naming_its_rip_on_vmx() {
    // Bochs runs the hypervisor's clock at about a quarter of real time.
    assert_report_names_the_loop(&RunOptions {
        emulator: Emulator::Bochs,
        bochs_cpu: BochsCpu::Intel,
        timeout: Duration::from_secs(75),
        ..options("spin")
    });
}
