//! Intel's own MSRs that a stock Linux kernel reads with unchecked `rdmsr`
//! on the processor the guest is told about (under Bochs `--cpu intel`, a
//! Skylake-X, family 6 model 55h; IA32_MISC_ENABLE is in the parent module).
//!
//! | MSR | read | write | why a guest needs it |
//! | --- | --- | --- | --- |
//! | 8Bh IA32_BIOS_SIGN_ID | [`UCODE_REV_VALUE`] | accepted and ignored | `intel_get_microcode_revision` (from `early_init_intel`, family 6 and up) writes 0 to it, executes CPUID and reads it, unchecked both: a #GP prints `unchecked MSR access error: WRMSR to 0x8b` and one for the RDMSR |
//! | 1B0h IA32_ENERGY_PERF_BIAS | [`ENERGY_PERF_BIAS_VALUE`] (6, "normal") | that value accepted, anything else #GP | with CPUID.06h:ECX.EPB (bit 3; offered while the CPUID policy passed the host's leaf 6 through, no longer) `intel_epb_restore` reads it unchecked and writes it back, and warns `ENERGY_PERF_BIAS: Set to 'normal', was 'performance'` when it reads 0 |
//! | CEh MSR_PLATFORM_INFO | 0 | #GP (read-only) | with CPUID.06h:ECX.APERFMPERF, intel_pstate on a model it knows (Skylake-X is one) reads it unchecked; 0 (no ratios, no CPUID faulting) makes it say `intel_pstate: Invalid MSRs` and stand down, as under KVM |
//! | 17h IA32_PLATFORM_ID | 0 | #GP (read-only) | the microcode loader's `intel_cpu_collect_info` reads it unchecked when the loader runs (Linux keeps it off when CPUID.01h:ECX says "hypervisor", but another guest may not) |
//!
//! IA32_BIOS_SIGN_ID (Intel SDM vol. 4, table 2-2, 8Bh; vol. 3A, "Update
//! Signature and Verification"): software writes 0, executes CPUID.01h and
//! reads the loaded update's signature in EDX; writing has no other effect,
//! so a stateless read of one revision is exactly that protocol. KVM reads
//! `microcode_version`, 0x1_0000_0000 by default for Intel guests
//! (revision 1), and ignores guest writes. IA32_PLATFORM_ID (table 2-2,
//! 17h, read-only; bits 52:50 the platform) reads as 0 in KVM too.
//!
//! IA32_ENERGY_PERF_BIAS (table 2-2, 1B0h; vol. 3B, "Energy/Performance
//! Bias"): bits 3:0 a hint from 0 (performance) to 15 (energy saving) that
//! the guest's hint cannot reach any hardware through; it reads Linux's
//! "normal" 6 and accepts only that, so it needs no state. MSR_PLATFORM_INFO
//! (vol. 4, the Nehalem-and-later tables, CEh, read-only): KVM reads its
//! `msr_platform_info`, which has no ratio fields and only the CPUID-faulting
//! bit, which this hypervisor does not offer. Both mattered while CPUID
//! leaf 6 was the host's; the CPUID policy now offers it as KVM does (ARAT
//! alone), so Linux reads neither, and the answers stay for guests that
//! read them without asking.
//!
//! Not answered, on purpose: IA32_FEATURE_CONTROL (3Ah; Linux reads it with
//! `rdmsrl_safe` and, missing, takes VMX as off, which CPUID already says),
//! IA32_ARCH_CAPABILITIES, SPEC_CTRL and TSX_CTRL (CPUID
//! leaf 7, which announces them, reads as zero), the performance counters
//! (CPUID leaf 0Ah is beyond the guest's maximum leaf). All raise #GP.

/// IA32_PLATFORM_ID, 17h.
pub const MSR_PLATFORM_ID: u32 = 0x17;
/// IA32_ENERGY_PERF_BIAS, 1B0h.
pub const MSR_ENERGY_PERF_BIAS: u32 = 0x1B0;
/// What IA32_ENERGY_PERF_BIAS reads: 6, Linux's `ENERGY_PERF_BIAS_NORMAL`.
pub const ENERGY_PERF_BIAS_VALUE: u64 = 6;
/// MSR_PLATFORM_INFO, CEh.
pub const MSR_PLATFORM_INFO: u32 = 0xCE;
/// What IA32_BIOS_SIGN_ID reads on Intel: update revision 1 in bits 63:32,
/// KVM's default `microcode_version` for Intel guests.
pub const UCODE_REV_VALUE: u64 = 0x1_0000_0000;

/// RDMSR of an Intel MSR: `None` (#GP) for any other.
pub(super) fn read(msr: u32) -> Option<u64> {
    match msr {
        super::MSR_UCODE_REV => Some(UCODE_REV_VALUE),
        MSR_PLATFORM_ID | MSR_PLATFORM_INFO => Some(0),
        MSR_ENERGY_PERF_BIAS => Some(ENERGY_PERF_BIAS_VALUE),
        _ => None,
    }
}

/// WRMSR of `value` to an Intel MSR: `None` when `msr` is not one of these,
/// else whether the write is done (false: #GP).
pub(super) fn write(msr: u32, value: u64) -> Option<bool> {
    match msr {
        super::MSR_UCODE_REV => Some(true),
        MSR_PLATFORM_ID | MSR_PLATFORM_INFO => Some(false),
        MSR_ENERGY_PERF_BIAS => Some(value == ENERGY_PERF_BIAS_VALUE),
        _ => None,
    }
}
