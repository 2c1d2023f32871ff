//! `blkif_ring`: the PV block backend's engine
//! (`xen_services::blkback::engine::VbdEngine`) serving a ring a hostile
//! frontend writes (`io/blkif.h`, `io/ring.h`): raw or well-formed request
//! slots, scribbled indices and event fields, grant entries that change
//! between passes (revoked, read-only, for another domain, naming frames
//! outside the guest), indirect segment pages, and a disk that completes
//! in any order, fails requests, or has less room than the ring.
//!
//! The input starts with the set-up (ring order, disk depth, read-only,
//! flush); the rest is a script of one-byte operations with their operands.
//!
//! Beyond not panicking: no grant is left pinned after a pass (so the
//! backend never leaves `GTF_reading`/`GTF_writing` set), the engine never has more requests in flight than the
//! ring has slots, and the backend writes only the response slots and its
//! own indices of the ring (never `req_prod` or `rsp_event`, unless the
//! guest granted a ring page as a data buffer).

use crate::input::Input;
use std::collections::VecDeque;
use xen_abi::blkif::blkif_ring_size;
use xen_abi::grant_table::GRANT_ENTRIES_V1_PER_FRAME;
use xen_abi::XEN_PAGE_SIZE;
use xen_services::blkback::engine::{GuestFrames, Io, VbdEngine};
use xen_services::blkback::request::DiskLimits;
use xen_services::grant_table::GrantTable;

use block_backend::{BlockError, BlockQueue, Completion, Request, RequestId, SubmitError};

/// Most script steps one input runs.
const MAX_OPS: usize = 2048;
/// The guest's RAM in frames; grants may name frames past it.
const FRAMES: usize = 24;
/// Grant refs the script uses (8.. as blkfront does, plus a few reserved).
const GREFS: u32 = 48;
const DISK_SECTORS: u64 = 256;

struct Guest(Vec<[u8; XEN_PAGE_SIZE]>);

impl GuestFrames for Guest {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> bool {
        let Some(src) = usize::try_from(gfn)
            .ok()
            .and_then(|g| self.0.get(g))
            .and_then(|p| p.get(offset..offset.checked_add(buf.len())?))
        else {
            return false;
        };
        buf.copy_from_slice(src);
        true
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> bool {
        let Some(dst) = usize::try_from(gfn)
            .ok()
            .and_then(|g| self.0.get_mut(g))
            .and_then(|p| p.get_mut(offset..offset.checked_add(data.len())?))
        else {
            return false;
        };
        dst.copy_from_slice(data);
        true
    }
}

/// A disk that completes when the script says, in the order it says.
struct Disk {
    bytes: Vec<u8>,
    depth: usize,
    next: u64,
    held: VecDeque<(RequestId, Request)>,
    done: VecDeque<Completion>,
}

impl Disk {
    /// Completes up to `n` held requests, from the front or the back, each
    /// failing when `fail` has its bit set.
    fn finish(&mut self, n: u8, from_back: bool, fail: u8) {
        for i in 0..n {
            let next = if from_back {
                self.held.pop_back()
            } else {
                self.held.pop_front()
            };
            let Some((id, r)) = next else { return };
            let result = if fail >> (i % 8) & 1 == 1 {
                Err(if i % 2 == 0 {
                    BlockError::Io
                } else {
                    BlockError::Unsupported
                })
            } else {
                match r {
                    Request::Read { offset, len } => {
                        let at = offset as usize;
                        // The engine checked bounds against the disk's size.
                        assert!(at + len <= self.bytes.len(), "read past the disk");
                        Ok(self.bytes[at..at + len].to_vec())
                    }
                    Request::Write { offset, data } => {
                        let at = offset as usize;
                        assert!(at + data.len() <= self.bytes.len(), "write past the disk");
                        self.bytes[at..at + data.len()].copy_from_slice(&data);
                        Ok(Vec::new())
                    }
                    Request::Flush => Ok(Vec::new()),
                }
            };
            self.done.push_back(Completion { id, result });
        }
    }
}

impl BlockQueue for Disk {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_only(&self) -> bool {
        false
    }
    fn depth(&self) -> usize {
        self.depth
    }
    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError> {
        if self.held.len() + self.done.len() >= self.depth {
            return Err(SubmitError::Full(request));
        }
        let id = RequestId(self.next);
        self.next += 1;
        self.held.push_back((id, request));
        Ok(id)
    }
    fn poll(&mut self) -> Option<Completion> {
        self.done.pop_front()
    }
}

fn grant(t: &mut GrantTable, gref: u32, flags: u16, domid: u16, gfn: u32) {
    let per = GRANT_ENTRIES_V1_PER_FRAME as u32;
    let off = (gref % per) as usize * 8;
    if let Some(frame) = t.frame_mut(gref / per) {
        frame[off + 2..off + 4].copy_from_slice(&domid.to_le_bytes());
        frame[off + 4..off + 8].copy_from_slice(&gfn.to_le_bytes());
        frame[off..off + 2].copy_from_slice(&flags.to_le_bytes());
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let order = u32::from(input.u8() % 3);
    let pages = 1usize << order;
    let size = blkif_ring_size(order);
    let limits = DiskLimits {
        sectors: DISK_SECTORS,
        read_only: input.bool(),
        flush: input.bool(),
        barrier: input.bool(),
        discard: input.bool(),
        max_indirect_segments: u32::from(input.u8()),
    };
    let depth = 1 + usize::from(input.u8() % 40);
    let mut guest = Guest(vec![[0u8; XEN_PAGE_SIZE]; FRAMES]);
    // The ring is in the first frames; SHARED_RING_INIT.
    guest.0[0][4..8].copy_from_slice(&1u32.to_le_bytes());
    guest.0[0][12..16].copy_from_slice(&1u32.to_le_bytes());
    let ring: Vec<u64> = (0..pages as u64).collect();
    let mut grants = GrantTable::new(4);
    grants.setup_table(1);
    let mut disk = Disk {
        bytes: vec![0x5A; DISK_SECTORS as usize * 512],
        depth,
        next: 0,
        held: VecDeque::new(),
        done: VecDeque::new(),
    };
    let mut engine = VbdEngine::new(order, limits, 0);
    let mut req_prod = 0u32;
    let mut ring_granted = false;
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.u8() % 8 {
            // A raw slot.
            0 => {
                let slot = input.u32() % size;
                let bytes = input.bytes(112);
                put_slot(&mut guest, slot, size, bytes);
            }
            // A well-formed direct or indirect request at req_prod.
            1 => {
                let mut s = [0u8; 112];
                let op = input.choose(&[0u8, 1, 2, 3, 5, 6]);
                s[0] = op;
                s[1] = if op == 6 {
                    input.choose(&[0u8, 1])
                } else {
                    input.u8() % 13
                };
                s[8..16].copy_from_slice(&input.u64().to_le_bytes());
                s[16..24].copy_from_slice(&(input.u64() % (DISK_SECTORS + 16)).to_le_bytes());
                if op == 6 {
                    s[2..4].copy_from_slice(&u16::from(input.u8()).to_le_bytes());
                    s[28..32].copy_from_slice(&(8 + input.u32() % GREFS).to_le_bytes());
                } else {
                    for i in 0..11 {
                        let at = 24 + 8 * i;
                        s[at..at + 4].copy_from_slice(&(8 + input.u32() % GREFS).to_le_bytes());
                        s[at + 4] = input.u8() % 9;
                        s[at + 5] = input.u8() % 9;
                    }
                }
                put_slot(&mut guest, req_prod % size, size, &s);
                req_prod = req_prod.wrapping_add(1);
                guest.0[0][0..4].copy_from_slice(&req_prod.to_le_bytes());
            }
            // Scribble on the header (any index or event field).
            2 => {
                let at = usize::from(input.u8() % 64);
                let v = input.u8();
                guest.0[0][at] = v;
                if at < 4 {
                    req_prod = u32::from_le_bytes(guest.0[0][0..4].try_into().unwrap());
                }
            }
            // A grant entry, well-formed or not.
            3 => {
                let gref = input.u32() % (GREFS + 16);
                let flags = input.u16();
                let domid = input.choose(&[0u16, 0, 0, 1, 0x7FF0]);
                let gfn = input.u32() % (FRAMES as u32 + 4);
                // A guest may hand its own ring page out as a data buffer:
                // the backend then writes into the ring where told to.
                ring_granted |= (gfn as usize) < pages;
                grant(&mut grants, gref, flags, domid, gfn);
            }
            // Guest data or indirect segment pages.
            4 => {
                let frame = pages + usize::from(input.u8()) % (FRAMES - pages);
                let at = usize::from(input.u16()) % XEN_PAGE_SIZE;
                let bytes = input.bytes(64);
                let end = (at + bytes.len()).min(XEN_PAGE_SIZE);
                guest.0[frame][at..end].copy_from_slice(&bytes[..end - at]);
            }
            // The disk completes some requests.
            5 => {
                let n = input.u8();
                let back = input.bool();
                let fail = input.u8();
                disk.finish(n, back, fail);
            }
            // A pass (a kick or a completion poll).
            _ => {
                let before = guest.0[0][0..4].to_vec();
                let rsp_event = guest.0[0][12..16].to_vec();
                let result = engine.service(&mut Io {
                    ring: &ring,
                    grants: &mut grants,
                    guest: &mut guest,
                    disk: &mut disk,
                });
                if !ring_granted {
                    assert_eq!(guest.0[0][0..4], before[..], "the backend wrote req_prod");
                    assert_eq!(
                        guest.0[0][12..16],
                        rsp_event[..],
                        "the backend wrote rsp_event"
                    );
                }
                assert!(engine.in_flight() <= size);
                // The backend holds no grant between passes (the guest may
                // set the in-use bits itself; the pins are the backend's).
                for gref in 0..GREFS + 16 {
                    let pins = grants.pins(gref).unwrap_or((0, 0));
                    assert_eq!(pins, (0, 0), "gref {gref} left pinned");
                }
                if result.is_err() {
                    // A broken ring: the vbd would be closed; a new
                    // connection starts from a fresh ring.
                    engine = VbdEngine::new(order, limits, 0);
                    guest.0[0][..64].fill(0);
                    req_prod = 0;
                }
            }
        }
    }
}

/// Writes a request slot's bytes (a ring of several pages included).
fn put_slot(guest: &mut Guest, slot: u32, size: u32, bytes: &[u8]) {
    let at = xen_abi::ring::entry_offset(slot, size, 112);
    for (i, b) in bytes.iter().enumerate() {
        let off = at + i;
        if let Some(page) = guest.0.get_mut(off / XEN_PAGE_SIZE) {
            page[off % XEN_PAGE_SIZE] = *b;
        }
    }
}
