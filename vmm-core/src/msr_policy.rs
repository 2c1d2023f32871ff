//! RDMSR/WRMSR of intercepted MSRs. MSRs that VMLOAD/VMSAVE switch are the
//! guest's own (the backend passes them through); everything else lands here,
//! and an MSR we do not emulate raises #GP, as on a processor without it
//! (Intel SDM vol. 4, chapter 2 "Model-Specific Registers"; AMD APM vol. 2,
//! 3.1.7 "Extended Feature Enable Register").
//!
//! Beyond the architectural few below, the guest finds the MSRs a processor
//! of the vendor it is told (CPUID leaf 0 is the host's) has and that a
//! stock kernel reads without a fault handler, answered as KVM answers them
//! (`kvm_get_msr_common`/`kvm_set_msr_common` in Linux's
//! `arch/x86/kvm/x86.c`): read-as-zero or one fixed, documented value, and
//! writes accepted only where they change nothing the guest could read
//! back (AMD's NB_CFG, whose written bit Linux never reads back, is the one
//! exception, as in KVM). [`mce`] has the machine-check MSRs (both
//! vendors), `amd` and `intel` the vendor's own, and APERF/MPERF below
//! count with the TSC. Every other MSR is still #GP: a guest that probes
//! with `rdmsr_safe` learns the truth, and nothing reads as zero by
//! accident. What a stock Linux 6.1 boot printed before this, and what it
//! still prints beside plain QEMU, is in issue 15's dmesg comparison.

mod amd;
mod intel;
pub mod mce;
#[cfg(test)]
mod tests;

pub use amd::{
    HWCR_VALUE, MSR_DE_CFG, MSR_HWCR, MSR_INT_PENDING_MSG, MSR_NB_CFG, PATCH_LEVEL_VALUE,
};
pub use intel::{
    ENERGY_PERF_BIAS_VALUE, MSR_ENERGY_PERF_BIAS, MSR_PLATFORM_ID, MSR_PLATFORM_INFO,
    UCODE_REV_VALUE,
};

/// IA32_BIOS_SIGN_ID on Intel (Intel SDM vol. 4, table 2-2; vol. 3A,
/// "Update Signature and Verification") and MSR_AMD64_PATCH_LEVEL on AMD
/// (AMD BKDGs, MSR0000_008B): the same index, the loaded microcode's
/// revision on both. What each vendor reads is in `intel` and `amd`.
pub const MSR_UCODE_REV: u32 = 0x8B;

/// The processor vendor the guest is told (CPUID leaf 0's vendor string,
/// which the CPUID policy passes through from the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// "GenuineIntel".
    Intel,
    /// "AuthenticAMD", and "HygonGenuine" (Hygon's Dhyana is AMD family 17h
    /// and Linux drives its MSRs as AMD's).
    Amd,
    /// Anything else: only the vendor-neutral MSRs are answered.
    Other,
}

impl Vendor {
    /// The vendor of CPUID leaf 0's EBX, EDX, ECX (in that order, the
    /// vendor string's).
    pub fn from_cpuid_leaf0(ebx: u32, ecx: u32, edx: u32) -> Self {
        let mut id = [0u8; 12];
        id[0..4].copy_from_slice(&ebx.to_le_bytes());
        id[4..8].copy_from_slice(&edx.to_le_bytes());
        id[8..12].copy_from_slice(&ecx.to_le_bytes());
        match &id {
            b"GenuineIntel" => Vendor::Intel,
            b"AuthenticAMD" | b"HygonGenuine" => Vendor::Amd,
            _ => Vendor::Other,
        }
    }

    /// The vendor of the processor this runs on, which is the guest's: the
    /// CPUID policy passes leaf 0 through.
    pub fn this_processor() -> Self {
        let r = core::arch::x86_64::__cpuid(0);
        Self::from_cpuid_leaf0(r.ebx, r.ecx, r.edx)
    }
}

/// IA32_TIME_STAMP_COUNTER.
pub const MSR_TSC: u32 = 0x10;
/// IA32_EFER.
pub const MSR_EFER: u32 = 0xC000_0080;
/// IA32_MISC_ENABLE (Intel SDM vol. 4, table 2-2): architectural on Intel
/// processors since family 0Fh; Linux's early `verify_cpu` reads it on every
/// Intel CPU of family 6 model 0Dh or later to clear XD Bit Disable.
pub const MSR_MISC_ENABLE: u32 = 0x1A0;
/// The value the guest reads: fast strings enabled (bit 0), branch trace
/// storage (bit 11) and PEBS (bit 12) unavailable; XD Bit Disable (bit 34),
/// limit-CPUID (bit 22) and the rest clear. Writes are accepted and change
/// nothing: none of these features is the guest's to control here.
pub const MISC_ENABLE_VALUE: u64 = (1 << 0) | (1 << 11) | (1 << 12);

/// IA32_MPERF: counts at a fixed reference rate while the processor runs
/// (Intel SDM vol. 3B, "Hardware Coordination Feedback"; AMD APM vol. 2,
/// "Effective Frequency Interface", the same index, CPUID.06h:ECX bit 0 on
/// both).
pub const MSR_MPERF: u32 = 0xE7;
/// IA32_APERF: counts at the actual rate while the processor runs.
pub const MSR_APERF: u32 = 0xE8;
// Both read the guest's TSC: the vCPU's "actual" and "reference" clocks are
// one constant rate, so APERF/MPERF deltas have the ratio 1 (running at the
// base frequency). Linux's `arch_scale_freq_tick` reads them unchecked on
// every tick when CPUID.06h:ECX.APERFMPERF is set; the CPUID policy now
// offers leaf 6 as KVM does (ARAT alone), so Linux does not, but a guest
// that reads them anyway gets counters, not a #GP. Writes are #GP: the
// counters are not the guest's to move (Linux never writes them).

/// EFER bits a guest may set: SCE (0), LME (8; only while CR0.PG = 0), NXE
/// (11). LMA (10) is the processor's to set; SVME (12) belongs to the
/// hypervisor and CPUID does not offer SVM to the guest.
const EFER_GUEST_WRITABLE: u64 = (1 << 0) | (1 << 8) | (1 << 11);
/// EFER.LMA.
const EFER_LMA: u64 = 1 << 10;
/// EFER.LME.
const EFER_LME: u64 = 1 << 8;
/// CR0.PG.
const CR0_PG: u64 = 1 << 31;

/// The guest-visible machine state an MSR access may read or change.
pub trait MsrState {
    /// EFER as the guest sees it.
    fn efer(&self) -> u64;
    fn set_efer(&mut self, efer: u64);
    /// CR0 as the guest sees it.
    fn cr0(&self) -> u64;
    /// The TSC the guest reads.
    fn tsc(&self) -> u64;
    /// The processor vendor the guest is told; by default this processor's,
    /// which CPUID leaf 0 passes through to the guest.
    fn vendor(&self) -> Vendor {
        Vendor::this_processor()
    }
}

/// The guest's RDMSR of `msr`: its value, or None for #GP.
pub fn read(msr: u32, state: &dyn MsrState) -> Option<u64> {
    match msr {
        MSR_TSC => Some(state.tsc()),
        MSR_EFER => Some(state.efer()),
        MSR_MISC_ENABLE => Some(MISC_ENABLE_VALUE),
        MSR_MPERF | MSR_APERF => Some(state.tsc()),
        _ => mce::read(msr).or_else(|| match state.vendor() {
            Vendor::Amd => amd::read(msr),
            Vendor::Intel => intel::read(msr),
            Vendor::Other => None,
        }),
    }
}

/// The guest's WRMSR of `value` to `msr`: true if done, false for #GP.
pub fn write(msr: u32, value: u64, state: &mut dyn MsrState) -> bool {
    match msr {
        MSR_EFER => {
            if value & !(EFER_GUEST_WRITABLE | EFER_LMA) != 0 {
                return false;
            }
            // LME may change only while paging is off: long mode is entered
            // and left through CR0.PG, never by WRMSR under paging (Intel SDM
            // vol. 3A, 10.8.5 "Initializing IA-32e Mode"; AMD APM vol. 2,
            // 14.6.1 "Enabling and activating long mode"; WRMSR raises #GP(0)).
            if state.cr0() & CR0_PG != 0 && (value ^ state.efer()) & EFER_LME != 0 {
                return false;
            }
            // LMA is read-only: keep the processor's value whatever was written.
            let lma = state.efer() & EFER_LMA;
            state.set_efer((value & EFER_GUEST_WRITABLE) | lma);
            true
        }
        // Writes to the TSC are accepted and ignored: the guest's TSC runs with the host's.
        MSR_TSC => true,
        MSR_MISC_ENABLE => true,
        _ => mce::write(msr, value)
            .or_else(|| match state.vendor() {
                Vendor::Amd => amd::write(msr, value),
                Vendor::Intel => intel::write(msr, value),
                Vendor::Other => None,
            })
            .unwrap_or(false),
    }
}
