//! The emulated PC's devices, driven from a real-mode guest on the real
//! hypervisor in QEMU.

use std::path::{Path, PathBuf};
use std::process::Command;
use tests::{literal, options, run_ok};
use xtask::guests::devtest::{dword_sum, CD_LBA, CD_PREFIX, DISK_LBA, DISK_PREFIX};
use xtask::runner::{Outcome, RunOptions};

fn scratch(name: &str) -> PathBuf {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A disk image of pseudo-random bytes (fixed seed).
fn random_disk(path: &Path, size: usize) -> Vec<u8> {
    let mut x: u64 = 0x853C_49E6_748F_EA9B;
    let data: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

/// A real ISO 9660 image made by xorriso from a folder with one file.
fn make_iso(dir: &Path) -> Vec<u8> {
    xtask::tools::require("xorriso").unwrap_or_else(|e| panic!("{e}"));
    let root = dir.join("iso-root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("README.TXT"), "a file on the test CD\n").unwrap();
    let iso = dir.join("test.iso");
    let status = Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-V", "VMMTEST", "-o"])
        .arg(&iso)
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&iso).unwrap()
}

#[test]
fn real_mode_guest_reads_ide_disk_and_atapi_cd_by_port_io() {
    let dir = scratch("devtest");
    let disk_path = dir.join("disk.img");
    let disk = random_disk(&disk_path, 1 << 20);
    let iso = make_iso(&dir);
    let lba = DISK_LBA as usize;
    let disk_sum = dword_sum(&disk[lba * 512..(lba + 1) * 512]);
    let cd = CD_LBA as usize;
    let cd_sum = dword_sum(&iso[cd * 2048..(cd + 1) * 2048]);

    let report = run_ok(&RunOptions {
        disk: Some(disk_path),
        iso: Some(dir.join("test.iso")),
        expect: vec![
            literal(&format!("{DISK_PREFIX}{disk_sum:08x}")),
            literal(&format!("{CD_PREFIX}{cd_sum:08x}")),
        ],
        ..options("devtest")
    });
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
}

#[test]
fn a_file_that_is_not_an_iso_is_refused_with_one_line() {
    let dir = scratch("not-iso");
    let path = dir.join("not.iso");
    random_disk(&path, 64 * 1024);
    let err = xtask::runner::run(&RunOptions {
        iso: Some(path),
        ..options("devtest")
    })
    .unwrap_err();
    assert!(err.contains("is not an ISO 9660 image"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn a_missing_disk_image_is_refused_with_one_line() {
    let err = xtask::runner::run(&RunOptions {
        disk: Some("/nonexistent/disk.img".into()),
        ..options("devtest")
    })
    .unwrap_err();
    assert!(
        err.contains("cannot read disk image /nonexistent/disk.img"),
        "{err}"
    );
}

#[test]
fn terminal_input_reaches_a_real_mode_irq1_handler_as_set1_scan_codes() {
    use xtask::guests::keyboard::PREFIX;
    let report = run_ok(&RunOptions {
        keyboard: true,
        input: b"Hi\r".to_vec(),
        // LShift make, H make, LShift break, H break, i make/break, Enter make/break
        expect: vec![literal(&format!("{PREFIX}2a 23 aa a3 17 97 1c 9c"))],
        ..options("keyboard")
    });
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nlog:\n{}",
        report.console,
        report.hv_log
    );
}
