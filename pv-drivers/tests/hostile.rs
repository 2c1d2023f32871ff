//! The frontends' own parsing against hand-written lying backends: every
//! bad value must end as an error (never a panic or a hang).

use pv_drivers::blkfront::ring::FrontRing;
use pv_drivers::blkfront::{Blkfront, BlkfrontConfig, DiskInfo};
use pv_drivers::grant_table::GrantTable;
use pv_drivers::memory::{GuestPages, HostPages, MemError};
use pv_drivers::xenstore::{Tx, XenStoreClient, XsError};
use pv_drivers::{Error, Hypercall};
use std::cell::RefCell;
use std::rc::Rc;
use xen_abi::hypercall::{EVTCHNOP_SEND, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_SCHED_OP};

/// Host frames shared by the frontend and the fake backend.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<HostPages>>);

impl GuestPages for Shared {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
        self.0.borrow_mut().read(gfn, offset, buf)
    }
    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError> {
        self.0.borrow_mut().write(gfn, offset, data)
    }
}

type OnSend = Box<dyn FnMut(&mut HostPages)>;

/// A hypervisor whose only backend is `on_send`, run at every
/// `EVTCHNOP_send`; everything else succeeds and does nothing.
struct Fake {
    mem: Shared,
    on_send: OnSend,
    yields: u32,
}

impl Hypercall for Fake {
    fn hypercall(&mut self, op: u64, _args: [u64; 5]) -> i64 {
        if op == u64::from(HYPERVISOR_SCHED_OP) {
            self.yields += 1;
        }
        0
    }

    fn hypercall_with_arg(&mut self, op: u64, args: [u64; 5], _at: usize, _arg: &mut [u8]) -> i64 {
        if op == u64::from(HYPERVISOR_EVENT_CHANNEL_OP) && args[0] == u64::from(EVTCHNOP_SEND) {
            (self.on_send)(&mut self.mem.0.borrow_mut());
        }
        0
    }
}

// ---- XenStore ----

const STORE: u64 = 9;
const RSP: usize = 1024;
const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_PROD: usize = 2060;

/// A store that answers each new request with `reply(kind, req_id)`.
fn store(mut reply: impl FnMut(u32, u32) -> Vec<u8> + 'static) -> (Fake, Shared) {
    let mem = Shared::default();
    let on_send: OnSend = Box::new(move |m: &mut HostPages| {
        let cons = m.read_u32(STORE, REQ_CONS).unwrap();
        let prod = m.read_u32(STORE, REQ_PROD).unwrap();
        if cons == prod {
            return;
        }
        let kind = m.read_u32(STORE, cons as usize % 1024).unwrap();
        let id = m.read_u32(STORE, (cons as usize + 4) % 1024).unwrap();
        m.write_u32(STORE, REQ_CONS, prod).unwrap();
        let bytes = reply(kind, id);
        let p = m.read_u32(STORE, RSP_PROD).unwrap();
        for (i, b) in bytes.iter().enumerate() {
            m.write(STORE, RSP + (p as usize + i) % 1024, &[*b])
                .unwrap();
        }
        m.write_u32(STORE, RSP_PROD, p + bytes.len() as u32)
            .unwrap();
    });
    (
        Fake {
            mem: mem.clone(),
            on_send,
            yields: 0,
        },
        mem,
    )
}

fn msg(kind: u32, id: u32, len: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [kind, id, 0, len] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(payload);
    b
}

fn client() -> XenStoreClient {
    let mut c = XenStoreClient::new(STORE, 3);
    c.max_polls = 20;
    c
}

#[test]
fn a_store_reply_longer_than_the_protocol_allows_is_an_error() {
    let (mut hc, mut mem) = store(|kind, id| msg(kind, id, 5000, b"x"));
    let r = client().read(&mut hc, &mut mem, Tx::NONE, "a");
    assert_eq!(
        r,
        Err(Error::Protocol("XenStore message longer than its maximum"))
    );
}

#[test]
fn store_replies_to_other_requests_or_of_other_types_are_errors() {
    let (mut hc, mut mem) = store(|kind, id| msg(kind, id + 1, 1, b"x"));
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Protocol("XenStore reply to a request not made"))
    );
    let (mut hc, mut mem) = store(|_, id| msg(xen_abi::xenstore::XS_DIRECTORY, id, 1, b"x"));
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Protocol("XenStore reply of another type"))
    );
}

#[test]
fn store_error_names_map_to_the_enum() {
    let (mut hc, mut mem) = store(|_, id| msg(xen_abi::xenstore::XS_ERROR, id, 7, b"EAGAIN\0"));
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Store(XsError::Again))
    );
    let (mut hc, mut mem) = store(|_, id| msg(xen_abi::xenstore::XS_ERROR, id, 6, b"EWHAT\0"));
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Store(XsError::Unknown))
    );
    // A transaction that always conflicts gives up.
    let (mut hc, mut mem) = store(|kind, id| {
        if kind == xen_abi::xenstore::XS_TRANSACTION_START {
            msg(kind, id, 2, b"5\0")
        } else if kind == xen_abi::xenstore::XS_TRANSACTION_END {
            msg(xen_abi::xenstore::XS_ERROR, id, 7, b"EAGAIN\0")
        } else {
            msg(kind, id, 2, b"OK")
        }
    });
    let mut runs = 0;
    let r = client().transaction(&mut hc, &mut mem, |_, _, _, _| {
        runs += 1;
        Ok(())
    });
    assert_eq!(r, Err(Error::Store(XsError::Again)));
    assert_eq!(runs, pv_drivers::xenstore::client::MAX_TRANSACTION_ATTEMPTS);
}

#[test]
fn garbled_store_payloads_are_errors() {
    let (mut hc, mut mem) = store(|kind, id| msg(kind, id, 3, b"\xff\xfe\0"));
    assert_eq!(
        client().directory(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Protocol("directory entry not UTF-8"))
    );
    let (mut hc, mut mem) = store(|kind, id| msg(kind, id, 4, b"abc\0"));
    assert_eq!(
        client().transaction_start(&mut hc, &mut mem),
        Err(Error::Protocol("transaction id not a number"))
    );
    // A watch event without a token, ahead of the reply.
    let (mut hc, mut mem) = store(|kind, id| {
        let mut b = msg(xen_abi::xenstore::XS_WATCH_EVENT, 0, 2, b"p\0");
        b.extend(msg(kind, id, 2, b"OK"));
        b
    });
    assert_eq!(
        client().write(&mut hc, &mut mem, Tx::NONE, "a", b"1"),
        Err(Error::Protocol("watch event without path and token"))
    );
}

#[test]
fn lying_store_indices_and_a_silent_store_are_errors_not_hangs() {
    let (mut hc, mut mem) = store(|_, _| Vec::new());
    mem.write_u32(STORE, RSP_PROD, 4000).unwrap();
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Protocol("XenStore response indices out of range"))
    );
    let (mut hc, mut mem) = store(|_, _| Vec::new());
    assert_eq!(
        client().read(&mut hc, &mut mem, Tx::NONE, "a"),
        Err(Error::Timeout)
    );
    assert_eq!(hc.yields, 20, "max_polls yields, then the timeout");
    // Oversized requests are refused before anything is written.
    let (mut hc, mut mem) = store(|_, _| Vec::new());
    let big = vec![b'a'; 5000];
    assert!(matches!(
        client().write(&mut hc, &mut mem, Tx::NONE, "a", &big),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(mem.read_u32(STORE, REQ_PROD).unwrap(), 0);
}

// ---- blkfront ----

const RING: u64 = 0x10;
const GRANTS: u64 = 0x20;
const DATA: u64 = 0x30;

/// A blkfront over a ring whose backend answers each request with
/// `respond(id, operation) -> (id, operation, status, extra rsp_prod)`.
fn blk(
    mut respond: impl FnMut(u64, u8) -> Option<(u64, u8, i16, u32)> + 'static,
) -> (Fake, Shared, Blkfront, GrantTable) {
    let mut mem = Shared::default();
    let ring = FrontRing::init(&mut mem, RING).unwrap();
    let mut answered = 0u32;
    let on_send: OnSend = Box::new(move |m: &mut HostPages| {
        let prod = m.read_u32(RING, 0).unwrap();
        while answered != prod {
            let at = 64 + 112 * (answered as usize % 32);
            let id = m.read_u64(RING, at + 8).unwrap();
            let mut op = [0u8];
            m.read(RING, at, &mut op).unwrap();
            let Some((rid, rop, status, extra)) = respond(id, op[0]) else {
                return;
            };
            let mut r = [0u8; 16];
            r[0..8].copy_from_slice(&rid.to_le_bytes());
            r[8] = rop;
            r[10..12].copy_from_slice(&status.to_le_bytes());
            m.write(RING, at, &r).unwrap();
            answered += 1;
            // Ask to be notified of every request.
            m.write_u32(RING, 4, answered + 1).unwrap();
            m.write_u32(RING, 8, answered + extra).unwrap();
        }
    });
    let front = Blkfront::from_parts(
        BlkfrontConfig {
            nodename: "device/vbd/51712".into(),
            ring_gfn: RING,
            data_gfns: vec![DATA, DATA + 1],
            indirect_gfns: vec![],
            max_polls: 5,
        },
        DiskInfo {
            sectors: 100,
            sector_size: 512,
            info: 0,
            flush: false,
            max_indirect_segments: 0,
            backend_id: 0,
            backend: "backend".into(),
        },
        ring,
        8,
        3,
        51712,
    );
    let hc = Fake {
        mem: mem.clone(),
        on_send,
        yields: 0,
    };
    (hc, mem, front, GrantTable::mapped(&[GRANTS]))
}

#[test]
fn a_response_with_a_bad_id_or_operation_is_an_error_and_the_grants_come_back() {
    let (mut hc, mut mem, mut front, mut grants) = blk(|id, op| Some((id + 1, op, 0, 0)));
    let free = grants.free_count();
    let mut buf = [0u8; 512];
    assert_eq!(
        front.read(&mut hc, &mut mem, &mut grants, 0, &mut buf),
        Err(Error::Protocol("blkif response to a request not made"))
    );
    assert_eq!(grants.free_count(), free);
    let (mut hc, mut mem, mut front, mut grants) = blk(|id, _| Some((id, 99, 0, 0)));
    assert_eq!(
        front.write(&mut hc, &mut mem, &mut grants, 0, &[0; 512]),
        Err(Error::Protocol("blkif response of another operation"))
    );
}

#[test]
fn too_many_responses_no_response_and_error_statuses() {
    let (mut hc, mut mem, mut front, mut grants) = blk(|id, op| Some((id, op, 0, 7)));
    let mut buf = [0u8; 512];
    assert_eq!(
        front.read(&mut hc, &mut mem, &mut grants, 0, &mut buf),
        Err(Error::Protocol("more blkif responses than requests"))
    );
    let (mut hc, mut mem, mut front, mut grants) = blk(|_, _| None);
    assert_eq!(
        front.read(&mut hc, &mut mem, &mut grants, 0, &mut buf),
        Err(Error::Timeout)
    );
    assert_eq!(hc.yields, 5);
    let (mut hc, mut mem, mut front, mut grants) = blk(|id, op| Some((id, op, -2, 0)));
    assert_eq!(
        front.read(&mut hc, &mut mem, &mut grants, 0, &mut buf),
        Err(Error::Io(-2))
    );
    // No flush feature: no request at all.
    assert_eq!(front.flush(&mut hc, &mut mem), Err(Error::Io(-2)));
    // Lengths and ranges are checked before the ring.
    assert!(front
        .read(&mut hc, &mut mem, &mut grants, 0, &mut [0u8; 100])
        .is_err());
    assert!(front
        .read(&mut hc, &mut mem, &mut grants, 99, &mut [0u8; 1024])
        .is_err());
}
