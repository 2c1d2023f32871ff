//! Guest disks that persist (issue 13): under QEMU the runner attaches
//! `--disk` as a virtio-blk device, the hypervisor drives it with its own
//! driver behind the guest's IDE disk, so what the Linux guest writes to
//! /dev/sda (and flushes: `conv=fsync`, then `sync`, which Linux's ATA
//! driver turns into FLUSH CACHE, which the hypervisor turns into
//! `VIRTIO_BLK_T_FLUSH`) is in the host file after the run; with
//! `--snapshot` the file is unchanged.

use std::path::PathBuf;
use tests::linux_shell::{linux_iso, Backend, Session, Step};
use tests::{literal, run_ok};
use xtask::linux_iso::SHELL_READY;
use xtask::runner::RunOptions;

/// What the hypervisor logs at the first flush a host disk completes
/// (`vmm_core::host_disk::FIRST_FLUSH_LOG`).
const FIRST_FLUSH_LOG: &str =
    "host virtio-blk: the guest's first flush completed on the host (VIRTIO_BLK_T_FLUSH)";

fn re(s: &str) -> regex::Regex {
    regex::Regex::new(s).expect("a valid regex")
}

/// Size of the test disk.
const DISK_BYTES: usize = 4 << 20;
/// Sector the guest writes its pattern to.
const PATTERN_SECTOR: usize = 2048;
/// What the guest writes: `vmm-$((6 * 7))-persist`, so the typed command's
/// echo never shows it.
const PATTERN: &str = "vmm-42-persist";

/// A zeroed disk image of its own for `name`.
fn blank_disk(name: &str) -> PathBuf {
    let dir = xtask::workspace_root()
        .join("target")
        .join("host-disk-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.img", std::process::id()));
    std::fs::write(&path, vec![0u8; DISK_BYTES]).unwrap();
    path
}

/// Writes the pattern to /dev/sda with the data flushed, reads it back,
/// powers off.
fn write_session() -> Session {
    Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![
            Step::value(
                "dd-status",
                &format!(
                    "echo vmm-$((6 * 7))-persist | dd of=/dev/sda bs=512 seek={PATTERN_SECTOR} \
                     conv=fsync 2>/dev/null; s=$?; sync; echo $s"
                ),
                "0",
            ),
            Step::value(
                "readback",
                &format!(
                    "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/sda bs=512 \
                     skip={PATTERN_SECTOR} count=1 2>/dev/null | head -c {}",
                    PATTERN.len()
                ),
                PATTERN,
            ),
        ],
        last: Some("poweroff -f".into()),
    }
}

fn run_writer(disk: &std::path::Path, snapshot: bool) {
    let session = write_session();
    let report = run_ok(&session.apply(RunOptions {
        disk: Some(disk.to_path_buf()),
        snapshot,
        // The emulated IDE disk (`--xen off`); with the Xen platform the
        // same disk is the PV xvda (tests/xen_blkfront.rs).
        xen: false,
        ..Backend::Svm.options(linux_iso(), 60)
    }));
    session.assert_met(&report);
    assert!(
        report.hv_log.contains("disk on host virtio-blk 00:10.0"),
        "the disk was not the host virtio-blk device:\n{}",
        report.hv_log
    );
    // The guest's sync became FLUSH CACHE, which became a virtio flush.
    assert!(
        report.hv_log.contains(FIRST_FLUSH_LOG),
        "no flush reached the host:\n{}",
        report.hv_log
    );
}

#[test]
fn what_the_guest_writes_to_its_disk_is_in_the_image_file() {
    let disk = blank_disk("persist");
    run_writer(&disk, false);
    let bytes = std::fs::read(&disk).unwrap();
    let at = PATTERN_SECTOR * 512;
    assert_eq!(
        &bytes[at..at + PATTERN.len() + 1],
        format!("{PATTERN}\n").as_bytes(),
        "the pattern is not at sector {PATTERN_SECTOR} of {}",
        disk.display()
    );
    // Nothing else changed.
    assert!(bytes[..at].iter().all(|b| *b == 0));
    assert!(bytes[at + PATTERN.len() + 1..].iter().all(|b| *b == 0));
    let _ = std::fs::remove_file(&disk);
}

#[test]
fn with_snapshot_the_image_file_is_unchanged() {
    let disk = blank_disk("snapshot");
    run_writer(&disk, true);
    let bytes = std::fs::read(&disk).unwrap();
    assert_eq!(bytes.len(), DISK_BYTES);
    assert!(
        bytes.iter().all(|b| *b == 0),
        "{} changed under --snapshot",
        disk.display()
    );
    let _ = std::fs::remove_file(&disk);
}

/// Sector whose host writes fail in the fault test.
const BAD_WRITE_SECTOR: usize = 2048;
/// Sector whose host reads fail in the fault test.
const BAD_READ_SECTOR: usize = 4096;

#[test]
fn host_io_errors_reach_the_guest_as_disk_errors_and_the_hypervisor_carries_on() {
    let disk = blank_disk("faults");
    // QEMU's blkdebug fails the host's writes of one sector and reads of
    // another with EIO; werror/rerror=report hand them to the virtio-blk
    // device as VIRTIO_BLK_S_IOERR.
    let rules = disk.with_extension("blkdebug.conf");
    std::fs::write(
        &rules,
        format!(
            "[inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\nsector = \"{BAD_WRITE_SECTOR}\"\n\n\
             [inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"{BAD_READ_SECTOR}\"\n"
        ),
    )
    .unwrap();
    let session = Session {
        boot: vec![literal(SHELL_READY)],
        steps: vec![
            // A write the host fails: Linux's ATA driver sees UNC, and the
            // guest's fsync reports the error.
            Step::new(
                &format!(
                    "echo x | dd of=/dev/sda bs=512 seek={BAD_WRITE_SECTOR} conv=fsync \
                     2>/dev/null; echo \"bad-write=$?\""
                ),
                vec![literal("error: { UNC }"), re(r"bad-write=[1-9]")],
            ),
            // A read the host fails.
            Step::new(
                &format!(
                    "dd if=/dev/sda of=/dev/null bs=512 skip={BAD_READ_SECTOR} count=1 \
                     2>/dev/null; echo \"bad-read=$?\""
                ),
                vec![re(r"bad-read=[1-9]")],
            ),
            // The disk, the guest and the hypervisor carry on.
            Step::value(
                "good-write",
                "echo y | dd of=/dev/sda bs=512 seek=8 conv=fsync 2>/dev/null; echo $?",
                "0",
            ),
            Step::new(
                "dmesg | grep -c 'I/O error, dev sda' | sed 's/^/io-errors=/'",
                vec![re(r"io-errors=[1-9]")],
            ),
        ],
        last: Some("poweroff -f".into()),
    };
    let report = run_ok(&session.apply(RunOptions {
        disk: Some(disk.clone()),
        disk_faults: Some(rules.clone()),
        xen: false,
        ..Backend::Svm.options(linux_iso(), 120)
    }));
    session.assert_met(&report);
    let bytes = std::fs::read(&disk).unwrap();
    assert_eq!(&bytes[8 * 512..8 * 512 + 2], b"y\n");
    assert!(bytes[BAD_WRITE_SECTOR * 512..(BAD_WRITE_SECTOR + 1) * 512]
        .iter()
        .all(|b| *b == 0));
    let _ = std::fs::remove_file(&disk);
    let _ = std::fs::remove_file(&rules);
}

/// A disk far larger than the machine's memory: 1 TiB, sparse on the host.
const HUGE_DISK_BYTES: u64 = 1 << 40;

#[test]
fn a_disk_larger_than_memory_is_driven_in_place_not_copied() {
    // Under the old boot-module path this image would have had to fit in
    // the host's RAM; on the host virtio-blk device only the sectors the
    // guest reads are ever read.
    use std::os::unix::fs::FileExt;
    let dir = xtask::workspace_root()
        .join("target")
        .join("host-disk-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("huge-{}.img", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(HUGE_DISK_BYTES).unwrap();
    let lba = xtask::guests::devtest::DISK_LBA;
    let sector: Vec<u8> = (0..512u32).map(|i| (i * 7 + 3) as u8).collect();
    file.write_all_at(&sector, lba * 512).unwrap();
    drop(file);
    let sum = xtask::guests::devtest::dword_sum(&sector);
    let report = run_ok(&RunOptions {
        disk: Some(path.clone()),
        expect: vec![literal(&format!(
            "{}{sum:08x}",
            xtask::guests::devtest::DISK_PREFIX
        ))],
        ..tests::options("devtest")
    });
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        report.outcome,
        xtask::runner::Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
    assert!(
        report.hv_log.contains("disk on host virtio-blk 00:10.0"),
        "{}",
        report.hv_log
    );
}
