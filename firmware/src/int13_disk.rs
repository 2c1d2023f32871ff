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
use block_backend::{BlockBackend, BlockError};

/// INT 13h status codes.
pub mod status {
    pub const OK: u8 = 0x00;
    pub const INVALID_FUNCTION: u8 = 0x01;
    pub const WRITE_PROTECTED: u8 = 0x03;
    pub const SECTOR_NOT_FOUND: u8 = 0x04;
    /// Uncorrectable CRC or ECC error on read: the host disk failed a read.
    pub const UNCORRECTABLE_READ: u8 = 0x10;
    /// Controller failure: the host disk refused the request.
    pub const CONTROLLER_FAILURE: u8 = 0x20;
    /// Write fault on the selected drive: the host disk failed a write.
    pub const WRITE_FAULT: u8 = 0xCC;
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

/// The INT 13h status (AH) for a failed medium access: the host disk's own
/// failures are errors the caller sees, never success (status codes as in
/// the IBM PC/AT BIOS Technical Reference and Ralf Brown's list, INT 13h
/// AH=01h).
pub fn medium_status(e: BlockError, write: bool) -> u8 {
    match e {
        BlockError::OutOfRange => status::SECTOR_NOT_FOUND,
        BlockError::ReadOnly => status::WRITE_PROTECTED,
        BlockError::Io if write => status::WRITE_FAULT,
        BlockError::Io => status::UNCORRECTABLE_READ,
        BlockError::Unsupported => status::CONTROLLER_FAILURE,
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
        let result = if write {
            if drive.medium.read_only() {
                return (i, status::WRITE_PROTECTED);
            }
            if !mem.read(addr, sector) {
                return (i, status::SECTOR_NOT_FOUND);
            }
            drive.medium.write_at(at * size, sector)
        } else {
            drive.medium.read_at(at * size, sector)
        };
        if let Err(e) = result {
            return (i, medium_status(e, write));
        }
        if !write && !mem.write(addr, sector) {
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
mod tests;
