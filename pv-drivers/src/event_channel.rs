//! 2-level event channels, guest side (`xen/include/public/event_channel.h`
//! for the operations; the pending and mask bitmaps and the per-vCPU
//! selector in `struct shared_info` / `struct vcpu_info`,
//! `xen/include/public/xen.h`).
//!
//! Port `p` is bit `p % 64` of word `p / 64` of `evtchn_pending` and
//! `evtchn_mask`; bit `w` of a vCPU's `evtchn_pending_sel` says word `w`
//! may hold pending ports. The upcall handler clears
//! `evtchn_upcall_pending`, takes the selector (atomic exchange with 0),
//! and for each selected word handles `pending & !mask`, clearing each
//! pending bit before calling the port's handler.

use crate::bytes::{put_u16, put_u32};
use crate::error::Error;
use crate::hypercall::{event_channel_op, Hypercall};
use crate::memory::GuestPages;
use crate::shared_info::SharedInfoPage;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::mem::{offset_of, size_of};
use xen_abi::event_channel::{
    port_bit, port_word, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindVirq,
    EvtchnPort, EVTCHN_2L_NR_CHANNELS, EVTCHN_PORT_INVALID,
};
use xen_abi::hypercall::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_SEND, EVTCHNOP_UNMASK, HYPERVISOR_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO,
};
use xen_abi::memory::{DomId, DOMID_SELF};
use xen_abi::shared_info::{SharedInfo, VcpuInfo};
use xen_abi::vcpu::VcpuRegisterVcpuInfo;

/// A port's handler, called from [`EventChannels::handle_upcall`].
pub type Handler = Box<dyn FnMut(EvtchnPort)>;

/// Where a vCPU's `vcpu_info` is: frame and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuInfoAt {
    /// Its frame.
    pub gfn: u64,
    /// Its offset in the frame (64-byte aligned, not crossing the page).
    pub offset: usize,
}

/// The guest's ports over its shared-info page.
pub struct EventChannels {
    shared: SharedInfoPage,
    /// vCPUs whose `vcpu_info` was registered away from the shared page
    /// (`VCPUOP_register_vcpu_info`, `xen/include/public/vcpu.h`).
    registered: BTreeMap<u32, VcpuInfoAt>,
    handlers: BTreeMap<EvtchnPort, Handler>,
}

impl core::fmt::Debug for EventChannels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventChannels")
            .field("shared", &self.shared)
            .field("registered", &self.registered)
            .field(
                "handled_ports",
                &self.handlers.keys().collect::<alloc::vec::Vec<_>>(),
            )
            .finish()
    }
}

fn check_port(port: EvtchnPort) -> Result<(), Error> {
    if port == EVTCHN_PORT_INVALID || port >= EVTCHN_2L_NR_CHANNELS {
        return Err(Error::InvalidArgument("event channel port out of range"));
    }
    Ok(())
}

fn port_out(port: u32) -> Result<EvtchnPort, Error> {
    check_port(port).map_err(|_| Error::Protocol("hypervisor returned an invalid port"))?;
    Ok(port)
}

/// Offsets of port `port`'s word in `evtchn_pending` / `evtchn_mask`, and
/// its bit.
fn word_offsets(port: EvtchnPort) -> (usize, usize, u64) {
    let w = port_word(port) * 8;
    (
        offset_of!(SharedInfo, evtchn_pending) + w,
        offset_of!(SharedInfo, evtchn_mask) + w,
        1u64 << port_bit(port),
    )
}

impl EventChannels {
    /// Ports over the shared-info page `shared`, every vCPU's `vcpu_info`
    /// in it.
    pub fn new(shared: SharedInfoPage) -> Self {
        Self {
            shared,
            registered: BTreeMap::new(),
            handlers: BTreeMap::new(),
        }
    }

    /// Says where vCPU `vcpu`'s `vcpu_info` lives after the guest
    /// registered it elsewhere.
    pub fn set_vcpu_info(&mut self, vcpu: u32, at: VcpuInfoAt) -> Result<(), Error> {
        if !at.offset.is_multiple_of(64)
            || at.offset + size_of::<VcpuInfo>() > xen_abi::XEN_PAGE_SIZE
        {
            return Err(Error::InvalidArgument("vcpu_info misplaced"));
        }
        self.registered.insert(vcpu, at);
        Ok(())
    }

    /// `VCPUOP_register_vcpu_info` (`xen/include/public/vcpu.h`): moves
    /// vCPU `vcpu`'s `vcpu_info` to `at` (64-byte aligned, inside one
    /// page); the hypervisor copies the old contents there and delivers
    /// events there from now on.
    pub fn register_vcpu_info(
        &mut self,
        hc: &mut dyn Hypercall,
        vcpu: u32,
        at: VcpuInfoAt,
    ) -> Result<(), Error> {
        if !at.offset.is_multiple_of(64)
            || at.offset + size_of::<VcpuInfo>() > xen_abi::XEN_PAGE_SIZE
        {
            return Err(Error::InvalidArgument("vcpu_info misplaced"));
        }
        let mut b = [0u8; size_of::<VcpuRegisterVcpuInfo>()];
        crate::bytes::put_u64(&mut b, offset_of!(VcpuRegisterVcpuInfo, mfn), at.gfn);
        put_u32(
            &mut b,
            offset_of!(VcpuRegisterVcpuInfo, offset),
            at.offset as u32,
        );
        crate::hypercall::check(hc.hypercall_with_arg(
            u64::from(HYPERVISOR_VCPU_OP),
            [
                u64::from(VCPUOP_REGISTER_VCPU_INFO),
                u64::from(vcpu),
                0,
                0,
                0,
            ],
            2,
            &mut b,
        ))?;
        self.set_vcpu_info(vcpu, at)
    }

    fn vcpu_info(&self, vcpu: u32) -> Result<VcpuInfoAt, Error> {
        match self.registered.get(&vcpu) {
            Some(&at) => Ok(at),
            None => Ok(VcpuInfoAt {
                gfn: self.shared.gfn(),
                offset: SharedInfoPage::vcpu_info_offset(vcpu)?,
            }),
        }
    }

    /// `EVTCHNOP_alloc_unbound`: a new port of ours that `remote_dom` may
    /// bind to (a frontend's channel to its backend).
    pub fn alloc_unbound(
        &mut self,
        hc: &mut dyn Hypercall,
        remote_dom: DomId,
    ) -> Result<EvtchnPort, Error> {
        let mut b = [0u8; size_of::<EvtchnAllocUnbound>()];
        put_u16(&mut b, offset_of!(EvtchnAllocUnbound, dom), DOMID_SELF);
        put_u16(
            &mut b,
            offset_of!(EvtchnAllocUnbound, remote_dom),
            remote_dom,
        );
        event_channel_op(hc, EVTCHNOP_ALLOC_UNBOUND, &mut b)?;
        port_out(crate::bytes::get_u32(
            &b,
            offset_of!(EvtchnAllocUnbound, port),
        ))
    }

    /// `EVTCHNOP_bind_interdomain`: connects a new local port to
    /// `remote_dom`'s unbound `remote_port`.
    pub fn bind_interdomain(
        &mut self,
        hc: &mut dyn Hypercall,
        remote_dom: DomId,
        remote_port: EvtchnPort,
    ) -> Result<EvtchnPort, Error> {
        let mut b = [0u8; size_of::<EvtchnBindInterdomain>()];
        put_u16(
            &mut b,
            offset_of!(EvtchnBindInterdomain, remote_dom),
            remote_dom,
        );
        put_u32(
            &mut b,
            offset_of!(EvtchnBindInterdomain, remote_port),
            remote_port,
        );
        event_channel_op(hc, EVTCHNOP_BIND_INTERDOMAIN, &mut b)?;
        port_out(crate::bytes::get_u32(
            &b,
            offset_of!(EvtchnBindInterdomain, local_port),
        ))
    }

    /// `EVTCHNOP_bind_virq`: a port for virtual IRQ `virq` (`VIRQ_*`) on
    /// vCPU `vcpu`.
    pub fn bind_virq(
        &mut self,
        hc: &mut dyn Hypercall,
        virq: u32,
        vcpu: u32,
    ) -> Result<EvtchnPort, Error> {
        let mut b = [0u8; size_of::<EvtchnBindVirq>()];
        put_u32(&mut b, offset_of!(EvtchnBindVirq, virq), virq);
        put_u32(&mut b, offset_of!(EvtchnBindVirq, vcpu), vcpu);
        event_channel_op(hc, EVTCHNOP_BIND_VIRQ, &mut b)?;
        port_out(crate::bytes::get_u32(&b, offset_of!(EvtchnBindVirq, port)))
    }

    /// `EVTCHNOP_bind_ipi`: a port that, sent on, is raised on `vcpu`.
    pub fn bind_ipi(&mut self, hc: &mut dyn Hypercall, vcpu: u32) -> Result<EvtchnPort, Error> {
        let mut b = [0u8; size_of::<EvtchnBindIpi>()];
        put_u32(&mut b, offset_of!(EvtchnBindIpi, vcpu), vcpu);
        event_channel_op(hc, EVTCHNOP_BIND_IPI, &mut b)?;
        port_out(crate::bytes::get_u32(&b, offset_of!(EvtchnBindIpi, port)))
    }

    /// `EVTCHNOP_send`: notifies the port's other end.
    pub fn send(&mut self, hc: &mut dyn Hypercall, port: EvtchnPort) -> Result<(), Error> {
        check_port(port)?;
        let mut b = port.to_le_bytes();
        event_channel_op(hc, EVTCHNOP_SEND, &mut b).map(|_| ())
    }

    /// `EVTCHNOP_close`; the port's handler goes too.
    pub fn close(&mut self, hc: &mut dyn Hypercall, port: EvtchnPort) -> Result<(), Error> {
        check_port(port)?;
        let mut b = port.to_le_bytes();
        event_channel_op(hc, EVTCHNOP_CLOSE, &mut b)?;
        self.handlers.remove(&port);
        Ok(())
    }

    /// Calls `handler` for `port` from now on (replacing any other).
    pub fn set_handler(&mut self, port: EvtchnPort, handler: Handler) -> Result<(), Error> {
        check_port(port)?;
        self.handlers.insert(port, handler);
        Ok(())
    }

    /// Masks the port (its events only set its pending bit).
    pub fn mask(&mut self, mem: &mut dyn GuestPages, port: EvtchnPort) -> Result<(), Error> {
        check_port(port)?;
        let (_, mask, bit) = word_offsets(port);
        mem.fetch_or_u64(self.shared.gfn(), mask, bit)?;
        Ok(())
    }

    /// Unmasks the port. A port that became pending while masked was not
    /// delivered, so then the guest asks the hypervisor to unmask it:
    /// `EVTCHNOP_unmask` clears the mask bit and re-raises a pending port
    /// (`event_channel.h`: "Unmask the specified local event-channel port
    /// and deliver a notification to the appropriate VCPU if an event is
    /// pending"; Linux's `evtchn_2l_unmask` does the same for HVM). The
    /// hypervisor re-raises only if it clears the bit itself, so the mask
    /// stays set until then.
    pub fn unmask(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        port: EvtchnPort,
    ) -> Result<(), Error> {
        check_port(port)?;
        let gfn = self.shared.gfn();
        let (pending, mask, bit) = word_offsets(port);
        if mem.read_u64(gfn, pending)? & bit == 0 {
            mem.fetch_and_u64(gfn, mask, !bit)?;
            mem.fence();
            // Raised between the check and the clear: masked again and
            // handed to the hypervisor.
            if mem.read_u64(gfn, pending)? & bit == 0
                || mem.fetch_or_u64(gfn, mask, bit)? & bit != 0
            {
                return Ok(());
            }
        }
        let mut b = port.to_le_bytes();
        event_channel_op(hc, EVTCHNOP_UNMASK, &mut b).map(|_| ())
    }

    /// Whether the port's pending bit is set.
    pub fn is_pending(&self, mem: &mut dyn GuestPages, port: EvtchnPort) -> Result<bool, Error> {
        check_port(port)?;
        let (pending, _, bit) = word_offsets(port);
        Ok(mem.read_u64(self.shared.gfn(), pending)? & bit != 0)
    }

    /// Whether the port is masked.
    pub fn is_masked(&self, mem: &mut dyn GuestPages, port: EvtchnPort) -> Result<bool, Error> {
        check_port(port)?;
        let (_, mask, bit) = word_offsets(port);
        Ok(mem.read_u64(self.shared.gfn(), mask)? & bit != 0)
    }

    /// Clears the port's pending bit; whether it was set. For a frontend
    /// that polls its port instead of taking upcalls.
    pub fn take_pending(
        &mut self,
        mem: &mut dyn GuestPages,
        port: EvtchnPort,
    ) -> Result<bool, Error> {
        check_port(port)?;
        let (pending, _, bit) = word_offsets(port);
        Ok(mem.fetch_and_u64(self.shared.gfn(), pending, !bit)? & bit != 0)
    }

    /// The upcall on vCPU `vcpu`: clears `evtchn_upcall_pending`, takes
    /// the selector, and for every pending, unmasked port of the selected
    /// words clears its pending bit and calls its handler (ports without
    /// one are cleared and dropped). Returns how many ports were handled.
    pub fn handle_upcall(&mut self, mem: &mut dyn GuestPages, vcpu: u32) -> Result<usize, Error> {
        let info = self.vcpu_info(vcpu)?;
        let gfn = self.shared.gfn();
        // Cleared before the selector is taken: an event raised during the
        // scan sets it again and causes another upcall (`xen.h`).
        mem.write(
            info.gfn,
            info.offset + offset_of!(VcpuInfo, evtchn_upcall_pending),
            &[0],
        )?;
        mem.fence();
        let mut handled = 0;
        let mut sel = mem.swap_u64(
            info.gfn,
            info.offset + offset_of!(VcpuInfo, evtchn_pending_sel),
            0,
        )?;
        while sel != 0 {
            let w = sel.trailing_zeros() as usize;
            sel &= sel - 1;
            let pending_at = offset_of!(SharedInfo, evtchn_pending) + w * 8;
            let mask_at = offset_of!(SharedInfo, evtchn_mask) + w * 8;
            let mut ready = mem.read_u64(gfn, pending_at)? & !mem.read_u64(gfn, mask_at)?;
            while ready != 0 {
                let b = ready.trailing_zeros();
                ready &= ready - 1;
                let port = (w as u32) * 64 + b;
                if mem.fetch_and_u64(gfn, pending_at, !(1u64 << b))? & (1u64 << b) == 0 {
                    continue;
                }
                if let Some(h) = self.handlers.get_mut(&port) {
                    h(port);
                }
                handled += 1;
            }
        }
        Ok(handled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::HostPages;
    use alloc::rc::Rc;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A hypervisor that records unmask calls and answers the rest with 0.
    #[derive(Default)]
    struct Calls(Vec<(u64, u64)>);

    impl Hypercall for Calls {
        fn hypercall(&mut self, op: u64, args: [u64; 5]) -> i64 {
            self.0.push((op, args[0]));
            0
        }
    }

    #[test]
    fn the_upcall_scans_selected_words_and_skips_masked_ports() {
        let mut m = HostPages::new();
        let mut ev = EventChannels::new(SharedInfoPage::at(2));
        let seen = Rc::new(RefCell::new(Vec::new()));
        for port in [3, 70, 71] {
            let s = seen.clone();
            ev.set_handler(port, Box::new(move |p| s.borrow_mut().push(p)))
                .unwrap();
        }
        let pend = offset_of!(SharedInfo, evtchn_pending);
        m.write_u64(2, pend, 1 << 3).unwrap();
        m.write_u64(2, pend + 8, 1 << 6 | 1 << 7).unwrap();
        ev.mask(&mut m, 71).unwrap();
        // Word 1 selected, word 0 not: port 3 waits for its selector bit.
        m.write_u64(2, offset_of!(VcpuInfo, evtchn_pending_sel), 0b10)
            .unwrap();
        m.write(2, 0, &[1]).unwrap();
        assert_eq!(ev.handle_upcall(&mut m, 0).unwrap(), 1);
        assert_eq!(*seen.borrow(), [70]);
        assert_eq!(m.read(2, 0, &mut [0u8; 1]), Ok(()));
        assert_eq!(m.read_u64(2, 8).unwrap(), 0, "selector taken");
        assert!(
            ev.is_pending(&mut m, 71).unwrap(),
            "masked port left pending"
        );
        assert!(!ev.is_pending(&mut m, 70).unwrap());
        assert!(ev.is_pending(&mut m, 3).unwrap());
    }

    #[test]
    fn unmasking_a_pending_port_asks_the_hypervisor_with_the_mask_still_set() {
        let mut m = HostPages::new();
        let mut hc = Calls::default();
        let mut ev = EventChannels::new(SharedInfoPage::at(2));
        ev.mask(&mut m, 5).unwrap();
        ev.unmask(&mut hc, &mut m, 5).unwrap();
        assert!(!ev.is_masked(&mut m, 5).unwrap());
        assert!(hc.0.is_empty(), "nothing pending: no hypercall");
        ev.mask(&mut m, 5).unwrap();
        m.write_u64(2, offset_of!(SharedInfo, evtchn_pending), 1 << 5)
            .unwrap();
        ev.unmask(&mut hc, &mut m, 5).unwrap();
        assert_eq!(hc.0, [(32, u64::from(EVTCHNOP_UNMASK))]);
        assert!(ev.is_masked(&mut m, 5).unwrap(), "the hypervisor clears it");
    }

    #[test]
    fn bad_ports_are_refused_before_any_hypercall() {
        let mut hc = Calls::default();
        let mut ev = EventChannels::new(SharedInfoPage::at(2));
        assert!(ev.send(&mut hc, 0).is_err());
        assert!(ev.close(&mut hc, EVTCHN_2L_NR_CHANNELS).is_err());
        assert!(hc.0.is_empty());
        // A hypervisor answering port 0 is caught.
        assert_eq!(
            ev.bind_virq(&mut hc, 0, 0),
            Err(Error::Protocol("hypervisor returned an invalid port"))
        );
    }
}
