//! The shared-info page and the per-vCPU structures the hypervisor writes
//! into guest memory: `shared_info`, `vcpu_info`, the pvclock
//! `vcpu_time_info` (`xen.h`), their x86 parts (`arch-x86/xen.h`,
//! `arch-x86/xen-x86_64.h`) and the runstate area (`vcpu.h`).
//!
//! An HVM guest places the shared-info page with
//! [`crate::hypercall::XENMEM_ADD_TO_PHYSMAP`] and
//! [`crate::memory::XENMAPSPACE_SHARED_INFO`]; the first
//! [`XEN_LEGACY_MAX_VCPUS`] vCPUs find their `vcpu_info` in it until they
//! register one elsewhere ([`crate::vcpu::VcpuRegisterVcpuInfo`]).

/// vCPUs whose `vcpu_info` is in the shared-info page.
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// [`VcpuTimeInfo::flags`] bit 0: the TSC is synchronised across vCPUs, so
/// readings on different vCPUs are monotonic with each other. Only set it
/// with [`crate::hypercall::VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA`]
/// implemented.
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// [`VcpuTimeInfo::flags`] bit 1: the vCPU was paused by the host (a
/// guest's watchdog should not count the gap).
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// A vCPU's pvclock (`struct vcpu_time_info`, `xen.h`; Linux's
/// `pvclock_vcpu_time_info` is the same 32 bytes).
///
/// The guest's time is `system_time + scale(tsc - tsc_timestamp)`: see
/// [`VcpuTimeInfo::scale_delta`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuTimeInfo {
    /// Update counter, a seqlock.
    ///
    /// **Ordering.** The writer makes it odd, then (store barrier) writes
    /// the other fields, then (store barrier) makes it even again. A
    /// reader reads it, retries while it is odd, (load barrier) reads the
    /// fields, (load barrier) reads it again and retries if it changed.
    /// The same protocol guards [`SharedInfo::wc_version`].
    pub version: u32,
    /// Always zero.
    pub pad0: u32,
    /// The guest TSC (after the VMCS/VMCB offset and scaling) at which
    /// `system_time` was taken.
    pub tsc_timestamp: u64,
    /// Nanoseconds since the domain's time origin at `tsc_timestamp`.
    pub system_time: u64,
    /// TSC-to-ns multiplier, a 32.32 fixed-point fraction.
    pub tsc_to_system_mul: u32,
    /// Power of two applied to a TSC delta before the multiplier
    /// (negative: shift right).
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` bits.
    pub flags: u8,
    /// Always zero.
    pub pad1: [u8; 2],
}

layout!(VcpuTimeInfo, size 32,
    version @ 0, pad0 @ 4, tsc_timestamp @ 8, system_time @ 16,
    tsc_to_system_mul @ 24, tsc_shift @ 28, flags @ 29, pad1 @ 30);

impl VcpuTimeInfo {
    /// Nanoseconds in `delta` TSC ticks at this record's scale: the delta
    /// shifted by `tsc_shift`, times `tsc_to_system_mul`, divided by 2^32
    /// (bits shifted out of 64 are lost, as in a guest's own arithmetic).
    pub const fn scale_delta(&self, delta: u64) -> u64 {
        let shift = self.tsc_shift as i32;
        let shifted = if shift >= 0 {
            match delta.checked_shl(shift as u32) {
                Some(v) => v,
                None => 0,
            }
        } else {
            match delta.checked_shr(-shift as u32) {
                Some(v) => v,
                None => 0,
            }
        };
        ((shifted as u128 * self.tsc_to_system_mul as u128) >> 32) as u64
    }
}

/// The x86 part of `vcpu_info` (`struct arch_vcpu_info`,
/// `arch-x86/xen-x86_64.h`); unused by HVM guests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ArchVcpuInfo {
    /// Faulting address of a PV guest's last page fault.
    pub cr2: u64,
    /// Always zero (pads `vcpu_info` to 64 bytes).
    pub pad: u64,
}

layout!(ArchVcpuInfo, size 16, cr2 @ 0, pad @ 8);

/// A vCPU's event-delivery state and clock (`struct vcpu_info`, `xen.h`):
/// 64 bytes, in the shared-info page or wherever the guest registered it.
///
/// **Ordering when an event is raised** (the hypervisor, with atomic
/// read-modify-write operations, each visible before the next): set the
/// port's bit in [`SharedInfo::evtchn_pending`]; if it was clear and the
/// port is unmasked, set the word's bit in `evtchn_pending_sel`; if that
/// was clear, set `evtchn_upcall_pending` and, if it was clear, kick the
/// vCPU to deliver the upcall. The
/// guest's handler clears `evtchn_upcall_pending` *before* it swaps
/// `evtchn_pending_sel` to zero and scans, so an event raised during the
/// scan sets it again and causes another upcall rather than being lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuInfo {
    /// Non-zero: some selector bit is set, run the event handler. For an
    /// HVM vCPU it is a level: the callback is injected again while it is
    /// set and the vCPU can take interrupts.
    pub evtchn_upcall_pending: u8,
    /// The PV guest's interrupt mask; Xen ignores it for HVM and PVH.
    pub evtchn_upcall_mask: u8,
    /// Always zero.
    pub pad0: [u8; 6],
    /// Bit `w`: word `w` of [`SharedInfo::evtchn_pending`] may hold
    /// pending, unmasked ports. Set by the hypervisor and taken by the
    /// guest with atomic operations only.
    pub evtchn_pending_sel: u64,
    /// The x86 part.
    pub arch: ArchVcpuInfo,
    /// The vCPU's pvclock.
    pub time: VcpuTimeInfo,
}

layout!(VcpuInfo, size 64,
    evtchn_upcall_pending @ 0, evtchn_upcall_mask @ 1, pad0 @ 2,
    evtchn_pending_sel @ 8, arch @ 16, time @ 32);

/// The x86 part of `shared_info` (`struct arch_shared_info`,
/// `arch-x86/xen.h`): the PV guest's physical-to-machine list; unused by
/// HVM and PVH guests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ArchSharedInfo {
    /// Entries in the p2m list.
    pub max_pfn: u64,
    /// Frame of the three-level p2m frame list (0: none).
    pub pfn_to_mfn_frame_list_list: u64,
    /// NMI reason bits.
    pub nmi_reason: u64,
    /// Root of the address space `p2m_vaddr` is valid in.
    pub p2m_cr3: u64,
    /// Virtual address of the linear p2m list.
    pub p2m_vaddr: u64,
    /// Odd while the p2m list is being changed.
    pub p2m_generation: u64,
}

layout!(ArchSharedInfo, size 48,
    max_pfn @ 0, pfn_to_mfn_frame_list_list @ 8, nmi_reason @ 16,
    p2m_cr3 @ 24, p2m_vaddr @ 32, p2m_generation @ 40);

/// The shared-info page (`struct shared_info`, `xen.h`): 3136 bytes at
/// the start of a 4 KiB page; the rest of the page is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SharedInfo {
    /// `vcpu_info` of vCPUs 0-31 until they register their own.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// The 2-level pending bits: port `p` is bit `p % 64` of word
    /// `p / 64` (see [`crate::event_channel::port_word`]). Set by the
    /// hypervisor and cleared by the guest, both atomically; see
    /// [`VcpuInfo`] for the order of a raise.
    pub evtchn_pending: [u64; 64],
    /// The 2-level mask bits, same indexing. Written by the guest; the
    /// hypervisor only reads them, except in
    /// [`crate::hypercall::EVTCHNOP_UNMASK`]. A port raised while masked
    /// sets only its pending bit, so a guest that finds its port pending
    /// on unmasking asks for delivery with that call; the hypervisor then
    /// clears the mask bit atomically and tests the pending bit only
    /// *after* it, delivering the event only if the mask bit was set.
    pub evtchn_mask: [u64; 64],
    /// Wallclock update counter: the odd/even protocol of
    /// [`VcpuTimeInfo::version`], guarding `wc_sec`, `wc_nsec` and
    /// `wc_sec_hi`.
    pub wc_version: u32,
    /// Low 32 bits of the Unix time, in seconds, at system time 0.
    pub wc_sec: u32,
    /// Nanoseconds part of that time.
    pub wc_nsec: u32,
    /// High 32 bits of the seconds.
    pub wc_sec_hi: u32,
    /// The x86 part.
    pub arch: ArchSharedInfo,
}

layout!(SharedInfo, size 3136,
    vcpu_info @ 0, evtchn_pending @ 0x800, evtchn_mask @ 0xA00,
    wc_version @ 0xC00, wc_sec @ 0xC04, wc_nsec @ 0xC08, wc_sec_hi @ 0xC0C,
    arch @ 0xC10);

const _: () = assert!(core::mem::size_of::<SharedInfo>() <= crate::XEN_PAGE_SIZE);

impl SharedInfo {
    /// An all-zero page.
    pub const ZERO: Self = Self {
        vcpu_info: [VcpuInfo {
            evtchn_upcall_pending: 0,
            evtchn_upcall_mask: 0,
            pad0: [0; 6],
            evtchn_pending_sel: 0,
            arch: ArchVcpuInfo { cr2: 0, pad: 0 },
            time: VcpuTimeInfo {
                version: 0,
                pad0: 0,
                tsc_timestamp: 0,
                system_time: 0,
                tsc_to_system_mul: 0,
                tsc_shift: 0,
                flags: 0,
                pad1: [0; 2],
            },
        }; XEN_LEGACY_MAX_VCPUS],
        evtchn_pending: [0; 64],
        evtchn_mask: [0; 64],
        wc_version: 0,
        wc_sec: 0,
        wc_nsec: 0,
        wc_sec_hi: 0,
        arch: ArchSharedInfo {
            max_pfn: 0,
            pfn_to_mfn_frame_list_list: 0,
            nmi_reason: 0,
            p2m_cr3: 0,
            p2m_vaddr: 0,
            p2m_generation: 0,
        },
    };

    /// The wallclock's whole seconds, `wc_sec_hi:wc_sec`.
    pub const fn wc_seconds(&self) -> u64 {
        (self.wc_sec_hi as u64) << 32 | self.wc_sec as u64
    }
}

impl Default for SharedInfo {
    fn default() -> Self {
        Self::ZERO
    }
}

/// [`VcpuRunstateInfo::state_entry_time`] bit 63: set while the hypervisor
/// rewrites the area, if the guest enabled
/// [`crate::hypercall::VMASST_TYPE_RUNSTATE_UPDATE_FLAG`] (`vcpu.h`).
///
/// **Ordering.** Set the flag (a store to the top byte suffices), store
/// barrier, write the structure, store barrier, clear the flag. A reader
/// retries while the flag is set or `state_entry_time` changed under it.
pub const XEN_RUNSTATE_UPDATE: u64 = 1 << 63;

/// A vCPU's runstate and the time it spent in each (`struct
/// vcpu_runstate_info`, `vcpu.h`), written by the hypervisor to the area
/// the guest registered
/// ([`crate::vcpu::VcpuRegisterRunstateMemoryArea`]). The guest takes
/// `time[RUNSTATE_RUNNABLE] + time[RUNSTATE_OFFLINE]` as steal time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuRunstateInfo {
    /// The current state, a `crate::vcpu::RUNSTATE_*` value.
    pub state: i32,
    /// Always zero.
    pub pad0: u32,
    /// System time (ns) the state was entered, plus
    /// [`XEN_RUNSTATE_UPDATE`] during an update.
    pub state_entry_time: u64,
    /// Nanoseconds spent in each state, indexed by `RUNSTATE_*`.
    pub time: [u64; 4],
}

layout!(VcpuRunstateInfo, size 48,
    state @ 0, pad0 @ 4, state_entry_time @ 8, time @ 16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pvclock_scaling_at_3_ghz() {
        // 3 GHz: the TSC is halved (shift -1) and multiplied by 2/3
        // (0xAAAAAAAA / 2^32), a third of a nanosecond per tick.
        let t = VcpuTimeInfo {
            tsc_to_system_mul: 0xAAAA_AAAA,
            tsc_shift: -1,
            ..VcpuTimeInfo::default()
        };
        assert_eq!(t.scale_delta(3_000_000_000), 999_999_999);
        assert_eq!(t.scale_delta(0), 0);
    }

    #[test]
    fn pvclock_scaling_with_a_left_shift() {
        // 500 MHz: shift +1, multiplier 1.0 (2^32 does not fit; the
        // largest fraction is just below 1).
        let t = VcpuTimeInfo {
            tsc_to_system_mul: u32::MAX,
            tsc_shift: 1,
            ..VcpuTimeInfo::default()
        };
        assert_eq!(t.scale_delta(500_000_000), 999_999_999);
        // No overflow for a delta near 2^64 >> shift.
        assert_eq!(
            t.scale_delta(1 << 62),
            (((1u128 << 63) * 0xFFFF_FFFF) >> 32) as u64
        );
    }

    #[test]
    fn wallclock_seconds_join_the_halves() {
        let s = SharedInfo {
            wc_sec: 0x8000_0000,
            wc_sec_hi: 1,
            ..SharedInfo::ZERO
        };
        assert_eq!(s.wc_seconds(), 0x1_8000_0000);
        assert_eq!(SharedInfo::default(), SharedInfo::ZERO);
    }
}
