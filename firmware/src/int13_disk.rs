//! INT 13h disk services (IBM PC/AT Technical Reference, "Diskette" and
//! "Fixed Disk" BIOS interfaces; Phoenix/T13 BIOS Enhanced Disk Drive
//! Specification (EDD) 3.0 for functions 41h-48h; El Torito 1.0 section 5
//! for function 4Bh), over a table of drives: floppy (00h), hard disk (80h)
//! and a no-emulation CD (E0h, 2048-byte sectors). Every transfer is checked
//! against the medium and guest memory; bad requests get the BIOS status code
//! in AH and CF set.

use crate::memory::RealMemory;
use crate::regs::{linear, Regs};
use alloc::boxed::Box;
use alloc::vec::Vec;
use device_model::block::BlockBackend;

/// INT 13h status codes.
pub mod status {
    pub const OK: u8 = 0x00;
    pub const INVALID_FUNCTION: u8 = 0x01;
    pub const WRITE_PROTECTED: u8 = 0x03;
    pub const SECTOR_NOT_FOUND: u8 = 0x04;
    pub const MEDIA_TYPE_NOT_FOUND: u8 = 0x0C;
    pub const TIMEOUT: u8 = 0x80;
}

/// BDA: last diskette status (0040:0041) and last fixed-disk status (0040:0074).
const BDA_FLOPPY_STATUS: u32 = 0x441;
const BDA_DISK_STATUS: u32 = 0x474;
/// EDD: most sectors one extended call moves (EDD 3.0 limits the block count to 127).
pub const MAX_EXTENDED_SECTORS: u16 = 127;

/// Kind of drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveKind {
    Floppy,
    HardDisk,
    Cdrom,
}

/// Cylinders, heads, sectors per track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub cylinders: u32,
    pub heads: u32,
    pub sectors: u32,
}

impl Geometry {
    /// The standard geometry of a floppy image of `bytes` (160 KB to 2.88 MB),
    /// else None.
    pub fn floppy(bytes: u64) -> Option<Self> {
        let (cylinders, heads, sectors) = match bytes / 1024 {
            160 => (40, 1, 8),
            180 => (40, 1, 9),
            320 => (40, 2, 8),
            360 => (40, 2, 9),
            720 => (80, 2, 9),
            1200 => (80, 2, 15),
            1440 => (80, 2, 18),
            2880 => (80, 2, 36),
            _ => return None,
        };
        Some(Self {
            cylinders,
            heads,
            sectors,
        })
    }

    /// The usual translated geometry of a hard disk of `bytes`: 16 heads, 63
    /// sectors, cylinders as many as fit (at most 1024 reachable through CHS).
    pub fn hard_disk(bytes: u64) -> Self {
        let cylinders = (bytes / (16 * 63 * 512)).clamp(1, 1024) as u32;
        Self {
            cylinders,
            heads: 16,
            sectors: 63,
        }
    }

    /// LBA of a CHS address (sector numbers start at 1), if it is on the disk.
    pub fn lba(&self, c: u32, h: u32, s: u32) -> Option<u64> {
        (s >= 1 && s <= self.sectors && h < self.heads && c < self.cylinders).then(|| {
            (u64::from(c) * u64::from(self.heads) + u64::from(h)) * u64::from(self.sectors)
                + u64::from(s - 1)
        })
    }
}

/// What INT 13h AH=4Bh reports about El Torito emulation (El Torito 1.0,
/// section 5, "Specification Packet").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmulationInfo {
    /// Boot media type byte: 0 no emulation, 1/2/3 floppy, 4 hard disk.
    pub media_type: u8,
    pub drive: u8,
    /// LBA (2048-byte sectors) of the image on the CD.
    pub image_lba: u32,
    pub load_segment: u16,
    pub sector_count: u16,
    pub geometry: Option<Geometry>,
}

/// One BIOS drive.
pub struct Drive {
    pub number: u8,
    pub kind: DriveKind,
    pub medium: Box<dyn BlockBackend>,
    pub geometry: Geometry,
}

impl Drive {
    fn sector_size(&self) -> u64 {
        if self.kind == DriveKind::Cdrom {
            2048
        } else {
            512
        }
    }

    fn sectors(&self) -> u64 {
        self.medium.len() / self.sector_size()
    }
}

/// The BIOS's drives.
#[derive(Default)]
pub struct Drives {
    pub list: Vec<Drive>,
    pub emulation: Option<EmulationInfo>,
}

impl Drives {
    /// The drive numbered `n`.
    pub fn get(&mut self, n: u8) -> Option<&mut Drive> {
        self.list.iter_mut().find(|d| d.number == n)
    }

    /// How many drives of `kind`.
    pub fn count(&self, kind: DriveKind) -> u8 {
        self.list.iter().filter(|d| d.kind == kind).count() as u8
    }
}

fn status_address(drive: u8) -> u32 {
    if drive & 0x80 != 0 {
        BDA_DISK_STATUS
    } else {
        BDA_FLOPPY_STATUS
    }
}

fn finish(regs: &mut Regs, mem: &mut dyn RealMemory, drive: u8, code: u8) {
    mem.write_u8(status_address(drive), code);
    if code == status::OK {
        regs.succeed();
    } else {
        regs.fail(code);
    }
}

/// Moves `count` sectors between `drive` at `lba` and guest memory at
/// `buffer`; returns how many were moved and the status.
fn transfer(
    drive: &mut Drive,
    mem: &mut dyn RealMemory,
    lba: u64,
    count: u32,
    buffer: u32,
    write: bool,
) -> (u32, u8) {
    let size = drive.sector_size();
    let mut sector = [0u8; 2048];
    let sector = &mut sector[..size as usize];
    for i in 0..count {
        let Some(at) = lba
            .checked_add(u64::from(i))
            .filter(|s| *s < drive.sectors())
        else {
            return (i, status::SECTOR_NOT_FOUND);
        };
        let addr = buffer.wrapping_add(i * size as u32);
        let ok = if write {
            if drive.medium.read_only() {
                return (i, status::WRITE_PROTECTED);
            }
            mem.read(addr, sector) && drive.medium.write_at(at * size, sector).is_ok()
        } else {
            drive.medium.read_at(at * size, sector).is_ok() && mem.write(addr, sector)
        };
        if !ok {
            return (i, status::SECTOR_NOT_FOUND);
        }
    }
    (count, status::OK)
}

/// The INT 13h handler.
pub fn int13(regs: &mut Regs, mem: &mut dyn RealMemory, drives: &mut Drives) -> crate::Next {
    let number = regs.dl();
    let function = regs.ah();
    // Functions that need no drive.
    if function == 0x01 {
        let last = mem.read_u8(status_address(number));
        regs.set_ah(last);
        regs.set_cf(last != 0);
        return crate::Next::Return;
    }
    if function == 0x4B {
        emulation_status(regs, mem, drives);
        return crate::Next::Return;
    }
    let hard_disks = drives.count(DriveKind::HardDisk);
    let floppies = drives.count(DriveKind::Floppy);
    let Some(drive) = drives.get(number) else {
        // Function 08h on a missing hard disk still reports the count; 15h says "no drive".
        if function == 0x15 {
            regs.set_ah(0);
            regs.set_cf(false);
        } else {
            finish(regs, mem, number, status::TIMEOUT);
        }
        return crate::Next::Return;
    };
    let code = match function {
        0x00 | 0x05 | 0x0C | 0x0D | 0x10 | 0x11 | 0x16 | 0x17 | 0x47 => status::OK,
        0x02..=0x04 if drive.kind != DriveKind::Cdrom => {
            let count = u32::from(regs.al());
            let c = u32::from(regs.ch()) | (u32::from(regs.cl() & 0xC0) << 2);
            let s = u32::from(regs.cl() & 0x3F);
            let h = u32::from(regs.dh());
            match drive.geometry.lba(c, h, s) {
                None => {
                    regs.set_al(0);
                    status::SECTOR_NOT_FOUND
                }
                Some(_) if count == 0 => status::INVALID_FUNCTION,
                Some(lba) if function == 0x04 => {
                    let ok = lba + u64::from(count) <= drive.sectors();
                    if ok {
                        status::OK
                    } else {
                        status::SECTOR_NOT_FOUND
                    }
                }
                Some(lba) => {
                    let buffer = linear(regs.es, regs.bx());
                    let (moved, code) = transfer(drive, mem, lba, count, buffer, function == 0x03);
                    regs.set_al(moved as u8);
                    code
                }
            }
        }
        0x08 if drive.kind != DriveKind::Cdrom => {
            let g = drive.geometry;
            let max_cyl = g.cylinders.saturating_sub(1).min(1023);
            regs.set_ch(max_cyl as u8);
            regs.set_cl((g.sectors.min(63) as u8) | (((max_cyl >> 8) as u8) << 6));
            regs.set_dh(g.heads.saturating_sub(1).min(255) as u8);
            if drive.kind == DriveKind::Floppy {
                regs.set_bl(4); // 1.44 MB drive
                regs.set_dl(floppies);
                regs.es = crate::rom::ROM_SEGMENT;
                regs.set_di(crate::rom::DPT_OFFSET);
            } else {
                regs.set_dl(hard_disks);
            }
            regs.set_al(0);
            status::OK
        }
        0x15 => {
            let kind = match drive.kind {
                DriveKind::Floppy => 0x02,
                _ => 0x03,
            };
            if kind == 0x03 {
                let sectors = drive.sectors().min(u64::from(u32::MAX)) as u32;
                regs.set_cx((sectors >> 16) as u16);
                regs.set_dx(sectors as u16);
            }
            regs.set_ah(kind);
            regs.set_cf(false);
            return crate::Next::Return;
        }
        0x41 if drive.kind != DriveKind::Floppy && regs.bx() == 0x55AA => {
            regs.set_bx(0xAA55);
            regs.set_cx(0x0001 | 0x0004); // fixed-disk access (42h-44h, 47h, 48h), EDD (48h)
            regs.set_ah(0x30); // EDD 3.0
            regs.set_cf(false);
            return crate::Next::Return;
        }
        0x42..=0x44 if drive.kind != DriveKind::Floppy => {
            extended_transfer(regs, mem, drive, function)
        }
        0x48 if drive.kind != DriveKind::Floppy => drive_parameters(regs, mem, drive),
        _ => status::INVALID_FUNCTION,
    };
    finish(regs, mem, number, code);
    crate::Next::Return
}

/// AH=42h/43h/44h: the disk address packet at DS:SI (EDD 3.0, "Device Address
/// Packet"): size, reserved, block count (updated to what moved), buffer
/// offset:segment, starting LBA.
fn extended_transfer(
    regs: &mut Regs,
    mem: &mut dyn RealMemory,
    drive: &mut Drive,
    function: u8,
) -> u8 {
    let dap = linear(regs.ds, regs.si());
    let size = mem.read_u8(dap);
    if size < 0x10 {
        return status::INVALID_FUNCTION;
    }
    let count = mem.read_u16(dap + 2);
    if count > MAX_EXTENDED_SECTORS {
        return status::INVALID_FUNCTION;
    }
    let buffer = linear(mem.read_u16(dap + 6), mem.read_u16(dap + 4));
    let lba = u64::from(mem.read_u32(dap + 8)) | (u64::from(mem.read_u32(dap + 12)) << 32);
    if function == 0x44 {
        return if lba.saturating_add(u64::from(count)) <= drive.sectors() {
            status::OK
        } else {
            status::SECTOR_NOT_FOUND
        };
    }
    let (moved, code) = transfer(drive, mem, lba, u32::from(count), buffer, function == 0x43);
    mem.write_u16(dap + 2, moved as u16);
    code
}

/// AH=48h: the drive parameter table at DS:SI (EDD 3.0, "Result Buffer").
fn drive_parameters(regs: &mut Regs, mem: &mut dyn RealMemory, drive: &mut Drive) -> u8 {
    let buf = linear(regs.ds, regs.si());
    if mem.read_u16(buf) < 0x1A {
        return status::INVALID_FUNCTION;
    }
    let g = drive.geometry;
    let removable = drive.kind == DriveKind::Cdrom;
    // Bit 1: the CHS geometry is valid; bit 2: removable; bit 4: change line; bit 5: lockable;
    // bit 6: maximum geometry (EDD 3.0, "Information Flags").
    let flags: u16 = if removable { 0x0074 } else { 0x0002 };
    mem.write_u16(buf, 0x1A);
    mem.write_u16(buf + 2, flags);
    mem.write_u32(buf + 4, g.cylinders);
    mem.write_u32(buf + 8, g.heads);
    mem.write_u32(buf + 12, g.sectors);
    let total = drive.sectors();
    mem.write_u32(buf + 16, total as u32);
    mem.write_u32(buf + 20, (total >> 32) as u32);
    mem.write_u16(buf + 24, drive.sector_size() as u16);
    status::OK
}

/// AH=4Bh AL=00h/01h: terminate emulation / get status, into the 13h-byte
/// specification packet at DS:SI (El Torito 1.0, section 5).
fn emulation_status(regs: &mut Regs, mem: &mut dyn RealMemory, drives: &mut Drives) {
    let Some(e) = drives.emulation else {
        regs.fail(status::INVALID_FUNCTION);
        return;
    };
    if regs.al() > 1 {
        regs.fail(status::INVALID_FUNCTION);
        return;
    }
    let p = linear(regs.ds, regs.si());
    let mut packet = [0u8; 0x13];
    packet[0] = 0x13;
    packet[1] = e.media_type;
    packet[2] = e.drive;
    packet[4..8].copy_from_slice(&e.image_lba.to_le_bytes());
    packet[0x0C..0x0E].copy_from_slice(&e.load_segment.to_le_bytes());
    packet[0x0E..0x10].copy_from_slice(&e.sector_count.to_le_bytes());
    if let Some(g) = e.geometry {
        let max_cyl = g.cylinders.saturating_sub(1);
        packet[0x10] = max_cyl as u8;
        packet[0x11] = (g.sectors as u8 & 0x3F) | (((max_cyl >> 8) as u8) << 6);
        packet[0x12] = g.heads.saturating_sub(1) as u8;
    }
    if !mem.write(p, &packet) {
        regs.fail(status::INVALID_FUNCTION);
        return;
    }
    regs.succeed();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::VecMemory;
    use alloc::vec;
    use device_model::block::MemoryBlock;

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
                edx: [0x00u32, 0x80, 0xE0, 0x81][(x >> 40) as usize % 4]
                    | ((x >> 8) as u32 & 0xFF00),
                esi: (x >> 32) as u32 & 0xFFFF,
                ds: (x >> 48) as u16,
                es: (x >> 52) as u16,
                ..Default::default()
            };
            int13(&mut r, &mut m, &mut d);
        }
    }
}
