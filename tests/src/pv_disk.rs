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

/// A disk of pseudo-random bytes (fixed seed) for `name`, in the
/// workspace's target folder, and its bytes.
pub fn random_disk(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = xtask::workspace_root().join("target").join("pv-disk-test");
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
    // A bound xenbus device holds a reference on its driver's module
    // (`xenbus_dev_probe`), so the device is unbound first, as on Xen.
    let reload = format!(
        "echo vbd-51712 > /sys/bus/xen/drivers/vbd/unbind; \
         rmmod xen_blkfront; ls /sys/block | tr '\\n' ,; \
         insmod $(find /lib/modules -name 'xen?blkfront.ko'); {}; ls /sys/block | tr '\\n' ,",
        wait_for("xvda")
    );
    let features = if flush {
        "xvda: flush diskcache: enabled; persistent grants: disabled; indirect descriptors: enabled"
    } else {
        "xvda: barrier or flush: disabled; persistent grants: disabled; indirect descriptors: enabled"
    };
    vec![
        Step::value(
            "disks",
            &format!("{}; ls /sys/block | tr '\\n' ,", wait_for("xvda")),
            "sr0,xvda,",
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
