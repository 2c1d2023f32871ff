//! The PV console ring page (`io/console.h`), found through
//! [`crate::hvm::HVM_PARAM_CONSOLE_PFN`] and
//! [`crate::hvm::HVM_PARAM_CONSOLE_EVTCHN`] (hvc0 in Linux).

/// Bytes in the input ring (backend to guest).
pub const XENCONS_IN_SIZE: usize = 1024;
/// Bytes in the output ring (guest to backend).
pub const XENCONS_OUT_SIZE: usize = 2048;

/// The input-ring offset of a free-running index.
pub const fn mask_xencons_in_idx(idx: u32) -> usize {
    idx as usize & (XENCONS_IN_SIZE - 1)
}

/// The output-ring offset of a free-running index.
pub const fn mask_xencons_out_idx(idx: u32) -> usize {
    idx as usize & (XENCONS_OUT_SIZE - 1)
}

/// [`XenconsInterface::connection`]: the backend services the rings.
pub const XENCONSOLE_CONNECTED: u8 = 0;
/// Not serviced yet (a backend may start the page this way).
pub const XENCONSOLE_DISCONNECTED: u8 = 1;

/// The console ring page (`struct xencons_interface`).
///
/// Indices are free-running `u32`s, masked by each ring's size.
///
/// **Ordering** is that of the XenStore rings
/// ([`crate::xenstore::XenstoreDomainInterface`]): bytes, store barrier,
/// producer index, event; consumer reads the producer index, load
/// barrier, the bytes, and advances its consumer index only after
/// reading them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct XenconsInterface {
    /// Input to the guest (`in` in C).
    pub in_: [u8; XENCONS_IN_SIZE],
    /// Output from the guest.
    pub out: [u8; XENCONS_OUT_SIZE],
    /// Written by the guest.
    pub in_cons: u32,
    /// Written by the backend.
    pub in_prod: u32,
    /// Written by the backend.
    pub out_cons: u32,
    /// Written by the guest.
    pub out_prod: u32,
    /// `XENCONSOLE_CONNECTED` or `XENCONSOLE_DISCONNECTED`, written by
    /// the backend.
    pub connection: u8,
    /// Always zero.
    pub pad: [u8; 3],
}

layout!(XenconsInterface, size 3092,
    in_ @ 0, out @ 1024, in_cons @ 3072, in_prod @ 3076, out_cons @ 3080,
    out_prod @ 3084, connection @ 3088, pad @ 3089);

impl XenconsInterface {
    /// An all-zero page: empty rings, connected.
    pub const ZERO: Self = Self {
        in_: [0; XENCONS_IN_SIZE],
        out: [0; XENCONS_OUT_SIZE],
        in_cons: 0,
        in_prod: 0,
        out_cons: 0,
        out_prod: 0,
        connection: XENCONSOLE_CONNECTED,
        pad: [0; 3],
    };
}

impl Default for XenconsInterface {
    fn default() -> Self {
        Self::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ring_wraps_at_its_own_size() {
        assert_eq!(mask_xencons_in_idx(1024), 0);
        assert_eq!(mask_xencons_in_idx(1500), 476);
        assert_eq!(mask_xencons_out_idx(1500), 1500);
        assert_eq!(mask_xencons_out_idx(2048 + 5), 5);
        assert_eq!(mask_xencons_out_idx(u32::MAX), 2047);
    }
}
