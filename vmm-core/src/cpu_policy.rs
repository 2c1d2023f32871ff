//! What a domain's processor offers beyond the host's filtered features: its
//! vCPU count, whether it has a local APIC, and the hypervisor CPUID leaves
//! (4000_0000h and up) a paravirtual interface advertises. The CPUID and MSR
//! policies read it, so a domain adds a leaf, an MSR or the APIC bit here
//! instead of in the exit handlers.

use alloc::vec::Vec;

/// One CPUID result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// First CPUID leaf of the range reserved for hypervisors (Intel SDM vol. 2A,
/// CPUID: "leaves 40000000H-4FFFFFFFH are reserved for software use"; Xen's
/// `xen/include/public/arch-x86/cpuid.h` starts its leaves there).
pub const HYPERVISOR_LEAF_BASE: u32 = 0x4000_0000;

/// The processor a domain's vCPUs present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuPolicy {
    /// vCPUs in the domain (CPUID.01h:EBX[23:16] with HTT when above 1).
    pub vcpus: u32,
    /// The domain has a local APIC: CPUID.01h:EDX.APIC and IA32_APIC_BASE.
    pub local_apic: bool,
    /// The guest's TSC rate in kHz, offered with the local APIC's bus clock
    /// in CPUID 15h (`crate::cpuid_policy`); 0 when unknown.
    pub tsc_khz: u32,
    /// Leaves 4000_0000h + index, answered as given (subleaf ignored).
    pub hypervisor_leaves: Vec<CpuidResult>,
}

impl Default for CpuPolicy {
    /// One vCPU, no local APIC, no hypervisor leaves: today's PC/AT guest.
    fn default() -> Self {
        Self {
            vcpus: 1,
            local_apic: false,
            tsc_khz: 0,
            hypervisor_leaves: Vec::new(),
        }
    }
}

impl CpuPolicy {
    /// The hypervisor leaf `leaf`, if this domain offers it.
    pub fn hypervisor_leaf(&self, leaf: u32) -> Option<CpuidResult> {
        let index = leaf.checked_sub(HYPERVISOR_LEAF_BASE)?;
        self.hypervisor_leaves.get(index as usize).copied()
    }
}
