//! The XenStore client: requests over the store ring page to the store
//! server (`xen/include/public/io/xs_wire.h`), watches, transactions.
//!
//! - [`wire`]: message headers, payloads, and the error names mapped to
//!   [`XsError`].
//! - [`ring`]: the request and response byte rings of
//!   `struct xenstore_domain_interface`.
//! - [`client`]: [`XenStoreClient`]: read, write, directory, mkdir, rm,
//!   watches with their events, transactions with retry on `EAGAIN`.

pub mod client;
pub mod ring;
pub mod wire;

pub use client::{Tx, WatchEvent, XenStoreClient};
pub use wire::XsError;
