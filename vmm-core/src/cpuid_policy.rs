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

/// CPUID.06h:EAX.ARAT (bit 2): the APIC timer always runs.
const LEAF6_EAX_ARAT: u32 = 1 << 2;

/// Highest basic leaf we pass on (leaf 7 and below; XSAVE leaf 0Dh is hidden).
const MAX_BASIC_LEAF: u32 = 0x7;
/// CPUID 15h, "Time Stamp Counter and Nominal Core Crystal Clock
/// Information" (Intel SDM vol. 2A, CPUID, table 3-8): offered, with leaves
/// 8h to 14h reading as zero, when the domain has a local APIC and a known
/// TSC rate (see [`tsc_leaf`]).
const TSC_LEAF: u32 = 0x15;

use crate::cpu_policy::{CpuPolicy, CpuidResult};
use device_model::lapic::APIC_BUS_HZ;

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
    // Leaf 15h's ratio is worked out only when it is asked for (a search
    // of some thousand steps; Linux reads the leaf once or twice).
    let tsc_leaf_offered = policy.local_apic && policy.tsc_khz != 0;
    match leaf {
        0 => CpuidResult {
            eax: if tsc_leaf_offered {
                TSC_LEAF
            } else {
                host(0, 0).eax.min(MAX_BASIC_LEAF)
            },
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
        // Leaf 6: thermal and power management, as KVM offers it: ARAT
        // (EAX bit 2, the APIC timer keeps running in deep C-states) where
        // the host has it, nothing else (Intel SDM vol. 2A, CPUID leaf 06h).
        // Passed through, APERFMPERF (ECX bit 0) made Linux read IA32_APERF
        // and IA32_MPERF on every tick (`arch_scale_freq_tick`): two exits
        // per tick that, on a slow host, stretch each tick of a periodic
        // tick emulated on the TSC-deadline timer, so jiffies fall behind
        // the TSC and the early clocksource watchdog marks it unstable. The
        // counters would only ever show the ratio 1 anyway (`msr_policy`).
        6 => CpuidResult {
            eax: host(6, 0).eax & LEAF6_EAX_ARAT,
            ..CpuidResult::default()
        },
        // Leaf 7: structured extended features; report none beyond what plain
        // instructions need (no AVX2/AVX-512 state: XSAVE is hidden).
        7 => CpuidResult::default(),
        l if l <= MAX_BASIC_LEAF && l != 4 => host(l, subleaf),
        TSC_LEAF if tsc_leaf_offered => tsc_leaf(policy.tsc_khz),
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

/// CPUID 15h for a TSC of `tsc_khz`: the "core crystal clock" (ECX, Hz) is
/// the local APIC's bus clock ([`APIC_BUS_HZ`]), and EBX/EAX the TSC's
/// ratio to it (Intel SDM vol. 2A, CPUID leaf 15h: TSC = ECX * EBX / EAX).
/// Linux (arch/x86/kernel/tsc.c, `native_calibrate_tsc`, Intel vendors
/// only) then knows the TSC rate without calibrating it against the PIT or
/// the PM timer, which nested emulation makes too slow to read, and takes
/// its LAPIC timer period from the same crystal (`lapic_timer_period`).
/// Linux multiplies the crystal in kHz by EBX in 32 bits, so EBX stays at
/// most `u32::MAX / crystal_khz` and the ratio is the closest fraction
/// within that bound (4294 with a 1 GHz crystal: some 10^-7 off).
fn tsc_leaf(tsc_khz: u32) -> CpuidResult {
    let crystal_khz = (APIC_BUS_HZ / 1000) as u32;
    let (numerator, denominator) = closest_ratio(tsc_khz, crystal_khz, u32::MAX / crystal_khz);
    CpuidResult {
        eax: denominator,
        ebx: numerator,
        ecx: APIC_BUS_HZ as u32,
        edx: 0,
    }
}

/// The fraction n/d closest to `num`/`den` with 1 <= n <= `max_n`
/// (`(0, 1)` when `num` is 0). A plain search over n: `max_n` is a few
/// thousand and this runs once per domain.
fn closest_ratio(num: u32, den: u32, max_n: u32) -> (u32, u32) {
    let (num, den) = (u128::from(num), u128::from(den.max(1)));
    if num == 0 {
        return (0, 1);
    }
    // Error of n/d: |n*den - d*num| / (d*den); compared by cross-multiplying.
    let mut best: Option<(u128, u128, u128)> = None; // (n, d, |n*den - d*num|)
    for n in 1..=u128::from(max_n.max(1)) {
        let d = ((n * den + num / 2) / num).clamp(1, u128::from(u32::MAX));
        let err = (n * den).abs_diff(d * num);
        let better = match best {
            None => true,
            Some((_, bd, be)) => err * bd < be * d,
        };
        if better {
            best = Some((n, d, err));
        }
        if err == 0 {
            break;
        }
    }
    let (n, d, _) = best.unwrap_or((1, 1, 0));
    (n as u32, d as u32)
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
    fn leaf_6_offers_arat_alone_as_kvm_does() {
        let host = |leaf: u32, sub: u32| match leaf {
            6 => CpuidResult {
                eax: 0x77,
                ebx: 2,
                ecx: 0x9,
                edx: 1,
            },
            _ => fake_host(leaf, sub),
        };
        let r = guest_cpuid(&pc(), 6, 0, &host);
        assert_eq!(
            r,
            CpuidResult {
                eax: 0x4,
                ..Default::default()
            }
        );
        // No ARAT on the host: none offered.
        let none = |leaf: u32, sub: u32| match leaf {
            6 => CpuidResult {
                eax: 0x3,
                ecx: 1,
                ..Default::default()
            },
            _ => fake_host(leaf, sub),
        };
        assert_eq!(guest_cpuid(&pc(), 6, 0, &none), CpuidResult::default());
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
    fn with_a_local_apic_and_a_known_tsc_rate_leaf_15h_gives_the_rate_on_the_apic_bus_crystal() {
        let policy = CpuPolicy {
            local_apic: true,
            tsc_khz: 2_102_862,
            ..CpuPolicy::default()
        };
        assert_eq!(guest_cpuid(&policy, 0, 0, &fake_host).eax, 0x15);
        let r = guest_cpuid(&policy, 0x15, 0, &fake_host);
        assert_eq!(r.ecx, 1_000_000_000, "the crystal is the APIC bus");
        // What Linux computes, in its 32-bit arithmetic.
        let crystal_khz = r.ecx / 1000;
        let khz = crystal_khz.checked_mul(r.ebx).expect("no 32-bit overflow") / r.eax;
        assert!(khz.abs_diff(2_102_862) <= 1, "{khz} kHz");
        assert_eq!(
            crystal_khz * 1000 / 250,
            4_000_000,
            "LAPIC timer period at HZ=250"
        );
        // Leaves between 7 and 15h read as zero, not the host's.
        for leaf in 8..0x15 {
            assert_eq!(
                guest_cpuid(&policy, leaf, 0, &fake_host),
                CpuidResult::default()
            );
        }
        // No LAPIC or no rate: no leaf 15h, the old maximum.
        for p in [
            CpuPolicy {
                tsc_khz: 2_102_862,
                ..CpuPolicy::default()
            },
            CpuPolicy {
                local_apic: true,
                ..CpuPolicy::default()
            },
        ] {
            assert_eq!(guest_cpuid(&p, 0, 0, &fake_host).eax, MAX_BASIC_LEAF);
            assert_eq!(guest_cpuid(&p, 0x15, 0, &fake_host), CpuidResult::default());
        }
    }

    #[test]
    fn the_tsc_ratio_is_the_closest_fraction_linux_can_multiply_without_overflow() {
        for khz in [
            1,
            999,
            1_000_000,
            1_000_001,
            2_102_862,
            3_999_999,
            4_294_967,
            u32::MAX,
        ] {
            let r = tsc_leaf(khz);
            let crystal_khz = u64::from(r.ecx / 1000);
            assert!(
                crystal_khz * u64::from(r.ebx) <= u64::from(u32::MAX),
                "{khz}"
            );
            assert!(r.eax > 0 && r.ebx > 0, "{khz}");
            let got = crystal_khz * u64::from(r.ebx) / u64::from(r.eax);
            // Within 10 ppm (or 1 kHz), up to the largest rate 4294 times
            // the crystal can express.
            let want = u64::from(khz).min(4_294_000_000);
            assert!(
                got.abs_diff(want) <= (want / 100_000).max(1),
                "{khz}: {got}"
            );
        }
        assert_eq!(closest_ratio(0, 7, 10), (0, 1));
        assert_eq!(closest_ratio(3, 2, 10), (3, 2));
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
            tsc_khz: 0,
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
