//! PACKET devices (ATA/ATAPI-6 clause 9, PACKET command protocol): the ATA
//! commands an ATAPI CD-ROM accepts, receiving the command packet, sizing each
//! data-in block by the byte count limit and reporting it through the
//! Interrupt Reason, and handing the data to DMA instead. The packet commands
//! themselves run in [`crate::atapi::AtapiDrive`].

use super::device::Device;
use super::identify::{dma_mode_words, words_to_bytes};
use super::media::{Media, SECTOR_SIZE};
use super::opcodes::{
    CMD_CHECK_POWER_MODE, CMD_DEVICE_RESET, CMD_IDENTIFY_PACKET, CMD_IDLE_IMMEDIATE, CMD_PACKET,
    CMD_SET_FEATURES, CMD_STANDBY_IMMEDIATE, POWER_MODE_ACTIVE,
};
use super::registers::{
    ERROR_SENSE_KEY_SHIFT, FEATURES_DMA, FEATURES_OVL, IREASON_COD, IREASON_IO, SENSE_KEY_MASK,
    STATUS_DRQ, STATUS_ERR,
};
use super::transfer::{DmaJob, Pio, ATAPI_CHUNK_BLOCKS};
use crate::atapi::{
    set_integrity_word, PacketResult, ATAPI_BLOCK_SIZE, IDENTIFY_WORD_MWDMA, IDENTIFY_WORD_UDMA,
};
use alloc::vec::Vec;

/// An ATAPI byte count limit as the device uses it: even, and 0/FFFFh as FFFEh.
fn effective_limit(limit: u16) -> usize {
    match limit {
        0 | 0xFFFF => 0xFFFE,
        1 => 2,
        n => usize::from(n & !1),
    }
}

impl Device {
    pub(super) fn cdrom_command(&mut self, cmd: u8) {
        match cmd {
            CMD_IDENTIFY_PACKET => {
                let Media::Cdrom(drive) = &self.media else {
                    return self.abort();
                };
                let mut words = drive.identify_packet_data();
                (words[IDENTIFY_WORD_MWDMA], words[IDENTIFY_WORD_UDMA]) = dma_mode_words(
                    self.dma_mode,
                    words[IDENTIFY_WORD_MWDMA],
                    words[IDENTIFY_WORD_UDMA],
                );
                set_integrity_word(&mut words);
                self.buf = words_to_bytes(&words);
                self.pos = 0;
                self.pio = Pio::Identify;
                self.start_block(SECTOR_SIZE, true);
            }
            CMD_PACKET => {
                let features = self.tf.features.cur;
                if features & FEATURES_OVL != 0 {
                    return self.abort();
                }
                let limit = u16::from_le_bytes([self.tf.lba_mid.cur, self.tf.lba_high.cur]);
                self.buf.clear();
                self.buf.resize(12, 0);
                self.pos = 0;
                self.pio = Pio::CommandPacket {
                    dma: features & FEATURES_DMA != 0,
                    limit,
                };
                self.tf.sector_count.cur = IREASON_COD;
                self.start_block(12, self.cdb_interrupt);
            }
            CMD_DEVICE_RESET => self.reset(),
            CMD_SET_FEATURES => self.set_features(),
            CMD_CHECK_POWER_MODE => {
                self.tf.sector_count.cur = POWER_MODE_ACTIVE;
                self.complete(true);
            }
            CMD_IDLE_IMMEDIATE | CMD_STANDBY_IMMEDIATE => self.complete(true),
            // IDENTIFY DEVICE, the media-access commands and the rest: aborted
            // with the signature in place (ATA-6 8.15 IDENTIFY DEVICE).
            _ => self.abort(),
        }
    }

    pub(super) fn packet_complete(&mut self) {
        self.complete(true);
        self.tf.error = 0;
        self.tf.sector_count.cur = IREASON_COD | IREASON_IO;
    }

    pub(super) fn packet_check_condition(&mut self) {
        let key = match &self.media {
            Media::Cdrom(drive) => drive.sense().0 & SENSE_KEY_MASK,
            Media::Disk(_) => 0,
        };
        self.stop_transfer();
        self.tf.error = key << ERROR_SENSE_KEY_SHIFT;
        self.tf.status = self.ready_status() | STATUS_ERR;
        self.tf.sector_count.cur = IREASON_COD | IREASON_IO;
        self.raise = true;
    }

    pub(super) fn execute_packet(&mut self, dma: bool, limit: u16) {
        let mut cdb = [0u8; 12];
        for (d, s) in cdb.iter_mut().zip(self.buf.iter()) {
            *d = *s;
        }
        let Media::Cdrom(drive) = &mut self.media else {
            return self.abort();
        };
        match drive.execute(&cdb) {
            PacketResult::Done => self.packet_complete(),
            PacketResult::CheckCondition => self.packet_check_condition(),
            PacketResult::DataIn(data) if data.is_empty() => self.packet_complete(),
            PacketResult::Read { blocks: 0, .. } => self.packet_complete(),
            PacketResult::DataIn(data) => {
                if dma {
                    self.start_packet_dma(DmaJob::Packet { data, read: None });
                } else {
                    self.buf = data;
                    self.pos = 0;
                    self.next_packet_block(limit, None);
                }
            }
            PacketResult::Read { lba, blocks } => {
                if dma {
                    self.start_packet_dma(DmaJob::Packet {
                        data: Vec::new(),
                        read: Some((lba, blocks)),
                    });
                } else {
                    self.buf.clear();
                    self.pos = 0;
                    self.next_packet_block(limit, Some((lba, blocks)));
                }
            }
        }
    }

    fn start_packet_dma(&mut self, job: DmaJob) {
        self.pio = Pio::Idle;
        self.pos = 0;
        self.end = 0;
        self.dma = Some(job);
        self.tf.status = self.ready_status() | STATUS_DRQ;
    }

    /// Offers the next DRQ block of ATAPI data-in (ATA-6 clause 9, PACKET
    /// command protocol): refills the staged READ chunk when needed, sizes the
    /// block by the byte count limit, and reports it in LBA Mid/High.
    pub(super) fn next_packet_block(&mut self, limit: u16, mut read: Option<(u32, u32)>) {
        if self.pos >= self.buf.len() {
            match read {
                Some((lba, left)) if left > 0 => {
                    let n = left.min(ATAPI_CHUNK_BLOCKS);
                    self.buf.clear();
                    self.buf.resize(n as usize * ATAPI_BLOCK_SIZE, 0);
                    let Media::Cdrom(drive) = &mut self.media else {
                        return self.abort();
                    };
                    if drive.read_blocks(lba, n, &mut self.buf).is_err() {
                        return self.packet_check_condition();
                    }
                    read = Some((lba.wrapping_add(n), left - n));
                    self.pos = 0;
                }
                _ => return self.packet_complete(),
            }
        }
        let avail = self.buf.len() - self.pos;
        let limit = effective_limit(limit);
        let mut len = avail.min(limit);
        if read.is_some() && len >= ATAPI_BLOCK_SIZE {
            len -= len % ATAPI_BLOCK_SIZE;
        }
        self.pio = Pio::PacketIn {
            limit: limit as u16,
            read,
        };
        self.tf.lba_mid.cur = len as u8;
        self.tf.lba_high.cur = (len >> 8) as u8;
        self.tf.sector_count.cur = IREASON_IO;
        self.start_block(len, true);
    }
}
