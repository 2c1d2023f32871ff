//! IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 8.16, table 29).

use super::{AtapiDrive, SERIAL_NUMBER};

/// Word 0 bits 15-14 = 10b: ATAPI device.
pub(super) const GEN_CONFIG_ATAPI: u16 = 0b10 << 14;
/// Word 0 bits 12-8 = 05h: command packet set of a CD-ROM device.
pub(super) const GEN_CONFIG_CD_ROM: u16 = 0x05 << 8;
/// Word 0 bit 7: removable media device.
pub(super) const GEN_CONFIG_REMOVABLE: u16 = 1 << 7;
/// Word 0 bits 6-5 = 10b: DRQ within 50 us of PACKET (accelerated DRQ).
pub(super) const GEN_CONFIG_DRQ_ACCELERATED: u16 = 0b10 << 5;
/// Word 0 bits 1-0 = 00b: 12-byte command packets.
pub(super) const GEN_CONFIG_PACKET_12_BYTES: u16 = 0b00;
/// Word 49 bit 11: IORDY supported.
pub(super) const CAP_IORDY: u16 = 1 << 11;
/// Word 49 bit 9: LBA supported (shall be one).
pub(super) const CAP_LBA: u16 = 1 << 9;
/// Word 49 bit 8: DMA supported.
pub(super) const CAP_DMA: u16 = 1 << 8;
/// Words 50, 83, 84, 87, 93: bit 14 shall be one, bit 15 zero.
pub(super) const WORD_VALID: u16 = 1 << 14;
/// Word 53 bit 1: words 64-70 are valid.
pub(super) const FIELD_VALID_64_70: u16 = 1 << 1;
/// Word 53 bit 2: word 88 is valid.
pub(super) const FIELD_VALID_88: u16 = 1 << 2;
/// Word 63 bits 2-0: multiword DMA modes 0, 1 and 2 supported.
pub(super) const MWDMA_0_1_2: u16 = 0x0007;
/// Word 64 bits 1-0: PIO modes 3 and 4 supported.
pub(super) const PIO_3_4: u16 = 0x0003;
/// Words 65-68: cycle times in ns for MWDMA2 and PIO4.
pub(super) const CYCLE_TIME_NS: u16 = 120;
/// Word 80 bits 6-4: supports ATA/ATAPI-4, -5 and -6.
pub(super) const MAJOR_ATAPI_4_5_6: u16 = (1 << 6) | (1 << 5) | (1 << 4);
/// Words 82/85 bit 4: PACKET command feature set.
pub(super) const CMDSET_PACKET: u16 = 1 << 4;
/// Words 82/85 bit 9: DEVICE RESET command.
pub(super) const CMDSET_DEVICE_RESET: u16 = 1 << 9;
/// Word 88 bits 5-0: Ultra DMA modes 0-5 supported.
pub(super) const UDMA_0_TO_5: u16 = 0x003F;
/// Word 93 bit 13: CBLID- above V_IH (an 80-conductor cable).
pub(super) const RESET_CBLID: u16 = 1 << 13;
/// Word 93 bit 0: shall be one for device 0.
pub(super) const RESET_DEVICE0: u16 = 1 << 0;
/// Word 255 bits 7-0: integrity word signature A5h.
pub(super) const INTEGRITY_SIGNATURE: u16 = 0xA5;

/// Word index of the multiword DMA modes (bits 10-8: the selected mode).
pub const IDENTIFY_WORD_MWDMA: usize = 63;
/// Word index of the Ultra DMA modes (bits 14-8: the selected mode).
pub const IDENTIFY_WORD_UDMA: usize = 88;
/// Word index of the integrity word (checksum in bits 15-8).
pub const IDENTIFY_WORD_INTEGRITY: usize = 255;

/// Firmware revision, in IDENTIFY words 23-26.
pub(super) const FIRMWARE_REVISION: &[u8] = b"1.0";
/// Model number, in IDENTIFY words 27-46.
pub(super) const MODEL_NUMBER: &[u8] = b"VMM VIRTUAL ATAPI CD-ROM";

impl AtapiDrive {
    /// IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 8.16), 256 words. Words 63 and
    /// 88 list the supported DMA modes with no mode selected; the IDE layer
    /// sets the selected-mode bits (and recomputes word 255) after SET
    /// FEATURES. Word 93 describes device 0.
    pub fn identify_packet_data(&self) -> [u16; 256] {
        let mut w = [0u16; 256];
        w[0] = GEN_CONFIG_ATAPI
            | GEN_CONFIG_CD_ROM
            | GEN_CONFIG_REMOVABLE
            | GEN_CONFIG_DRQ_ACCELERATED
            | GEN_CONFIG_PACKET_12_BYTES;
        ata_string(&mut w[10..20], SERIAL_NUMBER);
        ata_string(&mut w[23..27], FIRMWARE_REVISION);
        ata_string(&mut w[27..47], MODEL_NUMBER);
        w[49] = CAP_IORDY | CAP_LBA | CAP_DMA;
        w[50] = WORD_VALID;
        w[53] = FIELD_VALID_64_70 | FIELD_VALID_88;
        w[IDENTIFY_WORD_MWDMA] = MWDMA_0_1_2;
        w[64] = PIO_3_4;
        w[65] = CYCLE_TIME_NS; // minimum MWDMA cycle time per word
        w[66] = CYCLE_TIME_NS; // recommended MWDMA cycle time
        w[67] = CYCLE_TIME_NS; // minimum PIO cycle time without flow control
        w[68] = CYCLE_TIME_NS; // minimum PIO cycle time with IORDY
        w[80] = MAJOR_ATAPI_4_5_6;
        w[81] = 0; // minor version not reported
        w[82] = CMDSET_PACKET | CMDSET_DEVICE_RESET;
        w[83] = WORD_VALID;
        w[84] = WORD_VALID;
        w[85] = CMDSET_PACKET | CMDSET_DEVICE_RESET;
        w[87] = WORD_VALID;
        w[IDENTIFY_WORD_UDMA] = UDMA_0_TO_5;
        w[93] = WORD_VALID | RESET_CBLID | RESET_DEVICE0;
        set_integrity_word(&mut w);
        w
    }
}

/// Sets word 255: signature A5h and a checksum making the 512 bytes sum to 0.
pub fn set_integrity_word(w: &mut [u16; 256]) {
    let sum = w[..IDENTIFY_WORD_INTEGRITY]
        .iter()
        .fold(INTEGRITY_SIGNATURE as u8, |acc, &x| {
            acc.wrapping_add(x as u8).wrapping_add((x >> 8) as u8)
        });
    w[IDENTIFY_WORD_INTEGRITY] = (u16::from(sum.wrapping_neg()) << 8) | INTEGRITY_SIGNATURE;
}

/// An ATA string: two characters a word, the first in the high byte, padded
/// with spaces.
fn ata_string(words: &mut [u16], s: &[u8]) {
    for (i, w) in words.iter_mut().enumerate() {
        let hi = s.get(2 * i).copied().unwrap_or(b' ');
        let lo = s.get(2 * i + 1).copied().unwrap_or(b' ');
        *w = u16::from_be_bytes([hi, lo]);
    }
}
