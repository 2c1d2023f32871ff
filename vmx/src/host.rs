//! Entering VMX root operation on the host processor (Intel SDM vol. 3C,
//! 24.7 "Enabling and Entering VMX Operation"; 24.8 "Restrictions on VMX
//! Operation" for the CR0/CR4 fixed bits; vol. 4 for IA32_FEATURE_CONTROL).

use crate::capabilities::{CapabilityError, VmxCapabilities};
use crate::instructions::{
    rdmsr, read_cr0, read_cr4, vmxon, write_cr0, write_cr4, wrmsr, VmxError,
};
use crate::phys_addr;
use alloc::boxed::Box;
use core::fmt;

/// IA32_FEATURE_CONTROL.
const MSR_FEATURE_CONTROL: u32 = 0x3A;
/// Bit 0: lock; bit 2: VMXON allowed outside SMX.
const FEATURE_CONTROL_LOCK: u64 = 1 << 0;
const FEATURE_CONTROL_VMXON_OUTSIDE_SMX: u64 = 1 << 2;
/// CR4 bit 13: VMXE.
pub const CR4_VMXE: u64 = 1 << 13;

/// A 4 KiB page whose layout belongs to the processor (VMXON region, VMCS).
#[repr(C, align(4096))]
pub struct Page(pub [u8; 4096]);

impl Page {
    /// A zeroed page starting with `revision` (the first dword of a VMXON
    /// region or VMCS, SDM 25.2 "Format of the VMCS Region").
    pub fn with_revision(revision: u32) -> Box<Self> {
        let mut p = Box::new(Self([0; 4096]));
        p.0[..4].copy_from_slice(&revision.to_le_bytes());
        p
    }
}

/// Why VMX could not be enabled.
#[derive(Debug)]
pub enum EnableError {
    /// CPUID does not report VMX.
    NotSupported,
    /// IA32_FEATURE_CONTROL is locked with VMXON outside SMX disabled.
    DisabledByFirmware,
    Capabilities(CapabilityError),
    /// EPT with 4-level write-back tables and unrestricted guest are required.
    NoUnrestrictedGuest,
    Vmxon(VmxError),
}

impl fmt::Display for EnableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnableError::NotSupported => write!(f, "the CPU does not offer VMX"),
            EnableError::DisabledByFirmware => write!(
                f,
                "VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked)"
            ),
            EnableError::Capabilities(e) => write!(f, "{e}"),
            EnableError::NoUnrestrictedGuest => {
                write!(f, "VMX lacks EPT (4-level, write-back) or unrestricted guest, which this hypervisor requires")
            }
            EnableError::Vmxon(e) => write!(f, "VMXON failed: {}", e.describe()),
        }
    }
}

/// Proof that this processor is in VMX root operation, with its capabilities.
pub struct VmxHost {
    _vmxon_region: Box<Page>,
    pub caps: VmxCapabilities,
}

/// True when CPUID.1:ECX.VMX[bit 5] is set.
pub fn vmx_supported() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 5) != 0
}

/// Enables VMX on this processor: feature control, capabilities, CR0/CR4
/// fixed bits, VMXON. Call once per processor.
pub fn enable() -> Result<VmxHost, EnableError> {
    if !vmx_supported() {
        return Err(EnableError::NotSupported);
    }
    // SAFETY: IA32_FEATURE_CONTROL exists on every processor with VMX.
    let fc = unsafe { rdmsr(MSR_FEATURE_CONTROL) };
    if fc & FEATURE_CONTROL_LOCK == 0 {
        // SAFETY: setting the lock with VMXON enabled is what firmware would do.
        unsafe {
            wrmsr(
                MSR_FEATURE_CONTROL,
                fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX,
            )
        };
    } else if fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX == 0 {
        return Err(EnableError::DisabledByFirmware);
    }
    // SAFETY: the VMX capability MSRs exist on processors with VMX; the
    // capability code reads the optional ones only when their bits say so.
    let caps = VmxCapabilities::from_msrs(|msr| Some(unsafe { rdmsr(msr) }))
        .map_err(EnableError::Capabilities)?;
    if !caps.supports_unrestricted_guest_with_ept() {
        return Err(EnableError::NoUnrestrictedGuest);
    }
    let cr0 = caps.fixed_cr0(read_cr0(), false);
    let cr4 = caps.fixed_cr4(read_cr4() | CR4_VMXE);
    // SAFETY: the fixed bits only add NE (and keep PE/PG/PAE set, as the
    // hypervisor already runs with them) and set VMXE.
    unsafe {
        write_cr0(cr0);
        write_cr4(cr4);
    }
    let region = Page::with_revision(caps.basic.revision_id);
    // SAFETY: CR4.VMXE is set, CR0/CR4 satisfy the fixed bits, and the region
    // (with its revision id) lives as long as the returned VmxHost.
    unsafe { vmxon(phys_addr(&*region)) }.map_err(EnableError::Vmxon)?;
    Ok(VmxHost {
        _vmxon_region: region,
        caps,
    })
}
