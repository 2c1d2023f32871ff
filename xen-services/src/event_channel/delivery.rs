//! Raising and unmasking a port on the 2-level ABI, as pure functions over
//! the byte image of the `shared_info` page (`struct shared_info` and
//! `struct vcpu_info` of `xen/include/public/xen.h`; offsets from
//! [`xen_abi::shared_info`]). The steps and their order are those of
//! `evtchn_2l_set_pending()` and `evtchn_2l_unmask()` in
//! `xen/common/event_2l.c` and `vcpu_mark_events_pending()` in
//! `xen/common/event_channel.c`.
//!
//! **Ordering.** On the live page the guest changes these words
//! concurrently, so the hypervisor must do each step below as one locked
//! read-modify-write on the mapped page, in this order, each visible before
//! the next (the `lock bts`/`btr` of Xen's `guest_test_and_set_bit()`):
//!
//! 1. raise: set the port's bit in `evtchn_pending` (already set: stop,
//!    the event is coalesced); then only if the port's bit in `evtchn_mask`
//!    is clear, set the word's bit in the vCPU's `evtchn_pending_sel`
//!    (already set: stop); then set `evtchn_upcall_pending` and inject the
//!    upcall only if it was clear. Setting `pending` before reading `mask`
//!    pairs with the guest's unmask, which clears `mask` before it reads
//!    `pending`: one of the two always sees the other's bit.
//! 2. unmask: clear the mask bit first; only if it was set, test the pending
//!    bit after it, then the selector and `upcall_pending` as above.
//!
//! Here, on a byte image owned by the caller, each step is a plain
//! little-endian read-modify-write; the order is kept so the code can be
//! turned into atomics on the real page one step at a time.

use core::mem::{offset_of, size_of};
use xen_abi::errno::Errno;
use xen_abi::event_channel::{port_bit, port_word, EvtchnPort, EVTCHN_2L_NR_CHANNELS};
use xen_abi::shared_info::{SharedInfo, VcpuInfo, XEN_LEGACY_MAX_VCPUS};

/// Bytes of the `shared_info` structure an image must hold.
pub const SHARED_INFO_LEN: usize = size_of::<SharedInfo>();

const PENDING: usize = offset_of!(SharedInfo, evtchn_pending);
const MASK: usize = offset_of!(SharedInfo, evtchn_mask);
const VCPU_INFO: usize = offset_of!(SharedInfo, vcpu_info);
const UPCALL_PENDING: usize = offset_of!(VcpuInfo, evtchn_upcall_pending);
const PENDING_SEL: usize = offset_of!(VcpuInfo, evtchn_pending_sel);

fn word(image: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&image[at..at + 8]);
    u64::from_le_bytes(b)
}

fn set_word(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// `test_and_set_bit` on the 64-bit word at `at`: the bit's old value.
fn test_and_set(image: &mut [u8], at: usize, bit: u32) -> bool {
    let w = word(image, at);
    set_word(image, at, w | 1 << bit);
    w & 1 << bit != 0
}

/// `test_and_clear_bit` on the 64-bit word at `at`: the bit's old value.
fn test_and_clear(image: &mut [u8], at: usize, bit: u32) -> bool {
    let w = word(image, at);
    set_word(image, at, w & !(1 << bit));
    w & 1 << bit != 0
}

fn test(image: &[u8], at: usize, bit: u32) -> bool {
    word(image, at) & 1 << bit != 0
}

/// Checks the image, the port and the vCPU; returns the byte offset of the
/// port's word within the bitmaps and of the vCPU's `vcpu_info`.
fn locate(image: &[u8], port: EvtchnPort, vcpu: u32) -> Result<(usize, usize), Errno> {
    if image.len() < SHARED_INFO_LEN {
        return Err(Errno::EFAULT);
    }
    // vCPUs past the legacy array have their vcpu_info elsewhere
    // (VCPUOP_register_vcpu_info); this function serves the shared page only.
    if port >= EVTCHN_2L_NR_CHANNELS || vcpu as usize >= XEN_LEGACY_MAX_VCPUS {
        return Err(Errno::EINVAL);
    }
    let vcpu_info = VCPU_INFO + vcpu as usize * size_of::<VcpuInfo>();
    Ok((port_word(port) * 8, vcpu_info))
}

/// `vcpu_mark_events_pending()`: sets `evtchn_upcall_pending`; whether it
/// was clear, i.e. whether the upcall must be injected now.
fn mark_events_pending(image: &mut [u8], vcpu_info: usize) -> bool {
    let at = vcpu_info + UPCALL_PENDING;
    let was = image[at] & 1 != 0;
    image[at] |= 1;
    !was
}

/// Raises `port` for `vcpu` (`evtchn_2l_set_pending()`): returns whether an
/// upcall must be injected into `vcpu` (false when the event was already
/// pending, is masked, or the vCPU already has an upcall pending).
/// `EFAULT` for an image shorter than `shared_info`, `EINVAL` for a port
/// past the 2-level range or a vCPU past the legacy `vcpu_info` array.
pub fn set_pending(image: &mut [u8], port: EvtchnPort, vcpu: u32) -> Result<bool, Errno> {
    let (w, vcpu_info) = locate(image, port, vcpu)?;
    let bit = port_bit(port);
    if test_and_set(image, PENDING + w, bit) {
        return Ok(false);
    }
    if test(image, MASK + w, bit) {
        return Ok(false);
    }
    if test_and_set(image, vcpu_info + PENDING_SEL, port_word(port) as u32) {
        return Ok(false);
    }
    Ok(mark_events_pending(image, vcpu_info))
}

/// `EVTCHNOP_unmask`'s bitmap work (`evtchn_2l_unmask()`): clears the
/// port's mask bit and, only if it was set and the port is pending, sets the
/// selector bit and `upcall_pending` of `vcpu` (the port's bound vCPU).
/// Returns whether an upcall must be injected. Errors as [`set_pending`].
pub fn unmask(image: &mut [u8], port: EvtchnPort, vcpu: u32) -> Result<bool, Errno> {
    let (w, vcpu_info) = locate(image, port, vcpu)?;
    let bit = port_bit(port);
    if !test_and_clear(image, MASK + w, bit) || !test(image, PENDING + w, bit) {
        return Ok(false);
    }
    if test_and_set(image, vcpu_info + PENDING_SEL, port_word(port) as u32) {
        return Ok(false);
    }
    Ok(mark_events_pending(image, vcpu_info))
}

/// Clears `port`'s pending bit (`evtchn_2l_clear_pending()`, a locked
/// `btr` on the live page): `evtchn_free()` does it when a port is closed,
/// so that a re-bound port does not start with a stale event. Errors as
/// [`set_pending`] (the vCPU is not involved).
pub fn clear_pending(image: &mut [u8], port: EvtchnPort) -> Result<(), Errno> {
    let (w, _) = locate(image, port, 0)?;
    test_and_clear(image, PENDING + w, port_bit(port));
    Ok(())
}

/// Whether `port`'s pending bit is set in the image (false for an image too
/// short or a port out of range).
pub fn is_pending(image: &[u8], port: EvtchnPort) -> bool {
    image.len() >= SHARED_INFO_LEN
        && port < EVTCHN_2L_NR_CHANNELS
        && test(image, PENDING + port_word(port) * 8, port_bit(port))
}

/// Whether `port`'s mask bit is set in the image (false as [`is_pending`]).
pub fn is_masked(image: &[u8], port: EvtchnPort) -> bool {
    image.len() >= SHARED_INFO_LEN
        && port < EVTCHN_2L_NR_CHANNELS
        && test(image, MASK + port_word(port) * 8, port_bit(port))
}

/// `vcpu`'s `evtchn_pending_sel` and `evtchn_upcall_pending` (zero for a
/// vCPU past the legacy array or a short image).
pub fn vcpu_pending(image: &[u8], vcpu: u32) -> (u64, u8) {
    if image.len() < SHARED_INFO_LEN || vcpu as usize >= XEN_LEGACY_MAX_VCPUS {
        return (0, 0);
    }
    let at = VCPU_INFO + vcpu as usize * size_of::<VcpuInfo>();
    (word(image, at + PENDING_SEL), image[at + UPCALL_PENDING])
}
