//! The hypervisor's XenStore server as a state machine over guest bytes.
//!
//! The protocol is Xen's (`xen/include/public/io/xs_wire.h` for the wire
//! format, `docs/misc/xenstore.txt` for the operations' meaning); the
//! numbers and names come from [`xen_abi::xenstore`]. Every client is a
//! domain, known by its domid; domain 0 is the hypervisor's own backends
//! and may do anything. One concept per module:
//!
//! - [`tree`]: the nodes, path validation and the tree operations;
//! - [`permissions`]: Xen's per-node permission lists;
//! - [`transaction`]: snapshots, read/write sets and conflict detection;
//! - [`watch`]: watches per connection and the events they fire;
//! - [`quota`]: per-domain limits with xenstored's default numbers;
//! - [`server`]: [`XenStore::request`], parsing and dispatching messages.
//! - [`ring`]: the shared ring a domain's requests and replies travel on.

pub mod permissions;
pub mod quota;
pub mod ring;
pub mod server;
pub mod transaction;
pub mod tree;
pub mod watch;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

pub use permissions::{Access, Perm, Perms};
pub use quota::Quotas;
pub use server::{Response, XenStore};
pub use tree::Tree;

use xen_abi::errno::Errno;

/// The result of a store operation: an error travels as its `Errno` and
/// reaches the client as its name from `xsd_errors`.
pub type XsResult<T> = Result<T, Errno>;

/// The domid of the privileged domain (the hypervisor's backends).
pub const DOM0: u16 = 0;
