//! The hypervisor CPUID leaves through which a guest detects Xen
//! (`arch-x86/cpuid.h`), and the MSR that asks for the hypercall page.
//!
//! The leaves sit at a base that is a multiple of 0x100 from 0x4000_0000
//! on; a guest scans 0x4000_0000..=0x4000_FF00 for the signature. Xen moves
//! its base to 0x4000_0100 when it also presents Viridian (Hyper-V) leaves
//! at 0x4000_0000. Leaf numbers below are offsets from the base.

/// The first base a guest looks at (`XEN_CPUID_FIRST_LEAF`).
pub const XEN_CPUID_FIRST_LEAF: u32 = 0x4000_0000;
/// The base Xen uses when Viridian leaves occupy the first one.
pub const XEN_CPUID_VIRIDIAN_BASE: u32 = 0x4000_0100;
/// Base step a guest scans by.
pub const XEN_CPUID_BASE_STEP: u32 = 0x100;
/// The highest leaf offset Xen implements (`XEN_CPUID_MAX_NUM_LEAVES`);
/// base+0 EAX reports `base + 5`. Linux needs at least base+2, and reads
/// base+4.
pub const XEN_CPUID_MAX_NUM_LEAVES: u32 = 5;

/// Leaf base+0: EAX the highest leaf, EBX/ECX/EDX the signature.
pub const LEAF_SIGNATURE: u32 = 0;
/// Leaf base+1: EAX `major << 16 | minor` (see
/// [`crate::version::xen_version`]); EBX-EDX zero.
pub const LEAF_VERSION: u32 = 1;
/// Leaf base+2: EAX the number of hypercall pages (always 1), EBX the
/// first Xen MSR ([`XEN_MSR_HYPERCALL_PAGE`]), ECX/EDX feature words
/// (PV only).
pub const LEAF_HYPERCALL: u32 = 2;
/// Leaf base+3: TSC mode, frequency and scaling (sub-leaves 0-2).
pub const LEAF_TIME: u32 = 3;
/// Leaf base+4, sub-leaf 0: HVM features in EAX (`XEN_HVM_CPUID_*`), the
/// vCPU id in EBX, the domain id in ECX.
pub const LEAF_HVM: u32 = 4;
/// Leaf base+5: PV parameters.
pub const LEAF_PV: u32 = 5;

/// Signature EBX: "XenV".
pub const XEN_CPUID_SIGNATURE_EBX: u32 = 0x566e_6558;
/// Signature ECX: "MMXe".
pub const XEN_CPUID_SIGNATURE_ECX: u32 = 0x6558_4d4d;
/// Signature EDX: "nVMM".
pub const XEN_CPUID_SIGNATURE_EDX: u32 = 0x4d4d_566e;
/// The signature as text, EBX, ECX, EDX in turn.
pub const XEN_CPUID_SIGNATURE: &[u8; 12] = b"XenVMMXenVMM";

/// Base+4 EAX bit 0: APIC register accesses are virtualised.
pub const XEN_HVM_CPUID_APIC_ACCESS_VIRT: u32 = 1 << 0;
/// Base+4 EAX bit 1: x2APIC MSR accesses are virtualised.
pub const XEN_HVM_CPUID_X2APIC_VIRT: u32 = 1 << 1;
/// Base+4 EAX bit 2: memory mapped from other domains is in the IOMMU, so
/// grant maps need no bounce buffering.
pub const XEN_HVM_CPUID_IOMMU_MAPPINGS: u32 = 1 << 2;
/// Base+4 EAX bit 3: EBX holds the vCPU's Xen id (a guest uses 0 for the
/// boot vCPU otherwise).
pub const XEN_HVM_CPUID_VCPU_ID_PRESENT: u32 = 1 << 3;
/// Base+4 EAX bit 4: ECX holds the domain id.
pub const XEN_HVM_CPUID_DOMID_PRESENT: u32 = 1 << 4;
/// Base+4 EAX bit 5: IO-APIC RTE and MSI address bits extend the
/// destination id to 15 bits.
pub const XEN_HVM_CPUID_EXT_DEST_ID: u32 = 1 << 5;
/// Base+4 EAX bit 6: per-vCPU upcall vectors
/// ([`crate::hypercall::HVMOP_SET_EVTCHN_UPCALL_VECTOR`]) work; they are
/// delivered through the local APIC, so only with one.
pub const XEN_HVM_CPUID_UPCALL_VECTOR: u32 = 1 << 6;

/// The MSR a guest writes with the guest-physical address of a page to
/// have it filled with hypercall stubs: the index Xen reports in base+2
/// EBX (`arch-x86/cpuid.h` leaves the value to the hypervisor; this one is
/// Xen's, `xen/arch/x86/msr.c`). The low 12 bits of the value written
/// select a page index and must be zero; reads return 0.
pub const XEN_MSR_HYPERCALL_PAGE: u32 = 0x4000_0000;
/// The hypercall-page MSR index when Viridian MSRs occupy the first one.
pub const XEN_MSR_HYPERCALL_PAGE_VIRIDIAN: u32 = 0x4000_0200;

/// The three signature registers spelled out as text, in CPUID order
/// (EBX, ECX, EDX), each little-endian.
pub const fn signature_bytes(ebx: u32, ecx: u32, edx: u32) -> [u8; 12] {
    let (b, c, d) = (ebx.to_le_bytes(), ecx.to_le_bytes(), edx.to_le_bytes());
    [
        b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3],
    ]
}

const _: () = {
    let bytes = signature_bytes(
        XEN_CPUID_SIGNATURE_EBX,
        XEN_CPUID_SIGNATURE_ECX,
        XEN_CPUID_SIGNATURE_EDX,
    );
    let mut i = 0;
    while i < 12 {
        assert!(bytes[i] == XEN_CPUID_SIGNATURE[i]);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_spells_xenvmmxenvmm() {
        let bytes = signature_bytes(
            XEN_CPUID_SIGNATURE_EBX,
            XEN_CPUID_SIGNATURE_ECX,
            XEN_CPUID_SIGNATURE_EDX,
        );
        assert_eq!(&bytes, b"XenVMMXenVMM");
        assert_eq!(&XEN_CPUID_SIGNATURE_EBX.to_le_bytes(), b"XenV");
        assert_eq!(&XEN_CPUID_SIGNATURE_ECX.to_le_bytes(), b"MMXe");
        assert_eq!(&XEN_CPUID_SIGNATURE_EDX.to_le_bytes(), b"nVMM");
    }

    #[test]
    fn leaf_numbers_and_bits() {
        assert_eq!(XEN_CPUID_FIRST_LEAF + LEAF_HVM, 0x4000_0004);
        assert_eq!(XEN_CPUID_FIRST_LEAF + XEN_CPUID_MAX_NUM_LEAVES, 0x4000_0005);
        assert_eq!(XEN_HVM_CPUID_VCPU_ID_PRESENT, 8);
        assert_eq!(XEN_HVM_CPUID_UPCALL_VECTOR, 0x40);
    }
}
