//! `vcpu_op` argument structures and runstate values (`vcpu.h`;
//! sub-operation numbers in [`crate::hypercall`]). `vcpu_op` takes the
//! target vCPU's id as its second argument.

/// `VCPUOP_register_vcpu_info` (`struct vcpu_register_vcpu_info`): move
/// the vCPU's [`crate::shared_info::VcpuInfo`] out of the shared-info page
/// to `offset` in guest frame `mfn`. The area may not cross a page
/// boundary, and registering a second time fails with `EINVAL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuRegisterVcpuInfo {
    /// The guest frame (a GFN for an HVM guest, despite the name).
    pub mfn: u64,
    /// Byte offset in that frame.
    pub offset: u32,
    /// Unused; zero.
    pub rsvd: u32,
}

layout!(VcpuRegisterVcpuInfo, size 16, mfn @ 0, offset @ 8, rsvd @ 12);

/// `VCPUOP_set_singleshot_timer` (`struct vcpu_set_singleshot_timer`):
/// raise the vCPU's `VIRQ_TIMER` once at `timeout_abs_ns`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuSetSingleshotTimer {
    /// Absolute system time (ns), the clock of
    /// [`crate::shared_info::VcpuTimeInfo`].
    pub timeout_abs_ns: u64,
    /// `VCPU_SSHOTTMR_*` bits.
    pub flags: u32,
    /// Always zero.
    pub pad0: u32,
}

layout!(VcpuSetSingleshotTimer, size 16, timeout_abs_ns @ 0, flags @ 8, pad0 @ 12);

/// [`VcpuSetSingleshotTimer::flags`] bit 0: the guest would rather get
/// `ETIME` than an immediate event if the timeout has already passed; the
/// hypervisor may ignore it. Linux passes 0.
pub const VCPU_SSHOTTMR_FUTURE: u32 = 1 << 0;

/// `VCPUOP_set_periodic_timer` (`struct vcpu_set_periodic_timer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuSetPeriodicTimer {
    /// Period in ns.
    pub period_ns: u64,
}

layout!(VcpuSetPeriodicTimer, size 8, period_ns @ 0);

/// `VCPUOP_register_runstate_memory_area` (`struct
/// vcpu_register_runstate_memory_area`): where the hypervisor keeps the
/// vCPU's [`crate::shared_info::VcpuRunstateInfo`] up to date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuRegisterRunstateMemoryArea {
    /// Guest-virtual address of the area (a union of handle, pointer and
    /// u64 in C).
    pub addr: u64,
}

layout!(VcpuRegisterRunstateMemoryArea, size 8, addr @ 0);

/// `VCPUOP_register_vcpu_time_memory_area` (`struct
/// vcpu_register_time_memory_area`): a second copy of the vCPU's
/// [`crate::shared_info::VcpuTimeInfo`], for user-mode clock reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuRegisterTimeMemoryArea {
    /// Guest-virtual address of the area.
    pub addr: u64,
}

layout!(VcpuRegisterTimeMemoryArea, size 8, addr @ 0);

// `VcpuRunstateInfo::state` values and `time[]` indices (`RUNSTATE_*`).

/// Running on a physical CPU.
pub const RUNSTATE_RUNNING: i32 = 0;
/// Ready to run but not scheduled: counts as steal time.
pub const RUNSTATE_RUNNABLE: i32 = 1;
/// Blocked (idle).
pub const RUNSTATE_BLOCKED: i32 = 2;
/// Neither runnable nor blocked (paused, hot-unplugged): counts as steal
/// time.
pub const RUNSTATE_OFFLINE: i32 = 3;
