//! The Xen PV-on-HVM interface as Debian's unmodified kernel and Debian's own
//! `xenstore-utils` see it, on the SVM backend (QEMU) and on the VT-x backend
//! (Bochs, `--cpu intel`): one boot of the Linux test ISO per backend checks,
//! at the serial shell, that the kernel detects Xen HVM and has
//! `/sys/hypervisor/type`, that XenStore reads and writes work and refuse
//! another domain's nodes, that `/dev/hvc0` output reaches the run's console,
//! that the clock came from Xen without PIT calibration trouble, and that
//! `poweroff -f` ends the run cleanly. Two more QEMU boots check `--xen off`
//! (a plain PC) and `--console hvc0` (typed input to the shell on hvc0).
//!
//! What Linux 6.1 prints, from its sources: `Hypervisor detected: Xen HVM`
//! (arch/x86/kernel/cpu/hypervisor.c with x86_hyper_xen_hvm's name);
//! `tsc: Detected %lu.%03lu MHz processor` (arch/x86/kernel/tsc.c,
//! determine_cpu_tsc_frequencies), where the TSC rate is xen_tsc_khz, the
//! pvclock's `tsc_to_system_mul`/`tsc_shift` turned back into kHz, once
//! xen_hvm_init_time_ops has run (arch/x86/xen/time.c): with the ISO's
//! `nolapic` the PIT calibration of the CPU rate usually fails ("Fast TSC
//! calibration failed") and the TSC rate stands for it, so the line shows
//! the hypervisor's own TSC rate (its log's `TSC runs at N MHz`). What must
//! not appear: `Unable to calibrate against PIT` and `Marking TSC unstable
//! due to ...` (tsc.c), `Xen doesn't support pvclock on HVM` and `Delay
//! xen_init_time_common()` (time.c: the Xen TSC rate was not taken). With
//! `nolapic`, native_smp_prepare_cpus stops in PIC mode before
//! setup_percpu_clockev, so xen_time_init (the vcpuop timer, the `xen`
//! clocksource) does not run and is not checked. The XenStore tools (Xen
//! 4.17, tools/xs-clients/xenstore_client.c) report a failed write with
//! warnx, without the errno: `xenstore-write: could not write path <path>`
//! and exit status 1; so the EACCES itself is read from a raw XS_WRITE
//! (type 11, header `xsd_sockmsg` of four u32: type, req_id, tx_id, len;
//! xen/include/public/io/xs_wire.h) through `/dev/xen/xenbus`, whose reply
//! is XS_ERROR (16) with the payload "EACCES\0".
//!
//! The same boot also checks the PV disks (`tests/src/pv_disk.rs`): xvda
//! through Debian's blkfront, read, written, unloaded and reloaded, and a
//! read-only xvdb that refuses a write.
//!
//! These tests fail until the hypervisor offers the interface; the `--xen
//! off` one passes without it.

use regex::Regex;
use tests::linux_shell::{
    cpio_entries, initramfs_of, linux_iso, unpack, Backend, Session, Step, S_IFLNK, S_IFMT, S_IFREG,
};
use tests::literal;
use xtask::linux_iso::{HVC0_SHELL_STARTED, SHELL_READY};
use xtask::runner::{Console, DiskImage, RunOptions};

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap()
}

/// A raw XS_WRITE of `/local/domain/0/x` = `y` (payload 19 bytes) on
/// `/dev/xen/xenbus`, then the capital letters of the reply: `EACCES` for
/// XS_ERROR "EACCES\0" (the header's bytes are all below 'A').
const RAW_WRITE_TO_DOM0: &str = r"exec 3<>/dev/xen/xenbus; printf '\013\0\0\0\0\0\0\0\0\0\0\0\023\0\0\0/local/domain/0/x\0y' >&3; echo xs-raw=$(dd bs=64 count=1 <&3 2>/dev/null | tr -cd 'A-Z'); exec 3<&-";

/// Linux's TSC rate line (MHz with three decimals).
const TSC_DETECTED: &str = r"tsc: Detected (\d+)\.(\d{3}) MHz processor";

/// Everything one boot with Xen checks, ending in `poweroff -f`.
fn xen_session() -> Session {
    Session {
        boot: vec![literal(HVC0_SHELL_STARTED), literal(SHELL_READY)],
        steps: vec![
            // (a) The kernel found Xen HVM and made /sys/hypervisor.
            Step::new(
                "dmesg | grep -i 'Hypervisor detected'",
                vec![literal("Hypervisor detected: Xen HVM")],
            ),
            Step::value("hv-type", "cat /sys/hypervisor/type", "xen"),
            // (b) XenStore through Debian's tools: the domain's own nodes...
            Step::value(
                "xs-read",
                "xenstore-write data/test hello && xenstore-read data/test",
                "hello",
            ),
            // A watch fires once when it is set and once per change.
            Step::new(
                "(xenstore-watch -n 2 data/vmm-watch &); sleep 1; xenstore-write data/vmm-watch 1; \
                 sleep 2; echo watch-d''one",
                vec![
                    re(r"(?m)^data/vmm-watch\r?$(?s:.*)^data/vmm-watch\r?$"),
                    literal("watch-done"),
                ],
            ),
            Step::new(
                "xenstore-rm data/test && xenstore-exists data/test; echo xs-rm-gone=$?",
                vec![literal("xs-rm-gone=1")],
            ),
            Step::new(
                "xenstore-ls \"/local/domain/$(xenstore-read domid)\"",
                vec![re(r#"(?m)^domid = "\d+""#)],
            ),
            // ... and not domain 0's.
            Step::new(
                "xenstore-write /local/domain/0/x y; echo xs-write-status=$?",
                vec![
                    literal("xenstore-write: could not write path /local/domain/0/x"),
                    literal("xs-write-status=1"),
                ],
            ),
            Step::new(RAW_WRITE_TO_DOM0, vec![literal("xs-raw=EACCES")]),
            // (c) What the guest writes to hvc0 reaches the run's console
            // (the quotes keep the typed command itself from matching).
            Step::new(
                "echo vmm-hvc-l''ine > /dev/hvc0",
                vec![literal("vmm-hvc-line")],
            ),
            // (d) The TSC rate came from Xen's pvclock, and the PIT was
            // never needed for it nor the TSC found unstable.
            Step::new("dmesg | grep 'tsc: Detected'", vec![re(TSC_DETECTED)]),
            Step::value(
                "tsc-trouble-lines",
                "dmesg | grep -c -e 'Unable to calibrate against PIT' -e 'Marking TSC unstable' \
                 -e 'support pvclock on HVM' -e 'Delay xen_init_time_common'",
                "0",
            ),
        ]
        .into_iter()
        // (g) The modern PC (issue 15) with the stock command line: ACPI,
        // the I/O APIC and the local APIC timer, and with them Xen's
        // clocksource and VIRQ_TIMER clockevent.
        .chain(tests::modern_pc::steps("xen"))
        .collect(),
        // (e) The guest's own power-off ends the run, cleanly.
        last: Some("poweroff -f".into()),
    }
}

fn xen_session_on(backend: Backend) {
    let mut session = xen_session();
    // (f) The PV disk (issue 14): a disk attached, the blkfront steps
    // (tests/src/pv_disk.rs; the host virtio-blk disk of QEMU has a cache
    // to flush, Bochs' in-memory one has not). The checksum of a
    // deterministic disk, and the file removed after the run.
    // A second disk, read-only, is xvdb (read-only in the guest, a write
    // refused, unchanged after the run).
    let (disk, bytes) = tests::pv_disk::random_disk(&format!("xen-hvm-{backend:?}"));
    let sum = tests::pv_disk::sha256_hex(&bytes[..tests::pv_disk::SUM_BYTES]);
    let (ro_disk, ro_bytes) = tests::pv_disk::random_disk_of(
        &format!("xen-hvm-ro-{backend:?}"),
        tests::pv_disk::READ_ONLY_SEED,
        1 << 20,
    );
    let ro_sum = tests::pv_disk::sha256_hex(&ro_bytes);
    session.steps.extend(tests::pv_disk::steps_with(
        &sum,
        backend == Backend::Svm,
        Some(&ro_sum),
    ));
    let disks = vec![
        DiskImage {
            path: disk.clone(),
            read_only: false,
        },
        DiskImage {
            path: ro_disk.clone(),
            read_only: true,
        },
    ];
    let report = tests::run_ok(
        &session.apply(
            RunOptions {
                stats: true,
                ..backend.options(linux_iso(), 180)
            }
            .with_disks(disks),
        ),
    );
    let ro_after = std::fs::read(&ro_disk).unwrap();
    let _ = std::fs::remove_file(&disk);
    let _ = std::fs::remove_file(&ro_disk);
    session.assert_met(&report);
    tests::modern_pc::assert_acpi_poweroff(&report.hv_log);
    tests::pv_disk::check_log(&report.hv_log);
    tests::pv_disk::check_read_only_log(&report.hv_log);
    assert!(ro_after == ro_bytes, "the read-only disk's file changed");
    // The rate Linux took is exactly the one the pvclock scale encodes
    // (the hypervisor logs it computed as Linux's pvclock_tsc_khz does); a
    // PIT or HPET calibration would not land on the same kHz.
    let pvclock = re(r"pvclock gives the guest a (\d+\.\d{3}) MHz TSC")
        .captures(&report.hv_log)
        .unwrap_or_else(|| panic!("the hypervisor logged no pvclock rate:\n{}", report.hv_log))[1]
        .to_string();
    let guest = re(TSC_DETECTED).captures(&report.console).unwrap();
    assert_eq!(
        format!("{}.{}", &guest[1], &guest[2]),
        pvclock,
        "Linux's TSC rate is not the pvclock's"
    );
}

#[test]
fn linux_on_svm_sees_xen_hvm_xenstore_hvc0_and_xen_time_then_powers_off() {
    xen_session_on(Backend::Svm);
}

#[test]
fn linux_on_vmx_sees_xen_hvm_xenstore_hvc0_and_xen_time_then_powers_off() {
    xen_session_on(Backend::Vmx);
}

#[test]
fn linux_on_svm_with_xen_off_sees_a_plain_pc_then_powers_off() {
    // (f) No Xen leaves, so no /sys/hypervisor/type, no hvc0 and no shell on it.
    let session = Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![
            Step::new(
                "test -e /sys/hypervisor/type; echo hv-type-exists=$?",
                vec![literal("hv-type-exists=1")],
            ),
            Step::value(
                "xen-lines",
                "dmesg | grep -c 'Hypervisor detected: Xen'",
                "0",
            ),
        ]
        .into_iter()
        // The modern PC without Xen: the ACPI PM timer is the clocksource
        // (nested under TCG the TSC cannot be calibrated: README).
        .chain(tests::modern_pc::steps("acpi_pm"))
        .collect(),
        last: Some("poweroff -f".into()),
    };
    let report = tests::run_ok(&session.apply(RunOptions {
        xen: false,
        ..Backend::Svm.options(linux_iso(), 60)
    }));
    session.assert_met(&report);
    tests::modern_pc::assert_acpi_poweroff(&report.hv_log);
    assert!(
        !report.console.contains(HVC0_SHELL_STARTED),
        "{}",
        report.console
    );
}

#[test]
fn linux_on_svm_with_console_hvc0_takes_typed_input_at_the_hvc0_shell() {
    // With `console_input = hvc0` what is typed goes to the PV console's
    // input ring, where /init's second shell reads it.
    let session = Session {
        boot: vec![literal(HVC0_SHELL_STARTED), literal(SHELL_READY)],
        steps: vec![
            Step::value("hvc-tty", "tty", "/dev/hvc0"),
            Step::value("hvc-sum", "echo $((6 * 7))", "42"),
        ],
        last: None,
    };
    let report = tests::run_ok(&session.apply(RunOptions {
        console: Console::Hvc0,
        ..Backend::Svm.options(linux_iso(), 60)
    }));
    session.assert_met(&report);
}

#[test]
fn linux_initramfs_carries_debians_xenstore_tools_and_everything_they_load() {
    let iso = linux_iso();
    let scratch = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("xen-initramfs-{}", std::process::id()));
    let entries = cpio_entries(&initramfs_of(&iso, &scratch));
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("the initramfs has no {name}"))
    };
    let link_target = |name: &str| {
        let e = find(name);
        assert_eq!(e.mode & S_IFMT, S_IFLNK, "{name} is a symbolic link");
        String::from_utf8_lossy(&e.data).into_owned()
    };
    let program = find("usr/bin/xenstore");
    assert_eq!(program.mode & S_IFMT, S_IFREG);
    assert_eq!(&program.data[..4], b"\x7fELF");
    for tool in [
        "chmod", "exists", "list", "ls", "read", "rm", "watch", "write",
    ] {
        assert_eq!(link_target(&format!("usr/bin/xenstore-{tool}")), "xenstore");
    }
    assert_eq!(
        link_target("lib64/ld-linux-x86-64.so.2"),
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    );
    for file in [
        "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "lib/x86_64-linux-gnu/libc.so.6",
    ] {
        assert_eq!(find(file).mode & S_IFMT, S_IFREG, "{file}");
    }
    for lib in ["libxenstore.so.4", "libxentoolcore.so.1"] {
        let target = link_target(&format!("usr/lib/x86_64-linux-gnu/{lib}"));
        assert_eq!(
            find(&format!("usr/lib/x86_64-linux-gnu/{target}")).mode & S_IFMT,
            S_IFREG
        );
    }
    let init = String::from_utf8_lossy(&find("init").data).into_owned();
    assert!(
        init.contains("setsid -c sh </dev/hvc0 >/dev/hvc0 2>&1 &"),
        "{init}"
    );
    assert!(init.contains(HVC0_SHELL_STARTED), "{init}");

    // The loader from the initramfs, given only the initramfs's library
    // folders, finds every library there and runs the tool (which prints
    // its usage for -h and exits 1, before it looks for XenStore).
    let root = scratch.join("root");
    unpack(&entries, &root);
    let loader = root.join("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    let library_path = format!(
        "{}:{}",
        root.join("lib/x86_64-linux-gnu").display(),
        root.join("usr/lib/x86_64-linux-gnu").display()
    );
    let tool = root.join("usr/bin/xenstore-read");
    let listed = std::process::Command::new(&loader)
        .args(["--inhibit-cache", "--library-path", &library_path, "--list"])
        .arg(&tool)
        .output()
        .expect("the initramfs's dynamic loader runs");
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed_text}");
    for lib in ["libxenstore.so.4", "libxentoolcore.so.1", "libc.so.6"] {
        let line = listed_text
            .lines()
            .find(|l| l.trim_start().starts_with(lib))
            .unwrap_or_else(|| panic!("ld.so --list names no {lib}:\n{listed_text}"));
        assert!(
            line.contains(&format!("=> {}", root.display())),
            "{lib} is not loaded from the initramfs: {line}"
        );
    }
    let usage = std::process::Command::new(&loader)
        .args(["--inhibit-cache", "--library-path", &library_path])
        .arg(&tool)
        .arg("-h")
        .output()
        .expect("xenstore-read runs");
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert!(
        stderr.contains("xenstore-read: Usage:"),
        "xenstore-read -h: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
