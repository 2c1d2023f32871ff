//! A builder for small ISO images written by hand, sector by sector (a
//! primary volume descriptor at 16, the boot record at 17, the terminator at
//! 18, the catalog at 19, the boot image from 20), for the El Torito and BIOS
//! boot tests.

use alloc::vec;
use alloc::vec::Vec;

use block_backend::MemoryBlock;

use super::descriptor::{EL_TORITO_IDENTIFIER, VD_TYPE_BOOT_RECORD, VD_TYPE_TERMINATOR};
use super::CD_SECTOR_SIZE;

pub(crate) const SECTOR: usize = CD_SECTOR_SIZE as usize;
pub(crate) const VD_TYPE_PRIMARY: u8 = 1;
pub(crate) const CATALOG_SECTOR: u32 = 19;
pub(crate) const IMAGE_SECTOR: u32 = 20;

/// An ISO image under construction.
pub(crate) struct Iso(pub(crate) Vec<u8>);

impl Iso {
    /// `sectors` zeroed sectors.
    pub(crate) fn blank(sectors: usize) -> Self {
        Iso(vec![0; sectors * SECTOR])
    }

    /// The usual layout with the catalog's validation entry for `platform`
    /// and `default` as its Initial/Default Entry, `image_sectors` sectors
    /// of image from sector 20 filled with a recognisable pattern.
    pub(crate) fn standard(platform: u8, default: [u8; 32], image_sectors: usize) -> Self {
        let mut iso = Iso::blank(IMAGE_SECTOR as usize + image_sectors);
        iso.descriptor(16, VD_TYPE_PRIMARY);
        iso.boot_record(17, CATALOG_SECTOR);
        iso.descriptor(18, VD_TYPE_TERMINATOR);
        iso.catalog_entry(0, validation_entry(platform));
        iso.catalog_entry(1, default);
        for (i, b) in iso.0[IMAGE_SECTOR as usize * SECTOR..]
            .iter_mut()
            .enumerate()
        {
            *b = pattern(i);
        }
        iso
    }

    pub(crate) fn descriptor(&mut self, sector: usize, vd_type: u8) {
        let d = &mut self.0[sector * SECTOR..];
        d[0] = vd_type;
        d[1..6].copy_from_slice(b"CD001");
        d[6] = 1;
    }

    pub(crate) fn boot_record(&mut self, sector: usize, catalog: u32) {
        self.descriptor(sector, VD_TYPE_BOOT_RECORD);
        let d = &mut self.0[sector * SECTOR..];
        d[0x07..0x27].copy_from_slice(EL_TORITO_IDENTIFIER);
        d[0x47..0x4B].copy_from_slice(&catalog.to_le_bytes());
    }

    pub(crate) fn catalog_entry(&mut self, index: usize, e: [u8; 32]) {
        let at = CATALOG_SECTOR as usize * SECTOR + index * 32;
        self.0[at..at + 32].copy_from_slice(&e);
    }

    /// Writes `bytes` at byte `offset` of the boot image.
    pub(crate) fn image_bytes(&mut self, offset: usize, bytes: &[u8]) {
        let at = IMAGE_SECTOR as usize * SECTOR + offset;
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }

    pub(crate) fn truncate(mut self, len: usize) -> Self {
        self.0.truncate(len);
        self
    }

    pub(crate) fn medium(self) -> MemoryBlock {
        MemoryBlock::new(self.0, true)
    }
}

/// Byte `i` of a boot image: not periodic in 512 or 2048.
pub(crate) fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// A validation entry with a correct checksum.
pub(crate) fn validation_entry(platform: u8) -> [u8; 32] {
    let mut v = [0u8; 32];
    v[0] = 0x01;
    v[1] = platform;
    v[4..12].copy_from_slice(b"TESTCASE");
    v[0x1E] = 0x55;
    v[0x1F] = 0xAA;
    let sum = v.chunks_exact(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    v[0x1C..0x1E].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    v
}

/// An Initial/Default or Section Entry.
pub(crate) fn boot_entry(indicator: u8, media: u8, segment: u16, count: u16, rba: u32) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[0] = indicator;
    e[1] = media;
    e[2..4].copy_from_slice(&segment.to_le_bytes());
    e[6..8].copy_from_slice(&count.to_le_bytes());
    e[8..12].copy_from_slice(&rba.to_le_bytes());
    e
}

pub(crate) fn section_header(indicator: u8, platform: u8, count: u16) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[0] = indicator;
    h[1] = platform;
    h[2..4].copy_from_slice(&count.to_le_bytes());
    h
}

/// An MBR whose first partition ends at cylinder `c`, head `h`, sector `s`.
pub(crate) fn mbr(c: u16, h: u8, s: u8) -> [u8; 512] {
    let mut m = [0u8; 512];
    let e = 0x1BE;
    m[e] = 0x80;
    m[e + 1..e + 4].copy_from_slice(&[1, 1, 0]);
    m[e + 4] = 0x06; // FAT16
    m[e + 5] = h;
    m[e + 6] = s | ((c >> 2) as u8 & 0xC0);
    m[e + 7] = c as u8;
    m[0x1FE] = 0x55;
    m[0x1FF] = 0xAA;
    m
}
