//! One connected vbd's I/O: requests taken from the ring, their data moved
//! through the frontend's grants, the disk work handed to an asynchronous
//! [`BlockQueue`] so several requests are in flight, and responses pushed
//! as completions arrive (in whatever order the disk finishes them, which
//! blkif allows: responses are matched by `id`).
//!
//! Grants are used by copy (`GNTTABOP_copy` semantics: pinned for the
//! transfer only, `xen/common/grant_table.c`), each checked for the
//! backend's domain, `GTF_permit_access`, and for a disk read — a write into
//! the guest's page — not `GTF_readonly`. A failed check fails its request
//! with `BLKIF_RSP_ERROR`; the in-use flags never stay set, so blkfront can
//! always end its grants. With `feature-persistent` the frontend keeps its
//! grants for reuse and the backend needs nothing more: a copying backend
//! never holds a mapping.
//!
//! A read's data is copied into the guest's pages when the disk completes,
//! a write's out of them when the request is taken (the queue owns its
//! buffers, so nothing the guest can reach is borrowed while the disk
//! works).

use super::request::{decode, indirect_segments, Decoded, DiskLimits, Segment, Segments, Work};
use super::ring::{BackRing, RingError, RingMemory};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{BlockQueue, Request, RequestId, SubmitError};
use xen_abi::blkif::{BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_SECTOR_SIZE};
use xen_abi::memory::DomId;
use xen_abi::XEN_PAGE_SIZE;

use crate::grant_table::GrantTable;

/// The frontend's memory by guest frame, for the data a grant names.
pub trait GuestFrames {
    /// Copies bytes of frame `gfn` from `offset` into `buf`; false if the
    /// frame is not the guest's RAM.
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> bool;
    /// Writes `data` into frame `gfn` at `offset`; false if it cannot.
    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> bool;
}

/// What one vbd has done, for the statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VbdStats {
    pub reads: u64,
    pub writes: u64,
    pub flushes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Requests answered with an error or "not supported".
    pub errors: u64,
    /// Responses published, and the events they needed.
    pub responses: u64,
    pub events: u64,
    /// Passes over the ring (kicks and completion polls).
    pub services: u64,
    /// Most requests in flight at once.
    pub max_in_flight: u64,
}

/// A request on its way through the disk.
#[derive(Clone, Debug)]
struct Pending {
    id: u64,
    operation: u8,
    stage: Stage,
}

#[derive(Clone, Debug)]
enum Stage {
    /// The disk reads; the data goes to these segments.
    Read(Vec<Segment>),
    /// The disk writes; `flush` follows before the response.
    Write { flush: bool },
    /// The disk flushes.
    Flush,
}

/// Everything one pass needs besides the engine.
pub struct Io<'a> {
    /// The ring's frames, in `ring-ref` order, as the grants name them
    /// now (the caller checks the ring's grants on every pass, so a
    /// frontend that revoked them has its ring closed, not written).
    pub ring: &'a [u64],
    pub grants: &'a mut GrantTable,
    pub guest: &'a mut dyn GuestFrames,
    pub disk: &'a mut dyn BlockQueue,
}

/// The ring's pages (the frames its `ring-ref`s granted, in order) as one
/// byte range.
pub struct RingFrames<'a> {
    pub gfns: &'a [u64],
    pub guest: &'a mut dyn GuestFrames,
}

impl RingFrames<'_> {
    /// Runs `access` on each page-sized piece of `offset..offset + len`.
    fn pieces(
        &mut self,
        offset: usize,
        len: usize,
        mut access: impl FnMut(&mut dyn GuestFrames, u64, usize, core::ops::Range<usize>) -> bool,
    ) -> bool {
        let mut done = 0;
        while done < len {
            let at = offset + done;
            let Some(gfn) = self.gfns.get(at / XEN_PAGE_SIZE) else {
                return false;
            };
            let n = (XEN_PAGE_SIZE - at % XEN_PAGE_SIZE).min(len - done);
            if !access(self.guest, *gfn, at % XEN_PAGE_SIZE, done..done + n) {
                return false;
            }
            done += n;
        }
        true
    }
}

impl RingMemory for RingFrames<'_> {
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> bool {
        self.pieces(offset, buf.len(), |g, gfn, off, r| {
            g.read(gfn, off, &mut buf[r])
        })
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        self.pieces(offset, data.len(), |g, gfn, off, r| {
            g.write(gfn, off, &data[r])
        })
    }
}

/// One vbd's requests and their progress. While connected the disk queue
/// is this vbd's alone (the emulated disk was unplugged), so every
/// completion polled from it is one of the engine's or a leftover of an
/// earlier connection.
pub struct VbdEngine {
    ring: BackRing,
    limits: DiskLimits,
    /// The domain the frontend granted its pages to (the backend's).
    backend: DomId,
    /// Requests the disk holds, by the disk's id.
    pending: BTreeMap<RequestId, Pending>,
    /// Work taken from the ring that the disk had no room for yet.
    waiting: VecDeque<(Pending, Request)>,
    pub stats: VbdStats,
}

impl VbdEngine {
    /// The engine of a vbd whose ring has 2^`ring_page_order` pages.
    pub fn new(ring_page_order: u32, limits: DiskLimits, backend: DomId) -> Self {
        Self {
            ring: BackRing::new(xen_abi::blkif::blkif_ring_size(ring_page_order)),
            limits,
            backend,
            pending: BTreeMap::new(),
            waiting: VecDeque::new(),
            stats: VbdStats::default(),
        }
    }

    /// Requests taken from the ring and not yet answered.
    pub fn in_flight(&self) -> u32 {
        self.ring.in_flight()
    }

    /// Whether completions are awaited from the disk (the caller keeps
    /// polling while this is true).
    pub fn busy(&self) -> bool {
        !self.pending.is_empty() || !self.waiting.is_empty()
    }

    /// One pass: completions answered, waiting work submitted, new requests
    /// taken while the disk has room, responses published. True if the
    /// frontend must be notified. An error means the ring is unusable and
    /// the vbd must be disconnected.
    pub fn service(&mut self, io: &mut Io) -> Result<bool, RingError> {
        self.stats.services += 1;
        self.complete(io)?;
        self.submit_waiting(io);
        loop {
            while self.waiting.is_empty() {
                let Some(slot) = self.ring.next_request(&mut ring(io))? else {
                    break;
                };
                let decoded = decode(&slot, &self.limits);
                self.start(io, decoded)?;
            }
            // While the disk holds requests the caller serves this vbd
            // again on every poll (`busy`), so the ring is looked at anyway:
            // `req_event` is left behind and the frontend does not kick
            // (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`) — a busy ring costs
            // no hypercall per request. Only a backend going idle asks for
            // the next kick, with the final check.
            if self.busy() || !self.ring.final_check(&mut ring(io))? {
                break;
            }
        }
        self.stats.max_in_flight = self.stats.max_in_flight.max(u64::from(self.in_flight()));
        self.publish(io)
    }

    fn publish(&mut self, io: &mut Io) -> Result<bool, RingError> {
        let notify = self.ring.publish(&mut ring(io))?;
        self.stats.events += u64::from(notify);
        Ok(notify)
    }

    /// Answers a request at once.
    fn respond(
        &mut self,
        io: &mut Io,
        id: u64,
        operation: u8,
        status: i16,
    ) -> Result<(), RingError> {
        if status != BLKIF_RSP_OKAY {
            self.stats.errors += 1;
        }
        self.stats.responses += 1;
        self.ring
            .push_response(&mut ring(io), id, operation, status)
    }

    /// Starts a decoded request: refused ones are answered, the rest go to
    /// the disk (or wait for room).
    fn start(&mut self, io: &mut Io, d: Decoded) -> Result<(), RingError> {
        let work = match d.work {
            Ok(w) => w,
            Err(status) => return self.respond(io, d.id, d.operation, status),
        };
        let mut pending = Pending {
            id: d.id,
            operation: d.operation,
            stage: Stage::Flush,
        };
        let request = match work {
            Work::Flush => {
                self.stats.flushes += 1;
                Request::Flush
            }
            Work::Discard { .. } => {
                // Not advertised, so never decoded as work; should a
                // caller offer it, the disk queue has no discard.
                return self.respond(io, d.id, d.operation, BLKIF_RSP_EOPNOTSUPP);
            }
            Work::Read { sector, segments } => {
                let Some(segs) = self.resolve(io, sector, segments) else {
                    return self.respond(io, d.id, d.operation, BLKIF_RSP_ERROR);
                };
                let len = segs.iter().map(|s| s.page_bytes().len()).sum();
                pending.stage = Stage::Read(segs);
                Request::Read {
                    offset: sector * BLKIF_SECTOR_SIZE as u64,
                    len,
                }
            }
            Work::Write {
                sector,
                segments,
                flush,
            } => {
                let Some(segs) = self.resolve(io, sector, segments) else {
                    return self.respond(io, d.id, d.operation, BLKIF_RSP_ERROR);
                };
                let Some(data) = self.gather(io, &segs) else {
                    return self.respond(io, d.id, d.operation, BLKIF_RSP_ERROR);
                };
                self.stats.bytes_written += data.len() as u64;
                pending.stage = Stage::Write { flush };
                Request::Write {
                    offset: sector * BLKIF_SECTOR_SIZE as u64,
                    data,
                }
            }
        };
        self.waiting.push_back((pending, request));
        self.submit_waiting(io);
        Ok(())
    }

    /// The segments of a transfer; an indirect request's pages are read
    /// through their grants (read-only use) and decoded from the copies.
    fn resolve(&mut self, io: &mut Io, sector: u64, segments: Segments) -> Option<Vec<Segment>> {
        match segments {
            Segments::Direct(s) => Some(s),
            Segments::Indirect { count, pages } => {
                let mut copies = vec![[0u8; XEN_PAGE_SIZE]; pages.len()];
                for (gref, copy) in pages.iter().zip(copies.iter_mut()) {
                    let guest = &mut *io.guest;
                    let ok = io
                        .grants
                        .copy(
                            self.backend,
                            *gref,
                            false,
                            0,
                            XEN_PAGE_SIZE as u16,
                            |gfn, r| guest.read(u64::from(gfn), r.start, &mut copy[r]),
                        )
                        .unwrap_or(false);
                    if !ok {
                        return None;
                    }
                }
                indirect_segments(&copies, count, sector, &self.limits)
            }
        }
    }

    /// A write's data, copied out of the guest's pages through the grants.
    fn gather(&mut self, io: &mut Io, segs: &[Segment]) -> Option<Vec<u8>> {
        let total = segs.iter().map(|s| s.page_bytes().len()).sum();
        let mut data = vec![0u8; total];
        let mut at = 0;
        for s in segs {
            let r = s.page_bytes();
            let chunk = &mut data[at..at + r.len()];
            let guest = &mut *io.guest;
            let ok = io
                .grants
                .copy(
                    self.backend,
                    s.gref,
                    false,
                    r.start as u16,
                    r.len() as u16,
                    |gfn, range| guest.read(u64::from(gfn), range.start, chunk),
                )
                .unwrap_or(false);
            if !ok {
                return None;
            }
            at += r.len();
        }
        Some(data)
    }

    /// A read's data, copied into the guest's pages through the grants
    /// (each must be writable: a disk read writes guest memory).
    fn scatter(&mut self, io: &mut Io, segs: &[Segment], data: &[u8]) -> bool {
        let mut at = 0;
        for s in segs {
            let r = s.page_bytes();
            let Some(chunk) = data.get(at..at + r.len()) else {
                return false;
            };
            let guest = &mut *io.guest;
            let ok = io
                .grants
                .copy(
                    self.backend,
                    s.gref,
                    true,
                    r.start as u16,
                    r.len() as u16,
                    |gfn, range| guest.write(u64::from(gfn), range.start, chunk),
                )
                .unwrap_or(false);
            if !ok {
                return false;
            }
            at += r.len();
        }
        true
    }

    /// Hands waiting work to the disk while it takes it.
    fn submit_waiting(&mut self, io: &mut Io) {
        while let Some((pending, request)) = self.waiting.pop_front() {
            match io.disk.submit(request) {
                Ok(id) => {
                    self.pending.insert(id, pending);
                }
                Err(SubmitError::Full(request)) => {
                    self.waiting.push_front((pending, request));
                    return;
                }
            }
        }
    }

    /// Answers what the disk finished.
    fn complete(&mut self, io: &mut Io) -> Result<(), RingError> {
        while let Some(c) = io.disk.poll() {
            // Ids are never reused, so a completion of a request an earlier
            // connection submitted (its engine gone) matches nothing here
            // and is dropped: a read's data never reaches the guest after
            // the request was abandoned.
            let Some(p) = self.pending.remove(&c.id) else {
                continue;
            };
            let status = match (p.stage, c.result) {
                (_, Err(block_backend::BlockError::Unsupported)) => BLKIF_RSP_EOPNOTSUPP,
                (_, Err(_)) => BLKIF_RSP_ERROR,
                (Stage::Read(segs), Ok(data)) => {
                    if self.scatter(io, &segs, &data) {
                        self.stats.reads += 1;
                        self.stats.bytes_read += data.len() as u64;
                        BLKIF_RSP_OKAY
                    } else {
                        BLKIF_RSP_ERROR
                    }
                }
                (Stage::Write { flush: true }, Ok(_)) => {
                    // Durable before answered: a flush covering it follows.
                    self.stats.writes += 1;
                    self.stats.flushes += 1;
                    let next = Pending {
                        id: p.id,
                        operation: p.operation,
                        stage: Stage::Flush,
                    };
                    self.waiting.push_back((next, Request::Flush));
                    self.submit_waiting(io);
                    continue;
                }
                (Stage::Write { flush: false }, Ok(_)) => {
                    self.stats.writes += 1;
                    BLKIF_RSP_OKAY
                }
                (Stage::Flush, Ok(_)) => BLKIF_RSP_OKAY,
            };
            self.respond(io, p.id, p.operation, status)?;
        }
        Ok(())
    }
}

/// The ring's memory for one access.
fn ring<'a>(io: &'a mut Io) -> RingFrames<'a> {
    RingFrames {
        gfns: io.ring,
        guest: &mut *io.guest,
    }
}

#[cfg(test)]
mod tests;
