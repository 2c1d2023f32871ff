//! The wire format (`xen/include/public/io/xs_wire.h`): a 16-byte header
//! `xsd_sockmsg { type, req_id, tx_id, len }` and `len` payload bytes of
//! NUL-separated strings; errors come back as `XS_ERROR` replies naming
//! one of `xsd_errors`.

use crate::bytes::{get_u32, put_u32};
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use xen_abi::errno::Errno;
use xen_abi::xenstore::{xs_error_from_name, XsdSockmsg, XENSTORE_PAYLOAD_MAX};

/// Header bytes.
pub const HEADER_LEN: usize = size_of::<XsdSockmsg>();

/// An error the store reported, by the name it sent (`xsd_errors` in
/// `xs_wire.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XsError {
    /// `EINVAL`: a malformed request.
    Invalid,
    /// `EACCES`: permission denied.
    Access,
    /// `EEXIST`: already there (a watch registered twice).
    Exists,
    /// `EISDIR`.
    IsDirectory,
    /// `ENOENT`: no such node (or watch, or transaction).
    NotFound,
    /// `ENOMEM`.
    NoMemory,
    /// `ENOSPC`: a quota.
    NoSpace,
    /// `EIO`.
    Io,
    /// `ENOTEMPTY`.
    NotEmpty,
    /// `ENOSYS`: the request type is not served.
    NotSupported,
    /// `EROFS`.
    ReadOnly,
    /// `EBUSY`.
    Busy,
    /// `EAGAIN`: the transaction conflicted; run it again.
    Again,
    /// `EISCONN`.
    IsConnected,
    /// `E2BIG`: too long.
    TooBig,
    /// `EPERM`.
    Permission,
    /// A name the protocol does not define (Linux takes it as `EINVAL`).
    Unknown,
}

const TABLE: [(Errno, XsError); 16] = [
    (Errno::EINVAL, XsError::Invalid),
    (Errno::EACCES, XsError::Access),
    (Errno::EEXIST, XsError::Exists),
    (Errno::EISDIR, XsError::IsDirectory),
    (Errno::ENOENT, XsError::NotFound),
    (Errno::ENOMEM, XsError::NoMemory),
    (Errno::ENOSPC, XsError::NoSpace),
    (Errno::EIO, XsError::Io),
    (Errno::ENOTEMPTY, XsError::NotEmpty),
    (Errno::ENOSYS, XsError::NotSupported),
    (Errno::EROFS, XsError::ReadOnly),
    (Errno::EBUSY, XsError::Busy),
    (Errno::EAGAIN, XsError::Again),
    (Errno::EISCONN, XsError::IsConnected),
    (Errno::E2BIG, XsError::TooBig),
    (Errno::EPERM, XsError::Permission),
];

impl XsError {
    /// The error an `XS_ERROR` payload names (the name, NUL-terminated).
    pub fn from_payload(payload: &[u8]) -> Self {
        let name = payload.split(|&b| b == 0).next().unwrap_or(&[]);
        xs_error_from_name(name)
            .and_then(|e| TABLE.iter().find(|(n, _)| n.value() == e.value()))
            .map_or(Self::Unknown, |&(_, x)| x)
    }

    /// The errno it stands for (`EINVAL` for an unknown name).
    pub fn errno(self) -> Errno {
        TABLE
            .iter()
            .find(|(_, x)| *x == self)
            .map_or(Errno::EINVAL, |&(e, _)| e)
    }
}

/// A request: header and payload.
pub fn encode(kind: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() > XENSTORE_PAYLOAD_MAX {
        return None;
    }
    let mut b = alloc::vec![0u8; HEADER_LEN];
    put_u32(&mut b, offset_of!(XsdSockmsg, kind), kind);
    put_u32(&mut b, offset_of!(XsdSockmsg, req_id), req_id);
    put_u32(&mut b, offset_of!(XsdSockmsg, tx_id), tx_id);
    put_u32(&mut b, offset_of!(XsdSockmsg, len), payload.len() as u32);
    b.extend_from_slice(payload);
    Some(b)
}

/// The header at the start of `b` (at least [`HEADER_LEN`] bytes).
pub fn header(b: &[u8]) -> XsdSockmsg {
    XsdSockmsg {
        kind: get_u32(b, offset_of!(XsdSockmsg, kind)),
        req_id: get_u32(b, offset_of!(XsdSockmsg, req_id)),
        tx_id: get_u32(b, offset_of!(XsdSockmsg, tx_id)),
        len: get_u32(b, offset_of!(XsdSockmsg, len)),
    }
}

/// `parts` joined, each followed by a NUL.
pub fn strings(parts: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in parts {
        b.extend_from_slice(p);
        b.push(0);
    }
    b
}

/// The NUL-separated strings of a payload (a directory listing, a watch
/// event), as UTF-8; `None` if one is not.
pub fn split_strings(payload: &[u8]) -> Option<Vec<String>> {
    let body = payload.strip_suffix(&[0]).unwrap_or(payload);
    if body.is_empty() {
        return Some(Vec::new());
    }
    body.split(|&b| b == 0)
        .map(|s| core::str::from_utf8(s).ok().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_map_both_ways() {
        assert_eq!(XsError::from_payload(b"EAGAIN\0"), XsError::Again);
        assert_eq!(XsError::from_payload(b"ENOENT"), XsError::NotFound);
        assert_eq!(XsError::from_payload(b"EWHAT\0"), XsError::Unknown);
        assert_eq!(XsError::from_payload(b""), XsError::Unknown);
        assert_eq!(XsError::Again.errno(), Errno::EAGAIN);
        assert_eq!(XsError::Unknown.errno(), Errno::EINVAL);
        for (e, x) in TABLE {
            let name = xen_abi::xenstore::xs_error_name(e).unwrap();
            assert_eq!(XsError::from_payload(name.as_bytes()), x);
        }
    }

    #[test]
    fn messages_encode_and_payloads_split() {
        let m = encode(2, 7, 3, b"a\0").unwrap();
        assert_eq!(
            header(&m),
            XsdSockmsg {
                kind: 2,
                req_id: 7,
                tx_id: 3,
                len: 2
            }
        );
        assert!(encode(2, 7, 3, &[0; XENSTORE_PAYLOAD_MAX + 1]).is_none());
        assert_eq!(split_strings(b"a\0bc\0").unwrap(), ["a", "bc"]);
        assert_eq!(split_strings(b"").unwrap(), Vec::<String>::new());
        assert!(split_strings(b"\xff\0").is_none());
        assert_eq!(strings(&[b"p", b"t"]), b"p\0t\0");
    }
}
