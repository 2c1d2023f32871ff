//! Grant tables, version 1 (`grant_table.h`): the entries a guest writes to
//! let another domain access one of its pages, the `GTF_*` flag bits, the
//! reserved references, the argument structures of the `GNTTABOP_*`
//! sub-operations an HVM guest uses (numbers in [`crate::hypercall`]) and
//! the per-operation status codes.
//!
//! A v1 table is an array of 8-byte [`GrantEntryV1`] spread over grant
//! frames of 4 KiB; an HVM guest maps frame `i` at a GFN of its choice
//! with [`crate::hypercall::XENMEM_ADD_TO_PHYSMAP`] and
//! [`crate::memory::XENMAPSPACE_GRANT_TABLE`].

use crate::memory::DomId;

/// A grant reference: the index of an entry in the table (`grant_ref_t`).
pub type GrantRef = u32;

/// v1 entries per 4 KiB grant frame.
pub const GRANT_ENTRIES_V1_PER_FRAME: usize =
    crate::XEN_PAGE_SIZE / core::mem::size_of::<GrantEntryV1>();

/// References 0-7 are reserved for the toolstack
/// (`GNTTAB_NR_RESERVED_ENTRIES`); a guest allocates from 8 on, and a
/// backend must never be handed one of them.
pub const GNTTAB_NR_RESERVED_ENTRIES: GrantRef = 8;
/// Reserved reference of the console ring page.
pub const GNTTAB_RESERVED_CONSOLE: GrantRef = 0;
/// Reserved reference of the XenStore ring page.
pub const GNTTAB_RESERVED_XENSTORE: GrantRef = 1;

/// A v1 grant entry (`struct grant_entry_v1`).
///
/// **Ordering.** The granting guest writes `domid` and `frame`, then a
/// store barrier, then `flags`; a backend that reads `flags` as
/// [`GTF_PERMIT_ACCESS`] must read `domid` and `frame` only after it (load
/// barrier). Revoking is a compare-and-exchange of `flags` to 0 that fails
/// while [`GTF_READING`] or [`GTF_WRITING`] is set, so a backend sets
/// those (atomically, on the flags it checked) before it touches the page
/// and clears them when it is done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GrantEntryV1 {
    /// `GTF_*` bits: the type in bits 1:0, then the permission and
    /// in-use bits.
    pub flags: u16,
    /// The domain allowed to use the grant.
    pub domid: DomId,
    /// The granted page's frame number (a GFN for an HVM guest).
    pub frame: u32,
}

layout!(GrantEntryV1, size 8, flags @ 0, domid @ 2, frame @ 4);

impl GrantEntryV1 {
    /// The entry's type, `flags & GTF_TYPE_MASK`.
    pub const fn entry_type(&self) -> u16 {
        self.flags & GTF_TYPE_MASK
    }
}

// `GrantEntryV1::flags` (`GTF_*`). Bits 1:0 are the entry's type.

/// Type: not in use.
pub const GTF_INVALID: u16 = 0;
/// Type: `domid` may map or copy `frame`.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// Type: `domid` may transfer a page into `frame`.
pub const GTF_ACCEPT_TRANSFER: u16 = 2;
/// Type: access is granted through another domain's grant (v2).
pub const GTF_TRANSITIVE: u16 = 3;
/// The type field.
pub const GTF_TYPE_MASK: u16 = 3;
/// Bit 2: access is read-only; the grantee may not write the page.
pub const GTF_READONLY: u16 = 1 << 2;
/// Bit 3: the grantee is reading the page (set by the hypervisor).
pub const GTF_READING: u16 = 1 << 3;
/// Bit 4: the grantee is writing the page (set by the hypervisor).
pub const GTF_WRITING: u16 = 1 << 4;
/// Bit 5: map with PWT.
pub const GTF_PWT: u16 = 1 << 5;
/// Bit 6: map with PCD.
pub const GTF_PCD: u16 = 1 << 6;
/// Bit 7: map with PAT.
pub const GTF_PAT: u16 = 1 << 7;
/// Bit 8: only part of the page is granted (v2).
pub const GTF_SUB_PAGE: u16 = 1 << 8;
/// Transfer entries, bit 2: the transfer has started.
pub const GTF_TRANSFER_COMMITTED: u16 = 1 << 2;
/// Transfer entries, bit 3: the transfer is done.
pub const GTF_TRANSFER_COMPLETED: u16 = 1 << 3;

/// `GNTTABOP_query_size` (`struct gnttab_query_size`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GnttabQuerySize {
    /// The domain (`DOMID_SELF`).
    pub dom: DomId,
    /// Always zero.
    pub pad0: u16,
    /// Out: frames in use.
    pub nr_frames: u32,
    /// Out: the most frames the domain may have.
    pub max_nr_frames: u32,
    /// Out: a `GNTST_*` value.
    pub status: i16,
    /// Always zero.
    pub pad1: u16,
}

layout!(GnttabQuerySize, size 16,
    dom @ 0, pad0 @ 2, nr_frames @ 4, max_nr_frames @ 8, status @ 12, pad1 @ 14);

/// `GNTTABOP_setup_table` (`struct gnttab_setup_table`): grow the table to
/// `nr_frames` and, for a PV guest, list the frames' machine numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GnttabSetupTable {
    /// The domain (`DOMID_SELF`).
    pub dom: DomId,
    /// Always zero.
    pub pad0: u16,
    /// Frames wanted.
    pub nr_frames: u32,
    /// Out: a `GNTST_*` value.
    pub status: i16,
    /// Always zero.
    pub pad1: [u16; 3],
    /// Guest-virtual address of an array of `nr_frames` u64 frame numbers
    /// (out).
    pub frame_list: u64,
}

layout!(GnttabSetupTable, size 24,
    dom @ 0, pad0 @ 2, nr_frames @ 4, status @ 8, pad1 @ 10, frame_list @ 16);

/// `GNTTABOP_set_version` (`struct gnttab_set_version`): in, the version
/// wanted (1 or 2); out, the version in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GnttabSetVersion {
    /// The version.
    pub version: u32,
}

layout!(GnttabSetVersion, size 4, version @ 0);

/// `GNTTABOP_get_version` (`struct gnttab_get_version`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GnttabGetVersion {
    /// The domain (`DOMID_SELF`).
    pub dom: DomId,
    /// Always zero.
    pub pad: u16,
    /// Out: the version in force.
    pub version: u32,
}

layout!(GnttabGetVersion, size 8, dom @ 0, pad @ 2, version @ 4);

// Per-operation status codes (`GNTST_*`), in the `status` field of each
// argument structure; the hypercall itself returns 0 or a negative errno.

/// Success.
pub const GNTST_OKAY: i16 = 0;
/// Unspecified error.
pub const GNTST_GENERAL_ERROR: i16 = -1;
/// Unknown domain.
pub const GNTST_BAD_DOMAIN: i16 = -2;
/// Unknown or unusable grant reference.
pub const GNTST_BAD_GNTREF: i16 = -3;
/// Unknown or unusable map handle.
pub const GNTST_BAD_HANDLE: i16 = -4;
/// Unusable virtual address to map at.
pub const GNTST_BAD_VIRT_ADDR: i16 = -5;
/// Unusable device address to unmap.
pub const GNTST_BAD_DEV_ADDR: i16 = -6;
/// No room in the IOMMU.
pub const GNTST_NO_DEVICE_SPACE: i16 = -7;
/// Not allowed.
pub const GNTST_PERMISSION_DENIED: i16 = -8;
/// The page is not usable for this operation.
pub const GNTST_BAD_PAGE: i16 = -9;
/// A copy crosses a page boundary.
pub const GNTST_BAD_COPY_ARG: i16 = -10;
/// A transferred page's address is too large.
pub const GNTST_ADDRESS_TOO_BIG: i16 = -11;
/// Not done; try again.
pub const GNTST_EAGAIN: i16 = -12;
/// Out of space (handles and the like).
pub const GNTST_NO_SPACE: i16 = -13;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_holds_512_entries() {
        assert_eq!(GRANT_ENTRIES_V1_PER_FRAME, 512);
    }

    #[test]
    fn flag_bits() {
        let e = GrantEntryV1 {
            flags: GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING,
            domid: 0,
            frame: 0x1234,
        };
        assert_eq!(e.entry_type(), GTF_PERMIT_ACCESS);
        assert_eq!(e.flags, 0b1101);
        assert_eq!(GTF_WRITING, 0x10);
    }
}
