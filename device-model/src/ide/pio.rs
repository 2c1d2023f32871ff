//! PIO data transfer (ATA/ATAPI-6 clause 9, PIO data-in and PIO data-out
//! protocols): the Data register and the string-I/O fast path moving the
//! current DRQ block (whose meaning `transfer::Pio` records), what ends a
//! block, and the disk blocks loaded before each data-in block and stored
//! after each data-out block.

use super::device::Device;
use super::media::{media_error, Media, SECTOR_SIZE};
use super::transfer::Pio;

impl Device {
    /// Reads up to `size` bytes of the current data-in block.
    pub(super) fn data_read(&mut self, size: usize) -> u32 {
        if !self.pio.is_data_in() || !self.drq() {
            return 0;
        }
        let n = core::cmp::min(size, self.end - self.pos);
        let mut v = 0u32;
        for i in 0..n {
            let b = self.buf.get(self.pos + i).copied().unwrap_or(0);
            v |= u32::from(b) << (8 * i);
        }
        self.pos += n;
        if self.pos >= self.end {
            self.block_done();
        }
        v
    }

    /// Writes up to `size` bytes into the current data-out block.
    pub(super) fn data_write(&mut self, size: usize, value: u32) {
        if !self.pio.is_data_out() || !self.drq() {
            return;
        }
        let n = core::cmp::min(size, self.end - self.pos);
        for i in 0..n {
            if let Some(b) = self.buf.get_mut(self.pos + i) {
                *b = (value >> (8 * i)) as u8;
            }
        }
        self.pos += n;
        if self.pos >= self.end {
            self.block_done();
        }
    }

    /// Moves up to `out.len()` bytes of data-in blocks; returns bytes moved.
    pub(super) fn read_block(&mut self, out: &mut [u8]) -> usize {
        let mut moved = 0;
        while moved < out.len() && self.pio.is_data_in() && self.drq() {
            let n = core::cmp::min(self.end - self.pos, out.len() - moved);
            let (Some(dst), Some(src)) = (
                out.get_mut(moved..moved + n),
                self.buf.get(self.pos..self.pos + n),
            ) else {
                break;
            };
            dst.copy_from_slice(src);
            self.pos += n;
            moved += n;
            if self.pos >= self.end {
                // A block of odd length ends in a padded word.
                if moved % 2 == 1 && moved < out.len() {
                    out[moved] = 0;
                    moved += 1;
                }
                self.block_done();
            }
        }
        moved
    }

    /// Moves up to `data.len()` bytes into data-out blocks; returns bytes moved.
    pub(super) fn write_block(&mut self, data: &[u8]) -> usize {
        let mut moved = 0;
        while moved < data.len() && self.pio.is_data_out() && self.drq() {
            let n = core::cmp::min(self.end - self.pos, data.len() - moved);
            let (Some(dst), Some(src)) = (
                self.buf.get_mut(self.pos..self.pos + n),
                data.get(moved..moved + n),
            ) else {
                break;
            };
            dst.copy_from_slice(src);
            self.pos += n;
            moved += n;
            if self.pos >= self.end {
                if moved % 2 == 1 && moved < data.len() {
                    moved += 1;
                }
                self.block_done();
            }
        }
        moved
    }

    /// The host has moved the whole DRQ block.
    fn block_done(&mut self) {
        match self.pio {
            Pio::Idle => {}
            Pio::Identify => self.complete(false),
            Pio::DiskRead { left, .. } => {
                if left == 0 {
                    self.complete(false);
                } else {
                    self.load_read_block();
                }
            }
            Pio::DiskWrite {
                lba,
                left,
                per_block,
            } => self.store_write_block(lba, left, per_block),
            Pio::CommandPacket { dma, limit } => self.execute_packet(dma, limit),
            Pio::PacketIn { limit, read } => self.next_packet_block(limit, read),
        }
    }

    /// Reads the next data-in block from the disk and raises DRQ and INTRQ.
    pub(super) fn load_read_block(&mut self) {
        let Pio::DiskRead {
            lba,
            left,
            per_block,
        } = self.pio
        else {
            return;
        };
        let n = left.min(per_block);
        let len = n as usize * SECTOR_SIZE;
        self.buf.clear();
        self.buf.resize(len, 0);
        let Media::Disk(disk) = &self.media else {
            return self.abort();
        };
        if let Err(e) = disk
            .backend
            .read_at(lba.saturating_mul(SECTOR_SIZE as u64), &mut self.buf)
        {
            return self.fail(media_error(e));
        }
        self.pio = Pio::DiskRead {
            lba: lba.wrapping_add(u64::from(n)),
            left: left - n,
            per_block,
        };
        self.pos = 0;
        self.start_block(len, true);
    }

    pub(super) fn prepare_write_block(&mut self, sectors: u32, irq: bool) {
        let len = sectors as usize * SECTOR_SIZE;
        self.buf.clear();
        self.buf.resize(len, 0);
        self.pos = 0;
        self.start_block(len, irq);
    }

    fn store_write_block(&mut self, lba: u64, left: u32, per_block: u32) {
        let n = (self.end / SECTOR_SIZE) as u32;
        let Media::Disk(disk) = &mut self.media else {
            return self.abort();
        };
        let data = self.buf.get(..self.end).unwrap_or(&[]);
        if let Err(e) = disk.write(lba.saturating_mul(SECTOR_SIZE as u64), data) {
            return self.fail(media_error(e));
        }
        let left = left.saturating_sub(n);
        if left == 0 {
            self.complete(true);
        } else {
            self.pio = Pio::DiskWrite {
                lba: lba.wrapping_add(u64::from(n)),
                left,
                per_block,
            };
            self.prepare_write_block(left.min(per_block), true);
        }
    }
}
