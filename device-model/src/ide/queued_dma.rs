//! A disk's READ/WRITE DMA whose data moves through its medium's
//! [`BlockQueue`] (a host virtio-blk disk): the command is submitted when
//! the guest starts the bus master and completes on a later poll, so the
//! guest runs, or halts waiting for its interrupt, while the host works.
//!
//! While the job lives, the device shows BSY and the bus master's Active
//! bit stays set (ATA/ATAPI-6 clause 9, DMA command protocol: the device
//! holds BSY or DRQ until the transfer ends; SFF-8038i, Bus Master IDE
//! Status: Active is set while the bus master transfers). The transfer goes
//! in chunks of the queue's [`BlockQueue::request_bytes`] (one device
//! request each, no further splitting), at most [`BlockQueue::depth`] of them
//! submitted at once, so the host works on several while the hypervisor
//! holds a bounded amount of data whatever count the guest asked for:
//! - a write gathers each chunk from guest memory through the PRD table when
//!   it is submitted (the bus master reads memory as it feeds the device);
//! - a read's chunks may complete in any order; each is scattered into guest
//!   memory through the PRD table in order, as soon as the chunks before it
//!   were, so guest memory is written only while this job lives;
//! - with the write cache disabled (SET FEATURES 82h) the writes are followed
//!   by a flush, and the command completes after it (ATA/ATAPI-6, SET
//!   FEATURES: without the cache, a write completes only once durable).
//!
//! Every request is known by the [`RequestId`] the queue gave it, never
//! reused: a completion whose id is not this job's belongs to a command the
//! guest abandoned (reset, a new command, the bus master stopped) and is
//! dropped unseen, so it can never write guest memory or be taken for
//! another command's. The caller drops the job to abandon it; its requests
//! still complete on the host, and the next poll of the queue throws their
//! completions away, so the queue's slots come back and no guest can use
//! them up. A full queue keeps the request in hand and retries on the next
//! poll (back-pressure, not an error).

use super::prd::{DmaFault, PrdCursor};
use super::registers::ERROR_ABRT;
use crate::DmaMemory;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{BlockError, BlockQueue, Request, RequestId, SubmitError};

/// The most sectors per chunk whatever the queue takes (a bound on the
/// hypervisor's memory per chunk).
const MAX_CHUNK_SECTORS: u32 = 2048;
/// Bytes in a sector.
const SECTOR: u64 = 512;

/// Where a queued job stands after a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// Requests are still on the host.
    Busy,
    /// Done: whether the PRD table was used up exactly, or why it failed.
    Done(Result<bool, DmaFault>),
}

/// A submitted chunk: its request's id and, once in, the result (a read's
/// data).
type Chunk = (RequestId, Option<Result<Vec<u8>, BlockError>>);

/// A disk DMA command in flight on its medium's queue.
pub(super) struct QueuedDma {
    write: bool,
    /// First sector not yet submitted, and how many are left to submit.
    lba: u64,
    left: u32,
    prd: PrdCursor,
    /// Submitted chunks in transfer order, with their results once in.
    chunks: VecDeque<Chunk>,
    /// A request the full queue handed back, submitted again next time.
    held: Option<Request>,
    /// A flush still to send after the writes (write cache off).
    flush: bool,
}

impl QueuedDma {
    /// The job for `count` sectors at `lba` through the PRD table at
    /// `table` (the pointer as the bus master was started: rewriting the
    /// register afterwards does not move this transfer, SFF-8038i says the
    /// pointer is loaded before Start). `flush` adds a flush after a write.
    pub(super) fn new(lba: u64, count: u32, write: bool, table: u32, flush: bool) -> Self {
        Self {
            write,
            lba,
            left: count,
            prd: PrdCursor::new(table),
            chunks: VecDeque::new(),
            held: None,
            flush: write && flush,
        }
    }

    /// Takes the queue's completions, moves finished data into guest memory,
    /// submits what the queue has room for, and says where the job stands.
    pub(super) fn poll(&mut self, queue: &mut dyn BlockQueue, mem: &mut dyn DmaMemory) -> Progress {
        match self.step(queue, mem) {
            Ok(true) => Progress::Done(Ok(self.prd.exhausted())),
            Ok(false) => Progress::Busy,
            Err(f) => Progress::Done(Err(f)),
        }
    }

    fn step(
        &mut self,
        queue: &mut dyn BlockQueue,
        mem: &mut dyn DmaMemory,
    ) -> Result<bool, DmaFault> {
        collect(queue, &mut self.chunks);
        self.retire(mem)?;
        self.submit(queue, mem)?;
        // Submitting may have completed requests at once (bounds errors,
        // synchronous media): take those too.
        collect(queue, &mut self.chunks);
        self.retire(mem)?;
        Ok(self.chunks.is_empty() && self.held.is_none() && self.left == 0 && !self.flush)
    }

    /// Ends the chunks at the front that are done, in transfer order; a
    /// failed chunk anywhere fails the command at once (what the others
    /// would bring no longer matters).
    fn retire(&mut self, mem: &mut dyn DmaMemory) -> Result<(), DmaFault> {
        let failed = self.chunks.iter().find_map(|(_, r)| match r {
            Some(Err(e)) => Some(*e),
            _ => None,
        });
        if let Some(e) = failed {
            return Err(DmaFault::media(e));
        }
        while let Some((_, Some(_))) = self.chunks.front() {
            let Some((_, Some(result))) = self.chunks.pop_front() else {
                break;
            };
            let data = result.map_err(DmaFault::media)?;
            if !self.write {
                self.prd.scatter(mem, &data)?;
            }
        }
        Ok(())
    }

    fn submit(
        &mut self,
        queue: &mut dyn BlockQueue,
        mem: &mut dyn DmaMemory,
    ) -> Result<(), DmaFault> {
        let window = queue.depth().max(1);
        while self.chunks.len() < window {
            let request = match self.held.take() {
                Some(r) => r,
                None if self.left > 0 => self.next_chunk(chunk_sectors(queue), mem)?,
                // The flush goes once every write completed, so it covers
                // them (block_backend::queue's flush semantics).
                None if self.flush && self.chunks.is_empty() => {
                    self.flush = false;
                    Request::Flush
                }
                None => break,
            };
            match queue.submit(request) {
                Ok(id) => self.chunks.push_back((id, None)),
                Err(SubmitError::Full(r)) => {
                    self.held = Some(r);
                    break;
                }
            }
        }
        Ok(())
    }

    /// The next chunk's request; a write's data is gathered from guest
    /// memory now.
    fn next_chunk(&mut self, sectors: u32, mem: &mut dyn DmaMemory) -> Result<Request, DmaFault> {
        let n = self.left.min(sectors);
        let offset = self
            .lba
            .checked_mul(SECTOR)
            .ok_or(DmaFault::Media(ERROR_ABRT))?;
        let len = n as usize * SECTOR as usize;
        self.lba = self.lba.wrapping_add(u64::from(n));
        self.left -= n;
        if self.write {
            let mut data = vec![0; len];
            self.prd.gather(mem, &mut data)?;
            Ok(Request::Write { offset, data })
        } else {
            Ok(Request::Read { offset, len })
        }
    }
}

/// Sectors per chunk: the queue's largest request, bounded.
fn chunk_sectors(queue: &dyn BlockQueue) -> u32 {
    let sectors = queue.request_bytes() / SECTOR as usize;
    u32::try_from(sectors).map_or(MAX_CHUNK_SECTORS, |s| s.clamp(1, MAX_CHUNK_SECTORS))
}

/// Files the queue's completions under their chunks; those of no chunk
/// (an abandoned command's) are dropped.
fn collect(queue: &mut dyn BlockQueue, chunks: &mut VecDeque<Chunk>) {
    while let Some(c) = queue.poll() {
        if let Some((_, slot)) = chunks.iter_mut().find(|(id, _)| *id == c.id) {
            *slot = Some(c.result);
        }
    }
}

/// Drops whatever the queue completed for nobody: an idle device's poll,
/// so abandoned requests give their slots back.
pub(super) fn drain(queue: &mut dyn BlockQueue) {
    while queue.poll().is_some() {}
}
