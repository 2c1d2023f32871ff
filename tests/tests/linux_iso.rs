//! The Linux test CD (`cargo xtask make-linux-iso`): Debian's kernel, busybox
//! and ISOLINUX. The first run downloads the packages into
//! `target/guests/cache/` and builds the ISO; later runs reuse it.
//!
//! The boot record is read from the ISO's bytes as the BIOS would read it:
//! the El Torito boot record volume descriptor and boot catalog (El Torito
//! Bootable CD-ROM Format Specification 1.0, sections 2.0 and 2.1-2.2), and
//! the boot info table mkisofs patches into isolinux.bin (offsets 8-63).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use xtask::linux_iso;

const SECTOR: usize = 2048;

/// A file's extent on the CD.
struct Extent {
    lba: usize,
    size: usize,
}

/// The ISO, built or reused, and its bytes.
fn iso() -> (PathBuf, Vec<u8>) {
    let path = linux_iso::make_linux_iso(false).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

/// Every file on the CD with its extent, as xorriso reports them.
fn extents(iso: &Path) -> BTreeMap<String, Extent> {
    let out = Command::new("xorriso")
        .arg("-indev")
        .arg(iso)
        .args(["-find", "/", "-type", "f", "-exec", "report_lba", "--"])
        .output()
        .expect("xorriso runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "File data lba:  0 ,       35 ,       19 ,    38912 , '/isolinux/isolinux.bin'"
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("File data lba:"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let path = f[4].trim_matches('\'').to_string();
            let number = |s: &str| s.parse::<usize>().expect("a number");
            (
                path,
                Extent {
                    lba: number(f[1]),
                    size: number(f[3]),
                },
            )
        })
        .collect()
}

fn file<'a>(iso: &'a [u8], extents: &BTreeMap<String, Extent>, path: &str) -> &'a [u8] {
    let e = extents
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not on the CD: {:?}", extents.keys()));
    &iso[e.lba * SECTOR..e.lba * SECTOR + e.size]
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// The no-emulation boot image's LBA and 512-byte sector count, from the
/// boot catalog the El Torito boot record points at.
fn el_torito_boot_image(iso: &[u8]) -> (usize, usize) {
    // Volume descriptors start at sector 16 and end with type 255.
    let catalog = (16..)
        .map(|s| &iso[s * SECTOR..(s + 1) * SECTOR])
        .take_while(|d| d[0] != 255)
        .find(|d| {
            d[0] == 0 && &d[1..6] == b"CD001" && d[7..].starts_with(b"EL TORITO SPECIFICATION")
        })
        .map(|d| u32_at(d, 0x47))
        .expect("an El Torito boot record volume descriptor");
    let cat = &iso[catalog * SECTOR..(catalog + 1) * SECTOR];
    assert_eq!(cat[0], 1, "validation entry header ID");
    assert_eq!(
        &cat[0x1E..0x20],
        &[0x55, 0xAA],
        "validation entry key bytes"
    );
    let entry = &cat[0x20..0x40];
    assert_eq!(entry[0], 0x88, "the initial entry is bootable");
    assert_eq!(entry[1], 0, "no emulation");
    (u32_at(entry, 8), u16_at(entry, 6))
}

#[test]
fn linux_iso_boots_isolinux_with_a_boot_info_table() {
    let (path, iso) = iso();
    let extents = extents(&path);
    let (lba, sectors) = el_torito_boot_image(&iso);
    let isolinux = &extents["/isolinux/isolinux.bin"];
    assert_eq!(lba, isolinux.lba, "El Torito boots /isolinux/isolinux.bin");
    assert_eq!(sectors, 4, "-boot-load-size 4");
    let bin = file(&iso, &extents, "/isolinux/isolinux.bin");
    assert_eq!(
        u32_at(bin, 8),
        16,
        "boot info table: primary volume descriptor"
    );
    assert_eq!(u32_at(bin, 12), lba, "boot info table: the file's own LBA");
    assert_eq!(
        u32_at(bin, 16),
        bin.len(),
        "boot info table: the file's length"
    );
    let sum = bin[64..]
        .chunks(4)
        .map(|w| {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            u32::from_le_bytes(word)
        })
        .fold(0u32, u32::wrapping_add);
    assert_eq!(u32_at(bin, 20), sum as usize, "boot info table checksum");
    assert!(!file(&iso, &extents, "/isolinux/ldlinux.c32").is_empty());
    let cfg = String::from_utf8_lossy(file(&iso, &extents, "/isolinux/isolinux.cfg"));
    assert!(cfg.starts_with("serial 0 115200"), "{cfg}");
    assert!(cfg.contains("kernel /boot/vmlinuz"), "{cfg}");
    assert!(
        cfg.contains("initrd=/boot/initrd.img console=ttyS0,115200 panic=-1"),
        "{cfg}"
    );
}

#[test]
fn linux_iso_holds_a_bzimage_and_an_initramfs_with_init() {
    let (path, iso) = iso();
    let extents = extents(&path);
    let kernel = file(&iso, &extents, "/boot/vmlinuz");
    assert_eq!(&kernel[0x202..0x206], b"HdrS", "a bzImage setup header");
    assert_eq!(&kernel[0x1FE..0x200], &[0x55, 0xAA]);
    let initrd = file(&iso, &extents, "/boot/initrd.img");
    assert_eq!(&initrd[..2], &[0x1F, 0x8B], "gzip");
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut stdin = gunzip.stdin.take().unwrap();
    let compressed = initrd.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&compressed));
    let out = gunzip.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    let cpio = out.stdout;
    assert!(cpio.starts_with(b"070701"), "a cpio newc archive");
    let text = String::from_utf8_lossy(&cpio);
    for needle in [
        "bin/busybox\0",
        "init\0",
        "\0#!/bin/busybox sh\n",
        linux_iso::INIT_STARTED,
        linux_iso::SHELL_READY,
        "ata_piix.ko",
        "sr_mod.ko",
        "isofs.ko",
        "virtio_blk.ko",
        "xen-blkfront.ko",
        "bin/diskbench\0",
        "modules.dep\0",
        "TRAILER!!!\0",
    ] {
        assert!(text.contains(needle), "the initramfs lacks {needle:?}");
    }
}

#[test]
fn linux_iso_testdata_matches_its_recorded_sha256() {
    let (path, iso) = iso();
    let extents = extents(&path);
    let data = file(&iso, &extents, &format!("/{}", linux_iso::TESTDATA_PATH));
    assert_eq!(data, linux_iso::testdata_bytes().as_slice());
    let recorded = linux_iso::testdata_sha256().unwrap_or_else(|e| panic!("{e}"));
    let mut sha = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    sha.stdin.take().unwrap().write_all(data).unwrap();
    let out = sha.wait_with_output().unwrap();
    let computed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(computed.split_whitespace().next(), Some(recorded.as_str()));
}
