//! The volume descriptor set and the El Torito Boot Record in it.
//!
//! ECMA-119 2nd edition, 8.1 "Format of a Volume Descriptor": each descriptor
//! fills one 2048-byte sector from logical sector 16 on, and starts with its
//! type, the standard identifier "CD001" and its version; 8.3: type 255
//! ends the set. El Torito 1.0, 2.0 "Boot Record Volume Descriptor": a
//! type-0 descriptor whose boot system identifier is "EL TORITO
//! SPECIFICATION" (padded with zeros) and whose boot system use area starts
//! with the little-endian sector number of the boot catalog.

use block_backend::BlockBackend;

use super::{ElToritoError, CD_SECTOR_SIZE};

/// The first sector of the volume descriptor set (ECMA-119: sectors 0-15 are
/// the System Area).
pub const VOLUME_DESCRIPTOR_SET_START: u32 = 16;
/// How many descriptors are examined before giving up. A CD has a primary,
/// a boot record, perhaps one or two supplementary (Joliet) descriptors and
/// the terminator; 32 bounds the reads on a set with no terminator.
pub const MAX_VOLUME_DESCRIPTORS: u32 = 32;

/// Offset of the Volume Descriptor Type (ECMA-119 8.1.1).
pub const VD_TYPE: usize = 0x00;
/// Offset of the Standard Identifier "CD001" (ECMA-119 8.1.2).
pub const VD_STANDARD_IDENTIFIER: usize = 0x01;
/// Offset of the Volume Descriptor Version (ECMA-119 8.1.3).
pub const VD_VERSION: usize = 0x06;
/// The Standard Identifier every descriptor carries.
pub const STANDARD_IDENTIFIER: &[u8; 5] = b"CD001";

/// Volume Descriptor Type of a Boot Record (ECMA-119 8.2; El Torito 2.0
/// "Boot Record Indicator, must be 0").
pub const VD_TYPE_BOOT_RECORD: u8 = 0;
/// Volume Descriptor Type of the Volume Descriptor Set Terminator (8.3).
pub const VD_TYPE_TERMINATOR: u8 = 255;
/// The descriptor version of a boot record (El Torito 2.0: "must be 1").
pub const BOOT_RECORD_VERSION: u8 = 1;

/// Offset of the Boot System Identifier, 20h bytes (El Torito 2.0, 07h-26h).
pub const BOOT_SYSTEM_IDENTIFIER: usize = 0x07;
/// Its value: "EL TORITO SPECIFICATION" padded to 32 bytes with zeros.
pub const EL_TORITO_IDENTIFIER: &[u8; 32] = b"EL TORITO SPECIFICATION\0\0\0\0\0\0\0\0\0";
/// Offset of the absolute sector number of the boot catalog, a
/// little-endian dword (El Torito 2.0, 47h-4Ah).
pub const BOOT_CATALOG_POINTER: usize = 0x47;
/// Bytes of a descriptor this module reads: up to the catalog pointer's end.
const DESCRIPTOR_PREFIX: usize = BOOT_CATALOG_POINTER + 4;

/// The sector of the boot catalog, from the first El Torito boot record in
/// the volume descriptor set.
///
/// A missing or unreadable sector 16 means the medium is no ISO 9660 image;
/// an unreadable or foreign sector later in the set ends the search as the
/// terminator does.
pub fn find_boot_catalog(cd: &dyn BlockBackend) -> Result<u32, ElToritoError> {
    for index in 0..MAX_VOLUME_DESCRIPTORS {
        let sector = VOLUME_DESCRIPTOR_SET_START + index;
        let mut d = [0u8; DESCRIPTOR_PREFIX];
        let readable = cd
            .read_at(u64::from(sector) * CD_SECTOR_SIZE, &mut d)
            .is_ok();
        let is_descriptor = readable
            && &d[VD_STANDARD_IDENTIFIER..VD_STANDARD_IDENTIFIER + STANDARD_IDENTIFIER.len()]
                == STANDARD_IDENTIFIER;
        if !is_descriptor {
            return Err(if index == 0 {
                ElToritoError::NotIso
            } else {
                ElToritoError::NoBootRecord
            });
        }
        match d[VD_TYPE] {
            VD_TYPE_TERMINATOR => break,
            VD_TYPE_BOOT_RECORD if is_el_torito(&d) => {
                let mut pointer = [0u8; 4];
                pointer.copy_from_slice(&d[BOOT_CATALOG_POINTER..DESCRIPTOR_PREFIX]);
                return Ok(u32::from_le_bytes(pointer));
            }
            // Primary, supplementary, partition descriptors and boot
            // records of other boot systems.
            _ => {}
        }
    }
    Err(ElToritoError::NoBootRecord)
}

/// True for a boot record of version 1 naming the El Torito boot system.
fn is_el_torito(d: &[u8; DESCRIPTOR_PREFIX]) -> bool {
    d[VD_VERSION] == BOOT_RECORD_VERSION
        && &d[BOOT_SYSTEM_IDENTIFIER..BOOT_SYSTEM_IDENTIFIER + EL_TORITO_IDENTIFIER.len()]
            == EL_TORITO_IDENTIFIER
}
