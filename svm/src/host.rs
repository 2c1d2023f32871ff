//! Turning SVM on for the host processor (AMD APM vol. 2, 15.4 "Enabling SVM"
//! and 15.30 "SVM-Related MSRs").

use crate::capabilities::{SvmCapabilities, CPUID_80000001_ECX_SVM};
use crate::instructions::{cpuid, rdmsr, wrmsr};
use crate::phys_addr;
use crate::vmcb::OpaquePage;
use alloc::boxed::Box;

/// IA32_EFER.
const MSR_EFER: u32 = 0xC000_0080;
/// EFER bit 12: SVME.
pub const EFER_SVME: u64 = 1 << 12;
/// VM_CR (APM vol. 2, 15.30.1).
const MSR_VM_CR: u32 = 0xC001_0114;
/// VM_CR bit 4: SVMDIS, SVM disabled by firmware.
const VM_CR_SVMDIS: u64 = 1 << 4;
/// VM_HSAVE_PA (APM vol. 2, 15.30.4): where VMRUN saves host state.
const MSR_VM_HSAVE_PA: u32 = 0xC001_0117;

/// Why SVM could not be enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnableError {
    /// CPUID does not report SVM.
    NotSupported,
    /// The processor has SVM but not nested paging (or no ASIDs).
    NoNestedPaging,
    /// Firmware disabled SVM (VM_CR.SVMDIS).
    DisabledByFirmware,
}

/// Proof that SVM is enabled on this processor, with its host save area.
/// Only with one can a vCPU run.
pub struct SvmHost {
    _hsave: Box<OpaquePage>,
    pub capabilities: SvmCapabilities,
}

/// Reads the SVM capabilities, or None if the processor has no SVM.
pub fn capabilities() -> Option<SvmCapabilities> {
    let (max_ext, ..) = cpuid(0x8000_0000);
    if max_ext < 0x8000_000A {
        return None;
    }
    let (_, _, ecx, _) = cpuid(0x8000_0001);
    if ecx & CPUID_80000001_ECX_SVM == 0 {
        return None;
    }
    let (eax, ebx, _, edx) = cpuid(0x8000_000A);
    Some(SvmCapabilities::from_cpuid(eax, ebx, edx))
}

/// Enables SVM on this processor: checks CPUID and VM_CR, sets EFER.SVME and
/// gives the processor its host save area. Call once per processor.
pub fn enable() -> Result<SvmHost, EnableError> {
    let capabilities = capabilities().ok_or(EnableError::NotSupported)?;
    if !capabilities.usable() {
        return Err(EnableError::NoNestedPaging);
    }
    // SAFETY: VM_CR exists on every processor that reports SVM (APM vol. 2, 15.30.1).
    let vm_cr = unsafe { rdmsr(MSR_VM_CR) };
    if vm_cr & VM_CR_SVMDIS != 0 {
        return Err(EnableError::DisabledByFirmware);
    }
    let hsave = OpaquePage::new_boxed();
    // SAFETY: EFER exists in long mode; setting SVME only enables the SVM
    // instructions. VM_HSAVE_PA gets a page-aligned page that lives as long as
    // the returned SvmHost, i.e. as long as any vCPU can run.
    unsafe {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
        wrmsr(MSR_VM_HSAVE_PA, phys_addr(&*hsave));
    }
    Ok(SvmHost {
        _hsave: hsave,
        capabilities,
    })
}
