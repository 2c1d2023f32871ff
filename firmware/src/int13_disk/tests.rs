//! Tests of `int13_disk`.

use super::*;
use crate::memory::VecMemory;
use alloc::vec;
use block_backend::MemoryBlock;

fn image(sectors: usize, size: usize) -> Vec<u8> {
    (0..sectors * size)
        .map(|i| ((i / size) as u8) ^ (i as u8))
        .collect()
}

fn drives() -> Drives {
    let mut d = Drives::default();
    d.list.push(Drive {
        number: 0x00,
        kind: DriveKind::Floppy,
        medium: Box::new(MemoryBlock::new(image(2880, 512), false)),
        geometry: Geometry::floppy(1_474_560).unwrap(),
    });
    d.list.push(Drive {
        number: 0x80,
        kind: DriveKind::HardDisk,
        medium: Box::new(MemoryBlock::new(image(2048, 512), false)),
        geometry: Geometry::hard_disk(2048 * 512),
    });
    d.list.push(Drive {
        number: 0xE0,
        kind: DriveKind::Cdrom,
        medium: Box::new(MemoryBlock::new(image(64, 2048), true)),
        geometry: Geometry {
            cylinders: 0,
            heads: 0,
            sectors: 0,
        },
    });
    d
}

fn mem() -> VecMemory {
    VecMemory(vec![0; 0x10_0000])
}

#[test]
fn chs_read_of_a_floppy_reaches_es_bx() {
    let mut d = drives();
    let mut m = mem();
    // cylinder 1, head 1, sector 3 -> LBA (1*2+1)*18+2 = 56
    let mut r = Regs {
        eax: 0x0202,
        ecx: 0x0103,
        edx: 0x0100,
        ebx: 0x7C00,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf(), "AH={:#x}", r.ah());
    assert_eq!(r.al(), 2);
    let expected = image(2880, 512);
    assert_eq!(&m.0[0x7C00..0x7C00 + 1024], &expected[56 * 512..58 * 512]);
}

#[test]
fn chs_past_the_geometry_is_sector_not_found() {
    let mut d = drives();
    let mut m = mem();
    // sector 19 does not exist on a 1.44 MB floppy
    let mut r = Regs {
        eax: 0x0201,
        ecx: 0x0013,
        edx: 0x0000,
        ebx: 0x7C00,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(r.cf());
    assert_eq!(r.ah(), status::SECTOR_NOT_FOUND);
    assert_eq!(m.read_u8(BDA_FLOPPY_STATUS), status::SECTOR_NOT_FOUND);
    // and AH=01h reports it
    let mut r = Regs {
        eax: 0x0100,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert_eq!(r.ah(), status::SECTOR_NOT_FOUND);
}

#[test]
fn a_read_running_off_the_disk_reports_how_much_moved() {
    let mut d = drives();
    let mut m = mem();
    // last cylinder 79, head 1, sector 18 (LBA 2879), 2 sectors
    let mut r = Regs {
        eax: 0x0202,
        ecx: 0x4F12,
        edx: 0x0100,
        ebx: 0x1000,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(r.cf());
    assert_eq!(r.al(), 1);
}

#[test]
fn floppy_parameters_point_at_the_dpt() {
    let mut d = drives();
    let mut m = mem();
    let mut r = Regs {
        eax: 0x0800,
        edx: 0x0000,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf());
    assert_eq!((r.ch(), r.cl(), r.dh(), r.dl(), r.bl()), (79, 18, 1, 1, 4));
    assert_eq!(
        (r.es, r.di()),
        (crate::rom::ROM_SEGMENT, crate::rom::DPT_OFFSET)
    );
}

#[test]
fn extended_read_of_the_cd_uses_2048_byte_sectors() {
    let mut d = drives();
    let mut m = mem();
    // DAP at 0000:0600: 16 bytes, 2 blocks, to 0000:8000, LBA 16
    m.write(
        0x600,
        &[
            0x10, 0, 2, 0, 0x00, 0x80, 0x00, 0x00, 16, 0, 0, 0, 0, 0, 0, 0,
        ],
    );
    let mut r = Regs {
        eax: 0x4200,
        edx: 0xE0,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf(), "AH={:#x}", r.ah());
    let expected = image(64, 2048);
    assert_eq!(&m.0[0x8000..0x9000], &expected[16 * 2048..18 * 2048]);
}

#[test]
fn extended_read_past_the_end_updates_the_block_count() {
    let mut d = drives();
    let mut m = mem();
    m.write(
        0x600,
        &[
            0x10, 0, 4, 0, 0x00, 0x80, 0x00, 0x00, 62, 0, 0, 0, 0, 0, 0, 0,
        ],
    );
    let mut r = Regs {
        eax: 0x4200,
        edx: 0xE0,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(r.cf());
    assert_eq!(m.read_u16(0x602), 2);
}

#[test]
fn extensions_check_and_drive_parameters() {
    let mut d = drives();
    let mut m = mem();
    let mut r = Regs {
        eax: 0x4100,
        ebx: 0x55AA,
        edx: 0x80,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert_eq!((r.bx(), r.cf()), (0xAA55, false));
    m.write_u16(0x700, 0x1E);
    let mut r = Regs {
        eax: 0x4800,
        edx: 0xE0,
        esi: 0x700,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf());
    assert_eq!(m.read_u16(0x700 + 24), 2048);
    assert_eq!(m.read_u32(0x700 + 16), 64);
    // floppies have no extensions
    let mut r = Regs {
        eax: 0x4100,
        ebx: 0x55AA,
        edx: 0x00,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(r.cf());
}

#[test]
fn writes_to_the_cd_are_refused_and_to_the_disk_land() {
    let mut d = drives();
    let mut m = mem();
    m.0[0x2000..0x2200].fill(0x5A);
    m.write(
        0x600,
        &[
            0x10, 0, 1, 0, 0x00, 0x20, 0x00, 0x00, 5, 0, 0, 0, 0, 0, 0, 0,
        ],
    );
    let mut r = Regs {
        eax: 0x4300,
        edx: 0x80,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf());
    let mut back = [0u8; 512];
    d.get(0x80)
        .unwrap()
        .medium
        .read_at(5 * 512, &mut back)
        .unwrap();
    assert!(back.iter().all(|b| *b == 0x5A));
    let mut r = Regs {
        eax: 0x4300,
        edx: 0xE0,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert_eq!((r.cf(), r.ah()), (true, status::WRITE_PROTECTED));
}

#[test]
fn missing_drives_and_unknown_functions_fail_cleanly() {
    let mut d = drives();
    let mut m = mem();
    let mut r = Regs {
        eax: 0x0201,
        edx: 0x81,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(r.cf());
    let mut r = Regs {
        eax: 0x7700,
        edx: 0x80,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert_eq!((r.cf(), r.ah()), (true, status::INVALID_FUNCTION));
}

#[test]
fn emulation_status_fills_the_specification_packet() {
    let mut d = drives();
    d.emulation = Some(EmulationInfo {
        media_type: 0,
        drive: 0xE0,
        image_lba: 27,
        load_segment: 0x7C0,
        sector_count: 4,
        geometry: None,
    });
    let mut m = mem();
    let mut r = Regs {
        eax: 0x4B01,
        edx: 0xE0,
        esi: 0x800,
        ..Default::default()
    };
    int13(&mut r, &mut m, &mut d);
    assert!(!r.cf());
    assert_eq!(m.read_u8(0x800), 0x13);
    assert_eq!(m.read_u8(0x802), 0xE0);
    assert_eq!(m.read_u32(0x804), 27);
}

#[test]
fn random_requests_never_panic() {
    let mut d = drives();
    let mut m = mem();
    let mut x: u64 = 0x1357_9BDF_2468_ACE0;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut r = Regs {
            eax: x as u32,
            ebx: (x >> 16) as u32,
            ecx: (x >> 24) as u32,
            edx: [0x00u32, 0x80, 0xE0, 0x81][(x >> 40) as usize % 4] | ((x >> 8) as u32 & 0xFF00),
            esi: (x >> 32) as u32 & 0xFFFF,
            ds: (x >> 48) as u16,
            es: (x >> 52) as u16,
            ..Default::default()
        };
        int13(&mut r, &mut m, &mut d);
    }
}

/// A hard disk whose host device fails every read and write with `e`.
struct FailingDisk(BlockError);

impl BlockBackend for FailingDisk {
    fn len(&self) -> u64 {
        2048 * 512
    }
    fn read_only(&self) -> bool {
        false
    }
    fn read_at(&self, _: u64, _: &mut [u8]) -> Result<(), BlockError> {
        Err(self.0)
    }
    fn write_at(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
        Err(self.0)
    }
}

#[test]
fn host_disk_errors_are_int13_errors_never_success() {
    for (e, write, ah) in [
        (BlockError::Io, false, status::UNCORRECTABLE_READ),
        (BlockError::Io, true, status::WRITE_FAULT),
        (BlockError::Unsupported, true, status::CONTROLLER_FAILURE),
        (BlockError::ReadOnly, true, status::WRITE_PROTECTED),
    ] {
        let mut d = Drives::default();
        d.list.push(Drive {
            number: 0x80,
            kind: DriveKind::HardDisk,
            medium: Box::new(FailingDisk(e)),
            geometry: Geometry::hard_disk(2048 * 512),
        });
        let mut m = mem();
        // AH=02h/03h, 1 sector at cylinder 0, head 0, sector 1.
        let mut r = Regs {
            eax: if write { 0x0301 } else { 0x0201 },
            ecx: 0x0001,
            edx: 0x0080,
            ebx: 0x1000,
            ..Default::default()
        };
        int13(&mut r, &mut m, &mut d);
        assert!(r.cf(), "{e:?}");
        assert_eq!((r.ah(), r.al()), (ah, 0), "{e:?} write={write}");
    }
}
