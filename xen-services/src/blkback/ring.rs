//! The backend's end of a blkif shared ring (`xen/include/public/io/ring.h`:
//! `BACK_RING`, `RING_GET_REQUEST`, `RING_REQUEST_CONS_OVERFLOW`,
//! `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`, `RING_FINAL_CHECK_FOR_REQUESTS`),
//! written for a frontend that may lie.
//!
//! The ring lives in pages the frontend granted; the backend reaches them
//! through [`RingMemory`] and never trusts what it reads twice:
//!
//! - Each request is copied out of its slot once ([`BackRing::next_request`])
//!   and only the copy is decoded: the frontend may rewrite the slot at any
//!   moment.
//! - `req_prod` more than a ring's worth ahead of what was consumed is a
//!   broken frontend (Linux's blkback: "Frontend provided bogus ring
//!   requests", then it stops the ring): [`RingError::BogusProducer`].
//! - No more requests are taken than there are slots for their responses
//!   (`RING_REQUEST_CONS_OVERFLOW`): a frontend that publishes requests
//!   without reading responses stalls itself, not the backend.
//! - The last `rsp_prod` the backend published is its own record, not
//!   re-read from the page, so a frontend scribbling over `rsp_prod` cannot
//!   change which responses the backend believes it has pushed.

use core::sync::atomic::{fence, Ordering};
use xen_abi::blkif::{BlkifResponse, BLKIF_RING_ENTRY_SIZE};
use xen_abi::ring::{entry_offset, notify_needed, RingIdx, SringHeader};

/// Bytes of one ring slot.
pub const SLOT_BYTES: usize = BLKIF_RING_ENTRY_SIZE;

/// The ring's pages as the backend reaches them, addressed by byte offset
/// from the start of the first page (a multi-page ring's pages follow each
/// other in `ring-ref0..N` order).
pub trait RingMemory {
    /// Copies the ring's bytes at `offset` into `buf`; false if they cannot
    /// be read (past the ring, or the pages are gone).
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> bool;
    /// Writes `data` into the ring at `offset`; false if it cannot.
    fn write(&mut self, offset: usize, data: &[u8]) -> bool;
}

/// Why the ring cannot be served any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The frontend's `req_prod` claims more unconsumed requests than the
    /// ring has slots.
    BogusProducer {
        req_prod: RingIdx,
        req_cons: RingIdx,
    },
    /// The ring's memory could not be read or written.
    Unreachable,
}

/// Where the index fields lie in the shared header.
const REQ_PROD: usize = core::mem::offset_of!(SringHeader, req_prod);
const REQ_EVENT: usize = core::mem::offset_of!(SringHeader, req_event);
const RSP_PROD: usize = core::mem::offset_of!(SringHeader, rsp_prod);
const RSP_EVENT: usize = core::mem::offset_of!(SringHeader, rsp_event);

/// The backend's private indices of one ring (`struct blkif_back_ring`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackRing {
    /// Slots, a power of two.
    size: u32,
    /// Requests consumed (copied out).
    req_cons: RingIdx,
    /// Responses written, published or not.
    rsp_prod_pvt: RingIdx,
    /// Responses published in `rsp_prod`.
    rsp_published: RingIdx,
}

impl BackRing {
    /// The backend's end of a freshly connected ring of `size` slots (a
    /// power of two, [`xen_abi::blkif::blkif_ring_size`]); the frontend
    /// initialised the shared header (`SHARED_RING_INIT`: all indices 0).
    pub fn new(size: u32) -> Self {
        debug_assert!(size.is_power_of_two());
        Self {
            size: size.max(1),
            req_cons: 0,
            rsp_prod_pvt: 0,
            rsp_published: 0,
        }
    }

    /// Slots in the ring.
    pub const fn size(&self) -> u32 {
        self.size
    }

    /// Requests taken and not yet answered.
    pub const fn in_flight(&self) -> u32 {
        self.req_cons.wrapping_sub(self.rsp_prod_pvt)
    }

    fn read_index(mem: &mut dyn RingMemory, at: usize) -> Result<RingIdx, RingError> {
        let mut b = [0u8; 4];
        if !mem.read(at, &mut b) {
            return Err(RingError::Unreachable);
        }
        Ok(u32::from_le_bytes(b))
    }

    fn write_index(mem: &mut dyn RingMemory, at: usize, value: RingIdx) -> Result<(), RingError> {
        if mem.write(at, &value.to_le_bytes()) {
            Ok(())
        } else {
            Err(RingError::Unreachable)
        }
    }

    /// Requests the frontend has published and the backend not taken
    /// (`RING_HAS_UNCONSUMED_REQUESTS`), checked against the ring's size.
    pub fn unconsumed(&self, mem: &mut dyn RingMemory) -> Result<u32, RingError> {
        let req_prod = Self::read_index(mem, REQ_PROD)?;
        // The producer index is read before any slot (ring.h: "read
        // req_prod, then barrier, then the requests").
        fence(Ordering::Acquire);
        let n = req_prod.wrapping_sub(self.req_cons);
        if n > self.size {
            return Err(RingError::BogusProducer {
                req_prod,
                req_cons: self.req_cons,
            });
        }
        Ok(n)
    }

    /// Copies out the next request, if one is published and its response
    /// has a slot to go to.
    pub fn next_request(
        &mut self,
        mem: &mut dyn RingMemory,
    ) -> Result<Option<[u8; SLOT_BYTES]>, RingError> {
        if self.in_flight() >= self.size {
            return Ok(None);
        }
        if self.unconsumed(mem)? == 0 {
            return Ok(None);
        }
        let mut slot = [0u8; SLOT_BYTES];
        if !mem.read(
            entry_offset(self.req_cons, self.size, SLOT_BYTES),
            &mut slot,
        ) {
            return Err(RingError::Unreachable);
        }
        self.req_cons = self.req_cons.wrapping_add(1);
        Ok(Some(slot))
    }

    /// Writes a response into the next response slot (not yet published:
    /// [`Self::publish`]). Answering more requests than were taken is a bug
    /// of the caller, refused rather than overwriting a live request.
    pub fn push_response(
        &mut self,
        mem: &mut dyn RingMemory,
        id: u64,
        operation: u8,
        status: i16,
    ) -> Result<(), RingError> {
        if self.in_flight() == 0 {
            debug_assert!(false, "a response without a request");
            return Ok(());
        }
        let mut rsp = [0u8; core::mem::size_of::<BlkifResponse>()];
        rsp[core::mem::offset_of!(BlkifResponse, id)..][..8].copy_from_slice(&id.to_le_bytes());
        rsp[core::mem::offset_of!(BlkifResponse, operation)] = operation;
        rsp[core::mem::offset_of!(BlkifResponse, status)..][..2]
            .copy_from_slice(&status.to_le_bytes());
        if !mem.write(entry_offset(self.rsp_prod_pvt, self.size, SLOT_BYTES), &rsp) {
            return Err(RingError::Unreachable);
        }
        self.rsp_prod_pvt = self.rsp_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes the responses written since the last call
    /// (`RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`): true if the frontend asked
    /// to be notified of one of them through `rsp_event`.
    pub fn publish(&mut self, mem: &mut dyn RingMemory) -> Result<bool, RingError> {
        let old = self.rsp_published;
        let new = self.rsp_prod_pvt;
        if old == new {
            return Ok(false);
        }
        // Responses before the index that publishes them.
        fence(Ordering::Release);
        Self::write_index(mem, RSP_PROD, new)?;
        self.rsp_published = new;
        // The index before reading what the frontend asked for.
        fence(Ordering::SeqCst);
        let event = Self::read_index(mem, RSP_EVENT)?;
        Ok(notify_needed(new, old, event))
    }

    /// Before the backend goes idle (`RING_FINAL_CHECK_FOR_REQUESTS`):
    /// true if requests are waiting; otherwise asks for an event at the
    /// next request (`req_event = req_cons + 1`) and looks once more, so a
    /// request published meanwhile is not left without a kick.
    pub fn final_check(&mut self, mem: &mut dyn RingMemory) -> Result<bool, RingError> {
        if self.unconsumed(mem)? > 0 {
            return Ok(true);
        }
        Self::write_index(mem, REQ_EVENT, self.req_cons.wrapping_add(1))?;
        fence(Ordering::SeqCst);
        Ok(self.unconsumed(mem)? > 0)
    }
}

#[cfg(test)]
mod tests;
