//! The XenStore client against the hypervisor's XenStore server, over the
//! store ring page it serves.

mod common;
use common::*;
use pv_drivers::xenstore::{Tx, WatchEvent, XsError};
use pv_drivers::Error;

#[test]
fn read_write_list_and_remove() {
    let mut g = guest();
    let (hc, mem, s) = (&mut g.xen, &mut g.mem, &mut g.store);
    assert_eq!(
        s.read_string(hc, mem, Tx::NONE, "/local/domain/1/name")
            .unwrap(),
        "vmm-guest-1"
    );
    s.write(hc, mem, Tx::NONE, "data/greeting", b"hello")
        .unwrap();
    s.write(hc, mem, Tx::NONE, "/local/domain/1/data/n", b"42")
        .unwrap();
    assert_eq!(
        s.read(hc, mem, Tx::NONE, "data/greeting").unwrap(),
        b"hello"
    );
    assert_eq!(s.read_u64(hc, mem, Tx::NONE, "data/n").unwrap(), 42);
    let mut names = s.directory(hc, mem, Tx::NONE, "data").unwrap();
    names.sort();
    assert_eq!(names, ["greeting", "n"]);
    s.mkdir(hc, mem, Tx::NONE, "data/empty").unwrap();
    assert!(s
        .directory(hc, mem, Tx::NONE, "data/empty")
        .unwrap()
        .is_empty());
    s.rm(hc, mem, Tx::NONE, "data/greeting").unwrap();
    assert_eq!(
        s.read(hc, mem, Tx::NONE, "data/greeting"),
        Err(Error::Store(XsError::NotFound))
    );
    // Domain 0's tree is not the guest's to write.
    assert_eq!(
        s.write(hc, mem, Tx::NONE, "/local/domain/0/backend/x", b"1"),
        Err(Error::Store(XsError::Access))
    );
}

#[test]
fn messages_longer_than_the_ring_go_both_ways() {
    let mut g = guest();
    let (hc, mem, s) = (&mut g.xen, &mut g.mem, &mut g.store);
    // A 2000-byte value (the store's quota is 2048): the request and the
    // reply of the read are each two rings long.
    let value: Vec<u8> = (0..2000u32).map(|i| b'A' + (i % 26) as u8).collect();
    s.write(hc, mem, Tx::NONE, "data/big", &value).unwrap();
    assert_eq!(s.read(hc, mem, Tx::NONE, "data/big").unwrap(), value);
    let mut over = value.clone();
    over.extend_from_slice(&[b'!'; 100]);
    assert_eq!(
        s.write(hc, mem, Tx::NONE, "data/big", &over),
        Err(Error::Store(XsError::NoSpace))
    );
    // A listing of 60 long names (about 2.6 KiB).
    for i in 0..60 {
        let p = format!("data/list/a-rather-long-node-name-number-{i:04}");
        s.write(hc, mem, Tx::NONE, &p, b"").unwrap();
    }
    let names = s.directory(hc, mem, Tx::NONE, "data/list").unwrap();
    assert_eq!(names.len(), 60);
    assert!(names.contains(&"a-rather-long-node-name-number-0059".to_string()));
}

#[test]
fn watches_fire_for_our_writes_and_for_domain_0s() {
    let mut g = guest();
    let (hc, mem, s) = (&mut g.xen, &mut g.mem, &mut g.store);
    s.watch(hc, mem, "data", "tok").unwrap();
    // Xen fires a new watch once at once.
    let first = s.wait_watch_event(hc, mem).unwrap();
    assert_eq!(first.token, "tok");
    assert!(first.path.ends_with("data"), "{first:?}");
    s.write(hc, mem, Tx::NONE, "data/a", b"1").unwrap();
    let e = s.wait_watch_event(hc, mem).unwrap();
    assert_eq!(
        e,
        WatchEvent {
            // Relative to the domain's home, as the watch was.
            path: "data/a".into(),
            token: "tok".into()
        }
    );
    assert_eq!(s.poll_watch_event(hc, mem).unwrap(), None);
    // Domain 0 asks the guest to power off, as `xl shutdown` does.
    s.watch(hc, mem, "control/shutdown", "sd").unwrap();
    s.wait_watch_event(hc, mem).unwrap();
    let mut dom0_view = mem.clone();
    hc.dom.request_shutdown(&mut dom0_view, "poweroff");
    let e = s.wait_watch_event(hc, mem).unwrap();
    assert_eq!(e.token, "sd");
    assert_eq!(s.read(hc, mem, Tx::NONE, &e.path).unwrap(), b"poweroff");
    s.unwatch(hc, mem, "data", "tok").unwrap();
    s.write(hc, mem, Tx::NONE, "data/b", b"2").unwrap();
    assert_eq!(s.poll_watch_event(hc, mem).unwrap(), None);
    assert_eq!(
        s.unwatch(hc, mem, "data", "tok"),
        Err(Error::Store(XsError::NotFound))
    );
}

#[test]
fn transactions_commit_abort_and_retry_on_eagain() {
    let mut g = guest();
    let (hc, mem, s) = (&mut g.xen, &mut g.mem, &mut g.store);
    s.write(hc, mem, Tx::NONE, "data/counter", b"1").unwrap();
    // A plain transaction.
    let tx = s.transaction_start(hc, mem).unwrap();
    s.write(hc, mem, tx, "data/in-tx", b"x").unwrap();
    assert_eq!(
        s.read(hc, mem, Tx::NONE, "data/in-tx"),
        Err(Error::Store(XsError::NotFound)),
        "not visible before the commit"
    );
    s.transaction_end(hc, mem, tx, true).unwrap();
    assert_eq!(s.read(hc, mem, Tx::NONE, "data/in-tx").unwrap(), b"x");
    // Aborted.
    let tx = s.transaction_start(hc, mem).unwrap();
    s.write(hc, mem, tx, "data/aborted", b"x").unwrap();
    s.transaction_end(hc, mem, tx, false).unwrap();
    assert!(s.read(hc, mem, Tx::NONE, "data/aborted").is_err());
    // An increment whose first run races a write outside it: the commit
    // fails with EAGAIN and the body runs again.
    let mut runs = 0;
    let v = s
        .transaction(hc, mem, |s, hc, mem, tx| {
            runs += 1;
            let n = s.read_u64(hc, mem, tx, "data/counter")?;
            if runs == 1 {
                s.write(hc, mem, Tx::NONE, "data/counter", b"10")?;
            }
            s.write(hc, mem, tx, "data/counter", format!("{}", n + 1).as_bytes())?;
            Ok(n + 1)
        })
        .unwrap();
    assert_eq!((runs, v), (2, 11));
    assert_eq!(s.read_u64(hc, mem, Tx::NONE, "data/counter").unwrap(), 11);
    // A body error aborts and is returned.
    let r: Result<(), Error> = s.transaction(hc, mem, |s, hc, mem, tx| {
        s.write(hc, mem, tx, "data/never", b"x")?;
        Err(Error::InvalidArgument("changed my mind"))
    });
    assert_eq!(r, Err(Error::InvalidArgument("changed my mind")));
    assert!(s.read(hc, mem, Tx::NONE, "data/never").is_err());
    // An unknown transaction id.
    assert_eq!(
        s.read(hc, mem, Tx(999), "data/counter"),
        Err(Error::Store(XsError::NotFound))
    );
}
