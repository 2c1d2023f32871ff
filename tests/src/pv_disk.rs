//! The PV disk at the Linux test ISO's shell (issue 14): Debian's stock
//! `xen-blkfront` against the hypervisor's block backend. With the Xen
//! platform on, the guest unplugs the emulated IDE disk
//! (arch/x86/xen/platform-pci-unplug.c) and blkfront attaches the same
//! medium as `xvda`; its own line (drivers/block/xen-blkfront.c,
//! `blkfront_connect`) names the features the backend offered.
//!
//! Shared by `tests/xen_blkfront.rs` (persistence, the emulated path,
//! SVM) and `tests/xen_hvm.rs` (the same steps in its one boot per backend,
//! so VT-x under Bochs needs no boot of its own).

use crate::linux_shell::Step;
use crate::literal;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Size of a test disk.
pub const DISK_BYTES: usize = 8 << 20;
/// The part of it the guest checksums.
pub const SUM_BYTES: usize = 4 << 20;
/// Sector the guest writes its pattern to (after the checksum is taken).
pub const PATTERN_SECTOR: usize = 6144;
/// What the guest writes: typed as `vmm-$((6 * 7))-pv`, so the echo of the
/// typed command never shows it.
pub const PATTERN: &str = "vmm-42-pv";

/// A disk of [`DISK_BYTES`] pseudo-random bytes (fixed seed) for `name`,
/// in the workspace's target folder, and its bytes.
pub fn random_disk(name: &str) -> (PathBuf, Vec<u8>) {
    random_disk_of(name, 0x2545_F491_4F6C_DD1D, DISK_BYTES)
}

/// A disk of `len` pseudo-random bytes (xorshift from `seed`) named after
/// `name` and the test process, in `target/pv-disk-test/`, and its bytes.
pub fn random_disk_of(name: &str, seed: u64, len: usize) -> (PathBuf, Vec<u8>) {
    let dir = xtask::workspace_root().join("target").join("pv-disk-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.img", std::process::id()));
    let mut x = seed;
    let bytes: Vec<u8> = (0..len)
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

/// The host's `sha256sum` of `bytes`, to compare with the guest's busybox.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
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

/// Shell code waiting for a block device (blkfront probes asynchronously).
pub fn wait_for(dev: &str) -> String {
    format!("for i in $(seq 100); do [ -b /dev/{dev} ] && break; sleep 0.1; done")
}

/// The steps: `xvda` and no `sda`, blkfront's feature line (`flush`: the
/// medium has a write cache to flush, as a host virtio-blk disk does and
/// an in-memory one does not), the checksum of the first [`SUM_BYTES`]
/// (`sum`, the host's), a flushed write of [`PATTERN`], the driver unbound
/// and unloaded (the vbd closes, xvda goes) and loaded again (the vbd is
/// re-plugged and reconnects), and the pattern read back.
pub fn steps(sum: &str, flush: bool) -> Vec<Step> {
    steps_with(sum, flush, None)
}

/// [`steps`], and with `read_only_sum` a second disk attached read-only:
/// [`read_only_steps`] after the write, and both vbds unbound, unloaded
/// and reconnected by the reload.
pub fn steps_with(sum: &str, flush: bool, read_only_sum: Option<&str>) -> Vec<Step> {
    steps_on(sum, flush, read_only_sum, true)
}

/// [`steps_with`] on a machine with (`cdrom`) or without (a PVH guest) the
/// emulated CD-ROM `sr0` beside the PV disks.
pub fn steps_on(sum: &str, flush: bool, read_only_sum: Option<&str>, cdrom: bool) -> Vec<Step> {
    let sr0 = if cdrom { "sr0," } else { "" };
    let (devices, vbds, listing) = match read_only_sum {
        None => (&["xvda"][..], "vbd-51712", "xvda,"),
        Some(_) => (&["xvda", "xvdb"][..], "vbd-51712 vbd-51728", "xvda,xvdb,"),
    };
    let wait = devices
        .iter()
        .map(|d| wait_for(d))
        .collect::<Vec<_>>()
        .join("; ");
    // A bound xenbus device holds a reference on its driver's module
    // (`xenbus_dev_probe`), so the devices are unbound first, as on Xen.
    let reload = format!(
        "for v in {vbds}; do echo $v > /sys/bus/xen/drivers/vbd/unbind; done; \
         rmmod xen_blkfront; ls /sys/block | tr '\\n' ,; \
         insmod $(find /lib/modules -name 'xen?blkfront.ko'); {wait}; ls /sys/block | tr '\\n' ,"
    );
    let features = if flush {
        "xvda: flush diskcache: enabled; persistent grants: disabled; indirect descriptors: enabled"
    } else {
        "xvda: barrier or flush: disabled; persistent grants: disabled; indirect descriptors: enabled"
    };
    let mut steps = vec![
        Step::value(
            "disks",
            &format!("{wait}; ls /sys/block | tr '\\n' ,"),
            &format!("{sr0}{listing}"),
        ),
        Step::new("dmesg | grep 'blkfront: xvda'", vec![literal(features)]),
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
        Step::value("reload", &reload, &format!("{sr0}{sr0}{listing}")),
        Step::value(
            "readback",
            &format!(
                "dd if=/dev/xvda bs=512 skip={PATTERN_SECTOR} count=1 iflag=direct \
                 2>/dev/null | head -c {}",
                PATTERN.len()
            ),
            PATTERN,
        ),
    ];
    if let Some(sum) = read_only_sum {
        let at = steps.len() - 2;
        steps.splice(at..at, read_only_steps(sum));
    }
    steps
}

/// Seed of the read-only second disk's bytes.
pub const READ_ONLY_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The steps for a second disk attached read-only (`--disk b.img,ro`):
/// blkfront attaches it as `xvdb`, read-only because the vbd's `info` says
/// `VDISK_READONLY` (xen/include/public/io/blkif.h), so the kernel refuses
/// a write (dd's status is not 0) and the checksum of the whole disk
/// (`sum`, the host's) is the same before and after.
pub fn read_only_steps(sum: &str) -> Vec<Step> {
    let whole = "dd if=/dev/xvdb bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1";
    vec![
        Step::value(
            "xvdb",
            &format!(
                "{}; echo $(cat /sys/block/xvdb/ro),$(blockdev --getro /dev/xvdb)",
                wait_for("xvdb")
            ),
            "1,1",
        ),
        Step::value("sumb", whole, sum),
        // Typed as $((6 * 7)) so the echo of the command never matches.
        Step::new(
            &format!(
                "echo \"wro=$(echo vmm-$((6 * 7))-ro | dd of=/dev/xvdb bs=512 seek={PATTERN_SECTOR} \
                 conv=sync,fsync oflag=direct 2>/dev/null; echo $?)\""
            ),
            vec![regex::Regex::new(r"wro=[1-9][0-9]*\b").unwrap()],
        ),
        Step::value("sumb2", whole, sum),
    ]
}

/// What the hypervisor logs when all of it happened (with `--stats`).
pub fn check_log(log: &str) {
    for needle in [
        "emulated IDE disk(s) unplugged",
        "vbd 51712 connected",
        "xen vbd xvda: 2 connection(s)",
    ] {
        assert!(log.contains(needle), "the log lacks {needle:?}:\n{log}");
    }
}

/// What the hypervisor logs for the read-only second disk of
/// [`steps_with`] (with `--stats`).
pub fn check_read_only_log(log: &str) {
    for needle in [
        "disk offered as PV xvdb",
        "read-only)",
        "vbd 51728 connected",
        "xen vbd xvdb: 2 connection(s)",
    ] {
        assert!(log.contains(needle), "the log lacks {needle:?}:\n{log}");
    }
}
