//! The raw instructions the SVM backend executes outside the world switch:
//! CPUID (AMD APM vol. 3, appendix E "Obtaining Processor Information Via the
//! CPUID Instruction") and the MSR accesses enabling SVM needs (APM vol. 2,
//! 15.4 "Enabling SVM" and 15.30 "SVM-Related MSRs").
//!
//! VMRUN, VMLOAD, VMSAVE, CLGI and STGI are not wrapped one by one: they
//! only make sense together, in the one assembly routine of
//! `world_switch`.

use core::arch::asm;

/// CPUID of `leaf` (sub-leaf 0): EAX, EBX, ECX, EDX.
pub(crate) fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    let r = core::arch::x86_64::__cpuid(leaf);
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// Reads an MSR.
///
/// # Safety
/// `msr` must exist on this processor (otherwise RDMSR raises #GP).
pub(crate) unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees the MSR exists; RDMSR has no other effect.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Writes an MSR.
///
/// # Safety
/// `msr` must exist and `value` must be valid for it, and changing it must not
/// break the hypervisor's own execution.
pub(crate) unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller guarantees the write is valid and harmless to us.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    };
}
