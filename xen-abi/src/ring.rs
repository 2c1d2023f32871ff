//! The generic shared request/response ring of the PV I/O protocols
//! (`io/ring.h`), blkif among them: a 64-byte header of indices, then an
//! array of entries, each the size of the larger of a request and a
//! response, over one or more granted pages.
//!
//! The frontend produces requests and consumes responses; the backend
//! consumes requests and produces responses into the same slots. Indices
//! are free-running `u32`s; slot `i` is `i & (size - 1)`.

/// A ring index (`RING_IDX`).
pub type RingIdx = u32;

/// Bytes before the first entry: the four indices and padding.
pub const SRING_HEADER_SIZE: usize = 64;

/// The value `req_event` and `rsp_event` start at (`SHARED_RING_INIT`):
/// the first request and the first response are notified.
pub const SRING_INITIAL_EVENT: RingIdx = 1;

/// The header of a shared ring page (the index part of `struct
/// <name>_sring`, `DEFINE_RING_TYPES`).
///
/// **Ordering.**
/// - Producing (either side): write the entries, store barrier, then
///   store `*_prod`; then a *full* barrier before reading the other side's
///   `*_event` to decide whether to notify ([`notify_needed`]).
/// - Consuming: read `*_prod`, load barrier, then the entries. A backend
///   copies each request out of the ring once and validates the copy:
///   the frontend can rewrite the slot at any time.
/// - Before sleeping (the "final check"): store `*_event = cons + 1`, full
///   barrier, read `*_prod` again and carry on if it moved. Without it a
///   request published between the last read and the store of `*_event`
///   is never notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SringHeader {
    /// Requests produced (written by the frontend).
    pub req_prod: RingIdx,
    /// The backend wants an event when `req_prod` passes this index
    /// (written by the backend).
    pub req_event: RingIdx,
    /// Responses produced (written by the backend).
    pub rsp_prod: RingIdx,
    /// The frontend wants an event when `rsp_prod` passes this index
    /// (written by the frontend).
    pub rsp_event: RingIdx,
    /// Protocol-private bytes (netif's smartpoll flag); zero for blkif.
    pub pvt: [u8; 4],
    /// Always zero.
    pub pad: [u8; 44],
}

layout!(SringHeader, size SRING_HEADER_SIZE,
    req_prod @ 0, req_event @ 4, rsp_prod @ 8, rsp_event @ 12, pvt @ 16,
    pad @ 20);

impl SringHeader {
    /// An empty ring as the frontend initialises it (`SHARED_RING_INIT`):
    /// indices 0, both event indices [`SRING_INITIAL_EVENT`].
    pub const INIT: Self = Self {
        req_prod: 0,
        req_event: SRING_INITIAL_EVENT,
        rsp_prod: 0,
        rsp_event: SRING_INITIAL_EVENT,
        pvt: [0; 4],
        pad: [0; 44],
    };
}

/// `x` rounded down to a power of two (`__RD32`); 0 stays 0.
pub const fn round_down_pow2(x: u32) -> u32 {
    if x == 0 {
        0
    } else {
        1 << (31 - x.leading_zeros())
    }
}

/// Entries in a ring of `area_bytes` (header included) with entries of
/// `entry_size` bytes (`__CONST_RING_SIZE`): as many as fit, rounded down
/// to a power of two. 0 if not even the header fits.
pub const fn ring_size(area_bytes: usize, entry_size: usize) -> u32 {
    if area_bytes < SRING_HEADER_SIZE {
        return 0;
    }
    let fit = (area_bytes - SRING_HEADER_SIZE) / entry_size;
    round_down_pow2(if fit > u32::MAX as usize {
        u32::MAX
    } else {
        fit as u32
    })
}

/// Byte offset, from the start of the ring, of the slot of free-running
/// index `idx` in a ring of `size` entries (a power of two) of
/// `entry_size` bytes.
pub const fn entry_offset(idx: RingIdx, size: u32, entry_size: usize) -> usize {
    SRING_HEADER_SIZE + (idx & (size - 1)) as usize * entry_size
}

/// Whether a producer that moved its index from `old_prod` to `new_prod`
/// must notify the consumer, whose event index is `event`: the consumer
/// asked to hear about index `event`, and it lies in `old_prod + 1 ..=
/// new_prod` (compared modulo 2^32, `RING_PUSH_*_AND_CHECK_NOTIFY`).
pub const fn notify_needed(new_prod: RingIdx, old_prod: RingIdx, event: RingIdx) -> bool {
    new_prod.wrapping_sub(event) < new_prod.wrapping_sub(old_prod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_round_down() {
        assert_eq!(round_down_pow2(0), 0);
        assert_eq!(round_down_pow2(1), 1);
        assert_eq!(round_down_pow2(2), 2);
        assert_eq!(round_down_pow2(3), 2);
        assert_eq!(round_down_pow2(36), 32);
        assert_eq!(round_down_pow2(64), 64);
        assert_eq!(round_down_pow2(u32::MAX), 1 << 31);
    }

    #[test]
    fn ring_sizes() {
        // blkif: (4096 - 64) / 112 = 36 entries fit, 32 are used.
        assert_eq!(ring_size(4096, 112), 32);
        assert_eq!(ring_size(2 * 4096, 112), 64);
        assert_eq!(ring_size(16 * 4096, 112), 512);
        // Entries of 64 bytes: 63 fit in a page, 32 used.
        assert_eq!(ring_size(4096, 64), 32);
        assert_eq!(ring_size(4096, 4032), 1);
        assert_eq!(ring_size(4096, 4033), 0);
        assert_eq!(ring_size(63, 1), 0);
        assert_eq!(ring_size(64, 1), 0);
    }

    #[test]
    fn entries_follow_the_header() {
        assert_eq!(entry_offset(0, 32, 112), 64);
        assert_eq!(entry_offset(31, 32, 112), 64 + 31 * 112);
        assert_eq!(entry_offset(32, 32, 112), 64);
        assert_eq!(entry_offset(u32::MAX, 32, 112), 64 + 31 * 112);
    }

    #[test]
    fn notification_hold_off() {
        // Initial state: the consumer waits for index 1.
        let init = SringHeader::INIT;
        assert!(notify_needed(1, init.req_prod, init.req_event));
        assert!(notify_needed(3, 0, 1));
        // The consumer asked for index 5; pushing 1..=4 needs no event.
        assert!(!notify_needed(4, 1, 5));
        assert!(notify_needed(5, 4, 5));
        // Already told about 5: pushing 6..=8 is silent.
        assert!(!notify_needed(8, 5, 5));
        // Nothing pushed.
        assert!(!notify_needed(7, 7, 7));
        // Across the wrap of the 32-bit index.
        assert!(notify_needed(2, u32::MAX - 1, 0));
        assert!(!notify_needed(2, u32::MAX - 1, 3));
    }
}
