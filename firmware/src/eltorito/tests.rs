//! Tests: small ISO images written by hand, sector by sector (a primary
//! volume descriptor at 16, the boot record at 17, the terminator at 18, the
//! catalog at 19, the boot image from 20), the FreeDOS CD from `../shared`
//! when present, and random damage.

use alloc::rc::Rc;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use block_backend::{BlockBackend, BlockError, MemoryBlock};

use super::catalog::{
    BOOTABLE, EXTENSION_INDICATOR, HEADER_FINAL, HEADER_MORE, MEDIA_CONTINUATION, MEDIA_FLOPPY_1M2,
    MEDIA_FLOPPY_1M44, MEDIA_FLOPPY_2M88, MEDIA_HARD_DISK, MEDIA_NO_EMULATION, NOT_BOOTABLE,
    PLATFORM_EFI, PLATFORM_X86,
};
use super::descriptor::{VD_TYPE_BOOT_RECORD, VD_TYPE_TERMINATOR};
use super::*;
use crate::bios_platform::{DRIVE_CDROM, DRIVE_FLOPPY, DRIVE_HARD_DISK};

use super::test_iso::*;
use test_rng::XorShift;

fn find(iso: Iso) -> Result<BootImage, ElToritoError> {
    find_boot_image(&iso.medium())
}

#[test]
fn finds_a_no_emulation_image_and_loads_its_sectors() {
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let cd = iso.medium();
    let image = find_boot_image(&cd).unwrap();
    assert_eq!(
        image,
        BootImage {
            media: BootMedia::NoEmulation,
            load_segment: 0x07C0,
            sector_count: 4,
            load_rba: IMAGE_SECTOR,
        }
    );
    assert_eq!(image.boot_drive(), DRIVE_CDROM);
    assert_eq!(image.load_address(), 0x7C00);
    let bytes = load_no_emulation(&cd, &image).unwrap();
    assert_eq!(bytes.len(), 2048);
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
}

#[test]
fn load_segment_zero_means_07c0_and_others_are_kept() {
    let zero = find(Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 1, IMAGE_SECTOR),
        1,
    ))
    .unwrap();
    assert_eq!(zero.load_segment, DEFAULT_LOAD_SEGMENT);
    let high = find(Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0x2000, 1, IMAGE_SECTOR),
        1,
    ))
    .unwrap();
    assert_eq!(high.load_segment, 0x2000);
    assert_eq!(high.load_address(), 0x2_0000);
}

#[test]
fn sector_count_zero_or_one_loads_one_512_byte_sector() {
    for count in [0, 1] {
        let iso = Iso::standard(
            PLATFORM_X86,
            boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, count, IMAGE_SECTOR),
            1,
        );
        let cd = iso.medium();
        let image = find_boot_image(&cd).unwrap();
        assert_eq!(image.sector_count, count);
        let bytes = load_no_emulation(&cd, &image).unwrap();
        assert_eq!(bytes.len(), 512, "sector count {count}");
        assert_eq!(bytes[511], pattern(511));
    }
}

#[test]
fn a_load_that_does_not_fit_below_640k_is_refused() {
    // 8 KiB at 9F00:0000 would end at A1000h.
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0x9F00, 16, IMAGE_SECTOR),
        4,
    );
    assert_eq!(
        find(iso),
        Err(ElToritoError::TooLargeForMemory {
            load_segment: 0x9F00,
            bytes: 8192
        })
    );
}

#[test]
fn load_refuses_a_hand_made_image_past_the_end_without_reading() {
    let cd = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    )
    .medium();
    let absurd = BootImage {
        media: BootMedia::NoEmulation,
        load_segment: 0x07C0,
        sector_count: u16::MAX,
        load_rba: u32::MAX,
    };
    assert_eq!(
        load_no_emulation(&cd, &absurd),
        Err(ElToritoError::ImageOutOfRange)
    );
}

#[test]
fn finds_a_1m44_floppy_emulation_image_and_presents_it_as_drive_00h() {
    let floppy_sectors = (Chs::FLOPPY_1M44.size() / CD_SECTOR_SIZE) as usize;
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_FLOPPY_1M44, 0, 1, IMAGE_SECTOR),
        floppy_sectors,
    );
    iso.image_bytes(510, &[0x55, 0xAA]);
    let cd: Rc<RefCell<dyn BlockBackend>> = Rc::new(RefCell::new(iso.medium()));
    let image = find_boot_image(&*cd.borrow()).unwrap();
    assert_eq!(
        image.media,
        BootMedia::Floppy {
            size: 1_474_560,
            geometry: Chs::new(80, 2, 18)
        }
    );
    assert_eq!(image.boot_drive(), DRIVE_FLOPPY);
    assert_eq!(image.media.media_type(), MEDIA_FLOPPY_1M44);

    let boot_sector = load_no_emulation(&*cd.borrow(), &image).unwrap();
    assert_eq!(&boot_sector[510..], &[0x55, 0xAA]);

    let mut floppy = CdWindow::for_image(cd.clone(), &image).unwrap();
    assert_eq!(floppy.len(), 1_474_560);
    assert!(floppy.read_only());
    let mut sector = [0u8; 512];
    floppy.read_at(0, &mut sector).unwrap();
    assert_eq!(sector[..], boot_sector[..]);
    floppy.read_at(1_474_560 - 512, &mut sector).unwrap();
    assert_eq!(sector[0], pattern(1_474_560 - 512));
    assert_eq!(
        floppy.read_at(1_474_560 - 511, &mut sector),
        Err(BlockError::OutOfRange)
    );
    assert_eq!(
        floppy.read_at(u64::MAX, &mut sector),
        Err(BlockError::OutOfRange)
    );
    assert_eq!(floppy.write_at(0, &[0]), Err(BlockError::ReadOnly));
}

#[test]
fn floppy_media_types_have_their_standard_geometries() {
    for (media, geometry) in [
        (MEDIA_FLOPPY_1M2, Chs::new(80, 2, 15)),
        (MEDIA_FLOPPY_1M44, Chs::new(80, 2, 18)),
        (MEDIA_FLOPPY_2M88, Chs::new(80, 2, 36)),
    ] {
        let sectors = (geometry.size() / CD_SECTOR_SIZE) as usize;
        let image = find(Iso::standard(
            PLATFORM_X86,
            boot_entry(BOOTABLE, media, 0, 1, IMAGE_SECTOR),
            sectors,
        ))
        .unwrap();
        assert_eq!(image.media.geometry(), Some(geometry));
        assert_eq!(image.media.emulated_size(), Some(geometry.size()));
        assert_eq!(image.media.media_type(), media);
    }
}

#[test]
fn hard_disk_emulation_takes_its_geometry_from_the_image_mbr() {
    // Last partition sector at C/H/S 1/3/17: 2 cylinders, 4 heads, 17
    // sectors = 136 sectors = 34 CD sectors.
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_HARD_DISK, 0, 1, IMAGE_SECTOR),
        34,
    );
    iso.image_bytes(0, &mbr(1, 3, 17));
    let cd: Rc<RefCell<dyn BlockBackend>> = Rc::new(RefCell::new(iso.medium()));
    let image = find_boot_image(&*cd.borrow()).unwrap();
    assert_eq!(
        image.media,
        BootMedia::HardDisk {
            size: 136 * 512,
            geometry: Chs::new(2, 4, 17)
        }
    );
    assert_eq!(image.boot_drive(), DRIVE_HARD_DISK);
    let disk = CdWindow::for_image(cd, &image).unwrap();
    let mut sector = [0u8; 512];
    disk.read_at(0, &mut sector).unwrap();
    assert_eq!(sector, mbr(1, 3, 17));
}

#[test]
fn hard_disk_cylinders_use_ten_bits() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_HARD_DISK, 0, 1, IMAGE_SECTOR),
        1,
    );
    iso.image_bytes(0, &mbr(0x3FF, 0, 1));
    // 1024 cylinders x 1 head x 1 sector = 512 KiB, past this 42 KiB ISO.
    assert_eq!(find(iso), Err(ElToritoError::ImageOutOfRange));
    assert_eq!(
        hard_disk::geometry(&mbr(0x3FF, 0, 1)),
        Some(Chs::new(1024, 1, 1))
    );
}

#[test]
fn a_hard_disk_image_without_a_partition_table_is_refused() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_HARD_DISK, 0, 1, IMAGE_SECTOR),
        34,
    );
    let mut no_signature = mbr(1, 3, 17);
    no_signature[0x1FF] = 0;
    iso.image_bytes(0, &no_signature);
    assert_eq!(find(iso), Err(ElToritoError::NoPartitionTable));
    assert_eq!(hard_disk::geometry(&[0u8; 512]), None);
    // Sector 0 and head 255 are not addresses a geometry can come from.
    assert_eq!(hard_disk::geometry(&mbr(1, 3, 0)), None);
    assert_eq!(hard_disk::geometry(&mbr(1, 255, 17)), None);
}

#[test]
fn a_bad_validation_checksum_is_refused() {
    let mut v = validation_entry(PLATFORM_X86);
    v[4] ^= 1;
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    iso.catalog_entry(0, v);
    let err = find(iso).unwrap_err();
    assert_eq!(
        err,
        ElToritoError::CorruptValidationEntry(CatalogFault::Checksum)
    );
    assert_eq!(
        err.to_string(),
        "the boot catalog's validation entry is corrupt (checksum)"
    );
}

#[test]
fn missing_55_aa_key_bytes_are_refused() {
    let mut v = validation_entry(PLATFORM_X86);
    // Swap the key bytes: the checksum still holds, the key does not.
    v.swap(0x1E, 0x1F);
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    iso.catalog_entry(0, v);
    assert_eq!(
        find(iso),
        Err(ElToritoError::CorruptValidationEntry(
            CatalogFault::KeyBytes
        ))
    );
}

#[test]
fn a_wrong_validation_header_id_is_refused() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    // An all-zero catalog: the pointer leads to an empty sector.
    iso.catalog_entry(0, [0; 32]);
    assert_eq!(
        find(iso),
        Err(ElToritoError::CorruptValidationEntry(
            CatalogFault::HeaderId
        ))
    );
}

#[test]
fn a_catalog_pointer_past_the_end_is_refused() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    iso.boot_record(17, 500);
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::CatalogOutOfRange { sector: 500 });
    assert_eq!(
        err.to_string(),
        "the boot catalog at sector 500 is outside the image"
    );
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    iso.boot_record(17, u32::MAX);
    assert_eq!(
        find(iso),
        Err(ElToritoError::CatalogOutOfRange { sector: u32::MAX })
    );
}

#[test]
fn a_boot_image_past_the_end_is_refused() {
    // No emulation: 8 sectors asked for, 2 KiB present.
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 8, IMAGE_SECTOR),
        1,
    );
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::ImageOutOfRange);
    assert_eq!(
        err.to_string(),
        "the boot image runs past the end of the ISO"
    );
    // Load RBA far past the end.
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, u32::MAX),
        2,
    );
    assert_eq!(find(iso), Err(ElToritoError::ImageOutOfRange));
    // Floppy emulation: a 1.44 MB floppy of which only 4 KiB is present.
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_FLOPPY_1M44, 0, 1, IMAGE_SECTOR),
        2,
    );
    assert_eq!(find(iso), Err(ElToritoError::ImageOutOfRange));
    // Hard-disk emulation whose MBR is past the end.
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_HARD_DISK, 0, 1, 1000),
        2,
    );
    assert_eq!(find(iso), Err(ElToritoError::ImageOutOfRange));
}

#[test]
fn a_non_bootable_default_entry_is_refused() {
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(NOT_BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::NotBootable);
    assert_eq!(err.to_string(), "the default boot entry is not bootable");
}

#[test]
fn a_bootable_x86_section_entry_stands_in_for_a_non_bootable_default() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(NOT_BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        4,
    );
    // An EFI section whose bootable entry must be passed over, then an x86
    // section: a non-bootable entry with an extension, then the one to boot.
    iso.catalog_entry(2, section_header(HEADER_MORE, PLATFORM_EFI, 1));
    iso.catalog_entry(
        3,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
    );
    iso.catalog_entry(4, section_header(HEADER_FINAL, PLATFORM_X86, 2));
    iso.catalog_entry(
        5,
        boot_entry(
            NOT_BOOTABLE,
            MEDIA_NO_EMULATION | MEDIA_CONTINUATION,
            0,
            4,
            IMAGE_SECTOR,
        ),
    );
    let mut extension = [0u8; 32];
    extension[0] = EXTENSION_INDICATOR;
    iso.catalog_entry(6, extension);
    iso.catalog_entry(
        7,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0x1000, 8, IMAGE_SECTOR + 1),
    );
    let image = find(iso).unwrap();
    assert_eq!(image.load_segment, 0x1000);
    assert_eq!(image.sector_count, 8);
    assert_eq!(image.load_rba, IMAGE_SECTOR + 1);
}

#[test]
fn an_efi_only_catalog_has_no_x86_entry() {
    let iso = Iso::standard(
        PLATFORM_EFI,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::NoX86Entry { platform: 0xEF });
    assert_eq!(
        err.to_string(),
        "the boot catalog has no x86 BIOS entry (its platform is EFh)"
    );
}

#[test]
fn an_unsupported_media_type_is_refused() {
    let iso = Iso::standard(PLATFORM_X86, boot_entry(BOOTABLE, 5, 0, 4, IMAGE_SECTOR), 2);
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::UnsupportedMedia(5));
    assert_eq!(err.to_string(), "unsupported boot media type 5");
}

#[test]
fn an_iso_without_a_boot_record_is_refused() {
    let mut iso = Iso::blank(20);
    iso.descriptor(16, VD_TYPE_PRIMARY);
    iso.descriptor(17, VD_TYPE_TERMINATOR);
    let err = find(iso).unwrap_err();
    assert_eq!(err, ElToritoError::NoBootRecord);
    assert_eq!(err.to_string(), "the ISO has no El Torito boot record");
}

#[test]
fn a_boot_record_after_the_terminator_is_not_seen() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    iso.descriptor(17, VD_TYPE_TERMINATOR);
    iso.boot_record(18, CATALOG_SECTOR);
    assert_eq!(find(iso), Err(ElToritoError::NoBootRecord));
}

#[test]
fn other_boot_systems_and_descriptors_are_skipped() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        40,
    );
    // Primary at 16, a foreign boot record at 17, supplementary
    // descriptors 18-19 (in the image area, which is fine for this test),
    // El Torito at 20, terminator at 21; the catalog stays at 19.
    iso.descriptor(17, VD_TYPE_BOOT_RECORD);
    iso.0[17 * SECTOR + 7..17 * SECTOR + 7 + 12].copy_from_slice(b"OTHER SYSTEM");
    iso.descriptor(18, 2);
    iso.boot_record(20, CATALOG_SECTOR);
    iso.descriptor(21, VD_TYPE_TERMINATOR);
    // Sector 19 is the catalog: it does not start with "CD001", which ends
    // the scan early; move the catalog after the terminator instead.
    let catalog: Vec<u8> = iso.0[19 * SECTOR..20 * SECTOR].to_vec();
    iso.0[30 * SECTOR..31 * SECTOR].copy_from_slice(&catalog);
    iso.descriptor(19, 2);
    iso.boot_record(20, 30);
    let image = find(iso).unwrap();
    assert_eq!(image.load_rba, IMAGE_SECTOR);
}

#[test]
fn the_descriptor_scan_is_bounded() {
    let mut iso = Iso::blank(16 + 40);
    for sector in 16..16 + 40 {
        iso.descriptor(sector, VD_TYPE_PRIMARY);
    }
    iso.boot_record(16 + 35, 0);
    assert_eq!(find(iso), Err(ElToritoError::NoBootRecord));
}

#[test]
fn a_medium_that_is_not_an_iso_is_refused() {
    assert_eq!(find(Iso::blank(720)), Err(ElToritoError::NotIso));
    assert_eq!(find(Iso::blank(0)), Err(ElToritoError::NotIso));
    assert_eq!(find(Iso::blank(16)), Err(ElToritoError::NotIso));
}

#[test]
fn a_truncated_iso_is_refused_at_the_first_missing_structure() {
    let whole = || {
        Iso::standard(
            PLATFORM_X86,
            boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
            2,
        )
    };
    // Only the first 4Bh bytes of a descriptor are read.
    assert_eq!(
        find(whole().truncate(16 * SECTOR + 0x4A)),
        Err(ElToritoError::NotIso)
    );
    assert_eq!(
        find(whole().truncate(16 * SECTOR + 0x4B)),
        Err(ElToritoError::NoBootRecord)
    );
    assert_eq!(
        find(whole().truncate(17 * SECTOR + 10)),
        Err(ElToritoError::NoBootRecord)
    );
    assert_eq!(
        find(whole().truncate(19 * SECTOR + 64)),
        Err(ElToritoError::CatalogOutOfRange {
            sector: CATALOG_SECTOR
        })
    );
    assert_eq!(
        find(whole().truncate(21 * SECTOR - 1)),
        Err(ElToritoError::ImageOutOfRange)
    );
    assert!(find(whole().truncate(21 * SECTOR)).is_ok());
}

#[test]
fn a_window_over_a_short_medium_fails_past_the_medium() {
    let medium: Rc<RefCell<dyn BlockBackend>> =
        Rc::new(RefCell::new(MemoryBlock::new(vec![7u8; 4096], true)));
    let window = CdWindow::new(medium, 2048, 4096);
    assert_eq!(window.start(), 2048);
    let mut buf = [0u8; 16];
    window.read_at(2048 - 16, &mut buf).unwrap();
    assert_eq!(buf, [7; 16]);
    assert_eq!(window.read_at(2048, &mut buf), Err(BlockError::OutOfRange));
}

#[test]
fn no_emulation_images_have_no_window() {
    let cd = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let image = find(cd).unwrap();
    let medium: Rc<RefCell<dyn BlockBackend>> =
        Rc::new(RefCell::new(MemoryBlock::new(vec![0u8; 1], true)));
    assert!(CdWindow::for_image(medium, &image).is_none());
}

#[test]
fn every_error_is_one_line() {
    let errors = [
        ElToritoError::NotIso,
        ElToritoError::NoBootRecord,
        ElToritoError::CatalogOutOfRange { sector: 1 },
        ElToritoError::CorruptValidationEntry(CatalogFault::HeaderId),
        ElToritoError::CorruptValidationEntry(CatalogFault::KeyBytes),
        ElToritoError::CorruptValidationEntry(CatalogFault::Checksum),
        ElToritoError::NoX86Entry { platform: 2 },
        ElToritoError::NotBootable,
        ElToritoError::UnsupportedMedia(9),
        ElToritoError::ImageOutOfRange,
        ElToritoError::NoPartitionTable,
        ElToritoError::TooLargeForMemory {
            load_segment: 0x9000,
            bytes: 1 << 20,
        },
    ];
    for e in errors {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{e:?}: {text}");
    }
}

/// The FreeDOS boot floppy wrapped as an El Torito CD (`../shared/README.md`).
#[test]
fn the_freedos_cd_boots_a_1m44_floppy_image() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/guests");
    let path = dir.join("freedos-boot.iso");
    if !path.exists() {
        std::eprintln!("skipping: {} is absent", path.display());
        return;
    }
    let iso = std::fs::read(&path).unwrap();
    let cd: Rc<RefCell<dyn BlockBackend>> = Rc::new(RefCell::new(MemoryBlock::new(iso, true)));
    let image = find_boot_image(&*cd.borrow()).unwrap();
    assert_eq!(
        image.media,
        BootMedia::Floppy {
            size: 1_474_560,
            geometry: Chs::FLOPPY_1M44
        }
    );
    assert_eq!(image.load_segment, DEFAULT_LOAD_SEGMENT);
    assert_eq!(image.boot_drive(), DRIVE_FLOPPY);

    let boot_sector = load_no_emulation(&*cd.borrow(), &image).unwrap();
    assert_eq!(&boot_sector[510..512], &[0x55, 0xAA]);

    // The window is the floppy itself, byte for byte.
    let floppy = CdWindow::for_image(cd, &image).unwrap();
    let img = dir.join("freedos-boot.img");
    if img.exists() {
        let original = std::fs::read(&img).unwrap();
        let mut seen = vec![0u8; original.len()];
        floppy.read_at(0, &mut seen).unwrap();
        assert!(seen == original, "the window differs from freedos-boot.img");
    }
}

/// Random damage to well-formed CDs (descriptors, catalog entries with
/// random segments, counts and RBAs, MBRs, truncation) and random bytes:
/// nothing panics, and whatever `find_boot_image` accepts can be loaded and
/// read through its window in full.
#[test]
fn random_and_damaged_images_never_panic() {
    let mut rng = XorShift::per_run(
        "random_and_damaged_images_never_panic",
        0xE170_0715_0CD0_0100,
    );
    let media = [
        MEDIA_NO_EMULATION,
        MEDIA_HARD_DISK,
        MEDIA_FLOPPY_1M44,
        5,
        0x40,
    ];
    for round in 0..3000 {
        let iso = if round % 10 == 0 {
            let mut iso = Iso::blank(24);
            for b in iso.0.iter_mut() {
                *b = rng.next() as u8;
            }
            iso
        } else {
            let m = media[rng.below(media.len() as u64) as usize];
            let default = boot_entry(
                [BOOTABLE, NOT_BOOTABLE, rng.next() as u8][rng.below(3) as usize],
                m,
                rng.next() as u16 & [0, 0x0FFF, 0xFFFF][rng.below(3) as usize],
                rng.next() as u16 & [0x3, 0xFF, 0xFFFF][rng.below(3) as usize],
                IMAGE_SECTOR + (rng.next() as u32 & [0, 3, u32::MAX][rng.below(3) as usize]),
            );
            let mut iso = Iso::standard(PLATFORM_X86, default, 32);
            if m == MEDIA_HARD_DISK || rng.below(4) == 0 {
                let c = rng.below(4) as u16;
                let (h, s) = if rng.below(2) == 0 {
                    (rng.below(4) as u8, 1 + rng.below(16) as u8)
                } else {
                    (rng.next() as u8, rng.next() as u8)
                };
                iso.image_bytes(0, &mbr(c, h, s));
            }
            if rng.below(3) == 0 {
                iso.catalog_entry(
                    2,
                    section_header(HEADER_FINAL, PLATFORM_X86, rng.next() as u16),
                );
                for i in 3..64 {
                    let e = boot_entry(
                        [BOOTABLE, EXTENSION_INDICATOR][rng.below(2) as usize],
                        rng.next() as u8,
                        rng.next() as u16,
                        rng.next() as u16 & 0xF,
                        IMAGE_SECTOR + rng.below(10) as u32,
                    );
                    iso.catalog_entry(i, e);
                }
            }
            for _ in 0..rng.below(8) {
                let at = 16 * SECTOR + rng.below(5 * SECTOR as u64) as usize;
                iso.0[at] = rng.next() as u8;
            }
            if rng.below(50) == 0 {
                iso.boot_record(17, rng.next() as u32);
            }
            if rng.below(4) == 0 {
                let len = rng.below(iso.0.len() as u64 + 1) as usize;
                iso = iso.truncate(len);
            }
            iso
        };
        let cd: Rc<RefCell<dyn BlockBackend>> = Rc::new(RefCell::new(iso.medium()));
        let Ok(image) = find_boot_image(&*cd.borrow()) else {
            continue;
        };
        let bytes = load_no_emulation(&*cd.borrow(), &image).unwrap();
        assert!(bytes.len() as u64 <= u64::from(CONVENTIONAL_MEMORY_END));
        if let Some(window) = CdWindow::for_image(cd, &image) {
            let mut last = [0u8; 512];
            window.read_at(window.len() - 512, &mut last).unwrap();
        }
    }
}
