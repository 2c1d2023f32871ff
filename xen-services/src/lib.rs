//! The Xen services the hypervisor serves to its guests from inside itself
//! (no dom0, no QEMU: the hypervisor plays domain 0's backend role), written
//! as plain state machines over guest-supplied bytes so every one of them is
//! tested on the host with hostile input. The exit handlers (`vmm-core`'s
//! `exits/hypercall.rs`) and the backends drive them; the ABI's layouts and
//! numbers come from the `xen-abi` crate.
//!
//! - [`xenstore`]: the XenStore server: the tree, Xen's permission model,
//!   quotas, transactions and watches, and the wire protocol.
//! - [`event_channel`]: 2-level event channels, per domain.
//! - [`grant_table`]: grant table v1 state and the backend's access checks.
//! - [`blkback`]: the PV block backend's ring and requests.
//! - [`console`]: the PV console backend's ring.
//! - [`hvm`]: a domain's hypercalls and the state they serve.
//! - [`pvh_start`]: where a PVH guest's boot data goes, and its
//!   `hvm_start_info`, module list and memory map.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod blkback;
pub mod console;
pub mod event_channel;
pub mod grant_table;
pub mod hvm;
pub mod pvh_start;
pub mod xenstore;
