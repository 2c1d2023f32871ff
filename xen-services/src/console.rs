//! The PV console backend (hvc0): the `xencons_interface` ring of
//! `xen/include/public/io/console.h`, both directions, as functions over
//! the bytes of the ring page (offsets from [`XenconsInterface`]; indices
//! little-endian `u32`s, free-running, masked by each ring's size).
//!
//! - `out[]` (2048 bytes) carries the guest's output: the guest produces
//!   (`out_prod`), the backend consumes ([`drain_output`], `out_cons`).
//! - `in[]` (1024 bytes) carries keyboard input to the guest: the backend
//!   produces ([`push_input`], `in_prod`), the guest consumes (`in_cons`).
//!
//! Either function's caller raises the console event channel when it
//! returns a non-zero count (the guest may be waiting for room in `out[]`,
//! or for input).
//!
//! **Hostile guests.** The guest owns `out_prod` and `in_cons` and may
//! write anything there. Neither function panics, reads or writes outside
//! the page, or moves more than one ring's worth of bytes per call; when an
//! index pair claims more than a ring holds, the pair is garbage and
//! nothing moves (a short page likewise moves nothing).
//!
//! **Ordering.** The guest writes the page only while this code is not
//! running, so plain reads and writes suffice; comments marked "barrier"
//! show where the ABI (`io/console.h`, in the order `io/ring.h` gives for
//! PV rings) puts one on a ring served concurrently.

use core::mem::{offset_of, size_of};

use xen_abi::console::{
    mask_xencons_in_idx, mask_xencons_out_idx, XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE,
};

#[cfg(test)]
mod tests;

/// Bytes of the page the rings occupy (`struct xencons_interface`).
pub const XENCONS_PAGE_LEN: usize = size_of::<XenconsInterface>();

const IN: usize = offset_of!(XenconsInterface, in_);
const OUT: usize = offset_of!(XenconsInterface, out);
const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);

fn get_u32(page: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&page[at..at + 4]);
    u32::from_le_bytes(b)
}

fn put_u32(page: &mut [u8], at: usize, value: u32) {
    page[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Consumes the guest's output: hands every byte waiting in `out[]` to
/// `out`, in order, and advances `out_cons`. Returns how many bytes were
/// consumed: at most [`XENCONS_OUT_SIZE`], and 0 when the indices are
/// garbage (`out_prod - out_cons` above the ring's size) or the page is
/// shorter than [`XENCONS_PAGE_LEN`].
pub fn drain_output(page: &mut [u8], out: &mut dyn FnMut(u8)) -> usize {
    if page.len() < XENCONS_PAGE_LEN {
        return 0;
    }
    let cons = get_u32(page, OUT_CONS);
    let prod = get_u32(page, OUT_PROD);
    // Barrier (a load barrier, `xen_rmb()`): out_prod is read before the
    // bytes it publishes.
    let avail = prod.wrapping_sub(cons) as usize;
    if avail > XENCONS_OUT_SIZE {
        return 0;
    }
    for i in 0..avail {
        out(page[OUT + mask_xencons_out_idx(cons.wrapping_add(i as u32))]);
    }
    if avail > 0 {
        // Barrier (a full barrier, `xen_mb()`): the bytes are read before
        // out_cons gives their space back to the guest.
        put_u32(page, OUT_CONS, cons.wrapping_add(avail as u32));
    }
    avail
}

/// Writes as much of `bytes` as fits into `in[]` and advances `in_prod`.
/// Returns how many bytes were written: at most [`XENCONS_IN_SIZE`], and 0
/// when the indices are garbage (`in_prod - in_cons` above the ring's
/// size) or the page is shorter than [`XENCONS_PAGE_LEN`].
pub fn push_input(page: &mut [u8], bytes: &[u8]) -> usize {
    if page.len() < XENCONS_PAGE_LEN {
        return 0;
    }
    let cons = get_u32(page, IN_CONS);
    let prod = get_u32(page, IN_PROD);
    // Barrier (a full barrier, `xen_mb()`): in_cons is read before the
    // space it frees is written, so the guest's reads of it are done.
    let used = prod.wrapping_sub(cons) as usize;
    if used > XENCONS_IN_SIZE {
        return 0;
    }
    let n = (XENCONS_IN_SIZE - used).min(bytes.len());
    for (i, &b) in bytes[..n].iter().enumerate() {
        page[IN + mask_xencons_in_idx(prod.wrapping_add(i as u32))] = b;
    }
    if n > 0 {
        // Barrier (a store barrier, `xen_wmb()`): the bytes are written
        // before in_prod publishes them.
        put_u32(page, IN_PROD, prod.wrapping_add(n as u32));
    }
    n
}
