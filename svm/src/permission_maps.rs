//! The I/O and MSR permission maps (AMD APM vol. 2, 15.10.1 "I/O Permissions
//! Map" and 15.11 "MSR Intercepts"). A set bit intercepts the access.

use alloc::boxed::Box;

/// IOPM size: 12 KiB, one bit per port plus the bits a multi-byte access at the
/// top of the port space reaches.
pub const IOPM_SIZE: usize = 12 * 1024;
/// MSRPM size: 8 KiB, two bits (read, write) per MSR in three ranges.
pub const MSRPM_SIZE: usize = 8 * 1024;

/// The I/O permission map: physically contiguous and page-aligned.
#[repr(C, align(4096))]
pub struct IoPermissionMap(pub [u8; IOPM_SIZE]);

impl IoPermissionMap {
    /// A map that intercepts every port: every device the guest sees is emulated.
    pub fn intercept_all() -> Box<Self> {
        Box::new(Self([0xFF; IOPM_SIZE]))
    }

    /// Lets the guest access `port` directly (never used for emulated devices).
    pub fn allow(&mut self, port: u16) {
        self.0[usize::from(port) / 8] &= !(1 << (port % 8));
    }

    /// True when an access to `port` is intercepted.
    pub fn intercepts(&self, port: u16) -> bool {
        self.0[usize::from(port) / 8] & (1 << (port % 8)) != 0
    }
}

/// The MSR permission map.
#[repr(C, align(4096))]
pub struct MsrPermissionMap(pub [u8; MSRPM_SIZE]);

/// First MSR of each range the map covers and the byte offset of its bits
/// (APM vol. 2, table 15-10 "MSR Ranges of the MSR Permissions Map").
const MSR_RANGES: [(u32, usize); 3] = [
    (0x0000_0000, 0x000),
    (0xC000_0000, 0x800),
    (0xC001_0000, 0x1000),
];
/// MSRs per range.
const MSRS_PER_RANGE: u32 = 0x2000;

impl MsrPermissionMap {
    /// A map that intercepts every MSR access.
    pub fn intercept_all() -> Box<Self> {
        Box::new(Self([0xFF; MSRPM_SIZE]))
    }

    /// Bit position of `msr`'s read-intercept bit (the write bit follows it).
    fn bit(msr: u32) -> Option<usize> {
        MSR_RANGES.iter().find_map(|&(base, offset)| {
            let i = msr.wrapping_sub(base);
            (msr >= base && i < MSRS_PER_RANGE).then(|| offset * 8 + 2 * i as usize)
        })
    }

    /// Lets the guest read and write `msr` directly. MSRs outside the three
    /// ranges are always intercepted; returns false for those.
    pub fn pass_through(&mut self, msr: u32) -> bool {
        let Some(bit) = Self::bit(msr) else {
            return false;
        };
        self.0[bit / 8] &= !(0b11 << (bit % 8));
        true
    }

    /// True when (reads, writes) of `msr` are intercepted.
    pub fn intercepts(&self, msr: u32) -> (bool, bool) {
        match Self::bit(msr) {
            Some(bit) => {
                let b = self.0[bit / 8] >> (bit % 8);
                (b & 1 != 0, b & 2 != 0)
            }
            None => (true, true),
        }
    }
}

/// MSRs that are part of the state VMLOAD/VMSAVE switch, so the guest may own
/// them outright (APM vol. 2, 15.5.2 "VMSAVE and VMLOAD Instructions"; FS and
/// GS bases live in the segment state).
pub const VMLOAD_SWITCHED_MSRS: [u32; 10] = [
    0x0000_0174, // IA32_SYSENTER_CS
    0x0000_0175, // IA32_SYSENTER_ESP
    0x0000_0176, // IA32_SYSENTER_EIP
    0xC000_0081, // STAR
    0xC000_0082, // LSTAR
    0xC000_0083, // CSTAR
    0xC000_0084, // SFMASK
    0xC000_0100, // FS.base
    0xC000_0101, // GS.base
    0xC000_0102, // KernelGSBase
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msr_bit_positions_follow_the_apm_table() {
        // EFER (C000_0080h): range 2 at byte 800h, MSR index 80h -> bit 100h
        assert_eq!(MsrPermissionMap::bit(0xC000_0080), Some(0x800 * 8 + 0x100));
        assert_eq!(MsrPermissionMap::bit(0x10), Some(0x20));
        assert_eq!(MsrPermissionMap::bit(0xC001_0114), Some(0x1000 * 8 + 0x228));
        assert_eq!(MsrPermissionMap::bit(0x4000_0000), None);
    }

    #[test]
    fn pass_through_clears_both_bits_of_one_msr_only() {
        let mut m = MsrPermissionMap::intercept_all();
        assert!(m.pass_through(0xC000_0081));
        assert_eq!(m.intercepts(0xC000_0081), (false, false));
        assert_eq!(m.intercepts(0xC000_0080), (true, true));
        assert_eq!(m.intercepts(0xC000_0082), (true, true));
        assert!(!m.pass_through(0x4000_0000));
    }

    #[test]
    fn iopm_allow_clears_one_port() {
        let mut m = IoPermissionMap::intercept_all();
        m.allow(0x80);
        assert!(!m.intercepts(0x80));
        assert!(m.intercepts(0x81));
        assert!(m.intercepts(0x7F));
    }
}
