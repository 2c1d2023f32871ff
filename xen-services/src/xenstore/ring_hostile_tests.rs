//! Hostile guests on the ring: garbage indices, oversized and unterminated
//! requests, a short page, and a randomised guest (per-run seed) mixing
//! well-formed traffic split at random with corruption of its page.

use alloc::vec;
use alloc::vec::Vec;

use test_rng::XorShift;
use xen_abi::errno::Errno;
use xen_abi::xenstore::*;

use super::tests::{request_bytes, store, Guest, Msg, GUEST};
use super::*;
use crate::xenstore::DOM0;

/// The page bytes the server may write: req_cons, rsp[], rsp_prod, error.
const OWNED: [(usize, usize); 4] = [(REQ_CONS, 4), (RSP, 1024), (RSP_PROD, 4), (ERROR, 4)];

fn changed_only(before: &[u8], after: &[u8], allowed: &[(usize, usize)]) {
    for (i, (a, b)) in before.iter().zip(after).enumerate() {
        if a != b {
            assert!(
                allowed.iter().any(|&(at, n)| (at..at + n).contains(&i)),
                "byte {i} changed outside {allowed:?}"
            );
        }
    }
}

fn error_msg(req_id: u32, e: Errno) -> Msg {
    let mut payload = xs_error_name(e).unwrap().as_bytes().to_vec();
    payload.push(0);
    Msg {
        kind: XS_ERROR,
        req_id,
        tx_id: 0,
        payload,
    }
}

/// A broken connection answers nothing more and writes nothing more.
fn assert_dead(c: &mut XenStoreConnection, g: &mut Guest, xs: &mut XenStore, e: RingError) {
    g.set(REQ_CONS, 0);
    g.set(REQ_PROD, 0);
    g.set(RSP_CONS, 0);
    g.set(RSP_PROD, 0);
    g.send(XS_READ, 1, 0, b"domid\0");
    let before = g.page.clone();
    let out = c.service(&mut g.page, xs);
    assert_eq!(out.error, Some(e));
    assert!(!out.notify && out.requests == 0);
    let ev = xs.request(DOM0, XS_WRITE, 0, 1, b"/local/domain/1/data/x\0y");
    assert_eq!(c.queue(ev), 0);
    assert!(!c.flush(&mut g.page));
    assert_eq!(g.page, before);
    assert_eq!(
        (c.broken(), c.pending_output(), c.partial_len()),
        (Some(e), 0, 0)
    );
}

#[test]
fn garbage_request_indices_break_the_connection() {
    for (cons, prod) in [(0, 1025), (7, 6), (0, u32::MAX), (u32::MAX - 3, 1030)] {
        let mut xs = store();
        let mut c = XenStoreConnection::new(GUEST);
        let mut g = Guest::new();
        g.send(XS_WATCH, 1, 0, b"device\0t\0");
        c.service(&mut g.page, &mut xs);
        assert_eq!(xs.watches().count(GUEST), 1);
        g.set(REQ_CONS, cons);
        g.set(REQ_PROD, prod);
        let before = g.page.clone();
        let out = c.service(&mut g.page, &mut xs);
        assert_eq!(out.error, Some(RingError::BadIndex));
        assert!(out.notify, "the error field changed");
        assert_eq!(g.get(ERROR), XENSTORE_ERROR_RINGIDX);
        changed_only(&before, &g.page, &[(ERROR, 4)]);
        assert_eq!(xs.watches().count(GUEST), 0, "its watches are gone");
        assert_dead(&mut c, &mut g, &mut xs, RingError::BadIndex);
    }
}

#[test]
fn garbage_response_indices_break_the_connection() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.set(RSP_CONS, 2000);
    g.send(XS_READ, 1, 0, b"domid\0");
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!(out.error, Some(RingError::BadIndex));
    assert_eq!(g.get(ERROR), XENSTORE_ERROR_RINGIDX);
    assert_eq!(g.get(RSP_PROD), 0, "nothing written into rsp[]");
    assert_dead(&mut c, &mut g, &mut xs, RingError::BadIndex);

    // Found by a flush: the store forgets the watches at the next service.
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.send(XS_WATCH, 1, 0, b"data\0t\0");
    c.service(&mut g.page, &mut xs);
    let ev = xs.request(DOM0, XS_WRITE, 0, 1, b"/local/domain/1/data/x\0y");
    assert_eq!(c.queue(ev), 1);
    g.set(RSP_PROD, 5000);
    assert!(c.flush(&mut g.page), "the error field changed");
    assert_eq!(c.broken(), Some(RingError::BadIndex));
    assert_eq!(xs.watches().count(GUEST), 1);
    assert_eq!(
        c.service(&mut g.page, &mut xs).error,
        Some(RingError::BadIndex)
    );
    assert_eq!(xs.watches().count(GUEST), 0);
}

#[test]
fn an_oversized_header_breaks_the_connection_without_a_reply() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.send(XS_TRANSACTION_START, 1, 0, b"\0");
    c.service(&mut g.page, &mut xs);
    assert_eq!(g.messages().len(), 1);
    assert_eq!(xs.open_transactions(), 1);
    let mut h = request_bytes(XS_WRITE, 2, 0, b"");
    h[12..16].copy_from_slice(&(XENSTORE_PAYLOAD_MAX as u32 + 1).to_le_bytes());
    g.send_raw(&h);
    g.send(XS_READ, 3, 0, b"domid\0");
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!(out.error, Some(RingError::Oversize(4097)));
    assert_eq!(out.requests, 0);
    assert_eq!(g.get(ERROR), XENSTORE_ERROR_PROTO);
    assert_eq!(g.messages(), [], "no reply");
    assert_eq!(xs.open_transactions(), 0);
    assert_dead(&mut c, &mut g, &mut xs, RingError::Oversize(4097));
}

#[test]
fn the_largest_payload_arrives_over_several_kicks() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    let mut payload = b"data/big\0".to_vec();
    payload.resize(XENSTORE_PAYLOAD_MAX, b'v');
    let bytes = request_bytes(XS_WRITE, 77, 0, &payload);
    let mut msgs = Vec::new();
    for chunk in bytes.chunks(1000) {
        g.send_raw(chunk);
        let out = c.service(&mut g.page, &mut xs);
        assert_eq!(out.error, None);
        msgs.extend(g.messages());
    }
    // Past the domain's entry-size quota: an error reply, echoed.
    assert_eq!(msgs, [error_msg(77, Errno::ENOSPC)]);
    assert_eq!(c.broken(), None);
}

#[test]
fn unterminated_and_unknown_requests_get_error_replies() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut g = Guest::new();
    g.send(XS_READ, 1, 0, b"domid");
    g.send(XS_WATCH, 2, 0, b"device\0token");
    g.send(XS_DIRECTORY, 3, 0, b"");
    g.send(999, 4, 0, b"x\0");
    g.send(XS_WATCH_EVENT, 5, 0, b"device\0t\0");
    g.send(XS_READ, 6, 0xDEAD, b"domid\0");
    let out = c.service(&mut g.page, &mut xs);
    assert_eq!((out.requests, out.error), (6, None));
    let msgs = g.messages();
    assert_eq!(msgs[..3], [1, 2, 3].map(|id| error_msg(id, Errno::EINVAL)));
    assert_eq!(msgs[3], error_msg(4, Errno::ENOSYS));
    assert_eq!(msgs[4], error_msg(5, Errno::ENOSYS));
    assert_eq!((msgs[5].kind, msgs[5].req_id), (XS_ERROR, 6));
    assert_eq!(msgs.len(), 6);
    // The connection still works.
    g.send(XS_READ, 7, 0, b"domid\0");
    c.service(&mut g.page, &mut xs);
    assert_eq!(g.messages()[0].payload, b"1");
}

#[test]
fn a_short_page_is_refused_and_left_alone() {
    let mut xs = store();
    let mut c = XenStoreConnection::new(GUEST);
    let mut short = vec![0xFFu8; XENSTORE_PAGE_LEN - 1];
    let out = c.service(&mut short, &mut xs);
    assert_eq!(out.error, Some(RingError::PageTooSmall));
    assert!(!out.notify);
    assert!(!c.flush(&mut short));
    assert!(short.iter().all(|&b| b == 0xFF));
    assert_eq!(c.broken(), None);
}

/// The requests a well-behaved guest sends in the random test.
fn random_request(rng: &mut XorShift) -> (u32, Vec<u8>) {
    let leaf = [b'a', b'b', b'c'][rng.below(3) as usize];
    match rng.below(6) {
        0 => (XS_READ, b"domid\0".to_vec()),
        1 => (XS_WRITE, [&b"data/"[..], &[leaf], b"\0value"].concat()),
        2 => (XS_DIRECTORY, b"data\0".to_vec()),
        3 => (XS_WATCH, [&b"data/"[..], &[leaf], b"\0tok\0"].concat()),
        4 => (XS_UNWATCH, [&b"data/"[..], &[leaf], b"\0tok\0"].concat()),
        _ => {
            let mut big = b"data/big\0".to_vec();
            big.resize(rng.below(2000) as usize + 9, b'z');
            (XS_WRITE, big)
        }
    }
}

/// Well-formed guests (three rounds in four) get every reply, in order;
/// hostile ones also corrupt their page. Either way the server writes only
/// its own fields and its buffers stay bounded.
#[test]
fn random_guest_traffic() {
    let mut rng = XorShift::per_run("random_guest_traffic", 0x5107);
    let mut replies_checked = 0;
    for round in 0..40 {
        let hostile = round % 4 == 3;
        let mut xs = store();
        let mut c = XenStoreConnection::new(GUEST);
        let mut g = Guest::new();
        g.start_at(rng.next() as u32);
        // Bytes the guest has yet to place into req[], and the replies due.
        let mut unsent: Vec<u8> = Vec::new();
        let mut due: Vec<(u32, u32)> = Vec::new();
        let mut next_id = 1u32;
        for _ in 0..400 {
            if unsent.len() < 5000 && rng.below(2) == 0 {
                let (kind, payload) = random_request(&mut rng);
                unsent.extend(request_bytes(kind, next_id, 0, &payload));
                due.push((kind, next_id));
                next_id += 1;
            }
            let n = (rng.below(700) as usize).min(g.room()).min(unsent.len());
            g.send_raw(&unsent[..n]);
            unsent.drain(..n);
            if hostile && rng.below(10) == 0 {
                let at = rng.below(XENSTORE_PAGE_LEN as u64 - 4) as usize;
                let v = if rng.below(2) == 0 {
                    rng.next() as u32
                } else {
                    rng.below(2000) as u32
                };
                g.set(at, v);
            }
            if rng.below(4) == 0 {
                let ev = xs.request(DOM0, XS_WRITE, 0, 1, b"/local/domain/1/data/a\0b");
                c.queue(ev);
            }
            let before = g.page.clone();
            let out = if rng.below(5) == 0 {
                c.flush(&mut g.page);
                ServiceOutcome::default()
            } else {
                c.service(&mut g.page, &mut xs)
            };
            changed_only(&before, &g.page, &OWNED);
            assert!(out.others.is_empty());
            assert!(c.pending_output() <= INTAKE_LIMIT + EVENT_QUEUE_LIMIT + 2 * 4112);
            assert!(c.partial_len() <= HEADER_LEN + XENSTORE_PAYLOAD_MAX);
            if !hostile {
                assert_eq!(out.error, None);
                g.consume(rng.below(1500) as usize);
                for m in g.messages_in_buffer() {
                    if m.kind == XS_WATCH_EVENT {
                        assert_eq!(m.req_id, 0);
                        continue;
                    }
                    let (kind, id) = due.remove(0);
                    assert_eq!(m.req_id, id, "replies come in request order");
                    assert!(m.kind == kind || m.kind == XS_ERROR, "{m:?}");
                    replies_checked += 1;
                }
            } else {
                g.consume(rng.below(1500) as usize);
                g.received.clear();
            }
        }
    }
    assert!(replies_checked > 1000, "only {replies_checked} replies");
}
