//! The ring as Linux's xenbus drives it: its probe sequence, requests split
//! across kicks, a response ring that fills up, watch events routed from
//! other domains, and free-running indices across the 32-bit wrap.

use alloc::vec;
use alloc::vec::Vec;

use xen_abi::xenstore::*;

use super::*;
use crate::xenstore::DOM0;

pub(super) const GUEST: u16 = 1;

/// The guest's end of a ring page: writes requests, reads messages.
pub(super) struct Guest {
    pub page: Vec<u8>,
    /// Response bytes read but not yet parsed into a message.
    pub received: Vec<u8>,
}

/// A message as the guest reads it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Msg {
    pub kind: u32,
    pub req_id: u32,
    pub tx_id: u32,
    pub payload: Vec<u8>,
}

pub(super) fn request_bytes(kind: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for f in [kind, req_id, tx_id, payload.len() as u32] {
        v.extend_from_slice(&f.to_le_bytes());
    }
    v.extend_from_slice(payload);
    v
}

impl Guest {
    pub fn new() -> Self {
        Self {
            page: vec![0; 4096],
            received: Vec::new(),
        }
    }

    pub fn get(&self, at: usize) -> u32 {
        get_u32(&self.page, at)
    }

    pub fn set(&mut self, at: usize, v: u32) {
        put_u32(&mut self.page, at, v);
    }

    /// Sets all four indices to `v` (empty rings at an arbitrary point).
    pub fn start_at(&mut self, v: u32) {
        for at in [REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD] {
            self.set(at, v);
        }
    }

    /// Room left in `req[]` (none when the indices are garbage).
    pub fn room(&self) -> usize {
        XENSTORE_RING_SIZE
            .saturating_sub(self.get(REQ_PROD).wrapping_sub(self.get(REQ_CONS)) as usize)
    }

    /// Writes raw bytes into `req[]` (they must fit) and publishes them.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        assert!(bytes.len() <= self.room(), "the test overfills req[]");
        let prod = self.get(REQ_PROD);
        for (i, &b) in bytes.iter().enumerate() {
            self.page[REQ + mask_xenstore_idx(prod.wrapping_add(i as u32))] = b;
        }
        self.set(REQ_PROD, prod.wrapping_add(bytes.len() as u32));
    }

    pub fn send(&mut self, kind: u32, req_id: u32, tx_id: u32, payload: &[u8]) {
        self.send_raw(&request_bytes(kind, req_id, tx_id, payload));
    }

    /// Consumes up to `max` bytes of `rsp[]`.
    pub fn consume(&mut self, max: usize) -> usize {
        let cons = self.get(RSP_CONS);
        let n = (self.get(RSP_PROD).wrapping_sub(cons) as usize).min(max);
        for i in 0..n {
            let b = self.page[RSP + mask_xenstore_idx(cons.wrapping_add(i as u32))];
            self.received.push(b);
        }
        self.set(RSP_CONS, cons.wrapping_add(n as u32));
        n
    }

    /// Consumes all of `rsp[]` and returns the complete messages.
    pub fn messages(&mut self) -> Vec<Msg> {
        self.consume(usize::MAX);
        self.messages_in_buffer()
    }

    /// The complete messages among the bytes consumed so far.
    pub fn messages_in_buffer(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        while self.received.len() >= HEADER_LEN {
            let h = parse_header(&self.received);
            let end = HEADER_LEN + h.len as usize;
            if self.received.len() < end {
                break;
            }
            out.push(Msg {
                kind: h.kind,
                req_id: h.req_id,
                tx_id: h.tx_id,
                payload: self.received[HEADER_LEN..end].to_vec(),
            });
            self.received.drain(..end);
        }
        out
    }
}

pub(super) fn store() -> XenStore {
    let mut xs = XenStore::new();
    xs.introduce_domain(GUEST);
    xs
}

/// Services one kick and returns the messages the guest then reads.
fn kick(c: &mut XenStoreConnection, g: &mut Guest, xs: &mut XenStore) -> Vec<Msg> {
    let out = c.service(&mut g.page, xs);
    assert_eq!(out.error, None);
    g.messages()
}

fn reply(kind: u32, req_id: u32, payload: &[u8]) -> Msg {
    Msg {
        kind,
        req_id,
        tx_id: 0,
        payload: payload.to_vec(),
    }
}

#[test]
fn offsets_are_the_headers() {
    assert_eq!(XENSTORE_PAGE_LEN, 2080);
    assert_eq!((REQ, RSP, REQ_CONS, REQ_PROD), (0, 1024, 2048, 2052));
    assert_eq!((RSP_CONS, RSP_PROD, ERROR), (2056, 2060, 2072));
}

#[test]
fn linux_xenbus_probe_over_the_ring() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    // Nothing to do: no notification.
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!(out, ServiceOutcome::default());

    g.send(
        XS_READ,
        1,
        0,
        b"control/platform-feature-xs_reset_watches\0",
    );
    g.send(XS_RESET_WATCHES, 2, 0, b"\0");
    g.send(XS_DIRECTORY, 3, 0, b"device\0");
    let out = c.service(&mut g.page, &mut xs);
    assert!(out.notify);
    assert_eq!(out.requests, 3, "every request is drained on one kick");
    assert_eq!(g.get(REQ_CONS), g.get(REQ_PROD));
    assert_eq!(
        g.messages(),
        [
            reply(XS_READ, 1, b"1"),
            reply(XS_RESET_WATCHES, 2, b"OK\0"),
            reply(XS_DIRECTORY, 3, b""),
        ]
    );

    // The toolstack (here: domain 0 directly) adds a disk.
    let ev = xs.request(
        DOM0,
        XS_WRITE,
        0,
        9,
        b"/local/domain/1/device/vbd/51712/state\x001",
    );
    assert_eq!(ev.len(), 1, "no watch yet: only the reply");
    g.send(XS_DIRECTORY, 4, 0, b"device\0");
    g.send(XS_WATCH, 5, 0, b"device\0ffff8880deadbeef\0");
    let msgs = kick(&mut c, &mut g, &mut xs);
    assert_eq!(
        msgs,
        [
            reply(XS_DIRECTORY, 4, b"vbd\0"),
            reply(XS_WATCH, 5, b"OK\0"),
            // Fired at once, with the path as registered (relative).
            reply(XS_WATCH_EVENT, 0, b"device\0ffff8880deadbeef\0"),
        ]
    );

    // A backend's write under device/ reaches the guest through queue().
    let ev = xs.request(
        DOM0,
        XS_WRITE,
        0,
        10,
        b"/local/domain/1/device/vbd/51712/backend-id\x000",
    );
    assert_eq!(c.queue(ev), 1, "only the event is for domain 1");
    assert!(c.flush(&mut g.page));
    assert_eq!(
        g.messages(),
        [reply(
            XS_WATCH_EVENT,
            0,
            b"device/vbd/51712/backend-id\0ffff8880deadbeef\0"
        )]
    );
    assert!(!c.flush(&mut g.page), "nothing left to write");
}

#[test]
fn a_request_split_across_kicks_is_answered_once_complete() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    let bytes = request_bytes(XS_READ, 42, 0, b"domid\0");
    // Part of the header.
    g.send_raw(&bytes[..7]);
    let out = c.service(&mut g.page, &mut xs);
    assert!(out.notify, "bytes were consumed");
    assert_eq!((out.requests, c.partial_len()), (0, 7));
    assert_eq!(g.messages(), []);
    // The rest of the header and part of the payload.
    g.send_raw(&bytes[7..19]);
    assert_eq!(c.service(&mut g.page, &mut xs).requests, 0);
    assert_eq!(c.partial_len(), 19);
    // The rest, with the next request's first byte.
    g.send_raw(&bytes[19..]);
    g.send_raw(&[XS_READ as u8]);
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!(out.requests, 1);
    assert_eq!(c.partial_len(), 1);
    assert_eq!(g.messages(), [reply(XS_READ, 42, b"1")]);
}

#[test]
fn messages_wrap_around_both_rings_and_the_u32_indices() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.start_at(u32::MAX - 20);
    for id in 0..40 {
        g.send(XS_READ, id, 0, b"domid\0");
        let msgs = kick(&mut c, &mut g, &mut xs);
        assert_eq!(msgs, [reply(XS_READ, id, b"1")]);
    }
    assert!(g.get(REQ_PROD) < 1024, "the request index wrapped");
    assert!(g.get(RSP_PROD) < 1024, "the response index wrapped");
}

#[test]
fn a_full_response_ring_queues_output_until_the_guest_consumes() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    // A value of 3000 bytes (domain 0 has no size quota).
    let mut w = b"/local/domain/1/data/big\0".to_vec();
    w.extend((0..3000u32).map(|i| b'a' + (i % 26) as u8));
    assert_eq!(
        xs.request(DOM0, XS_WRITE, 0, 1, &w)[0].header.kind,
        XS_WRITE
    );
    g.send(XS_READ, 7, 0, b"data/big\0");
    g.send(XS_READ, 8, 0, b"domid\0");
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!(out.requests, 2);
    assert_eq!(g.get(RSP_PROD).wrapping_sub(g.get(RSP_CONS)), 1024);
    assert_eq!(c.pending_output(), 2 * 16 + 3000 + 1 - 1024);
    // The guest reads part of it; a flush refills what it freed.
    assert_eq!(g.consume(100), 100);
    assert!(c.flush(&mut g.page));
    assert_eq!(c.pending_output(), 2 * 16 + 3000 + 1 - 1124);
    assert!(!c.flush(&mut g.page), "the ring is full again");
    let mut msgs = Vec::new();
    for _ in 0..10 {
        msgs.extend(g.messages());
        c.flush(&mut g.page);
    }
    assert_eq!(c.pending_output(), 0);
    assert_eq!(msgs.len(), 2);
    assert_eq!((msgs[0].kind, msgs[0].req_id), (XS_READ, 7));
    assert_eq!(msgs[0].payload, &w[25..]);
    assert_eq!(msgs[1], reply(XS_READ, 8, b"1"));
}

#[test]
fn intake_stops_while_much_output_waits() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    // Each reply to GET_DOMAIN_PATH is 16 + 17 bytes; the guest never
    // reads, so the queue grows until INTAKE_LIMIT stops the intake.
    let mut sent = 0u32;
    for _ in 0..1000 {
        while g.room() >= 16 + 2 {
            g.send(XS_GET_DOMAIN_PATH, sent, 0, b"1\0");
            sent += 1;
        }
        c.service(&mut g.page, &mut xs);
        if g.room() < 16 + 2 {
            break;
        }
    }
    assert!(c.pending_output() >= INTAKE_LIMIT);
    assert!(c.pending_output() < INTAKE_LIMIT + 16 + 17);
    assert!(g.get(REQ_PROD) != g.get(REQ_CONS), "requests wait in req[]");
    // Once the guest reads, every request is answered, in order.
    let mut msgs = Vec::new();
    for _ in 0..1000 {
        msgs.extend(g.messages());
        c.service(&mut g.page, &mut xs);
        if g.get(REQ_PROD) == g.get(REQ_CONS) && c.pending_output() == 0 {
            break;
        }
    }
    msgs.extend(g.messages());
    assert_eq!(msgs.len(), sent as usize);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            *m,
            reply(XS_GET_DOMAIN_PATH, i as u32, b"/local/domain/1\0")
        );
    }
}

#[test]
fn events_for_other_domains_are_returned_for_routing() {
    let mut xs = store();
    xs.introduce_domain(2);
    let (mut c1, mut g1) = (XenStoreConnection::new(1), Guest::new());
    let (mut c2, mut g2) = (XenStoreConnection::new(2), Guest::new());
    // Domain 2 lets others read its data/ and domain 1 watches it.
    g2.send(XS_SET_PERMS, 1, 0, b"data\0r2\0");
    assert_eq!(
        kick(&mut c2, &mut g2, &mut xs),
        [reply(XS_SET_PERMS, 1, b"OK\0")]
    );
    g1.send(XS_WATCH, 1, 0, b"/local/domain/2/data\0tok\0");
    assert_eq!(kick(&mut c1, &mut g1, &mut xs).len(), 2);
    g2.send(XS_WRITE, 2, 0, b"data/x\0v");
    let out = c2.service(&mut g2.page, &mut xs);
    assert_eq!(g2.messages(), [reply(XS_WRITE, 2, b"OK\0")]);
    assert_eq!(out.others.len(), 1);
    assert_eq!(out.others[0].domid, 1);
    // Connection 2 refuses it; connection 1 takes it.
    assert_eq!(c2.queue(out.others.clone()), 0);
    assert_eq!(c1.queue(out.others), 1);
    assert!(c1.flush(&mut g1.page));
    assert_eq!(
        g1.messages(),
        [reply(XS_WATCH_EVENT, 0, b"/local/domain/2/data/x\0tok\0")]
    );
}

#[test]
fn transactions_echo_tx_id_and_req_id() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.send(XS_TRANSACTION_START, 0xABCD, 0, b"\0");
    let m = kick(&mut c, &mut g, &mut xs);
    assert_eq!((m[0].kind, m[0].req_id), (XS_TRANSACTION_START, 0xABCD));
    let id = core::str::from_utf8(&m[0].payload[..m[0].payload.len() - 1]).unwrap();
    let id: u32 = id.parse().unwrap();
    g.send(XS_WRITE, 0x1234, id, b"data/t\0x");
    g.send(XS_TRANSACTION_END, 0x1235, id, b"T\0");
    let m = kick(&mut c, &mut g, &mut xs);
    assert_eq!(
        m[0],
        Msg {
            kind: XS_WRITE,
            req_id: 0x1234,
            tx_id: id,
            payload: b"OK\0".to_vec()
        }
    );
    assert_eq!(
        (m[1].kind, m[1].req_id, m[1].tx_id),
        (XS_TRANSACTION_END, 0x1235, id)
    );
    assert_eq!(xs.open_transactions(), 0);
}
