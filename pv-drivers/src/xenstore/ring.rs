//! The two byte rings of the store page (`struct xenstore_domain_interface`,
//! `xen/include/public/io/xs_wire.h`): the guest produces requests into
//! `req` and consumes replies and watch events from `rsp`. Indices are
//! free-running; `prod - cons` above the ring's size is a broken peer.
//!
//! Ordering (`xs_wire.h`, as in `xen-abi`): bytes, barrier, producer
//! index; the consumer reads the producer index, barrier, the bytes, and
//! only then (barrier) advances its consumer index.

use crate::error::Error;
use crate::memory::GuestPages;
use core::mem::offset_of;
use xen_abi::xenstore::{mask_xenstore_idx, XenstoreDomainInterface, XENSTORE_RING_SIZE};

/// The ring page at a guest frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreRing {
    gfn: u64,
}

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);

impl StoreRing {
    /// The page at `gfn`.
    pub const fn at(gfn: u64) -> Self {
        Self { gfn }
    }

    /// Writes as much of `data` as the request ring has room for; how
    /// much.
    pub fn write(&self, mem: &mut dyn GuestPages, data: &[u8]) -> Result<usize, Error> {
        let cons = mem.read_u32(self.gfn, REQ_CONS)?;
        let prod = mem.read_u32(self.gfn, REQ_PROD)?;
        let used = prod.wrapping_sub(cons) as usize;
        if used > XENSTORE_RING_SIZE {
            return Err(Error::Protocol("XenStore request indices out of range"));
        }
        let n = data.len().min(XENSTORE_RING_SIZE - used);
        copy_in(mem, self.gfn, REQ, prod, &data[..n])?;
        mem.fence();
        mem.write_u32(self.gfn, REQ_PROD, prod.wrapping_add(n as u32))?;
        Ok(n)
    }

    /// Reads up to `buf.len()` waiting reply bytes and gives their room
    /// back; how many.
    pub fn read(&self, mem: &mut dyn GuestPages, buf: &mut [u8]) -> Result<usize, Error> {
        let cons = mem.read_u32(self.gfn, RSP_CONS)?;
        let prod = mem.read_u32(self.gfn, RSP_PROD)?;
        let avail = prod.wrapping_sub(cons) as usize;
        if avail > XENSTORE_RING_SIZE {
            return Err(Error::Protocol("XenStore response indices out of range"));
        }
        let n = avail.min(buf.len());
        mem.fence();
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let at = RSP + mask_xenstore_idx(cons.wrapping_add(i as u32));
            let mut one = [0u8];
            mem.read(self.gfn, at, &mut one)?;
            *b = one[0];
        }
        mem.fence();
        mem.write_u32(self.gfn, RSP_CONS, cons.wrapping_add(n as u32))?;
        Ok(n)
    }
}

/// Copies `data` into the ring at `base` from free-running index `idx`,
/// in at most two pieces.
fn copy_in(
    mem: &mut dyn GuestPages,
    gfn: u64,
    base: usize,
    idx: u32,
    data: &[u8],
) -> Result<(), Error> {
    let start = mask_xenstore_idx(idx);
    let first = data.len().min(XENSTORE_RING_SIZE - start);
    mem.write(gfn, base + start, &data[..first])?;
    if first < data.len() {
        mem.write(gfn, base, &data[first..])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::HostPages;

    #[test]
    fn writes_wrap_and_stop_when_full() {
        let mut m = HostPages::new();
        let r = StoreRing::at(4);
        m.write_u32(4, REQ_PROD, 1020).unwrap();
        m.write_u32(4, REQ_CONS, 1020).unwrap();
        assert_eq!(r.write(&mut m, b"abcdefgh").unwrap(), 8);
        let mut b = [0u8; 4];
        m.read(4, REQ + 1020, &mut b).unwrap();
        assert_eq!(&b, b"abcd");
        m.read(4, REQ, &mut b).unwrap();
        assert_eq!(&b, b"efgh");
        assert_eq!(r.write(&mut m, &[1; 2000]).unwrap(), 1016);
        assert_eq!(r.write(&mut m, b"x").unwrap(), 0);
    }

    #[test]
    fn lying_indices_are_errors() {
        let mut m = HostPages::new();
        let r = StoreRing::at(4);
        m.write_u32(4, RSP_PROD, 5000).unwrap();
        assert!(r.read(&mut m, &mut [0; 16]).is_err());
        m.write_u32(4, REQ_CONS, 10).unwrap();
        assert!(r.write(&mut m, b"a").is_err(), "cons ahead of prod");
    }
}
