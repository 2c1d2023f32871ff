//! [`XenDomain::hypercall`]: the 64-bit HVM hypercall ABI
//! (`xen/include/public/arch-x86/xen-x86_64.h`: number in RAX, arguments
//! in RDI, RSI, RDX, R10, R8, result in RAX) and the hypercalls of
//! `xen/include/public/xen.h` an HVM or PVH guest uses. Anything not
//! implemented answers `-ENOSYS`, never 0: Linux probes features by
//! success (`EVTCHNOP_init_control`, `HVMOP_pagetable_dying`,
//! `VCPUOP_register_vcpu_time_memory_area`).
//!
//! One function per hypercall here; event channels and vCPU operations
//! have their own files.

use alloc::vec::Vec;
use core::mem::offset_of;
use xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE;
use xen_abi::errno::Errno;
use xen_abi::grant_table::{GnttabQuerySize, GnttabSetupTable, GNTST_BAD_DOMAIN, GNTST_OKAY};
use xen_abi::hvm::{XenHvmParam, HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ};
use xen_abi::hypercall::*;
use xen_abi::memory::{
    XenAddToPhysmap, XenMemoryMap, DOMID_SELF, XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO,
};
use xen_abi::sched::SHUTDOWN_MAX;
use xen_abi::version::*;

use super::domain::XenDomain;
use super::guest::{put, read_arg, u16_at, u32_at, u64_at, GuestAccess};
use super::platform::{hypercall_page, XEN_VERSION_MAJOR, XEN_VERSION_MINOR};

/// A hypercall as the vCPU made it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HypercallArgs {
    /// RAX on entry.
    pub nr: u64,
    /// RDI, RSI, RDX, R10, R8.
    pub args: [u64; 5],
    /// The caller's privilege level (Xen refuses CPL > 0 with `-EPERM`).
    pub cpl: u8,
    /// The caller runs in 64-bit mode (the 32-bit compat ABI is not served).
    pub long_mode: bool,
    /// The calling vCPU.
    pub vcpu: u32,
}

/// What the hypervisor must do beyond writing the result into RAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing: resume the guest.
    None,
    /// `SCHEDOP_yield` (or a poll): let the host catch up, then resume.
    Yield,
    /// `SCHEDOP_block`: sleep until an event is pending.
    Block,
    /// `SCHEDOP_shutdown` with this `SHUTDOWN_*` reason.
    Shutdown(u32),
}

/// The result of a hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The value for RAX (a negative errno as an unsigned word).
    pub ret: u64,
    pub action: Action,
}

pub(super) type HcResult = Result<(u64, Action), Errno>;

pub(super) fn done(ret: u64) -> HcResult {
    Ok((ret, Action::None))
}

/// The features we offer in submap 0 (`xen/include/public/features.h`):
/// auto-translated physmap, the HVM callback vector and safe pvclock, and
/// the bits Xen reports for every HVM guest (writable page tables, not
/// direct mapped). Never `hvm_pirqs` or `dom0`.
pub const FEATURES_SUBMAP_0: u32 = feature_mask(&[
    XENFEAT_WRITABLE_PAGE_TABLES,
    XENFEAT_AUTO_TRANSLATED_PHYSMAP,
    XENFEAT_HVM_CALLBACK_VECTOR,
    XENFEAT_HVM_SAFE_PVCLOCK,
    XENFEAT_NOT_DIRECT_MAPPED,
]);

/// What `XENVER_extraversion` reports after "4.17".
pub const EXTRAVERSION: &[u8] = b"-vmm";

/// The most bytes one `CONSOLEIO_write` takes (the rest of a longer buffer
/// is dropped; Linux writes a line at a time).
const CONSOLE_WRITE_MAX: usize = 4096;

impl XenDomain {
    /// Serves one hypercall. Never panics; every argument is checked.
    pub fn hypercall(&mut self, g: &mut dyn GuestAccess, a: HypercallArgs) -> Outcome {
        // Every hypercall but set_timer_op takes its sub-op first.
        let sub = match a.nr as u32 {
            HYPERVISOR_SET_TIMER_OP => 0,
            _ => a.args[0] as u32,
        };
        self.stats.record(a.nr, sub);
        let r = if a.cpl != 0 {
            Err(Errno::EPERM)
        } else if a.nr > u64::from(u32::MAX) || !a.long_mode {
            Err(Errno::ENOSYS)
        } else {
            self.dispatch(g, a)
        };
        match r {
            Ok((ret, action)) => Outcome { ret, action },
            Err(e) => Outcome {
                ret: e.to_return_value(),
                action: Action::None,
            },
        }
    }

    fn dispatch(&mut self, g: &mut dyn GuestAccess, a: HypercallArgs) -> HcResult {
        let [a0, a1, a2, _a3, _a4] = a.args;
        match a.nr as u32 {
            HYPERVISOR_MEMORY_OP => self.memory_op(g, a0, a1),
            HYPERVISOR_SET_TIMER_OP => self.set_timer_op(a.vcpu, a0),
            HYPERVISOR_XEN_VERSION => self.xen_version(g, a0 as u32, a1),
            HYPERVISOR_CONSOLE_IO => console_io(g, a0 as u32, a1, a2),
            HYPERVISOR_GRANT_TABLE_OP => self.grant_table_op(g, a0 as u32, a1, a2),
            HYPERVISOR_VM_ASSIST => vm_assist(a0 as u32, a1 as u32),
            HYPERVISOR_VCPU_OP => self.vcpu_op(g, a0 as u32, a1, a2),
            HYPERVISOR_SCHED_OP => self.sched_op(g, a0 as u32, a1),
            HYPERVISOR_EVENT_CHANNEL_OP => self.event_channel_op(g, a0 as u32, a1),
            HYPERVISOR_HVM_OP => self.hvm_op(g, a0 as u32, a1),
            _ => Err(Errno::ENOSYS),
        }
    }

    fn check_domid(&self, domid: u16) -> Result<(), Errno> {
        if domid == DOMID_SELF || domid == self.config.domid {
            Ok(())
        } else {
            // A guest may only name itself (XSM's default policy).
            Err(Errno::EPERM)
        }
    }

    /// `memory_op` (`memory.h`): `XENMEM_add_to_physmap` for the
    /// shared-info page and grant frames, `XENMEM_memory_map`.
    fn memory_op(&mut self, g: &mut dyn GuestAccess, cmd: u64, arg: u64) -> HcResult {
        // The low bits are the command; the rest is a continuation start.
        match cmd as u32 & 0x3F {
            XENMEM_ADD_TO_PHYSMAP => {
                let b = read_arg(g, arg, core::mem::size_of::<XenAddToPhysmap>())?;
                self.check_domid(u16_at(&b, offset_of!(XenAddToPhysmap, domid)))?;
                let space = u32_at(&b, offset_of!(XenAddToPhysmap, space));
                let idx = u64_at(&b, offset_of!(XenAddToPhysmap, idx));
                let gpfn = u64_at(&b, offset_of!(XenAddToPhysmap, gpfn));
                self.add_to_physmap(g, space, idx, gpfn)
            }
            XENMEM_MEMORY_MAP => self.memory_map(g, arg),
            _ => Err(Errno::ENOSYS),
        }
    }

    fn add_to_physmap(
        &mut self,
        g: &mut dyn GuestAccess,
        space: u32,
        idx: u64,
        gpfn: u64,
    ) -> HcResult {
        match space {
            XENMAPSPACE_SHARED_INFO => {
                if idx != 0 {
                    return Err(Errno::EINVAL);
                }
                g.map_page(gpfn, super::domain::page_address(&self.shared_info))?;
                if let Some(old) = self.shared_info_gfn.replace(gpfn) {
                    if old != gpfn {
                        g.unmap_page(old);
                    }
                }
                // The guest reads the clock at once (xen_hvm_init_time_ops).
                for v in 0..self.vcpus.len() as u32 {
                    self.publish_time(g, v);
                }
                done(0)
            }
            XENMAPSPACE_GRANT_TABLE => {
                self.grants.add_to_physmap(idx)?;
                let host = self.grants.frame_address(idx as u32).ok_or(Errno::EINVAL)?;
                g.map_page(gpfn, host)?;
                // A frame lives at one GFN: placing it again moves it, as
                // Xen's guest_physmap_add_page() removes the old mapping.
                if let Some(old) = self.grant_gfns.insert(idx as u32, gpfn) {
                    if old != gpfn {
                        g.unmap_page(old);
                    }
                }
                done(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn memory_map(&mut self, g: &mut dyn GuestAccess, arg: u64) -> HcResult {
        if self.config.memory_map.is_empty() {
            return Err(Errno::ENOSYS);
        }
        let b = read_arg(g, arg, core::mem::size_of::<XenMemoryMap>())?;
        let capacity = u32_at(&b, offset_of!(XenMemoryMap, nr_entries)) as usize;
        let buffer = u64_at(&b, offset_of!(XenMemoryMap, buffer));
        let n = capacity.min(self.config.memory_map.len());
        let mut bytes = Vec::with_capacity(n * 20);
        for e in &self.config.memory_map[..n] {
            let (addr, size, kind) = (e.addr, e.size, e.kind);
            bytes.extend_from_slice(&addr.to_le_bytes());
            bytes.extend_from_slice(&size.to_le_bytes());
            bytes.extend_from_slice(&kind.to_le_bytes());
        }
        g.write_linear(buffer, &bytes)?;
        g.write_linear(
            arg + offset_of!(XenMemoryMap, nr_entries) as u64,
            &(n as u32).to_le_bytes(),
        )?;
        done(0)
    }

    /// `set_timer_op(timeout)`: the one-shot timer in system time, 0
    /// cancels.
    fn set_timer_op(&mut self, vcpu: u32, timeout: u64) -> HcResult {
        let v = self.vcpus.get_mut(vcpu as usize).ok_or(Errno::EINVAL)?;
        v.timer_ns = (timeout != 0).then_some(timeout);
        done(0)
    }

    /// `xen_version` (`version.h`).
    fn xen_version(&mut self, g: &mut dyn GuestAccess, cmd: u32, arg: u64) -> HcResult {
        let fixed = |text: &[u8], len: usize| {
            let mut b = alloc::vec![0u8; len];
            b[..text.len().min(len - 1)].copy_from_slice(&text[..text.len().min(len - 1)]);
            b
        };
        let out = match cmd {
            XENVER_VERSION => {
                return done(u64::from(xen_version(XEN_VERSION_MAJOR, XEN_VERSION_MINOR)))
            }
            XENVER_PAGESIZE => return done(xen_abi::XEN_PAGE_SIZE as u64),
            XENVER_EXTRAVERSION => fixed(EXTRAVERSION, XEN_EXTRAVERSION_LEN),
            XENVER_CAPABILITIES => fixed(
                b"hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p",
                XEN_CAPABILITIES_INFO_LEN,
            ),
            XENVER_CHANGESET => fixed(b"vmm", XEN_CHANGESET_INFO_LEN),
            XENVER_COMPILE_INFO => {
                // compiler[64], compile_by[16], compile_domain[32], compile_date[32].
                let mut b = fixed(b"rustc", 64);
                b.extend(fixed(b"vmm", 16));
                b.extend(fixed(b"", 32));
                b.extend(fixed(b"", 32));
                b
            }
            XENVER_PLATFORM_PARAMETERS => 0xFFFF_8000_0000_0000u64.to_le_bytes().to_vec(),
            XENVER_GUEST_HANDLE => alloc::vec![0u8; 16],
            XENVER_COMMANDLINE => alloc::vec![0u8; 1024],
            XENVER_GET_FEATURES => {
                let b = read_arg(g, arg, 8)?;
                let submap = match u32_at(&b, 0) {
                    0 => FEATURES_SUBMAP_0,
                    _ => return Err(Errno::EINVAL),
                };
                g.write_linear(arg + 4, &submap.to_le_bytes())?;
                return done(0);
            }
            _ => return Err(Errno::ENOSYS),
        };
        g.write_linear(arg, &out)?;
        done(0)
    }

    /// `grant_table_op` (`grant_table.h`) for a guest's own table:
    /// query_size, setup_table, set_version/get_version (v1 only). Mapping
    /// or copying other domains' grants is a backend's business: `-ENOSYS`.
    fn grant_table_op(
        &mut self,
        g: &mut dyn GuestAccess,
        cmd: u32,
        uop: u64,
        count: u64,
    ) -> HcResult {
        match cmd {
            GNTTABOP_QUERY_SIZE | GNTTABOP_SETUP_TABLE | GNTTABOP_SET_VERSION
            | GNTTABOP_GET_VERSION
                if count != 1 =>
            {
                Err(Errno::EINVAL)
            }
            GNTTABOP_QUERY_SIZE => {
                let mut b = read_arg(g, uop, core::mem::size_of::<GnttabQuerySize>())?;
                let status = if self.check_domid(u16_at(&b, 0)).is_ok() {
                    let q = self.grants.query_size();
                    put(
                        &mut b,
                        offset_of!(GnttabQuerySize, nr_frames),
                        &q.nr_frames.to_le_bytes(),
                    );
                    put(
                        &mut b,
                        offset_of!(GnttabQuerySize, max_nr_frames),
                        &q.max_nr_frames.to_le_bytes(),
                    );
                    GNTST_OKAY
                } else {
                    GNTST_BAD_DOMAIN
                };
                put(
                    &mut b,
                    offset_of!(GnttabQuerySize, status),
                    &status.to_le_bytes(),
                );
                g.write_linear(uop, &b)?;
                done(0)
            }
            GNTTABOP_SETUP_TABLE => {
                let b = read_arg(g, uop, core::mem::size_of::<GnttabSetupTable>())?;
                let status = if self.check_domid(u16_at(&b, 0)).is_ok() {
                    self.grants
                        .setup_table(u32_at(&b, offset_of!(GnttabSetupTable, nr_frames)))
                } else {
                    GNTST_BAD_DOMAIN
                };
                g.write_linear(
                    uop + offset_of!(GnttabSetupTable, status) as u64,
                    &status.to_le_bytes(),
                )?;
                done(0)
            }
            GNTTABOP_SET_VERSION => {
                let b = read_arg(g, uop, 4)?;
                let asked = u32_at(&b, 0);
                g.write_linear(uop, &1u32.to_le_bytes())?;
                if asked == 0 || asked == 1 {
                    done(0)
                } else {
                    Err(Errno::EINVAL)
                }
            }
            GNTTABOP_GET_VERSION => {
                let b = read_arg(g, uop, 4)?;
                self.check_domid(u16_at(&b, 0))?;
                g.write_linear(uop + 4, &1u32.to_le_bytes())?;
                done(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// `sched_op` (`sched.h`).
    fn sched_op(&mut self, g: &mut dyn GuestAccess, cmd: u32, arg: u64) -> HcResult {
        match cmd {
            SCHEDOP_YIELD => Ok((0, Action::Yield)),
            SCHEDOP_BLOCK => Ok((0, Action::Block)),
            SCHEDOP_SHUTDOWN => {
                let reason = u32_at(&read_arg(g, arg, 4)?, 0);
                if reason > SHUTDOWN_MAX {
                    return Err(Errno::EINVAL);
                }
                Ok((0, Action::Shutdown(reason)))
            }
            // One vCPU: a poll returns at once (a spurious wake-up, which
            // the ABI allows) after letting the host catch up.
            SCHEDOP_POLL => {
                read_arg(g, arg, 24)?;
                Ok((0, Action::Yield))
            }
            SCHEDOP_SHUTDOWN_CODE => {
                read_arg(g, arg, 4)?;
                done(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// `hvm_op` (`hvm/hvm_op.h`): get/set_param; the rest `-ENOSYS`
    /// (`pagetable_dying` must fail, or Linux calls it on every exit).
    fn hvm_op(&mut self, g: &mut dyn GuestAccess, op: u32, arg: u64) -> HcResult {
        match op {
            HVMOP_SET_PARAM | HVMOP_GET_PARAM => {
                let b = read_arg(g, arg, core::mem::size_of::<XenHvmParam>())?;
                self.check_domid(u16_at(&b, offset_of!(XenHvmParam, domid)))?;
                let index = u32_at(&b, offset_of!(XenHvmParam, index));
                if index >= HVM_NR_PARAMS {
                    return Err(Errno::EINVAL);
                }
                if op == HVMOP_GET_PARAM {
                    let value = self.params[index as usize];
                    g.write_linear(
                        arg + offset_of!(XenHvmParam, value) as u64,
                        &value.to_le_bytes(),
                    )?;
                    return done(0);
                }
                // A guest may only choose its callback; the rest is the
                // toolstack's (`hvm_allow_set_param()`).
                if index != HVM_PARAM_CALLBACK_IRQ {
                    return Err(Errno::EPERM);
                }
                self.params[index as usize] = u64_at(&b, offset_of!(XenHvmParam, value));
                done(0)
            }
            HVMOP_GET_TIME => {
                let now = self.system_time(g);
                g.write_linear(arg, &now.to_le_bytes())?;
                done(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    /// A write to the hypercall-page MSR (CPUID 4000_0002h EBX): fills the
    /// page at the guest-physical address written (low 12 bits: the page
    /// index, only 0 exists). An error means #GP.
    pub fn write_hypercall_msr(
        &mut self,
        g: &mut dyn GuestAccess,
        msr: u32,
        value: u64,
    ) -> Result<(), Errno> {
        if msr != XEN_MSR_HYPERCALL_PAGE || value & 0xFFF != 0 {
            return Err(Errno::EINVAL);
        }
        let page = hypercall_page(self.config.insn);
        g.write_phys(value, &page)?;
        self.hypercall_page_gpa = Some(value);
        Ok(())
    }
}

/// `console_io` (`xen.h`): `CONSOLEIO_write` goes to the hypervisor log;
/// reading gives nothing (input goes to the PV console).
fn console_io(g: &mut dyn GuestAccess, cmd: u32, count: u64, buf: u64) -> HcResult {
    match cmd {
        CONSOLEIO_WRITE => {
            let n = (count as usize).min(CONSOLE_WRITE_MAX);
            let text = read_arg(g, buf, n)?;
            g.log_output(&text);
            done(0)
        }
        CONSOLEIO_READ => done(0),
        _ => Err(Errno::ENOSYS),
    }
}

/// `vm_assist`: only the runstate update flag, which our runstate writes
/// honour trivially (the area is written while the guest is stopped).
fn vm_assist(cmd: u32, kind: u32) -> HcResult {
    match (cmd, kind) {
        (VMASST_CMD_ENABLE | VMASST_CMD_DISABLE, VMASST_TYPE_RUNSTATE_UPDATE_FLAG) => done(0),
        _ => Err(Errno::EINVAL),
    }
}
