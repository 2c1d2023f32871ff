//! The ATA command set (ATA/ATAPI-6 clause 8): the command opcodes, a hard
//! disk's state, and the commands a disk executes (READ/WRITE SECTORS, MULTIPLE
//! and DMA, READ VERIFY SECTORS, SEEK, SET MULTIPLE MODE, INITIALIZE DEVICE
//! PARAMETERS, SET FEATURES, ...) with their 28-bit LBA, 48-bit LBA and CHS
//! addresses. IDENTIFY DEVICE builds its data in `identify`; the commands of a
//! PACKET device are in `packet`.

use super::bus_master::DmaJob;
use super::device::Device;
use super::identify::words_to_bytes;
use super::pio::Pio;
use super::registers::{DEVICE_HEAD_MASK, DEVICE_LBA, ERROR_ABRT, ERROR_IDNF, STATUS_DRQ};
use crate::block::{BlockBackend, BlockError};
use alloc::boxed::Box;

/// Bytes in an ATA sector.
pub const SECTOR_SIZE: usize = 512;
/// Largest READ/WRITE MULTIPLE block (IDENTIFY word 47).
pub const MAX_MULTIPLE: u8 = 16;
/// Largest 48-bit LBA capacity.
pub(super) const MAX_LBA48: u64 = (1 << 48) - 1;
/// Default CHS translation: heads.
pub(super) const DEFAULT_HEADS: u8 = 16;
/// Default CHS translation: sectors per track.
pub(super) const DEFAULT_SPT: u8 = 63;

// Commands (ATA-6 clause 8).
/// Commands 1xh (RECALIBRATE) and 7xh (SEEK) ignore their low nibble.
pub(super) const CMD_FAMILY_MASK: u8 = 0xF0;
/// DEVICE RESET (PACKET devices only).
pub(super) const CMD_DEVICE_RESET: u8 = 0x08;
/// RECALIBRATE (0x10-0x1F).
pub(super) const CMD_RECALIBRATE: u8 = 0x10;
/// READ SECTORS.
pub(super) const CMD_READ_SECTORS: u8 = 0x20;
/// READ SECTORS without retries.
pub(super) const CMD_READ_SECTORS_NR: u8 = 0x21;
/// READ SECTORS EXT.
pub(super) const CMD_READ_SECTORS_EXT: u8 = 0x24;
/// READ DMA EXT.
pub(super) const CMD_READ_DMA_EXT: u8 = 0x25;
/// READ MULTIPLE EXT.
pub(super) const CMD_READ_MULTIPLE_EXT: u8 = 0x29;
/// WRITE SECTORS.
pub(super) const CMD_WRITE_SECTORS: u8 = 0x30;
/// WRITE SECTORS without retries.
pub(super) const CMD_WRITE_SECTORS_NR: u8 = 0x31;
/// WRITE SECTORS EXT.
pub(super) const CMD_WRITE_SECTORS_EXT: u8 = 0x34;
/// WRITE DMA EXT.
pub(super) const CMD_WRITE_DMA_EXT: u8 = 0x35;
/// WRITE MULTIPLE EXT.
pub(super) const CMD_WRITE_MULTIPLE_EXT: u8 = 0x39;
/// READ VERIFY SECTORS.
pub(super) const CMD_READ_VERIFY: u8 = 0x40;
/// READ VERIFY SECTORS without retries.
pub(super) const CMD_READ_VERIFY_NR: u8 = 0x41;
/// READ VERIFY SECTORS EXT.
pub(super) const CMD_READ_VERIFY_EXT: u8 = 0x42;
/// SEEK (0x70-0x7F).
pub(super) const CMD_SEEK: u8 = 0x70;
/// EXECUTE DEVICE DIAGNOSTIC.
pub(super) const CMD_EXECUTE_DIAGNOSTIC: u8 = 0x90;
/// INITIALIZE DEVICE PARAMETERS.
pub(super) const CMD_INITIALIZE_PARAMS: u8 = 0x91;
/// PACKET.
pub(super) const CMD_PACKET: u8 = 0xA0;
/// IDENTIFY PACKET DEVICE.
pub(super) const CMD_IDENTIFY_PACKET: u8 = 0xA1;
/// READ MULTIPLE.
pub(super) const CMD_READ_MULTIPLE: u8 = 0xC4;
/// WRITE MULTIPLE.
pub(super) const CMD_WRITE_MULTIPLE: u8 = 0xC5;
/// SET MULTIPLE MODE.
pub(super) const CMD_SET_MULTIPLE: u8 = 0xC6;
/// READ DMA.
pub(super) const CMD_READ_DMA: u8 = 0xC8;
/// READ DMA without retries.
pub(super) const CMD_READ_DMA_NR: u8 = 0xC9;
/// WRITE DMA.
pub(super) const CMD_WRITE_DMA: u8 = 0xCA;
/// WRITE DMA without retries.
pub(super) const CMD_WRITE_DMA_NR: u8 = 0xCB;
/// STANDBY IMMEDIATE.
pub(super) const CMD_STANDBY_IMMEDIATE: u8 = 0xE0;
/// IDLE IMMEDIATE.
pub(super) const CMD_IDLE_IMMEDIATE: u8 = 0xE1;
/// CHECK POWER MODE.
pub(super) const CMD_CHECK_POWER_MODE: u8 = 0xE5;
/// FLUSH CACHE.
pub(super) const CMD_FLUSH_CACHE: u8 = 0xE7;
/// FLUSH CACHE EXT.
pub(super) const CMD_FLUSH_CACHE_EXT: u8 = 0xEA;
/// IDENTIFY DEVICE.
pub(super) const CMD_IDENTIFY: u8 = 0xEC;
/// SET FEATURES.
pub(super) const CMD_SET_FEATURES: u8 = 0xEF;

/// SET FEATURES subcommand: enable write cache.
pub(super) const FEATURE_ENABLE_WRITE_CACHE: u8 = 0x02;
/// SET FEATURES subcommand: set transfer mode from the Sector Count register.
pub(super) const FEATURE_SET_TRANSFER_MODE: u8 = 0x03;
/// SET FEATURES subcommand: disable write cache.
pub(super) const FEATURE_DISABLE_WRITE_CACHE: u8 = 0x82;
/// Transfer mode value bits 2:0: the mode number.
pub(super) const XFER_MODE_MASK: u8 = 0x07;
/// Transfer mode value bits 7:3: PIO flow control mode (mode in bits 2:0).
pub(super) const XFER_PIO_FLOW: u8 = 0x08;
/// Transfer mode value bits 7:3: multiword DMA mode.
pub(super) const XFER_MWDMA: u8 = 0x20;
/// Transfer mode value bits 7:3: Ultra DMA mode.
pub(super) const XFER_UDMA: u8 = 0x40;
/// CHECK POWER MODE result: active or idle.
pub(super) const POWER_MODE_ACTIVE: u8 = 0xFF;

/// A hard disk.
pub(super) struct Disk {
    pub(super) backend: Box<dyn BlockBackend>,
    /// Capacity in sectors.
    pub(super) sectors: u64,
    /// Sectors per READ/WRITE MULTIPLE block; 0 = multiple mode disabled.
    pub(super) multiple: u8,
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    pub(super) heads: u8,
    pub(super) sectors_per_track: u8,
    pub(super) write_cache: bool,
    pub(super) serial: [u8; 20],
}

/// The DMA mode SET FEATURES selected (reflected in IDENTIFY words 63/88).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum DmaMode {
    None,
    Multiword(u8),
    Ultra(u8),
}

/// The Error register bits for a failed backend access.
pub(super) fn media_error(e: BlockError) -> u8 {
    match e {
        BlockError::OutOfRange => ERROR_IDNF,
        BlockError::ReadOnly => ERROR_ABRT,
    }
}

impl Device {
    /// The starting address and sector count of a 28-bit (LBA or CHS) or 48-bit
    /// command; `None` if a CHS address is invalid.
    fn address(&self, ext: bool, device_reg: u8) -> Option<(u64, u32)> {
        let tf = &self.tf;
        if ext {
            let lba = u64::from_le_bytes([
                tf.lba_low.cur,
                tf.lba_mid.cur,
                tf.lba_high.cur,
                tf.lba_low.prev,
                tf.lba_mid.prev,
                tf.lba_high.prev,
                0,
                0,
            ]);
            let count = u32::from(u16::from_le_bytes([
                tf.sector_count.cur,
                tf.sector_count.prev,
            ]));
            return Some((lba, if count == 0 { 0x1_0000 } else { count }));
        }
        let count = match tf.sector_count.cur {
            0 => 256,
            n => u32::from(n),
        };
        if device_reg & DEVICE_LBA != 0 {
            let lba = u64::from_le_bytes([
                tf.lba_low.cur,
                tf.lba_mid.cur,
                tf.lba_high.cur,
                device_reg & DEVICE_HEAD_MASK,
                0,
                0,
                0,
                0,
            ]);
            return Some((lba, count));
        }
        let disk = self.disk()?;
        let cylinder = u64::from(u16::from_le_bytes([tf.lba_mid.cur, tf.lba_high.cur]));
        let head = device_reg & DEVICE_HEAD_MASK;
        let sector = tf.lba_low.cur;
        if sector == 0 || sector > disk.sectors_per_track || head >= disk.heads {
            return None;
        }
        let lba = (cylinder * u64::from(disk.heads) + u64::from(head))
            * u64::from(disk.sectors_per_track)
            + u64::from(sector - 1);
        Some((lba, count))
    }

    /// The checked address of a media-access command, or IDNF already reported.
    fn checked_address(&mut self, ext: bool, device_reg: u8) -> Option<(u64, u32)> {
        let sectors = self.disk().map_or(0, |d| d.sectors);
        match self.address(ext, device_reg) {
            Some((lba, count))
                if lba
                    .checked_add(u64::from(count))
                    .is_some_and(|end| end <= sectors) =>
            {
                Some((lba, count))
            }
            _ => {
                self.fail(ERROR_IDNF);
                None
            }
        }
    }

    pub(super) fn disk_command(&mut self, cmd: u8, device_reg: u8) {
        match cmd {
            CMD_IDENTIFY => {
                let words = self.identify_disk();
                self.buf = words_to_bytes(&words);
                self.pos = 0;
                self.pio = Pio::Identify;
                self.start_block(SECTOR_SIZE, true);
            }
            CMD_READ_SECTORS | CMD_READ_SECTORS_NR => self.pio_rw(false, device_reg, false, false),
            CMD_READ_SECTORS_EXT => self.pio_rw(true, device_reg, false, false),
            CMD_READ_MULTIPLE => self.pio_rw(false, device_reg, false, true),
            CMD_READ_MULTIPLE_EXT => self.pio_rw(true, device_reg, false, true),
            CMD_WRITE_SECTORS | CMD_WRITE_SECTORS_NR => self.pio_rw(false, device_reg, true, false),
            CMD_WRITE_SECTORS_EXT => self.pio_rw(true, device_reg, true, false),
            CMD_WRITE_MULTIPLE => self.pio_rw(false, device_reg, true, true),
            CMD_WRITE_MULTIPLE_EXT => self.pio_rw(true, device_reg, true, true),
            CMD_READ_DMA | CMD_READ_DMA_NR => self.dma_rw(false, device_reg, false),
            CMD_READ_DMA_EXT => self.dma_rw(true, device_reg, false),
            CMD_WRITE_DMA | CMD_WRITE_DMA_NR => self.dma_rw(false, device_reg, true),
            CMD_WRITE_DMA_EXT => self.dma_rw(true, device_reg, true),
            CMD_READ_VERIFY | CMD_READ_VERIFY_NR => {
                if self.checked_address(false, device_reg).is_some() {
                    self.complete(true);
                }
            }
            CMD_READ_VERIFY_EXT => {
                if self.checked_address(true, device_reg).is_some() {
                    self.complete(true);
                }
            }
            CMD_SET_MULTIPLE => {
                let count = self.tf.sector_count.cur;
                if count == 0 || (count.is_power_of_two() && count <= MAX_MULTIPLE) {
                    if let Some(d) = self.disk_mut() {
                        d.multiple = count;
                    }
                    self.complete(true);
                } else {
                    self.abort();
                }
            }
            CMD_INITIALIZE_PARAMS => {
                let spt = self.tf.sector_count.cur;
                if spt == 0 {
                    self.abort();
                } else {
                    if let Some(d) = self.disk_mut() {
                        d.sectors_per_track = spt;
                        d.heads = (device_reg & DEVICE_HEAD_MASK) + 1;
                    }
                    self.complete(true);
                }
            }
            c if c & CMD_FAMILY_MASK == CMD_RECALIBRATE => self.complete(true),
            c if c & CMD_FAMILY_MASK == CMD_SEEK => {
                let sectors = self.disk().map_or(0, |d| d.sectors);
                match self.address(false, device_reg) {
                    Some((lba, _)) if lba < sectors => self.complete(true),
                    _ => self.fail(ERROR_IDNF),
                }
            }
            CMD_FLUSH_CACHE | CMD_FLUSH_CACHE_EXT => self.complete(true),
            CMD_STANDBY_IMMEDIATE | CMD_IDLE_IMMEDIATE => self.complete(true),
            CMD_CHECK_POWER_MODE => {
                self.tf.sector_count.cur = POWER_MODE_ACTIVE;
                self.complete(true);
            }
            CMD_SET_FEATURES => self.set_features(),
            // DEVICE RESET, PACKET, IDENTIFY PACKET DEVICE and the rest: not for
            // a disk (ATA-6 clause 8: the Error register reports ABRT).
            _ => self.abort(),
        }
    }

    fn pio_rw(&mut self, ext: bool, device_reg: u8, write: bool, multiple: bool) {
        let per_block = if multiple {
            match self.disk().map_or(0, |d| d.multiple) {
                0 => return self.abort(),
                m => u32::from(m),
            }
        } else {
            1
        };
        if write && self.disk().is_none_or(|d| d.backend.read_only()) {
            return self.abort();
        }
        let Some((lba, count)) = self.checked_address(ext, device_reg) else {
            return;
        };
        if write {
            self.pio = Pio::DiskWrite {
                lba,
                left: count,
                per_block,
            };
            self.prepare_write_block(count.min(per_block), false);
        } else {
            self.pio = Pio::DiskRead {
                lba,
                left: count,
                per_block,
            };
            self.load_read_block();
        }
    }

    fn dma_rw(&mut self, ext: bool, device_reg: u8, write: bool) {
        if write && self.disk().is_none_or(|d| d.backend.read_only()) {
            return self.abort();
        }
        let Some((lba, count)) = self.checked_address(ext, device_reg) else {
            return;
        };
        self.dma = Some(DmaJob::Disk { lba, count, write });
        self.tf.status = self.ready_status() | STATUS_DRQ;
    }

    pub(super) fn set_features(&mut self) {
        match self.tf.features.cur {
            FEATURE_SET_TRANSFER_MODE => {
                let v = self.tf.sector_count.cur;
                let mode = v & XFER_MODE_MASK;
                match v & !XFER_MODE_MASK {
                    0 if mode <= 1 => {}
                    XFER_PIO_FLOW if mode <= 4 => {}
                    XFER_MWDMA if mode <= 2 => self.dma_mode = DmaMode::Multiword(mode),
                    XFER_UDMA if mode <= 5 => self.dma_mode = DmaMode::Ultra(mode),
                    _ => return self.abort(),
                }
                self.complete(true);
            }
            FEATURE_ENABLE_WRITE_CACHE | FEATURE_DISABLE_WRITE_CACHE if !self.is_cdrom() => {
                let on = self.tf.features.cur == FEATURE_ENABLE_WRITE_CACHE;
                if let Some(d) = self.disk_mut() {
                    d.write_cache = on;
                }
                self.complete(true);
            }
            _ => self.abort(),
        }
    }
}
