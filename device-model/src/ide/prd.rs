//! Physical Region Descriptor tables (SFF-8038i rev 1.0, "Physical Region
//! Descriptor" and "Descriptor Table Pointer Register"; the same layout as
//! Intel's "Programming Interface for Bus Master IDE Controller", PIIX):
//! walking one through guest memory a piece at a time, and the ways a DMA
//! transfer stops early. Shared by the synchronous transfer in `bus_master`
//! and the queued one in `queued_dma`.

use crate::{DmaError, DmaMemory};
use block_backend::BlockError;

/// Most PRD entries one DMA transfer may walk before it is declared endless.
pub const MAX_PRD_ENTRIES: u32 = 4096;
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
pub(super) enum DmaFault {
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

impl DmaFault {
    /// A failed medium access, as the Error register bits the device
    /// reports.
    pub(super) fn media(e: BlockError) -> Self {
        DmaFault::Media(super::media::media_error(e))
    }
}

impl From<DmaError> for DmaFault {
    fn from(e: DmaError) -> Self {
        DmaFault::Memory(e)
    }
}

/// Walks a PRD table one guest-memory piece at a time.
pub(super) struct PrdCursor {
    next_entry: u64,
    entries: u32,
    addr: u64,
    left: u32,
    eot: bool,
}

impl PrdCursor {
    pub(super) fn new(table: u32) -> Self {
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
    pub(super) fn exhausted(&self) -> bool {
        self.eot && self.left == 0
    }

    /// Scatters `data` into guest memory.
    pub(super) fn scatter(
        &mut self,
        mem: &mut dyn DmaMemory,
        mut data: &[u8],
    ) -> Result<(), DmaFault> {
        while !data.is_empty() {
            let (gpa, n) = self.next(mem, data.len())?;
            let (head, tail) = data.split_at(n);
            mem.write(gpa, head)?;
            data = tail;
        }
        Ok(())
    }

    /// Gathers `buf.len()` bytes from guest memory.
    pub(super) fn gather(
        &mut self,
        mem: &mut dyn DmaMemory,
        buf: &mut [u8],
    ) -> Result<(), DmaFault> {
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
