//! What CPUID tells the guest: the host's answer with the features this
//! hypervisor does not virtualize taken out (Intel SDM vol. 2A, CPUID
//! "Information Returned by CPUID Instruction"; AMD APM vol. 3, appendix E
//! "Obtaining Processor Information Via the CPUID Instruction").

/// CPUID.01h:EDX features passed to the guest (Intel SDM vol. 2A, CPUID,
/// table 3-11): FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, SEP, PGE, CMOV, PSE-36,
/// CLFSH, MMX, FXSR, SSE, SSE2, and MCE/MCA (7, 14: the machine-check MSRs
/// are answered as Xen's virtual MCE does, two banks that never report an
/// error, `crate::msr_policy`; without them Linux prints "mce: Unable to init
/// MCE device"). Everything else is hidden: the local APIC (added by the
/// domain's policy when it has one), MTRRs, PAT, debug store, ACPI thermal
/// control, self-snoop, HTT, thermal monitor and PBE all come with MSRs or
/// devices this hypervisor does not emulate.
const LEAF1_EDX_PASSED: u32 = (1 << 0)
    | (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 8)
    | (1 << 11)
    | (1 << 13)
    | (1 << 14)
    | (1 << 15)
    | (1 << 17)
    | (1 << 19)
    | (1 << 23)
    | (1 << 24)
    | (1 << 25)
    | (1 << 26);
/// CPUID.01h:ECX features passed (table 3-10): SSE3, PCLMULQDQ, SSSE3, CX16,
/// SSE4.1, SSE4.2, MOVBE, POPCNT, AES, RDRAND. Hidden: VMX, SMX, EST, TM2,
/// debug-store and perfmon capabilities, PCID, x2APIC, TSC deadline, XSAVE and
/// everything that needs it (AVX, FMA, F16C), MONITOR.
const LEAF1_ECX_PASSED: u32 = (1 << 0)
    | (1 << 1)
    | (1 << 9)
    | (1 << 13)
    | (1 << 19)
    | (1 << 20)
    | (1 << 22)
    | (1 << 23)
    | (1 << 25)
    | (1 << 30);
/// CPUID.01h:ECX bit 31: running under a hypervisor.
const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;
/// CPUID.8000_0001h:EDX features passed (AMD APM vol. 3, E.4.2): the leaf-1
/// mirror bits above plus SYSCALL (11), NX (20), MMX extensions (22), FFXSR
/// (25), 1 GiB pages (26), long mode (29), 3DNow! (30, 31). Hidden: RDTSCP.
const EXT1_EDX_PASSED: u32 = LEAF1_EDX_PASSED
    | (1 << 11)
    | (1 << 20)
    | (1 << 22)
    | (1 << 25)
    | (1 << 26)
    | (1 << 29)
    | (1 << 30)
    | (1 << 31);
/// CPUID.8000_0001h:ECX features passed: LAHF/SAHF in 64-bit mode (0),
/// ABM/LZCNT (5), SSE4a (6), misaligned SSE (7), PREFETCHW (8). Hidden: SVM,
/// the extended APIC space, IBS, SKINIT, watchdog, performance-counter and
/// topology extensions (their MSRs are not emulated).
const EXT1_ECX_PASSED: u32 = (1 << 0) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8);

/// Highest basic leaf we pass on (leaf 7 and below; XSAVE leaf 0Dh is hidden).
const MAX_BASIC_LEAF: u32 = 0x7;

use crate::cpu_policy::{CpuPolicy, CpuidResult};

/// CPUID.01h:EDX.APIC: an on-chip local APIC.
const LEAF1_EDX_APIC: u32 = 1 << 9;
/// CPUID.01h:ECX.x2APIC (21) and TSC-Deadline (24): the local APIC's
/// x2APIC mode and its TSC-deadline timer mode, both emulated with it
/// (`device_model::lapic`; Intel SDM vol. 3A, 12.12 and 12.5.4.1).
const LEAF1_ECX_X2APIC_TSC_DEADLINE: u32 = (1 << 21) | (1 << 24);
/// CPUID.01h:EDX.HTT: EBX[23:16] counts the logical processors.
const LEAF1_EDX_HTT: u32 = 1 << 28;

/// The guest's CPUID(`leaf`, `subleaf`) on a processor as `policy` describes
/// it, given the host's as `host`.
pub fn guest_cpuid(
    policy: &CpuPolicy,
    leaf: u32,
    subleaf: u32,
    host: &dyn Fn(u32, u32) -> CpuidResult,
) -> CpuidResult {
    if let Some(r) = policy.hypervisor_leaf(leaf) {
        return r;
    }
    let max_ext = host(0x8000_0000, 0).eax;
    match leaf {
        0 => CpuidResult {
            eax: host(0, 0).eax.min(MAX_BASIC_LEAF),
            ..host(0, 0)
        },
        1 => {
            let mut r = host(1, 0);
            r.edx &= LEAF1_EDX_PASSED;
            r.ecx = (r.ecx & LEAF1_ECX_PASSED) | LEAF1_ECX_HYPERVISOR;
            if policy.local_apic {
                r.edx |= LEAF1_EDX_APIC;
                r.ecx |= LEAF1_ECX_X2APIC_TSC_DEADLINE;
            }
            // APIC ID 0 (the boot processor); the logical-processor count
            // only where HTT says it is valid.
            r.ebx &= 0x0000_FFFF;
            if policy.vcpus > 1 {
                r.edx |= LEAF1_EDX_HTT;
                r.ebx |= policy.vcpus.min(255) << 16;
            }
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
            r.ecx &= EXT1_ECX_PASSED;
            r.edx &= EXT1_EDX_PASSED;
            r
        }
        // Advanced power management: no scalable MCA (EBX bit 3), whose MSRs
        // are not emulated; Linux panics on them once MCA is offered (KVM
        // also clears EBX).
        0x8000_0007 if 0x8000_0007 <= max_ext => CpuidResult {
            ebx: 0,
            ..host(leaf, 0)
        },
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

    /// Today's PC/AT guest: one vCPU, no APIC, no hypervisor leaves.
    fn pc() -> CpuPolicy {
        CpuPolicy::default()
    }

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
        let r = guest_cpuid(&pc(), 1, 0, &fake_host);
        // VMX (5), XSAVE (26), x2APIC (21) hidden; hypervisor bit set
        assert_eq!(r.ecx & ((1 << 5) | (1 << 26) | (1 << 21)), 0);
        assert_ne!(r.ecx & LEAF1_ECX_HYPERVISOR, 0);
        // APIC (9, without a local APIC), MTRR (12), PAT (16) hidden; SSE2
        // (26) and MCE/MCA (7, 14: answered by the MSR policy) kept
        assert_eq!(r.edx & ((1 << 9) | (1 << 12) | (1 << 16)), 0);
        assert_eq!(
            r.edx & ((1 << 26) | (1 << 7) | (1 << 14)),
            (1 << 26) | (1 << 7) | (1 << 14)
        );
        assert_eq!(r.ebx >> 16, 0, "one logical CPU, APIC ID 0");
        let ext = guest_cpuid(&pc(), 0x8000_0001, 0, &fake_host);
        assert_eq!(ext.ecx & (1 << 2), 0, "SVM hidden");
        assert_ne!(ext.edx & (1 << 29), 0, "long mode kept");
        assert_eq!(ext.edx & (1 << 27), 0, "RDTSCP hidden");
    }

    #[test]
    fn vendor_is_passed_and_max_leaf_capped() {
        let r = guest_cpuid(&pc(), 0, 0, &fake_host);
        assert_eq!(r.eax, MAX_BASIC_LEAF);
        assert_eq!(r.ebx, 0x756E_6547);
    }

    #[test]
    fn leaves_out_of_range_read_as_zero() {
        assert_eq!(
            guest_cpuid(&pc(), 0x4000_0000, 0, &fake_host),
            CpuidResult::default()
        );
        assert_eq!(
            guest_cpuid(&pc(), 0xD, 0, &fake_host),
            CpuidResult::default()
        );
        assert_eq!(guest_cpuid(&pc(), 0x8000_0008, 0, &fake_host).eax, 0x3027);
    }

    #[test]
    fn a_domain_adds_the_apic_bit_a_vcpu_count_and_hypervisor_leaves() {
        let leaf = CpuidResult {
            eax: 0x4000_0001,
            ebx: 0x566E_6558,
            ..Default::default()
        };
        let policy = CpuPolicy {
            vcpus: 4,
            local_apic: true,
            hypervisor_leaves: alloc::vec![leaf],
        };
        let r = guest_cpuid(&policy, 1, 0, &fake_host);
        assert_ne!(r.edx & LEAF1_EDX_APIC, 0);
        assert_eq!(
            r.ecx & LEAF1_ECX_X2APIC_TSC_DEADLINE,
            LEAF1_ECX_X2APIC_TSC_DEADLINE
        );
        let without = guest_cpuid(&pc(), 1, 0, &fake_host);
        assert_eq!(without.edx & LEAF1_EDX_APIC, 0);
        assert_eq!(without.ecx & LEAF1_ECX_X2APIC_TSC_DEADLINE, 0);
        assert_ne!(r.edx & LEAF1_EDX_HTT, 0);
        assert_eq!((r.ebx >> 16) & 0xFF, 4);
        assert_eq!(guest_cpuid(&policy, 0x4000_0000, 0, &fake_host), leaf);
        assert_eq!(
            guest_cpuid(&policy, 0x4000_0001, 0, &fake_host),
            CpuidResult::default()
        );
    }
}
