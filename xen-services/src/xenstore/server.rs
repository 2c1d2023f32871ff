//! The XenStore server: one request in (an `xsd_sockmsg` header's fields
//! and its payload, `io/xs_wire.h`), replies and watch events out.
//!
//! Every reply carries the request's type and `req_id` (or `XS_ERROR` with
//! the error's name from `xsd_errors`, NUL-terminated). Payload formats
//! follow `docs/misc/xenstore.txt`: strings are NUL-terminated, WRITE's
//! value is everything after the path's NUL, READ's reply is the bare
//! value, DIRECTORY's and GET_PERMS' replies are NUL-terminated lists.
//! Watch events (`XS_WATCH_EVENT`, `req_id` 0, "path\0token\0") may be
//! addressed to other domains than the caller's.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use xen_abi::errno::Errno;
use xen_abi::xenstore::*;

use super::permissions::{parse_domid, Access, Perms};
use super::quota::Quotas;
use super::transaction::{apply_op, Op, Transaction};
use super::tree::{canonicalize, directory_part, domain_path, parse_offset, Tree};
use super::watch::{Event, Watches, INTRODUCE_DOMAIN, RELEASE_DOMAIN};
use super::{XsResult, DOM0};

/// One message for a domain's response ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The domain whose ring it goes to.
    pub domid: u16,
    /// Its header; `len` is the payload's length.
    pub header: XsdSockmsg,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Response {
    fn new(domid: u16, kind: u32, req_id: u32, tx_id: u32, payload: Vec<u8>) -> Self {
        let len = payload.len() as u32;
        Self {
            domid,
            header: XsdSockmsg {
                kind,
                req_id,
                tx_id,
                len,
            },
            payload,
        }
    }

    fn event(e: Event) -> Self {
        let mut p = e.path.into_bytes();
        p.push(0);
        p.extend_from_slice(&e.token);
        p.push(0);
        Self::new(e.domid, XS_WATCH_EVENT, 0, 0, p)
    }

    /// The header (little-endian, as on x86) followed by the payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let h = &self.header;
        let mut out = Vec::with_capacity(16 + self.payload.len());
        for f in [h.kind, h.req_id, h.tx_id, h.len] {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// The error this reply carries, if it is an `XS_ERROR`.
    pub fn error(&self) -> Option<Errno> {
        (self.header.kind == XS_ERROR)
            .then(|| xs_error_from_name(self.payload.strip_suffix(b"\0")?))
            .flatten()
    }
}

/// The store with its clients' watches and transactions.
#[derive(Clone, Debug, Default)]
pub struct XenStore {
    tree: Tree,
    watches: Watches,
    transactions: BTreeMap<u32, Transaction>,
    next_tx: u32,
    /// The limits guests work under.
    pub quotas: Quotas,
}

const OK: &[u8] = b"OK\0";

/// The payload's NUL-terminated strings; `EINVAL` if it does not end in a
/// NUL.
fn strings(payload: &[u8]) -> XsResult<Vec<&[u8]>> {
    let body = payload.strip_suffix(b"\0").ok_or(Errno::EINVAL)?;
    Ok(body.split(|&b| b == 0).collect())
}

/// Exactly `N` NUL-terminated strings.
fn args<const N: usize>(payload: &[u8]) -> XsResult<[&[u8]; N]> {
    strings(payload)?.try_into().map_err(|_| Errno::EINVAL)
}

fn with_nul(s: &str) -> Vec<u8> {
    let mut v = Vec::from(s.as_bytes());
    v.push(0);
    v
}

impl XenStore {
    /// An empty store (`/`, `/local`, `/local/domain`) with default quotas.
    pub fn new() -> Self {
        Self::default()
    }

    /// The live tree, for inspection.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The watches, for inspection.
    pub fn watches(&self) -> &Watches {
        &self.watches
    }

    /// Open transactions of all domains.
    pub fn open_transactions(&self) -> usize {
        self.transactions.len()
    }

    /// Handles one request from `caller`; returns the reply (first) and any
    /// watch events it caused. Never panics on any input.
    pub fn request(
        &mut self,
        caller: u16,
        kind: u32,
        tx_id: u32,
        req_id: u32,
        payload: &[u8],
    ) -> Vec<Response> {
        let mut events = Vec::new();
        let reply = if payload.len() > XENSTORE_PAYLOAD_MAX {
            Err(Errno::E2BIG)
        } else {
            self.dispatch(caller, kind, tx_id, payload, &mut events)
        }
        // A reply too large for one message (a huge directory) is E2BIG,
        // as in xenstored's `send_reply`.
        .and_then(|p| {
            if p.len() > XENSTORE_PAYLOAD_MAX {
                Err(Errno::E2BIG)
            } else {
                Ok(p)
            }
        });
        let first = match reply {
            Ok(p) => Response::new(caller, kind, req_id, tx_id, p),
            Err(e) => {
                let name = xs_error_name(e).unwrap_or("EINVAL");
                Response::new(caller, XS_ERROR, req_id, tx_id, with_nul(name))
            }
        };
        let mut out = Vec::with_capacity(1 + events.len());
        out.push(first);
        out.extend(events.into_iter().map(Response::event));
        out
    }

    fn dispatch(
        &mut self,
        caller: u16,
        kind: u32,
        tx_id: u32,
        payload: &[u8],
        events: &mut Vec<Event>,
    ) -> XsResult<Vec<u8>> {
        if tx_id != 0
            && self
                .transactions
                .get(&tx_id)
                .is_none_or(|t| t.owner != caller)
        {
            return Err(Errno::ENOENT);
        }
        match kind {
            XS_READ | XS_DIRECTORY | XS_GET_PERMS | XS_DIRECTORY_PART => {
                let a = strings(payload)?;
                let (path, extra) = match a.as_slice() {
                    [p] => (*p, None),
                    [p, off] if kind == XS_DIRECTORY_PART => (*p, Some(*off)),
                    _ => return Err(Errno::EINVAL),
                };
                let path = canonicalize(caller, path)?;
                let tree = match self.transactions.get_mut(&tx_id) {
                    Some(t) => {
                        t.note_read(&path);
                        &t.tree
                    }
                    None => &self.tree,
                };
                let node = tree.read(caller, &path)?;
                Ok(match kind {
                    XS_READ => node.value.clone(),
                    XS_GET_PERMS => node.perms.to_wire(),
                    XS_DIRECTORY => node.children.iter().flat_map(|c| with_nul(c)).collect(),
                    _ => {
                        let off = extra.and_then(parse_offset).ok_or(Errno::EINVAL)?;
                        directory_part(node.generation, &node.children, off)
                    }
                })
            }
            XS_WRITE | XS_MKDIR | XS_RM | XS_SET_PERMS => {
                let op = match kind {
                    XS_WRITE => {
                        let nul = payload.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
                        let path = canonicalize(caller, &payload[..nul])?;
                        Op::Write(path, payload[nul + 1..].to_vec())
                    }
                    XS_SET_PERMS => {
                        let a = strings(payload)?;
                        let (path, perms) = a.split_first().ok_or(Errno::EINVAL)?;
                        let perms = Perms::parse(perms.iter().copied())?;
                        Op::SetPerms(canonicalize(caller, path)?, perms)
                    }
                    _ => {
                        let [path] = args::<1>(payload)?;
                        let path = canonicalize(caller, path)?;
                        if kind == XS_MKDIR {
                            Op::Mkdir(path)
                        } else {
                            Op::Rm(path)
                        }
                    }
                };
                if let Some(t) = self.transactions.get_mut(&tx_id) {
                    t.apply(caller, op, &self.quotas)?;
                } else {
                    apply_op(&mut self.tree, caller, &op, &self.quotas)?;
                    self.fire_op(&op, events);
                }
                Ok(OK.to_vec())
            }
            XS_WATCH | XS_UNWATCH => {
                let [path, token] = args::<2>(payload)?;
                let w = Watches::parse(caller, path, token)?;
                if kind == XS_UNWATCH {
                    self.watches.remove(caller, &w)?;
                } else {
                    self.quotas
                        .check_watches(caller, self.watches.count(caller))?;
                    self.watches.add(caller, w.clone())?;
                    events.push(Watches::event(caller, &w, &w.path));
                }
                Ok(OK.to_vec())
            }
            XS_TRANSACTION_START => {
                // The payload (Linux sends "\0", libxenstore "") is unused,
                // as in xenstored.
                if tx_id != 0 {
                    return Err(Errno::EBUSY);
                }
                let open = self
                    .transactions
                    .values()
                    .filter(|t| t.owner == caller)
                    .count();
                self.quotas.check_transactions(caller, open)?;
                let id = self.new_tx_id();
                let t = Transaction::start(caller, &self.tree);
                self.transactions.insert(id, t);
                Ok(with_nul(&format!("{id}")))
            }
            XS_TRANSACTION_END => {
                let [arg] = args::<1>(payload)?;
                let commit = match arg {
                    b"T" => true,
                    b"F" => false,
                    _ => return Err(Errno::EINVAL),
                };
                let t = self.transactions.remove(&tx_id).ok_or(Errno::ENOENT)?;
                if commit {
                    for op in t.commit(&mut self.tree, &self.quotas)? {
                        self.fire_op(&op, events);
                    }
                }
                Ok(OK.to_vec())
            }
            XS_GET_DOMAIN_PATH => {
                let [id] = args::<1>(payload)?;
                let id = parse_domid(id).ok_or(Errno::EINVAL)?;
                Ok(with_nul(&domain_path(id)))
            }
            XS_RESET_WATCHES => {
                self.watches.reset(caller);
                self.transactions.retain(|_, t| t.owner != caller);
                Ok(OK.to_vec())
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    fn new_tx_id(&mut self) -> u32 {
        loop {
            self.next_tx = self.next_tx.wrapping_add(1);
            if self.next_tx != 0 && !self.transactions.contains_key(&self.next_tx) {
                return self.next_tx;
            }
        }
    }

    fn fire_op(&self, op: &Op, events: &mut Vec<Event>) {
        self.fire(op.path(), matches!(op, Op::Rm(_)), events);
    }

    fn fire(&self, path: &str, recurse: bool, events: &mut Vec<Event>) {
        let tree = &self.tree;
        events.extend(
            self.watches
                .fire(path, recurse, |d, p| tree.permitted(d, p, Access::Read)),
        );
    }

    /// Creates a domain's home as `xl` does (`libxl__domain_make`): the
    /// home, `domid`, `device`, `cpu`, `memory` and `control` owned by
    /// domain 0 and readable by the domain; `data`, `drivers`, `feature`,
    /// `attr`, `error`, `control/shutdown`, `control/sysrq` and the
    /// `control/feature-*` nodes Linux announces itself in owned by the
    /// domain. Fires `@introduceDomain`; returns the watch events.
    pub fn introduce_domain(&mut self, domid: u16) -> Vec<Response> {
        let home = domain_path(domid);
        let ro = Perms::parse([&b"n0"[..], format!("r{domid}").as_bytes()]);
        let rw = Perms::owned_by(domid, Access::None);
        let q = Quotas::default();
        let t = &mut self.tree;
        let mut events = Vec::new();
        let node = |t: &mut Tree, rel: &str, value: &[u8], perms: &Perms| {
            let p = if rel.is_empty() {
                home.clone()
            } else {
                format!("{home}/{rel}")
            };
            let _ = t.write(DOM0, &p, value, &q);
            let _ = t.set_perms(DOM0, &p, perms.clone(), &q);
        };
        if let Ok(ro) = ro {
            node(t, "", b"", &ro);
            node(t, "domid", format!("{domid}").as_bytes(), &ro);
            node(t, "device", b"", &ro);
            for d in ["cpu", "memory", "control"] {
                node(t, d, b"", &ro);
            }
            node(t, "control/platform-feature-xs_reset_watches", b"1", &ro);
        }
        for d in [
            "control/shutdown",
            "control/sysrq",
            "control/feature-poweroff",
            "control/feature-reboot",
            "control/feature-suspend",
            "data",
            "drivers",
            "feature",
            "attr",
            "error",
        ] {
            node(t, d, b"", &rw);
        }
        self.fire(&home, false, &mut events);
        self.fire(INTRODUCE_DOMAIN, false, &mut events);
        events.into_iter().map(Response::event).collect()
    }

    /// Forgets a domain: its home, watches and transactions go; fires
    /// `@releaseDomain` and the watches on its home.
    pub fn release_domain(&mut self, domid: u16) -> Vec<Response> {
        let home = domain_path(domid);
        let _ = self.tree.rm(DOM0, &home);
        self.watches.reset(domid);
        self.transactions.retain(|_, t| t.owner != domid);
        let mut events = Vec::new();
        self.fire(&home, true, &mut events);
        self.fire(RELEASE_DOMAIN, false, &mut events);
        events.into_iter().map(Response::event).collect()
    }
}
