//! The engine with a frontend written here (requests, grants and the ring
//! in a plain byte "guest"), a disk that completes when told, and
//! frontends that misbehave.

use super::*;
use crate::blkback::ring::SLOT_BYTES;
use crate::grant_table::DEFAULT_MAX_FRAMES;
use alloc::collections::BTreeSet;
use block_backend::{BlockError, Completion};
use xen_abi::blkif::{
    blkif_ring_size, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE,
};
use xen_abi::grant_table::{
    GrantRef, GRANT_ENTRIES_V1_PER_FRAME, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING,
};
use xen_abi::ring::entry_offset;

const BACKEND: DomId = 0;
/// Guest frames: 0 is the ring, the rest data and indirect pages.
const FRAMES: usize = 64;
const RING_GFN: u64 = 0;
const DISK_SECTORS: u64 = 4096;

/// The frontend's RAM.
struct Guest(Vec<[u8; XEN_PAGE_SIZE]>);

impl GuestFrames for Guest {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> bool {
        let Some(src) = self
            .0
            .get(gfn as usize)
            .and_then(|p| p.get(offset..offset + buf.len()))
        else {
            return false;
        };
        buf.copy_from_slice(src);
        true
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> bool {
        let Some(dst) = self
            .0
            .get_mut(gfn as usize)
            .and_then(|p| p.get_mut(offset..offset + data.len()))
        else {
            return false;
        };
        dst.copy_from_slice(data);
        true
    }
}

/// A disk that holds requests until [`Disk::finish`]; fails reads or writes
/// of the sectors in `bad`.
struct Disk {
    bytes: Vec<u8>,
    depth: usize,
    next: u64,
    held: Vec<(RequestId, Request)>,
    done: VecDeque<Completion>,
    /// What the disk did, in order: 'R', 'W', 'F'.
    log: Vec<char>,
    bad: BTreeSet<u64>,
    unsupported_flush: bool,
}

impl Disk {
    fn new(depth: usize) -> Self {
        Self {
            bytes: (0..DISK_SECTORS as usize * 512)
                .map(|i| (i / 512) as u8 ^ (i as u8))
                .collect(),
            depth,
            next: 0,
            held: Vec::new(),
            done: VecDeque::new(),
            log: Vec::new(),
            bad: BTreeSet::new(),
            unsupported_flush: false,
        }
    }

    /// Completes the held requests, newest first (any order is legal).
    fn finish(&mut self) {
        while let Some((id, r)) = self.held.pop() {
            let bad = |off: u64, len: usize| {
                (off / 512..(off + len as u64).div_ceil(512)).any(|s| self.bad.contains(&s))
            };
            let result = match r {
                Request::Read { offset, len } => {
                    self.log.push('R');
                    if bad(offset, len) {
                        Err(BlockError::Io)
                    } else {
                        Ok(self.bytes[offset as usize..offset as usize + len].to_vec())
                    }
                }
                Request::Write { offset, data } => {
                    self.log.push('W');
                    if bad(offset, data.len()) {
                        Err(BlockError::Io)
                    } else {
                        self.bytes[offset as usize..offset as usize + data.len()]
                            .copy_from_slice(&data);
                        Ok(Vec::new())
                    }
                }
                Request::Flush => {
                    self.log.push('F');
                    if self.unsupported_flush {
                        Err(BlockError::Unsupported)
                    } else {
                        Ok(Vec::new())
                    }
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
        self.held.push((id, request));
        Ok(id)
    }
    fn poll(&mut self) -> Option<Completion> {
        self.done.pop_front()
    }
}

/// The whole set-up: guest, grant table, frontend ring state, disk, engine.
struct Rig {
    guest: Guest,
    grants: GrantTable,
    disk: Disk,
    engine: VbdEngine,
    /// The ring's frames.
    ring: Vec<u64>,
    size: u32,
    req_prod_pvt: u32,
    rsp_cons: u32,
}

const LIMITS: DiskLimits = DiskLimits {
    sectors: DISK_SECTORS,
    read_only: false,
    flush: true,
    barrier: false,
    discard: false,
    max_indirect_segments: 1024,
};

impl Rig {
    fn new(depth: usize) -> Self {
        let size = blkif_ring_size(0);
        let mut guest = Guest(vec![[0u8; XEN_PAGE_SIZE]; FRAMES]);
        // SHARED_RING_INIT.
        guest.0[0][4..8].copy_from_slice(&1u32.to_le_bytes());
        guest.0[0][12..16].copy_from_slice(&1u32.to_le_bytes());
        let mut grants = GrantTable::new(DEFAULT_MAX_FRAMES);
        grants.setup_table(4);
        Self {
            guest,
            grants,
            disk: Disk::new(depth),
            engine: VbdEngine::new(0, LIMITS, BACKEND),
            ring: vec![RING_GFN],
            size,
            req_prod_pvt: 0,
            rsp_cons: 0,
        }
    }

    /// `gnttab_grant_foreign_access_ref`.
    fn grant(&mut self, gref: GrantRef, domid: DomId, gfn: u32, readonly: bool) {
        let per = GRANT_ENTRIES_V1_PER_FRAME as u32;
        let off = (gref % per) as usize * 8;
        let frame = self.grants.frame_mut(gref / per).unwrap();
        frame[off + 2..off + 4].copy_from_slice(&domid.to_le_bytes());
        frame[off + 4..off + 8].copy_from_slice(&gfn.to_le_bytes());
        let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
        frame[off..off + 2].copy_from_slice(&flags.to_le_bytes());
    }

    /// Writes a raw request slot and publishes it.
    fn push(&mut self, slot: [u8; SLOT_BYTES]) {
        let at = entry_offset(self.req_prod_pvt, self.size, SLOT_BYTES);
        self.guest.0[0][at..at + SLOT_BYTES].copy_from_slice(&slot);
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
        self.guest.0[0][0..4].copy_from_slice(&self.req_prod_pvt.to_le_bytes());
    }

    fn request(&mut self, op: u8, id: u64, sector: u64, segs: &[(u32, u8, u8)]) {
        let mut s = [0u8; SLOT_BYTES];
        s[0] = op;
        s[1] = segs.len() as u8;
        s[8..16].copy_from_slice(&id.to_le_bytes());
        s[16..24].copy_from_slice(&sector.to_le_bytes());
        for (i, (g, f, l)) in segs.iter().enumerate() {
            let at = 24 + 8 * i;
            s[at..at + 4].copy_from_slice(&g.to_le_bytes());
            s[at + 4] = *f;
            s[at + 5] = *l;
        }
        self.push(s);
    }

    fn service(&mut self) -> Result<bool, RingError> {
        let ring = self.ring.clone();
        self.engine.service(&mut Io {
            ring: &ring,
            grants: &mut self.grants,
            guest: &mut self.guest,
            disk: &mut self.disk,
        })
    }

    /// The responses published since the last call.
    fn responses(&mut self) -> Vec<(u64, u8, i16)> {
        let mut out = Vec::new();
        let prod = u32::from_le_bytes(self.guest.0[0][8..12].try_into().unwrap());
        while self.rsp_cons != prod {
            let at = entry_offset(self.rsp_cons, self.size, SLOT_BYTES);
            let b = &self.guest.0[0][at..at + 16];
            out.push((
                u64::from_le_bytes(b[0..8].try_into().unwrap()),
                b[8],
                i16::from_le_bytes([b[10], b[11]]),
            ));
            self.rsp_cons = self.rsp_cons.wrapping_add(1);
        }
        self.guest.0[0][12..16].copy_from_slice(&self.rsp_cons.wrapping_add(1).to_le_bytes());
        out
    }

    /// Services and completes until the engine is idle.
    fn run(&mut self) -> Vec<(u64, u8, i16)> {
        let mut out = Vec::new();
        for _ in 0..100 {
            self.service().unwrap();
            out.extend(self.responses());
            if !self.engine.busy() && self.engine.in_flight() == 0 {
                break;
            }
            self.disk.finish();
        }
        out
    }

    fn flags(&self, gref: GrantRef) -> u16 {
        self.grants.header(gref).unwrap() as u16
    }
}

/// The bytes the disk starts with at `sector`.
fn disk_bytes(d: &Disk, sector: u64, len: usize) -> Vec<u8> {
    d.bytes[sector as usize * 512..sector as usize * 512 + len].to_vec()
}

#[test]
fn reads_land_in_the_granted_pages_and_writes_reach_the_disk() {
    let mut r = Rig::new(8);
    r.grant(8, BACKEND, 10, false);
    r.grant(9, BACKEND, 11, false);
    r.request(BLKIF_OP_READ, 1, 100, &[(8, 0, 7), (9, 2, 3)]);
    let rsp = r.run();
    assert_eq!(rsp, [(1, BLKIF_OP_READ, 0)]);
    assert_eq!(r.guest.0[10][..], disk_bytes(&r.disk, 100, 4096)[..]);
    assert_eq!(
        r.guest.0[11][1024..2048],
        disk_bytes(&r.disk, 108, 1024)[..]
    );
    assert!(r.guest.0[11][..1024].iter().all(|b| *b == 0));
    // The grants are reused (persistent) and left without in-use flags.
    assert_eq!(r.flags(8) & (GTF_READING | GTF_WRITING), 0);
    r.guest.0[12].fill(0xA5);
    r.grant(10, BACKEND, 12, true);
    r.request(BLKIF_OP_WRITE, 2, 7, &[(10, 1, 1)]);
    assert_eq!(r.run(), [(2, BLKIF_OP_WRITE, 0)]);
    assert_eq!(disk_bytes(&r.disk, 7, 512), vec![0xA5; 512]);
    assert_ne!(disk_bytes(&r.disk, 6, 512), vec![0xA5; 512]);
    assert_eq!(r.engine.stats.bytes_read, 5120);
    assert_eq!(r.engine.stats.bytes_written, 512);
}

#[test]
fn completions_in_any_order_answer_the_right_ids() {
    let mut r = Rig::new(32);
    for i in 0..20u32 {
        r.grant(8 + i, BACKEND, 10 + i, false);
        r.request(
            BLKIF_OP_READ,
            1000 + u64::from(i),
            u64::from(i) * 8,
            &[(8 + i, 0, 7)],
        );
    }
    let rsp = r.run();
    assert_eq!(rsp.len(), 20);
    // The disk finished them newest first.
    assert_eq!(rsp[0].0, 1019);
    for i in 0..20usize {
        assert_eq!(
            r.guest.0[10 + i][..],
            disk_bytes(&r.disk, i as u64 * 8, 4096)[..]
        );
    }
    assert_eq!(r.engine.stats.max_in_flight, 20);
}

#[test]
fn a_disk_with_less_room_than_the_ring_gets_requests_as_it_frees_up() {
    let mut r = Rig::new(2);
    for i in 0..32u32 {
        r.grant(8 + i, BACKEND, 10 + i, false);
        r.request(BLKIF_OP_READ, u64::from(i), 0, &[(8 + i, 0, 0)]);
    }
    r.service().unwrap();
    // Two at the disk, one taken and waiting, the rest still in the ring.
    assert_eq!(r.disk.held.len(), 2);
    assert_eq!(r.engine.in_flight(), 3);
    let rsp = r.run();
    let ids: BTreeSet<u64> = rsp.iter().map(|x| x.0).collect();
    assert_eq!(ids.len(), 32);
    assert!(rsp.iter().all(|x| x.2 == 0));
}

#[test]
fn a_flush_with_data_is_answered_after_the_write_and_a_flush() {
    let mut r = Rig::new(8);
    r.grant(8, BACKEND, 10, true);
    r.request(BLKIF_OP_FLUSH_DISKCACHE, 5, 16, &[(8, 0, 7)]);
    r.service().unwrap();
    r.disk.finish();
    r.service().unwrap();
    assert!(r.responses().is_empty(), "answered before the flush");
    r.disk.finish();
    r.service().unwrap();
    assert_eq!(r.responses(), [(5, BLKIF_OP_FLUSH_DISKCACHE, 0)]);
    assert_eq!(r.disk.log, ['W', 'F']);
    // Without data: a flush alone.
    r.request(BLKIF_OP_FLUSH_DISKCACHE, 6, 0, &[]);
    assert_eq!(r.run(), [(6, BLKIF_OP_FLUSH_DISKCACHE, 0)]);
    assert_eq!(r.disk.log, ['W', 'F', 'F']);
}

#[test]
fn grants_that_do_not_allow_the_transfer_fail_the_request() {
    let mut r = Rig::new(8);
    // A read into a read-only grant: the device would write guest memory.
    r.grant(8, BACKEND, 10, true);
    // Granted to another domain.
    r.grant(9, 7, 11, false);
    // Never granted.
    // A ref past the table.
    r.request(BLKIF_OP_READ, 1, 0, &[(8, 0, 7)]);
    r.request(BLKIF_OP_READ, 2, 0, &[(9, 0, 7)]);
    r.request(BLKIF_OP_WRITE, 3, 0, &[(20, 0, 7)]);
    r.request(BLKIF_OP_WRITE, 4, 0, &[(0x7FFF_FFFF, 0, 7)]);
    // A grant of a frame that is not the guest's RAM.
    r.grant(21, BACKEND, 5000, false);
    r.request(BLKIF_OP_READ, 5, 0, &[(21, 0, 7)]);
    r.request(BLKIF_OP_WRITE, 6, 0, &[(21, 0, 7)]);
    let rsp = r.run();
    assert_eq!(rsp.len(), 6);
    assert!(rsp.iter().all(|x| x.2 == BLKIF_RSP_ERROR), "{rsp:?}");
    assert!(
        r.guest.0[10].iter().all(|b| *b == 0),
        "wrote a read-only grant's page"
    );
    assert!(r.guest.0[11].iter().all(|b| *b == 0));
    for g in [8, 9, 21] {
        assert_eq!(r.flags(g) & (GTF_READING | GTF_WRITING), 0, "gref {g}");
    }
    // Nothing reached the disk for the writes.
    assert!(!r.disk.log.contains(&'W'));
}

#[test]
fn disk_errors_come_back_as_errors_never_success() {
    let mut r = Rig::new(8);
    r.disk.bad.insert(40);
    r.grant(8, BACKEND, 10, false);
    r.request(BLKIF_OP_READ, 1, 36, &[(8, 0, 7)]);
    r.request(BLKIF_OP_WRITE, 2, 40, &[(8, 0, 0)]);
    r.request(BLKIF_OP_READ, 3, 48, &[(8, 0, 7)]);
    let mut rsp = r.run();
    rsp.sort();
    assert_eq!(
        rsp,
        [
            (1, BLKIF_OP_READ, BLKIF_RSP_ERROR),
            (2, BLKIF_OP_WRITE, BLKIF_RSP_ERROR),
            (3, BLKIF_OP_READ, 0)
        ]
    );
    r.disk.unsupported_flush = true;
    r.request(BLKIF_OP_FLUSH_DISKCACHE, 4, 0, &[]);
    assert_eq!(
        r.run(),
        [(4, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_RSP_EOPNOTSUPP)]
    );
    assert_eq!(r.engine.stats.errors, 3);
}

#[test]
fn indirect_requests_read_their_segment_pages_through_grants() {
    let mut r = Rig::new(8);
    // 40 segments of one sector each over 5 data pages; the segment list
    // in page 30 (granted read-only, as blkfront grants it).
    let mut list = [0u8; XEN_PAGE_SIZE];
    for i in 0..40usize {
        let gref = 8 + (i / 8) as u32;
        list[8 * i..8 * i + 4].copy_from_slice(&gref.to_le_bytes());
        list[8 * i + 4] = (i % 8) as u8;
        list[8 * i + 5] = (i % 8) as u8;
    }
    r.guest.0[30] = list;
    r.grant(100, BACKEND, 30, true);
    for p in 0..5 {
        r.grant(8 + p, BACKEND, 10 + p, false);
    }
    let mut s = [0u8; SLOT_BYTES];
    s[0] = BLKIF_OP_INDIRECT;
    s[1] = BLKIF_OP_READ;
    s[2..4].copy_from_slice(&40u16.to_le_bytes());
    s[8..16].copy_from_slice(&77u64.to_le_bytes());
    s[16..24].copy_from_slice(&200u64.to_le_bytes());
    s[28..32].copy_from_slice(&100u32.to_le_bytes());
    r.push(s);
    assert_eq!(r.run(), [(77, BLKIF_OP_READ, 0)]);
    // Segment i carries disk sector 200 + i into sector i % 8 of its page.
    for i in 0..40usize {
        let page = 10 + i / 8;
        let at = (i % 8) * 512;
        assert_eq!(
            r.guest.0[page][at..at + 512],
            disk_bytes(&r.disk, 200 + i as u64, 512)[..],
            "segment {i}"
        );
    }
    // The same with the list's grant revoked: an error, nothing read.
    r.grants.frame_mut(0).unwrap()[100 * 8..100 * 8 + 2].fill(0);
    r.push(s);
    assert_eq!(r.run(), [(77, BLKIF_OP_READ, BLKIF_RSP_ERROR)]);
}

#[test]
fn a_late_completion_from_an_earlier_connection_touches_nothing() {
    let mut r = Rig::new(8);
    r.grant(8, BACKEND, 10, false);
    r.request(BLKIF_OP_READ, 1, 0, &[(8, 0, 7)]);
    r.service().unwrap();
    // The frontend disconnects and reconnects with a fresh ring before the
    // disk answers.
    r.engine = VbdEngine::new(0, LIMITS, BACKEND);
    r.guest.0[0].fill(0);
    r.req_prod_pvt = 0;
    r.rsp_cons = 0;
    r.disk.finish();
    r.service().unwrap();
    assert!(r.responses().is_empty());
    assert!(r.guest.0[10].iter().all(|b| *b == 0));
}

#[test]
fn multi_page_rings_serve_through_every_frame() {
    let mut r = Rig::new(64);
    // Four ring pages at frames 40..44, 128 slots.
    r.engine = VbdEngine::new(2, LIMITS, BACKEND);
    r.ring = vec![40, 41, 42, 43];
    r.size = blkif_ring_size(2);
    r.grant(8, BACKEND, 10, false);
    let mut answered = 0;
    for round in 0..3 {
        for i in 0..r.size {
            let at = entry_offset(r.req_prod_pvt, r.size, SLOT_BYTES);
            let mut s = [0u8; SLOT_BYTES];
            s[0] = BLKIF_OP_READ;
            s[1] = 1;
            s[8..16].copy_from_slice(&(u64::from(round * 1000 + i)).to_le_bytes());
            s[24..28].copy_from_slice(&8u32.to_le_bytes());
            for (k, b) in s.iter().enumerate() {
                let off = at + k;
                r.guest.0[40 + off / 4096][off % 4096] = *b;
            }
            r.req_prod_pvt += 1;
        }
        r.guest.0[40][0..4].copy_from_slice(&r.req_prod_pvt.to_le_bytes());
        for _ in 0..10 {
            r.service().unwrap();
            r.disk.finish();
        }
        let prod = u32::from_le_bytes(r.guest.0[40][8..12].try_into().unwrap());
        answered += prod - r.rsp_cons;
        r.rsp_cons = prod;
    }
    assert_eq!(answered, 3 * 128);
}

#[test]
fn a_storm_of_hostile_slots_and_indices_never_panics() {
    let mut rng = test_rng::XorShift::per_run("blkback_engine_storm", 0xB1C);
    for _ in 0..200 {
        let mut r = Rig::new(1 + rng.below(16) as usize);
        for g in 8..40 {
            let bits = rng.next();
            r.grant(
                g,
                (bits % 3) as u16,
                10 + (bits >> 8) as u32 % 80,
                bits & 1 << 20 != 0,
            );
        }
        for _ in 0..rng.below(60) {
            let mut s = [0u8; SLOT_BYTES];
            for b in s.iter_mut() {
                *b = rng.next() as u8;
            }
            s[0] %= 8;
            if rng.below(2) == 0 {
                s[1] %= 12;
                s[16..24].copy_from_slice(&(rng.below(DISK_SECTORS + 8)).to_le_bytes());
                for i in 0..11 {
                    let at = 24 + 8 * i;
                    s[at..at + 4].copy_from_slice(&(8 + rng.below(40) as u32).to_le_bytes());
                    s[at + 4] %= 9;
                    s[at + 5] %= 9;
                }
            }
            r.push(s);
            if rng.below(8) == 0 {
                let bogus = rng.next() as u32;
                r.guest.0[0][0..4].copy_from_slice(&bogus.to_le_bytes());
            }
            if r.service().is_err() {
                break;
            }
            if rng.below(3) == 0 {
                r.disk.finish();
            }
            r.responses();
        }
        for g in 8..40 {
            assert_eq!(r.flags(g) & (GTF_READING | GTF_WRITING), 0);
        }
    }
}

#[test]
fn a_busy_ring_asks_for_no_kick_per_request() {
    // blkfront pushes each request and kicks only if req_event says so
    // (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY); the backend serves on its own
    // polls while the disk holds requests.
    let mut r = Rig::new(32);
    r.grant(8, BACKEND, 10, false);
    let mut kicks = 0;
    for i in 0..64u64 {
        let old = r.req_prod_pvt;
        r.request(BLKIF_OP_READ, i, i, &[(8, 0, 0)]);
        let req_event = u32::from_le_bytes(r.guest.0[0][4..8].try_into().unwrap());
        if xen_abi::ring::notify_needed(r.req_prod_pvt, old, req_event) {
            kicks += 1;
        }
        // The backend's polls (an exit every few requests), the disk
        // finishing now and then.
        if i % 4 == 3 {
            r.service().unwrap();
        }
        if i % 16 == 15 {
            r.disk.finish();
        }
    }
    let rsp = r.run();
    assert_eq!(rsp.len(), 64);
    assert!(rsp.iter().all(|x| x.2 == 0));
    assert!(kicks <= 2, "{kicks} kicks for 64 requests on a busy ring");
}
