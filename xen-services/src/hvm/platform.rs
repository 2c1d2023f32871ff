//! What a guest sees of Xen before its first hypercall: the CPUID leaves
//! from 4000_0000h (`xen/include/public/arch-x86/cpuid.h`) and the
//! hypercall page a kernel before the direct-call change asks for through
//! the MSR that leaf 4000_0002h names.

use xen_abi::cpuid::*;
use xen_abi::hypercall::{
    hypercall_stub, hypercall_stub_offset, HYPERCALL_PAGE_FILL, HYPERCALL_PAGE_STUBS, VMCALL,
    VMMCALL,
};
use xen_abi::XEN_PAGE_SIZE;

/// The Xen version we report: 4.17, Debian 12's Xen, so a guest's
/// version-gated paths (XS_RESET_WATCHES needs major >= 4) are those it
/// knows.
pub const XEN_VERSION_MAJOR: u16 = 4;
/// See [`XEN_VERSION_MAJOR`].
pub const XEN_VERSION_MINOR: u16 = 17;

/// The hypercall instruction of the processor the guest runs on: Linux
/// picks VMMCALL on AMD and Hygon, VMCALL elsewhere, and so does the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HypercallInsn {
    /// Intel VT-x `VMCALL`.
    Vmcall,
    /// AMD SVM `VMMCALL`.
    Vmmcall,
}

/// The leaves 4000_0000h..=4000_0004h as `[eax, ebx, ecx, edx]`, for
/// `vcpu_id` (reported in leaf 4's EBX) of domain `domid`. Leaf 4 says
/// nothing of APIC virtualisation or the per-vCPU upcall vector (bit 6):
/// the guest is offered the global callback vector only.
pub fn cpuid_leaves(vcpu_id: u32, domid: u16) -> [[u32; 4]; 5] {
    let version = u32::from(XEN_VERSION_MAJOR) << 16 | u32::from(XEN_VERSION_MINOR);
    [
        [
            XEN_CPUID_FIRST_LEAF + LEAF_HVM,
            XEN_CPUID_SIGNATURE_EBX,
            XEN_CPUID_SIGNATURE_ECX,
            XEN_CPUID_SIGNATURE_EDX,
        ],
        [version, 0, 0, 0],
        // One hypercall page, set up through MSR 4000_0000h.
        [1, XEN_MSR_HYPERCALL_PAGE, 0, 0],
        // TSC leaf: not read by Linux; all zero means "no information".
        [0, 0, 0, 0],
        [
            XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT,
            vcpu_id,
            u32::from(domid),
            0,
        ],
    ]
}

/// The hypercall page: stub `n` at `n * 32` loads `n` into EAX, makes the
/// hypercall and returns (`mov eax, n; vmcall|vmmcall; ret`); the slot of
/// `HYPERVISOR_iret` holds UD2, as Xen's `hvm_hypercall_page_initialise()`
/// arranges, and the rest is INT3.
pub fn hypercall_page(insn: HypercallInsn) -> [u8; XEN_PAGE_SIZE] {
    let mut page = [HYPERCALL_PAGE_FILL; XEN_PAGE_SIZE];
    let bytes = match insn {
        HypercallInsn::Vmcall => VMCALL,
        HypercallInsn::Vmmcall => VMMCALL,
    };
    for nr in 0..HYPERCALL_PAGE_STUBS as u32 {
        let at = hypercall_stub_offset(nr);
        let stub = hypercall_stub(nr, bytes);
        page[at..at + stub.len()].copy_from_slice(&stub);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_abi::hypercall::UD2;

    #[test]
    fn the_signature_leaf_names_xen_and_the_last_leaf() {
        let l = cpuid_leaves(0, 1);
        assert_eq!(
            &signature_bytes(l[0][1], l[0][2], l[0][3]),
            XEN_CPUID_SIGNATURE
        );
        assert_eq!(l[0][0], 0x4000_0004, "Linux reads leaf base+4");
        assert_eq!(l[1][0] >> 16, 4);
        assert_eq!(l[2], [1, 0x4000_0000, 0, 0]);
    }

    #[test]
    fn leaf_four_gives_the_vcpu_and_domain_and_no_upcall_vector() {
        let l = cpuid_leaves(3, 7)[4];
        assert_ne!(l[0] & XEN_HVM_CPUID_VCPU_ID_PRESENT, 0);
        assert_eq!(l[0] & XEN_HVM_CPUID_UPCALL_VECTOR, 0);
        assert_eq!((l[1], l[2]), (3, 7));
    }

    #[test]
    fn each_stub_loads_its_number_and_calls_the_right_instruction() {
        for (insn, bytes) in [
            (HypercallInsn::Vmcall, VMCALL),
            (HypercallInsn::Vmmcall, VMMCALL),
        ] {
            let page = hypercall_page(insn);
            for nr in [0u32, 12, 17, 29, 127] {
                let at = nr as usize * 32;
                assert_eq!(page[at], 0xB8, "mov eax, imm32");
                assert_eq!(&page[at + 1..at + 5], &nr.to_le_bytes());
                assert_eq!(&page[at + 5..at + 8], &bytes);
                assert_eq!(page[at + 8], 0xC3, "ret");
            }
            assert_eq!(&page[23 * 32..23 * 32 + 2], &UD2);
        }
    }
}
