//! The PV block backend (Linux's `xen-blkback`, served from inside the
//! hypervisor): the blkif protocol of `xen/include/public/io/blkif.h` on the
//! shared ring of `io/ring.h`, for the stock kernel's `xen-blkfront` and
//! our own frontend in `pv-drivers`.
//!
//! - [`ring`]: the backend's end of the shared ring, safe against a lying
//!   frontend.
//! - [`request`]: decoding and checking each request copied out of the
//!   ring.
//! - [`xenbus`]: the vbd's XenStore nodes and the handshake.
//! - [`engine`]: one connected vbd's I/O: grants, the asynchronous disk
//!   queue, responses.

pub mod engine;
pub mod request;
pub mod ring;
pub mod xenbus;
