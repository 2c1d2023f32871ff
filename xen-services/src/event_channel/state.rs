//! The states a port can be in and what a send raises (Xen's `ECS_*`
//! states of `xen/include/xen/sched.h`, `EVTCHNSTAT_*` of
//! `xen/include/public/event_channel.h`, `virq_is_global()` of
//! `xen/common/event_channel.c`).

use xen_abi::event_channel::{EvtchnPort, VIRQ_DEBUG, VIRQ_TIMER, VIRQ_XENOPROF, VIRQ_XENPMU};
use xen_abi::memory::DomId;

/// The domain the hypervisor's backends belong to.
pub const DOM0: DomId = 0;

/// What a port is bound to (Xen's `ECS_*` states, `xen/include/xen/sched.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Free (`ECS_FREE`; `EVTCHNSTAT_closed`).
    Free,
    /// Port 0 (`ECS_RESERVED`): valid but never usable.
    Reserved,
    /// Allocated, waiting for `remote` to bind to it.
    Unbound {
        /// The domain allowed to bind.
        remote: DomId,
    },
    /// Connected to `remote`'s `remote_port`.
    Interdomain {
        /// The other end's domain.
        remote: DomId,
        /// The other end's port.
        remote_port: EvtchnPort,
    },
    /// Bound to a virtual IRQ.
    Virq(u32),
    /// An inter-processor interrupt within the domain.
    Ipi,
}

/// Where a `send` must raise an event: `port` of domain `dom`, delivered to
/// `vcpu` of that domain (pass them to [`super::set_pending`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notify {
    /// The domain to raise in.
    pub dom: DomId,
    /// Its port.
    pub port: EvtchnPort,
    /// Its vCPU bound to the port.
    pub vcpu: u32,
}

/// Whether `virq` is global (bound on vCPU 0 and movable) rather than per
/// vCPU, as `virq_is_global()` in `event_channel.c` decides.
pub const fn virq_is_global(virq: u32) -> bool {
    !matches!(virq, VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU)
}
