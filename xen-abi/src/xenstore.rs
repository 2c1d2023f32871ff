//! The XenStore wire protocol and ring page (`io/xs_wire.h`).
//!
//! A message is an [`XsdSockmsg`] header followed by `len` payload bytes,
//! usually NUL-terminated strings. A guest finds its ring page and event
//! channel through [`crate::hvm::HVM_PARAM_STORE_PFN`] and
//! [`crate::hvm::HVM_PARAM_STORE_EVTCHN`]. A reply carries the request's
//! `type` (or [`XS_ERROR`]) and `req_id`; errors travel as the names in
//! [`XSD_ERRORS`].

use crate::errno::Errno;

/// A message header (`struct xsd_sockmsg`), 16 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XsdSockmsg {
    /// An `XS_*` message type (`type` in C).
    pub kind: u32,
    /// Chosen by the requester and echoed in the reply; 0 in watch events.
    pub req_id: u32,
    /// The transaction the request belongs to, 0 for none.
    pub tx_id: u32,
    /// Payload bytes after the header, at most [`XENSTORE_PAYLOAD_MAX`].
    pub len: u32,
}

layout!(XsdSockmsg, size 16, kind @ 0, req_id @ 4, tx_id @ 8, len @ 12);

// Message types (`enum xsd_sockmsg_type`).

/// Server control commands.
pub const XS_CONTROL: u32 = 0;
/// The old name of [`XS_CONTROL`].
pub const XS_DEBUG: u32 = XS_CONTROL;
/// List a node's children.
pub const XS_DIRECTORY: u32 = 1;
/// Read a node's value.
pub const XS_READ: u32 = 2;
/// Read a node's permissions.
pub const XS_GET_PERMS: u32 = 3;
/// Register a watch: "path\0token\0".
pub const XS_WATCH: u32 = 4;
/// Remove a watch.
pub const XS_UNWATCH: u32 = 5;
/// Start a transaction; the reply is its id in decimal.
pub const XS_TRANSACTION_START: u32 = 6;
/// End a transaction: "T" commits, "F" aborts.
pub const XS_TRANSACTION_END: u32 = 7;
/// Introduce a domain to the store (privileged).
pub const XS_INTRODUCE: u32 = 8;
/// Forget a domain (privileged).
pub const XS_RELEASE: u32 = 9;
/// A domain's home path, `/local/domain/<id>`.
pub const XS_GET_DOMAIN_PATH: u32 = 10;
/// Write a node: "path\0value", the value not NUL-terminated.
pub const XS_WRITE: u32 = 11;
/// Create a node.
pub const XS_MKDIR: u32 = 12;
/// Remove a node and its children.
pub const XS_RM: u32 = 13;
/// Set a node's permissions.
pub const XS_SET_PERMS: u32 = 14;
/// A watch fired (server to client): "path\0token\0".
pub const XS_WATCH_EVENT: u32 = 15;
/// An error reply: the error's name, NUL-terminated.
pub const XS_ERROR: u32 = 16;
/// Is a domain introduced? (privileged)
pub const XS_IS_DOMAIN_INTRODUCED: u32 = 17;
/// Resume a domain (privileged).
pub const XS_RESUME: u32 = 18;
/// Let a domain act for another (privileged).
pub const XS_SET_TARGET: u32 = 19;
/// Drop all of the connection's watches and transactions. (20, once
/// `XS_RESTRICT`, is gone.)
pub const XS_RESET_WATCHES: u32 = 21;
/// One part of a directory listing too large for one reply.
pub const XS_DIRECTORY_PART: u32 = 22;
/// Read a feature word.
pub const XS_GET_FEATURE: u32 = 23;
/// Write a feature word.
pub const XS_SET_FEATURE: u32 = 24;
/// Read a quota.
pub const XS_GET_QUOTA: u32 = 25;
/// Write a quota.
pub const XS_SET_QUOTA: u32 = 26;
/// Number of message types; types from here on are invalid.
pub const XS_TYPE_COUNT: u32 = 27;
/// A type guaranteed never to be valid.
pub const XS_INVALID: u32 = 0xFFFF;

/// Index of the path among a watch event's strings (`XS_WATCH_PATH`).
pub const XS_WATCH_PATH: usize = 0;
/// Index of the token among a watch event's strings (`XS_WATCH_TOKEN`).
pub const XS_WATCH_TOKEN: usize = 1;

/// The errors a server may report, by the name it sends, in the header's
/// order (`xsd_errors`). New names are only ever appended. Clients map
/// names back to numbers through this table (Linux takes a name it does
/// not know as `EINVAL`).
pub const XSD_ERRORS: [(Errno, &str); 16] = [
    (Errno::EINVAL, "EINVAL"),
    (Errno::EACCES, "EACCES"),
    (Errno::EEXIST, "EEXIST"),
    (Errno::EISDIR, "EISDIR"),
    (Errno::ENOENT, "ENOENT"),
    (Errno::ENOMEM, "ENOMEM"),
    (Errno::ENOSPC, "ENOSPC"),
    (Errno::EIO, "EIO"),
    (Errno::ENOTEMPTY, "ENOTEMPTY"),
    (Errno::ENOSYS, "ENOSYS"),
    (Errno::EROFS, "EROFS"),
    (Errno::EBUSY, "EBUSY"),
    (Errno::EAGAIN, "EAGAIN"),
    (Errno::EISCONN, "EISCONN"),
    (Errno::E2BIG, "E2BIG"),
    (Errno::EPERM, "EPERM"),
];

/// The name an [`XS_ERROR`] reply carries for `errno` (without its NUL),
/// or `None` if the protocol has no name for it.
pub const fn xs_error_name(errno: Errno) -> Option<&'static str> {
    let mut i = 0;
    while i < XSD_ERRORS.len() {
        if XSD_ERRORS[i].0.value() == errno.value() {
            return Some(XSD_ERRORS[i].1);
        }
        i += 1;
    }
    None
}

/// The error an [`XS_ERROR`] payload names; `name` excludes the NUL.
pub fn xs_error_from_name(name: &[u8]) -> Option<Errno> {
    XSD_ERRORS
        .iter()
        .find(|(_, n)| n.as_bytes() == name)
        .map(|&(errno, _)| errno)
}

/// Most payload bytes a message may carry; a longer one is a protocol
/// violation, not an ordinary error.
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// Longest absolute path; a longer one gets an error reply.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// Longest relative path (relative to `/local/domain/<id>/`).
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// Bytes in each of the two rings.
pub const XENSTORE_RING_SIZE: usize = 1024;

/// The ring offset of a free-running index (`MASK_XENSTORE_IDX`).
pub const fn mask_xenstore_idx(idx: u32) -> usize {
    idx as usize & (XENSTORE_RING_SIZE - 1)
}

/// [`XenstoreDomainInterface::server_features`]: the server supports
/// reconnecting the ring.
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// The server reports errors in the `error` field.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// `XS_WATCH` takes a depth.
pub const XENSTORE_SERVER_FEATURE_WATCHDEPTH: u32 = 4;
/// Permissions may name `DOMID_ANY`.
pub const XENSTORE_SERVER_FEATURE_DOMID_ANY: u32 = 8;

/// [`XenstoreDomainInterface::connection`]: the steady state; a zeroed
/// page reads as connected.
pub const XENSTORE_CONNECTED: u32 = 0;
/// A reconnection is in progress.
pub const XENSTORE_RECONNECT: u32 = 1;

/// [`XenstoreDomainInterface::error`]: none.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// A communication problem.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// A ring index out of range.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// A protocol violation (an oversized payload).
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// The XenStore ring page (`struct xenstore_domain_interface`): a request
/// ring the guest produces into and a response ring the server produces
/// into (replies and watch events).
///
/// Indices are free-running `u32`s; the byte of index `i` is at
/// [`mask_xenstore_idx`]`(i)`, and `prod - cons` (wrapping) bytes are
/// waiting. Messages may wrap around the ring's end.
///
/// **Ordering**, for both rings: the producer writes the bytes, then a
/// store barrier, then advances its `*_prod`, then notifies the store
/// event channel. The consumer reads `*_prod`, then a load barrier, then
/// the bytes; it advances its `*_cons` only after it has finished reading
/// them (full barrier), and notifies too, since the producer may be
/// waiting for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct XenstoreDomainInterface {
    /// Requests to the server.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// Replies and watch events from the server.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// Written by the server.
    pub req_cons: u32,
    /// Written by the guest.
    pub req_prod: u32,
    /// Written by the guest.
    pub rsp_cons: u32,
    /// Written by the server.
    pub rsp_prod: u32,
    /// `XENSTORE_SERVER_FEATURE_*` bits the server offers.
    pub server_features: u32,
    /// `XENSTORE_CONNECTED` or `XENSTORE_RECONNECT`.
    pub connection: u32,
    /// A `XENSTORE_ERROR_*` value (with
    /// [`XENSTORE_SERVER_FEATURE_ERROR`]).
    pub error: u32,
    /// The guest's store event channel, when the hypervisor fills it in
    /// (domains started without a toolstack); 0 otherwise.
    pub evtchn_port: u32,
}

layout!(XenstoreDomainInterface, size 2080,
    req @ 0, rsp @ 1024, req_cons @ 2048, req_prod @ 2052, rsp_cons @ 2056,
    rsp_prod @ 2060, server_features @ 2064, connection @ 2068, error @ 2072,
    evtchn_port @ 2076);

impl XenstoreDomainInterface {
    /// An all-zero page: empty rings, connected.
    pub const ZERO: Self = Self {
        req: [0; XENSTORE_RING_SIZE],
        rsp: [0; XENSTORE_RING_SIZE],
        req_cons: 0,
        req_prod: 0,
        rsp_cons: 0,
        rsp_prod: 0,
        server_features: 0,
        connection: XENSTORE_CONNECTED,
        error: XENSTORE_ERROR_NONE,
        evtchn_port: 0,
    };
}

impl Default for XenstoreDomainInterface {
    fn default() -> Self {
        Self::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_map_both_ways() {
        for (errno, name) in XSD_ERRORS {
            assert_eq!(xs_error_name(errno), Some(name));
            assert_eq!(xs_error_from_name(name.as_bytes()), Some(errno));
            // The table's names are errno.h's names.
            assert_eq!(errno.name(), Some(name));
        }
        assert_eq!(xs_error_name(Errno::EAGAIN), Some("EAGAIN"));
        assert_eq!(xs_error_from_name(b"EACCES"), Some(Errno::EACCES));
        assert_eq!(xs_error_from_name(b"E2BIG"), Some(Errno(7)));
    }

    #[test]
    fn unknown_errors_have_no_name() {
        assert_eq!(xs_error_name(Errno::EFAULT), None);
        assert_eq!(xs_error_name(Errno::EOPNOTSUPP), None);
        assert_eq!(xs_error_from_name(b"EINVAL\0"), None);
        assert_eq!(xs_error_from_name(b"einval"), None);
        assert_eq!(xs_error_from_name(b""), None);
    }

    #[test]
    fn message_types_are_xs_wire_numbers() {
        let types = [
            XS_CONTROL,
            XS_DIRECTORY,
            XS_READ,
            XS_GET_PERMS,
            XS_WATCH,
            XS_UNWATCH,
            XS_TRANSACTION_START,
            XS_TRANSACTION_END,
            XS_INTRODUCE,
            XS_RELEASE,
            XS_GET_DOMAIN_PATH,
            XS_WRITE,
            XS_MKDIR,
            XS_RM,
            XS_SET_PERMS,
            XS_WATCH_EVENT,
            XS_ERROR,
            XS_IS_DOMAIN_INTRODUCED,
            XS_RESUME,
            XS_SET_TARGET,
        ];
        for (i, t) in types.into_iter().enumerate() {
            assert_eq!(t as usize, i);
        }
        assert_eq!(XS_DEBUG, 0);
        assert_eq!((XS_RESET_WATCHES, XS_DIRECTORY_PART), (21, 22));
        assert_eq!(XS_TYPE_COUNT, XS_SET_QUOTA + 1);
    }

    #[test]
    fn ring_indices_wrap() {
        assert_eq!(mask_xenstore_idx(0), 0);
        assert_eq!(mask_xenstore_idx(1023), 1023);
        assert_eq!(mask_xenstore_idx(1024), 0);
        assert_eq!(mask_xenstore_idx(u32::MAX), 1023);
        assert_eq!(
            XenstoreDomainInterface::default().connection,
            XENSTORE_CONNECTED
        );
    }
}
