//! 2-level event channels, per domain, as Xen serves them to an HVM guest.
//!
//! Semantics follow Xen's `xen/include/public/event_channel.h` (the
//! `EVTCHNOP_*` operations and their error returns), `xen/common/event_channel.c`
//! (port allocation, the binding states, close and send) and
//! `xen/common/event_2l.c` (the 2-level pending/mask/selector bitmaps of
//! `xen/include/public/xen.h`'s `shared_info`). The code is ours.
//!
//! - [`ports`]: one domain's port table and the operations on it.
//! - [`state`]: what a port can be bound to.
//! - [`delivery`]: raising and unmasking a port on the shared-info page, as a
//!   pure function over its byte image.
//!
//! The hypervisor plays domain 0: the backends' ports live in an
//! [`EventChannels`] table with domid 0 owned by the hypervisor, and a guest
//! may only connect to itself or to domain 0.

pub mod delivery;
pub mod ports;
pub mod state;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;

pub use delivery::{
    clear_pending, is_masked, is_pending, set_pending, unmask, vcpu_pending, SHARED_INFO_LEN,
};
pub use ports::EventChannels;
pub use state::{virq_is_global, Notify, PortState, DOM0};
