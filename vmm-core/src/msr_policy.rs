//! RDMSR/WRMSR of intercepted MSRs. MSRs that VMLOAD/VMSAVE switch are the
//! guest's own (the backend passes them through); everything else lands here,
//! and an MSR we do not emulate raises #GP, as on a processor without it
//! (Intel SDM vol. 4, chapter 2 "Model-Specific Registers"; AMD APM vol. 2,
//! 3.1.7 "Extended Feature Enable Register").

use crate::cpu_policy::CpuPolicy;

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
}

/// IA32_APIC_BASE (Intel SDM vol. 3A, 12.4.4 "Local APIC Status and
/// Location"): exists only on a processor with a local APIC.
pub const MSR_APIC_BASE: u32 = 0x1B;
/// Its reset value on the boot processor: base FEE00000h, enabled (bit 11),
/// BSP (bit 8).
pub const APIC_BASE_RESET: u64 = 0xFEE0_0000 | (1 << 11) | (1 << 8);

/// The guest's RDMSR of `msr` on a processor as `policy` describes it: its
/// value, or None for #GP.
pub fn read(policy: &CpuPolicy, msr: u32, state: &dyn MsrState) -> Option<u64> {
    match msr {
        MSR_APIC_BASE if policy.local_apic => Some(APIC_BASE_RESET),
        MSR_TSC => Some(state.tsc()),
        MSR_EFER => Some(state.efer()),
        MSR_MISC_ENABLE => Some(MISC_ENABLE_VALUE),
        _ => None,
    }
}

/// The guest's WRMSR of `value` to `msr`: true if done, false for #GP.
pub fn write(policy: &CpuPolicy, msr: u32, value: u64, state: &mut dyn MsrState) -> bool {
    match msr {
        // Relocating or disabling the APIC is not supported: the write is
        // accepted only when it changes nothing.
        MSR_APIC_BASE if policy.local_apic => value == APIC_BASE_RESET,
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
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A processor without a local APIC, as today's PC/AT guest has.
    fn pc() -> CpuPolicy {
        CpuPolicy::default()
    }

    #[derive(Default)]
    struct State {
        efer: u64,
        cr0: u64,
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
    }

    #[test]
    fn efer_accepts_lme_nxe_sce_and_keeps_lma() {
        let mut s = State {
            efer: EFER_LMA | (1 << 8),
            cr0: CR0_PG | 1,
        };
        assert!(write(&pc(), MSR_EFER, (1 << 8) | (1 << 11) | 1, &mut s));
        assert_eq!(s.efer, EFER_LMA | (1 << 8) | (1 << 11) | 1);
        assert_eq!(read(&pc(), MSR_EFER, &s), Some(s.efer));
    }

    #[test]
    fn efer_lme_may_not_change_while_paging_is_on() {
        const LME: u64 = 1 << 8;
        const NXE: u64 = 1 << 11;
        // 32-bit paging: setting LME now would be #GP(0).
        let mut s = State {
            efer: 0,
            cr0: CR0_PG | 1,
        };
        assert!(!write(&pc(), MSR_EFER, LME, &mut s));
        assert_eq!(s.efer, 0);
        // Long mode: clearing LME is #GP(0) too; NXE and SCE may change.
        let mut s = State {
            efer: LME | EFER_LMA,
            cr0: CR0_PG | 1,
        };
        assert!(!write(&pc(), MSR_EFER, NXE, &mut s));
        assert_eq!(s.efer, LME | EFER_LMA);
        assert!(write(&pc(), MSR_EFER, LME | NXE | 1, &mut s));
        assert_eq!(s.efer, LME | EFER_LMA | NXE | 1);
        // Paging off: LME is the guest's to set, before it enables paging.
        let mut s = State { efer: 0, cr0: 1 };
        assert!(write(&pc(), MSR_EFER, LME, &mut s));
        assert_eq!(s.efer, LME);
    }

    #[test]
    fn efer_reserved_or_svme_bits_fault() {
        let mut s = State::default();
        assert!(!write(&pc(), MSR_EFER, 1 << 12, &mut s));
        assert!(!write(&pc(), MSR_EFER, 1 << 63, &mut s));
        assert_eq!(s.efer, 0);
    }

    #[test]
    fn misc_enable_reads_xd_enabled_and_ignores_writes() {
        let mut s = State::default();
        let v = read(&pc(), MSR_MISC_ENABLE, &s).unwrap();
        assert_eq!(v & (1 << 34), 0, "XD Bit Disable reads clear");
        assert_eq!(v & (1 << 22), 0, "CPUID is not limited");
        assert!(write(&pc(), MSR_MISC_ENABLE, v | (1 << 34), &mut s));
        assert_eq!(read(&pc(), MSR_MISC_ENABLE, &s), Some(v));
    }

    #[test]
    fn unknown_msrs_fault() {
        let mut s = State::default();
        assert_eq!(read(&pc(), 0x1B, &s), None);
        assert!(!write(&pc(), 0xC001_0117, 0, &mut s));
        assert_eq!(read(&pc(), MSR_TSC, &s), Some(1234));
    }

    #[test]
    fn apic_base_exists_only_with_a_local_apic() {
        let mut s = State::default();
        let apic = CpuPolicy {
            local_apic: true,
            ..CpuPolicy::default()
        };
        assert_eq!(read(&apic, MSR_APIC_BASE, &s), Some(APIC_BASE_RESET));
        assert!(write(&apic, MSR_APIC_BASE, APIC_BASE_RESET, &mut s));
        assert!(!write(&apic, MSR_APIC_BASE, 0, &mut s));
        assert_eq!(read(&pc(), MSR_APIC_BASE, &s), None);
    }
}
