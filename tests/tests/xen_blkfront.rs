//! The PV block device (issue 14) on SVM, where the disk is a host
//! virtio-blk device: Debian 12's stock `xen-blkfront` attaches the
//! `--disk` image as `xvda` (not `sda`), reads it, writes it (flushed),
//! survives being unbound, unloaded and loaded again
//! ([`tests::pv_disk::steps`]); after the guest powers off, the write is
//! in the host file and nothing else changed, and a second boot with
//! `--xen off` reads it through the emulated IDE disk `sda`. The same
//! steps run on VT-x (Bochs, the disk in memory) inside the one boot of
//! `tests/xen_hvm.rs`.

use tests::linux_shell::{linux_iso, Backend, Session, Step};
use tests::pv_disk::{
    check_log, random_disk, sha256_hex, steps, wait_for, PATTERN, PATTERN_SECTOR, SUM_BYTES,
};
use tests::{literal, run_ok};
use xtask::linux_iso::SHELL_READY;
use xtask::runner::RunOptions;

#[test]
fn on_svm_blkfront_serves_the_disk_as_xvda_and_its_writes_reach_the_file() {
    let (disk, bytes) = random_disk("svm");
    let s = Session {
        boot: vec![literal(SHELL_READY)],
        steps: steps(&sha256_hex(&bytes[..SUM_BYTES]), true),
        last: Some("poweroff -f".into()),
    };
    let report = run_ok(&s.apply(RunOptions {
        disk: Some(disk.clone()),
        stats: true,
        ..Backend::Svm.options(linux_iso(), 120)
    }));
    s.assert_met(&report);
    check_log(&report.hv_log);
    assert!(
        report.hv_log.contains("disk on host virtio-blk"),
        "{}",
        report.hv_log
    );
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
