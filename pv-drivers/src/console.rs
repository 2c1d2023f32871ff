//! The PV console frontend (hvc0): the `xencons_interface` ring page
//! (`xen/include/public/io/console.h`) — `out` (guest to backend, 2048
//! bytes) with `out_cons`/`out_prod`, `in` (backend to guest, 1024 bytes)
//! with `in_cons`/`in_prod` — and its event channel, found through
//! `HVM_PARAM_CONSOLE_PFN` and `HVM_PARAM_CONSOLE_EVTCHN`
//! (`xen/include/public/hvm/params.h`).
//!
//! Same ordering as the store ring: bytes, barrier, producer index, then
//! notify; the consumer index moves only after the bytes are read.

use crate::error::Error;
use crate::hypercall::{event_channel_op, hvm_get_param, sched_yield, Hypercall};
use crate::memory::GuestPages;
use core::mem::offset_of;
use xen_abi::console::{
    mask_xencons_in_idx, mask_xencons_out_idx, XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE,
};
use xen_abi::event_channel::EvtchnPort;
use xen_abi::hvm::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN};
use xen_abi::hypercall::EVTCHNOP_SEND;

const IN: usize = offset_of!(XenconsInterface, in_);
const OUT: usize = offset_of!(XenconsInterface, out);
const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);

/// The console frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Console {
    gfn: u64,
    port: EvtchnPort,
    /// Yields [`Console::write_all`] waits for room before it gives up.
    pub max_polls: u32,
}

impl Console {
    /// The ring at `gfn`, its channel `port`.
    pub fn new(gfn: u64, port: EvtchnPort) -> Self {
        Self {
            gfn,
            port,
            max_polls: 10_000,
        }
    }

    /// The console the HVM params name.
    pub fn from_hvm_params(hc: &mut dyn Hypercall) -> Result<Self, Error> {
        let pfn = hvm_get_param(hc, HVM_PARAM_CONSOLE_PFN)?;
        let port = hvm_get_param(hc, HVM_PARAM_CONSOLE_EVTCHN)?;
        if pfn == 0 || port == 0 || port > u64::from(u32::MAX) {
            return Err(Error::NotConnected);
        }
        Ok(Self::new(pfn, port as EvtchnPort))
    }

    fn notify(&self, hc: &mut dyn Hypercall) -> Result<(), Error> {
        let mut b = self.port.to_le_bytes();
        event_channel_op(hc, EVTCHNOP_SEND, &mut b).map(|_| ())
    }

    /// Writes as much of `bytes` as fits into `out` and notifies the
    /// backend if any went in; how many.
    pub fn write(
        &self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        bytes: &[u8],
    ) -> Result<usize, Error> {
        let cons = mem.read_u32(self.gfn, OUT_CONS)?;
        let prod = mem.read_u32(self.gfn, OUT_PROD)?;
        let used = prod.wrapping_sub(cons) as usize;
        if used > XENCONS_OUT_SIZE {
            return Err(Error::Protocol("console output indices out of range"));
        }
        let n = bytes.len().min(XENCONS_OUT_SIZE - used);
        let start = mask_xencons_out_idx(prod);
        let first = n.min(XENCONS_OUT_SIZE - start);
        mem.write(self.gfn, OUT + start, &bytes[..first])?;
        mem.write(self.gfn, OUT, &bytes[first..n])?;
        mem.fence();
        mem.write_u32(self.gfn, OUT_PROD, prod.wrapping_add(n as u32))?;
        if n > 0 {
            self.notify(hc)?;
        }
        Ok(n)
    }

    /// Writes all of `bytes`, yielding while the ring is full.
    pub fn write_all(
        &self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        mut bytes: &[u8],
    ) -> Result<(), Error> {
        let mut polls = 0;
        while !bytes.is_empty() {
            let n = self.write(hc, mem, bytes)?;
            bytes = &bytes[n..];
            if n == 0 {
                polls += 1;
                if polls > self.max_polls {
                    return Err(Error::Timeout);
                }
                sched_yield(hc)?;
            }
        }
        Ok(())
    }

    /// Reads waiting input into `buf`, gives the room back and notifies
    /// the backend if anything was read; how many bytes.
    pub fn read(
        &self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        let cons = mem.read_u32(self.gfn, IN_CONS)?;
        let prod = mem.read_u32(self.gfn, IN_PROD)?;
        let avail = prod.wrapping_sub(cons) as usize;
        if avail > XENCONS_IN_SIZE {
            return Err(Error::Protocol("console input indices out of range"));
        }
        let n = avail.min(buf.len());
        mem.fence();
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let mut one = [0u8];
            let at = IN + mask_xencons_in_idx(cons.wrapping_add(i as u32));
            mem.read(self.gfn, at, &mut one)?;
            *b = one[0];
        }
        mem.fence();
        mem.write_u32(self.gfn, IN_CONS, cons.wrapping_add(n as u32))?;
        if n > 0 {
            self.notify(hc)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::HostPages;

    struct Ok0(u32);
    impl Hypercall for Ok0 {
        fn hypercall(&mut self, _op: u64, _args: [u64; 5]) -> i64 {
            self.0 += 1;
            0
        }
    }

    #[test]
    fn output_wraps_and_a_full_ring_times_out() {
        let mut m = HostPages::new();
        let mut hc = Ok0(0);
        let c = Console {
            max_polls: 3,
            ..Console::new(7, 2)
        };
        m.write_u32(7, OUT_PROD, 2046).unwrap();
        m.write_u32(7, OUT_CONS, 2046).unwrap();
        assert_eq!(c.write(&mut hc, &mut m, b"hello").unwrap(), 5);
        let mut b = [0u8; 3];
        m.read(7, OUT, &mut b).unwrap();
        assert_eq!(&b, b"llo");
        assert_eq!(hc.0, 1, "one notify");
        assert_eq!(
            c.write_all(&mut hc, &mut m, &[0; 4096]),
            Err(Error::Timeout)
        );
    }

    #[test]
    fn input_is_read_and_lying_indices_are_errors() {
        let mut m = HostPages::new();
        let mut hc = Ok0(0);
        let c = Console::new(7, 2);
        m.write(7, IN, b"ab").unwrap();
        m.write_u32(7, IN_PROD, 2).unwrap();
        let mut b = [0u8; 8];
        assert_eq!(c.read(&mut hc, &mut m, &mut b).unwrap(), 2);
        assert_eq!(&b[..2], b"ab");
        assert_eq!(c.read(&mut hc, &mut m, &mut b).unwrap(), 0);
        m.write_u32(7, IN_PROD, 5000).unwrap();
        assert!(c.read(&mut hc, &mut m, &mut b).is_err());
        m.write_u32(7, OUT_PROD, 9000).unwrap();
        assert!(c.write(&mut hc, &mut m, b"x").is_err());
    }
}
