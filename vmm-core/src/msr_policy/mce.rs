//! The machine-check architecture's MSRs (Intel SDM vol. 3B, chapter
//! "Machine-Check Architecture", section "Machine-Check MSRs"; AMD APM
//! vol. 2, chapter 9 "Machine Check Architecture"), the same on both
//! vendors.
//!
//! The guest gets Xen's virtual MCA (`xen/arch/x86/cpu/mcheck/vmce.c`:
//! `GUEST_MC_BANK_NUM` = 2 banks, MCi_CTL "stuck" at all ones, no MCG_CTL),
//! the platform it is told it runs on: two banks that never log an error,
//! since this hypervisor never delivers a machine check to a guest. The
//! MSRs exist whether or not CPUID offers MCE/MCA, as on hardware and in KVM
//! (which answers them whatever the guest's CPUID says); CPUID.01h:EDX.MCE
//! (bit 7) and .MCA (bit 14) decide whether a guest uses them. With both
//! offered, Linux finds `mce_available()` and registers its machine-check
//! device instead of printing `mce: Unable to init MCE device (rc: -5)`.
//!
//! Nothing here needs state: every register that could change reads the one
//! value a write may leave in it.
//!
//! | MSR | read | write |
//! | --- | --- | --- |
//! | 179h IA32_MCG_CAP | [`MCG_CAP_VALUE`]: 2 banks, no MCG_CTL_P, no CMCI, LMCE, SER or extended registers | #GP (read-only) |
//! | 17Ah IA32_MCG_STATUS | 0: no machine check in progress | 0 accepted, anything else #GP |
//! | 17Bh IA32_MCG_CTL | #GP: MCG_CAP.MCG_CTL_P is clear | #GP |
//! | 400h + 4i IA32_MCi_CTL (i < 2) | all ones, every error type enabled | accepted and ignored (Xen's "stuck at all ones") |
//! | 401h + 4i IA32_MCi_STATUS | 0: VAL clear, nothing logged | 0 accepted (the SDM allows only 0 to be written; AMD allows more only with HWCR.McStatusWrEn, which `super::amd` refuses), anything else #GP |
//! | 402h + 4i IA32_MCi_ADDR, 403h + 4i IA32_MCi_MISC | 0 | 0 accepted, anything else #GP |
//!
//! The differences from KVM: KVM stores what MCG_STATUS, MCi_STATUS (with
//! McStatusWrEn), MCi_ADDR and MCi_MISC are written and offers 10 or 32
//! banks (QEMU's default `MCG_CTL_P | MCG_SER_P | 10`) with MCG_CTL; only a
//! host-injected error ever makes their values matter, and Linux writes
//! nothing but 0 to them. Registers past the last bank, MCi_CTL2 (280h,
//! needs MCG_CMCI_P), IA32_MCG_EXT_CTL (4D0h, needs MCG_LMCE_P) and AMD's
//! scalable MCA range (C000_2000h, needs CPUID 8000_0007h:EBX.ScalableMca)
//! are #GP.

/// IA32_MCG_CAP: the bank count (bits 7:0) and the capability bits.
pub const MSR_MCG_CAP: u32 = 0x179;
/// IA32_MCG_STATUS: RIPV, EIPV, MCIP (and LMCE_S) of a machine check.
pub const MSR_MCG_STATUS: u32 = 0x17A;
/// IA32_MCG_CTL: exists only with MCG_CAP.MCG_CTL_P (bit 8).
pub const MSR_MCG_CTL: u32 = 0x17B;
/// IA32_MC0_CTL: bank i's CTL, STATUS, ADDR and MISC are at 400h + 4i + 0..3.
pub const MSR_MC0_CTL: u32 = 0x400;
/// Error-reporting banks the guest has: Xen's `GUEST_MC_BANK_NUM`.
pub const BANKS: u32 = 2;
/// What IA32_MCG_CAP reads: [`BANKS`] banks and no capability bits.
/// MCG_CTL_P (8), MCG_EXT_P (9), MCG_CMCI_P (10), MCG_TES_P (11), MCG_SER_P
/// (24), MCG_ELOG_P (26) and MCG_LMCE_P (27) are clear, so none of the
/// registers they announce exists; the same value on both vendors (bits
/// 9-27 are Intel's, reserved on AMD).
pub const MCG_CAP_VALUE: u64 = BANKS as u64;

/// The register of a bank an MSR index names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BankReg {
    Ctl,
    Status,
    Addr,
    Misc,
}

/// Bank `msr`'s register, if `msr` is one of the [`BANKS`] banks' four.
fn bank_reg(msr: u32) -> Option<BankReg> {
    let offset = msr.checked_sub(MSR_MC0_CTL)?;
    if offset >= 4 * BANKS {
        return None;
    }
    Some(match offset % 4 {
        0 => BankReg::Ctl,
        1 => BankReg::Status,
        2 => BankReg::Addr,
        _ => BankReg::Misc,
    })
}

/// RDMSR of a machine-check MSR: `None` when `msr` is not one (or is one
/// the guest's MCG_CAP says does not exist, which is #GP too).
pub(super) fn read(msr: u32) -> Option<u64> {
    match msr {
        MSR_MCG_CAP => Some(MCG_CAP_VALUE),
        MSR_MCG_STATUS => Some(0),
        _ => match bank_reg(msr)? {
            BankReg::Ctl => Some(u64::MAX),
            BankReg::Status | BankReg::Addr | BankReg::Misc => Some(0),
        },
    }
}

/// WRMSR of `value` to a machine-check MSR: `None` when `msr` is not one,
/// else whether the write is done (false: #GP).
pub(super) fn write(msr: u32, value: u64) -> Option<bool> {
    match msr {
        // Read-only (Intel SDM: "IA32_MCG_CAP MSR ... read-only").
        MSR_MCG_CAP => Some(false),
        MSR_MCG_STATUS => Some(value == 0),
        _ => match bank_reg(msr)? {
            BankReg::Ctl => Some(true),
            BankReg::Status | BankReg::Addr | BankReg::Misc => Some(value == 0),
        },
    }
}
