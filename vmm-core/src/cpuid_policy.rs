//! What CPUID tells the guest: the host's answer with the features this
//! hypervisor does not virtualize taken out (Intel SDM vol. 2A, CPUID
//! "Information Returned by CPUID Instruction"; AMD APM vol. 3, appendix E
//! "Obtaining Processor Information Via the CPUID Instruction").

/// CPUID.01h:ECX bit 5: VMX.
const LEAF1_ECX_VMX: u32 = 1 << 5;
/// CPUID.01h:ECX bit 26: XSAVE; bit 27: OSXSAVE; bit 28: AVX.
const LEAF1_ECX_XSAVE: u32 = 1 << 26;
const LEAF1_ECX_OSXSAVE: u32 = 1 << 27;
const LEAF1_ECX_AVX: u32 = 1 << 28;
/// CPUID.01h:ECX bit 21: x2APIC; bit 24: TSC deadline timer; bit 3: MONITOR.
const LEAF1_ECX_X2APIC: u32 = 1 << 21;
const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
const LEAF1_ECX_MONITOR: u32 = 1 << 3;
/// CPUID.01h:ECX bit 31: running under a hypervisor.
const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;
/// CPUID.01h:EDX bit 9: local APIC; bit 12: MTRR; bit 16: PAT; bit 28: HTT.
const LEAF1_EDX_APIC: u32 = 1 << 9;
const LEAF1_EDX_MTRR: u32 = 1 << 12;
const LEAF1_EDX_PAT: u32 = 1 << 16;
const LEAF1_EDX_HTT: u32 = 1 << 28;
/// CPUID.8000_0001h:ECX bit 2: SVM.
const EXT1_ECX_SVM: u32 = 1 << 2;
/// CPUID.8000_0001h:EDX bit 27: RDTSCP.
const EXT1_EDX_RDTSCP: u32 = 1 << 27;

/// Highest basic leaf we pass on (leaf 7 and below; XSAVE leaf 0Dh is hidden).
const MAX_BASIC_LEAF: u32 = 0x7;

/// One CPUID result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// The guest's CPUID(`leaf`, `subleaf`), given the host's as `host`.
pub fn guest_cpuid(leaf: u32, subleaf: u32, host: &dyn Fn(u32, u32) -> CpuidResult) -> CpuidResult {
    let max_ext = host(0x8000_0000, 0).eax;
    match leaf {
        0 => CpuidResult {
            eax: host(0, 0).eax.min(MAX_BASIC_LEAF),
            ..host(0, 0)
        },
        1 => {
            let mut r = host(1, 0);
            r.ecx &= !(LEAF1_ECX_VMX
                | LEAF1_ECX_XSAVE
                | LEAF1_ECX_OSXSAVE
                | LEAF1_ECX_AVX
                | LEAF1_ECX_X2APIC
                | LEAF1_ECX_TSC_DEADLINE
                | LEAF1_ECX_MONITOR);
            r.ecx |= LEAF1_ECX_HYPERVISOR;
            // No local APIC, MTRRs or PAT yet; one logical processor with APIC ID 0.
            r.edx &= !(LEAF1_EDX_APIC | LEAF1_EDX_MTRR | LEAF1_EDX_PAT | LEAF1_EDX_HTT);
            r.ebx &= 0x0000_FFFF;
            r
        }
        // Leaf 7: structured extended features; report none beyond what plain
        // instructions need (no AVX2/AVX-512 state: XSAVE is hidden).
        7 => CpuidResult::default(),
        l if l <= MAX_BASIC_LEAF && l != 4 => host(l, subleaf),
        0x8000_0000 => CpuidResult {
            eax: max_ext.min(0x8000_0008),
            ..host(leaf, 0)
        },
        0x8000_0001 => {
            let mut r = host(leaf, 0);
            r.ecx &= !EXT1_ECX_SVM;
            r.edx &= !EXT1_EDX_RDTSCP;
            r
        }
        l if (0x8000_0002..=0x8000_0008).contains(&l)
            && l <= max_ext
            && l != 0x8000_0005
            && l != 0x8000_0006 =>
        {
            host(l, subleaf)
        }
        _ => CpuidResult::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_host(leaf: u32, _sub: u32) -> CpuidResult {
        match leaf {
            0 => CpuidResult {
                eax: 0x16,
                ebx: 0x756E_6547,
                ecx: 0x6C65_746E,
                edx: 0x4965_6E69,
            },
            1 => CpuidResult {
                eax: 0x906EA,
                ebx: 0x0410_0800,
                ecx: 0xFFFF_FFFF,
                edx: 0xFFFF_FFFF,
            },
            0x8000_0000 => CpuidResult {
                eax: 0x8000_0008,
                ..Default::default()
            },
            0x8000_0001 => CpuidResult {
                ecx: 0xFFFF_FFFF,
                edx: 0xFFFF_FFFF,
                ..Default::default()
            },
            0x8000_0008 => CpuidResult {
                eax: 0x3027,
                ..Default::default()
            },
            _ => CpuidResult {
                eax: 0xDEAD,
                ..Default::default()
            },
        }
    }

    #[test]
    fn virtualization_and_unsupported_features_are_hidden() {
        let r = guest_cpuid(1, 0, &fake_host);
        assert_eq!(
            r.ecx & (LEAF1_ECX_VMX | LEAF1_ECX_XSAVE | LEAF1_ECX_X2APIC),
            0
        );
        assert_ne!(r.ecx & LEAF1_ECX_HYPERVISOR, 0);
        assert_eq!(r.ebx >> 16, 0, "one logical CPU, APIC ID 0");
        assert_eq!(
            guest_cpuid(0x8000_0001, 0, &fake_host).ecx & EXT1_ECX_SVM,
            0
        );
    }

    #[test]
    fn vendor_is_passed_and_max_leaf_capped() {
        let r = guest_cpuid(0, 0, &fake_host);
        assert_eq!(r.eax, MAX_BASIC_LEAF);
        assert_eq!(r.ebx, 0x756E_6547);
    }

    #[test]
    fn leaves_out_of_range_read_as_zero() {
        assert_eq!(
            guest_cpuid(0x4000_0000, 0, &fake_host),
            CpuidResult::default()
        );
        assert_eq!(guest_cpuid(0xD, 0, &fake_host), CpuidResult::default());
        assert_eq!(guest_cpuid(0x8000_0008, 0, &fake_host).eax, 0x3027);
    }
}
