//! What the hypercall dispatcher needs of the guest, and decoding of the
//! argument structures it reads from guest memory.
//!
//! Pointer arguments of a hypercall are guest-*linear* addresses, read
//! through the guest's current page tables (Xen's `copy_from_guest()`;
//! `xen/include/public/xen.h`, "hypercall arguments"); a failed translation
//! or an address no RAM backs is `-EFAULT`. Only fields named
//! gfn/gpfn/mfn are guest-physical frames.

use alloc::vec;
use alloc::vec::Vec;
use xen_abi::errno::Errno;

/// The guest as the dispatcher sees it. The hypervisor implements it over
/// the vCPU's registers and the domain's memory; tests over a byte vector.
pub trait GuestAccess {
    /// Copies `buf.len()` bytes from guest-linear `addr` (through the
    /// guest's page tables): `EFAULT` if any byte is not readable.
    fn read_linear(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Copies `data` to guest-linear `addr`: `EFAULT` if any byte is not
    /// writable RAM.
    fn write_linear(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// Reads guest RAM at guest-physical `gpa`: `EFAULT` outside RAM.
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Writes guest RAM at guest-physical `gpa`: `EFAULT` outside RAM.
    fn write_phys(&mut self, gpa: u64, data: &[u8]) -> Result<(), Errno>;
    /// Maps the hypervisor's page at host address `host_page` at guest
    /// frame `gfn`, replacing what was there (Xen's
    /// `guest_physmap_add_page()`): `EINVAL` for a frame the domain may not
    /// place pages at.
    fn map_page(&mut self, gfn: u64, host_page: u64) -> Result<(), Errno>;
    /// Puts back what `gfn` held before a [`Self::map_page`] (its RAM, or
    /// nothing).
    fn unmap_page(&mut self, gfn: u64);
    /// The guest's TSC now (after the backend's offset).
    fn guest_tsc(&self) -> u64;
    /// Output of the guest's PV console (hvc0) for the terminal.
    fn console_output(&mut self, bytes: &[u8]);
    /// Text the guest wrote with `CONSOLEIO_write`, for the hypervisor log.
    fn log_output(&mut self, bytes: &[u8]);
}

/// Reads a `len`-byte argument structure at guest-linear `addr`.
pub(super) fn read_arg(g: &mut dyn GuestAccess, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut b = vec![0u8; len];
    g.read_linear(addr, &mut b)?;
    Ok(b)
}

/// Little-endian field readers over an argument structure's bytes; the
/// offsets come from `offset_of!` on the `xen-abi` layouts, so a short
/// buffer is a bug of ours, answered with 0 rather than a panic.
pub(super) fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Writes `value` little-endian at `at` (ignored past the end, see above).
pub(crate) fn put(b: &mut [u8], at: usize, value: &[u8]) {
    if let Some(s) = b.get_mut(at..at + value.len()) {
        s.copy_from_slice(value);
    }
}
