//! One device on a channel: its medium (hard disk or ATAPI CD-ROM), its copy of
//! the task file and its transfer state, and how every command ends (completion,
//! error, abort) or is reset back to the device signature (ATA/ATAPI-6 clause 9).

use super::identify::{ID0_DRQ_TYPE_INTRQ, ID0_DRQ_TYPE_MASK};
use super::media::{Disk, Media};
use super::queued_dma::QueuedDma;
use super::registers::{
    TaskFile, DIAGNOSTIC_PASSED, ERROR_ABRT, STATUS_BSY, STATUS_DRDY, STATUS_DRQ, STATUS_DSC,
    STATUS_ERR,
};
use super::transfer::{DmaJob, DmaMode, Pio, ATAPI_CHUNK_BLOCKS};
use crate::atapi::ATAPI_BLOCK_SIZE;
use alloc::vec::Vec;

/// ATAPI signature in LBA Mid (ATA-6 clause 9 "Signature and persistence").
const ATAPI_SIGNATURE_MID: u8 = 0x14;
/// ATAPI signature in LBA High.
const ATAPI_SIGNATURE_HIGH: u8 = 0xEB;

/// One device on a channel.
pub(super) struct Device {
    pub(super) media: Media,
    pub(super) tf: TaskFile,
    /// Data of the current transfer; the DRQ block is `buf[pos..end]`.
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) end: usize,
    pub(super) pio: Pio,
    pub(super) dma: Option<DmaJob>,
    /// A disk DMA command on the medium's queue, BSY until it completes
    /// (`queued_dma`); dropped, abandoning it, whenever the transfer stops.
    pub(super) queued: Option<QueuedDma>,
    pub(super) dma_mode: DmaMode,
    pub(super) slave: bool,
    /// A PACKET device that interrupts when it wants the command packet
    /// (IDENTIFY PACKET DEVICE word 0 bits 6:5 = 01b).
    pub(super) cdb_interrupt: bool,
    /// INTRQ should be asserted (collected by the channel).
    pub(super) raise: bool,
}

impl Device {
    pub(super) fn new(media: Media, slave: bool) -> Self {
        let cdb_interrupt = match &media {
            Media::Cdrom(drive) => {
                drive.identify_packet_data()[0] & ID0_DRQ_TYPE_MASK == ID0_DRQ_TYPE_INTRQ
            }
            Media::Disk(_) => false,
        };
        let mut d = Self {
            media,
            tf: TaskFile::default(),
            buf: Vec::new(),
            pos: 0,
            end: 0,
            pio: Pio::Idle,
            dma: None,
            queued: None,
            dma_mode: DmaMode::None,
            slave,
            cdb_interrupt,
            raise: false,
        };
        d.reset();
        d
    }

    pub(super) fn is_cdrom(&self) -> bool {
        matches!(self.media, Media::Cdrom(_))
    }

    /// Status after a successful command.
    pub(super) fn ready_status(&self) -> u8 {
        STATUS_DRDY | STATUS_DSC
    }

    fn set_signature(&mut self) {
        self.tf.sector_count.cur = 0x01;
        self.tf.lba_low.cur = 0x01;
        let (mid, high) = if self.is_cdrom() {
            (ATAPI_SIGNATURE_MID, ATAPI_SIGNATURE_HIGH)
        } else {
            (0, 0)
        };
        self.tf.lba_mid.cur = mid;
        self.tf.lba_high.cur = high;
    }

    pub(super) fn stop_transfer(&mut self) {
        self.pio = Pio::Idle;
        self.dma = None;
        self.queued = None;
        self.pos = 0;
        self.end = 0;
        if self.buf.capacity() > 2 * ATAPI_CHUNK_BLOCKS as usize * ATAPI_BLOCK_SIZE {
            self.buf = Vec::new();
        }
    }

    /// Entering SRST: abandon everything and hold BSY.
    pub(super) fn reset_enter(&mut self) {
        self.stop_transfer();
        self.tf.status = STATUS_BSY;
    }

    /// End of a reset or diagnostic (ATA-6 clause 9: signature; a PACKET device
    /// leaves DRDY clear).
    pub(super) fn reset(&mut self) {
        self.stop_transfer();
        self.set_signature();
        self.tf.error = DIAGNOSTIC_PASSED;
        self.tf.status = if self.is_cdrom() {
            0
        } else {
            STATUS_DRDY | STATUS_DSC
        };
    }

    pub(super) fn complete(&mut self, irq: bool) {
        self.stop_transfer();
        self.tf.status = self.ready_status();
        if irq {
            self.raise = true;
        }
    }

    pub(super) fn fail(&mut self, error: u8) {
        self.stop_transfer();
        self.tf.error = error;
        self.tf.status = self.ready_status() | STATUS_ERR;
        self.raise = true;
    }

    /// Command aborted; a PACKET device also restores its signature.
    pub(super) fn abort(&mut self) {
        self.fail(ERROR_ABRT);
        if self.is_cdrom() {
            self.set_signature();
        }
    }

    /// Starts a DRQ block of `len` bytes at `buf[pos..]`.
    pub(super) fn start_block(&mut self, len: usize, irq: bool) {
        self.end = self.pos.saturating_add(len).min(self.buf.len());
        self.tf.status = self.ready_status() | STATUS_DRQ;
        if irq {
            self.raise = true;
        }
    }

    pub(super) fn drq(&self) -> bool {
        self.pos < self.end
    }

    pub(super) fn disk(&self) -> Option<&Disk> {
        match &self.media {
            Media::Disk(d) => Some(d),
            Media::Cdrom(_) => None,
        }
    }

    pub(super) fn disk_mut(&mut self) -> Option<&mut Disk> {
        match &mut self.media {
            Media::Disk(d) => Some(d),
            Media::Cdrom(_) => None,
        }
    }
}
