//! The shared-info page, the pvclock time of each vCPU and the wallclock
//! (`struct shared_info`, `struct vcpu_info`, `struct vcpu_time_info`,
//! `xen/include/public/xen.h`).
//!
//! An HVM guest places the page at a frame of its choice with
//! `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)`
//! (`xen/include/public/memory.h`). The hypervisor rewrites the time
//! records at any moment under a version counter: odd while it writes,
//! even once the record is whole; a reader retries while the version is
//! odd or changed across its read (`xen.h`, `vcpu_time_info.version`).

use crate::error::Error;
use crate::hypercall::{add_to_physmap, Hypercall};
use crate::memory::GuestPages;
use core::mem::{offset_of, size_of};
use xen_abi::memory::XENMAPSPACE_SHARED_INFO;
use xen_abi::shared_info::{SharedInfo, VcpuInfo, VcpuTimeInfo, XEN_LEGACY_MAX_VCPUS};

/// How often a reader retries a record the hypervisor keeps rewriting
/// before it gives up (a version stuck odd is a broken hypervisor).
pub const MAX_RETRIES: u32 = 1000;

/// Wall-clock time: Unix seconds and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wallclock {
    /// Seconds since 1970 (`wc_sec_hi:wc_sec`).
    pub sec: u64,
    /// Nanoseconds in the second (`wc_nsec`).
    pub nsec: u32,
}

impl Wallclock {
    /// The whole time in nanoseconds (saturating).
    pub fn as_nanos(&self) -> u64 {
        self.sec
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(self.nsec))
    }
}

/// The shared-info page at a guest frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedInfoPage {
    gfn: u64,
}

impl SharedInfoPage {
    /// Asks the hypervisor to put the page at `gfn` (whatever was there is
    /// gone) and returns it.
    pub fn map(hc: &mut dyn Hypercall, gfn: u64) -> Result<Self, Error> {
        add_to_physmap(hc, XENMAPSPACE_SHARED_INFO, 0, gfn)?;
        Ok(Self { gfn })
    }

    /// The page already at `gfn`.
    pub const fn at(gfn: u64) -> Self {
        Self { gfn }
    }

    /// Its frame.
    pub const fn gfn(&self) -> u64 {
        self.gfn
    }

    /// Offset in the page of vCPU `vcpu`'s legacy `vcpu_info`.
    pub fn vcpu_info_offset(vcpu: u32) -> Result<usize, Error> {
        if vcpu as usize >= XEN_LEGACY_MAX_VCPUS {
            return Err(Error::InvalidArgument("vCPU beyond the shared-info page"));
        }
        Ok(offset_of!(SharedInfo, vcpu_info) + vcpu as usize * size_of::<VcpuInfo>())
    }

    /// A consistent copy of vCPU `vcpu`'s pvclock record.
    pub fn time_info(&self, mem: &mut dyn GuestPages, vcpu: u32) -> Result<VcpuTimeInfo, Error> {
        let at = Self::vcpu_info_offset(vcpu)? + offset_of!(VcpuInfo, time);
        read_time_info(mem, self.gfn, at)
    }

    /// System time (ns since the domain started) at guest TSC `tsc`, by
    /// vCPU `vcpu`'s record.
    pub fn system_time(&self, mem: &mut dyn GuestPages, vcpu: u32, tsc: u64) -> Result<u64, Error> {
        Ok(system_time_at(&self.time_info(mem, vcpu)?, tsc))
    }

    /// The wallclock at system time 0 (`wc_*`, under `wc_version`).
    pub fn wallclock_base(&self, mem: &mut dyn GuestPages) -> Result<Wallclock, Error> {
        let v_at = offset_of!(SharedInfo, wc_version);
        for _ in 0..MAX_RETRIES {
            let v1 = mem.read_u32(self.gfn, v_at)?;
            if v1 & 1 != 0 {
                continue;
            }
            mem.fence();
            let lo = mem.read_u32(self.gfn, offset_of!(SharedInfo, wc_sec))?;
            let nsec = mem.read_u32(self.gfn, offset_of!(SharedInfo, wc_nsec))?;
            let hi = mem.read_u32(self.gfn, offset_of!(SharedInfo, wc_sec_hi))?;
            mem.fence();
            if mem.read_u32(self.gfn, v_at)? == v1 {
                if nsec >= 1_000_000_000 {
                    return Err(Error::Protocol("wc_nsec of a second or more"));
                }
                return Ok(Wallclock {
                    sec: u64::from(hi) << 32 | u64::from(lo),
                    nsec,
                });
            }
        }
        Err(Error::Timeout)
    }

    /// The wall-clock time now: the base plus vCPU `vcpu`'s system time at
    /// `tsc` (as Linux's `pvclock_read_wallclock`).
    pub fn wallclock(
        &self,
        mem: &mut dyn GuestPages,
        vcpu: u32,
        tsc: u64,
    ) -> Result<Wallclock, Error> {
        let base = self.wallclock_base(mem)?;
        let now = self.system_time(mem, vcpu, tsc)?;
        let total = u128::from(base.sec) * 1_000_000_000 + u128::from(base.nsec) + u128::from(now);
        Ok(Wallclock {
            sec: u64::try_from(total / 1_000_000_000).unwrap_or(u64::MAX),
            nsec: (total % 1_000_000_000) as u32,
        })
    }
}

/// A consistent copy of the `vcpu_time_info` at `offset` in frame `gfn`
/// (a registered `vcpu_info` or `vcpu_time_info` area elsewhere uses the
/// same protocol).
pub fn read_time_info(
    mem: &mut dyn GuestPages,
    gfn: u64,
    offset: usize,
) -> Result<VcpuTimeInfo, Error> {
    for _ in 0..MAX_RETRIES {
        let mut b = [0u8; size_of::<VcpuTimeInfo>()];
        let v1 = mem.read_u32(gfn, offset + offset_of!(VcpuTimeInfo, version))?;
        if v1 & 1 != 0 {
            continue;
        }
        mem.fence();
        mem.read(gfn, offset, &mut b)?;
        mem.fence();
        if mem.read_u32(gfn, offset + offset_of!(VcpuTimeInfo, version))? != v1 {
            continue;
        }
        use crate::bytes::{get_u32, get_u64};
        return Ok(VcpuTimeInfo {
            version: v1,
            pad0: 0,
            tsc_timestamp: get_u64(&b, offset_of!(VcpuTimeInfo, tsc_timestamp)),
            system_time: get_u64(&b, offset_of!(VcpuTimeInfo, system_time)),
            tsc_to_system_mul: get_u32(&b, offset_of!(VcpuTimeInfo, tsc_to_system_mul)),
            tsc_shift: b[offset_of!(VcpuTimeInfo, tsc_shift)] as i8,
            flags: b[offset_of!(VcpuTimeInfo, flags)],
            pad1: [0; 2],
        });
    }
    Err(Error::Timeout)
}

/// System time at `tsc` by record `t`: `system_time + ((tsc -
/// tsc_timestamp) << tsc_shift) * tsc_to_system_mul >> 32` (`xen.h`,
/// `struct vcpu_time_info`). A TSC before the record's timestamp counts
/// as no time elapsed.
pub fn system_time_at(t: &VcpuTimeInfo, tsc: u64) -> u64 {
    let delta = tsc.saturating_sub(t.tsc_timestamp);
    t.system_time.wrapping_add(t.scale_delta(delta))
}

/// The TSC frequency in kHz a record implies (`pvclock_tsc_khz`): the
/// inverse of its scale. `None` for a zero multiplier.
pub fn tsc_khz(t: &VcpuTimeInfo) -> Option<u64> {
    if t.tsc_to_system_mul == 0 {
        return None;
    }
    let mut khz = (1_000_000u128 << 32) / u128::from(t.tsc_to_system_mul);
    let shift = i32::from(t.tsc_shift);
    if shift < 0 {
        khz <<= -shift;
    } else {
        khz >>= shift;
    }
    u64::try_from(khz).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{HostPages, MemError};

    fn record(version: u32, tsc: u64, system: u64, mul: u32, shift: i8) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..4].copy_from_slice(&version.to_le_bytes());
        b[8..16].copy_from_slice(&tsc.to_le_bytes());
        b[16..24].copy_from_slice(&system.to_le_bytes());
        b[24..28].copy_from_slice(&mul.to_le_bytes());
        b[28] = shift as u8;
        b
    }

    #[test]
    fn time_is_scaled_from_the_record() {
        let mut m = HostPages::new();
        // 2 GHz: 0.5 ns per tick, mul 2^31 with shift 0.
        let at = SharedInfoPage::vcpu_info_offset(1).unwrap() + 32;
        m.write(9, at, &record(4, 1000, 5_000, 1 << 31, 0)).unwrap();
        let s = SharedInfoPage::at(9);
        assert_eq!(s.system_time(&mut m, 1, 3000).unwrap(), 6_000);
        // Before the timestamp: no time elapsed.
        assert_eq!(s.system_time(&mut m, 1, 10).unwrap(), 5_000);
        assert_eq!(tsc_khz(&s.time_info(&mut m, 1).unwrap()), Some(2_000_000));
        assert!(s.time_info(&mut m, 32).is_err());
    }

    /// A hypervisor that is always in the middle of an update, or bumps the
    /// version under every read.
    struct Busy {
        inner: HostPages,
        bump: bool,
    }

    impl GuestPages for Busy {
        fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
            if self.bump && buf.len() == 4 {
                let v = self.inner.read_u32(gfn, offset)?;
                self.inner.write_u32(gfn, offset, v.wrapping_add(2))?;
            }
            self.inner.read(gfn, offset, buf)
        }
        fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError> {
            self.inner.write(gfn, offset, data)
        }
    }

    #[test]
    fn a_record_that_never_settles_is_a_timeout_not_a_hang() {
        let mut m = Busy {
            inner: HostPages::new(),
            bump: false,
        };
        m.inner.write(1, 32, &record(3, 0, 0, 1, 0)).unwrap();
        assert_eq!(
            SharedInfoPage::at(1).time_info(&mut m, 0),
            Err(Error::Timeout)
        );
        m.inner.write(1, 32, &record(2, 0, 0, 1, 0)).unwrap();
        m.bump = true;
        assert_eq!(
            SharedInfoPage::at(1).time_info(&mut m, 0),
            Err(Error::Timeout)
        );
        m.inner
            .write_u32(1, offset_of!(SharedInfo, wc_version), 0)
            .unwrap();
        assert_eq!(
            SharedInfoPage::at(1).wallclock_base(&mut m),
            Err(Error::Timeout)
        );
    }

    #[test]
    fn the_wallclock_is_checked() {
        let mut m = HostPages::new();
        m.write_u32(1, offset_of!(SharedInfo, wc_sec), 10).unwrap();
        m.write_u32(1, offset_of!(SharedInfo, wc_sec_hi), 1)
            .unwrap();
        m.write_u32(1, offset_of!(SharedInfo, wc_nsec), 5).unwrap();
        let w = SharedInfoPage::at(1).wallclock_base(&mut m).unwrap();
        assert_eq!(
            w,
            Wallclock {
                sec: (1 << 32) + 10,
                nsec: 5
            }
        );
        m.write_u32(1, offset_of!(SharedInfo, wc_nsec), 1_000_000_000)
            .unwrap();
        assert!(matches!(
            SharedInfoPage::at(1).wallclock_base(&mut m),
            Err(Error::Protocol(_))
        ));
    }
}
