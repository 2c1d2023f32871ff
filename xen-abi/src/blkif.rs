//! The block-device protocol's ring entries (`io/blkif.h`), x86-64
//! layout, for the shared ring of [`crate::ring`].
//!
//! Every sector number and segment bound is in 512-byte units, whatever
//! the disk's `sector-size` in XenStore says.

use crate::grant_table::GrantRef;
use crate::ring;

/// A virtual device number (`blkif_vdev_t`).
pub type BlkifVdev = u16;
/// A sector number in 512-byte units (`blkif_sector_t`).
pub type BlkifSector = u64;

/// The unit of sector numbers and segment bounds.
pub const BLKIF_SECTOR_SIZE: usize = 512;

/// The frontend's `protocol` node for the native x86-64 ring layout
/// (`XEN_IO_PROTO_ABI_X86_64`, `io/protocols.h`), the one these entries
/// have.
pub const XEN_IO_PROTO_ABI_X86_64: &str = "x86_64-abi";

// Request operations (`BLKIF_OP_*`).

/// Read into the segments.
pub const BLKIF_OP_READ: u8 = 0;
/// Write from the segments.
pub const BLKIF_OP_WRITE: u8 = 1;
/// A write that completes after every earlier write and before any later
/// one (with `feature-barrier`).
pub const BLKIF_OP_WRITE_BARRIER: u8 = 2;
/// Flush the device's volatile cache (with `feature-flush-cache`);
/// usually without segments.
pub const BLKIF_OP_FLUSH_DISKCACHE: u8 = 3;
/// Reserved (a SLES device-specific command).
pub const BLKIF_OP_RESERVED_1: u8 = 4;
/// Discard a range ([`BlkifRequestDiscard`], with `feature-discard`).
pub const BLKIF_OP_DISCARD: u8 = 5;
/// A read or write with segments in separate pages
/// ([`BlkifRequestIndirect`], with `feature-max-indirect-segments`).
pub const BLKIF_OP_INDIRECT: u8 = 6;

/// Segments a direct request carries.
pub const BLKIF_MAX_SEGMENTS_PER_REQUEST: usize = 11;
/// Pages of segments an indirect request may reference.
pub const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST: usize = 8;
/// Segments in one indirect page: a page of [`BlkifRequestSegment`].
pub const BLKIF_SEGMENTS_PER_INDIRECT_PAGE: usize =
    crate::XEN_PAGE_SIZE / core::mem::size_of::<BlkifRequestSegment>();

/// [`BlkifRequestDiscard::flag`] bit 0: the discarded data must become
/// unrecoverable (with `discard-secure`).
pub const BLKIF_DISCARD_SECURE: u8 = 1 << 0;

// Response status (`BLKIF_RSP_*`).

/// Done.
pub const BLKIF_RSP_OKAY: i16 = 0;
/// Failed (an I/O error).
pub const BLKIF_RSP_ERROR: i16 = -1;
/// Not supported (a barrier the device cannot honour).
pub const BLKIF_RSP_EOPNOTSUPP: i16 = -2;

// The XenStore `info` node of a disk (`VDISK_*`).

/// The device is a CD-ROM.
pub const VDISK_CDROM: u32 = 0x1;
/// The medium is removable.
pub const VDISK_REMOVABLE: u32 = 0x2;
/// The device is read-only.
pub const VDISK_READONLY: u32 = 0x4;

/// One granted page of a transfer (`struct blkif_request_segment`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlkifRequestSegment {
    /// The grant of the data page.
    pub gref: GrantRef,
    /// First 512-byte sector of the page to transfer (inclusive).
    pub first_sect: u8,
    /// Last 512-byte sector of the page to transfer (inclusive, at most
    /// 7).
    pub last_sect: u8,
    /// Always zero.
    pub pad: [u8; 2],
}

layout!(BlkifRequestSegment, size 8, gref @ 0, first_sect @ 4, last_sect @ 5, pad @ 6);

/// A read, write, barrier or flush (`struct blkif_request`). The
/// segments are contiguous on disk from `sector_number` on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlkifRequest {
    /// A `BLKIF_OP_*` value.
    pub operation: u8,
    /// Segments used, at most [`BLKIF_MAX_SEGMENTS_PER_REQUEST`].
    pub nr_segments: u8,
    /// The virtual device.
    pub handle: BlkifVdev,
    /// Always zero.
    pub pad0: u32,
    /// The frontend's tag, echoed in the response.
    pub id: u64,
    /// First sector, 512-byte units.
    pub sector_number: BlkifSector,
    /// The data pages.
    pub seg: [BlkifRequestSegment; BLKIF_MAX_SEGMENTS_PER_REQUEST],
}

layout!(BlkifRequest, size 112,
    operation @ 0, nr_segments @ 1, handle @ 2, pad0 @ 4, id @ 8,
    sector_number @ 16, seg @ 24);

/// A discard (`struct blkif_request_discard`), in a request slot whose
/// `operation` is [`BLKIF_OP_DISCARD`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlkifRequestDiscard {
    /// [`BLKIF_OP_DISCARD`].
    pub operation: u8,
    /// [`BLKIF_DISCARD_SECURE`] or 0.
    pub flag: u8,
    /// The virtual device.
    pub handle: BlkifVdev,
    /// Always zero.
    pub pad0: u32,
    /// The frontend's tag.
    pub id: u64,
    /// First sector.
    pub sector_number: BlkifSector,
    /// Sectors to discard.
    pub nr_sectors: u64,
}

layout!(BlkifRequestDiscard, size 32,
    operation @ 0, flag @ 1, handle @ 2, pad0 @ 4, id @ 8, sector_number @ 16,
    nr_sectors @ 24);

/// A read or write whose segments are listed in separate granted pages
/// (`struct blkif_request_indirect`, x86-64: no trailing pad), in a
/// request slot whose `operation` is [`BLKIF_OP_INDIRECT`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlkifRequestIndirect {
    /// [`BLKIF_OP_INDIRECT`].
    pub operation: u8,
    /// The real operation, [`BLKIF_OP_READ`] or [`BLKIF_OP_WRITE`]; the
    /// response echoes this one.
    pub indirect_op: u8,
    /// Segments in all indirect pages.
    pub nr_segments: u16,
    /// Always zero.
    pub pad0: u32,
    /// The frontend's tag.
    pub id: u64,
    /// First sector.
    pub sector_number: BlkifSector,
    /// The virtual device (note: after the sector here).
    pub handle: BlkifVdev,
    /// Always zero.
    pub pad1: u16,
    /// Grants of the pages of segments, `ceil(nr_segments /
    /// BLKIF_SEGMENTS_PER_INDIRECT_PAGE)` of them used.
    pub indirect_grefs: [GrantRef; BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST],
    /// Always zero (pads to the structure's 8-byte alignment).
    pub pad2: u32,
}

layout!(BlkifRequestIndirect, size 64,
    operation @ 0, indirect_op @ 1, nr_segments @ 2, pad0 @ 4, id @ 8,
    sector_number @ 16, handle @ 24, pad1 @ 26, indirect_grefs @ 28, pad2 @ 60);

/// A completion (`struct blkif_response`). `operation` must be the
/// request's (for an indirect request, its `indirect_op`), and `id` one
/// the frontend has outstanding: Linux disables the disk otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlkifResponse {
    /// The request's `id`.
    pub id: u64,
    /// The request's operation.
    pub operation: u8,
    /// Always zero.
    pub pad0: u8,
    /// A `BLKIF_RSP_*` value.
    pub status: i16,
    /// Always zero.
    pub pad1: u32,
}

layout!(BlkifResponse, size 16, id @ 0, operation @ 8, pad0 @ 9, status @ 10, pad1 @ 12);

/// Bytes per ring slot: a slot holds a request or its response, whichever
/// kind is larger (`union blkif_sring_entry`).
pub const BLKIF_RING_ENTRY_SIZE: usize = {
    let req = core::mem::size_of::<BlkifRequest>();
    let rsp = core::mem::size_of::<BlkifResponse>();
    if req > rsp {
        req
    } else {
        rsp
    }
};

const _: () = {
    assert!(BLKIF_RING_ENTRY_SIZE == 112);
    assert!(core::mem::size_of::<BlkifRequestDiscard>() <= BLKIF_RING_ENTRY_SIZE);
    assert!(core::mem::size_of::<BlkifRequestIndirect>() <= BLKIF_RING_ENTRY_SIZE);
    assert!(BLKIF_SEGMENTS_PER_INDIRECT_PAGE == 512);
    assert!(BLKIF_RING_SIZE_ONE_PAGE == 32);
};

/// Slots in a blkif ring of 2^`order` pages (`ring-page-order` in
/// XenStore; 0 for the single page every frontend supports).
pub const fn blkif_ring_size(order: u32) -> u32 {
    ring::ring_size(crate::XEN_PAGE_SIZE << order, BLKIF_RING_ENTRY_SIZE)
}

/// Slots in a one-page blkif ring (`__CONST_RING_SIZE(blkif, 4096)`):
/// 36 fit after the header, 32 are used.
pub const BLKIF_RING_SIZE_ONE_PAGE: u32 = blkif_ring_size(0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_slots_by_page_order() {
        assert_eq!(blkif_ring_size(0), 32);
        assert_eq!(blkif_ring_size(1), 64);
        assert_eq!(blkif_ring_size(2), 128);
        assert_eq!(blkif_ring_size(4), 512);
    }

    #[test]
    fn the_last_slot_ends_inside_the_page() {
        let end = ring::entry_offset(31, BLKIF_RING_SIZE_ONE_PAGE, BLKIF_RING_ENTRY_SIZE)
            + BLKIF_RING_ENTRY_SIZE;
        assert_eq!(end, 64 + 32 * 112);
        assert!(end <= 4096);
    }

    #[test]
    fn a_full_segment_covers_the_page() {
        let seg = BlkifRequestSegment {
            gref: 8,
            first_sect: 0,
            last_sect: 7,
            pad: [0; 2],
        };
        let bytes =
            (usize::from(seg.last_sect) - usize::from(seg.first_sect) + 1) * BLKIF_SECTOR_SIZE;
        assert_eq!(bytes, crate::XEN_PAGE_SIZE);
    }
}
