//! The one error type of the frontends.

use crate::memory::MemError;
use crate::xenstore::XsError;
use xen_abi::errno::Errno;

/// Why a frontend operation failed. Every value a backend or the
/// hypervisor hands back is checked; a broken peer is an error, never a
/// panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A hypercall returned this negative errno (`xen/include/public/errno.h`).
    Hypercall(Errno),
    /// A guest frame could not be read or written.
    Memory(MemError),
    /// The XenStore answered with an error (`XS_ERROR`,
    /// `xen/include/public/io/xs_wire.h`).
    Store(XsError),
    /// The other end broke the protocol (a bad index, length, id or
    /// value); the text says what.
    Protocol(&'static str),
    /// The other end did not answer within the frontend's polling budget.
    Timeout,
    /// No free grant reference, ring slot or frame.
    NoSpace,
    /// The grant is still mapped or in use by the backend
    /// (`GTF_reading`/`GTF_writing`, `xen/include/public/grant_table.h`):
    /// revoking it is refused.
    GrantInUse,
    /// An argument the caller gave is out of range.
    InvalidArgument(&'static str),
    /// The device is not (or no longer) connected.
    NotConnected,
    /// The backend completed a block request with this `BLKIF_RSP_*`
    /// status (`xen/include/public/io/blkif.h`).
    Io(i16),
}

impl From<MemError> for Error {
    fn from(e: MemError) -> Self {
        Self::Memory(e)
    }
}

impl From<XsError> for Error {
    fn from(e: XsError) -> Self {
        Self::Store(e)
    }
}
