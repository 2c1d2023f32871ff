//! The PV block device (issue 14): Debian 12's stock `xen-blkfront`
//! against the hypervisor's own block backend, on SVM (QEMU, the disk a
//! host virtio-blk device) and on VT-x (Bochs, the disk an in-memory
//! module).
//!
//! With the Xen platform on (the default) the guest unplugs the emulated
//! IDE disk (`platform_pci_unplug`, arch/x86/xen/platform-pci-unplug.c)
//! and its blkfront attaches the same disk as `xvda`: `/sys/block` lists
//! `xvda` and not `sda`, and blkfront's own line
//! (drivers/block/xen-blkfront.c, `blkfront_connect`) names the features
//! the backend offered. A known image's checksum read through `xvda`
//! matches the host's, a write through `xvda` (flushed) reads back, the
//! module unloads (the vbd closes) and loads again (the vbd reconnects,
//! the data still there); on SVM the write is in the host file after the
//! guest powers off, and a second boot with `--xen off` reads it through
//! the emulated `sda`.

use host_sha256::sha256_hex;
use std::path::{Path, PathBuf};
use tests::linux_shell::{linux_iso, Backend, Session, Step};
use tests::{literal, run_ok};
use xtask::linux_iso::SHELL_READY;
use xtask::runner::RunOptions;

/// The host's `sha256sum`, so the test compares what the guest's busybox
/// prints with the same tool's answer on the host bytes.
mod host_sha256 {
    use std::io::Write;
    use std::process::{Command, Stdio};

    pub fn sha256_hex(bytes: &[u8]) -> String {
        let mut child = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sha256sum on the host");
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// Size of the test disk.
const DISK_BYTES: usize = 8 << 20;
/// The part of it the guest checksums.
const SUM_BYTES: usize = 4 << 20;
/// Sector the guest writes its pattern to (inside the summed part, after
/// the checksum is taken).
const PATTERN_SECTOR: usize = 6144;
/// What the guest writes: typed as `vmm-$((6 * 7))-pv`, so the echo of the
/// typed command never shows it.
const PATTERN: &str = "vmm-42-pv";

/// A disk of pseudo-random bytes of its own for `name`.
fn random_disk(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = xtask::workspace_root()
        .join("target")
        .join("xen-blkfront-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.img", std::process::id()));
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let bytes: Vec<u8> = (0..DISK_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// Waits for a block device to appear (blkfront probes asynchronously).
fn wait_for(dev: &str) -> String {
    format!("for i in $(seq 100); do [ -b /dev/{dev} ] && break; sleep 0.1; done")
}

fn session(sum: &str) -> Session {
    // A bound xenbus device holds a reference on its driver's module
    // (`xenbus_dev_probe`), so the device is unbound first, as on Xen.
    let reload = format!(
        "echo vbd-51712 > /sys/bus/xen/drivers/vbd/unbind; \
         rmmod xen_blkfront; ls /sys/block | tr '\\n' ,; \
         insmod $(find /lib/modules -name 'xen?blkfront.ko'); {}; ls /sys/block | tr '\\n' ,",
        wait_for("xvda")
    );
    Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![
            Step::value(
                "disks",
                &format!("{}; ls /sys/block | tr '\\n' ,", wait_for("xvda")),
                "sr0,xvda,",
            ),
            Step::new(
                "dmesg | grep 'blkfront: xvda'",
                vec![literal(
                    "xvda: flush diskcache: enabled; persistent grants: enabled; \
                     indirect descriptors: enabled",
                )],
            ),
            Step::value(
                "sum",
                &format!(
                    "dd if=/dev/xvda bs=1M count={} iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1",
                    SUM_BYTES >> 20
                ),
                sum,
            ),
            Step::value(
                "write",
                &format!(
                    "echo vmm-$((6 * 7))-pv | dd of=/dev/xvda bs=512 seek={PATTERN_SECTOR} \
                     conv=fsync 2>/dev/null; echo $?"
                ),
                "0",
            ),
            // Unloaded, the vbd closes and xvda goes; loaded again, the vbd
            // reconnects.
            Step::value("reload", &reload, "sr0,sr0,xvda,"),
            Step::value(
                "readback",
                &format!(
                    "dd if=/dev/xvda bs=512 skip={PATTERN_SECTOR} count=1 iflag=direct \
                     2>/dev/null | head -c {}",
                    PATTERN.len()
                ),
                PATTERN,
            ),
        ],
        last: Some("poweroff -f".into()),
    }
}

fn check_log(log: &str) {
    for needle in [
        "emulated IDE disk(s) unplugged",
        "vbd 51712 connected",
        "xen vbd xvda: 2 connection(s)",
    ] {
        assert!(log.contains(needle), "the log lacks {needle:?}:\n{log}");
    }
}

fn run_pv(backend: Backend, disk: &Path, bytes: &[u8]) -> String {
    let s = session(&sha256_hex(&bytes[..SUM_BYTES]));
    let report = run_ok(&s.apply(RunOptions {
        disk: Some(disk.to_path_buf()),
        stats: true,
        ..backend.options(linux_iso(), 120)
    }));
    s.assert_met(&report);
    check_log(&report.hv_log);
    report.hv_log
}

#[test]
fn on_svm_blkfront_serves_the_disk_as_xvda_and_its_writes_reach_the_file() {
    let (disk, bytes) = random_disk("svm");
    let log = run_pv(Backend::Svm, &disk, &bytes);
    assert!(log.contains("disk on host virtio-blk"), "{log}");
    // The pattern is in the host file; nothing else changed.
    let after = std::fs::read(&disk).unwrap();
    let at = PATTERN_SECTOR * 512;
    assert_eq!(
        &after[at..at + PATTERN.len() + 1],
        format!("{PATTERN}\n").as_bytes()
    );
    assert_eq!(after[..at], bytes[..at]);
    assert_eq!(after[at + 512..], bytes[at + 512..]);
    // The same disk through the emulated IDE disk of the plain PC.
    let s = Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![Step::value(
            "ide",
            &format!(
                "{}; dd if=/dev/sda bs=512 skip={PATTERN_SECTOR} count=1 2>/dev/null | head -c {}",
                wait_for("sda"),
                PATTERN.len()
            ),
            PATTERN,
        )],
        last: Some("poweroff -f".into()),
    };
    let report = run_ok(&s.apply(RunOptions {
        disk: Some(disk.clone()),
        xen: false,
        ..Backend::Svm.options(linux_iso(), 60)
    }));
    s.assert_met(&report);
    let _ = std::fs::remove_file(&disk);
}

#[test]
fn on_vmx_blkfront_serves_the_disk_as_xvda() {
    let (disk, bytes) = random_disk("vmx");
    run_pv(Backend::Vmx, &disk, &bytes);
    let _ = std::fs::remove_file(&disk);
}
