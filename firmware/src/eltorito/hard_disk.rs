//! The geometry of an emulated hard disk, from the MBR at the image's start.
//!
//! El Torito 1.0, 2.2 and 3.0: a hard-disk image is a whole disk (an MBR
//! with a partition table, then the partition); the catalog records no size,
//! so the BIOS takes the geometry from the partition table, the way the disk
//! the image was taken from described itself. A partition table entry (MBR
//! offset 1BEh, four 16-byte entries) records each partition's last sector as
//! a cylinder/head/sector triple in INT 13h form: the head, then the sector
//! number in bits 0-5 with cylinder bits 8-9 in bits 6-7, then cylinder bits
//! 0-7.
//!
//! The emulated disk has the heads and sectors per track of the first used
//! entry's end address, and ends at the highest end cylinder of the used
//! entries that share that geometry: the disk is taken to end where its last
//! partition ends.

use block_backend::BlockBackend;

use super::{Chs, ElToritoError, CD_SECTOR_SIZE};

/// Bytes in a master boot record.
pub const MBR_SIZE: usize = 512;
/// Offset of the boot signature 55h AAh.
pub const MBR_SIGNATURE: usize = 0x1FE;
pub const MBR_SIGNATURE_55: u8 = 0x55;
pub const MBR_SIGNATURE_AA: u8 = 0xAA;
/// Offset of the partition table.
pub const PARTITION_TABLE: usize = 0x1BE;
/// Entries in the partition table.
pub const PARTITION_ENTRIES: usize = 4;
/// Bytes per partition table entry.
pub const PARTITION_ENTRY_SIZE: usize = 16;
/// Offset in an entry of the System Indicator (partition type; 0 = unused).
/// El Torito's System Type is a copy of this byte.
pub const PARTITION_TYPE: usize = 0x04;
/// Offset in an entry of the end head.
pub const END_HEAD: usize = 0x05;
/// Offset in an entry of the end sector (bits 0-5) and cylinder bits 8-9
/// (bits 6-7).
pub const END_SECTOR: usize = 0x06;
/// Offset in an entry of cylinder bits 0-7 of the end address.
pub const END_CYLINDER: usize = 0x07;
/// Bits 0-5 of the sector byte: the sector number (1-63).
pub const SECTOR_MASK: u8 = 0x3F;
/// Bits 6-7 of the sector byte: cylinder bits 8-9.
pub const CYLINDER_HIGH_MASK: u8 = 0xC0;
/// The largest head number INT 13h can report as a count in a byte: end
/// head 255 would mean 256 heads, which [`Chs::heads`] cannot hold (and
/// which DOS mishandles), so it is refused.
pub const MAX_END_HEAD: u8 = 254;

/// The geometry of the disk whose MBR is `mbr`, or `None` when the MBR has
/// no signature or no used entry with a sane end address.
pub fn geometry(mbr: &[u8; MBR_SIZE]) -> Option<Chs> {
    if mbr[MBR_SIGNATURE] != MBR_SIGNATURE_55 || mbr[MBR_SIGNATURE + 1] != MBR_SIGNATURE_AA {
        return None;
    }
    let mut disk: Option<Chs> = None;
    for n in 0..PARTITION_ENTRIES {
        let start = PARTITION_TABLE + n * PARTITION_ENTRY_SIZE;
        let e = &mbr[start..start + PARTITION_ENTRY_SIZE];
        if e[PARTITION_TYPE] == 0 {
            continue;
        }
        let head = e[END_HEAD];
        let sectors = e[END_SECTOR] & SECTOR_MASK;
        if head > MAX_END_HEAD || sectors == 0 {
            continue;
        }
        let cylinders =
            (u16::from(e[END_SECTOR] & CYLINDER_HIGH_MASK) << 2 | u16::from(e[END_CYLINDER])) + 1;
        let end = Chs::new(cylinders, head + 1, sectors);
        disk = match disk {
            None => Some(end),
            Some(d) if d.heads == end.heads && d.sectors == end.sectors => Some(Chs {
                cylinders: d.cylinders.max(end.cylinders),
                ..d
            }),
            other => other,
        };
    }
    disk
}

/// Reads the MBR of the hard-disk image at CD sector `load_rba` and returns
/// its geometry.
pub fn read_geometry(cd: &dyn BlockBackend, load_rba: u32) -> Result<Chs, ElToritoError> {
    let mut mbr = [0u8; MBR_SIZE];
    cd.read_at(u64::from(load_rba) * CD_SECTOR_SIZE, &mut mbr)
        .map_err(|_| ElToritoError::ImageOutOfRange)?;
    geometry(&mbr).ok_or(ElToritoError::NoPartitionTable)
}
