//! Unmodified guests booted through the emulated BIOS: FreeDOS from the
//! shared El Torito floppy-emulation CD (and from its floppy image), and the
//! Debian Linux ISO the runner builds (ISOLINUX, no emulation), whose own
//! ata_piix and sr_mod drivers then use the emulated IDE/ATAPI devices.

use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;
use tests::{literal, options, run_ok, shared_guest};
use xtask::runner::{Outcome, RunOptions, BIOS_GUEST};

fn bios(timeout_secs: u64) -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(timeout_secs),
        ..options(BIOS_GUEST)
    }
}

fn assert_met(report: &xtask::runner::RunReport) {
    assert_eq!(
        report.outcome,
        Outcome::ExpectationsMet,
        "console:\n{}\nscreen:\n{}\nlog:\n{}",
        report.console,
        report.screen,
        report.hv_log
    );
}

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap()
}

#[test]
fn freedos_cd_boots_to_the_prompt_and_runs_typed_commands() {
    let Some(iso) = shared_guest("freedos-boot.iso") else {
        return;
    };
    let report = run_ok(&RunOptions {
        iso: Some(iso),
        expect: vec![
            literal("A:\\>"),
            literal("FreeCom version"),
            re(r"KERNEL +SYS"),
        ],
        send: vec![(1, b"ver\r".to_vec()), (2, b"dir\r".to_vec())],
        ..bios(180)
    });
    assert_met(&report);
    assert!(
        report.screen.contains("COMMAND  COM"),
        "screen:\n{}",
        report.screen
    );
    assert!(
        report
            .hv_log
            .contains("BIOS: booting 0000:7c00 from drive 0x00"),
        "{}",
        report.hv_log
    );
}

#[test]
fn freedos_boots_from_a_floppy_image_as_drive_a() {
    let Some(img) = shared_guest("freedos-boot.img") else {
        return;
    };
    let report = run_ok(&RunOptions {
        floppy: Some(img),
        boot: Some("floppy".into()),
        expect: vec![literal("A:\\>")],
        ..bios(180)
    });
    assert_met(&report);
}

fn linux_iso() -> PathBuf {
    xtask::linux_iso::make_linux_iso(false).expect("building the Linux ISO")
}

#[test]
fn linux_iso_boots_to_a_shell_and_reads_the_cd_through_its_own_drivers() {
    let iso = linux_iso();
    let sha = xtask::linux_iso::testdata_sha256().expect("checksum of the test file");
    let report = run_ok(&RunOptions {
        iso: Some(iso),
        mem_mib: 256,
        expect: vec![
            literal("cdrom mounted at /mnt"),
            literal("shell ready"),
            literal(&sha),
            re(r"ata2\.00: ATAPI: .*CD-ROM[\s\S]*\[sr0\] scsi3-mmc drive"),
        ],
        send: vec![
            (2, b"sha256sum /mnt/testdata/hello.txt\r".to_vec()),
            (3, b"dmesg | grep -E 'ata2|sr0'\r".to_vec()),
        ],
        ..bios(300)
    });
    assert_met(&report);
}

#[test]
fn linux_sees_the_ide_disk_as_sda_and_reads_back_what_it_wrote() {
    let iso = linux_iso();
    let sha = xtask::linux_iso::testdata_sha256().expect("checksum of the test file");
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("sda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk = dir.join("blank.img");
    std::fs::write(&disk, vec![0u8; 16 << 20]).unwrap();
    let len = xtask::linux_iso::testdata_bytes().len();
    let script = format!(
        "dd if=/mnt/testdata/hello.txt of=/dev/sda bs=4096 conv=fsync 2>/dev/null; \
         echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/sda bs={len} count=1 2>/dev/null | sha256sum\r"
    );
    let report = run_ok(&RunOptions {
        iso: Some(iso),
        disk: Some(disk),
        mem_mib: 256,
        // The plain PC: with the Xen platform the disk is the PV xvda
        // (tests/xen_blkfront.rs).
        xen: false,
        expect: vec![literal("shell ready"), re(&format!(r"{sha}  -"))],
        send: vec![(1, script.into_bytes())],
        ..bios(300)
    });
    assert_met(&report);
}

#[test]
fn an_empty_disk_is_not_bootable_and_the_run_says_so() {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("noboot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk = dir.join("zero.img");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let report = run_ok(&RunOptions {
        disk: Some(disk),
        expect: vec![literal("No bootable device")],
        ..bios(60)
    });
    assert_met(&report);
    let report = run_ok(&RunOptions {
        disk: Some(dir.join("zero.img")),
        ..bios(60)
    });
    assert_eq!(report.outcome, Outcome::GuestFailed, "{}", report.hv_log);
    assert!(
        report
            .hv_log
            .contains("BIOS: drive 0x80: no boot signature"),
        "{}",
        report.hv_log
    );
}

#[test]
fn an_iso_without_el_torito_is_reported_and_not_booted() {
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("plainiso-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("root")).unwrap();
    std::fs::write(dir.join("root").join("X.TXT"), "x\n").unwrap();
    xtask::tools::require("xorriso").unwrap_or_else(|e| panic!("{e}"));
    let ok = std::process::Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-o"])
        .arg(dir.join("plain.iso"))
        .arg(dir.join("root"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let report = run_ok(&RunOptions {
        iso: Some(dir.join("plain.iso")),
        ..bios(60)
    });
    assert_eq!(report.outcome, Outcome::GuestFailed, "{}", report.hv_log);
    assert!(
        report
            .hv_log
            .contains("CD: the ISO has no El Torito boot record"),
        "{}",
        report.hv_log
    );
    assert!(
        report.screen.contains("No bootable device"),
        "screen:\n{}",
        report.screen
    );
}

#[test]
fn a_truncated_iso_is_reported_and_not_booted() {
    let Some(iso) = shared_guest("freedos-boot.iso") else {
        return;
    };
    // The descriptors and the boot catalog survive; the 1.44 MB floppy image
    // they point at does not.
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("truncated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(iso).unwrap();
    let truncated = dir.join("truncated.iso");
    std::fs::write(&truncated, &bytes[..100 * 1024]).unwrap();
    let report = run_ok(&RunOptions {
        iso: Some(truncated),
        ..bios(60)
    });
    assert_eq!(report.outcome, Outcome::GuestFailed, "{}", report.hv_log);
    assert!(
        report
            .hv_log
            .contains("CD: the boot image runs past the end of the ISO"),
        "{}",
        report.hv_log
    );
    assert!(
        !report.hv_log.contains("rip="),
        "no register dump for missing boot media:\n{}",
        report.hv_log
    );
    assert!(
        report.screen.contains("No bootable device"),
        "{}",
        report.screen
    );
}

#[test]
fn bios_services_answer_a_boot_sector_as_a_pc_bios_does() {
    // A one-second INT 15h wait takes about 18 timer ticks; a read past the
    // floppy's last cylinder and an unknown INT 13h function fail with their
    // status codes and CF set.
    let dir = xtask::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("probe.img");
    std::fs::write(&img, xtask::guests::bios_probe::floppy_image()).unwrap();
    let report = run_ok(&RunOptions {
        floppy: Some(img),
        expect: vec![literal(xtask::guests::bios_probe::DONE)],
        ..bios(120)
    });
    assert_met(&report);
    let screen = &report.screen;
    let ticks = Regex::new(r"WAIT CF=0 TICKS=(\d\d)")
        .unwrap()
        .captures(screen)
        .unwrap_or_else(|| panic!("no wait line on the screen:\n{screen}"))[1]
        .parse::<u32>()
        .unwrap();
    // 18.2 Hz; generous bounds, since a loaded host may coalesce PIT ticks.
    assert!(
        (12..=24).contains(&ticks),
        "1 s took {ticks} ticks:\n{screen}"
    );
    assert!(screen.contains("PAST END CF=1 AH=04"), "{screen}");
    assert!(screen.contains("UNKNOWN CF=1 AH=01"), "{screen}");
}
