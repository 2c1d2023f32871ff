//! Bus-master DMA (SFF-8038i rev 1.0): each channel's Bus Master IDE Command,
//! Status and Descriptor Table Pointer registers, walking Physical Region
//! Descriptor tables through guest memory, and moving a device's pending DMA
//! job through them when the bus master is started.

use super::channel::Channel;
use super::device::Device;
use super::media::{media_error, Media, SECTOR_SIZE};
use super::prd::{DmaFault, PrdCursor, BM_PRDT_MASK};
use super::queued_dma::{drain, Progress, QueuedDma};
use super::registers::{ERROR_ABRT, IREASON_COD, IREASON_IO, STATUS_BSY};
use super::transfer::{DmaJob, ATAPI_CHUNK_BLOCKS};
use crate::atapi::ATAPI_BLOCK_SIZE;
use crate::DmaMemory;
use alloc::vec;

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
                    self.abandon_queued();
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

    /// Stopping the bus master while a queued transfer is on the host
    /// aborts it (SFF-8038i, Start/Stop Bus Master: clearing Start halts the
    /// transfer and its state is lost): the job is dropped, so its late
    /// completions are thrown away, and the device reports the command
    /// aborted (ERR with ABRT and INTRQ, which a driver stopping a hung
    /// transfer follows with a reset).
    fn abandon_queued(&mut self) {
        for dev in self.devices.iter_mut().flatten() {
            if dev.queued.is_some() {
                dev.fail(ERROR_ABRT);
            }
        }
        self.harvest();
    }

    /// SFF-8038i: a started bus master moves the selected device's pending
    /// DMA; a disk on a queued medium starts a [`QueuedDma`], and a queued
    /// job in flight is polled (each call: after every exit, on the host
    /// tick, while the guest is halted).
    pub(super) fn run_dma(&mut self, mem: &mut dyn DmaMemory) {
        self.poll_queued(mem);
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
        if let (DmaJob::Disk { lba, count, write }, Media::Disk(disk)) = (&job, &mut dev.media) {
            if *write != to_memory && disk.backend.as_queue().is_some() {
                let flush = *write && !disk.write_cache;
                dev.queued = Some(QueuedDma::new(*lba, *count, *write, table, flush));
                dev.tf.status = STATUS_BSY;
                self.poll_queued(mem);
                return;
            }
        }
        let result = dev.run_dma_job(job, table, to_memory, mem);
        self.end_dma(result);
    }

    /// Polls the devices' queued jobs and ends the one that is done; an idle
    /// disk's queue is drained of abandoned completions.
    fn poll_queued(&mut self, mem: &mut dyn DmaMemory) {
        let mut ended = None;
        for (i, dev) in self.devices.iter_mut().enumerate() {
            let Some(dev) = dev else { continue };
            let Media::Disk(disk) = &mut dev.media else {
                continue;
            };
            let Some(queue) = disk.backend.as_queue() else {
                continue;
            };
            match dev.queued.as_mut() {
                None => drain(queue),
                Some(job) => {
                    if let Progress::Done(result) = job.poll(queue, mem) {
                        dev.queued = None;
                        ended = Some((i, result));
                    }
                }
            }
        }
        if let Some((i, result)) = ended {
            self.end_dma_of(i, result);
        }
    }

    /// True while a queued transfer is on the host: the run loop keeps
    /// polling instead of sleeping a whole host tick.
    pub(super) fn queued_busy(&self) -> bool {
        self.devices.iter().flatten().any(|d| d.queued.is_some())
    }

    fn end_dma(&mut self, result: Result<bool, DmaFault>) {
        let i = self.selected_index();
        self.end_dma_of(i, result);
    }

    /// Ends device `i`'s DMA command with `result`: status, Error register,
    /// the bus master's Error/Active/Interrupt bits and INTRQ.
    fn end_dma_of(&mut self, i: usize, result: Result<bool, DmaFault>) {
        let Some(dev) = self.devices[i].as_mut() else {
            return;
        };
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
