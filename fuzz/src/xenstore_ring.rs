//! `xenstore_ring`: the XenStore ring (`io/xs_wire.h`'s
//! `xenstore_domain_interface`) served by
//! `xen_services::xenstore::ring::XenStoreConnection` for two guests over
//! one store, as hostile guests drive it. The input starts with the first
//! guest's page as it left it (a length, then that many raw bytes); the
//! rest is a script: the guest places raw bytes or well-formed messages
//! into `req[]`, scribbles on its indices or anywhere in its page, consumes
//! `rsp[]`, and the hypervisor services kicks (routing the watch events
//! one guest's writes fire for the other), flushes, and writes as the
//! backends do.
//!
//! Beyond not panicking: the server writes only its own fields of the page
//! (`req_cons`, `rsp[]`, `rsp_prod`, `error`), its buffers stay bounded,
//! and a broken connection changes nothing more.

use crate::input::Input;
use core::mem::offset_of;
use std::sync::OnceLock;
use xen_abi::xenstore::{XenstoreDomainInterface as Ring, XS_WRITE};
use xen_services::xenstore::ring::{
    XenStoreConnection, EVENT_QUEUE_LIMIT, HEADER_LEN, INTAKE_LIMIT, XENSTORE_PAGE_LEN,
};
use xen_services::xenstore::XenStore;

/// Most script steps one input runs.
const MAX_OPS: usize = 4096;
const PAGE: usize = 4096;
const RSP: usize = offset_of!(Ring, rsp);
const REQ_CONS: usize = offset_of!(Ring, req_cons);
const REQ_PROD: usize = offset_of!(Ring, req_prod);
const RSP_CONS: usize = offset_of!(Ring, rsp_cons);
const RSP_PROD: usize = offset_of!(Ring, rsp_prod);
const ERROR: usize = offset_of!(Ring, error);
const RING: u32 = 1024;
/// The page bytes the server may write, in order.
const OWNED: [(usize, usize); 4] = [(RSP, 1024), (REQ_CONS, 4), (RSP_PROD, 4), (ERROR, 4)];
/// Largest message.
const MAX_MSG: usize = HEADER_LEN + 4096;
/// Paths the script picks from for messages and the backends' writes.
const PATHS: [&[u8]; 8] = [
    b"device",
    b"data/a",
    b"/local/domain/2/data",
    b"/local/domain/1/device/vbd/51712/state",
    b"control/shutdown",
    b"@releaseDomain",
    b"",
    b"data/a/b/c",
];

fn get(page: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
}

fn set(page: &mut [u8], at: usize, v: u32) {
    page[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The guest appends `bytes` to `req[]` (as much as it believes fits) and
/// publishes them.
fn guest_send(page: &mut [u8], bytes: &[u8]) {
    let prod = get(page, REQ_PROD);
    let used = prod.wrapping_sub(get(page, REQ_CONS)).min(RING);
    let n = bytes.len().min((RING - used) as usize);
    for (i, &b) in bytes[..n].iter().enumerate() {
        page[(prod.wrapping_add(i as u32) & (RING - 1)) as usize] = b;
    }
    set(page, REQ_PROD, prod.wrapping_add(n as u32));
}

/// A well-formed message built from the input.
fn message(input: &mut Input) -> Vec<u8> {
    let kind = u32::from(input.u8() % 28);
    let req_id = input.u32();
    let tx_id = u32::from(input.u8() % 4);
    let mut payload = input.choose(&PATHS).to_vec();
    match input.u8() % 4 {
        0 => payload.push(0),
        1 => {
            payload.push(0);
            let n = usize::from(input.u8());
            payload.extend_from_slice(input.bytes(n));
        }
        2 => {
            payload.push(0);
            payload.extend_from_slice(b"tok\0");
        }
        _ => {}
    }
    let mut m = Vec::with_capacity(HEADER_LEN + payload.len());
    for f in [kind, req_id, tx_id, payload.len() as u32] {
        m.extend_from_slice(&f.to_le_bytes());
    }
    m.extend(payload);
    m
}

fn check_owned_only(before: &[u8], after: &[u8]) {
    // The bytes between the server's fields, compared as slices (one
    // comparison each, not one per byte under the coverage tracing).
    let mut from = 0;
    for (at, n) in OWNED {
        assert_eq!(
            before[from..at],
            after[from..at],
            "the server wrote the page in {from:#x}..{at:#x}, outside its fields"
        );
        from = at + n;
    }
    assert_eq!(
        before[from..],
        after[from..],
        "the server wrote past its fields"
    );
}

fn check_bounds(c: &XenStoreConnection) {
    assert!(c.pending_output() <= INTAKE_LIMIT + EVENT_QUEUE_LIMIT + 2 * MAX_MSG);
    assert!(c.partial_len() <= MAX_MSG);
}

/// Services a kick on connection `d`, checking what it wrote, and hands the
/// events for the other guest to its connection.
fn kick(
    d: usize,
    conns: &mut [XenStoreConnection; 2],
    pages: &mut [Vec<u8>; 2],
    xs: &mut XenStore,
) {
    let before = pages[d].clone();
    let was_broken = conns[d].broken();
    let out = conns[d].service(&mut pages[d], xs);
    check_owned_only(&before, &pages[d]);
    if was_broken.is_some() {
        assert_eq!(pages[d], before, "a broken connection wrote the page");
        assert!(!out.notify && out.requests == 0);
    }
    check_bounds(&conns[d]);
    for r in &out.others {
        assert_eq!(r.domid, [2, 1][d], "only the two guests watch");
    }
    conns[1 - d].queue(out.others);
}

/// A store with both guests introduced, built once and cloned per input.
fn store() -> XenStore {
    static STORE: OnceLock<XenStore> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let mut xs = XenStore::new();
            for d in 1..=2 {
                let _ = xs.introduce_domain(d);
            }
            xs
        })
        .clone()
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut xs = store();
    let mut conns = [XenStoreConnection::new(1), XenStoreConnection::new(2)];
    let mut pages = [vec![0u8; PAGE], vec![0u8; PAGE]];
    let n = usize::from(input.u16()) % (XENSTORE_PAGE_LEN + 1);
    let initial = input.bytes(n);
    pages[0][..initial.len()].copy_from_slice(initial);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = input.u8();
        let d = usize::from(op & 1);
        match op >> 1 & 7 {
            0 => {
                let n = usize::from(input.u16()) % 1025;
                let bytes = input.bytes(n);
                guest_send(&mut pages[d], bytes);
            }
            1 => {
                let m = message(&mut input);
                guest_send(&mut pages[d], &m);
            }
            2 => {
                let at = [REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD][usize::from(input.u8() & 3)];
                let v = input.u32();
                set(&mut pages[d], at, v);
            }
            3 => {
                let at = usize::from(input.u16()) % PAGE;
                let n = usize::from(input.u8());
                let bytes = input.bytes(n);
                let end = (at + bytes.len()).min(PAGE);
                pages[d][at..end].copy_from_slice(&bytes[..end - at]);
            }
            4 => {
                // The guest consumes some of rsp[].
                let page = &mut pages[d];
                let cons = get(page, RSP_CONS);
                let waiting = get(page, RSP_PROD).wrapping_sub(cons).min(RING);
                let n = waiting.min(u32::from(input.u16()));
                set(page, RSP_CONS, cons.wrapping_add(n));
            }
            5 => {
                let before = pages[d].clone();
                let _ = conns[d].flush(&mut pages[d]);
                check_owned_only(&before, &pages[d]);
                check_bounds(&conns[d]);
            }
            6 => {
                // A backend (domain 0) writes; its events go to the guests.
                let path = input.choose(&PATHS);
                let mut p = Vec::new();
                if !path.starts_with(b"/") {
                    p.extend_from_slice(b"/local/domain/1/");
                }
                p.extend_from_slice(path);
                p.push(0);
                let n = usize::from(input.u8() & 15);
                p.extend_from_slice(input.bytes(n));
                for r in xs.request(0, XS_WRITE, 0, 0, &p).into_iter().skip(1) {
                    let to = usize::from(r.domid == 2);
                    conns[to].queue([r]);
                    check_bounds(&conns[to]);
                }
            }
            _ => kick(d, &mut conns, &mut pages, &mut xs),
        }
    }
    for d in [0, 1, 0, 1] {
        kick(d, &mut conns, &mut pages, &mut xs);
    }
}
