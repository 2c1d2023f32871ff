//! The vbd's nodes and handshake, with the guest's side played through
//! the store's request path as the guest's xenbus would.

use super::*;
use xen_abi::errno::Errno;
use xen_abi::xenbus::xvd_vdev;
use xen_abi::xenstore::XS_WATCH;

const DOMID: DomId = 1;

const CFG: VbdConfig = VbdConfig {
    vdev: xvd_vdev(0),
    sectors: 8192,
    read_only: false,
    flush: true,
    persistent: true,
};

fn store() -> XenStore {
    let mut st = XenStore::new();
    st.introduce_domain(DOMID);
    st
}

/// A request from the guest; the reply's payload or its error.
fn guest(st: &mut XenStore, op: u32, parts: &[&str]) -> Result<Vec<u8>, Errno> {
    let mut p = Vec::new();
    for (i, s) in parts.iter().enumerate() {
        p.extend_from_slice(s.as_bytes());
        if i + 1 < parts.len() || op != XS_WRITE {
            p.push(0);
        }
    }
    let r = st.request(DOMID, op, 0, 0, &p).remove(0);
    r.error().map_or(Ok(r.payload), Err)
}

#[test]
fn the_nodes_are_where_blkfront_looks_with_the_permissions_xl_gives() {
    let mut st = store();
    create(&mut Dom0Store::new(&mut st), DOMID, &CFG);
    let fe = "/local/domain/1/device/vbd/51712";
    let be = "/local/domain/0/backend/vbd/1/51712";
    let read = |st: &mut XenStore, p: &str| guest(st, XS_READ, &[p]);
    assert_eq!(read(&mut st, &format!("{fe}/state")).unwrap(), b"1");
    assert_eq!(
        read(&mut st, &format!("{fe}/backend")).unwrap(),
        be.as_bytes()
    );
    assert_eq!(read(&mut st, &format!("{fe}/backend-id")).unwrap(), b"0");
    assert_eq!(
        read(&mut st, &format!("{fe}/device-type")).unwrap(),
        b"disk"
    );
    assert_eq!(
        read(&mut st, &format!("{fe}/virtual-device")).unwrap(),
        b"51712"
    );
    assert_eq!(read(&mut st, &format!("{be}/state")).unwrap(), b"2");
    assert_eq!(
        read(&mut st, &format!("{be}/feature-flush-cache")).unwrap(),
        b"1"
    );
    assert_eq!(
        read(&mut st, &format!("{be}/feature-persistent")).unwrap(),
        b"1"
    );
    // The guest writes its end, not the backend's.
    assert!(guest(&mut st, XS_WRITE, &[&format!("{fe}/ring-ref"), "8"]).is_ok());
    assert!(guest(&mut st, XS_WRITE, &[&format!("{fe}/state"), "3"]).is_ok());
    assert_eq!(
        guest(&mut st, XS_WRITE, &[&format!("{be}/state"), "4"]),
        Err(Errno::EACCES)
    );
    assert_eq!(
        guest(&mut st, XS_WRITE, &[&format!("{be}/sectors"), "1"]),
        Err(Errno::EACCES)
    );
}

#[test]
fn the_frontends_watch_on_the_backend_state_fires() {
    let mut st = store();
    create(&mut Dom0Store::new(&mut st), DOMID, &CFG);
    let be_state = "/local/domain/0/backend/vbd/1/51712/state";
    let initial = st.request(
        DOMID,
        XS_WATCH,
        0,
        0,
        format!("{be_state}\0tok\0").as_bytes(),
    );
    // The reply and the initial event.
    assert_eq!(initial.len(), 2);
    let mut s = Dom0Store::new(&mut st);
    publish_connected(&mut s, DOMID, &CFG);
    let events: Vec<_> = s
        .events
        .iter()
        .filter(|e| e.domid == DOMID && e.payload.starts_with(be_state.as_bytes()))
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(guest(&mut st, XS_READ, &[be_state]).unwrap(), b"4");
    assert_eq!(
        guest(
            &mut st,
            XS_READ,
            &["/local/domain/0/backend/vbd/1/51712/sectors"]
        )
        .unwrap(),
        b"8192"
    );
}

#[test]
fn the_handshake_follows_blkbacks_frontend_changed() {
    use XenbusState::*;
    assert_eq!(next_step(InitWait, Initialising), Step::Stay);
    assert_eq!(next_step(InitWait, Initialised), Step::Connect);
    assert_eq!(next_step(InitWait, Connected), Step::Connect);
    assert_eq!(next_step(Connected, Connected), Step::Stay);
    assert_eq!(next_step(Connected, Initialised), Step::Stay);
    assert_eq!(next_step(Connected, Closing), Step::Disconnect(Closing));
    assert_eq!(next_step(Closing, Closing), Step::Stay);
    assert_eq!(next_step(Closing, Closed), Step::Disconnect(Closed));
    assert_eq!(next_step(Connected, Unknown), Step::Disconnect(Closed));
    assert_eq!(next_step(Closed, Closed), Step::Stay);
    assert_eq!(next_step(Closed, Initialising), Step::Restart);
    assert_eq!(next_step(InitWait, Closing), Step::Disconnect(Closing));
    // Every pair gives an answer without panicking, and a Connect only
    // from InitWait.
    for b in 0..=9u8 {
        for f in 0..=9u8 {
            let (b, f) = (
                XenbusState::parse(format!("{b}").as_bytes()),
                XenbusState::parse(format!("{f}").as_bytes()),
            );
            if next_step(b, f) == Step::Connect {
                assert_eq!(b, InitWait);
            }
        }
    }
}

#[test]
fn ring_details_single_and_multi_page_and_what_is_refused() {
    let mut st = store();
    create(&mut Dom0Store::new(&mut st), DOMID, &CFG);
    let fe = "/local/domain/1/device/vbd/51712";
    let w = |st: &mut XenStore, n: &str, v: &str| {
        guest(st, XS_WRITE, &[&format!("{fe}/{n}"), v]).unwrap();
    };
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
    w(&mut st, "ring-ref", "8");
    w(&mut st, "event-channel", "5");
    w(&mut st, "protocol", "x86_64-abi");
    assert_eq!(
        read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG),
        Ok(FrontendRing {
            order: 0,
            refs: alloc::vec![8],
            port: 5
        })
    );
    w(&mut st, "ring-page-order", "1");
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
    w(&mut st, "ring-ref0", "9");
    w(&mut st, "ring-ref1", "10");
    assert_eq!(
        read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).map(|r| r.refs),
        Ok(alloc::vec![9, 10])
    );
    w(&mut st, "ring-page-order", "5");
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
    w(&mut st, "ring-page-order", "0");
    w(&mut st, "ring-ref0", "11");
    assert_eq!(
        read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).map(|r| r.refs),
        Ok(alloc::vec![11])
    );
    w(&mut st, "protocol", "x86_32-abi");
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
    w(&mut st, "protocol", "x86_64-abi");
    w(&mut st, "multi-queue-num-queues", "4");
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
    w(&mut st, "multi-queue-num-queues", "1");
    w(&mut st, "event-channel", "junk");
    assert!(read_ring(&mut Dom0Store::new(&mut st), DOMID, &CFG).is_err());
}

#[test]
fn a_read_only_disk_says_so() {
    let ro = VbdConfig {
        read_only: true,
        ..CFG
    };
    let mut st = store();
    let mut s = Dom0Store::new(&mut st);
    create(&mut s, DOMID, &ro);
    publish_connected(&mut s, DOMID, &ro);
    let be = "/local/domain/0/backend/vbd/1/51712";
    assert_eq!(
        guest(&mut st, XS_READ, &[&format!("{be}/info")]).unwrap(),
        b"4"
    );
    assert_eq!(
        guest(&mut st, XS_READ, &[&format!("{be}/mode")]).unwrap(),
        b"r"
    );
    assert!(ro.limits().read_only);
}
