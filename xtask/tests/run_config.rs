//! `cargo xtask run --config FILE` as a user runs it: the repository's
//! example domain configs boot — examples/linux-hvm.cfg the Linux ISO with
//! the Xen platform and ACPI it asks for, examples/linux-pvh.cfg the ISO's
//! kernel and initrd as a PVH guest — and a config or kernel this
//! hypervisor cannot run is refused with one line and exit status 3.

use std::process::Command;

fn xtask() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.current_dir(xtask::workspace_root());
    cmd
}

#[test]
fn the_example_hvm_config_boots_the_linux_iso_to_its_shell() {
    let iso = xtask::linux_iso::make_linux_iso(false).expect("the Linux ISO builds");
    assert!(
        iso.ends_with("target/guests/linux.iso"),
        "{}",
        iso.display()
    );
    let out = xtask()
        .args(["run", "--config", "examples/linux-hvm.cfg", "--timeout", "300"])
        .args(["--expect", "vmm-linux: shell ready"])
        .args([
            "--send",
            "echo hv=$(cat /sys/hypervisor/type) acpi=$(ls /sys/firmware/acpi/tables | tr '\\n' +)\\r",
        ])
        .args(["--expect", r"hv=xen acpi=APIC\+DSDT\+FACP\+FACS\+"])
        .args(["--send", "poweroff -f\\r", "--expect", "reboot: Power down"])
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("xtask: domain linux-hvm from examples/linux-hvm.cfg"),
        "{stderr}"
    );
    assert!(!stderr.contains("without effect here"), "{stderr}");
}

#[test]
fn the_example_pvh_config_boots_the_isos_kernel_to_its_shell() {
    let files = xtask::linux_iso::linux_pvh_files().expect("the Linux ISO's kernel and initrd");
    assert!(
        files.kernel.ends_with("target/guests/linux-pvh/vmlinuz"),
        "{}",
        files.kernel.display()
    );
    let out = xtask()
        .args([
            "run",
            "--config",
            "examples/linux-pvh.cfg",
            "--timeout",
            "300",
        ])
        .args(["--expect", "vmm-linux: shell ready"])
        .args([
            "--send",
            "echo hv=$(cat /sys/hypervisor/type) pci=$(ls /sys/bus/pci/devices | wc -l)\\r",
        ])
        .args(["--expect", r"hv=xen pci=0"])
        .args(["--send", "poweroff -f\\r", "--expect", "reboot: Power down"])
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("xtask: domain linux-pvh from examples/linux-pvh.cfg"),
        "{stderr}"
    );
    assert!(!stderr.contains("without effect here"), "{stderr}");
}

/// Runs `cargo xtask run` with `args`; returns its exit status and stderr.
fn run_status(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = xtask().arg("run").args(args).output().expect("xtask runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_config_or_kernel_that_cannot_run_here_is_one_line_and_status_3() {
    let dir = xtask::workspace_root()
        .join("target")
        .join("xl-config-test");
    std::fs::create_dir_all(&dir).unwrap();
    let id = std::process::id();
    let cfg = dir.join(format!("pv-{id}.cfg"));
    std::fs::write(&cfg, "name = \"p\"\ntype = \"pv\"\nkernel = \"vmlinux\"\n").unwrap();
    let missing = dir.join(format!("pvh-missing-{id}.cfg"));
    std::fs::write(&missing, "type = \"pvh\"\nkernel = \"no-such-vmlinux\"\n").unwrap();
    // Not a kernel: a text file given as --kernel.
    let not_kernel = dir.join(format!("not-a-kernel-{id}"));
    std::fs::write(&not_kernel, "hello\n").unwrap();
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec!["--config".as_ref(), cfg.as_os_str()],
            "line 2: type = \"pv\": classic PV guests are not supported",
        ),
        (
            vec!["--config".as_ref(), missing.as_os_str()],
            "no-such-vmlinux: cannot read",
        ),
        (
            vec!["--kernel".as_ref(), not_kernel.as_os_str()],
            "neither an ELF vmlinux",
        ),
    ];
    for (args, want) in cases {
        let (status, stderr) = run_status(&args);
        assert_eq!(status, Some(3), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    // A kernel that cannot load in the guest's RAM (Linux 6.1's PVH entry
    // is not relocatable: it loads at 16 MiB) is refused by the runner
    // before the machine starts; provisioning may have said its line first.
    let files = xtask::linux_iso::linux_pvh_files().expect("the Linux ISO's kernel");
    let (status, stderr) = run_status(&[
        "--kernel".as_ref(),
        files.kernel.as_os_str(),
        "--mem".as_ref(),
        "8".as_ref(),
    ]);
    assert_eq!(status, Some(3), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("PVH start of") && last.contains("outside the guest's RAM above 1 MiB"),
        "{stderr}"
    );
    for f in [cfg, missing, not_kernel] {
        let _ = std::fs::remove_file(f);
    }
}
