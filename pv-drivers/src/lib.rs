//! Guest-side paravirtual frontends over the Xen-compatible guest ABI, as
//! `no_std` + `alloc` code a guest kernel can link: the hypercall entry,
//! shared info and pvclock time, 2-level event channels, grant tables v1,
//! a XenStore client, the PV console and a block frontend (blkfront).
//!
//! Layouts and numbers come from `xen-abi` (each citing its header under
//! `xen/include/public/`); anything `xen-abi` lacks is defined where it is
//! used, with its header named.
//!
//! # Host-testable by construction
//!
//! Everything above two edges is plain safe code:
//!
//! - [`hypercall::Hypercall`]: `hypercall(op, args) -> i64`. The real
//!   one, [`arch::NativeHypercall`], issues VMCALL or VMMCALL; the tests
//!   call the hypervisor's own dispatcher (`xen-services`) in-process.
//! - [`memory::GuestPages`]: byte and atomic access to a guest frame by
//!   its number. The real one, [`raw::DirectMap`], reads an identity- (or
//!   offset-) mapped physical address space; the tests back frames with
//!   host memory and with the hypervisor's own pages.
//!
//! `unsafe` is allowed only in [`arch`] (inline assembly) and [`raw`]
//! (raw-pointer access to mapped frames); the rest of the crate denies it.
//!
//! # Tests
//!
//! Unit tests beside each module run the frontends over [`memory::HostPages`].
//! `tests/` links them against the hypervisor's own backends in one
//! process (`tests/common/mod.rs`): a guest whose RAM is a host vector
//! and whose mapped frames are the hypervisor's pages, and a
//! [`Hypercall`] that calls `xen-services`' dispatcher and then lets
//! blkback serve its disk. `tests/hostile.rs` has hand-written lying
//! backends for the frontends' own parsing.
//!
//! # Modules
//!
//! - [`hypercall`], [`arch`]: the entry and the typed calls the frontends
//!   make.
//! - [`memory`], [`raw`], [`bytes`]: guest memory.
//! - [`shared_info`]: the shared-info page, pvclock and the wallclock.
//! - [`event_channel`]: 2-level event channels and the upcall.
//! - [`grant_table`]: grant table v1, granting and revoking.
//! - [`xenstore`]: the XenStore client (ring, wire format, requests,
//!   watches, transactions).
//! - [`console`]: the PV console ring.
//! - [`blkfront`]: the block frontend (handshake, ring, requests).
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod arch;
pub mod blkfront;
pub mod bytes;
pub mod console;
pub mod error;
pub mod event_channel;
pub mod grant_table;
pub mod hypercall;
pub mod memory;
pub mod raw;
pub mod shared_info;
pub mod xenstore;

pub use error::Error;
pub use hypercall::Hypercall;
pub use memory::GuestPages;
