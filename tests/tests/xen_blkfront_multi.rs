//! Two disks, the second read-only (issue 14): `--disk a.img --disk
//! b.img,ro` on SVM (QEMU, each disk a host virtio-blk device of its own,
//! the second `readonly=on`).
//!
//! With the Xen platform on, Debian 12's `xen-blkfront` attaches them in
//! order as `xvda` and `xvdb`; the second vbd's `info` is `VDISK_READONLY`
//! (Xen's `io/blkif.h`), so blkfront marks the disk read-only
//! (`/sys/block/xvdb/ro` is 1, `blockdev --getro` says 1) and a write to it
//! fails. With `--xen off` the same two images are `sda` (IDE primary
//! master) and `sdb` (primary slave; Linux hands out the two names in the
//! order its asynchronous probes finish, so the test finds each disk by its
//! SCSI address); the read-only one aborts the write with ABRT (ATA/ATAPI-6,
//! 6.2: a command the device cannot carry out), so a direct write fails
//! there too. Both checksums match the host files,
//! and the read-only file is unchanged after both boots.

use tests::linux_shell::{linux_iso, Backend, Session, Step};
use tests::pv_disk::{random_disk_of, sha256_hex, READ_ONLY_SEED};
use tests::{literal, run_ok};
use xtask::linux_iso::SHELL_READY;
use xtask::runner::{DiskImage, RunOptions};

/// Size of each test disk.
const DISK_BYTES: usize = 4 << 20;
/// Sector the write attempts aim at.
const WRITE_SECTOR: usize = 100;

/// The steps for disk `a` (read-write) and `b` (read-only), found in the
/// guest by the shell commands `find_a` and `find_b`, with `listing` the
/// block devices expected once both are there.
fn session(find: [&str; 2], listing: &str, sums: [&str; 2], direct: bool) -> Session {
    let sum = |dev: &str| {
        format!("dd if=/dev/{dev} bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1")
    };
    // A direct write reaches the device even where the guest does not know
    // the disk is read-only (IDE); typed as $((6 * 7)) so the echo of the
    // command never matches.
    let flag = if direct { " oflag=direct" } else { "" };
    let write = format!(
        "echo vmm-$((6 * 7))-ro | dd of=/dev/$b bs=512 seek={WRITE_SECTOR} conv=sync,fsync{flag} \
         2>/dev/null; echo $?"
    );
    Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![
            Step::value(
                "disks",
                "for i in $(seq 100); do [ $(ls /sys/block | wc -l) = 3 ] && break; sleep 0.1; \
                 done; ls /sys/block | tr '\\n' ,",
                listing,
            ),
            // Shell variables, kept for the steps after.
            Step::new(
                &format!("a=$({}); b=$({}); echo \"names=$a+$b\"", find[0], find[1]),
                vec![regex::Regex::new(r"names=[a-z]+\+[a-z]+").unwrap()],
            ),
            Step::value("suma", &sum("$a"), sums[0]),
            Step::value("sumb", &sum("$b"), sums[1]),
            Step::new(
                &format!("echo \"wro=$({write})\""),
                vec![regex::Regex::new(r"wro=[1-9][0-9]*\b").unwrap()],
            ),
            Step::value("sumb2", &sum("$b"), sums[1]),
        ],
        last: Some("poweroff -f".into()),
    }
}

#[test]
fn two_disks_one_read_only_are_xvda_and_xvdb_then_sda_and_sdb() {
    let (a, a_bytes) = random_disk_of("multi-a", 0x2545_F491_4F6C_DD1D, DISK_BYTES);
    let (b, b_bytes) = random_disk_of("multi-b", READ_ONLY_SEED, DISK_BYTES);
    let sums = [sha256_hex(&a_bytes), sha256_hex(&b_bytes)];
    let sums = [sums[0].as_str(), sums[1].as_str()];
    let disks = vec![
        DiskImage {
            path: a.clone(),
            read_only: false,
        },
        DiskImage {
            path: b.clone(),
            read_only: true,
        },
    ];

    // Xen on: both PV disks, xvdb read-only in the guest.
    let mut s = session(["echo xvda", "echo xvdb"], "sr0,xvda,xvdb,", sums, false);
    s.steps.insert(
        2,
        Step::value(
            "ro",
            "cat /sys/block/xvda/ro /sys/block/xvdb/ro | tr '\\n' ,; blockdev --getro /dev/xvdb",
            "0,1,1",
        ),
    );
    let report = run_ok(
        &s.apply(
            RunOptions {
                stats: true,
                ..Backend::Svm.options(linux_iso(), 60)
            }
            .with_disks(disks.clone()),
        ),
    );
    s.assert_met(&report);
    let log = &report.hv_log;
    for needle in [
        "disk on host virtio-blk 00:10.0",
        "disk on host virtio-blk 00:13.0",
        "disk offered as PV xvda",
        "disk offered as PV xvdb (8192 sectors, read-only)",
        "vbd 51712 connected",
        "vbd 51728 connected",
    ] {
        assert!(log.contains(needle), "the log lacks {needle:?}:\n{log}");
    }
    assert_eq!(std::fs::read(&b).unwrap(), b_bytes, "the read-only file");

    // Xen off: the same images on the emulated IDE disks; the write to the
    // read-only one reaches the device, which aborts it.
    // Linux names sd disks in the order their probes finish (asynchronous),
    // so each is found by its SCSI address: host 0 (ata1), target 0 the
    // master, target 1 the slave.
    let s = session(
        [
            "ls /sys/bus/scsi/devices/0:0:0:0/block",
            "ls /sys/bus/scsi/devices/0:0:1:0/block",
        ],
        "sda,sdb,sr0,",
        sums,
        true,
    );
    let report = run_ok(
        &s.apply(
            RunOptions {
                xen: false,
                ..Backend::Svm.options(linux_iso(), 60)
            }
            .with_disks(disks),
        ),
    );
    s.assert_met(&report);
    assert_eq!(std::fs::read(&b).unwrap(), b_bytes, "the read-only file");
    assert_eq!(
        std::fs::read(&a).unwrap(),
        a_bytes,
        "nothing wrote the first"
    );
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
}
