//! `cargo xtask run --config FILE` as a user runs it: the repository's
//! example domain config (examples/linux-hvm.cfg) boots the Linux ISO with
//! the Xen platform and ACPI it asks for, and a config this hypervisor
//! cannot run is refused with one line and exit status 3.

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
fn a_config_that_cannot_run_here_is_one_line_and_status_3() {
    let dir = xtask::workspace_root()
        .join("target")
        .join("xl-config-test");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join(format!("pvh-{}.cfg", std::process::id()));
    std::fs::write(&cfg, "name = \"p\"\ntype = \"pvh\"\nkernel = \"vmlinux\"\n").unwrap();
    let out = xtask()
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .expect("xtask runs");
    let _ = std::fs::remove_file(&cfg);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("line 2: type = \"pvh\": PVH guests are not supported yet"),
        "{stderr}"
    );
}
