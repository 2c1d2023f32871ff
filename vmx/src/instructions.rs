//! One wrapper per VMX instruction (Intel SDM vol. 3C, 31 "VMX Instruction
//! Reference"; 31.2 "Conventions" for VMsucceed / VMfailInvalid /
//! VMfailValid), plus the MSR and control-register accesses VMXON needs.
//! A VMfail becomes a typed error; VMfailValid carries the VM-instruction
//! error number (31.4 "VM Instruction Error Numbers").

use crate::fields::w32::VM_INSTRUCTION_ERROR;
use core::arch::asm;

/// Why a VMX instruction failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmxError {
    /// VMfailInvalid (CF=1): no current VMCS, or the pointer is invalid.
    FailInvalid,
    /// VMfailValid (ZF=1) with the VM-instruction error number.
    FailValid(u32),
}

impl VmxError {
    /// The SDM's text for common VM-instruction error numbers (31.4).
    pub fn describe(&self) -> &'static str {
        match self {
            VmxError::FailInvalid => "VMfailInvalid (no valid current VMCS)",
            VmxError::FailValid(2) => "VMCLEAR with invalid physical address",
            VmxError::FailValid(4) => "VMLAUNCH with non-clear VMCS",
            VmxError::FailValid(5) => "VMRESUME with non-launched VMCS",
            VmxError::FailValid(7) => "VM entry with invalid control field(s)",
            VmxError::FailValid(8) => "VM entry with invalid host-state field(s)",
            VmxError::FailValid(9) => "VMPTRLD with invalid physical address",
            VmxError::FailValid(12) => "VMREAD/VMWRITE from/to unsupported VMCS component",
            VmxError::FailValid(13) => "VMWRITE to read-only VMCS component",
            VmxError::FailValid(15) => "VMXON executed in VMX root operation",
            VmxError::FailValid(_) => "VMfailValid (see the VM-instruction error number)",
        }
    }
}

/// Turns the flags after a VMX instruction into a result. Reads the error
/// number for VMfailValid (a VMCS is current then, by definition).
fn check(cf: u8, zf: u8) -> Result<(), VmxError> {
    if cf != 0 {
        Err(VmxError::FailInvalid)
    } else if zf != 0 {
        // SAFETY: VMfailValid means a VMCS is current, so VMREAD is defined.
        let code = unsafe { vmread(VM_INSTRUCTION_ERROR) }.unwrap_or(0);
        Err(VmxError::FailValid(code as u32))
    } else {
        Ok(())
    }
}

/// VMXON: enter VMX root operation with the region at `pa`.
///
/// # Safety
/// CR4.VMXE must be set, CR0/CR4 must satisfy the fixed-bit MSRs, and `pa`
/// must be a 4 KiB region holding the VMCS revision id that stays allocated
/// while in VMX operation.
pub unsafe fn vmxon(pa: u64) -> Result<(), VmxError> {
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("vmxon [{}]", "setc {}", "setz {}", in(reg) &pa, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// VMCLEAR: initialize the VMCS at `pa` and make it not current.
///
/// # Safety
/// In VMX root operation; `pa` is a VMCS region of ours.
pub unsafe fn vmclear(pa: u64) -> Result<(), VmxError> {
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("vmclear [{}]", "setc {}", "setz {}", in(reg) &pa, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// VMPTRLD: make the VMCS at `pa` current.
///
/// # Safety
/// In VMX root operation; `pa` is a cleared VMCS region of ours.
pub unsafe fn vmptrld(pa: u64) -> Result<(), VmxError> {
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("vmptrld [{}]", "setc {}", "setz {}", in(reg) &pa, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// VMREAD of `field` from the current VMCS.
///
/// # Safety
/// In VMX root operation with a current VMCS.
pub unsafe fn vmread(field: u32) -> Result<u64, VmxError> {
    let value: u64;
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller; VMREAD only reads the VMCS.
    unsafe {
        asm!("vmread {}, {}", "setc {}", "setz {}", out(reg) value, in(reg) u64::from(field), out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    if cf != 0 {
        return Err(VmxError::FailInvalid);
    }
    if zf != 0 {
        return Err(VmxError::FailValid(12));
    }
    Ok(value)
}

/// VMWRITE of `value` to `field` of the current VMCS.
///
/// # Safety
/// In VMX root operation with a current VMCS; the value must not let the
/// guest reach host memory (the caller's EPT and controls decide that).
pub unsafe fn vmwrite(field: u32, value: u64) -> Result<(), VmxError> {
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("vmwrite {}, {}", "setc {}", "setz {}", in(reg) u64::from(field), in(reg) value, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// INVEPT type 2 (all-context) or 1 (single-context for `eptp`).
///
/// # Safety
/// In VMX root operation; INVEPT must be supported (EPT_VPID_CAP).
pub unsafe fn invept(kind: u64, eptp: u64) -> Result<(), VmxError> {
    let descriptor: [u64; 2] = [eptp, 0];
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller; INVEPT only invalidates TLB entries.
    unsafe {
        asm!("invept {}, [{}]", "setc {}", "setz {}", in(reg) kind, in(reg) &descriptor, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// INVVPID type 1 (single-context) for `vpid`.
///
/// # Safety
/// In VMX root operation; INVVPID must be supported (EPT_VPID_CAP).
pub unsafe fn invvpid_single(vpid: u16) -> Result<(), VmxError> {
    let descriptor: [u64; 2] = [u64::from(vpid), 0];
    let (cf, zf): (u8, u8);
    // SAFETY: guaranteed by the caller; INVVPID only invalidates TLB entries.
    unsafe {
        asm!("invvpid {}, [{}]", "setc {}", "setz {}", in(reg) 1u64, in(reg) &descriptor, out(reg_byte) cf, out(reg_byte) zf, options(nostack))
    };
    check(cf, zf)
}

/// Reads an MSR.
///
/// # Safety
/// `msr` must exist (RDMSR of a missing MSR raises #GP).
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: guaranteed by the caller; RDMSR has no side effects.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Writes an MSR.
///
/// # Safety
/// `msr` must exist and accept `value` without breaking the hypervisor.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    };
}

/// Reads CR0.
pub fn read_cr0() -> u64 {
    let v: u64;
    // SAFETY: reading CR0 at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Reads CR3.
pub fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Reads CR4.
pub fn read_cr4() -> u64 {
    let v: u64;
    // SAFETY: reading CR4 at CPL 0 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Writes CR0.
///
/// # Safety
/// The value must keep the hypervisor running (paging, protection on).
pub unsafe fn write_cr0(v: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr0, {}", in(reg) v, options(nostack, preserves_flags)) };
}

/// Writes CR4.
///
/// # Safety
/// The value must keep the hypervisor running (PAE on).
pub unsafe fn write_cr4(v: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr4, {}", in(reg) v, options(nostack, preserves_flags)) };
}

/// The GDTR and IDTR bases (for the host-state area).
pub fn descriptor_table_bases() -> (u64, u64) {
    let mut gdtr = [0u8; 10];
    let mut idtr = [0u8; 10];
    // SAFETY: SGDT/SIDT store 10 bytes into our buffers.
    unsafe {
        asm!("sgdt [{}]", in(reg) gdtr.as_mut_ptr(), options(nostack, preserves_flags));
        asm!("sidt [{}]", in(reg) idtr.as_mut_ptr(), options(nostack, preserves_flags));
    }
    let base = |b: [u8; 10]| u64::from_le_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
    (base(gdtr), base(idtr))
}

/// The current CS and TR selectors.
pub fn host_selectors() -> (u16, u16) {
    let (cs, tr): (u16, u16);
    // SAFETY: reading segment selectors has no side effects.
    unsafe {
        asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags));
        asm!("str {0:x}", out(reg) tr, options(nomem, nostack, preserves_flags));
    }
    (cs, tr)
}

/// The current SS selector (the hypervisor's data selector).
pub fn host_data_selector() -> u16 {
    let ss: u16;
    // SAFETY: reading a segment selector has no side effects.
    unsafe { asm!("mov {0:x}, ss", out(reg) ss, options(nomem, nostack, preserves_flags)) };
    ss
}

/// The base of the TSS that `tr` selects in the GDT at `gdt` (a 16-byte
/// system descriptor in 64-bit mode, SDM vol. 3A, 8.2.3 "TSS Descriptor in
/// 64-bit mode").
pub fn tss_base(gdt: u64, tr: u16) -> u64 {
    let at = gdt + u64::from(tr & !7);
    let mut d = [0u8; 16];
    // SAFETY: the GDT is the hypervisor's own, loaded and mapped; TR selects a
    // 16-byte TSS descriptor in it.
    unsafe { core::ptr::copy_nonoverlapping(at as *const u8, d.as_mut_ptr(), 16) };
    u64::from(d[2])
        | u64::from(d[3]) << 8
        | u64::from(d[4]) << 16
        | u64::from(d[7]) << 24
        | u64::from(u32::from_le_bytes([d[8], d[9], d[10], d[11]])) << 32
}

/// Sets RFLAGS.IF.
pub fn enable_interrupts() {
    // SAFETY: the hypervisor's IDT handles every host interrupt it unmasks.
    unsafe { asm!("sti", options(nomem, nostack)) };
}

/// Reads CR2 (which VMX does not switch: while the hypervisor runs, it holds
/// the guest's value).
pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Writes CR2 (the guest's, see `read_cr2`).
pub fn write_cr2(v: u64) {
    // SAFETY: the hypervisor takes no page faults it would need CR2 for.
    unsafe { asm!("mov cr2, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}

/// Reads the time stamp counter (RDTSC, Intel SDM vol. 2B): what the
/// VMX-preemption timer counts against.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD does not apply at CPL 0.
    unsafe { core::arch::x86_64::_rdtsc() }
}
