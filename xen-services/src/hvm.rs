//! One HVM/PVH domain's Xen interface: the hypercall dispatcher and the
//! per-domain state it serves (shared info, vCPU info, pvclock, HVM params,
//! one-shot timers, event channels, grant table, the XenStore and console
//! backends), written over a [`GuestAccess`] the hypervisor implements so
//! all of it runs in host tests.
//!
//! - [`guest`]: what the dispatcher needs of the guest (memory through its
//!   page tables, physical memory, the TSC, the terminal) and argument
//!   decoding.
//! - [`pvclock`]: the TSC-to-nanoseconds scale and the `vcpu_time_info`
//!   bytes.
//! - [`platform`]: the CPUID leaves and the hypercall page.
//! - [`domain`]: [`XenDomain`], the state, event raising and upcalls.
//! - [`dispatch`]: [`XenDomain::hypercall`], one function per hypercall;
//!   `evtchn_ops` and `vcpu_ops` hold `event_channel_op` and `vcpu_op`.
//! - [`backends`]: the XenStore and console rings, served from here.
//! - [`timers`]: the one-shot and periodic vCPU timers.
//! - `vbd`: the PV disks (the block backend's handshake and ring service).
//! - [`stats`]: counts by hypercall and sub-op.

pub mod backends;
pub mod dispatch;
pub mod domain;
mod evtchn_ops;
pub mod guest;
pub mod platform;
pub mod pvclock;
pub mod stats;
pub mod timers;
mod vbd;
mod vcpu_ops;

#[cfg(test)]
mod fake_guest;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vbd_tests;

pub use dispatch::{Action, HypercallArgs, Outcome};
pub use domain::{Upcall, XenConfig, XenDomain};
pub use guest::GuestAccess;
pub use platform::HypercallInsn;
