//! The boot catalog: 32-byte entries in the sector the boot record points at.
//!
//! El Torito 1.0: 2.1 "Validation Entry" (always first), 2.2 "Initial/Default
//! Entry" (always second), then optional sections, each a 2.3 "Section Header
//! Entry" followed by its 2.4 "Section Entries", each of which may be followed
//! by 2.5 "Section Entry Extensions".

use alloc::vec::Vec;

use block_backend::BlockBackend;

use super::{CatalogFault, ElToritoError, CD_SECTOR_SIZE};

/// Bytes in every catalog entry.
pub const ENTRY_SIZE: usize = 0x20;
/// How many catalog sectors are read when sections follow the default entry:
/// one sector holds 64 entries, plenty for the handful of images real CDs
/// carry (ISOLINUX plus EFI); further sectors are read only while they exist.
pub const MAX_CATALOG_SECTORS: u32 = 4;

// 2.1 Validation Entry.
/// Offset of the Header ID.
pub const VALIDATION_HEADER_ID: usize = 0x00;
/// The Header ID of a validation entry ("must be 01").
pub const HEADER_ID_VALIDATION: u8 = 0x01;
/// Offset of the Platform ID (also in a section header, 2.3).
pub const PLATFORM_ID: usize = 0x01;
/// Offset of the Checksum Word: the sixteen little-endian words of the entry
/// sum to zero.
pub const VALIDATION_CHECKSUM: usize = 0x1C;
/// Offset of the first key byte, which must be 55h.
pub const VALIDATION_KEY_55: usize = 0x1E;
/// Offset of the second key byte, which must be AAh.
pub const VALIDATION_KEY_AA: usize = 0x1F;
pub const KEY_55: u8 = 0x55;
pub const KEY_AA: u8 = 0xAA;

/// Platform ID 0: 80x86, the only platform this BIOS boots.
pub const PLATFORM_X86: u8 = 0x00;
/// Platform ID 1: PowerPC.
pub const PLATFORM_POWERPC: u8 = 0x01;
/// Platform ID 2: Mac.
pub const PLATFORM_MAC: u8 = 0x02;
/// Platform ID EFh: EFI (added by the UEFI specification, not El Torito 1.0).
pub const PLATFORM_EFI: u8 = 0xEF;

// 2.2 Initial/Default Entry and 2.4 Section Entry (same layout up to 0Bh).
/// Offset of the Boot Indicator.
pub const BOOT_INDICATOR: usize = 0x00;
/// Boot Indicator 88h: bootable.
pub const BOOTABLE: u8 = 0x88;
/// Boot Indicator 00h: not bootable.
pub const NOT_BOOTABLE: u8 = 0x00;
/// Offset of the Boot Media Type.
pub const BOOT_MEDIA_TYPE: usize = 0x01;
/// Bits 0-3 of the Boot Media Type: the media type proper (2.4; the default
/// entry defines only values 0-4 of the whole byte, so masking is harmless).
pub const MEDIA_TYPE_MASK: u8 = 0x0F;
/// Bit 5 of a section entry's Boot Media Type: an extension entry follows.
pub const MEDIA_CONTINUATION: u8 = 1 << 5;
/// Media type 0: no emulation.
pub const MEDIA_NO_EMULATION: u8 = 0;
/// Media type 1: 1.2 MB diskette.
pub const MEDIA_FLOPPY_1M2: u8 = 1;
/// Media type 2: 1.44 MB diskette.
pub const MEDIA_FLOPPY_1M44: u8 = 2;
/// Media type 3: 2.88 MB diskette.
pub const MEDIA_FLOPPY_2M88: u8 = 3;
/// Media type 4: hard disk (drive 80h).
pub const MEDIA_HARD_DISK: u8 = 4;
/// Offset of the Load Segment word (0 means 07C0h).
pub const LOAD_SEGMENT: usize = 0x02;
/// Offset of the System Type: byte 5 of the image's partition table entry.
pub const SYSTEM_TYPE: usize = 0x04;
/// Offset of the Sector Count word: 512-byte virtual sectors to load.
pub const SECTOR_COUNT: usize = 0x06;
/// Offset of the Load RBA dword: the CD sector where the image starts.
pub const LOAD_RBA: usize = 0x08;

// 2.3 Section Header Entry.
/// Header Indicator 90h: a section header with more headers after it.
pub const HEADER_MORE: u8 = 0x90;
/// Header Indicator 91h: the final section header.
pub const HEADER_FINAL: u8 = 0x91;
/// Offset of the number of section entries following the header (word).
pub const SECTION_ENTRY_COUNT: usize = 0x02;

// 2.5 Section Entry Extension.
/// Extension Indicator 44h.
pub const EXTENSION_INDICATOR: u8 = 0x44;

/// One decoded Initial/Default or Section Entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Boot Indicator is 88h.
    pub bootable: bool,
    /// Boot Media Type, bits 0-3.
    pub media_type: u8,
    /// Load Segment as recorded (0 not yet replaced by 07C0h).
    pub load_segment: u16,
    pub system_type: u8,
    pub sector_count: u16,
    pub load_rba: u32,
}

impl Entry {
    /// Decodes a 32-byte Initial/Default or Section Entry.
    pub fn parse(e: &[u8; ENTRY_SIZE]) -> Self {
        Self {
            bootable: e[BOOT_INDICATOR] == BOOTABLE,
            media_type: e[BOOT_MEDIA_TYPE] & MEDIA_TYPE_MASK,
            load_segment: u16::from_le_bytes([e[LOAD_SEGMENT], e[LOAD_SEGMENT + 1]]),
            system_type: e[SYSTEM_TYPE],
            sector_count: u16::from_le_bytes([e[SECTOR_COUNT], e[SECTOR_COUNT + 1]]),
            load_rba: u32::from_le_bytes([
                e[LOAD_RBA],
                e[LOAD_RBA + 1],
                e[LOAD_RBA + 2],
                e[LOAD_RBA + 3],
            ]),
        }
    }
}

/// Reads the catalog starting at `sector`: the first sector must lie inside
/// the image; up to [`MAX_CATALOG_SECTORS`] - 1 following sectors are added
/// while they can be read.
pub fn read_catalog(cd: &dyn BlockBackend, sector: u32) -> Result<Vec<u8>, ElToritoError> {
    let mut catalog = Vec::new();
    for index in 0..MAX_CATALOG_SECTORS {
        let mut buf = [0u8; CD_SECTOR_SIZE as usize];
        let offset = (u64::from(sector) + u64::from(index)) * CD_SECTOR_SIZE;
        if cd.read_at(offset, &mut buf).is_err() {
            if index == 0 {
                return Err(ElToritoError::CatalogOutOfRange { sector });
            }
            break;
        }
        catalog.extend_from_slice(&buf);
    }
    Ok(catalog)
}

/// The catalog's `index`th 32-byte entry, if the catalog holds it.
fn entry(catalog: &[u8], index: usize) -> Option<&[u8; ENTRY_SIZE]> {
    let start = index.checked_mul(ENTRY_SIZE)?;
    catalog
        .get(start..start.checked_add(ENTRY_SIZE)?)?
        .try_into()
        .ok()
}

/// Checks the validation entry (2.1) and returns its Platform ID.
pub fn check_validation_entry(v: &[u8; ENTRY_SIZE]) -> Result<u8, CatalogFault> {
    if v[VALIDATION_HEADER_ID] != HEADER_ID_VALIDATION {
        return Err(CatalogFault::HeaderId);
    }
    if v[VALIDATION_KEY_55] != KEY_55 || v[VALIDATION_KEY_AA] != KEY_AA {
        return Err(CatalogFault::KeyBytes);
    }
    let sum = v.chunks_exact(2).fold(0u16, |sum, w| {
        sum.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    if sum != 0 {
        return Err(CatalogFault::Checksum);
    }
    Ok(v[PLATFORM_ID])
}

/// The entry an x86 BIOS boots: the Initial/Default Entry when the
/// validation entry is for x86 and the default is bootable, else the first
/// bootable section entry (2.4) of an x86 section with a media type this
/// BIOS supports.
pub fn select_entry(catalog: &[u8]) -> Result<Entry, ElToritoError> {
    let validation = entry(catalog, 0).ok_or(ElToritoError::CorruptValidationEntry(
        CatalogFault::HeaderId,
    ))?;
    let platform =
        check_validation_entry(validation).map_err(ElToritoError::CorruptValidationEntry)?;
    // The catalog is at least one sector, so the default entry is present.
    let default = entry(catalog, 1)
        .map(Entry::parse)
        .ok_or(ElToritoError::NotBootable)?;
    if platform == PLATFORM_X86 && default.bootable {
        return Ok(default);
    }
    if let Some(section_entry) = first_x86_section_entry(catalog) {
        return Ok(section_entry);
    }
    Err(if platform != PLATFORM_X86 {
        ElToritoError::NoX86Entry { platform }
    } else {
        ElToritoError::NotBootable
    })
}

/// Walks the sections after the default entry (2.3-2.5) and returns the
/// first bootable x86 section entry with a supported media type.
fn first_x86_section_entry(catalog: &[u8]) -> Option<Entry> {
    let mut index = 2;
    loop {
        let header = entry(catalog, index)?;
        let final_header = match header[BOOT_INDICATOR] {
            HEADER_MORE => false,
            HEADER_FINAL => true,
            _ => return None,
        };
        let platform = header[PLATFORM_ID];
        let count =
            u16::from_le_bytes([header[SECTION_ENTRY_COUNT], header[SECTION_ENTRY_COUNT + 1]]);
        index += 1;
        for _ in 0..count {
            let e = Entry::parse(entry(catalog, index)?);
            if platform == PLATFORM_X86 && e.bootable && e.media_type <= MEDIA_HARD_DISK {
                return Some(e);
            }
            index += 1;
            // Extensions (2.5) carry selection criteria only; skip them.
            while entry(catalog, index)?[BOOT_INDICATOR] == EXTENSION_INDICATOR {
                index += 1;
            }
        }
        if final_header {
            return None;
        }
    }
}
