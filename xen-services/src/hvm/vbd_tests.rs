//! A vbd end to end inside one domain: the guest's side played as
//! `xen-blkfront` plays it — XenStore requests through the store ring,
//! `EVTCHNOP_alloc_unbound`/`send`, grants in the table, requests in a
//! ring page of its RAM — and the disk an in-memory queue.

use super::fake_guest::*;
use super::XenDomain;
use crate::blkback::xenbus::VbdConfig;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{Immediate, MemoryBlock};
use core::mem::offset_of;
use xen_abi::blkif::{BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_RSP_ERROR};
use xen_abi::grant_table::{GRANT_ENTRIES_V1_PER_FRAME, GTF_PERMIT_ACCESS, GTF_READONLY};
use xen_abi::hvm::HVM_PARAM_STORE_EVTCHN;
use xen_abi::hypercall::EVTCHNOP_ALLOC_UNBOUND;
use xen_abi::memory::DOMID_SELF;
use xen_abi::xenbus::xvd_vdev;
use xen_abi::xenstore::{
    XenstoreDomainInterface, XENSTORE_RING_SIZE, XS_READ, XS_WATCH_EVENT, XS_WRITE,
};

const RING_GFN: u64 = 0x40;
const DATA_GFN: u64 = 0x41;
const RING_REF: u32 = 8;
const DATA_REF: u32 = 9;
const SECTORS: u64 = 64;

/// The guest's xenbus: its store ring indices.
struct Bus {
    req_prod: u32,
    rsp_cons: u32,
    req_id: u32,
}

impl Bus {
    /// One request; its reply's payload (`Err` with the error string).
    fn request(
        &mut self,
        d: &mut XenDomain,
        g: &mut FakeGuest,
        op: u32,
        payload: &[u8],
    ) -> Result<Vec<u8>, Vec<u8>> {
        let ring = config().store_gfn << 12;
        self.req_id += 1;
        let mut msg = cat(&[
            &u32b(op),
            &u32b(self.req_id),
            &u32b(0),
            &u32b(payload.len() as u32),
        ]);
        msg.extend_from_slice(payload);
        for b in msg {
            g.poke(
                ring + (self.req_prod as usize % XENSTORE_RING_SIZE) as u64,
                &[b],
            );
            self.req_prod += 1;
        }
        g.poke(
            ring + offset_of!(XenstoreDomainInterface, req_prod) as u64,
            &u32b(self.req_prod),
        );
        let port = d.params[HVM_PARAM_STORE_EVTCHN as usize] as u32;
        assert_eq!(send(d, g, port), 0);
        // Replies and watch events; the reply is the one with our id.
        let rsp = ring + offset_of!(XenstoreDomainInterface, rsp) as u64;
        let prod = g.peek_u32(ring + offset_of!(XenstoreDomainInterface, rsp_prod) as u64);
        let mut bytes = Vec::new();
        while self.rsp_cons != prod {
            bytes.push(
                g.peek(
                    rsp + (self.rsp_cons as usize % XENSTORE_RING_SIZE) as u64,
                    1,
                )[0],
            );
            self.rsp_cons += 1;
        }
        g.poke(
            ring + offset_of!(XenstoreDomainInterface, rsp_cons) as u64,
            &u32b(self.rsp_cons),
        );
        g.sync(d);
        let mut reply = None;
        let mut at = 0;
        while at + 16 <= bytes.len() {
            let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
            let (ty, id, len) = (word(0), word(4), word(12) as usize);
            let body = bytes[at + 16..at + 16 + len].to_vec();
            if ty != XS_WATCH_EVENT && id == self.req_id {
                reply = Some(if ty == 16 { Err(body) } else { Ok(body) });
            }
            at += 16 + len;
        }
        reply.expect("a reply")
    }

    fn write(&mut self, d: &mut XenDomain, g: &mut FakeGuest, path: &str, value: &str) {
        let p = cat(&[path.as_bytes(), b"\0", value.as_bytes()]);
        self.request(d, g, XS_WRITE, &p).expect("write");
    }

    fn read(&mut self, d: &mut XenDomain, g: &mut FakeGuest, path: &str) -> Vec<u8> {
        let p = cat(&[path.as_bytes(), b"\0"]);
        self.request(d, g, XS_READ, &p).unwrap_or_default()
    }
}

const FE: &str = "device/vbd/51712";
const BE: &str = "/local/domain/0/backend/vbd/1/51712";

fn grant(d: &mut XenDomain, gref: u32, gfn: u64, readonly: bool) {
    let per = GRANT_ENTRIES_V1_PER_FRAME as u32;
    let off = (gref % per) as usize * 8;
    let f = d.grants.frame_mut(gref / per).unwrap();
    f[off + 2..off + 4].copy_from_slice(&0u16.to_le_bytes());
    f[off + 4..off + 8].copy_from_slice(&(gfn as u32).to_le_bytes());
    let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
    f[off..off + 2].copy_from_slice(&flags.to_le_bytes());
}

/// A domain with xvda, the guest's bus, and the disk.
fn setup(read_only: bool) -> (XenDomain, FakeGuest, Bus, Immediate<MemoryBlock>) {
    let (mut d, g) = boot();
    let bytes: Vec<u8> = (0..SECTORS as usize * 512)
        .map(|i| (i / 512) as u8)
        .collect();
    d.add_vbd(VbdConfig {
        vdev: xvd_vdev(0),
        sectors: SECTORS,
        read_only,
        flush: true,
        persistent: true,
    });
    let disk = Immediate::new(MemoryBlock::new(bytes, read_only), 32);
    (
        d,
        g,
        Bus {
            req_prod: 0,
            rsp_cons: 0,
            req_id: 0,
        },
        disk,
    )
}

/// `talk_to_blkback` and the switch to Initialised: a zeroed ring page
/// granted, a port allocated for domain 0, the nodes, state 3. Returns
/// the port.
fn connect(d: &mut XenDomain, g: &mut FakeGuest, bus: &mut Bus) -> u32 {
    g.poke(RING_GFN << 12, &[0; 4096]);
    g.poke(RING_GFN << 12 | 4, &u32b(1));
    g.poke(RING_GFN << 12 | 12, &u32b(1));
    grant(d, RING_REF, RING_GFN, false);
    let o = evtchn(
        d,
        g,
        EVTCHNOP_ALLOC_UNBOUND,
        &cat(&[&u16b(DOMID_SELF), &u16b(0), &[0; 4]]),
    );
    assert_eq!(o.ret, 0);
    let port = g.peek_u32(ARG + 4);
    bus.write(d, g, &format!("{FE}/ring-ref"), &format!("{RING_REF}"));
    bus.write(d, g, &format!("{FE}/event-channel"), &format!("{port}"));
    bus.write(d, g, &format!("{FE}/protocol"), "x86_64-abi");
    bus.write(d, g, &format!("{FE}/state"), "3");
    port
}

/// A one-segment request in slot `slot` of the ring, published.
fn request(g: &mut FakeGuest, slot: u32, op: u8, id: u64, sector: u64, first: u8, last: u8) {
    let at = (RING_GFN << 12) + 64 + 112 * u64::from(slot % 32);
    let mut s = [0u8; 112];
    s[0] = op;
    s[1] = 1;
    s[8..16].copy_from_slice(&id.to_le_bytes());
    s[16..24].copy_from_slice(&sector.to_le_bytes());
    s[24..28].copy_from_slice(&DATA_REF.to_le_bytes());
    s[28] = first;
    s[29] = last;
    g.poke(at, &s);
    g.poke(RING_GFN << 12, &u32b(slot + 1));
}

/// The response in slot `slot`: (id, operation, status).
fn response(g: &FakeGuest, slot: u32) -> (u64, u8, i16) {
    let at = (RING_GFN << 12) + 64 + 112 * u64::from(slot % 32);
    let b = g.peek(at, 16);
    (
        u64::from_le_bytes(b[0..8].try_into().unwrap()),
        b[8],
        i16::from_le_bytes([b[10], b[11]]),
    )
}

fn serve(d: &mut XenDomain, g: &mut FakeGuest, disk: &mut Immediate<MemoryBlock>) {
    g.sync(d);
    while d.vbd_wants_service(0) {
        d.serve_vbd(g, 0, disk);
    }
    g.sync(d);
}

#[test]
fn blkfronts_handshake_connects_and_its_requests_are_answered() {
    let (mut d, mut g, mut bus, mut disk) = setup(false);
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"2");
    let port = connect(&mut d, &mut g, &mut bus);
    assert!(d.vbd_connected(0));
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"4");
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/sectors")), b"64");
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/info")), b"0");
    bus.write(&mut d, &mut g, &format!("{FE}/state"), "4");

    // A read of sectors 5..=6 into the second and third sectors of a page.
    grant(&mut d, DATA_REF, DATA_GFN, false);
    request(&mut g, 0, BLKIF_OP_READ, 0xfeed, 5, 1, 2);
    assert_eq!(send(&mut d, &mut g, port), 0);
    assert!(d.vbd_wants_service(0));
    serve(&mut d, &mut g, &mut disk);
    assert_eq!(g.peek_u32(RING_GFN << 12 | 8), 1, "rsp_prod");
    assert_eq!(response(&g, 0), (0xfeed, BLKIF_OP_READ, 0));
    assert_eq!(g.peek(DATA_GFN << 12 | 512, 512), vec![5u8; 512]);
    assert_eq!(g.peek(DATA_GFN << 12 | 1024, 512), vec![6u8; 512]);
    assert_eq!(g.peek(DATA_GFN << 12, 512), vec![0u8; 512]);

    // A write from the page.
    g.poke(DATA_GFN << 12, &[0xAB; 512]);
    request(&mut g, 1, BLKIF_OP_WRITE, 2, 60, 0, 0);
    send(&mut d, &mut g, port);
    serve(&mut d, &mut g, &mut disk);
    assert_eq!(response(&g, 1), (2, BLKIF_OP_WRITE, 0));
    let mut back = [0u8; 512];
    block_backend::BlockBackend::read_at(disk.backend(), 60 * 512, &mut back).unwrap();
    assert_eq!(back, [0xAB; 512]);

    // Past the end of the disk.
    request(&mut g, 2, BLKIF_OP_READ, 3, SECTORS, 0, 0);
    send(&mut d, &mut g, port);
    serve(&mut d, &mut g, &mut disk);
    assert_eq!(response(&g, 2), (3, BLKIF_OP_READ, BLKIF_RSP_ERROR));
    let (stats, conns) = d.vbd_stats(0).unwrap();
    assert_eq!(
        (stats.reads, stats.writes, stats.errors, conns),
        (1, 1, 1, 1)
    );
}

#[test]
fn the_frontend_closes_and_reconnects_as_a_module_reload_does() {
    let (mut d, mut g, mut bus, mut disk) = setup(false);
    connect(&mut d, &mut g, &mut bus);
    bus.write(&mut d, &mut g, &format!("{FE}/state"), "4");
    bus.write(&mut d, &mut g, &format!("{FE}/state"), "5");
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"5");
    assert!(!d.vbd_connected(0));
    bus.write(&mut d, &mut g, &format!("{FE}/state"), "6");
    // Closed: the nodes go, as `xl block-detach` takes them...
    assert!(bus.read(&mut d, &mut g, &format!("{BE}/state")).is_empty());
    assert!(bus.read(&mut d, &mut g, &format!("{FE}/state")).is_empty());
    poll(&mut d, &mut g);
    assert!(bus.read(&mut d, &mut g, &format!("{FE}/state")).is_empty());
    // ...and come back fresh once the guest had time to drop its device,
    // as `xl block-attach` writes them.
    g.tsc += config().tsc_hz;
    poll(&mut d, &mut g);
    assert_eq!(bus.read(&mut d, &mut g, &format!("{FE}/state")), b"1");
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"2");
    let port = connect(&mut d, &mut g, &mut bus);
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"4");
    grant(&mut d, DATA_REF, DATA_GFN, false);
    request(&mut g, 0, BLKIF_OP_READ, 9, 1, 0, 0);
    send(&mut d, &mut g, port);
    serve(&mut d, &mut g, &mut disk);
    assert_eq!(response(&g, 0), (9, BLKIF_OP_READ, 0));
    assert_eq!(d.vbd_stats(0).unwrap().1, 2);
}

#[test]
fn a_revoked_ring_or_bad_details_close_the_vbd_with_an_error_node() {
    let (mut d, mut g, mut bus, mut disk) = setup(false);
    let port = connect(&mut d, &mut g, &mut bus);
    // The frontend takes its ring grant back while connected.
    d.grants.frame_mut(0).unwrap()[RING_REF as usize * 8..RING_REF as usize * 8 + 2].fill(0);
    send(&mut d, &mut g, port);
    serve(&mut d, &mut g, &mut disk);
    assert!(!d.vbd_connected(0));
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"5");
    assert_eq!(d.stats.vbd_failures, 1);

    // A second domain whose frontend names a port it does not have.
    let (mut d, mut g, mut bus, _) = setup(false);
    grant(&mut d, RING_REF, RING_GFN, false);
    bus.write(&mut d, &mut g, &format!("{FE}/ring-ref"), "8");
    bus.write(&mut d, &mut g, &format!("{FE}/event-channel"), "999");
    bus.write(&mut d, &mut g, &format!("{FE}/state"), "3");
    assert!(!d.vbd_connected(0));
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/state")), b"5");
    let error = d
        .store
        .tree()
        .get("/local/domain/0/error/backend/vbd/1/51712/error")
        .map(|n| n.value.clone());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.starts_with(b"event channel 999")),
        "{error:?}"
    );
}

#[test]
fn a_read_only_disk_refuses_writes() {
    let (mut d, mut g, mut bus, mut disk) = setup(true);
    let port = connect(&mut d, &mut g, &mut bus);
    assert_eq!(bus.read(&mut d, &mut g, &format!("{BE}/info")), b"4");
    grant(&mut d, DATA_REF, DATA_GFN, true);
    request(&mut g, 0, BLKIF_OP_WRITE, 1, 0, 0, 0);
    send(&mut d, &mut g, port);
    serve(&mut d, &mut g, &mut disk);
    assert_eq!(response(&g, 0), (1, BLKIF_OP_WRITE, BLKIF_RSP_ERROR));
}
