//! The XenStore shared ring (`xenstore_domain_interface`,
//! `xen/include/public/io/xs_wire.h`): requests in, replies and watch
//! events out.
//!
//! [`XenStoreConnection`] is one domain's end of the ring, as a state
//! machine over the bytes of the ring page (offsets from
//! [`XenstoreDomainInterface`]; integers little-endian, as on x86). Each
//! ring is 1024 bytes with free-running `u32` indices masked by
//! [`mask_xenstore_idx`]; messages are an `xsd_sockmsg` header and its
//! payload, and may wrap around a ring's end or arrive a few bytes per
//! kick, so the connection keeps the part of a request read so far. Output
//! that does not fit in `rsp[]` waits in a queue until the guest consumes.
//!
//! **Ordering.** The guest only writes the page while the hypervisor is
//! not running this code, so plain reads and writes are enough here; the
//! comments marked "barrier" show where the ABI (`xs_wire.h`, and the
//! order `io/ring.h` describes for all PV rings) puts one, for a backend
//! that would serve the ring concurrently with the guest.
//!
//! **Hostile guests.** What the guest controls is checked before use and
//! no input makes this code panic, loop without bound or touch a byte
//! outside the page. A broken ring ends the service of the connection as
//! C xenstored ends it (`handle_input` in `tools/xenstore/xenstored_core.c`
//! goes to `ignore_connection` with `XENSTORE_ERROR_RINGIDX` or
//! `XENSTORE_ERROR_PROTO`; oxenstored was not checked): an index pair
//! claiming more than a ring's worth of bytes, or a header announcing more
//! than [`XENSTORE_PAYLOAD_MAX`] payload bytes, marks the connection
//! broken: no reply, nothing more read or written except the page's
//! `error` field (that error code), the queued output dropped, and the
//! domain's watches and transactions removed from the store. We chose this
//! over an `E2BIG` reply: the stream cannot be resynchronised after a bad
//! header, so a reply would not help the client that sent it (libxenstore
//! refuses such a request with `E2BIG` before sending anything).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};

use xen_abi::xenstore::{
    mask_xenstore_idx, XenstoreDomainInterface, XsdSockmsg, XENSTORE_ERROR_PROTO,
    XENSTORE_ERROR_RINGIDX, XENSTORE_PAYLOAD_MAX, XENSTORE_RING_SIZE, XS_RESET_WATCHES,
    XS_WATCH_EVENT,
};

use super::server::{Response, XenStore};

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "ring_hostile_tests.rs"]
mod hostile_tests;

/// Bytes of the page the ring occupies (`struct xenstore_domain_interface`);
/// the page handed to the connection must be at least this long.
pub const XENSTORE_PAGE_LEN: usize = size_of::<XenstoreDomainInterface>();

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);
const ERROR: usize = offset_of!(XenstoreDomainInterface, error);

/// Bytes of a message header.
pub const HEADER_LEN: usize = size_of::<XsdSockmsg>();

/// The ring size as an index difference.
const RING: u32 = XENSTORE_RING_SIZE as u32;

/// While this many bytes or more wait in the output queue, no further
/// request is taken from the ring: a guest that never consumes its replies
/// cannot make the queue grow without bound (its requests stay in `req[]`
/// until it makes room). Two largest messages.
pub const INTAKE_LIMIT: usize = 2 * (HEADER_LEN + XENSTORE_PAYLOAD_MAX);

/// Watch events beyond this many queued bytes are dropped (and counted,
/// [`XenStoreConnection::dropped_events`]): the bound on what other
/// domains' writes can pile up for a guest that does not read its ring.
/// Replies are never dropped.
pub const EVENT_QUEUE_LIMIT: usize = 64 * 1024;

/// Why the ring cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// A ring's `prod - cons` exceeds its size: the indices are garbage
    /// (`XENSTORE_ERROR_RINGIDX`). Breaks the connection.
    BadIndex,
    /// A request header announced this many payload bytes, more than
    /// [`XENSTORE_PAYLOAD_MAX`] (`XENSTORE_ERROR_PROTO`). Breaks the
    /// connection.
    Oversize(u32),
    /// The page given is shorter than [`XENSTORE_PAGE_LEN`]: the caller's
    /// mistake; nothing was read or written and the connection is unchanged.
    PageTooSmall,
}

impl RingError {
    /// The value for the page's `error` field (`XENSTORE_ERROR_*`); 0 for
    /// [`RingError::PageTooSmall`], which is never written.
    pub const fn error_code(self) -> u32 {
        match self {
            Self::BadIndex => XENSTORE_ERROR_RINGIDX,
            Self::Oversize(_) => XENSTORE_ERROR_PROTO,
            Self::PageTooSmall => 0,
        }
    }
}

/// What one [`XenStoreConnection::service`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceOutcome {
    /// Raise the domain's store event channel: bytes were consumed from
    /// `req[]` or produced into `rsp[]`, or the `error` field was just set.
    pub notify: bool,
    /// Complete requests handed to the store.
    pub requests: usize,
    /// Watch events the requests fired for other domains, for the caller to
    /// [`queue`](XenStoreConnection::queue) on their connections.
    pub others: Vec<Response>,
    /// Set when the ring cannot be served: broken now or earlier, or the
    /// page was too small.
    pub error: Option<RingError>,
}

/// One domain's connection to the store over its ring page.
#[derive(Clone, Debug)]
pub struct XenStoreConnection {
    domid: u16,
    /// The request being read: its header, then as much of its payload as
    /// has arrived (at most `HEADER_LEN + XENSTORE_PAYLOAD_MAX` bytes).
    partial: Vec<u8>,
    /// Bytes of replies and watch events not yet in `rsp[]`.
    output: VecDeque<u8>,
    broken: Option<RingError>,
    /// Whether the store still holds the broken connection's watches and
    /// transactions (removed by the next `service`).
    store_reset_due: bool,
    dropped_events: u64,
}

fn get_u32(page: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&page[at..at + 4]);
    u32::from_le_bytes(b)
}

fn put_u32(page: &mut [u8], at: usize, value: u32) {
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The header at the start of `bytes` (at least [`HEADER_LEN`] long).
fn parse_header(bytes: &[u8]) -> XsdSockmsg {
    XsdSockmsg {
        kind: get_u32(bytes, 0),
        req_id: get_u32(bytes, 4),
        tx_id: get_u32(bytes, 8),
        len: get_u32(bytes, 12),
    }
}

impl XenStoreConnection {
    /// The connection of `domid`, with nothing read or queued.
    pub fn new(domid: u16) -> Self {
        Self {
            domid,
            partial: Vec::new(),
            output: VecDeque::new(),
            broken: None,
            store_reset_due: false,
            dropped_events: 0,
        }
    }

    /// The domain served.
    pub fn domid(&self) -> u16 {
        self.domid
    }

    /// Why the connection is no longer served, if it is broken.
    pub fn broken(&self) -> Option<RingError> {
        self.broken
    }

    /// Bytes queued for `rsp[]`.
    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// Bytes of a request read so far (header and payload).
    pub fn partial_len(&self) -> usize {
        self.partial.len()
    }

    /// Watch events dropped because [`EVENT_QUEUE_LIMIT`] was reached.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Services a kick: drains every complete request from `req[]` into
    /// `store` (keeping a partial one for the next kick), queues the
    /// replies and this domain's watch events, and writes as much queued
    /// output into `rsp[]` as fits. Takes no request while
    /// [`INTAKE_LIMIT`] bytes wait to be written.
    pub fn service(&mut self, page: &mut [u8], store: &mut XenStore) -> ServiceOutcome {
        let mut out = ServiceOutcome::default();
        if page.len() < XENSTORE_PAGE_LEN {
            out.error = Some(RingError::PageTooSmall);
            return out;
        }
        if let Some(e) = self.broken {
            self.reset_store(store);
            out.error = Some(e);
            return out;
        }
        if let Err(e) = self.take_requests(page, store, &mut out) {
            self.break_off(page, e);
            self.reset_store(store);
            out.notify = true;
            out.error = Some(e);
        }
        out
    }

    fn take_requests(
        &mut self,
        page: &mut [u8],
        store: &mut XenStore,
        out: &mut ServiceOutcome,
    ) -> Result<(), RingError> {
        let first_cons = get_u32(page, REQ_CONS);
        let prod = get_u32(page, REQ_PROD);
        // Barrier (a load barrier, `xen_rmb()`): req_prod is read before
        // the request bytes it publishes.
        if prod.wrapping_sub(first_cons) > RING {
            return Err(RingError::BadIndex);
        }
        let mut cons = first_cons;
        let result = loop {
            match self.write_output(page) {
                Ok(wrote) => out.notify |= wrote,
                Err(e) => break Err(e),
            }
            if self.output.len() >= INTAKE_LIMIT {
                break Ok(());
            }
            let need = self.still_needed();
            if need > 0 {
                let left = prod.wrapping_sub(cons);
                if left == 0 {
                    break Ok(());
                }
                cons = cons.wrapping_add(self.read_req(page, cons, left, need));
                if self.partial.len() == HEADER_LEN {
                    let len = parse_header(&self.partial).len;
                    if len as usize > XENSTORE_PAYLOAD_MAX {
                        break Err(RingError::Oversize(len));
                    }
                }
                if self.still_needed() > 0 {
                    // The ring is empty: the rest comes with a later kick.
                    continue;
                }
            }
            self.dispatch(store, out);
        };
        if cons != first_cons {
            // Barrier (a full barrier, `xen_mb()`): the request bytes are
            // read before req_cons gives their space back to the guest.
            put_u32(page, REQ_CONS, cons);
            out.notify = true;
        }
        result
    }

    /// Bytes still missing from the request being read: the rest of its
    /// header, or of its payload.
    fn still_needed(&self) -> usize {
        if self.partial.len() < HEADER_LEN {
            return HEADER_LEN - self.partial.len();
        }
        let len = parse_header(&self.partial).len as usize;
        (HEADER_LEN + len).saturating_sub(self.partial.len())
    }

    /// Appends up to `want` of the `avail` bytes at free-running index
    /// `cons` of `req[]` to the partial request; returns how many.
    fn read_req(&mut self, page: &[u8], cons: u32, avail: u32, want: usize) -> u32 {
        let n = want.min(avail as usize).min(XENSTORE_RING_SIZE);
        let mut done = 0;
        while done < n {
            let at = mask_xenstore_idx(cons.wrapping_add(done as u32));
            let chunk = (n - done).min(XENSTORE_RING_SIZE - at);
            self.partial
                .extend_from_slice(&page[REQ + at..REQ + at + chunk]);
            done += chunk;
        }
        n as u32
    }

    /// Hands the complete request to the store and sorts its responses.
    fn dispatch(&mut self, store: &mut XenStore, out: &mut ServiceOutcome) {
        let mut msg = core::mem::take(&mut self.partial);
        let h = parse_header(&msg);
        let payload = msg.get(HEADER_LEN..).unwrap_or_default();
        let responses = store.request(self.domid, h.kind, h.tx_id, h.req_id, payload);
        out.requests += 1;
        for r in responses {
            if r.domid == self.domid {
                self.push(&r);
            } else {
                out.others.push(r);
            }
        }
        msg.clear();
        self.partial = msg;
    }

    /// Queues one message; watch events past [`EVENT_QUEUE_LIMIT`] are
    /// dropped. Returns whether it was queued.
    fn push(&mut self, r: &Response) -> bool {
        let bytes = r.to_bytes();
        if r.header.kind == XS_WATCH_EVENT && self.output.len() + bytes.len() > EVENT_QUEUE_LIMIT {
            self.dropped_events += 1;
            return false;
        }
        self.output.extend(bytes);
        true
    }

    /// Queues watch events (or any message) that other clients' requests
    /// produced for this domain; call [`flush`](Self::flush) to write them.
    /// Messages addressed to another domain, and everything once the
    /// connection is broken, are not queued. Returns how many were queued.
    pub fn queue(&mut self, responses: impl IntoIterator<Item = Response>) -> usize {
        let mut queued = 0;
        for r in responses {
            if self.broken.is_none() && r.domid == self.domid && self.push(&r) {
                queued += 1;
            }
        }
        queued
    }

    /// Writes as much queued output into `rsp[]` as fits; true if anything
    /// was written (the guest must be notified). Garbage response indices
    /// break the connection (its watches leave the store at the next
    /// [`service`](Self::service)).
    pub fn flush(&mut self, page: &mut [u8]) -> bool {
        if page.len() < XENSTORE_PAGE_LEN || self.broken.is_some() {
            return false;
        }
        match self.write_output(page) {
            Ok(wrote) => wrote,
            Err(e) => {
                self.break_off(page, e);
                true
            }
        }
    }

    /// Moves queued bytes into `rsp[]`; true if any moved.
    fn write_output(&mut self, page: &mut [u8]) -> Result<bool, RingError> {
        if self.output.is_empty() {
            return Ok(false);
        }
        let cons = get_u32(page, RSP_CONS);
        let prod = get_u32(page, RSP_PROD);
        // Barrier (a full barrier, `xen_mb()`): rsp_cons is read before the
        // space it frees is written, so the guest's reads of it are done.
        let used = prod.wrapping_sub(cons);
        if used > RING {
            return Err(RingError::BadIndex);
        }
        let n = ((RING - used) as usize).min(self.output.len());
        if n == 0 {
            return Ok(false);
        }
        for (i, b) in self.output.drain(..n).enumerate() {
            page[RSP + mask_xenstore_idx(prod.wrapping_add(i as u32))] = b;
        }
        // Barrier (a store barrier, `xen_wmb()`): the bytes are written
        // before rsp_prod publishes them.
        put_u32(page, RSP_PROD, prod.wrapping_add(n as u32));
        Ok(true)
    }

    /// Marks the connection broken: drops what was read and queued and
    /// reports the error in the page's `error` field.
    fn break_off(&mut self, page: &mut [u8], e: RingError) {
        self.broken = Some(e);
        self.store_reset_due = true;
        self.partial = Vec::new();
        self.output = VecDeque::new();
        put_u32(page, ERROR, e.error_code());
    }

    /// Removes a broken connection's watches and transactions from the
    /// store, once (what `XS_RESET_WATCHES` does; the reply is discarded).
    fn reset_store(&mut self, store: &mut XenStore) {
        if core::mem::take(&mut self.store_reset_due) {
            let _ = store.request(self.domid, XS_RESET_WATCHES, 0, 0, b"");
        }
    }
}
