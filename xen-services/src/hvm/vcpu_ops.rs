//! `vcpu_op` (`xen/include/public/vcpu.h`): the `vcpu_info` placement, the
//! runstate area and the one-shot timer. vCPUs start through the local
//! APIC's INIT/SIPI on HVM, so `VCPUOP_initialise`/`up`/`down` are not
//! offered; neither is the time memory area (so pvclock never claims
//! `TSC_STABLE`). The timers themselves are in `timers.rs`.

use core::mem::{offset_of, size_of};
use xen_abi::errno::Errno;
use xen_abi::hypercall::*;
use xen_abi::shared_info::{VcpuInfo, VcpuRunstateInfo};
use xen_abi::vcpu::{
    VcpuRegisterVcpuInfo, VcpuSetSingleshotTimer, RUNSTATE_RUNNING, VCPU_SSHOTTMR_FUTURE,
};

use super::dispatch::{done, HcResult};
use super::domain::{InfoAt, XenDomain};
use super::guest::{read_arg, u32_at, u64_at, GuestAccess};

/// `-ETIME`: a one-shot deadline already past with `VCPU_SSHOTTMR_future`.
const ETIME: Errno = Errno(62);

impl XenDomain {
    pub(super) fn vcpu_op(
        &mut self,
        g: &mut dyn GuestAccess,
        cmd: u32,
        vcpu: u64,
        arg: u64,
    ) -> HcResult {
        if vcpu >= self.vcpus.len() as u64 {
            return Err(Errno::ENOENT);
        }
        let v = vcpu as u32;
        match cmd {
            VCPUOP_REGISTER_VCPU_INFO => self.register_vcpu_info(g, v, arg),
            VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA => {
                let area = u64_at(&read_arg(g, arg, 8)?, 0);
                // Written once, now: state running since system time now.
                // A guest that gave a bad address just gets no runstate.
                let now = self.system_time(g);
                let mut r = [0u8; size_of::<VcpuRunstateInfo>()];
                r[0..4].copy_from_slice(&RUNSTATE_RUNNING.to_le_bytes());
                let entry = offset_of!(VcpuRunstateInfo, state_entry_time);
                r[entry..entry + 8].copy_from_slice(&now.to_le_bytes());
                let time = offset_of!(VcpuRunstateInfo, time);
                r[time..time + 8].copy_from_slice(&now.to_le_bytes());
                let _ = g.write_linear(area, &r);
                done(0)
            }
            VCPUOP_SET_PERIODIC_TIMER => {
                let period = u64_at(&read_arg(g, arg, 8)?, 0);
                if self.set_periodic(g, v, period) {
                    done(0)
                } else {
                    Err(Errno::EINVAL)
                }
            }
            VCPUOP_STOP_PERIODIC_TIMER => {
                self.set_periodic(g, v, 0);
                done(0)
            }
            VCPUOP_SET_SINGLESHOT_TIMER => {
                let b = read_arg(g, arg, size_of::<VcpuSetSingleshotTimer>())?;
                let deadline = u64_at(&b, offset_of!(VcpuSetSingleshotTimer, timeout_abs_ns));
                let flags = u32_at(&b, offset_of!(VcpuSetSingleshotTimer, flags));
                if flags & VCPU_SSHOTTMR_FUTURE != 0 && deadline < self.system_time(g) {
                    return Err(ETIME);
                }
                // A deadline already past fires at the next entry.
                self.vcpus[v as usize].timer_ns = Some(deadline);
                done(0)
            }
            VCPUOP_STOP_SINGLESHOT_TIMER => {
                self.vcpus[v as usize].timer_ns = None;
                done(0)
            }
            VCPUOP_IS_UP => done(1),
            _ => Err(Errno::ENOSYS),
        }
    }

    /// `VCPUOP_register_vcpu_info`: the `vcpu_info` moves to
    /// `mfn << 12 | offset` in guest RAM (not crossing a page, aligned to 8
    /// as Xen's `map_vcpu_info()` demands; once only: `EINVAL` after). The
    /// old contents move with it, then the selector is set to all ones and
    /// the upcall made pending, so no event is lost in the move.
    fn register_vcpu_info(&mut self, g: &mut dyn GuestAccess, v: u32, arg: u64) -> HcResult {
        let b = read_arg(g, arg, size_of::<VcpuRegisterVcpuInfo>())?;
        let mfn = u64_at(&b, offset_of!(VcpuRegisterVcpuInfo, mfn));
        let offset = u32_at(&b, offset_of!(VcpuRegisterVcpuInfo, offset)) as u64;
        let size = size_of::<VcpuInfo>() as u64;
        if offset > xen_abi::XEN_PAGE_SIZE as u64 - size || !offset.is_multiple_of(8) {
            return Err(Errno::EINVAL);
        }
        if self.vcpus[v as usize].info != InfoAt::Shared {
            return Err(Errno::EINVAL);
        }
        let gpa = mfn
            .checked_mul(xen_abi::XEN_PAGE_SIZE as u64)
            .ok_or(Errno::EINVAL)?
            + offset;
        let mut old = self.read_vcpu_info(g, v, InfoAt::Shared)?;
        old[offset_of!(VcpuInfo, evtchn_upcall_pending)] = 1;
        let sel = offset_of!(VcpuInfo, evtchn_pending_sel);
        old[sel..sel + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        // Fails (EFAULT) if the page is not RAM: nothing changes then.
        g.write_phys(gpa, &old)?;
        self.vcpus[v as usize].info = InfoAt::Guest(gpa);
        self.publish_time(g, v);
        done(0)
    }
}
