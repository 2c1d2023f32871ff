//! Xen's errno values (`errno.h`). They are numbered as Linux numbers them
//! on x86, and a failing hypercall returns the negated value as its C
//! `long` result in RAX.
//!
//! [`Errno`] is a newtype rather than an enum so that a frontend can hold
//! whatever negative value a hypercall returned, known or not.

use core::fmt;

/// A Xen errno value (positive; the hypercall result is its negation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub u16);

/// Declares the `Errno` associated constants and the name table together,
/// so that a constant without a name (or the reverse) cannot happen.
macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        impl Errno {
            $($(#[$doc])* pub const $name: Self = Self($value);)*
        }
        /// Every value of `errno.h` with its name, aliases excluded.
        const NAMES: &[(u16, &str)] = &[$(($value, stringify!($name)),)*];
    };
}

errnos! {
    /// Operation not permitted.
    EPERM = 1,
    /// No such file or directory.
    ENOENT = 2,
    /// No such process.
    ESRCH = 3,
    /// Interrupted system call.
    EINTR = 4,
    /// I/O error.
    EIO = 5,
    /// No such device or address.
    ENXIO = 6,
    /// Argument list too long.
    E2BIG = 7,
    /// Exec format error.
    ENOEXEC = 8,
    /// Bad file descriptor.
    EBADF = 9,
    /// No child processes.
    ECHILD = 10,
    /// Try again (also `EWOULDBLOCK`).
    EAGAIN = 11,
    /// Out of memory.
    ENOMEM = 12,
    /// Permission denied.
    EACCES = 13,
    /// Bad address: a pointer argument the guest's page tables do not map.
    EFAULT = 14,
    /// Device or resource busy.
    EBUSY = 16,
    /// Already exists.
    EEXIST = 17,
    /// Cross-device link.
    EXDEV = 18,
    /// No such device.
    ENODEV = 19,
    /// Not a directory.
    ENOTDIR = 20,
    /// Is a directory.
    EISDIR = 21,
    /// Invalid argument.
    EINVAL = 22,
    /// File table overflow.
    ENFILE = 23,
    /// Too many open files.
    EMFILE = 24,
    /// No space left.
    ENOSPC = 28,
    /// Read-only file system.
    EROFS = 30,
    /// Too many links.
    EMLINK = 31,
    /// Argument out of domain.
    EDOM = 33,
    /// Result out of range.
    ERANGE = 34,
    /// Resource deadlock would occur (also `EDEADLOCK`).
    EDEADLK = 35,
    /// Name too long.
    ENAMETOOLONG = 36,
    /// No locks available.
    ENOLCK = 37,
    /// Function not implemented: the answer to every unimplemented
    /// hypercall and sub-operation (a guest probes features by success).
    ENOSYS = 38,
    /// Directory not empty.
    ENOTEMPTY = 39,
    /// No data available.
    ENODATA = 61,
    /// Timer expired.
    ETIME = 62,
    /// Not a data message.
    EBADMSG = 74,
    /// Value too large for its type.
    EOVERFLOW = 75,
    /// Illegal byte sequence.
    EILSEQ = 84,
    /// Restart the call (internal to Xen; never seen by a guest).
    ERESTART = 85,
    /// Not a socket.
    ENOTSOCK = 88,
    /// Message too large.
    EMSGSIZE = 90,
    /// Operation not supported.
    EOPNOTSUPP = 95,
    /// Address already in use.
    EADDRINUSE = 98,
    /// Address not available.
    EADDRNOTAVAIL = 99,
    /// No buffer space available.
    ENOBUFS = 105,
    /// Already connected.
    EISCONN = 106,
    /// Not connected.
    ENOTCONN = 107,
    /// Timed out.
    ETIMEDOUT = 110,
    /// Connection refused.
    ECONNREFUSED = 111,
}

impl Errno {
    /// `EWOULDBLOCK`, an alias of [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Self = Self::EAGAIN;
    /// `EDEADLOCK`, an alias of [`Errno::EDEADLK`].
    pub const EDEADLOCK: Self = Self::EDEADLK;

    /// The positive errno value.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The hypercall result that reports this error: the negated value as
    /// a 64-bit `long`, as the guest reads it from RAX.
    pub const fn to_return_value(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// The error a hypercall result reports, if it is one: a negative
    /// `long` whose magnitude fits an errno. Zero and positive results
    /// (success, counts, versions) are not errors.
    pub const fn from_return_value(rax: u64) -> Option<Self> {
        let value = rax as i64;
        if value < 0 && value >= -(u16::MAX as i64) {
            Some(Self((-value) as u16))
        } else {
            None
        }
    }

    /// The name `errno.h` gives this value ("EINVAL"), if it has one.
    pub const fn name(self) -> Option<&'static str> {
        let mut i = 0;
        while i < NAMES.len() {
            if NAMES[i].0 == self.0 {
                return Some(NAMES[i].1);
            }
            i += 1;
        }
        None
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_return_as_negative_longs() {
        assert_eq!(Errno::EPERM.to_return_value(), u64::MAX);
        assert_eq!(Errno::ENOSYS.to_return_value(), (-38i64) as u64);
        assert_eq!(Errno::ENOSYS.to_return_value(), 0xFFFF_FFFF_FFFF_FFDA);
        assert_eq!(Errno::EOPNOTSUPP.to_return_value() as i64, -95);
    }

    #[test]
    fn return_values_decode_back() {
        for &(value, _) in NAMES {
            let e = Errno(value);
            assert_eq!(Errno::from_return_value(e.to_return_value()), Some(e));
        }
        assert_eq!(Errno::from_return_value(0), None);
        assert_eq!(Errno::from_return_value(0x0004_000A), None);
        assert_eq!(Errno::from_return_value(i64::MIN as u64), None);
        assert_eq!(
            Errno::from_return_value((-65535i64) as u64),
            Some(Errno(65535))
        );
        assert_eq!(Errno::from_return_value((-65536i64) as u64), None);
    }

    #[test]
    fn the_numbers_of_the_abi() {
        let expected = [
            (Errno::EPERM, 1),
            (Errno::ENOENT, 2),
            (Errno::EAGAIN, 11),
            (Errno::ENOMEM, 12),
            (Errno::EFAULT, 14),
            (Errno::EBUSY, 16),
            (Errno::EEXIST, 17),
            (Errno::ENODEV, 19),
            (Errno::EINVAL, 22),
            (Errno::ENOSPC, 28),
            (Errno::ENOSYS, 38),
            (Errno::EOPNOTSUPP, 95),
        ];
        for (errno, value) in expected {
            assert_eq!(errno.value(), value);
        }
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(Errno::EINVAL.name(), Some("EINVAL"));
        assert_eq!(Errno::EWOULDBLOCK.name(), Some("EAGAIN"));
        assert_eq!(Errno::EDEADLOCK.name(), Some("EDEADLK"));
        assert_eq!(Errno(15).name(), None);
        let mut values: [u16; NAMES.len()] = [0; NAMES.len()];
        for (slot, &(value, _)) in values.iter_mut().zip(NAMES) {
            *slot = value;
        }
        values.sort_unstable();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "a value twice");
    }

    #[test]
    fn display_uses_the_name() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Errno::ENOSYS.to_string(), "ENOSYS");
        assert_eq!(Errno(200).to_string(), "errno 200");
    }
}
