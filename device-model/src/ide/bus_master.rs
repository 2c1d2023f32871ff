//! Bus-master DMA (SFF-8038i rev 1.0): each channel's Bus Master IDE Command,
//! Status and Descriptor Table Pointer registers, walking Physical Region
//! Descriptor tables through guest memory, and moving a device's pending DMA
//! job through them when the bus master is started.

use super::channel::Channel;
use super::device::Device;
use super::media::{media_error, Media, SECTOR_SIZE};
use super::registers::{ERROR_ABRT, IREASON_COD, IREASON_IO};
use super::transfer::{DmaJob, ATAPI_CHUNK_BLOCKS};
use crate::atapi::ATAPI_BLOCK_SIZE;
use crate::{DmaError, DmaMemory};
use alloc::vec;

/// Most PRD entries one DMA transfer may walk before it is declared endless.
pub const MAX_PRD_ENTRIES: u32 = 4096;
/// Sectors moved per backend access during disk DMA.
const DMA_CHUNK_SECTORS: u32 = 128;

// SFF-8038i bus-master registers (offsets within one channel's 8 bytes).
/// Bus Master IDE Command register.
pub(super) const BM_COMMAND: u16 = 0;
/// Bus Master IDE Status register.
pub(super) const BM_STATUS: u16 = 2;
/// Descriptor Table Pointer register (4 bytes).
pub(super) const BM_PRDT: u16 = 4;
/// Bytes of bus-master registers per channel.
pub(super) const BM_CHANNEL_STRIDE: u16 = 8;

/// Command bit 0: Start/Stop Bus Master.
pub const BM_CMD_START: u8 = 1 << 0;
/// Command bit 3: Read/Write Control, 1 = bus master writes memory (device reads).
pub const BM_CMD_WRITE_MEMORY: u8 = 1 << 3;
/// Status bit 0: Bus Master IDE Active (read-only).
pub const BM_STATUS_ACTIVE: u8 = 1 << 0;
/// Status bit 1: Error in the memory transfer (write 1 to clear).
pub const BM_STATUS_ERROR: u8 = 1 << 1;
/// Status bit 2: Interrupt, the device asserted INTRQ (write 1 to clear).
pub const BM_STATUS_INTERRUPT: u8 = 1 << 2;
/// Status bit 5: Drive 0 DMA capable (software-set).
pub const BM_STATUS_DRIVE0_DMA: u8 = 1 << 5;
/// Status bit 6: Drive 1 DMA capable (software-set).
pub const BM_STATUS_DRIVE1_DMA: u8 = 1 << 6;
/// Status bit 7: Simplex only (read-only; zero, both channels may run at once).
pub const BM_STATUS_SIMPLEX: u8 = 1 << 7;
/// Descriptor Table Pointer bits 1:0 are reserved (dword alignment).
pub(super) const BM_PRDT_MASK: u32 = !0x3;
/// PRD byte 0 bit 0 of the address is reserved (word alignment).
pub(super) const PRD_ADDR_MASK: u32 = !0x1;
/// PRD byte count bit 0 is reserved.
pub(super) const PRD_COUNT_MASK: u16 = !0x1;
/// PRD byte count of zero means 64 KiB.
pub(super) const PRD_COUNT_ZERO: u32 = 0x1_0000;
/// PRD second dword bit 31: EOT, the last descriptor of the table.
pub(super) const PRD_EOT: u32 = 1 << 31;
/// Size of one PRD entry.
pub(super) const PRD_ENTRY_LEN: u64 = 8;

/// Why a DMA transfer stopped early.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DmaFault {
    /// A PRD entry or buffer outside guest RAM.
    Memory(DmaError),
    /// The PRD table ended before the transfer did.
    TableTooShort,
    /// No EOT within [`MAX_PRD_ENTRIES`] entries.
    TableTooLong,
    /// The bus master's direction disagrees with the command's.
    Direction,
    /// The medium failed: these Error register bits.
    Media(u8),
    /// The ATAPI drive reported CHECK CONDITION.
    CheckCondition,
}

impl From<DmaError> for DmaFault {
    fn from(e: DmaError) -> Self {
        DmaFault::Memory(e)
    }
}

/// Walks a PRD table one guest-memory piece at a time.
struct PrdCursor {
    next_entry: u64,
    entries: u32,
    addr: u64,
    left: u32,
    eot: bool,
}

impl PrdCursor {
    fn new(table: u32) -> Self {
        Self {
            next_entry: u64::from(table & BM_PRDT_MASK),
            entries: 0,
            addr: 0,
            left: 0,
            eot: false,
        }
    }

    /// The next piece of guest memory, at most `max` (> 0) bytes long.
    fn next(&mut self, mem: &dyn DmaMemory, max: usize) -> Result<(u64, usize), DmaFault> {
        while self.left == 0 {
            if self.eot {
                return Err(DmaFault::TableTooShort);
            }
            if self.entries >= MAX_PRD_ENTRIES {
                return Err(DmaFault::TableTooLong);
            }
            let mut e = [0u8; 8];
            mem.read(self.next_entry, &mut e)?;
            self.entries += 1;
            self.next_entry = self.next_entry.wrapping_add(PRD_ENTRY_LEN);
            let addr = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) & PRD_ADDR_MASK;
            let flags = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
            let count = (flags as u16) & PRD_COUNT_MASK;
            self.addr = u64::from(addr);
            self.left = if count == 0 {
                PRD_COUNT_ZERO
            } else {
                u32::from(count)
            };
            self.eot = flags & PRD_EOT != 0;
        }
        let n = core::cmp::min(self.left as usize, max);
        let at = self.addr;
        self.addr = self.addr.wrapping_add(n as u64);
        self.left -= n as u32;
        Ok((at, n))
    }

    /// True when the table's last descriptor has been used up.
    fn exhausted(&self) -> bool {
        self.eot && self.left == 0
    }

    /// Scatters `data` into guest memory.
    fn scatter(&mut self, mem: &mut dyn DmaMemory, mut data: &[u8]) -> Result<(), DmaFault> {
        while !data.is_empty() {
            let (gpa, n) = self.next(mem, data.len())?;
            let (head, tail) = data.split_at(n);
            mem.write(gpa, head)?;
            data = tail;
        }
        Ok(())
    }

    /// Gathers `buf.len()` bytes from guest memory.
    fn gather(&mut self, mem: &mut dyn DmaMemory, buf: &mut [u8]) -> Result<(), DmaFault> {
        let mut done = 0;
        while done < buf.len() {
            let (gpa, n) = self.next(mem, buf.len() - done)?;
            let end = done + n;
            mem.read(gpa, &mut buf[done..end])?;
            done = end;
        }
        Ok(())
    }
}

impl Device {
    /// Runs the pending DMA job through the PRD table at `table`.
    /// Returns whether the table was used up exactly.
    fn run_dma_job(
        &mut self,
        job: DmaJob,
        table: u32,
        to_memory: bool,
        mem: &mut dyn DmaMemory,
    ) -> Result<bool, DmaFault> {
        let mut prd = PrdCursor::new(table);
        match job {
            DmaJob::Disk { lba, count, write } => {
                if write == to_memory {
                    return Err(DmaFault::Direction);
                }
                let Media::Disk(disk) = &mut self.media else {
                    return Err(DmaFault::Media(ERROR_ABRT));
                };
                let chunk = count.min(DMA_CHUNK_SECTORS) as usize * SECTOR_SIZE;
                let mut buf = vec![0u8; chunk];
                let (mut lba, mut left) = (lba, count);
                while left > 0 {
                    let n = left.min(DMA_CHUNK_SECTORS);
                    let part = &mut buf[..n as usize * SECTOR_SIZE];
                    let offset = lba.saturating_mul(SECTOR_SIZE as u64);
                    if write {
                        prd.gather(mem, part)?;
                        disk.write(offset, part)
                            .map_err(|e| DmaFault::Media(media_error(e)))?;
                    } else {
                        disk.backend
                            .read_at(offset, part)
                            .map_err(|e| DmaFault::Media(media_error(e)))?;
                        prd.scatter(mem, part)?;
                    }
                    lba = lba.wrapping_add(u64::from(n));
                    left -= n;
                }
            }
            DmaJob::Packet { data, read } => {
                if !to_memory {
                    return Err(DmaFault::Direction);
                }
                prd.scatter(mem, &data)?;
                if let Some((mut lba, mut left)) = read {
                    let Media::Cdrom(drive) = &mut self.media else {
                        return Err(DmaFault::Media(ERROR_ABRT));
                    };
                    let chunk = left.min(ATAPI_CHUNK_BLOCKS) as usize * ATAPI_BLOCK_SIZE;
                    let mut buf = vec![0u8; chunk];
                    while left > 0 {
                        let n = left.min(ATAPI_CHUNK_BLOCKS);
                        let part = &mut buf[..n as usize * ATAPI_BLOCK_SIZE];
                        if drive.read_blocks(lba, n, part).is_err() {
                            return Err(DmaFault::CheckCondition);
                        }
                        prd.scatter(mem, part)?;
                        lba = lba.wrapping_add(n);
                        left -= n;
                    }
                }
            }
        }
        Ok(prd.exhausted())
    }
}

impl Channel {
    pub(super) fn bm_read(&self, reg: u16) -> u8 {
        match reg {
            BM_COMMAND => self.bm_command,
            BM_STATUS => self.bm_status,
            r if (BM_PRDT..BM_PRDT + 4).contains(&r) => (self.bm_prdt >> (8 * (r - BM_PRDT))) as u8,
            _ => 0,
        }
    }

    pub(super) fn bm_write(&mut self, reg: u16, value: u8) {
        match reg {
            BM_COMMAND => {
                let start = value & BM_CMD_START != 0;
                let was = self.bm_command & BM_CMD_START != 0;
                if start && !was {
                    self.bm_status |= BM_STATUS_ACTIVE;
                } else if !start && was {
                    self.bm_status &= !BM_STATUS_ACTIVE;
                }
                self.bm_command = value & (BM_CMD_START | BM_CMD_WRITE_MEMORY);
            }
            BM_STATUS => {
                let kept = self.bm_status & BM_STATUS_ACTIVE;
                let w1c = self.bm_status & !value & (BM_STATUS_ERROR | BM_STATUS_INTERRUPT);
                let rw = value & (BM_STATUS_DRIVE0_DMA | BM_STATUS_DRIVE1_DMA);
                self.bm_status = kept | w1c | rw;
            }
            r if (BM_PRDT..BM_PRDT + 4).contains(&r) => {
                let shift = 8 * u32::from(r - BM_PRDT);
                let v = (self.bm_prdt & !(0xFF << shift)) | (u32::from(value) << shift);
                self.bm_prdt = v & BM_PRDT_MASK;
            }
            _ => {}
        }
    }

    /// SFF-8038i: a started bus master moves the selected device's pending DMA.
    pub(super) fn run_dma(&mut self, mem: &mut dyn DmaMemory) {
        if self.bm_command & BM_CMD_START == 0 || self.bm_status & BM_STATUS_ACTIVE == 0 {
            return;
        }
        let table = self.bm_prdt;
        let to_memory = self.bm_command & BM_CMD_WRITE_MEMORY != 0;
        let Some(dev) = self.selected() else {
            return;
        };
        let Some(job) = dev.dma.take() else {
            return;
        };
        let result = dev.run_dma_job(job, table, to_memory, mem);
        let cdrom = dev.is_cdrom();
        let mut bm_error = false;
        let mut exhausted = true;
        match result {
            Ok(used_up) => {
                exhausted = used_up;
                if cdrom {
                    dev.packet_complete();
                } else {
                    dev.complete(true);
                }
            }
            Err(DmaFault::CheckCondition) => dev.packet_check_condition(),
            Err(DmaFault::Media(bits)) => dev.fail(bits),
            Err(
                DmaFault::Memory(_)
                | DmaFault::TableTooShort
                | DmaFault::TableTooLong
                | DmaFault::Direction,
            ) => {
                bm_error = true;
                dev.fail(ERROR_ABRT);
                if cdrom {
                    dev.tf.sector_count.cur = IREASON_COD | IREASON_IO;
                }
            }
        }
        if bm_error {
            self.bm_status |= BM_STATUS_ERROR;
        }
        if exhausted {
            self.bm_status &= !BM_STATUS_ACTIVE;
        }
        self.bm_status |= BM_STATUS_INTERRUPT;
        self.harvest();
    }
}
