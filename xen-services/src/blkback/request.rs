//! Decoding and checking a blkif request copied out of its ring slot
//! (`xen/include/public/io/blkif.h`), before any of it is acted on.
//!
//! What is refused, and with what (the frontend sees the status in the
//! response, which always echoes the request's `id` and operation — for
//! an indirect request its `indirect_op` — since Linux's blkfront disables
//! the disk on a mismatch):
//!
//! - an operation the backend did not advertise, or does not know:
//!   `BLKIF_RSP_EOPNOTSUPP` (as Linux's blkback answers unknown ones);
//! - a read or write with no segments or more than the request may carry
//!   (11 direct, `feature-max-indirect-segments` indirect), a segment with
//!   `first_sect > last_sect` or `last_sect` past the page's eighth sector,
//!   a transfer reaching past the disk's last sector, a write (or discard)
//!   to a read-only disk: `BLKIF_RSP_ERROR`.
//!
//! Grants are not looked at here: they are checked when the data moves
//! ([`super::transfer`]), since the frontend may revoke one at any time.

use alloc::vec::Vec;
use xen_abi::blkif::{
    BlkifRequest, BlkifRequestDiscard, BlkifRequestIndirect, BlkifRequestSegment,
    BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_DISCARD,
    BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE,
    BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_SECTOR_SIZE,
    BLKIF_SEGMENTS_PER_INDIRECT_PAGE,
};
use xen_abi::grant_table::GrantRef;

use super::ring::SLOT_BYTES;

/// 512-byte sectors in a granted page.
pub const SECTORS_PER_PAGE: u8 = (xen_abi::XEN_PAGE_SIZE / BLKIF_SECTOR_SIZE) as u8;

/// What the backend advertised and the disk is: the bounds requests are
/// checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskLimits {
    /// The disk's size in 512-byte sectors.
    pub sectors: u64,
    /// Writes and discards are refused.
    pub read_only: bool,
    /// `feature-flush-cache` was advertised.
    pub flush: bool,
    /// `feature-barrier` was advertised.
    pub barrier: bool,
    /// `feature-discard` was advertised.
    pub discard: bool,
    /// `feature-max-indirect-segments` (0: indirect requests not offered).
    pub max_indirect_segments: u32,
}

/// One page of a transfer, bounds already checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub gref: GrantRef,
    /// First sector inside the page (0..=7).
    pub first_sect: u8,
    /// Last sector inside the page (first_sect..=7).
    pub last_sect: u8,
}

impl Segment {
    /// Checks a segment entry's bounds.
    pub fn checked(raw: &BlkifRequestSegment) -> Option<Self> {
        (raw.first_sect <= raw.last_sect && raw.last_sect < SECTORS_PER_PAGE).then_some(Self {
            gref: raw.gref,
            first_sect: raw.first_sect,
            last_sect: raw.last_sect,
        })
    }

    /// Sectors the segment moves.
    pub const fn sectors(&self) -> u64 {
        (self.last_sect - self.first_sect) as u64 + 1
    }

    /// The bytes of the granted page it moves.
    pub fn page_bytes(&self) -> core::ops::Range<usize> {
        usize::from(self.first_sect) * BLKIF_SECTOR_SIZE
            ..(usize::from(self.last_sect) + 1) * BLKIF_SECTOR_SIZE
    }
}

/// Where a transfer's segments are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segments {
    /// In the request itself.
    Direct(Vec<Segment>),
    /// `count` of them in the granted pages `pages` (decoded with
    /// [`indirect_segments`] once the pages are read through their grants).
    Indirect { count: u16, pages: Vec<GrantRef> },
}

/// A request the backend will carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// Read the disk into the segments (device writes into guest memory).
    Read { sector: u64, segments: Segments },
    /// Write the segments to the disk; `flush` makes the request complete
    /// only once the write is durable, as a `FLUSH_DISKCACHE` or
    /// `WRITE_BARRIER` request carrying data asks (blkfront sends FUA and
    /// preflush writes that way).
    Write {
        sector: u64,
        segments: Segments,
        flush: bool,
    },
    /// Make every completed write durable.
    Flush,
    /// Discard `sectors` sectors at `sector`.
    Discard { sector: u64, sectors: u64 },
}

/// A decoded request: the tag and operation its response echoes, and what
/// to do or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub id: u64,
    /// The operation the response carries.
    pub operation: u8,
    pub work: Result<Work, i16>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The segment entry at byte `at` of `b` (a request slot or an indirect
/// page).
fn raw_segment(b: &[u8], at: usize) -> BlkifRequestSegment {
    BlkifRequestSegment {
        gref: u32_at(b, at + core::mem::offset_of!(BlkifRequestSegment, gref)),
        first_sect: b[at + core::mem::offset_of!(BlkifRequestSegment, first_sect)],
        last_sect: b[at + core::mem::offset_of!(BlkifRequestSegment, last_sect)],
        pad: [0; 2],
    }
}

/// Whether `sectors` sectors from `sector` lie inside the disk.
fn inside(limits: &DiskLimits, sector: u64, sectors: u64) -> bool {
    sector
        .checked_add(sectors)
        .is_some_and(|end| end <= limits.sectors)
}

/// Decodes the request in `slot` (a copy the frontend can no longer
/// change) against what the backend offered.
pub fn decode(slot: &[u8; SLOT_BYTES], limits: &DiskLimits) -> Decoded {
    // Every request kind keeps its operation at 0 and its id at 8.
    let operation = slot[core::mem::offset_of!(BlkifRequest, operation)];
    let id = u64_at(slot, core::mem::offset_of!(BlkifRequest, id));
    let reject = |operation: u8, status: i16| Decoded {
        id,
        operation,
        work: Err(status),
    };
    match operation {
        BLKIF_OP_READ | BLKIF_OP_WRITE => decode_direct(slot, id, operation, false, limits),
        BLKIF_OP_FLUSH_DISKCACHE if limits.flush => {
            decode_direct(slot, id, operation, true, limits)
        }
        BLKIF_OP_WRITE_BARRIER if limits.barrier => {
            decode_direct(slot, id, operation, true, limits)
        }
        BLKIF_OP_INDIRECT if limits.max_indirect_segments > 0 => decode_indirect(slot, id, limits),
        BLKIF_OP_DISCARD if limits.discard => {
            let sector = u64_at(
                slot,
                core::mem::offset_of!(BlkifRequestDiscard, sector_number),
            );
            let sectors = u64_at(slot, core::mem::offset_of!(BlkifRequestDiscard, nr_sectors));
            let work = if limits.read_only || !inside(limits, sector, sectors) {
                Err(BLKIF_RSP_ERROR)
            } else {
                Ok(Work::Discard { sector, sectors })
            };
            Decoded {
                id,
                operation,
                work,
            }
        }
        _ => reject(operation, BLKIF_RSP_EOPNOTSUPP),
    }
}

/// A read, a write, or a flush or barrier (with or without data), whose
/// segments are in the slot.
fn decode_direct(
    slot: &[u8; SLOT_BYTES],
    id: u64,
    operation: u8,
    flush: bool,
    limits: &DiskLimits,
) -> Decoded {
    let nr = usize::from(slot[core::mem::offset_of!(BlkifRequest, nr_segments)]);
    let sector = u64_at(slot, core::mem::offset_of!(BlkifRequest, sector_number));
    let done = |work| Decoded {
        id,
        operation,
        work,
    };
    if flush && nr == 0 {
        // Nothing to write: harmless on a read-only disk too.
        return done(Ok(Work::Flush));
    }
    if nr == 0 || nr > BLKIF_MAX_SEGMENTS_PER_REQUEST {
        return done(Err(BLKIF_RSP_ERROR));
    }
    let base = core::mem::offset_of!(BlkifRequest, seg);
    let step = core::mem::size_of::<BlkifRequestSegment>();
    let mut segments = Vec::with_capacity(nr);
    for i in 0..nr {
        match Segment::checked(&raw_segment(slot, base + i * step)) {
            Some(s) => segments.push(s),
            None => return done(Err(BLKIF_RSP_ERROR)),
        }
    }
    let sectors = segments.iter().map(Segment::sectors).sum();
    let write = operation != BLKIF_OP_READ;
    if !inside(limits, sector, sectors) || (write && limits.read_only) {
        return done(Err(BLKIF_RSP_ERROR));
    }
    let segments = Segments::Direct(segments);
    done(Ok(if write {
        Work::Write {
            sector,
            segments,
            flush,
        }
    } else {
        Work::Read { sector, segments }
    }))
}

/// An indirect read or write: the count and pages are checked here, the
/// segments once their pages are read ([`indirect_segments`]).
fn decode_indirect(slot: &[u8; SLOT_BYTES], id: u64, limits: &DiskLimits) -> Decoded {
    let op = slot[core::mem::offset_of!(BlkifRequestIndirect, indirect_op)];
    let count = u16_at(
        slot,
        core::mem::offset_of!(BlkifRequestIndirect, nr_segments),
    );
    let sector = u64_at(
        slot,
        core::mem::offset_of!(BlkifRequestIndirect, sector_number),
    );
    let done = |work| Decoded {
        id,
        operation: op,
        work,
    };
    if op != BLKIF_OP_READ && op != BLKIF_OP_WRITE {
        return done(Err(BLKIF_RSP_EOPNOTSUPP));
    }
    if count == 0 || u32::from(count) > limits.max_indirect_segments {
        return done(Err(BLKIF_RSP_ERROR));
    }
    let npages = usize::from(count).div_ceil(BLKIF_SEGMENTS_PER_INDIRECT_PAGE);
    if npages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST {
        return done(Err(BLKIF_RSP_ERROR));
    }
    // At least one sector per segment: a cheap early bound; the exact one
    // is checked with the segments.
    if !inside(limits, sector, u64::from(count)) || (op == BLKIF_OP_WRITE && limits.read_only) {
        return done(Err(BLKIF_RSP_ERROR));
    }
    let base = core::mem::offset_of!(BlkifRequestIndirect, indirect_grefs);
    let pages = (0..npages).map(|i| u32_at(slot, base + 4 * i)).collect();
    let segments = Segments::Indirect { count, pages };
    done(Ok(if op == BLKIF_OP_WRITE {
        Work::Write {
            sector,
            segments,
            flush: false,
        }
    } else {
        Work::Read { sector, segments }
    }))
}

/// The `count` segments listed in an indirect request's pages (each page
/// read once through its grant, then decoded from the copy), checked as
/// direct ones are, and the whole transfer against the disk's end.
/// `None` for a bad segment or a transfer past the end.
pub fn indirect_segments(
    pages: &[[u8; xen_abi::XEN_PAGE_SIZE]],
    count: u16,
    sector: u64,
    limits: &DiskLimits,
) -> Option<Vec<Segment>> {
    let step = core::mem::size_of::<BlkifRequestSegment>();
    let mut out = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let page = pages.get(i / BLKIF_SEGMENTS_PER_INDIRECT_PAGE)?;
        let at = (i % BLKIF_SEGMENTS_PER_INDIRECT_PAGE) * step;
        out.push(Segment::checked(&raw_segment(page, at))?);
    }
    let sectors = out.iter().map(Segment::sectors).sum();
    inside(limits, sector, sectors).then_some(out)
}

#[cfg(test)]
mod tests;
