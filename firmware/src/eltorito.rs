//! El Torito: finding the boot image on a CD and presenting it to the BIOS.
//!
//! Implements, from the *"El Torito" Bootable CD-ROM Format Specification,
//! Version 1.0* (Phoenix Technologies and IBM, January 25, 1995):
//! - 2.0 "Boot Record Volume Descriptor" ([`descriptor`]),
//! - 2.1 "Validation Entry", 2.2 "Initial/Default Entry", 2.3 "Section Header
//!   Entry", 2.4 "Section Entry" and 2.5 "Section Entry Extension"
//!   ([`catalog`]),
//! - 3.0 the BIOS's part of booting: the initial load of *sector count*
//!   512-byte virtual sectors at *load segment* (0 meaning 07C0h), and the
//!   emulated floppy or hard disk that starts at the image's *load RBA*
//!   ([`load_no_emulation`], [`CdWindow`], [`hard_disk`] for the geometry of
//!   an emulated hard disk).
//!
//! The volume descriptor set is read as ECMA-119, 2nd edition (December
//! 1987), lays it out: 8.1 "Format of a Volume Descriptor" (type, "CD001",
//! version) starting at logical sector 16, 8.2 "Boot Record" and 8.3 "Volume
//! Descriptor Set Terminator". T13/2132-D (EDD-4) revision 3, 7.3.4, restates
//! the Initial/Default Entry and is the source for the 32 MB worst case of a
//! no-emulation sector count.
//!
//! Everything here reads untrusted media: every offset is computed with
//! checked arithmetic, every read goes through [`BlockBackend::read_at`], and
//! no allocation is larger than the 640 KiB of conventional memory (see
//! [`CONVENTIONAL_MEMORY_END`]).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use block_backend::BlockBackend;

use crate::bios_platform::{DRIVE_CDROM, DRIVE_FLOPPY, DRIVE_HARD_DISK};

pub mod catalog;
pub mod descriptor;
pub mod hard_disk;
pub mod window;

#[cfg(test)]
pub(crate) mod test_iso;
#[cfg(test)]
mod tests;

pub use window::{CdWindow, SharedMedium};

/// Bytes in a CD-ROM logical sector (ECMA-119: 2048 on a CD-ROM); the unit
/// of the boot record's catalog pointer and of an entry's Load RBA.
pub const CD_SECTOR_SIZE: u64 = 2048;

/// Bytes in an El Torito *virtual* sector, the unit of an entry's sector
/// count (2.2: "number of virtual/emulated sectors").
pub const VIRTUAL_SECTOR_SIZE: u64 = 512;

/// The load segment a zero Load Segment field stands for (2.2: "If this value
/// is 0 the system will use the traditional segment of 7C0").
pub const DEFAULT_LOAD_SEGMENT: u16 = 0x07C0;

/// The end of conventional memory (A0000h, where video memory begins): the
/// initial load must end below it. The spec allows a 16-bit sector count,
/// up to 65535 x 512 bytes (the "32 MB" of EDD-4 7.3.4), but a real-mode BIOS
/// can only place the image in conventional memory; a request that does not
/// fit is refused ([`ElToritoError::TooLargeForMemory`]) rather than trimmed,
/// which also bounds every allocation here. ISOLINUX and GRUB images ask for
/// 4 sectors (`-boot-load-size 4`), Windows' loader for 8.
pub const CONVENTIONAL_MEMORY_END: u32 = pc_layout::memory::VGA_WINDOW as u32;

/// A cylinder/head/sector geometry, as INT 13h AH=08h reports it (counts,
/// not maximum numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chs {
    pub cylinders: u16,
    pub heads: u8,
    pub sectors: u8,
}

impl Chs {
    /// 5.25" 1.2 MB diskette (media type 1): 80 cylinders, 2 heads, 15 sectors.
    pub const FLOPPY_1M2: Chs = Chs::new(80, 2, 15);
    /// 3.5" 1.44 MB diskette (media type 2): 80 cylinders, 2 heads, 18 sectors.
    pub const FLOPPY_1M44: Chs = Chs::new(80, 2, 18);
    /// 3.5" 2.88 MB diskette (media type 3): 80 cylinders, 2 heads, 36 sectors.
    pub const FLOPPY_2M88: Chs = Chs::new(80, 2, 36);

    pub const fn new(cylinders: u16, heads: u8, sectors: u8) -> Self {
        Self {
            cylinders,
            heads,
            sectors,
        }
    }

    /// Number of 512-byte sectors the geometry addresses.
    pub const fn total_sectors(&self) -> u64 {
        self.cylinders as u64 * self.heads as u64 * self.sectors as u64
    }

    /// Size in bytes of a disk with this geometry.
    pub const fn size(&self) -> u64 {
        self.total_sectors() * VIRTUAL_SECTOR_SIZE
    }
}

/// How the BIOS presents the boot image (2.2, boot media type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootMedia {
    /// Media type 0: the BIOS loads the image and gives the CD itself a drive
    /// number ([`DRIVE_CDROM`]), read through INT 13h extensions.
    NoEmulation,
    /// Media types 1-3: the image is drive 00h, a floppy of `size` bytes.
    Floppy { size: u64, geometry: Chs },
    /// Media type 4: the image is drive 80h, a hard disk of `size` bytes
    /// whose geometry comes from the partition table in the image's MBR
    /// ([`hard_disk::geometry`]).
    HardDisk { size: u64, geometry: Chs },
}

impl BootMedia {
    /// The boot media type code of 2.2 (0 no emulation ... 4 hard disk), as
    /// INT 13h AX=4B01h reports it.
    pub fn media_type(&self) -> u8 {
        match self {
            BootMedia::NoEmulation => catalog::MEDIA_NO_EMULATION,
            BootMedia::Floppy { geometry, .. } if *geometry == Chs::FLOPPY_1M2 => {
                catalog::MEDIA_FLOPPY_1M2
            }
            BootMedia::Floppy { geometry, .. } if *geometry == Chs::FLOPPY_2M88 => {
                catalog::MEDIA_FLOPPY_2M88
            }
            BootMedia::Floppy { .. } => catalog::MEDIA_FLOPPY_1M44,
            BootMedia::HardDisk { .. } => catalog::MEDIA_HARD_DISK,
        }
    }

    /// Size in bytes of the emulated drive; `None` without emulation.
    pub fn emulated_size(&self) -> Option<u64> {
        match self {
            BootMedia::NoEmulation => None,
            BootMedia::Floppy { size, .. } | BootMedia::HardDisk { size, .. } => Some(*size),
        }
    }

    /// Geometry of the emulated drive; `None` without emulation.
    pub fn geometry(&self) -> Option<Chs> {
        match self {
            BootMedia::NoEmulation => None,
            BootMedia::Floppy { geometry, .. } | BootMedia::HardDisk { geometry, .. } => {
                Some(*geometry)
            }
        }
    }
}

/// The boot image the BIOS starts, from the catalog entry it chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootImage {
    pub media: BootMedia,
    /// Where the initial load goes: the entry's Load Segment, with 0 already
    /// replaced by [`DEFAULT_LOAD_SEGMENT`].
    pub load_segment: u16,
    /// The entry's Sector Count as recorded (512-byte virtual sectors); see
    /// [`BootImage::load_len`] for what is loaded.
    pub sector_count: u16,
    /// The entry's Load RBA: the CD sector where the image starts.
    pub load_rba: u32,
}

impl BootImage {
    /// Byte offset of the image on the CD.
    pub fn image_offset(&self) -> u64 {
        u64::from(self.load_rba) * CD_SECTOR_SIZE
    }

    /// Linear address of the initial load (load_segment:0000).
    pub fn load_address(&self) -> u32 {
        u32::from(self.load_segment) << 4
    }

    /// Bytes of the initial load: Sector Count virtual sectors, at least one
    /// (2.2 defines no meaning for a count of 0; a BIOS that boots at all must
    /// load the boot sector, so 0 is read as 1).
    pub fn load_len(&self) -> u64 {
        u64::from(self.sector_count.max(1)) * VIRTUAL_SECTOR_SIZE
    }

    /// The INT 13h drive number the BIOS boots with (DL): 00h for floppy
    /// emulation, 80h for hard-disk emulation, [`DRIVE_CDROM`] otherwise.
    pub fn boot_drive(&self) -> u8 {
        match self.media {
            BootMedia::NoEmulation => DRIVE_CDROM,
            BootMedia::Floppy { .. } => DRIVE_FLOPPY,
            BootMedia::HardDisk { .. } => DRIVE_HARD_DISK,
        }
    }

    /// Checks that the initial load and the emulated drive lie inside a CD of
    /// `cd_len` bytes, and that the initial load fits in conventional memory.
    fn check(&self, cd_len: u64) -> Result<(), ElToritoError> {
        let start = self.image_offset();
        let load_end = start.checked_add(self.load_len());
        let drive_end = start.checked_add(self.media.emulated_size().unwrap_or(0));
        match (load_end, drive_end) {
            (Some(l), Some(d)) if l <= cd_len && d <= cd_len => {}
            _ => return Err(ElToritoError::ImageOutOfRange),
        }
        let memory_end = u64::from(self.load_address()) + self.load_len();
        if memory_end > u64::from(CONVENTIONAL_MEMORY_END) {
            return Err(ElToritoError::TooLargeForMemory {
                load_segment: self.load_segment,
                bytes: self.load_len(),
            });
        }
        Ok(())
    }
}

/// Why a CD cannot boot. The `Display` text is one line for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElToritoError {
    /// Sector 16 holds no ISO 9660 volume descriptor (or the image ends
    /// before it).
    NotIso,
    /// The volume descriptor set has no El Torito Boot Record.
    NoBootRecord,
    /// The boot record points at a catalog sector past the end of the image.
    CatalogOutOfRange { sector: u32 },
    /// The catalog's validation entry fails a check of 2.1.
    CorruptValidationEntry(CatalogFault),
    /// The catalog has no x86 entry: the validation entry names another
    /// platform (e.g. EFh, EFI) and no x86 section entry is bootable.
    NoX86Entry { platform: u8 },
    /// The default entry's boot indicator is not 88h and no x86 section entry
    /// is bootable.
    NotBootable,
    /// The boot media type is none of 0-4.
    UnsupportedMedia(u8),
    /// The initial load or the emulated drive runs past the end of the CD.
    ImageOutOfRange,
    /// A hard-disk emulation image without an MBR partition table to take
    /// the geometry from.
    NoPartitionTable,
    /// The initial load does not fit between its load segment and A0000h.
    TooLargeForMemory { load_segment: u16, bytes: u64 },
}

/// Which check of the validation entry (2.1) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFault {
    /// The Header ID is not 01h.
    HeaderId,
    /// The key bytes at 1Eh-1Fh are not 55h AAh.
    KeyBytes,
    /// The sixteen words do not sum to zero.
    Checksum,
}

impl fmt::Display for CatalogFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CatalogFault::HeaderId => "header id is not 1",
            CatalogFault::KeyBytes => "no 55 AA key bytes",
            CatalogFault::Checksum => "checksum",
        })
    }
}

impl fmt::Display for ElToritoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElToritoError::NotIso => {
                f.write_str("the image is not an ISO 9660 CD (no volume descriptor at sector 16)")
            }
            ElToritoError::NoBootRecord => f.write_str("the ISO has no El Torito boot record"),
            ElToritoError::CatalogOutOfRange { sector } => {
                write!(f, "the boot catalog at sector {sector} is outside the image")
            }
            ElToritoError::CorruptValidationEntry(fault) => {
                write!(f, "the boot catalog's validation entry is corrupt ({fault})")
            }
            ElToritoError::NoX86Entry { platform } => write!(
                f,
                "the boot catalog has no x86 BIOS entry (its platform is {platform:02X}h)"
            ),
            ElToritoError::NotBootable => f.write_str("the default boot entry is not bootable"),
            ElToritoError::UnsupportedMedia(media) => {
                write!(f, "unsupported boot media type {media}")
            }
            ElToritoError::ImageOutOfRange => {
                f.write_str("the boot image runs past the end of the ISO")
            }
            ElToritoError::NoPartitionTable => f.write_str(
                "the hard-disk boot image has no usable partition table to take its geometry from",
            ),
            ElToritoError::TooLargeForMemory {
                load_segment,
                bytes,
            } => write!(
                f,
                "the boot image ({bytes} bytes at segment {load_segment:04X}h) does not fit below 640 KiB"
            ),
        }
    }
}

/// Finds the image the BIOS boots from `cd`: the boot record (2.0) in the
/// volume descriptor set, its catalog's validation entry (2.1), then the
/// Initial/Default Entry (2.2), or, when that is not bootable, the first
/// bootable x86 section entry (2.3, 2.4). Checks that the image lies inside
/// the CD and that its initial load fits in conventional memory.
pub fn find_boot_image(cd: &dyn BlockBackend) -> Result<BootImage, ElToritoError> {
    let catalog_sector = descriptor::find_boot_catalog(cd)?;
    let catalog = catalog::read_catalog(cd, catalog_sector)?;
    let entry = catalog::select_entry(&catalog)?;

    let load_segment = match entry.load_segment {
        0 => DEFAULT_LOAD_SEGMENT,
        segment => segment,
    };
    let floppy = |geometry: Chs| BootMedia::Floppy {
        size: geometry.size(),
        geometry,
    };
    let media = match entry.media_type {
        catalog::MEDIA_NO_EMULATION => BootMedia::NoEmulation,
        catalog::MEDIA_FLOPPY_1M2 => floppy(Chs::FLOPPY_1M2),
        catalog::MEDIA_FLOPPY_1M44 => floppy(Chs::FLOPPY_1M44),
        catalog::MEDIA_FLOPPY_2M88 => floppy(Chs::FLOPPY_2M88),
        catalog::MEDIA_HARD_DISK => {
            let geometry = hard_disk::read_geometry(cd, entry.load_rba)?;
            BootMedia::HardDisk {
                size: geometry.size(),
                geometry,
            }
        }
        other => return Err(ElToritoError::UnsupportedMedia(other)),
    };
    let image = BootImage {
        media,
        load_segment,
        sector_count: entry.sector_count,
        load_rba: entry.load_rba,
    };
    image.check(cd.len())?;
    Ok(image)
}

/// The bytes the BIOS places at `image.load_segment:0000` before jumping
/// there (3.0): [`BootImage::load_len`] bytes from the image's start. Named
/// for the no-emulation case, where it is the whole boot program; with
/// emulation it is the emulated drive's first sector(s), the same bytes a
/// read through [`CdWindow`] returns.
///
/// At most 640 KiB is allocated: a load that would not fit below
/// [`CONVENTIONAL_MEMORY_END`] is refused before anything is read.
pub fn load_no_emulation(
    cd: &dyn BlockBackend,
    image: &BootImage,
) -> Result<Vec<u8>, ElToritoError> {
    image.check(cd.len())?;
    // `check` bounded the length by 640 KiB, so the cast cannot truncate.
    let mut bytes = vec![0u8; image.load_len() as usize];
    cd.read_at(image.image_offset(), &mut bytes)
        .map_err(|_| ElToritoError::ImageOutOfRange)?;
    Ok(bytes)
}
