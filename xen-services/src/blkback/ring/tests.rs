//! The backend ring against a frontend written here from `ring.h`'s
//! frontend macros (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`,
//! `RING_FINAL_CHECK_FOR_RESPONSES`), and against frontends that lie.

use super::*;
use alloc::vec;
use alloc::vec::Vec;
use xen_abi::blkif::blkif_ring_size;

/// Ring pages as plain bytes; `broken` makes every access fail.
struct Pages {
    bytes: Vec<u8>,
    broken: bool,
}

impl Pages {
    fn new(order: u32) -> Self {
        let mut bytes = vec![0u8; 4096 << order];
        // SHARED_RING_INIT: the event indices start at 1.
        bytes[REQ_EVENT..REQ_EVENT + 4].copy_from_slice(&1u32.to_le_bytes());
        bytes[RSP_EVENT..RSP_EVENT + 4].copy_from_slice(&1u32.to_le_bytes());
        Self {
            bytes,
            broken: false,
        }
    }

    fn get(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap())
    }

    fn set(&mut self, at: usize, v: u32) {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl RingMemory for Pages {
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> bool {
        match self.bytes.get(offset..offset + buf.len()) {
            Some(s) if !self.broken => {
                buf.copy_from_slice(s);
                true
            }
            _ => false,
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        match self.bytes.get_mut(offset..offset + data.len()) {
            Some(s) if !self.broken => {
                s.copy_from_slice(data);
                true
            }
            _ => false,
        }
    }
}

/// The frontend's private state (`struct blkif_front_ring`).
struct Front {
    size: u32,
    req_prod_pvt: u32,
    rsp_cons: u32,
}

impl Front {
    fn new(size: u32) -> Self {
        Self {
            size,
            req_prod_pvt: 0,
            rsp_cons: 0,
        }
    }

    /// Writes a request tagged `id` into the next slot.
    fn queue(&mut self, p: &mut Pages, id: u64) {
        let at = entry_offset(self.req_prod_pvt, self.size, SLOT_BYTES);
        p.bytes[at..at + SLOT_BYTES].fill(0);
        p.bytes[at + 8..at + 16].copy_from_slice(&id.to_le_bytes());
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
    }

    /// `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`.
    fn push(&mut self, p: &mut Pages) -> bool {
        let old = p.get(REQ_PROD);
        let new = self.req_prod_pvt;
        p.set(REQ_PROD, new);
        notify_needed(new, old, p.get(REQ_EVENT))
    }

    /// Takes the published responses: (id, operation, status) each, then
    /// asks for an event at the next one (`RING_FINAL_CHECK_FOR_RESPONSES`).
    fn take(&mut self, p: &mut Pages) -> Vec<(u64, u8, i16)> {
        let mut out = Vec::new();
        while self.rsp_cons != p.get(RSP_PROD) {
            let at = entry_offset(self.rsp_cons, self.size, SLOT_BYTES);
            let b = &p.bytes[at..at + 16];
            out.push((
                u64::from_le_bytes(b[0..8].try_into().unwrap()),
                b[8],
                i16::from_le_bytes([b[10], b[11]]),
            ));
            self.rsp_cons = self.rsp_cons.wrapping_add(1);
        }
        p.set(RSP_EVENT, self.rsp_cons.wrapping_add(1));
        out
    }
}

#[test]
fn requests_go_round_and_the_ids_and_operations_come_back() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    for id in 0..5 {
        f.queue(&mut p, 100 + id);
    }
    // The backend asked for an event at the first request (req_event = 1).
    assert!(f.push(&mut p));
    let mut ids = Vec::new();
    while let Some(slot) = b.next_request(&mut p).unwrap() {
        ids.push(u64::from_le_bytes(slot[8..16].try_into().unwrap()));
    }
    assert_eq!(ids, [100, 101, 102, 103, 104]);
    assert_eq!(b.in_flight(), 5);
    for id in &ids {
        b.push_response(&mut p, *id, 1, 0).unwrap();
    }
    // The frontend asked for an event at the first response.
    assert!(b.publish(&mut p).unwrap());
    assert_eq!(b.in_flight(), 0);
    let got = f.take(&mut p);
    assert_eq!(got.len(), 5);
    assert!(got.iter().zip(&ids).all(|(g, id)| g == &(*id, 1, 0)));
}

#[test]
fn a_busy_ring_costs_one_event_each_way_per_batch() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    let (mut kicks, mut events) = (0, 0);
    for round in 0..50u64 {
        for i in 0..8 {
            f.queue(&mut p, round * 8 + i);
            // The frontend pushes each request as it queues it.
            kicks += u32::from(f.push(&mut p));
        }
        let mut taken = Vec::new();
        loop {
            while let Some(slot) = b.next_request(&mut p).unwrap() {
                taken.push(u64::from_le_bytes(slot[8..16].try_into().unwrap()));
            }
            if !b.final_check(&mut p).unwrap() {
                break;
            }
        }
        for id in taken {
            b.push_response(&mut p, id, 0, 0).unwrap();
        }
        events += u32::from(b.publish(&mut p).unwrap());
        assert_eq!(f.take(&mut p).len(), 8);
    }
    // One kick per batch of eight (after the final check asked for the
    // next request), one event per batch of responses.
    assert_eq!(kicks, 50);
    assert_eq!(events, 50);
}

#[test]
fn without_the_final_check_the_frontend_stops_kicking() {
    // Why the final check matters: req_event stays at 1 once passed.
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    f.queue(&mut p, 1);
    assert!(f.push(&mut p));
    b.next_request(&mut p).unwrap().unwrap();
    f.queue(&mut p, 2);
    assert!(!f.push(&mut p), "no kick: the backend never asked again");
    // The final check finds the request published meanwhile.
    assert!(b.final_check(&mut p).unwrap());
    b.next_request(&mut p).unwrap().unwrap();
    assert!(!b.final_check(&mut p).unwrap());
    f.queue(&mut p, 3);
    assert!(f.push(&mut p), "asked again by the final check");
}

#[test]
fn multi_page_rings_use_every_slot_including_those_across_a_page_boundary() {
    for order in 0..=4 {
        let size = blkif_ring_size(order);
        let mut p = Pages::new(order);
        let mut f = Front::new(size);
        let mut b = BackRing::new(size);
        for round in 0..3u64 {
            for i in 0..u64::from(size) {
                f.queue(&mut p, round << 32 | i);
            }
            f.push(&mut p);
            for i in 0..u64::from(size) {
                let slot = b.next_request(&mut p).unwrap().unwrap();
                assert_eq!(
                    u64::from_le_bytes(slot[8..16].try_into().unwrap()),
                    round << 32 | i
                );
            }
            assert_eq!(b.next_request(&mut p).unwrap(), None);
            for i in 0..u64::from(size) {
                b.push_response(&mut p, round << 32 | i, 0, 0).unwrap();
            }
            b.publish(&mut p).unwrap();
            assert_eq!(f.take(&mut p).len(), size as usize);
        }
    }
}

#[test]
fn indices_wrap_at_two_to_the_32() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let start = u32::MAX - 3;
    let mut f = Front::new(size);
    f.req_prod_pvt = start;
    f.rsp_cons = start;
    p.set(REQ_PROD, start);
    p.set(RSP_PROD, start);
    let mut b = BackRing::new(size);
    b.req_cons = start;
    b.rsp_prod_pvt = start;
    b.rsp_published = start;
    for id in 0..10 {
        f.queue(&mut p, id);
    }
    f.push(&mut p);
    let mut n = 0;
    while let Some(slot) = b.next_request(&mut p).unwrap() {
        let id = u64::from_le_bytes(slot[8..16].try_into().unwrap());
        assert_eq!(id, n);
        b.push_response(&mut p, id, 0, 0).unwrap();
        n += 1;
    }
    assert_eq!(n, 10);
    b.publish(&mut p).unwrap();
    assert_eq!(f.take(&mut p).len(), 10);
}

#[test]
fn a_producer_index_beyond_the_ring_stops_the_ring() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut b = BackRing::new(size);
    for bogus in [size + 1, 1000, u32::MAX, 0x8000_0000] {
        p.set(REQ_PROD, bogus);
        assert_eq!(
            b.next_request(&mut p),
            Err(RingError::BogusProducer {
                req_prod: bogus,
                req_cons: 0
            })
        );
        assert!(b.final_check(&mut p).is_err());
    }
    // Exactly a ring's worth is legal.
    p.set(REQ_PROD, size);
    assert_eq!(b.unconsumed(&mut p), Ok(size));
}

#[test]
fn a_frontend_that_never_reads_responses_stalls_only_itself() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    for id in 0..u64::from(size) {
        f.queue(&mut p, id);
    }
    f.push(&mut p);
    for _ in 0..size {
        b.next_request(&mut p).unwrap().unwrap();
    }
    // The frontend overwrites slots it has not had answers for and moves
    // req_prod on: the backend takes nothing until it has answered.
    for id in 0..4 {
        f.queue(&mut p, 1000 + id);
    }
    f.push(&mut p);
    assert_eq!(b.next_request(&mut p), Ok(None));
    b.push_response(&mut p, 0, 0, 0).unwrap();
    assert!(b.next_request(&mut p).unwrap().is_some());
    assert_eq!(b.next_request(&mut p), Ok(None));
}

#[test]
fn rsp_prod_scribbled_by_the_frontend_does_not_change_what_was_published() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    f.queue(&mut p, 7);
    f.push(&mut p);
    b.next_request(&mut p).unwrap().unwrap();
    p.set(RSP_PROD, 12345);
    b.push_response(&mut p, 7, 0, 0).unwrap();
    b.publish(&mut p).unwrap();
    assert_eq!(p.get(RSP_PROD), 1);
    assert_eq!(b.in_flight(), 0);
}

#[test]
fn unreachable_ring_memory_is_an_error_not_a_panic() {
    let size = blkif_ring_size(0);
    let mut p = Pages::new(0);
    let mut f = Front::new(size);
    let mut b = BackRing::new(size);
    f.queue(&mut p, 1);
    f.push(&mut p);
    b.next_request(&mut p).unwrap().unwrap();
    p.broken = true;
    assert_eq!(b.next_request(&mut p), Err(RingError::Unreachable));
    assert_eq!(
        b.push_response(&mut p, 1, 0, 0),
        Err(RingError::Unreachable)
    );
    assert_eq!(b.final_check(&mut p), Err(RingError::Unreachable));
    // A ring smaller than its slots claim.
    let mut short = Pages {
        bytes: vec![0u8; 100],
        broken: false,
    };
    short.set(REQ_PROD, 1);
    let mut b = BackRing::new(size);
    assert_eq!(b.next_request(&mut short), Err(RingError::Unreachable));
}
