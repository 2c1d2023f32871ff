//! [`XenStoreClient`]: one request at a time over the store ring, the
//! replies matched by `req_id`, watch events (`XS_WATCH_EVENT`, `req_id`
//! 0) queued as they arrive between replies (`xen/include/public/io/xs_wire.h`).
//!
//! The client polls: after sending it reads the response ring, and when
//! nothing has arrived it yields to the hypervisor (`SCHEDOP_yield`) and
//! looks again, up to [`XenStoreClient::max_polls`] times. Every value the
//! server sends is checked: a length above `XENSTORE_PAYLOAD_MAX`, a reply
//! of the wrong type or to a request not made, indices out of range, all
//! end as errors.

use super::ring::StoreRing;
use super::wire::{self, XsError, HEADER_LEN};
use crate::error::Error;
use crate::event_channel::EventChannels;
use crate::hypercall::{hvm_get_param, sched_yield, Hypercall};
use crate::memory::GuestPages;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::event_channel::EvtchnPort;
use xen_abi::hvm::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use xen_abi::xenstore::{
    XENSTORE_PAYLOAD_MAX, XENSTORE_RING_SIZE, XS_DIRECTORY, XS_ERROR, XS_MKDIR, XS_READ, XS_RM,
    XS_TRANSACTION_END, XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH, XS_WATCH_EVENT, XS_WATCH_PATH,
    XS_WATCH_TOKEN, XS_WRITE,
};

/// A transaction id (`tx_id`); [`Tx::NONE`] is outside any transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tx(pub u32);

impl Tx {
    /// No transaction.
    pub const NONE: Tx = Tx(0);
}

/// A watch firing: the path that changed and the watch's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// The node written or removed (at or under the watched path).
    pub path: String,
    /// The token given to [`XenStoreClient::watch`].
    pub token: String,
}

/// How often [`XenStoreClient::transaction`] runs a transaction that keeps
/// conflicting.
pub const MAX_TRANSACTION_ATTEMPTS: u32 = 16;

/// The client's state: the ring, the port, ids, what has been read and
/// not yet taken.
#[derive(Debug)]
pub struct XenStoreClient {
    ring: StoreRing,
    port: EvtchnPort,
    next_id: u32,
    /// Bytes read from the response ring not yet making a whole message.
    rx: Vec<u8>,
    events: VecDeque<WatchEvent>,
    /// Yields before a request gives up with [`Error::Timeout`].
    pub max_polls: u32,
}

impl XenStoreClient {
    /// A client of the ring page at `ring_gfn` whose event channel is
    /// `port`.
    pub fn new(ring_gfn: u64, port: EvtchnPort) -> Self {
        Self {
            ring: StoreRing::at(ring_gfn),
            port,
            next_id: 1,
            rx: Vec::new(),
            events: VecDeque::new(),
            max_polls: 10_000,
        }
    }

    /// A client where the HVM params say the store is
    /// (`HVM_PARAM_STORE_PFN`, `HVM_PARAM_STORE_EVTCHN`,
    /// `xen/include/public/hvm/params.h`).
    pub fn from_hvm_params(hc: &mut dyn Hypercall) -> Result<Self, Error> {
        let pfn = hvm_get_param(hc, HVM_PARAM_STORE_PFN)?;
        let port = hvm_get_param(hc, HVM_PARAM_STORE_EVTCHN)?;
        if pfn == 0 || port == 0 || port > u64::from(u32::MAX) {
            return Err(Error::NotConnected);
        }
        Ok(Self::new(pfn, port as EvtchnPort))
    }

    /// The store's event channel.
    pub fn port(&self) -> EvtchnPort {
        self.port
    }

    fn notify(&self, hc: &mut dyn Hypercall) -> Result<(), Error> {
        // The store port is bound by the toolstack; a send needs no table.
        let mut b = self.port.to_le_bytes();
        crate::hypercall::event_channel_op(hc, xen_abi::hypercall::EVTCHNOP_SEND, &mut b)
            .map(|_| ())
    }

    fn wait(&self, hc: &mut dyn Hypercall, polls: &mut u32) -> Result<(), Error> {
        *polls += 1;
        if *polls > self.max_polls {
            return Err(Error::Timeout);
        }
        sched_yield(hc)
    }

    /// Moves what the response ring holds into `rx`; whether anything came.
    fn pump(&mut self, hc: &mut dyn Hypercall, mem: &mut dyn GuestPages) -> Result<bool, Error> {
        let mut buf = [0u8; XENSTORE_RING_SIZE];
        let n = self.ring.read(mem, &mut buf)?;
        if n > 0 {
            self.rx.extend_from_slice(&buf[..n]);
            // The server may be waiting for room.
            self.notify(hc)?;
        }
        Ok(n > 0)
    }

    /// Takes whole messages from `rx`: events are queued, the reply to
    /// `req_id` is returned.
    fn take_reply(&mut self, req_id: u32, kind: u32) -> Result<Option<Vec<u8>>, Error> {
        loop {
            if self.rx.len() < HEADER_LEN {
                return Ok(None);
            }
            let h = wire::header(&self.rx);
            let len = h.len as usize;
            if len > XENSTORE_PAYLOAD_MAX {
                // The stream cannot be resynchronised: drop what we have.
                self.rx.clear();
                return Err(Error::Protocol("XenStore message longer than its maximum"));
            }
            if self.rx.len() < HEADER_LEN + len {
                return Ok(None);
            }
            let payload = self.rx[HEADER_LEN..HEADER_LEN + len].to_vec();
            self.rx.drain(..HEADER_LEN + len);
            if h.kind == XS_WATCH_EVENT {
                let parts = wire::split_strings(&payload)
                    .ok_or(Error::Protocol("watch event not UTF-8"))?;
                match (parts.get(XS_WATCH_PATH), parts.get(XS_WATCH_TOKEN)) {
                    (Some(path), Some(token)) => self.events.push_back(WatchEvent {
                        path: path.clone(),
                        token: token.clone(),
                    }),
                    _ => return Err(Error::Protocol("watch event without path and token")),
                }
                continue;
            }
            if h.req_id != req_id {
                return Err(Error::Protocol("XenStore reply to a request not made"));
            }
            if h.kind == XS_ERROR {
                return Err(Error::Store(XsError::from_payload(&payload)));
            }
            if h.kind != kind {
                return Err(Error::Protocol("XenStore reply of another type"));
            }
            return Ok(Some(payload));
        }
    }

    /// One request and its reply's payload.
    pub fn request(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        kind: u32,
        tx: Tx,
        payload: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let req_id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let msg = wire::encode(kind, req_id, tx.0, payload)
            .ok_or(Error::InvalidArgument("XenStore payload too long"))?;
        let mut polls = 0;
        let mut sent = 0;
        while sent < msg.len() {
            let n = self.ring.write(mem, &msg[sent..])?;
            sent += n;
            if n > 0 {
                self.notify(hc)?;
            } else {
                // Full: replies may be what the server waits to write.
                if !self.pump(hc, mem)? {
                    self.wait(hc, &mut polls)?;
                }
            }
        }
        loop {
            if let Some(reply) = self.take_reply(req_id, kind)? {
                return Ok(reply);
            }
            if !self.pump(hc, mem)? {
                self.wait(hc, &mut polls)?;
            }
        }
    }

    /// `XS_READ`: the node's value.
    pub fn read(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<Vec<u8>, Error> {
        self.request(hc, mem, XS_READ, tx, &wire::strings(&[path.as_bytes()]))
    }

    /// `XS_READ` of a UTF-8 value.
    pub fn read_string(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<String, Error> {
        let v = self.read(hc, mem, tx, path)?;
        let v = v.strip_suffix(&[0]).unwrap_or(&v);
        core::str::from_utf8(v)
            .map(String::from)
            .map_err(|_| Error::Protocol("XenStore value not UTF-8"))
    }

    /// `XS_READ` of a decimal number (as xenbus's `%u`/`%llu` reads).
    pub fn read_u64(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<u64, Error> {
        self.read_string(hc, mem, tx, path)?
            .trim()
            .parse()
            .map_err(|_| Error::Protocol("XenStore value not a number"))
    }

    /// `XS_WRITE`: `path\0value`.
    pub fn write(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
        value: &[u8],
    ) -> Result<(), Error> {
        let mut p = wire::strings(&[path.as_bytes()]);
        p.extend_from_slice(value);
        self.request(hc, mem, XS_WRITE, tx, &p).map(|_| ())
    }

    /// `XS_MKDIR`.
    pub fn mkdir(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<(), Error> {
        self.request(hc, mem, XS_MKDIR, tx, &wire::strings(&[path.as_bytes()]))
            .map(|_| ())
    }

    /// `XS_RM`: the node and everything under it.
    pub fn rm(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<(), Error> {
        self.request(hc, mem, XS_RM, tx, &wire::strings(&[path.as_bytes()]))
            .map(|_| ())
    }

    /// `XS_DIRECTORY`: the node's children's names.
    pub fn directory(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        path: &str,
    ) -> Result<Vec<String>, Error> {
        let p = self.request(
            hc,
            mem,
            XS_DIRECTORY,
            tx,
            &wire::strings(&[path.as_bytes()]),
        )?;
        wire::split_strings(&p).ok_or(Error::Protocol("directory entry not UTF-8"))
    }

    /// `XS_WATCH`: events for `path` and everything under it come with
    /// `token` (the server fires one at once).
    pub fn watch(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        path: &str,
        token: &str,
    ) -> Result<(), Error> {
        let p = wire::strings(&[path.as_bytes(), token.as_bytes()]);
        self.request(hc, mem, XS_WATCH, Tx::NONE, &p).map(|_| ())
    }

    /// `XS_UNWATCH`.
    pub fn unwatch(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        path: &str,
        token: &str,
    ) -> Result<(), Error> {
        let p = wire::strings(&[path.as_bytes(), token.as_bytes()]);
        self.request(hc, mem, XS_UNWATCH, Tx::NONE, &p).map(|_| ())
    }

    /// The next watch event, if one has arrived (reads the ring, does not
    /// wait).
    pub fn poll_watch_event(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
    ) -> Result<Option<WatchEvent>, Error> {
        if self.events.is_empty() {
            self.pump(hc, mem)?;
            // No reply is outstanding: anything else is a protocol error.
            if let Some(_reply) = self.take_reply(0, XS_WATCH_EVENT)? {
                return Err(Error::Protocol("XenStore reply to a request not made"));
            }
        }
        Ok(self.events.pop_front())
    }

    /// The next watch event, waiting (yielding) for one.
    pub fn wait_watch_event(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
    ) -> Result<WatchEvent, Error> {
        let mut polls = 0;
        loop {
            if let Some(e) = self.poll_watch_event(hc, mem)? {
                return Ok(e);
            }
            self.wait(hc, &mut polls)?;
        }
    }

    /// `XS_TRANSACTION_START`.
    pub fn transaction_start(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
    ) -> Result<Tx, Error> {
        let p = self.request(hc, mem, XS_TRANSACTION_START, Tx::NONE, b"\0")?;
        let p = p.strip_suffix(&[0]).unwrap_or(&p);
        let id = core::str::from_utf8(p)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&id| id != 0)
            .ok_or(Error::Protocol("transaction id not a number"))?;
        Ok(Tx(id))
    }

    /// `XS_TRANSACTION_END`: commit (`T`) or abort (`F`). A commit that
    /// conflicted fails with [`XsError::Again`].
    pub fn transaction_end(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        tx: Tx,
        commit: bool,
    ) -> Result<(), Error> {
        let p: &[u8] = if commit { b"T\0" } else { b"F\0" };
        self.request(hc, mem, XS_TRANSACTION_END, tx, p).map(|_| ())
    }

    /// Runs `body` in a transaction and commits it, running it again in a
    /// new transaction while the commit (or the body) fails with
    /// `EAGAIN`, at most [`MAX_TRANSACTION_ATTEMPTS`] times. A body that
    /// fails otherwise aborts the transaction.
    pub fn transaction<T>(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        mut body: impl FnMut(&mut Self, &mut dyn Hypercall, &mut dyn GuestPages, Tx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let again = Error::Store(XsError::Again);
        for _ in 0..MAX_TRANSACTION_ATTEMPTS {
            let tx = self.transaction_start(hc, mem)?;
            match body(self, hc, mem, tx) {
                Ok(v) => match self.transaction_end(hc, mem, tx, true) {
                    Ok(()) => return Ok(v),
                    Err(e) if e == again => continue,
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    let _ = self.transaction_end(hc, mem, tx, false);
                    if e != again {
                        return Err(e);
                    }
                }
            }
        }
        Err(again)
    }

    /// Clears the store port's pending bit (for a guest that polls the
    /// store rather than taking its upcall).
    pub fn ack_event(
        &self,
        events: &mut EventChannels,
        mem: &mut dyn GuestPages,
    ) -> Result<bool, Error> {
        events.take_pending(mem, self.port)
    }
}
