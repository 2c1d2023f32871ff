//! [`SectorQueue`]: a [`BlockQueue`] over a device that takes several
//! whole-sector requests at once and completes them later, in any order:
//! the host's virtio-blk disk driven through its split virtqueue (Virtio
//! 1.2, 2.7: the driver adds buffers to the available ring, the device
//! returns them through the used ring in the order it finishes them).
//!
//! The device ([`QueueDevice`]) owns the buffers it hands to the hardware
//! (a virtio driver needs them to stay put until the used ring returns
//! them), starts a request and later reports it finished by its tag. This
//! file does the logic that is the same for every such device, tested on
//! the host with a fake device that finishes late, out of order and with
//! errors:
//!
//! - a [`Request`] of any length is split into device requests of at most
//!   [`crate::sector::MAX_REQUEST_BYTES`] whole sectors (as [`crate::SectorMedium`] does);
//!   a partial first or last sector of a write is read, patched and written
//!   (read-modify-write, two device requests in a row);
//! - bounds and write protection are checked at submission: such a request
//!   completes with its error without reaching the device;
//! - at most [`QueueDevice::slots`] device requests are in flight; pieces
//!   beyond that wait in submission order and start as slots free up;
//! - a request completes once all its pieces finished; the first failing
//!   piece decides its error (pieces not yet started are dropped), never
//!   success;
//! - a flush waits until nothing is in flight, then runs the device's
//!   flush (see [`QueueDevice::flush`]), so it covers every write that
//!   completed before it was submitted (and those in flight then, too);
//!   pieces submitted after it wait until it is done.
//!
//! [`SectorQueue`] is also a synchronous [`BlockBackend`] for the callers
//! that stay synchronous (PIO, ATAPI, INT 13h): such a call submits its
//! request and polls the device until that request completes; completions
//! of other requests found meanwhile are kept for [`BlockQueue::poll`].

use crate::queue::{BlockQueue, Completion, Request, RequestId, SubmitError};
use crate::sector::{split, SECTOR_SIZE};
use crate::{BlockBackend, BlockError};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

/// A device that takes several sector requests at once.
pub trait QueueDevice {
    /// Capacity in 512-byte sectors.
    fn sectors(&self) -> u64;
    /// True when the device refuses writes.
    fn read_only(&self) -> bool;
    /// True when the device has a volatile write cache [`Self::flush`]
    /// empties.
    fn has_write_cache(&self) -> bool;
    /// Most requests the device holds at once (what fits its virtqueue).
    fn slots(&self) -> usize;
    /// Starts reading `sectors` sectors at `lba` into a buffer the device
    /// owns; `sectors * 512` is at most [`crate::sector::MAX_REQUEST_BYTES`]. Returns the
    /// tag [`Self::finish`] reports it under.
    fn start_read(&mut self, lba: u64, sectors: usize) -> Result<u16, BlockError>;
    /// Starts writing `data` (whole sectors, at most [`crate::sector::MAX_REQUEST_BYTES`])
    /// at `lba`; the device keeps the buffer until the request finishes
    /// (a request carried by one piece hands its own buffer over, so a
    /// write's bytes are not copied again on their way to the device).
    fn start_write(&mut self, lba: u64, data: Vec<u8>) -> Result<u16, BlockError>;
    /// One finished request, if any: its tag and result, with a read's data.
    fn finish(&mut self) -> Option<(u16, Result<Vec<u8>, BlockError>)>;
    /// Makes every completed write durable; returns once the device says
    /// so. Called only with no request in flight.
    fn flush(&mut self) -> Result<(), BlockError>;
}

/// What a [`SectorQueue`] did, for the hypervisor's `--stats`: what
/// completion polling costs (`polls` that asked the device against the
/// `completions` it reported) and how deep the device's queue got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Requests submitted (both sides).
    pub requests: u64,
    /// Device requests started (pieces, read-modify-write halves).
    pub device_requests: u64,
    /// Times the device was asked for finished requests.
    pub polls: u64,
    /// Device requests it reported finished.
    pub completions: u64,
    /// Most device requests in flight at once.
    pub peak_in_flight: u64,
    /// Flushes sent to the device.
    pub flushes: u64,
}

/// One device request of a submitted request.
#[derive(Clone, Copy, Debug)]
struct Piece {
    id: u64,
    lba: u64,
    /// Bytes of the first sector before the request's data.
    skip: usize,
    /// Bytes of the request's data this piece carries.
    n: usize,
    /// Where those bytes start within the request's data.
    at: usize,
    /// A write's partial sectors: the read half of read-modify-write.
    rmw_read: bool,
}

enum Kind {
    Read,
    Write,
    Flush,
}

/// A request not yet completed.
struct Pending {
    kind: Kind,
    /// A read's result (empty until its first piece is in), a write's data.
    data: Vec<u8>,
    /// Bytes of the request.
    len: usize,
    /// Pieces started and not finished, or waiting to start.
    left: usize,
    error: Option<BlockError>,
}

struct State<D: QueueDevice> {
    device: D,
    read_only: bool,
    next: u64,
    pending: BTreeMap<u64, Pending>,
    /// Pieces waiting for a slot, in submission order.
    waiting: VecDeque<Piece>,
    /// Pieces on the device, by tag.
    started: BTreeMap<u16, Piece>,
    /// Flushes waiting for the device to go idle.
    flushes: VecDeque<u64>,
    done: VecDeque<Completion>,
    stats: QueueStats,
}

/// A [`BlockQueue`] (and synchronous [`BlockBackend`]) over a
/// [`QueueDevice`]; see the module's design.
pub struct SectorQueue<D: QueueDevice> {
    state: RefCell<State<D>>,
}

impl<D: QueueDevice> SectorQueue<D> {
    /// The queue over `device`; `read_only` refuses writes even when the
    /// device would take them.
    pub fn new(device: D, read_only: bool) -> Self {
        let read_only = read_only || device.read_only();
        Self {
            state: RefCell::new(State {
                device,
                read_only,
                next: 0,
                pending: BTreeMap::new(),
                waiting: VecDeque::new(),
                started: BTreeMap::new(),
                flushes: VecDeque::new(),
                done: VecDeque::new(),
                stats: QueueStats::default(),
            }),
        }
    }

    /// Device requests in flight now (for statistics and tests).
    pub fn in_flight(&self) -> usize {
        self.state.borrow().started.len()
    }

    /// Runs `f` on the device (tests, statistics).
    pub fn with_device<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        f(&mut self.state.borrow_mut().device)
    }

    /// Submits `request` and polls until it completes: the synchronous path.
    fn wait(&self, request: Request) -> Result<Vec<u8>, BlockError> {
        let mut s = self.state.borrow_mut();
        let id = s.take(request);
        loop {
            s.pump();
            if let Some(i) = s.done.iter().position(|c| c.id == id) {
                let c = s.done.remove(i).expect("found above");
                return c.result;
            }
            core::hint::spin_loop();
        }
    }
}

impl<D: QueueDevice> State<D> {
    fn len(&self) -> u64 {
        self.device.sectors().saturating_mul(SECTOR_SIZE)
    }

    fn check(&self, offset: u64, len: usize) -> Result<(), BlockError> {
        let end = offset
            .checked_add(len as u64)
            .ok_or(BlockError::OutOfRange)?;
        if end > self.len() {
            return Err(BlockError::OutOfRange);
        }
        Ok(())
    }

    /// Accepts `request` (no depth check) and returns its id.
    fn take(&mut self, request: Request) -> RequestId {
        self.stats.requests += 1;
        let id = self.next;
        self.next += 1;
        // A read's buffer comes with its first piece (see `finished`).
        let (kind, offset, len, data) = match request {
            Request::Read { offset, len } => match self.check(offset, len) {
                Ok(()) => (Kind::Read, offset, len, Vec::new()),
                Err(e) => return self.finish_now(id, Err(e)),
            },
            Request::Write { offset, data } => {
                if self.read_only {
                    return self.finish_now(id, Err(BlockError::ReadOnly));
                }
                if let Err(e) = self.check(offset, data.len()) {
                    return self.finish_now(id, Err(e));
                }
                (Kind::Write, offset, data.len(), data)
            }
            Request::Flush => {
                if self.read_only || !self.device.has_write_cache() {
                    return self.finish_now(id, Ok(Vec::new()));
                }
                self.flushes.push_back(id);
                let p = Pending {
                    kind: Kind::Flush,
                    data: Vec::new(),
                    len: 0,
                    left: 1,
                    error: None,
                };
                self.pending.insert(id, p);
                return RequestId(id);
            }
        };
        if len == 0 {
            return self.finish_now(id, Ok(Vec::new()));
        }
        let write = matches!(kind, Kind::Write);
        let mut left = 0;
        let mut at = 0;
        for (lba, skip, n) in split(offset, len) {
            let partial = skip != 0 || (skip + n) % SECTOR_SIZE as usize != 0;
            self.waiting.push_back(Piece {
                id,
                lba,
                skip,
                n,
                at,
                rmw_read: write && partial,
            });
            at += n;
            left += 1;
        }
        let p = Pending {
            kind,
            data,
            len,
            left,
            error: None,
        };
        self.pending.insert(id, p);
        RequestId(id)
    }

    fn finish_now(&mut self, id: u64, result: Result<Vec<u8>, BlockError>) -> RequestId {
        self.done.push_back(Completion {
            id: RequestId(id),
            result,
        });
        RequestId(id)
    }

    /// Collects what the device finished and starts what waits.
    fn pump(&mut self) {
        if !self.started.is_empty() {
            self.stats.polls += 1;
        }
        while let Some((tag, result)) = self.device.finish() {
            self.stats.completions += 1;
            // A tag the device reports that is not ours is ignored rather
            // than trusted (it could only be a driver bug).
            let Some(piece) = self.started.remove(&tag) else {
                continue;
            };
            self.finished(piece, result);
        }
        self.start_waiting();
    }

    fn start_waiting(&mut self) {
        loop {
            if self.flushes.is_empty() {
                let Some(piece) = self.waiting.front().copied() else {
                    return;
                };
                if self.started.len() >= self.device.slots().max(1) {
                    return;
                }
                self.waiting.pop_front();
                self.start(piece);
            } else {
                // A flush waits for the device to go idle, and what came
                // after it waits for the flush.
                if !self.started.is_empty() {
                    return;
                }
                let id = self.flushes.pop_front().expect("not empty");
                self.stats.flushes += 1;
                let result = self.device.flush();
                self.finished_flush(id, result);
            }
        }
    }

    fn start(&mut self, piece: Piece) {
        let whole = (piece.skip + piece.n).div_ceil(SECTOR_SIZE as usize);
        let Some(p) = self.pending.get_mut(&piece.id) else {
            return;
        };
        if p.error.is_some() {
            // An earlier piece failed: this one is not sent.
            return self.finished(piece, Err(BlockError::Io));
        }
        let started = match p.kind {
            // Whole sectors (a partial one is `rmw_read` and written back
            // by `finished`). The only piece of a request (an IDE DMA
            // chunk, a PV segment run) takes the request's buffer: nothing
            // reads it again, its completion carries no data.
            Kind::Write if !piece.rmw_read => {
                let part = if piece.at == 0 && piece.n == p.data.len() {
                    core::mem::take(&mut p.data)
                } else {
                    p.data[piece.at..piece.at + piece.n].to_vec()
                };
                self.device.start_write(piece.lba, part)
            }
            _ => self.device.start_read(piece.lba, whole),
        };
        match started {
            Ok(tag) => {
                self.started.insert(tag, piece);
                self.counted_start();
            }
            Err(e) => self.finished(piece, Err(e)),
        }
    }

    fn finished(&mut self, piece: Piece, result: Result<Vec<u8>, BlockError>) {
        let Some(p) = self.pending.get_mut(&piece.id) else {
            return;
        };
        match result {
            Err(e) => {
                p.error.get_or_insert(e);
            }
            Ok(sectors) if p.error.is_none() => {
                let bytes = sectors.get(piece.skip..piece.skip + piece.n);
                match (&p.kind, bytes) {
                    (Kind::Read, Some(_)) if piece.skip == 0 && piece.n == p.len => {
                        // The whole request in one piece (an IDE DMA
                        // chunk): the device's buffer becomes the result,
                        // no copy.
                        let mut sectors = sectors;
                        sectors.truncate(piece.n);
                        p.data = sectors;
                    }
                    (Kind::Read, Some(b)) => {
                        if p.data.is_empty() {
                            p.data = vec![0; p.len];
                        }
                        p.data[piece.at..piece.at + piece.n].copy_from_slice(b);
                    }
                    (Kind::Write, Some(_)) if piece.rmw_read => {
                        // Patch the guest's bytes into the sectors read and
                        // write them back, in the slot just freed.
                        let mut sectors = sectors;
                        sectors[piece.skip..piece.skip + piece.n]
                            .copy_from_slice(&p.data[piece.at..piece.at + piece.n]);
                        match self.device.start_write(piece.lba, sectors) {
                            Ok(tag) => {
                                let w = Piece {
                                    rmw_read: false,
                                    ..piece
                                };
                                self.started.insert(tag, w);
                                self.counted_start();
                                return;
                            }
                            Err(e) => {
                                p.error.get_or_insert(e);
                            }
                        }
                    }
                    (Kind::Write, _) if !piece.rmw_read => {}
                    // A device that returned less than asked for failed.
                    _ => {
                        p.error.get_or_insert(BlockError::Io);
                    }
                }
            }
            Ok(_) => {}
        }
        p.left -= 1;
        if p.left == 0 {
            self.complete(piece.id);
        }
    }

    fn counted_start(&mut self) {
        self.stats.device_requests += 1;
        let n = self.started.len() as u64;
        self.stats.peak_in_flight = self.stats.peak_in_flight.max(n);
    }

    fn finished_flush(&mut self, id: u64, result: Result<(), BlockError>) {
        if let Some(p) = self.pending.get_mut(&id) {
            if let Err(e) = result {
                p.error = Some(e);
            }
            p.left = 0;
            self.complete(id);
        }
    }

    fn complete(&mut self, id: u64) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        let result = match (p.error, p.kind) {
            (Some(e), _) => Err(e),
            (None, Kind::Read) => Ok(p.data),
            (None, _) => Ok(Vec::new()),
        };
        self.done.push_back(Completion {
            id: RequestId(id),
            result,
        });
    }
}

impl<D: QueueDevice> BlockQueue for SectorQueue<D> {
    fn len(&self) -> u64 {
        self.state.borrow().len()
    }

    fn read_only(&self) -> bool {
        self.state.borrow().read_only
    }

    fn depth(&self) -> usize {
        self.state.borrow().device.slots().max(1)
    }

    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError> {
        let depth = self.depth();
        let s = self.state.get_mut();
        if s.pending.len() + s.done.len() >= depth {
            return Err(SubmitError::Full(request));
        }
        let id = s.take(request);
        s.start_waiting();
        Ok(id)
    }

    fn poll(&mut self) -> Option<Completion> {
        let s = self.state.get_mut();
        if s.done.is_empty() {
            s.pump();
        }
        s.done.pop_front()
    }
}

impl<D: QueueDevice> BlockBackend for SectorQueue<D> {
    fn len(&self) -> u64 {
        self.state.borrow().len()
    }

    fn read_only(&self) -> bool {
        self.state.borrow().read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let len = buf.len();
        let data = self.wait(Request::Read { offset, len })?;
        buf.copy_from_slice(data.get(..len).ok_or(BlockError::Io)?);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        let data = data.to_vec();
        self.wait(Request::Write { offset, data }).map(|_| ())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        self.wait(Request::Flush).map(|_| ())
    }

    fn has_write_cache(&self) -> bool {
        let s = self.state.borrow();
        !s.read_only && s.device.has_write_cache()
    }

    fn as_queue(&mut self) -> Option<&mut dyn BlockQueue> {
        Some(self)
    }

    fn queue_stats(&self) -> Option<QueueStats> {
        Some(self.state.borrow().stats)
    }
}

#[cfg(test)]
#[path = "sector_queue_tests.rs"]
mod tests;
