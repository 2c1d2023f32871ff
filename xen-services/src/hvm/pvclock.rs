//! pvclock: guest time as Xen publishes it in each vCPU's `vcpu_time_info`
//! (`xen/include/public/xen.h`, `struct vcpu_time_info`: "current system
//! time is system_time + ((tsc - tsc_timestamp) << tsc_shift) *
//! tsc_to_system_mul >> 32").
//!
//! Our system time is a pure function of the guest TSC: nanoseconds since
//! the domain started, `scale(tsc - tsc_at_start)` with one fixed scale. A
//! record published once therefore stays exact for ever (no drift between
//! updates), which is what lets the guest calibrate its TSC from it. The
//! scale is computed as Xen's `compute_time_scale()` does (shift first so
//! the rate lies in (1 GHz, 2 GHz], then a 32-bit fraction), because the
//! guest inverts it (`xen_tsc_khz`: kHz = (10^6 << 32) / mul, shifted).

use core::mem::offset_of;
use xen_abi::shared_info::VcpuTimeInfo;

const NS_PER_SEC: u64 = 1_000_000_000;

/// A TSC-ticks-to-nanoseconds scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    /// `tsc_to_system_mul`: nanoseconds per (shifted) tick, as a 32-bit
    /// fraction.
    pub mul: u32,
    /// `tsc_shift`: applied to a tick count before the multiplication.
    pub shift: i8,
}

impl TscScale {
    /// The scale for a TSC of `tsc_hz` ticks per second (1 GHz if 0).
    pub fn for_frequency(tsc_hz: u64) -> Self {
        let mut t = if tsc_hz == 0 { NS_PER_SEC } else { tsc_hz };
        let mut shift: i8 = 0;
        while t > 2 * NS_PER_SEC {
            t >>= 1;
            shift -= 1;
        }
        while t <= NS_PER_SEC {
            t <<= 1;
            shift += 1;
        }
        // t in (1e9, 2e9]: the quotient is below 2^32.
        let mul = ((u128::from(NS_PER_SEC) << 32) / u128::from(t)) as u32;
        Self { mul, shift }
    }

    /// The TSC rate in kHz a guest derives from this scale (Linux's
    /// `pvclock_tsc_khz()`: (10^6 << 32) / mul, then the shift undone), so
    /// a log can state what the guest will find.
    pub fn guest_khz(&self) -> u64 {
        let khz = (1_000_000u64 << 32) / u64::from(self.mul.max(1));
        if self.shift < 0 {
            khz << (-i32::from(self.shift)) as u32
        } else {
            khz >> self.shift
        }
    }

    /// Nanoseconds in `ticks`.
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        let shifted = if self.shift >= 0 {
            u128::from(ticks) << self.shift
        } else {
            u128::from(ticks >> (-i32::from(self.shift)) as u32)
        };
        ((shifted * u128::from(self.mul)) >> 32) as u64
    }

    /// Ticks in `ns` (the inverse, rounded up so a deadline is never early).
    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        let num = u128::from(ns) << 32;
        let mul = u128::from(self.mul.max(1));
        let shifted = num.div_ceil(mul);
        let ticks = if self.shift >= 0 {
            shifted >> self.shift
        } else {
            shifted << (-i32::from(self.shift)) as u32
        };
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

/// The 32 bytes of a `vcpu_time_info` with the given `version`, stating
/// that system time was `system_time` ns at guest TSC `tsc`. Flags stay 0:
/// `XEN_PVCLOCK_TSC_STABLE_BIT` needs `VCPUOP_register_vcpu_time_memory_area`,
/// which is not offered.
pub fn time_info_bytes(version: u32, tsc: u64, system_time: u64, scale: TscScale) -> [u8; 32] {
    let mut b = [0u8; 32];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(offset_of!(VcpuTimeInfo, version), &version.to_le_bytes());
    put(offset_of!(VcpuTimeInfo, tsc_timestamp), &tsc.to_le_bytes());
    put(
        offset_of!(VcpuTimeInfo, system_time),
        &system_time.to_le_bytes(),
    );
    put(
        offset_of!(VcpuTimeInfo, tsc_to_system_mul),
        &scale.mul.to_le_bytes(),
    );
    put(
        offset_of!(VcpuTimeInfo, tsc_shift),
        &scale.shift.to_le_bytes(),
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_gigahertz_is_the_notes_example() {
        let s = TscScale::for_frequency(3_000_000_000);
        assert_eq!(
            s,
            TscScale {
                mul: 0xAAAA_AAAA,
                shift: -1
            }
        );
    }

    fn guest_khz(s: TscScale) -> u64 {
        s.guest_khz()
    }

    #[test]
    fn the_guest_recovers_the_frequency_from_the_scale() {
        for hz in [
            1_000_000_000u64,
            1_000_000_001,
            2_000_000_000,
            2_400_000_000,
            3_193_999_000,
            100_000_000,
            33_000_000,
            5_000_000_000,
        ] {
            let khz = guest_khz(TscScale::for_frequency(hz));
            let want = hz / 1000;
            assert!(khz.abs_diff(want) <= want / 100_000 + 1, "{hz}: {khz}");
        }
    }

    #[test]
    fn one_second_of_ticks_is_one_second() {
        for hz in [1_000_000_000u64, 2_500_000_000, 3_600_000_000, 250_000_000] {
            let s = TscScale::for_frequency(hz);
            let ns = s.ticks_to_ns(hz);
            assert!(ns.abs_diff(NS_PER_SEC) < 10, "{hz}: {ns}");
            let back = s.ns_to_ticks(ns);
            assert!(s.ticks_to_ns(back) >= ns);
        }
    }

    #[test]
    fn huge_values_saturate_rather_than_overflow() {
        let s = TscScale::for_frequency(1);
        let _ = s.ticks_to_ns(u64::MAX);
        assert_eq!(
            TscScale::for_frequency(0),
            TscScale::for_frequency(NS_PER_SEC)
        );
        let _ = s.ns_to_ticks(u64::MAX);
    }

    #[test]
    fn the_record_has_the_fields_at_their_offsets() {
        let s = TscScale {
            mul: 0x1234_5678,
            shift: -2,
        };
        let b = time_info_bytes(4, 0x1111, 0x2222, s);
        assert_eq!(&b[0..4], &4u32.to_le_bytes());
        assert_eq!(&b[8..16], &0x1111u64.to_le_bytes());
        assert_eq!(&b[16..24], &0x2222u64.to_le_bytes());
        assert_eq!(&b[24..28], &0x1234_5678u32.to_le_bytes());
        assert_eq!(b[28], 0xFE);
        assert_eq!(b[29], 0, "no TSC_STABLE without a time memory area");
    }
}
