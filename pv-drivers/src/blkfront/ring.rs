//! The front end of a one-page blkif shared ring (`xen/include/public/io/ring.h`,
//! `DEFINE_RING_TYPES(blkif, ...)` in `io/blkif.h`): a 64-byte header of
//! indices and 32 slots of 112 bytes, each holding a request and then its
//! response.
//!
//! The frontend owns `req_prod` and `rsp_event`, the backend `rsp_prod`
//! and `req_event`. Publishing: entries, barrier, `req_prod`, full barrier,
//! then notify if `req_event` lies in the newly published range. Before
//! waiting: `rsp_event = rsp_cons + 1`, full barrier, look at `rsp_prod`
//! again (the "final check").

use crate::error::Error;
use crate::memory::GuestPages;
use core::mem::offset_of;
use xen_abi::blkif::{BlkifResponse, BLKIF_RING_ENTRY_SIZE, BLKIF_RING_SIZE_ONE_PAGE};
use xen_abi::ring::{entry_offset, notify_needed, RingIdx, SringHeader};
use xen_abi::XEN_PAGE_SIZE;

const REQ_PROD: usize = offset_of!(SringHeader, req_prod);
const REQ_EVENT: usize = offset_of!(SringHeader, req_event);
const RSP_PROD: usize = offset_of!(SringHeader, rsp_prod);
const RSP_EVENT: usize = offset_of!(SringHeader, rsp_event);

/// A response slot's bytes.
pub type ResponseBytes = [u8; core::mem::size_of::<BlkifResponse>()];

/// The frontend's private ring state (`struct blkif_front_ring`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontRing {
    gfn: u64,
    req_prod_pvt: RingIdx,
    rsp_cons: RingIdx,
    size: u32,
}

impl FrontRing {
    /// Zeroes the page at `gfn` and initialises it as an empty ring
    /// (`SHARED_RING_INIT`, then `FRONT_RING_INIT`).
    pub fn init(mem: &mut dyn GuestPages, gfn: u64) -> Result<Self, Error> {
        mem.write(gfn, 0, &[0u8; XEN_PAGE_SIZE])?;
        let h = SringHeader::INIT;
        mem.write_u32(gfn, REQ_EVENT, h.req_event)?;
        mem.write_u32(gfn, RSP_EVENT, h.rsp_event)?;
        Ok(Self {
            gfn,
            req_prod_pvt: 0,
            rsp_cons: 0,
            size: BLKIF_RING_SIZE_ONE_PAGE,
        })
    }

    /// The ring's frame.
    pub fn gfn(&self) -> u64 {
        self.gfn
    }

    /// Slots free for new requests.
    pub fn free_slots(&self) -> u32 {
        self.size - self.req_prod_pvt.wrapping_sub(self.rsp_cons).min(self.size)
    }

    /// Requests put and not yet answered.
    pub fn outstanding(&self) -> u32 {
        self.req_prod_pvt.wrapping_sub(self.rsp_cons)
    }

    /// Puts a request in the next slot (not yet visible to the backend).
    pub fn put_request(&mut self, mem: &mut dyn GuestPages, slot: &[u8]) -> Result<(), Error> {
        if self.free_slots() == 0 {
            return Err(Error::NoSpace);
        }
        if slot.len() > BLKIF_RING_ENTRY_SIZE {
            return Err(Error::InvalidArgument("request larger than a ring slot"));
        }
        let at = entry_offset(self.req_prod_pvt, self.size, BLKIF_RING_ENTRY_SIZE);
        mem.write(self.gfn, at, slot)?;
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// Publishes the requests put (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`);
    /// whether the backend must be notified.
    pub fn push(&mut self, mem: &mut dyn GuestPages) -> Result<bool, Error> {
        let old = mem.read_u32(self.gfn, REQ_PROD)?;
        mem.fence();
        mem.write_u32(self.gfn, REQ_PROD, self.req_prod_pvt)?;
        mem.fence();
        let event = mem.read_u32(self.gfn, REQ_EVENT)?;
        Ok(notify_needed(self.req_prod_pvt, old, event))
    }

    /// The next response, if the backend produced one; with the final
    /// check before answering `None`. A backend producing more responses
    /// than there are requests outstanding is an error.
    pub fn take_response(
        &mut self,
        mem: &mut dyn GuestPages,
    ) -> Result<Option<ResponseBytes>, Error> {
        let mut prod = mem.read_u32(self.gfn, RSP_PROD)?;
        if prod == self.rsp_cons {
            mem.write_u32(self.gfn, RSP_EVENT, self.rsp_cons.wrapping_add(1))?;
            mem.fence();
            prod = mem.read_u32(self.gfn, RSP_PROD)?;
            if prod == self.rsp_cons {
                return Ok(None);
            }
        }
        if prod.wrapping_sub(self.rsp_cons) > self.outstanding() {
            return Err(Error::Protocol("more blkif responses than requests"));
        }
        mem.fence();
        let at = entry_offset(self.rsp_cons, self.size, BLKIF_RING_ENTRY_SIZE);
        let mut b = [0u8; core::mem::size_of::<BlkifResponse>()];
        mem.read(self.gfn, at, &mut b)?;
        self.rsp_cons = self.rsp_cons.wrapping_add(1);
        Ok(Some(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::HostPages;

    #[test]
    fn requests_publish_and_notify_as_the_event_index_asks() {
        let mut m = HostPages::new();
        let mut r = FrontRing::init(&mut m, 3).unwrap();
        assert_eq!(r.free_slots(), 32);
        r.put_request(&mut m, &[1; 112]).unwrap();
        assert!(r.push(&mut m).unwrap(), "req_event 1 is crossed");
        r.put_request(&mut m, &[2; 112]).unwrap();
        assert!(!r.push(&mut m).unwrap(), "the backend did not ask again");
        assert_eq!(m.read_u32(3, REQ_PROD).unwrap(), 2);
        assert_eq!(r.take_response(&mut m).unwrap(), None);
        assert_eq!(m.read_u32(3, RSP_EVENT).unwrap(), 1);
        // A backend claiming three responses for two requests.
        m.write_u32(3, RSP_PROD, 3).unwrap();
        assert!(r.take_response(&mut m).is_err());
        m.write_u32(3, RSP_PROD, 1).unwrap();
        assert!(r.take_response(&mut m).unwrap().is_some());
        for _ in 0..31 {
            r.put_request(&mut m, &[0; 112]).unwrap();
        }
        assert_eq!(r.put_request(&mut m, &[0; 112]), Err(Error::NoSpace));
    }
}
