//! The real hypercall entry: VMCALL on Intel, VMMCALL on AMD and Hygon,
//! chosen from the CPUID leaf 0 vendor string as Linux does since the
//! XSA-466 change (`xen_hypercall_setfunc`), without a hypercall page.
//!
//! Register use is that of `xen/include/public/arch-x86/xen-x86_64.h`:
//! number in RAX, arguments in RDI, RSI, RDX, R10, R8, result in RAX; the
//! hypervisor may clobber RAX and the argument registers and preserves
//! every other one.
#![allow(unsafe_code)]

use crate::hypercall::Hypercall;

/// The instruction that enters the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HypercallInsn {
    /// Intel VT-x (`0F 01 C1`, [`xen_abi::hypercall::VMCALL`]).
    Vmcall,
    /// AMD SVM (`0F 01 D9`, [`xen_abi::hypercall::VMMCALL`]).
    Vmmcall,
}

/// The instruction for a CPU whose CPUID leaf 0 vendor string (EBX, EDX,
/// ECX) is `vendor`: VMMCALL for "AuthenticAMD" and "HygonGenuine",
/// VMCALL for anything else.
pub fn insn_for_vendor(vendor: &[u8; 12]) -> HypercallInsn {
    match vendor {
        b"AuthenticAMD" | b"HygonGenuine" => HypercallInsn::Vmmcall,
        _ => HypercallInsn::Vmcall,
    }
}

/// The vendor string of CPUID leaf 0 (EBX, EDX, ECX).
#[cfg(target_arch = "x86_64")]
pub fn cpu_vendor() -> [u8; 12] {
    // CPUID leaf 0 exists on every x86-64 processor.
    #[allow(unused_unsafe)]
    // SAFETY: CPUID is available on every x86-64 CPU and only writes the
    // four registers the intrinsic returns.
    let r = unsafe { core::arch::x86_64::__cpuid(0) };
    let mut v = [0u8; 12];
    v[0..4].copy_from_slice(&r.ebx.to_le_bytes());
    v[4..8].copy_from_slice(&r.edx.to_le_bytes());
    v[8..12].copy_from_slice(&r.ecx.to_le_bytes());
    v
}

/// The guest's TSC now (RDTSC), for [`crate::shared_info`]'s clock.
#[cfg(target_arch = "x86_64")]
pub fn rdtsc() -> u64 {
    #[allow(unused_unsafe)]
    // SAFETY: RDTSC only reads the time-stamp counter into EDX:EAX.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

/// Hypercalls made with VMCALL or VMMCALL from the running guest.
#[cfg(target_arch = "x86_64")]
#[derive(Debug)]
pub struct NativeHypercall {
    insn: HypercallInsn,
}

#[cfg(target_arch = "x86_64")]
impl NativeHypercall {
    /// The entry for this CPU (vendor from CPUID leaf 0).
    ///
    /// # Safety
    ///
    /// The caller runs at CPL 0 as an HVM or PVH guest of a Xen-compatible
    /// hypervisor (elsewhere the instruction raises #UD), and makes
    /// hypercalls through the result only with arguments the hypervisor
    /// may act on: pointer arguments must name memory the caller owns for
    /// the call's duration (the frontends of this crate pass their own
    /// argument buffers), and frame numbers must be frames the guest may
    /// give up (the hypervisor maps its own pages there).
    pub unsafe fn new() -> Self {
        Self {
            insn: insn_for_vendor(&cpu_vendor()),
        }
    }

    /// The instruction chosen.
    pub fn insn(&self) -> HypercallInsn {
        self.insn
    }
}

#[cfg(target_arch = "x86_64")]
impl Hypercall for NativeHypercall {
    fn hypercall(&mut self, op: u64, args: [u64; 5]) -> i64 {
        let ret: i64;
        match self.insn {
            // SAFETY: `Self::new`'s contract: we are a guest of a
            // Xen-compatible hypervisor at CPL 0, so VMCALL exits to it; it
            // clobbers only RAX and the five argument registers, declared
            // here; memory it writes is what the caller's arguments name
            // (hence no `nomem`). The stack is not touched.
            HypercallInsn::Vmcall => unsafe {
                core::arch::asm!(
                    "vmcall",
                    inlateout("rax") op as i64 => ret,
                    inlateout("rdi") args[0] => _,
                    inlateout("rsi") args[1] => _,
                    inlateout("rdx") args[2] => _,
                    inlateout("r10") args[3] => _,
                    inlateout("r8") args[4] => _,
                    options(nostack),
                );
            },
            // SAFETY: as above, with VMMCALL on AMD/Hygon.
            HypercallInsn::Vmmcall => unsafe {
                core::arch::asm!(
                    "vmmcall",
                    inlateout("rax") op as i64 => ret,
                    inlateout("rdi") args[0] => _,
                    inlateout("rsi") args[1] => _,
                    inlateout("rdx") args[2] => _,
                    inlateout("r10") args[3] => _,
                    inlateout("r8") args[4] => _,
                    options(nostack),
                );
            },
        }
        ret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd_and_hygon_use_vmmcall_everyone_else_vmcall() {
        assert_eq!(insn_for_vendor(b"AuthenticAMD"), HypercallInsn::Vmmcall);
        assert_eq!(insn_for_vendor(b"HygonGenuine"), HypercallInsn::Vmmcall);
        assert_eq!(insn_for_vendor(b"GenuineIntel"), HypercallInsn::Vmcall);
        assert_eq!(insn_for_vendor(b"CentaurHauls"), HypercallInsn::Vmcall);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_host_vendor_string_is_printable() {
        let v = cpu_vendor();
        assert!(v.iter().all(|b| b.is_ascii_graphic()), "{v:?}");
    }
}
