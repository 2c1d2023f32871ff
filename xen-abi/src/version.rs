//! What `xen_version` reports (`version.h`, `features.h`; sub-operation
//! numbers in [`crate::hypercall`]): the version encoding, the fixed-size
//! strings, and the feature bits of `XENVER_get_features`.

/// `XENVER_get_features` (`struct xen_feature_info`): the 32 feature bits
/// of submap `submap_idx` (`XENFEAT_*` bit `n` is bit `n % 32` of submap
/// `n / 32`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenFeatureInfo {
    /// In: which submap.
    pub submap_idx: u32,
    /// Out: its bits.
    pub submap: u32,
}

layout!(XenFeatureInfo, size 8, submap_idx @ 0, submap @ 4);

/// Submaps that exist (`XENFEAT_NR_SUBMAPS`); only submap 0 has bits.
pub const XENFEAT_NR_SUBMAPS: u32 = 1;

/// `XENVER_extraversion` copies this many bytes (NUL-padded).
pub const XEN_EXTRAVERSION_LEN: usize = 16;
/// `XENVER_capabilities` copies this many bytes.
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;
/// `XENVER_changeset` copies this many bytes.
pub const XEN_CHANGESET_INFO_LEN: usize = 64;

/// The `XENVER_version` result (and CPUID base+1 EAX) for a version:
/// major in bits 31:16, minor in bits 15:0.
pub const fn xen_version(major: u16, minor: u16) -> u32 {
    (major as u32) << 16 | minor as u32
}

/// The major version of an [`xen_version`] value.
pub const fn version_major(version: u32) -> u16 {
    (version >> 16) as u16
}

/// The minor version of an [`xen_version`] value.
pub const fn version_minor(version: u32) -> u16 {
    version as u16
}

/// The submap-0 mask of feature bits `features` (a bit of 32 or more
/// belongs to another submap and panics).
pub const fn feature_mask(features: &[u32]) -> u32 {
    let mut mask = 0;
    let mut i = 0;
    while i < features.len() {
        mask |= 1 << features[i];
        i += 1;
    }
    mask
}

// Feature bits (`XENFEAT_*`, `features.h`); bit numbers, not masks.

/// PV: page tables may be written directly.
pub const XENFEAT_WRITABLE_PAGE_TABLES: u32 = 0;
/// PV: descriptor tables may be written directly.
pub const XENFEAT_WRITABLE_DESCRIPTOR_TABLES: u32 = 1;
/// The hypervisor translates guest-physical to machine addresses: the
/// guest uses its own frame numbers everywhere. Required by HVM guests'
/// grant and p2m code.
pub const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
/// PV: the kernel runs in ring 0.
pub const XENFEAT_SUPERVISOR_MODE_KERNEL: u32 = 3;
/// PV PAE: page directories may live above 4 GiB.
pub const XENFEAT_PAE_PGDIR_ABOVE_4GB: u32 = 4;
/// PV: `MMU_PT_UPDATE_PRESERVE_AD` is available.
pub const XENFEAT_MMU_PT_UPDATE_PRESERVE_AD: u32 = 5;
/// PV: the page clear/copy mmuext operations are available.
pub const XENFEAT_HIGHMEM_ASSIST: u32 = 6;
/// Grant maps honour the guest-available PTE bits.
pub const XENFEAT_GNTTAB_MAP_AVAIL_BITS: u32 = 7;
/// HVM: the vector type of [`crate::hvm::HVM_PARAM_CALLBACK_IRQ`] works.
pub const XENFEAT_HVM_CALLBACK_VECTOR: u32 = 8;
/// HVM: the pvclock may be used (Linux needs it for the PV clock and
/// timers).
pub const XENFEAT_HVM_SAFE_PVCLOCK: u32 = 9;
/// HVM: physical interrupts go through event channels (`physdev_op`).
pub const XENFEAT_HVM_PIRQS: u32 = 10;
/// The domain may act as dom0.
pub const XENFEAT_DOM0: u32 = 11;
/// `XENMEMF_vnode` is understood.
pub const XENFEAT_MEMORY_OP_VNODE_SUPPORTED: u32 = 13;
/// Arm: SMCCC is supported.
pub const XENFEAT_ARM_SMCCC_SUPPORTED: u32 = 14;
/// PVH Linux: the RSDP may be anywhere, not only below 1 MiB.
pub const XENFEAT_LINUX_RSDP_UNRESTRICTED: u32 = 15;
/// The domain's frame numbers are not machine frame numbers.
pub const XENFEAT_NOT_DIRECT_MAPPED: u32 = 16;
/// The domain's frame numbers are machine frame numbers.
pub const XENFEAT_DIRECT_MAPPED: u32 = 17;
/// `VCPUOP_register_runstate_phys_area` is available.
pub const XENFEAT_RUNSTATE_PHYS_AREA: u32 = 18;
/// `VCPUOP_register_vcpu_time_phys_area` is available.
pub const XENFEAT_VCPU_TIME_PHYS_AREA: u32 = 19;
/// Device models see every MSI-X vector-control write.
pub const XENFEAT_DM_MSIX_ALL_WRITES: u32 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_encoding() {
        assert_eq!(xen_version(4, 10), 0x0004_000A);
        assert_eq!(version_major(0x0004_0013), 4);
        assert_eq!(version_minor(0x0004_0013), 19);
    }

    #[test]
    fn the_hvm_feature_submap_of_the_notes() {
        let mask = feature_mask(&[
            XENFEAT_WRITABLE_PAGE_TABLES,
            XENFEAT_AUTO_TRANSLATED_PHYSMAP,
            XENFEAT_HVM_CALLBACK_VECTOR,
            XENFEAT_HVM_SAFE_PVCLOCK,
            XENFEAT_NOT_DIRECT_MAPPED,
        ]);
        assert_eq!(mask, 0x0001_0305);
        assert_eq!(feature_mask(&[]), 0);
    }
}
