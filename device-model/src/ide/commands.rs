//! The ATA command set of a hard disk (ATA/ATAPI-6 clause 8): the commands a
//! disk executes (READ/WRITE SECTORS, MULTIPLE and DMA, READ VERIFY SECTORS,
//! SEEK, SET MULTIPLE MODE, INITIALIZE DEVICE PARAMETERS, SET FEATURES, ...)
//! with their 28-bit LBA, 48-bit LBA and CHS addresses. The opcodes are in
//! `opcodes`, IDENTIFY DEVICE builds its data in `identify`; the commands of
//! a PACKET device are in `packet`.

use super::device::Device;
use super::identify::{identify_disk, words_to_bytes};
use super::media::{media_error, MAX_MULTIPLE, SECTOR_SIZE};
use super::opcodes::{
    CMD_CHECK_POWER_MODE, CMD_FAMILY_MASK, CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT, CMD_IDENTIFY,
    CMD_IDLE_IMMEDIATE, CMD_INITIALIZE_PARAMS, CMD_READ_DMA, CMD_READ_DMA_EXT, CMD_READ_DMA_NR,
    CMD_READ_MULTIPLE, CMD_READ_MULTIPLE_EXT, CMD_READ_SECTORS, CMD_READ_SECTORS_EXT,
    CMD_READ_SECTORS_NR, CMD_READ_VERIFY, CMD_READ_VERIFY_EXT, CMD_READ_VERIFY_NR, CMD_RECALIBRATE,
    CMD_SEEK, CMD_SET_FEATURES, CMD_SET_MULTIPLE, CMD_STANDBY_IMMEDIATE, CMD_WRITE_DMA,
    CMD_WRITE_DMA_EXT, CMD_WRITE_DMA_NR, CMD_WRITE_MULTIPLE, CMD_WRITE_MULTIPLE_EXT,
    CMD_WRITE_SECTORS, CMD_WRITE_SECTORS_EXT, CMD_WRITE_SECTORS_NR, FEATURE_DISABLE_WRITE_CACHE,
    FEATURE_ENABLE_WRITE_CACHE, FEATURE_SET_TRANSFER_MODE, POWER_MODE_ACTIVE, XFER_MODE_MASK,
    XFER_MWDMA, XFER_PIO_FLOW, XFER_UDMA,
};
use super::registers::{DEVICE_HEAD_MASK, DEVICE_LBA, ERROR_IDNF, STATUS_DRQ};
use super::transfer::{DmaJob, DmaMode, Pio};

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
                let words = self
                    .disk()
                    .map_or([0; 256], |d| identify_disk(d, self.dma_mode, self.slave));
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
            CMD_FLUSH_CACHE | CMD_FLUSH_CACHE_EXT => self.flush_cache(),
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

    /// FLUSH CACHE / FLUSH CACHE EXT (ATA/ATAPI-6, both commands): completes
    /// only after the medium made every completed write durable (for a host
    /// disk, the host's virtio-blk device completed `VIRTIO_BLK_T_FLUSH`); a
    /// failed flush is reported (ERR with ABRT or UNC), never success.
    fn flush_cache(&mut self) {
        let result = match self.disk_mut() {
            Some(d) => d.backend.flush(),
            None => return self.abort(),
        };
        match result {
            Ok(()) => self.complete(true),
            Err(e) => self.fail(media_error(e)),
        }
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
