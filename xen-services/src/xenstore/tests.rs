//! Sequences real clients send: Linux's xenbus probe, xenstore-utils in a
//! guest, a backend's transactions, hostile guests.

use alloc::vec::Vec;

use xen_abi::errno::Errno;
use xen_abi::xenstore::*;

use super::{Response, XenStore};

const GUEST: u16 = 1;

fn req(xs: &mut XenStore, dom: u16, kind: u32, tx: u32, payload: &[u8]) -> Vec<Response> {
    let out = xs.request(dom, kind, tx, 77, payload);
    assert_eq!(out[0].header.req_id, 77);
    assert_eq!(out[0].domid, dom);
    assert_eq!(out[0].header.len as usize, out[0].payload.len());
    out
}

fn ok(xs: &mut XenStore, dom: u16, kind: u32, tx: u32, payload: &[u8]) -> Vec<u8> {
    let out = req(xs, dom, kind, tx, payload);
    assert_eq!(out[0].header.kind, kind, "{:?}", out[0]);
    out[0].payload.clone()
}

fn err(xs: &mut XenStore, dom: u16, kind: u32, tx: u32, payload: &[u8]) -> Errno {
    let out = req(xs, dom, kind, tx, payload);
    out[0].error().expect("an error reply")
}

fn store() -> XenStore {
    let mut xs = XenStore::new();
    xs.introduce_domain(GUEST);
    xs
}

#[test]
fn xenbus_probe_sequence() {
    let mut xs = store();
    assert_eq!(
        ok(
            &mut xs,
            GUEST,
            XS_READ,
            0,
            b"control/platform-feature-xs_reset_watches\0"
        ),
        b"1"
    );
    // Linux sends its argument-less requests as "\0", libxenstore as "".
    assert_eq!(ok(&mut xs, GUEST, XS_RESET_WATCHES, 0, b"\0"), b"OK\0");
    assert_eq!(ok(&mut xs, GUEST, XS_RESET_WATCHES, 0, b""), b"OK\0");
    let id = ok(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"");
    let id = core::str::from_utf8(&id[..id.len() - 1]).unwrap();
    let id: u32 = id.parse().unwrap();
    ok(&mut xs, GUEST, XS_TRANSACTION_END, id, b"F\0");
    assert_eq!(ok(&mut xs, GUEST, XS_DIRECTORY, 0, b"device\0"), b"");
    ok(
        &mut xs,
        0,
        XS_WRITE,
        0,
        b"/local/domain/1/device/vbd/51712/state\x001",
    );
    assert_eq!(ok(&mut xs, GUEST, XS_DIRECTORY, 0, b"device\0"), b"vbd\0");
    let out = req(&mut xs, GUEST, XS_WATCH, 0, b"device\0dev-tok\0");
    assert_eq!(out[0].payload, b"OK\0");
    // The watch fires at once, with the path as registered.
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].header.kind, XS_WATCH_EVENT);
    assert_eq!(out[1].header.req_id, 0);
    assert_eq!(out[1].payload, b"device\0dev-tok\0");
    assert_eq!(out[1].to_bytes().len(), 16 + out[1].payload.len());
    // A backend's change under device/ fires it, relative.
    let out = req(
        &mut xs,
        0,
        XS_WRITE,
        0,
        b"/local/domain/1/device/vbd/51712/state\x004",
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].domid, GUEST);
    assert_eq!(out[1].payload, b"device/vbd/51712/state\0dev-tok\0");
    assert_eq!(
        ok(&mut xs, GUEST, XS_GET_DOMAIN_PATH, 0, b"1\0"),
        b"/local/domain/1\0"
    );
    assert_eq!(
        ok(&mut xs, GUEST, XS_UNWATCH, 0, b"device\0dev-tok\0"),
        b"OK\0"
    );
    assert_eq!(
        err(&mut xs, GUEST, XS_UNWATCH, 0, b"device\0dev-tok\0"),
        Errno::ENOENT
    );
}

#[test]
fn guest_data_round_trip_and_eacces_outside() {
    let mut xs = store();
    xs.introduce_domain(2);
    ok(
        &mut xs,
        GUEST,
        XS_WRITE,
        0,
        b"/local/domain/1/data/a/b\0hello",
    );
    assert_eq!(ok(&mut xs, GUEST, XS_READ, 0, b"data/a/b\0"), b"hello");
    // What Linux's shutdown watcher announces.
    ok(
        &mut xs,
        GUEST,
        XS_WRITE,
        0,
        b"control/feature-poweroff\x001",
    );
    assert_eq!(ok(&mut xs, GUEST, XS_GET_PERMS, 0, b"data/a/b\0"), b"n1\0");
    assert_eq!(ok(&mut xs, GUEST, XS_GET_PERMS, 0, b"domid\0"), b"n0\0r1\0");
    assert_eq!(ok(&mut xs, GUEST, XS_DIRECTORY, 0, b"data\0"), b"a\0");
    ok(&mut xs, GUEST, XS_MKDIR, 0, b"data/dir\0");
    assert_eq!(
        err(&mut xs, GUEST, XS_READ, 0, b"data/nothing\0"),
        Errno::ENOENT
    );
    // Outside its subtree, or in read-only parts of it.
    for (kind, p) in [
        (XS_WRITE, &b"/local/domain/2/data/x\0v"[..]),
        (XS_READ, b"/local/domain/2/domid\0"),
        (XS_READ, b"/local/domain/2/data/nothing\0"),
        (XS_WRITE, b"/tool/x\0v"),
        (XS_WRITE, b"domid\x002"),
        (XS_WRITE, b"newdir\0v"),
        (XS_DIRECTORY, b"/local/domain\0"),
        (XS_RM, b"device\0"),
        (XS_SET_PERMS, b"domid\0b1\0"),
    ] {
        assert_eq!(err(&mut xs, GUEST, kind, 0, p), Errno::EACCES, "{p:?}");
    }
    // The owner may share a node, but not give it away.
    ok(&mut xs, GUEST, XS_SET_PERMS, 0, b"data/a\0n1\0r2\0");
    assert_eq!(ok(&mut xs, 2, XS_READ, 0, b"/local/domain/1/data/a\0"), b"");
    assert_eq!(
        err(&mut xs, 2, XS_WRITE, 0, b"/local/domain/1/data/a\0v"),
        Errno::EACCES
    );
    assert_eq!(
        err(&mut xs, GUEST, XS_SET_PERMS, 0, b"data/a\0n2\0"),
        Errno::EPERM
    );
    ok(&mut xs, GUEST, XS_RM, 0, b"data/a\0");
    assert_eq!(
        err(&mut xs, GUEST, XS_READ, 0, b"data/a/b\0"),
        Errno::ENOENT
    );
    // A watch does not report a path the watcher may not read.
    ok(&mut xs, 2, XS_WATCH, 0, b"/local/domain/1\0t\0");
    assert_eq!(req(&mut xs, GUEST, XS_WRITE, 0, b"data/z\0v").len(), 1);
}

#[test]
fn bad_paths_and_messages() {
    let mut xs = store();
    for p in [
        &b"/a/../b\0"[..],
        b"/a//b\0",
        b"/a/\0",
        b"data/\0",
        b"\0",
        b"/a b\0",
        b"/a.b\0",
        b"data\0extra\0",
        b"data",
    ] {
        assert_eq!(err(&mut xs, 0, XS_READ, 0, p), Errno::EINVAL, "{p:?}");
    }
    let mut long = alloc::vec![b'a'; XENSTORE_REL_PATH_MAX + 1];
    long.push(0);
    assert_eq!(err(&mut xs, GUEST, XS_READ, 0, &long), Errno::EINVAL);
    // The same limit applies to a guest below a home named absolutely, and
    // to the whole of any other path (xenstored's `is_valid_nodename`).
    let mut abs = b"/local/domain/1/".to_vec();
    abs.extend(core::iter::repeat_n(b'a', XENSTORE_REL_PATH_MAX + 1));
    abs.push(0);
    assert_eq!(err(&mut xs, GUEST, XS_READ, 0, &abs), Errno::EINVAL);
    assert_eq!(err(&mut xs, 0, XS_READ, 0, &abs), Errno::ENOENT);
    abs.drain(16..17);
    assert_eq!(err(&mut xs, GUEST, XS_READ, 0, &abs), Errno::ENOENT);
    let mut abs = b"/tool/".to_vec();
    abs.extend(core::iter::repeat_n(b'a', XENSTORE_REL_PATH_MAX - 6));
    abs.push(0);
    assert_eq!(err(&mut xs, GUEST, XS_READ, 0, &abs), Errno::EACCES);
    abs.insert(7, b'a');
    assert_eq!(err(&mut xs, GUEST, XS_READ, 0, &abs), Errno::EINVAL);
    let mut abs = b"/tool/".to_vec();
    abs.extend(core::iter::repeat_n(b'a', XENSTORE_ABS_PATH_MAX - 5));
    abs.push(0);
    assert_eq!(err(&mut xs, 0, XS_READ, 0, &abs), Errno::EINVAL);
    let big = alloc::vec![0u8; XENSTORE_PAYLOAD_MAX + 1];
    assert_eq!(err(&mut xs, GUEST, XS_WRITE, 0, &big), Errno::E2BIG);
    let mut w = b"data/v\0".to_vec();
    w.extend(core::iter::repeat_n(b'x', 2049));
    assert_eq!(err(&mut xs, GUEST, XS_WRITE, 0, &w), Errno::ENOSPC);
    for kind in [
        XS_CONTROL,
        XS_INTRODUCE,
        XS_ERROR,
        XS_WATCH_EVENT,
        XS_TYPE_COUNT,
        0xFFFF_FFFF,
    ] {
        assert_eq!(err(&mut xs, GUEST, kind, 0, b"x\0"), Errno::ENOSYS);
    }
    assert_eq!(err(&mut xs, GUEST, XS_READ, 99, b"data\0"), Errno::ENOENT);
    assert_eq!(
        err(&mut xs, GUEST, XS_TRANSACTION_END, 0, b"T\0"),
        Errno::ENOENT
    );
    assert_eq!(
        err(&mut xs, GUEST, XS_GET_DOMAIN_PATH, 0, b"70000\0"),
        Errno::EINVAL
    );
    assert_eq!(err(&mut xs, GUEST, XS_WATCH, 0, b"data\0"), Errno::EINVAL);
    assert_eq!(err(&mut xs, 0, XS_RM, 0, b"/\0"), Errno::EINVAL);
    // Removing a missing child of an existing node is fine; deeper is not.
    ok(&mut xs, GUEST, XS_RM, 0, b"data/gone\0");
    assert_eq!(
        err(&mut xs, GUEST, XS_RM, 0, b"data/gone/deeper\0"),
        Errno::ENOENT
    );
}

#[test]
fn conflicting_transaction_is_eagain() {
    let mut xs = store();
    let id = ok(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"\0");
    let id: u32 = core::str::from_utf8(&id[..id.len() - 1])
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        err(&mut xs, GUEST, XS_TRANSACTION_START, id, b"\0"),
        Errno::EBUSY
    );
    assert_eq!(err(&mut xs, 2, XS_READ, id, b"data\0"), Errno::ENOENT);
    assert_eq!(ok(&mut xs, GUEST, XS_READ, id, b"control/shutdown\0"), b"");
    ok(&mut xs, GUEST, XS_WRITE, id, b"data/state\x003");
    // Not visible outside the transaction until it commits.
    assert_eq!(
        err(&mut xs, GUEST, XS_READ, 0, b"data/state\0"),
        Errno::ENOENT
    );
    ok(
        &mut xs,
        0,
        XS_WRITE,
        0,
        b"/local/domain/1/control/shutdown\0poweroff",
    );
    assert_eq!(
        err(&mut xs, GUEST, XS_TRANSACTION_END, id, b"T\0"),
        Errno::EAGAIN
    );
    assert_eq!(
        err(&mut xs, GUEST, XS_READ, 0, b"data/state\0"),
        Errno::ENOENT
    );
    assert_eq!(xs.open_transactions(), 0);
    // Retried without interference it commits and fires watches.
    ok(&mut xs, GUEST, XS_WATCH, 0, b"data\0w\0");
    let id = ok(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"\0");
    let id: u32 = core::str::from_utf8(&id[..id.len() - 1])
        .unwrap()
        .parse()
        .unwrap();
    ok(&mut xs, GUEST, XS_WRITE, id, b"data/state\x003");
    let out = req(&mut xs, GUEST, XS_TRANSACTION_END, id, b"T\0");
    assert_eq!(out[0].payload, b"OK\0");
    assert_eq!(out[1].payload, b"data/state\0w\0");
    assert_eq!(ok(&mut xs, GUEST, XS_READ, 0, b"data/state\0"), b"3");
    // Abort discards.
    let id = ok(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"\0");
    let id: u32 = core::str::from_utf8(&id[..id.len() - 1])
        .unwrap()
        .parse()
        .unwrap();
    ok(&mut xs, GUEST, XS_RM, id, b"data/state\0");
    ok(&mut xs, GUEST, XS_TRANSACTION_END, id, b"F\0");
    assert_eq!(ok(&mut xs, GUEST, XS_READ, 0, b"data/state\0"), b"3");
}

#[test]
fn quotas_per_domain() {
    let mut xs = store();
    for i in 0..10 {
        ok(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"\0");
        let tok = alloc::format!("data\0t{i}\0");
        ok(&mut xs, GUEST, XS_WATCH, 0, tok.as_bytes());
    }
    assert_eq!(
        err(&mut xs, GUEST, XS_TRANSACTION_START, 0, b"\0"),
        Errno::ENOSPC
    );
    for i in 10..128 {
        let tok = alloc::format!("data\0t{i}\0");
        ok(&mut xs, GUEST, XS_WATCH, 0, tok.as_bytes());
    }
    assert_eq!(err(&mut xs, GUEST, XS_WATCH, 0, b"data\0x\0"), Errno::E2BIG);
    ok(&mut xs, GUEST, XS_RESET_WATCHES, 0, b"");
    assert_eq!(xs.open_transactions(), 0);
    let owned = xs.tree().owned_by(GUEST);
    assert_eq!(owned, 10);
    for i in owned..1000 {
        let p = alloc::format!("data/n{i}\0");
        ok(&mut xs, GUEST, XS_MKDIR, 0, p.as_bytes());
    }
    assert_eq!(
        err(&mut xs, GUEST, XS_MKDIR, 0, b"data/one-more\0"),
        Errno::ENOSPC
    );
    assert_eq!(
        err(
            &mut xs,
            GUEST,
            XS_SET_PERMS,
            0,
            b"data\0n1\0r2\0r3\0r4\0r5\0r6\0r7\0"
        ),
        Errno::ENOSPC
    );
    // Dom0 is exempt, and removal frees quota.
    ok(&mut xs, 0, XS_MKDIR, 0, b"/local/domain/1/dom0-only\0");
    ok(&mut xs, GUEST, XS_RM, 0, b"data/n999\0");
    ok(&mut xs, GUEST, XS_MKDIR, 0, b"data/one-more\0");
}

#[test]
fn directory_part_lists_in_pieces() {
    let mut xs = store();
    for i in 0..400 {
        let p = alloc::format!("/local/domain/1/data/child-with-a-long-name-{i:04}\0");
        ok(&mut xs, 0, XS_MKDIR, 0, p.as_bytes());
    }
    // Too large for one DIRECTORY reply.
    assert_eq!(
        err(&mut xs, GUEST, XS_DIRECTORY, 0, b"data\0"),
        Errno::E2BIG
    );
    let full: Vec<u8> = xs
        .tree()
        .get("/local/domain/1/data")
        .unwrap()
        .children
        .iter()
        .flat_map(|c| c.bytes().chain([0]))
        .collect();
    assert!(full.len() > XENSTORE_PAYLOAD_MAX);
    let mut got = Vec::new();
    loop {
        let q = alloc::format!("data\0{}\0", got.len());
        let part = ok(&mut xs, GUEST, XS_DIRECTORY_PART, 0, q.as_bytes());
        let gen_end = part.iter().position(|&b| b == 0).unwrap();
        let body = &part[gen_end + 1..];
        if body == b"\0" {
            break;
        }
        let (names, done) = match body.strip_suffix(b"\0\0") {
            Some(n) => (n.len() + 1, true),
            None => (body.len(), false),
        };
        got.extend_from_slice(&body[..names]);
        if done {
            break;
        }
    }
    assert_eq!(got, full);
}

#[test]
fn introduce_and_release_fire_special_watches() {
    let mut xs = XenStore::new();
    let out = req(&mut xs, 0, XS_WATCH, 0, b"@introduceDomain\0i\0");
    assert_eq!(out[1].payload, b"@introduceDomain\0i\0");
    ok(&mut xs, 0, XS_WATCH, 0, b"@releaseDomain\0r\0");
    let ev = xs.introduce_domain(5);
    assert!(ev.iter().any(|r| r.payload == b"@introduceDomain\0i\0"));
    assert_eq!(ok(&mut xs, 5, XS_READ, 0, b"domid\0"), b"5");
    ok(&mut xs, 5, XS_WATCH, 0, b"control/shutdown\0s\0");
    ok(&mut xs, 5, XS_TRANSACTION_START, 0, b"\0");
    let ev = xs.release_domain(5);
    assert!(ev.iter().any(|r| r.payload == b"@releaseDomain\0r\0"));
    assert!(ev.iter().all(|r| r.domid == 0));
    assert_eq!(xs.open_transactions(), 0);
    assert_eq!(xs.watches().count(5), 0);
    assert!(xs.tree().get("/local/domain/5").is_none());
    assert_eq!(xs.tree().owned_by(5), 0);
}
