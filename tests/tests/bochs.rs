//! Parity under Bochs: the same guests on the VT-x backend (`--cpu intel`,
//! corei7_skylake_x with EPT and unrestricted guest) and on a second SVM
//! implementation (`--cpu amd`, ryzen with NRIP-save), from one hypervisor
//! binary that picks its backend by CPUID. Behaviour differences between the
//! backends are bugs.

use regex::Regex;
use std::time::Duration;
use tests::linux_shell::{linux_iso, Backend, Session, Step};
use tests::{literal, options, run_ok, shared_guest};
use xtask::bochs::BochsCpu;
use xtask::guests::devtest::{dword_sum, CD_LBA, CD_PREFIX, DISK_LBA, DISK_PREFIX};
use xtask::linux_iso::SHELL_READY;
use xtask::runner::{Emulator, Outcome, RunOptions};

fn on_bochs(guest: &str, cpu: BochsCpu) -> RunOptions {
    RunOptions {
        emulator: Emulator::Bochs,
        bochs_cpu: cpu,
        timeout: Duration::from_secs(180),
        ..options(guest)
    }
}

fn assert_met(report: &xtask::runner::RunReport) {
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
}

#[test]
fn hello_runs_on_vmx() {
    let report = run_ok(&RunOptions {
        stats: true,
        expect: vec![
            literal("Hello from a real-mode guest"),
            literal("CPU vendor: GenuineIntel"),
        ],
        ..on_bochs("hello", BochsCpu::Intel)
    });
    assert_met(&report);
    assert!(report.hv_log.contains("backend vmx"), "{}", report.hv_log);
}

#[test]
fn vmx_stats_count_exits_by_reason() {
    let report = run_ok(&RunOptions {
        stats: true,
        ..on_bochs("hello", BochsCpu::Intel)
    });
    assert_eq!(report.outcome, Outcome::GuestFinished, "{}", report.hv_log);
    let stats = report.stats().expect("statistics");
    assert!(stats.contains("backend vmx"), "{stats}");
    let cpuid = Regex::new(r"(?m)^cpuid\s+1\s").unwrap();
    assert!(cpuid.is_match(&stats), "{stats}");
}

#[test]
fn timer_interrupts_are_delivered_on_vmx() {
    assert_met(&run_ok(&RunOptions {
        expect: vec![literal(xtask::guests::timer::DONE)],
        ..on_bochs("timer", BochsCpu::Intel)
    }));
}

#[test]
fn triple_fault_is_reported_on_vmx() {
    let report = run_ok(&on_bochs("triple-fault", BochsCpu::Intel));
    assert_eq!(report.outcome, Outcome::GuestFailed, "{}", report.hv_log);
    assert!(
        report.hv_log.contains("guest stopped: triple fault"),
        "{}",
        report.hv_log
    );
    assert!(
        report.hv_log.contains("vmcs: exit-reason=0x2 "),
        "{}",
        report.hv_log
    );
}

fn devtest_on(cpu: BochsCpu) {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("bochs-{cpu:?}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk: Vec<u8> = (0..512 * 8u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("disk.img"), &disk).unwrap();
    xtask::tools::require("xorriso").unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.join("root")).unwrap();
    std::fs::write(dir.join("root").join("A.TXT"), "bochs\n").unwrap();
    let ok = std::process::Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-o"])
        .arg(dir.join("cd.iso"))
        .arg(dir.join("root"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let iso = std::fs::read(dir.join("cd.iso")).unwrap();
    let (l, c) = (DISK_LBA as usize, CD_LBA as usize);
    let disk_sum = dword_sum(&disk[l * 512..(l + 1) * 512]);
    let cd_sum = dword_sum(&iso[c * 2048..(c + 1) * 2048]);
    assert_met(&run_ok(&RunOptions {
        disk: Some(dir.join("disk.img")),
        iso: Some(dir.join("cd.iso")),
        expect: vec![
            literal(&format!("{DISK_PREFIX}{disk_sum:08x}")),
            literal(&format!("{CD_PREFIX}{cd_sum:08x}")),
        ],
        ..on_bochs("devtest", cpu)
    }));
}

#[test]
fn device_model_guest_reads_disk_and_cd_on_vmx() {
    devtest_on(BochsCpu::Intel);
}

#[test]
fn hello_runs_on_bochs_svm_with_nrip_save() {
    let report = run_ok(&RunOptions {
        expect: vec![
            literal("Hello from a real-mode guest"),
            literal("CPU vendor: AuthenticAMD"),
        ],
        ..on_bochs("hello", BochsCpu::Amd)
    });
    assert_met(&report);
    assert!(
        report.hv_log.contains("backend svm") && report.hv_log.contains("NRIP_SAVE"),
        "{}",
        report.hv_log
    );
}

#[test]
fn device_model_guest_reads_disk_and_cd_on_bochs_svm() {
    devtest_on(BochsCpu::Amd);
}

#[test]
fn freedos_cd_boots_to_the_prompt_on_vmx() {
    let Some(iso) = shared_guest("freedos-boot.iso") else {
        return;
    };
    let report = run_ok(&RunOptions {
        guest: xtask::runner::BIOS_GUEST.into(),
        iso: Some(iso),
        mem_mib: 64,
        expect: vec![Regex::new(r"A:\\>").unwrap()],
        ..on_bochs("hello", BochsCpu::Intel)
    });
    assert_met(&report);
    assert!(report.hv_log.contains("backend vmx"), "{}", report.hv_log);
    assert!(report.screen.contains(r"A:\>"), "{}", report.screen);
}

#[test]
fn linux_iso_boots_to_its_shell_on_vmx_on_a_plain_modern_pc_with_a_known_tsc() {
    // The kernel's own long-mode entry (CR0.PG with EFER.LME) and its Intel
    // path (IA32_MISC_ENABLE in verify_cpu) run on the VT-x backend, on the
    // plain PC (`--xen off`; tests/xen_hvm.rs boots the same ISO with the
    // Xen platform on both backends). The modern PC as the stock command
    // line finds it (tests/src/modern_pc.rs), and the TSC: an Intel guest
    // reads its rate from CPUID 15h (`native_calibrate_tsc`; "tsc: Detected
    // <rate> MHz processor", and a second line "... MHz TSC" only where the
    // processor's rate differs), so no calibration against the PIT is
    // needed. The clocksource is `tsc`: the early clocksource watchdog,
    // which compares the TSC with jiffies before the PM timer registers,
    // finds them agreeing now that device deadlines end the guest's run on
    // time (the VMX-preemption timer) and no APERF/MPERF reads stretch
    // each tick (CPUID leaf 6 as KVM's); before, jiffies fell up to 26%
    // behind and Linux marked the TSC unstable (README). Bochs' time is
    // its instruction count (`clock: sync=none`), so this does not depend
    // on the host's load.
    let session = Session {
        boot: vec![
            literal("vmm-linux: cdrom mounted at /mnt"),
            literal(SHELL_READY),
        ],
        steps: [
            // The kernel's TSC and clocksource lines, shown whole so a
            // failure says which reason Linux gave.
            Step::new(
                "dmesg | grep -e 'tsc:' -e 'TSC' -e 'clocksource:'; echo tsc-lines-$((6 * 7))",
                vec![
                    Regex::new(r"tsc: Detected \d+\.\d{3} MHz processor").unwrap(),
                    literal("tsc-lines-42"),
                ],
            ),
        ]
        .into_iter()
        .chain(tests::modern_pc::steps("tsc"))
        .collect(),
        last: Some("poweroff -f".into()),
    };
    let report = run_ok(&session.apply(RunOptions {
        xen: false,
        ..Backend::Vmx.options(linux_iso(), 0)
    }));
    session.assert_met(&report);
    for trouble in ["Unable to calibrate against PIT", "Marking TSC unstable"] {
        assert!(!report.console.contains(trouble), "{}", report.console);
    }
    tests::modern_pc::assert_acpi_poweroff(&report.hv_log);
    assert!(report.hv_log.contains("backend vmx"), "{}", report.hv_log);
    assert!(
        !report.hv_log.contains("Xen platform on"),
        "{}",
        report.hv_log
    );
}
