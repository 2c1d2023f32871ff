//! The block frontend connected to the hypervisor's blkback through the
//! real XenBus handshake, reading and writing an in-memory disk.

mod common;
use block_backend::{BlockBackend, Immediate, MemoryBlock};
use common::*;
use pv_drivers::blkfront::{connect, Blkfront, BlkfrontConfig, Bus};
use pv_drivers::xenstore::Tx;
use pv_drivers::Error;
use xen_abi::blkif::BLKIF_RSP_ERROR;
use xen_abi::xenbus::xvd_vdev;
use xen_services::blkback::xenbus::{VbdConfig, MAX_INDIRECT_SEGMENTS};

const SECTORS: u64 = 1024;
const FE: &str = "device/vbd/51712";
const BE: &str = "/local/domain/0/backend/vbd/1/51712";

/// Sector `s` holds bytes `(s * 7 + i) as u8`.
fn pattern(sector: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((sector + (i / 512) as u64) * 7 + (i % 512) as u64) as u8)
        .collect()
}

fn disk_with_vbd(g: &mut Guest, read_only: bool) {
    g.xen.dom.add_vbd(VbdConfig {
        vdev: xvd_vdev(0),
        sectors: SECTORS,
        read_only,
        flush: true,
        persistent: false,
    });
    let bytes = pattern(0, SECTORS as usize * 512);
    g.xen.disk = Some(Immediate::new(MemoryBlock::new(bytes, read_only), 32));
}

fn config(data_pages: u64, indirect: bool) -> BlkfrontConfig {
    BlkfrontConfig {
        nodename: FE.into(),
        ring_gfn: RING_GFN,
        data_gfns: (0..data_pages).map(|i| DATA_GFN0 + i).collect(),
        indirect_gfns: if indirect { vec![INDIRECT_GFN] } else { vec![] },
        max_polls: 100,
    }
}

fn connected(read_only: bool, data_pages: u64, indirect: bool) -> (Guest, Blkfront) {
    let mut g = guest();
    disk_with_vbd(&mut g, read_only);
    let front = connect(
        &mut Bus {
            hc: &mut g.xen,
            mem: &mut g.mem,
            store: &mut g.store,
            grants: &mut g.grants,
            events: &mut g.events,
        },
        config(data_pages, indirect),
    )
    .expect("handshake");
    (g, front)
}

fn disk_bytes(g: &Guest, offset: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0; len];
    g.xen
        .disk
        .as_ref()
        .unwrap()
        .backend()
        .read_at(offset, &mut b)
        .unwrap();
    b
}

#[test]
fn the_handshake_reaches_connected_on_both_sides() {
    let (mut g, front) = connected(false, 11, false);
    assert!(g.xen.dom.vbd_connected(0));
    let info = front.info();
    assert_eq!(info.sectors, SECTORS);
    assert_eq!(info.sector_size, 512);
    assert!(info.flush);
    assert!(!info.read_only());
    assert_eq!(info.max_indirect_segments, MAX_INDIRECT_SEGMENTS);
    assert_eq!(info.backend, BE);
    let (hc, mem, s) = (&mut g.xen, &mut g.mem, &mut g.store);
    assert_eq!(
        s.read(hc, mem, Tx::NONE, &format!("{FE}/state")).unwrap(),
        b"4"
    );
    assert_eq!(
        s.read(hc, mem, Tx::NONE, &format!("{BE}/state")).unwrap(),
        b"4"
    );
    assert_eq!(
        s.read(hc, mem, Tx::NONE, &format!("{FE}/protocol"))
            .unwrap(),
        b"x86_64-abi"
    );
    let (ring_ref, port) = front.ring_ref_and_port();
    assert_eq!(
        s.read_u64(hc, mem, Tx::NONE, &format!("{FE}/ring-ref"))
            .unwrap(),
        u64::from(ring_ref)
    );
    assert_eq!(
        s.read_u64(hc, mem, Tx::NONE, &format!("{FE}/event-channel"))
            .unwrap(),
        u64::from(port)
    );
}

#[test]
fn reads_writes_and_flushes_reach_the_disk() {
    let (mut g, mut front) = connected(false, 11, false);
    let free = g.grants.free_count();
    let mut buf = vec![0u8; 2 * 512];
    front
        .read(&mut g.xen, &mut g.mem, &mut g.grants, 5, &mut buf)
        .unwrap();
    assert_eq!(buf, pattern(5, 1024));
    let data: Vec<u8> = (0..3 * 512).map(|i| (i % 251) as u8).collect();
    front
        .write(&mut g.xen, &mut g.mem, &mut g.grants, 100, &data)
        .unwrap();
    assert_eq!(disk_bytes(&g, 100 * 512, data.len()), data);
    let mut back = vec![0u8; data.len()];
    front
        .read(&mut g.xen, &mut g.mem, &mut g.grants, 100, &mut back)
        .unwrap();
    assert_eq!(back, data);
    front.flush(&mut g.xen, &mut g.mem).unwrap();
    // 40 pages: split into direct requests of 11 segments.
    let mut big = vec![0u8; 40 * 4096];
    front
        .read(&mut g.xen, &mut g.mem, &mut g.grants, 200, &mut big)
        .unwrap();
    assert_eq!(big, pattern(200, big.len()));
    // Every data grant was revoked again.
    assert_eq!(g.grants.free_count(), free);
    let (stats, _) = g.xen.dom.vbd_stats(0).unwrap();
    assert_eq!((stats.writes, stats.flushes, stats.errors), (1, 1, 0));
    assert_eq!(stats.reads, 2 + 4);
    // Past the end: refused before any request.
    assert!(matches!(
        front.read(&mut g.xen, &mut g.mem, &mut g.grants, SECTORS, &mut buf),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn indirect_requests_carry_32_segments() {
    let (mut g, mut front) = connected(false, 32, true);
    assert_eq!(front.max_segments(), (32, true));
    let data: Vec<u8> = (0..32 * 4096).map(|i| (i * 13 % 256) as u8).collect();
    front
        .write(&mut g.xen, &mut g.mem, &mut g.grants, 300, &data)
        .unwrap();
    assert_eq!(disk_bytes(&g, 300 * 512, data.len()), data);
    let mut back = vec![0u8; data.len()];
    front
        .read(&mut g.xen, &mut g.mem, &mut g.grants, 300, &mut back)
        .unwrap();
    assert_eq!(back, data);
    let (stats, _) = g.xen.dom.vbd_stats(0).unwrap();
    assert_eq!((stats.reads, stats.writes, stats.errors), (1, 1, 0));
    assert_eq!(stats.bytes_read, 32 * 4096);
    // A partial last page: 33 sectors over five pages.
    let mut odd = vec![0u8; 33 * 512];
    front
        .read(&mut g.xen, &mut g.mem, &mut g.grants, 7, &mut odd)
        .unwrap();
    assert_eq!(odd, pattern(7, odd.len()));
}

#[test]
fn a_read_only_disk_refuses_writes_with_an_error_status() {
    let (mut g, mut front) = connected(true, 4, false);
    assert!(front.info().read_only());
    let r = front.write(&mut g.xen, &mut g.mem, &mut g.grants, 0, &[1; 512]);
    assert_eq!(r, Err(Error::Io(BLKIF_RSP_ERROR)));
    assert_eq!(disk_bytes(&g, 0, 512), pattern(0, 512));
}

#[test]
fn disconnecting_closes_the_channel_and_revokes_the_ring() {
    let (mut g, front) = connected(false, 1, false);
    let free = g.grants.free_count();
    front
        .disconnect(&mut g.xen, &mut g.mem, &mut g.grants, &mut g.events)
        .unwrap();
    assert_eq!(g.grants.free_count(), free + 1);
}

#[test]
fn no_backend_means_no_connection() {
    let mut g = guest();
    let r = connect(
        &mut Bus {
            hc: &mut g.xen,
            mem: &mut g.mem,
            store: &mut g.store,
            grants: &mut g.grants,
            events: &mut g.events,
        },
        config(1, false),
    );
    assert_eq!(
        r.unwrap_err(),
        Error::Store(pv_drivers::xenstore::XsError::NotFound)
    );
}

#[test]
fn a_backend_that_is_closing_or_never_connects_is_refused() {
    let mut g = guest();
    disk_with_vbd(&mut g, false);
    // Domain 0 marks its end Closing before the frontend starts.
    let path = format!("{BE}/state\u{0}5");
    let _ = g.xen.dom.store.request(
        xen_services::xenstore::DOM0,
        xen_abi::xenstore::XS_WRITE,
        0,
        0,
        path.as_bytes(),
    );
    let free = g.grants.free_count();
    let r = connect(
        &mut Bus {
            hc: &mut g.xen,
            mem: &mut g.mem,
            store: &mut g.store,
            grants: &mut g.grants,
            events: &mut g.events,
        },
        config(1, false),
    );
    assert_eq!(r.unwrap_err(), Error::NotConnected);
    assert_eq!(g.grants.free_count(), free, "nothing granted");
}
