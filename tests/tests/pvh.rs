//! Full PV (PVH, issue 16): Debian's unmodified kernel started at its PVH
//! entry with the Linux ISO's own initrd, no BIOS and no emulated devices,
//! on the SVM backend (QEMU) and on the VT-x backend (Bochs, `--cpu
//! intel`). One boot per backend checks, at the shell on hvc0 (the only
//! console), that the kernel booted as Xen PVH, that it sees no PCI device
//! and only the PVH ACPI tables, that its clocksource is `xen` with the
//! VIRQ timer ticking, that XenStore works through Debian's tools, that
//! its disk is `xvda` through the PV block backend (read, written,
//! unloaded and reconnected: `tests/src/pv_disk.rs`), and that `poweroff
//! -f` ends the run cleanly.
//!
//! What Linux 6.1 prints, from its sources: `Booting kernel on Xen PVH`
//! (arch/x86/kernel/paravirt.c with `pv_info.name`, set to "Xen PVH" by
//! arch/x86/xen/enlighten_pvh.c's `xen_pvh_init` path), `Xen HVM callback
//! vector for event delivery is enabled` (drivers/xen/events: PVH has no
//! other upcall), `Switched to clocksource xen` (time.c's clocksource).

use regex::Regex;
use tests::linux_shell::{Backend, Session, Step};
use tests::literal;
use xtask::linux_iso::SHELL_READY;
use xtask::runner::{DiskImage, PvhBoot, RunOptions};

/// The PVH start of the Linux ISO's kernel and initrd on `backend`, with
/// a time limit fitting a boot there plus `extra_secs`.
fn pvh_options(backend: Backend, extra_secs: u64) -> RunOptions {
    let files = xtask::linux_iso::linux_pvh_files()
        .unwrap_or_else(|e| panic!("the Linux ISO's kernel and initrd: {e}"));
    backend.on(
        RunOptions {
            pvh: Some(PvhBoot {
                kernel: files.kernel,
                initrd: Some(files.initrd),
                cmdline: "console=hvc0 loglevel=4".into(),
            }),
            stats: true,
            ..backend.linux_base()
        },
        extra_secs,
    )
}

fn pvh_session(disk_sum: &str, flush: bool) -> Session {
    let mut steps = vec![
        Step::new(
            "dmesg | grep -e 'Booting kernel on' -e 'callback vector'",
            vec![
                literal("Booting kernel on Xen PVH"),
                literal("Xen HVM callback vector for event delivery is enabled"),
            ],
        ),
        // No emulated devices: no PCI bus, no 8259 lines.
        Step::value("pci-devices", "ls /sys/bus/pci/devices | wc -l", "0"),
        Step::value("xt-pic-lines", "grep -c XT-PIC /proc/interrupts", "0"),
        // The PVH tables: MADT, FADT (with its FACS) and DSDT.
        Step::new(
            "echo acpi-tables=$(ls /sys/firmware/acpi/tables | tr '\\n' ' ')",
            vec![literal("acpi-tables=APIC DSDT FACP FACS ")],
        ),
        Step::value(
            "clocksource",
            "cat /sys/devices/system/clocksource/clocksource0/current_clocksource",
            "xen",
        ),
        Step::new(
            "grep -e '-virq *timer0' /proc/interrupts",
            vec![Regex::new(r"\d+: +[1-9]\d* +xen-percpu +-virq +timer0").unwrap()],
        ),
        Step::value(
            "xs-read",
            "xenstore-write data/test pvh && xenstore-read data/test",
            "pvh",
        ),
        Step::value(
            "trouble",
            "dmesg | grep -c -e 'ACPI Error' -e 'ACPI Warning' -e 'unchecked MSR access' \
             -e 'add_to_physmap failed' -e 'BUG' -e 'Call Trace'",
            "0",
        ),
    ];
    steps.extend(tests::pv_disk::steps_on(disk_sum, flush, None, false));
    Session {
        boot: vec![
            literal("vmm-linux: the console is hvc0"),
            literal(SHELL_READY),
        ],
        steps,
        last: Some("poweroff -f".into()),
    }
}

fn pvh_boot_on(backend: Backend) {
    let (disk, bytes) = tests::pv_disk::random_disk(&format!("pvh-{backend:?}"));
    let sum = tests::pv_disk::sha256_hex(&bytes[..tests::pv_disk::SUM_BYTES]);
    // The host virtio-blk disk of QEMU has a cache to flush, Bochs'
    // in-memory one has not.
    let session = pvh_session(&sum, backend == Backend::Svm);
    let opts = pvh_options(backend, 120).with_disks(vec![DiskImage {
        path: disk.clone(),
        read_only: false,
    }]);
    let report = tests::run_ok(&session.apply(opts));
    let _ = std::fs::remove_file(&disk);
    session.assert_met(&report);
    // Linux 6.1 powers a PVH guest off through the ACPI tables' PM1
    // control block (`\_S5`); a kernel without ACPI uses SCHEDOP_shutdown.
    // Either ends the run cleanly.
    assert!(
        report
            .hv_log
            .contains("guest stopped: powered off through ACPI (S5)")
            || report
                .hv_log
                .contains("guest stopped: shut down through SCHEDOP_shutdown: poweroff"),
        "the run did not end with the guest's power-off:\n{}",
        report.hv_log
    );
    for needle in [
        "starting at the PVH kernel's entry",
        "vbd 51712 connected",
        "xen vbd xvda: 2 connection(s)",
    ] {
        assert!(
            report.hv_log.contains(needle),
            "the log lacks {needle:?}:\n{}",
            report.hv_log
        );
    }
}

#[test]
fn linux_boots_pvh_on_svm_with_xvda_and_xen_time_then_powers_off() {
    pvh_boot_on(Backend::Svm);
}

#[test]
fn linux_boots_pvh_on_vmx_with_xvda_and_xen_time_then_powers_off() {
    pvh_boot_on(Backend::Vmx);
}
