//! The MSR policy's host tests: the architectural MSRs, then every MSR the
//! vendor modules and the machine-check module answer, on the vendor that
//! has it and on the one that does not.

use super::*;

struct State {
    efer: u64,
    cr0: u64,
    vendor: Vendor,
}
impl Default for State {
    fn default() -> Self {
        Self {
            efer: 0,
            cr0: 0,
            vendor: Vendor::Amd,
        }
    }
}
impl MsrState for State {
    fn efer(&self) -> u64 {
        self.efer
    }
    fn set_efer(&mut self, efer: u64) {
        self.efer = efer;
    }
    fn cr0(&self) -> u64 {
        self.cr0
    }
    fn tsc(&self) -> u64 {
        1234
    }
    fn vendor(&self) -> Vendor {
        self.vendor
    }
}

#[test]
fn efer_accepts_lme_nxe_sce_and_keeps_lma() {
    let mut s = State {
        efer: EFER_LMA | (1 << 8),
        cr0: CR0_PG | 1,
        ..State::default()
    };
    assert!(write(MSR_EFER, (1 << 8) | (1 << 11) | 1, &mut s));
    assert_eq!(s.efer, EFER_LMA | (1 << 8) | (1 << 11) | 1);
    assert_eq!(read(MSR_EFER, &s), Some(s.efer));
}

#[test]
fn efer_lme_may_not_change_while_paging_is_on() {
    const LME: u64 = 1 << 8;
    const NXE: u64 = 1 << 11;
    // 32-bit paging: setting LME now would be #GP(0).
    let mut s = State {
        efer: 0,
        cr0: CR0_PG | 1,
        ..State::default()
    };
    assert!(!write(MSR_EFER, LME, &mut s));
    assert_eq!(s.efer, 0);
    // Long mode: clearing LME is #GP(0) too; NXE and SCE may change.
    let mut s = State {
        efer: LME | EFER_LMA,
        cr0: CR0_PG | 1,
        ..State::default()
    };
    assert!(!write(MSR_EFER, NXE, &mut s));
    assert_eq!(s.efer, LME | EFER_LMA);
    assert!(write(MSR_EFER, LME | NXE | 1, &mut s));
    assert_eq!(s.efer, LME | EFER_LMA | NXE | 1);
    // Paging off: LME is the guest's to set, before it enables paging.
    let mut s = State {
        cr0: 1,
        ..State::default()
    };
    assert!(write(MSR_EFER, LME, &mut s));
    assert_eq!(s.efer, LME);
}

#[test]
fn efer_reserved_or_svme_bits_fault() {
    let mut s = State::default();
    assert!(!write(MSR_EFER, 1 << 12, &mut s));
    assert!(!write(MSR_EFER, 1 << 63, &mut s));
    assert_eq!(s.efer, 0);
}

#[test]
fn misc_enable_reads_xd_enabled_and_ignores_writes() {
    let mut s = State::default();
    let v = read(MSR_MISC_ENABLE, &s).unwrap();
    assert_eq!(v & (1 << 34), 0, "XD Bit Disable reads clear");
    assert_eq!(v & (1 << 22), 0, "CPUID is not limited");
    assert!(write(MSR_MISC_ENABLE, v | (1 << 34), &mut s));
    assert_eq!(read(MSR_MISC_ENABLE, &s), Some(v));
}

#[test]
fn unknown_msrs_fault() {
    let mut s = State::default();
    assert_eq!(read(0x1B, &s), None);
    assert!(!write(0xC001_0117, 0, &mut s));
    assert_eq!(read(MSR_TSC, &s), Some(1234));
}

#[test]
fn apic_base_is_never_answered_here() {
    // IA32_APIC_BASE belongs to the local APIC device (exits/msr.rs routes
    // it there first on a board with one); without one it does not exist.
    let mut s = State::default();
    assert_eq!(read(0x1B, &s), None);
    assert!(!write(0x1B, 0xFEE0_0900, &mut s));
}

/// A guest told it runs on `vendor`.
fn on(vendor: Vendor) -> State {
    State {
        vendor,
        ..State::default()
    }
}

#[test]
fn vendor_comes_from_the_cpuid_leaf0_string() {
    // "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel".
    assert_eq!(
        Vendor::from_cpuid_leaf0(0x756E_6547, 0x6C65_746E, 0x4965_6E69),
        Vendor::Intel
    );
    // "AuthenticAMD": EBX "Auth", EDX "enti", ECX "cAMD".
    assert_eq!(
        Vendor::from_cpuid_leaf0(0x6874_7541, 0x444D_4163, 0x6974_6E65),
        Vendor::Amd
    );
    // "HygonGenuine": EBX "Hygo", EDX "nGen", ECX "uine".
    assert_eq!(
        Vendor::from_cpuid_leaf0(0x6F67_7948, 0x656E_6975, 0x6E65_476E),
        Vendor::Amd
    );
    // "VIA VIA VIA ".
    assert_eq!(
        Vendor::from_cpuid_leaf0(0x2041_4956, 0x2041_4956, 0x2041_4956),
        Vendor::Other
    );
    // The default is the processor's own, whichever it is.
    let r = core::arch::x86_64::__cpuid(0);
    assert_eq!(
        Vendor::this_processor(),
        Vendor::from_cpuid_leaf0(r.ebx, r.ecx, r.edx)
    );
}

#[test]
fn amd_int_pending_msg_reads_zero_and_refuses_writes() {
    // Linux 6.1's arch_post_acpi_subsys_init reads it unchecked on an
    // erratum-400 K8/family 10h: no #GP, and C1eOnCmpHalt/SmiOnCmpHalt clear.
    let mut s = on(Vendor::Amd);
    assert_eq!(read(MSR_INT_PENDING_MSG, &s), Some(0));
    assert!(!write(MSR_INT_PENDING_MSG, 0, &mut s));
    assert!(!write(MSR_INT_PENDING_MSG, 1 << 28, &mut s));
    // An Intel processor has no such MSR.
    let mut s = on(Vendor::Intel);
    assert_eq!(read(MSR_INT_PENDING_MSG, &s), None);
    assert!(!write(MSR_INT_PENDING_MSG, 0, &mut s));
}

#[test]
fn amd_hwcr_reads_tsc_freq_sel_and_takes_only_ignored_bits() {
    let mut s = on(Vendor::Amd);
    let hwcr = read(MSR_HWCR, &s).unwrap();
    assert_eq!(hwcr, HWCR_VALUE);
    assert_ne!(hwcr & (1 << 24), 0, "TscFreqSel: the TSC counts at P0");
    // Writing back what was read, and K8's FFDIS (msr_set_bit(HWCR, 6)),
    // TlbCacheDis and IgnneEm, are accepted and change nothing.
    assert!(write(MSR_HWCR, hwcr, &mut s));
    assert!(write(MSR_HWCR, hwcr | (1 << 6), &mut s));
    assert!(write(MSR_HWCR, (1 << 3) | (1 << 8), &mut s));
    assert!(write(MSR_HWCR, 0, &mut s));
    assert_eq!(read(MSR_HWCR, &s), Some(HWCR_VALUE));
    // McStatusWrEn (18), IRPERF enable (30), SMM lock (0): #GP.
    for bit in [0, 18, 30] {
        assert!(!write(MSR_HWCR, hwcr | (1 << bit), &mut s), "bit {bit}");
    }
    assert_eq!(read(MSR_HWCR, &on(Vendor::Intel)), None);
}

#[test]
fn microcode_revision_reads_per_vendor_and_ignores_writes() {
    // Intel: write 0, CPUID, read the signature (intel_get_microcode_revision).
    let mut s = on(Vendor::Intel);
    assert!(write(MSR_UCODE_REV, 0, &mut s));
    assert_eq!(read(MSR_UCODE_REV, &s), Some(UCODE_REV_VALUE));
    assert_eq!(UCODE_REV_VALUE >> 32, 1, "revision 1 in EDX");
    let mut s = on(Vendor::Amd);
    assert_eq!(read(MSR_UCODE_REV, &s), Some(PATCH_LEVEL_VALUE));
    assert!(write(MSR_UCODE_REV, 0, &mut s));
    assert_eq!(read(MSR_UCODE_REV, &s), Some(PATCH_LEVEL_VALUE));
    // A vendor we do not model answers none of the vendor MSRs.
    let mut s = on(Vendor::Other);
    assert_eq!(read(MSR_UCODE_REV, &s), None);
    assert!(!write(MSR_UCODE_REV, 0, &mut s));
}

#[test]
fn intel_platform_id_reads_zero_and_is_read_only() {
    let mut s = on(Vendor::Intel);
    assert_eq!(read(MSR_PLATFORM_ID, &s), Some(0));
    assert!(!write(MSR_PLATFORM_ID, 0, &mut s));
    assert_eq!(read(MSR_PLATFORM_ID, &on(Vendor::Amd)), None);
}

#[test]
fn mcg_cap_offers_two_banks_and_nothing_else() {
    for vendor in [Vendor::Amd, Vendor::Intel, Vendor::Other] {
        let mut s = on(vendor);
        let cap = read(mce::MSR_MCG_CAP, &s).unwrap();
        assert_eq!(cap & 0xFF, 2, "Xen's GUEST_MC_BANK_NUM");
        assert_eq!(
            cap >> 8,
            0,
            "no MCG_CTL_P, CMCI, SER, LMCE or extended MSRs"
        );
        assert!(!write(mce::MSR_MCG_CAP, cap, &mut s), "read-only");
        // MCG_CTL_P is clear: MCG_CTL does not exist.
        assert_eq!(read(mce::MSR_MCG_CTL, &s), None);
        assert!(!write(mce::MSR_MCG_CTL, u64::MAX, &mut s));
    }
}

#[test]
fn mcg_status_reads_zero_and_takes_only_zero() {
    let mut s = on(Vendor::Amd);
    assert_eq!(read(mce::MSR_MCG_STATUS, &s), Some(0));
    assert!(write(mce::MSR_MCG_STATUS, 0, &mut s));
    // MCIP (bit 2) cannot be set by software here: nothing is in progress.
    assert!(!write(mce::MSR_MCG_STATUS, 1 << 2, &mut s));
    assert_eq!(read(mce::MSR_MCG_STATUS, &s), Some(0));
}

#[test]
fn mc_banks_ctl_is_all_ones_and_status_addr_misc_hold_no_error() {
    let mut s = on(Vendor::Intel);
    for bank in 0..mce::BANKS {
        let ctl = mce::MSR_MC0_CTL + 4 * bank;
        // Linux writes all ones and reads back to see the bank is there.
        assert!(write(ctl, u64::MAX, &mut s));
        assert_eq!(read(ctl, &s), Some(u64::MAX));
        // K8's bank-4 GART quirk clears bit 10; any write is ignored (Xen).
        assert!(write(ctl, !(1 << 10), &mut s));
        assert!(write(ctl, 0, &mut s));
        assert_eq!(read(ctl, &s), Some(u64::MAX));
        for reg in 1..4 {
            let msr = ctl + reg;
            assert_eq!(read(msr, &s), Some(0), "MSR {msr:#x}");
            assert!(write(msr, 0, &mut s), "MSR {msr:#x}");
            assert!(!write(msr, 1 << 63, &mut s), "MSR {msr:#x}");
            assert_eq!(read(msr, &s), Some(0), "MSR {msr:#x}");
        }
    }
}

#[test]
fn mc_registers_beyond_the_banks_fault() {
    let mut s = on(Vendor::Amd);
    let past = mce::MSR_MC0_CTL + 4 * mce::BANKS;
    for msr in [
        past,
        past + 1,
        0x47F,       // the last of the architectural 32 banks
        0x280,       // IA32_MC0_CTL2 (needs MCG_CMCI_P)
        0x4D0,       // IA32_MCG_EXT_CTL (needs MCG_LMCE_P)
        0xC000_2001, // AMD SMCA bank 0 status
        mce::MSR_MC0_CTL - 1,
    ] {
        assert_eq!(read(msr, &s), None, "MSR {msr:#x}");
        assert!(!write(msr, 0, &mut s), "MSR {msr:#x}");
    }
}

#[test]
fn msrs_left_to_checked_probes_still_fault() {
    // DE_CFG, SYSCFG, TSEG, the K7 counters, VM_CR; MTRRcap, PAT,
    // FEATURE_CONTROL, ARCH_CAPABILITIES, SPEC_CTRL: #GP on both vendors.
    for vendor in [Vendor::Amd, Vendor::Intel] {
        let mut s = on(vendor);
        for msr in [
            MSR_DE_CFG,
            0xC001_0010,
            0xC001_0112,
            0xC001_0000,
            0xC001_0114,
            0xFE,
            0x277,
            0x3A,
            0x10A,
            0x48,
        ] {
            assert_eq!(read(msr, &s), None, "{vendor:?} MSR {msr:#x}");
            assert!(!write(msr, 0, &mut s), "{vendor:?} MSR {msr:#x}");
        }
    }
}

#[test]
fn aperf_and_mperf_count_with_the_tsc_and_refuse_writes() {
    for vendor in [Vendor::Amd, Vendor::Intel, Vendor::Other] {
        let mut s = on(vendor);
        assert_eq!(read(MSR_APERF, &s), Some(1234));
        assert_eq!(read(MSR_MPERF, &s), Some(1234));
        assert!(!write(MSR_APERF, 0, &mut s));
        assert!(!write(MSR_MPERF, 0, &mut s));
    }
}

#[test]
fn intel_energy_perf_bias_reads_normal_and_takes_only_that() {
    // intel_epb_restore: read, keep a non-zero hint, write it back.
    let mut s = on(Vendor::Intel);
    let epb = read(MSR_ENERGY_PERF_BIAS, &s).unwrap();
    assert_eq!(epb, 6, "ENERGY_PERF_BIAS_NORMAL, so Linux does not warn");
    assert!(write(MSR_ENERGY_PERF_BIAS, epb, &mut s));
    assert!(!write(MSR_ENERGY_PERF_BIAS, 0, &mut s));
    assert!(!write(MSR_ENERGY_PERF_BIAS, 15, &mut s));
    assert_eq!(read(MSR_ENERGY_PERF_BIAS, &s), Some(6));
    assert_eq!(read(MSR_ENERGY_PERF_BIAS, &on(Vendor::Amd)), None);
}

#[test]
fn intel_platform_info_reads_zero_and_is_read_only() {
    let mut s = on(Vendor::Intel);
    assert_eq!(read(MSR_PLATFORM_INFO, &s), Some(0));
    assert!(!write(MSR_PLATFORM_INFO, 0, &mut s));
    assert_eq!(read(MSR_PLATFORM_INFO, &on(Vendor::Amd)), None);
}

#[test]
fn amd_nb_cfg_reads_zero_and_ignores_writes() {
    // amd_bus_cpu_online (family 10h and later): read, set EnableCf8ExtCfg.
    let mut s = on(Vendor::Amd);
    assert_eq!(read(MSR_NB_CFG, &s), Some(0));
    assert!(write(MSR_NB_CFG, 1 << 46, &mut s));
    assert_eq!(read(MSR_NB_CFG, &s), Some(0), "KVM's read-as-zero");
    let mut s = on(Vendor::Intel);
    assert_eq!(read(MSR_NB_CFG, &s), None);
    assert!(!write(MSR_NB_CFG, 1 << 46, &mut s));
}
