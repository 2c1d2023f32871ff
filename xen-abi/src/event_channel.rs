//! Event channels (`event_channel.h`): the argument structures of the
//! `EVTCHNOP_*` sub-operations (numbers in [`crate::hypercall`]), the
//! virtual IRQs a port can be bound to (`xen.h`), and the 2-level ABI's
//! port numbering over the bitmaps of [`crate::shared_info::SharedInfo`].

use crate::memory::DomId;

/// An event-channel port number (`evtchn_port_t`).
pub type EvtchnPort = u32;

/// Ports of the 2-level ABI on a 64-bit guest: 64 words of 64 bits
/// (`EVTCHN_2L_NR_CHANNELS`).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;
/// Bits per pending/mask word and per selector.
pub const EVTCHN_2L_BITS_PER_WORD: u32 = 64;
/// Port 0 is reserved and never allocated: guests take 0 to mean "no
/// port".
pub const EVTCHN_PORT_INVALID: EvtchnPort = 0;

/// The word of `evtchn_pending`/`evtchn_mask`, and the bit of
/// `evtchn_pending_sel`, that hold `port`.
pub const fn port_word(port: EvtchnPort) -> usize {
    (port / EVTCHN_2L_BITS_PER_WORD) as usize
}

/// The bit of its word that holds `port`.
pub const fn port_bit(port: EvtchnPort) -> u32 {
    port % EVTCHN_2L_BITS_PER_WORD
}

// Virtual IRQs (`VIRQ_*`, `xen.h`). Per-vCPU ones are bound once per vCPU.

/// Per vCPU: the PV timer fired.
pub const VIRQ_TIMER: u32 = 0;
/// Per vCPU: dump debug state.
pub const VIRQ_DEBUG: u32 = 1;
/// Global: input on the hypervisor's emergency console.
pub const VIRQ_CONSOLE: u32 = 2;
/// Global: a domain needs attention (dom0).
pub const VIRQ_DOM_EXC: u32 = 3;
/// Global: trace buffer records available.
pub const VIRQ_TBUF: u32 = 4;
/// Global: a domain paused for its debugger.
pub const VIRQ_DEBUGGER: u32 = 6;
/// Per vCPU: a profiling sample is available.
pub const VIRQ_XENOPROF: u32 = 7;
/// Global: input on the hypervisor's console ring.
pub const VIRQ_CON_RING: u32 = 8;
/// Global: a physical CPU changed state.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// Global: a memory event occurred.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// Per domain: an Argo message arrived.
pub const VIRQ_ARGO: u32 = 11;
/// Global: the hypervisor is low on memory.
pub const VIRQ_ENOMEM: u32 = 12;
/// Per vCPU: a PMU interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// Number of virtual IRQs; 16-23 are architecture-specific.
pub const NR_VIRQS: u32 = 24;

/// `EVTCHNOP_alloc_unbound`: allocate a port of `dom` that `remote_dom`
/// may bind to (`struct evtchn_alloc_unbound`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnAllocUnbound {
    /// The domain to allocate in (`DOMID_SELF` from a guest).
    pub dom: DomId,
    /// The domain allowed to bind (a frontend's backend id).
    pub remote_dom: DomId,
    /// Out: the new port.
    pub port: EvtchnPort,
}

layout!(EvtchnAllocUnbound, size 8, dom @ 0, remote_dom @ 2, port @ 4);

/// `EVTCHNOP_bind_interdomain`: connect a new local port to a remote
/// domain's unbound port (`struct evtchn_bind_interdomain`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnBindInterdomain {
    /// The remote domain.
    pub remote_dom: DomId,
    /// Always zero.
    pub pad0: u16,
    /// The remote domain's unbound port.
    pub remote_port: EvtchnPort,
    /// Out: the new local port.
    pub local_port: EvtchnPort,
}

layout!(EvtchnBindInterdomain, size 12,
    remote_dom @ 0, pad0 @ 2, remote_port @ 4, local_port @ 8);

/// `EVTCHNOP_bind_virq`: bind a virtual IRQ on a vCPU to a new port
/// (`struct evtchn_bind_virq`). Binding the same VIRQ twice on a vCPU
/// fails with `EEXIST`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnBindVirq {
    /// A `VIRQ_*` value.
    pub virq: u32,
    /// The vCPU to deliver to.
    pub vcpu: u32,
    /// Out: the new port.
    pub port: EvtchnPort,
}

layout!(EvtchnBindVirq, size 12, virq @ 0, vcpu @ 4, port @ 8);

/// `EVTCHNOP_bind_ipi`: a new port that, when sent on, is raised on
/// `vcpu` (`struct evtchn_bind_ipi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnBindIpi {
    /// The vCPU to deliver to.
    pub vcpu: u32,
    /// Out: the new port.
    pub port: EvtchnPort,
}

layout!(EvtchnBindIpi, size 8, vcpu @ 0, port @ 4);

/// `EVTCHNOP_close` (`struct evtchn_close`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnClose {
    /// The port to close.
    pub port: EvtchnPort,
}

layout!(EvtchnClose, size 4, port @ 0);

/// `EVTCHNOP_send`: notify the port's other end (`struct evtchn_send`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnSend {
    /// The local port.
    pub port: EvtchnPort,
}

layout!(EvtchnSend, size 4, port @ 0);

/// `EVTCHNOP_unmask` (`struct evtchn_unmask`); see
/// [`crate::shared_info::SharedInfo::evtchn_mask`] for its ordering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnUnmask {
    /// The port to unmask.
    pub port: EvtchnPort,
}

layout!(EvtchnUnmask, size 4, port @ 0);

/// `EVTCHNOP_bind_vcpu`: deliver a port to another vCPU (`struct
/// evtchn_bind_vcpu`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnBindVcpu {
    /// The port.
    pub port: EvtchnPort,
    /// The vCPU to deliver it to from now on.
    pub vcpu: u32,
}

layout!(EvtchnBindVcpu, size 8, port @ 0, vcpu @ 4);

// `EvtchnStatus::status` values (`EVTCHNSTAT_*`).

/// The port is free.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// Allocated, waiting for a remote domain to bind.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// Connected to a remote domain's port.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// Bound to a physical IRQ.
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// Bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// Bound as an IPI.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// `EVTCHNOP_status`: describe a port (`struct evtchn_status`).
///
/// The C structure ends in a union; here it is two raw words `u`, read
/// and written through the accessors for the variant that `status`
/// selects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EvtchnStatus {
    /// The domain owning the port (`DOMID_SELF` from a guest).
    pub dom: DomId,
    /// Always zero.
    pub pad0: u16,
    /// The port.
    pub port: EvtchnPort,
    /// Out: an `EVTCHNSTAT_*` value.
    pub status: u32,
    /// Out: the vCPU the port is delivered to.
    pub vcpu: u32,
    /// Out: the union (unbound `{dom}`, interdomain `{dom, port}`, pirq,
    /// virq), as two little-endian words.
    pub u: [u32; 2],
}

layout!(EvtchnStatus, size 24,
    dom @ 0, pad0 @ 2, port @ 4, status @ 8, vcpu @ 12, u @ 16);

impl EvtchnStatus {
    /// Unbound or interdomain: the remote domain (bytes 16-17).
    pub const fn remote_dom(&self) -> DomId {
        self.u[0] as DomId
    }

    /// Interdomain: the remote port (bytes 20-23).
    pub const fn remote_port(&self) -> EvtchnPort {
        self.u[1]
    }

    /// Pirq or virq: the IRQ number (bytes 16-19).
    pub const fn irq(&self) -> u32 {
        self.u[0]
    }

    /// Fills the union for an unbound or interdomain port (`remote_port`
    /// 0 for unbound).
    pub const fn set_remote(&mut self, dom: DomId, remote_port: EvtchnPort) {
        self.u = [dom as u32, remote_port];
    }

    /// Fills the union for a pirq or virq port.
    pub const fn set_irq(&mut self, irq: u32) {
        self.u = [irq, 0];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_map_to_words_and_bits() {
        assert_eq!((port_word(1), port_bit(1)), (0, 1));
        assert_eq!((port_word(63), port_bit(63)), (0, 63));
        assert_eq!((port_word(64), port_bit(64)), (1, 0));
        let last = EVTCHN_2L_NR_CHANNELS - 1;
        assert_eq!((port_word(last), port_bit(last)), (63, 63));
        assert_eq!(EVTCHN_2L_NR_CHANNELS, 4096);
    }

    #[test]
    fn status_union_accessors() {
        let mut s = EvtchnStatus::default();
        s.set_remote(0x7FF0, 17);
        assert_eq!((s.remote_dom(), s.remote_port()), (0x7FF0, 17));
        s.set_irq(VIRQ_DEBUG);
        assert_eq!(s.irq(), 1);
        assert_eq!(s.u[1], 0);
    }
}
