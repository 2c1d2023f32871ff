//! How the emulated BIOS ends a guest.

/// Why the BIOS stopped the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiosStop {
    /// Every device in the boot order failed (the BIOS logged why).
    NoBootableDevice,
}

impl core::fmt::Display for BiosStop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BiosStop::NoBootableDevice => write!(f, "the BIOS found no bootable device"),
        }
    }
}
