//! IDENTIFY DEVICE data of a hard disk (ATA/ATAPI-6 8.15, table 27), and the
//! selected DMA mode as IDENTIFY DEVICE and IDENTIFY PACKET DEVICE both report
//! it in words 63 and 88.

use super::media::{Disk, DEFAULT_HEADS, DEFAULT_SPT, MAX_MULTIPLE};
use super::transfer::DmaMode;
use crate::atapi::{set_integrity_word, IDENTIFY_WORD_MWDMA, IDENTIFY_WORD_UDMA};
use alloc::vec::Vec;

/// Largest 28-bit LBA capacity reported in IDENTIFY words 60-61.
const MAX_LBA28: u64 = 0x0FFF_FFFF;
/// Largest cylinder count reported in IDENTIFY word 1.
const MAX_CYLINDERS: u64 = 16383;

// IDENTIFY DEVICE words (ATA-6 table 27).
/// Word 0 bit 6: not removable controller/device (fixed disk).
pub(super) const ID0_FIXED: u16 = 1 << 6;
/// IDENTIFY PACKET DEVICE word 0 bits 6:5: how the device asks for the packet.
pub(super) const ID0_DRQ_TYPE_MASK: u16 = 0x0060;
/// Word 0 bits 6:5 = 01b: INTRQ is asserted with DRQ for the command packet.
pub(super) const ID0_DRQ_TYPE_INTRQ: u16 = 0x0020;
/// Word 47 bits 15:8: shall be 80h.
pub(super) const ID47_SIGNATURE: u16 = 0x8000;
/// Word 49 bit 8: DMA supported.
pub(super) const ID49_DMA: u16 = 1 << 8;
/// Word 49 bit 9: LBA supported.
pub(super) const ID49_LBA: u16 = 1 << 9;
/// Word 49 bit 10: IORDY may be disabled.
pub(super) const ID49_IORDY_DISABLE: u16 = 1 << 10;
/// Word 49 bit 11: IORDY supported.
pub(super) const ID49_IORDY: u16 = 1 << 11;
/// Words 50, 84, 87 bit 14: shall be one.
pub(super) const ID_WORD_VALID: u16 = 1 << 14;
/// Word 51 bits 15:8: obsolete PIO data transfer cycle timing mode (2).
pub(super) const ID51_PIO_MODE_2: u16 = 0x0200;
/// Words 63/88 bits 7:0: the DMA modes supported.
pub(super) const ID_DMA_SUPPORTED_MASK: u16 = 0x00FF;
/// Words 63/88 bit 8 + n: DMA mode n is selected.
pub(super) const ID_DMA_SELECTED: u16 = 0x0100;
/// Word 53 bit 0: words 54-58 valid.
pub(super) const ID53_CHS_VALID: u16 = 1 << 0;
/// Word 53 bit 1: words 64-70 valid.
pub(super) const ID53_PIO_VALID: u16 = 1 << 1;
/// Word 53 bit 2: word 88 valid.
pub(super) const ID53_UDMA_VALID: u16 = 1 << 2;
/// Word 59 bit 8: the multiple sector setting is valid.
pub(super) const ID59_MULTIPLE_VALID: u16 = 1 << 8;
/// Word 63 bits 2:0: multiword DMA modes 0-2 supported.
pub(super) const ID63_MWDMA_SUPPORTED: u16 = 0x0007;
/// Word 64 bits 1:0: PIO modes 3 and 4 supported.
pub(super) const ID64_PIO_3_4: u16 = 0x0003;
/// Words 65-68: cycle times in ns (the fastest multiword DMA and PIO modes).
pub(super) const ID_CYCLE_TIME_NS: u16 = 120;
/// Word 80: major version, ATA-1 through ATA/ATAPI-6 (bits 1-6).
pub(super) const ID80_ATA6: u16 = 0x007E;
/// Word 82 bit 3: power management feature set supported.
pub(super) const ID82_POWER_MANAGEMENT: u16 = 1 << 3;
/// Word 82/85 bit 5: write cache supported/enabled.
pub(super) const ID82_WRITE_CACHE: u16 = 1 << 5;
/// Word 83/86 bit 10: 48-bit Address feature set supported/enabled.
pub(super) const ID83_LBA48: u16 = 1 << 10;
/// Word 83/86 bit 12: FLUSH CACHE supported.
pub(super) const ID83_FLUSH_CACHE: u16 = 1 << 12;
/// Word 83/86 bit 13: FLUSH CACHE EXT supported.
pub(super) const ID83_FLUSH_CACHE_EXT: u16 = 1 << 13;
/// Word 88 bits 5:0: Ultra DMA modes 0-5 supported.
pub(super) const ID88_UDMA_SUPPORTED: u16 = 0x003F;
/// Word 93 bit 13: CBLID- above ViH (80-conductor cable).
pub(super) const ID93_CBLID: u16 = 1 << 13;
/// Word 93 bits 0-3 for device 0: bit 0 one, jumper-selected, diagnostics passed.
pub(super) const ID93_DEVICE0: u16 = 0x000B;
/// Word 93 bits 8-9 for device 1: bit 8 one, jumper-selected.
pub(super) const ID93_DEVICE1: u16 = 0x0300;

/// Writes `s` as an ATA string into `words` (first character in the high byte),
/// padded with spaces.
fn put_ata_string(words: &mut [u16], s: &[u8]) {
    for (i, w) in words.iter_mut().enumerate() {
        let hi = s.get(2 * i).copied().unwrap_or(b' ');
        let lo = s.get(2 * i + 1).copied().unwrap_or(b' ');
        *w = u16::from_be_bytes([hi, lo]);
    }
}

/// IDENTIFY data as the Data register delivers it: each word low byte first.
pub(super) fn words_to_bytes(words: &[u16; 256]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Words 63 and 88 with the DMA mode `selected` in bits 10:8 / 13:8.
pub(super) fn dma_mode_words(selected: DmaMode, w63: u16, w88: u16) -> (u16, u16) {
    let (mut w63, mut w88) = (w63 & ID_DMA_SUPPORTED_MASK, w88 & ID_DMA_SUPPORTED_MASK);
    match selected {
        DmaMode::Multiword(m) if w63 & (1 << m) != 0 => w63 |= ID_DMA_SELECTED << m,
        DmaMode::Ultra(m) if w88 & (1 << m) != 0 => w88 |= ID_DMA_SELECTED << m,
        _ => {}
    }
    (w63, w88)
}

/// IDENTIFY DEVICE data of disk `d` (ATA-6 table 27) as device 1 if
/// `slave`, with the DMA mode `dma_mode` selected.
pub(super) fn identify_disk(d: &Disk, dma_mode: DmaMode, slave: bool) -> [u16; 256] {
    let mut w = [0u16; 256];
    let total = d.sectors;
    let cylinders =
        (total / (u64::from(DEFAULT_HEADS) * u64::from(DEFAULT_SPT))).min(MAX_CYLINDERS);
    let chs_per_cyl = u64::from(d.heads) * u64::from(d.sectors_per_track);
    let cur_cylinders = (total / chs_per_cyl.max(1)).min(0xFFFF);
    let cur_capacity = (cur_cylinders * chs_per_cyl).min(u64::from(u32::MAX)) as u32;
    let lba28 = total.min(MAX_LBA28) as u32;
    w[0] = ID0_FIXED;
    w[1] = cylinders as u16;
    w[3] = u16::from(DEFAULT_HEADS);
    w[6] = u16::from(DEFAULT_SPT);
    put_ata_string(&mut w[10..20], &d.serial);
    put_ata_string(&mut w[23..27], b"1.0");
    put_ata_string(&mut w[27..47], b"VMM HARDDISK");
    w[47] = ID47_SIGNATURE | u16::from(MAX_MULTIPLE);
    w[49] = ID49_DMA | ID49_LBA | ID49_IORDY | ID49_IORDY_DISABLE;
    w[50] = ID_WORD_VALID;
    w[51] = ID51_PIO_MODE_2;
    w[53] = ID53_CHS_VALID | ID53_PIO_VALID | ID53_UDMA_VALID;
    w[54] = cur_cylinders as u16;
    w[55] = u16::from(d.heads);
    w[56] = u16::from(d.sectors_per_track);
    w[57] = cur_capacity as u16;
    w[58] = (cur_capacity >> 16) as u16;
    w[59] = ID59_MULTIPLE_VALID | u16::from(d.multiple);
    w[60] = lba28 as u16;
    w[61] = (lba28 >> 16) as u16;
    w[64] = ID64_PIO_3_4;
    w[65] = ID_CYCLE_TIME_NS;
    w[66] = ID_CYCLE_TIME_NS;
    w[67] = ID_CYCLE_TIME_NS;
    w[68] = ID_CYCLE_TIME_NS;
    w[80] = ID80_ATA6;
    w[82] = ID82_POWER_MANAGEMENT | ID82_WRITE_CACHE;
    w[83] = ID_WORD_VALID | ID83_LBA48 | ID83_FLUSH_CACHE | ID83_FLUSH_CACHE_EXT;
    w[84] = ID_WORD_VALID;
    w[85] = ID82_POWER_MANAGEMENT | if d.write_cache { ID82_WRITE_CACHE } else { 0 };
    w[86] = ID83_LBA48 | ID83_FLUSH_CACHE | ID83_FLUSH_CACHE_EXT;
    w[87] = ID_WORD_VALID;
    (w[IDENTIFY_WORD_MWDMA], w[IDENTIFY_WORD_UDMA]) =
        dma_mode_words(dma_mode, ID63_MWDMA_SUPPORTED, ID88_UDMA_SUPPORTED);
    w[93] = ID_WORD_VALID | ID93_CBLID | if slave { ID93_DEVICE1 } else { ID93_DEVICE0 };
    w[100] = total as u16;
    w[101] = (total >> 16) as u16;
    w[102] = (total >> 32) as u16;
    w[103] = (total >> 48) as u16;
    set_integrity_word(&mut w);
    w
}
