//! Request and response slots of the blkif ring (`xen/include/public/io/blkif.h`):
//! `blkif_request` with up to 11 direct segments, `blkif_request_indirect`
//! whose segments are listed in separately granted pages (512 per page),
//! and `blkif_response`.

use crate::bytes::{get_u64, put_u16, put_u32, put_u64};
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use xen_abi::blkif::{
    BlkifRequest, BlkifRequestIndirect, BlkifRequestSegment, BlkifResponse, BlkifVdev,
    BLKIF_OP_INDIRECT, BLKIF_RING_ENTRY_SIZE,
};
use xen_abi::grant_table::GrantRef;

/// A response as read from its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The request's id.
    pub id: u64,
    /// The request's operation.
    pub operation: u8,
    /// A `BLKIF_RSP_*` value.
    pub status: i16,
}

/// Decodes a response slot.
pub fn response(b: &[u8]) -> Response {
    Response {
        id: get_u64(b, offset_of!(BlkifResponse, id)),
        operation: b
            .get(offset_of!(BlkifResponse, operation))
            .copied()
            .unwrap_or(0),
        status: crate::bytes::get_u16(b, offset_of!(BlkifResponse, status)) as i16,
    }
}

/// The 8 bytes of a segment (`struct blkif_request_segment`).
pub fn segment_bytes(s: &BlkifRequestSegment) -> [u8; 8] {
    let mut b = [0u8; size_of::<BlkifRequestSegment>()];
    put_u32(&mut b, offset_of!(BlkifRequestSegment, gref), s.gref);
    b[offset_of!(BlkifRequestSegment, first_sect)] = s.first_sect;
    b[offset_of!(BlkifRequestSegment, last_sect)] = s.last_sect;
    b
}

/// A direct request's slot.
pub fn direct(
    operation: u8,
    handle: BlkifVdev,
    id: u64,
    sector: u64,
    segs: &[BlkifRequestSegment],
) -> Vec<u8> {
    let mut b = alloc::vec![0u8; BLKIF_RING_ENTRY_SIZE];
    b[offset_of!(BlkifRequest, operation)] = operation;
    b[offset_of!(BlkifRequest, nr_segments)] = segs.len() as u8;
    put_u16(&mut b, offset_of!(BlkifRequest, handle), handle);
    put_u64(&mut b, offset_of!(BlkifRequest, id), id);
    put_u64(&mut b, offset_of!(BlkifRequest, sector_number), sector);
    for (i, s) in segs.iter().enumerate() {
        let at = offset_of!(BlkifRequest, seg) + i * size_of::<BlkifRequestSegment>();
        b[at..at + 8].copy_from_slice(&segment_bytes(s));
    }
    b
}

/// An indirect request's slot (its segments live in the pages `pages`).
pub fn indirect(
    indirect_op: u8,
    handle: BlkifVdev,
    id: u64,
    sector: u64,
    nr_segments: u16,
    pages: &[GrantRef],
) -> Vec<u8> {
    let mut b = alloc::vec![0u8; BLKIF_RING_ENTRY_SIZE];
    b[offset_of!(BlkifRequestIndirect, operation)] = BLKIF_OP_INDIRECT;
    b[offset_of!(BlkifRequestIndirect, indirect_op)] = indirect_op;
    put_u16(
        &mut b,
        offset_of!(BlkifRequestIndirect, nr_segments),
        nr_segments,
    );
    put_u64(&mut b, offset_of!(BlkifRequestIndirect, id), id);
    put_u64(
        &mut b,
        offset_of!(BlkifRequestIndirect, sector_number),
        sector,
    );
    put_u16(&mut b, offset_of!(BlkifRequestIndirect, handle), handle);
    for (i, g) in pages.iter().enumerate() {
        put_u32(
            &mut b,
            offset_of!(BlkifRequestIndirect, indirect_grefs) + i * 4,
            *g,
        );
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::blkif::BLKIF_OP_READ;

    #[test]
    fn slots_have_the_abi_layout() {
        let seg = BlkifRequestSegment {
            gref: 9,
            first_sect: 1,
            last_sect: 7,
            pad: [0; 2],
        };
        let b = direct(BLKIF_OP_READ, 51712, 0x1122, 77, &[seg]);
        assert_eq!((b[0], b[1]), (0, 1));
        assert_eq!(&b[2..4], &51712u16.to_le_bytes());
        assert_eq!(&b[8..16], &0x1122u64.to_le_bytes());
        assert_eq!(&b[16..24], &77u64.to_le_bytes());
        assert_eq!(&b[24..32], &[9, 0, 0, 0, 1, 7, 0, 0]);
        let b = indirect(BLKIF_OP_READ, 51712, 5, 6, 600, &[10, 11]);
        assert_eq!((b[0], b[1]), (BLKIF_OP_INDIRECT, BLKIF_OP_READ));
        assert_eq!(&b[2..4], &600u16.to_le_bytes());
        assert_eq!(&b[24..26], &51712u16.to_le_bytes());
        assert_eq!(&b[28..36], &[10, 0, 0, 0, 11, 0, 0, 0]);
        let mut r = [0u8; 16];
        r[0] = 5;
        r[8] = 1;
        r[10..12].copy_from_slice(&(-1i16).to_le_bytes());
        assert_eq!(
            response(&r),
            Response {
                id: 5,
                operation: 1,
                status: -1
            }
        );
    }
}
