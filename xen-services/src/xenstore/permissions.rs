//! Xen's XenStore permission model (`docs/misc/xenstore.txt`, "Permissions").
//!
//! A node's permissions are a list: the first entry names the node's owner
//! and the access every domain not listed later gets; each further entry
//! gives one domain its own access. On the wire each entry is a
//! NUL-terminated string of one letter (`n` none, `r` read, `w` write,
//! `b` both) followed by the domid in decimal, e.g. `n0`, `r1`.
//!
//! The owner may do anything with its node, including SET_PERMS; domain 0
//! (the hypervisor's backends) may do anything anywhere.

use alloc::vec::Vec;
use core::fmt::Write as _;

use xen_abi::errno::Errno;

use super::{XsResult, DOM0};

/// One entry's access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `n`: neither read nor write.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The wire letter.
    pub const fn letter(self) -> u8 {
        match self {
            Access::None => b'n',
            Access::Read => b'r',
            Access::Write => b'w',
            Access::Both => b'b',
        }
    }

    /// The access a wire letter names.
    pub const fn from_letter(letter: u8) -> Option<Self> {
        match letter {
            b'n' => Some(Access::None),
            b'r' => Some(Access::Read),
            b'w' => Some(Access::Write),
            b'b' => Some(Access::Both),
            _ => None,
        }
    }

    /// Does this access include `want` (which is `Read` or `Write`)?
    pub const fn allows(self, want: Access) -> bool {
        matches!(
            (self, want),
            (Access::Both, _)
                | (Access::Read, Access::Read)
                | (Access::Write, Access::Write)
                | (_, Access::None)
        )
    }
}

/// One entry of a permission list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// The domain the entry is about (the owner for the first entry).
    pub domid: u16,
    /// What it may do.
    pub access: Access,
}

/// A node's permission list; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perms(Vec<Perm>);

impl Perms {
    /// A list with only the owner entry: `owner`, and `others` for everyone
    /// else.
    pub fn owned_by(owner: u16, others: Access) -> Self {
        Self(alloc::vec![Perm {
            domid: owner,
            access: others,
        }])
    }

    /// A list from entries; `None` if `entries` is empty.
    pub fn new(entries: Vec<Perm>) -> Option<Self> {
        (!entries.is_empty()).then_some(Self(entries))
    }

    /// The entries, owner first.
    pub fn entries(&self) -> &[Perm] {
        &self.0
    }

    /// The owning domain.
    pub fn owner(&self) -> u16 {
        self.0[0].domid
    }

    /// The same list with another owner (the default access kept).
    pub fn with_owner(&self, owner: u16) -> Self {
        let mut p = self.clone();
        p.0[0].domid = owner;
        p
    }

    /// The access `domid` has under this list, as xenstored's
    /// `perm_for_conn`: domain 0 and the owner have both; a listed domain
    /// has its entry's access (the first matching one); anyone else the
    /// owner entry's.
    pub fn access_for(&self, domid: u16) -> Access {
        if domid == DOM0 || domid == self.owner() {
            return Access::Both;
        }
        self.0[1..]
            .iter()
            .find(|p| p.domid == domid)
            .map_or(self.0[0].access, |p| p.access)
    }

    /// `Ok` if `domid` may access a node with these permissions as `want`,
    /// else `EACCES`.
    pub fn check(&self, domid: u16, want: Access) -> XsResult<()> {
        if self.access_for(domid).allows(want) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Parses the strings of a SET_PERMS payload (each entry without its
    /// NUL): `EINVAL` for an empty list, a bad letter or domid.
    pub fn parse<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> XsResult<Self> {
        let mut entries = Vec::new();
        for s in strings {
            let (&letter, digits) = s.split_first().ok_or(Errno::EINVAL)?;
            let access = Access::from_letter(letter).ok_or(Errno::EINVAL)?;
            let domid = parse_domid(digits).ok_or(Errno::EINVAL)?;
            entries.push(Perm { domid, access });
        }
        Self::new(entries).ok_or(Errno::EINVAL)
    }

    /// The GET_PERMS reply: every entry as text followed by a NUL.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.0 {
            out.push(p.access.letter());
            let mut digits = alloc::string::String::new();
            let _ = write!(digits, "{}", p.domid);
            out.extend_from_slice(digits.as_bytes());
            out.push(0);
        }
        out
    }
}

/// A domid in decimal: 1 to 5 digits, at most 65535.
pub fn parse_domid(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_listed_and_default_access() {
        let p = Perms::parse([&b"n1"[..], b"r2", b"w3"]).unwrap();
        assert_eq!(p.owner(), 1);
        assert_eq!(p.access_for(0), Access::Both);
        assert_eq!(p.access_for(1), Access::Both);
        assert_eq!(p.access_for(2), Access::Read);
        assert_eq!(p.access_for(3), Access::Write);
        assert_eq!(p.access_for(4), Access::None);
        assert_eq!(p.check(2, Access::Write), Err(Errno::EACCES));
        assert_eq!(p.check(3, Access::Write), Ok(()));
        assert_eq!(p.to_wire(), b"n1\0r2\0w3\0");
    }

    #[test]
    fn bad_entries_are_einval() {
        for bad in [&b""[..], b"x1", b"r", b"r-1", b"r65536", b"r1a", b"r123456"] {
            assert_eq!(Perms::parse([bad]), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(Perms::parse(core::iter::empty()), Err(Errno::EINVAL));
        assert_eq!(Perms::parse([&b"b65535"[..]]).unwrap().owner(), 65535);
    }
}
