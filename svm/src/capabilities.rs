//! SVM capabilities from CPUID (AMD APM vol. 2, 15.4 "Enabling SVM"; AMD APM
//! vol. 3, appendix E.4.9 "Function 8000_000Ah—SVM Revision and Feature
//! Identification").

use bitflags::bitflags;

/// CPUID 8000_0001h ECX bit 2: SVM.
pub const CPUID_80000001_ECX_SVM: u32 = 1 << 2;

bitflags! {
    /// CPUID 8000_000Ah EDX.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SvmFeatures: u32 {
        const NP = 1 << 0;
        const LBR_VIRT = 1 << 1;
        const SVM_LOCK = 1 << 2;
        const NRIP_SAVE = 1 << 3;
        const TSC_RATE = 1 << 4;
        const VMCB_CLEAN = 1 << 5;
        const FLUSH_BY_ASID = 1 << 6;
        const DECODE_ASSISTS = 1 << 7;
        const PAUSE_FILTER = 1 << 10;
        const PAUSE_FILTER_THRESHOLD = 1 << 12;
        const AVIC = 1 << 13;
        const VMSAVE_VIRT = 1 << 15;
        const VGIF = 1 << 16;
    }
}

/// What the processor offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SvmCapabilities {
    pub revision: u8,
    pub asid_count: u32,
    pub features: SvmFeatures,
}

impl SvmCapabilities {
    /// Decodes CPUID 8000_000Ah EAX, EBX and EDX.
    pub fn from_cpuid(eax: u32, ebx: u32, edx: u32) -> Self {
        Self {
            revision: eax as u8,
            asid_count: ebx,
            features: SvmFeatures::from_bits_retain(edx),
        }
    }

    /// True when the processor has what this backend requires: nested paging and ASIDs.
    pub fn usable(&self) -> bool {
        self.features.contains(SvmFeatures::NP) && self.asid_count > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_ryzen_edx_has_nrip_save_and_np() {
        // shared/notes/bochs-vmx.md: Bochs' "ryzen" reports EDX = 0x44F.
        let c = SvmCapabilities::from_cpuid(1, 0x8000, 0x44F);
        assert!(c
            .features
            .contains(SvmFeatures::NP | SvmFeatures::NRIP_SAVE | SvmFeatures::PAUSE_FILTER));
        assert!(c.usable());
    }

    #[test]
    fn without_np_the_backend_is_unusable() {
        assert!(!SvmCapabilities::from_cpuid(1, 16, SvmFeatures::NRIP_SAVE.bits()).usable());
    }
}
