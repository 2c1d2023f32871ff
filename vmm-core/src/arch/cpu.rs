//! The host processor as exit handling sees it: CPUID and the TSC.

use crate::cpuid_policy::CpuidResult;
use crate::host_env::HostEnv;

/// The real processor.
pub struct HostCpu;

impl HostEnv for HostCpu {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
        CpuidResult {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        }
    }

    fn tsc(&self) -> u64 {
        rdtsc()
    }

    fn now_ns(&self) -> u64 {
        super::tsc::now_ns()
    }

    fn console_input(&self) -> Option<u8> {
        super::serial::try_read_byte()
    }

    fn wait_for_event(&self) {
        // STI; HLT back to back: the tick cannot slip in between and be missed.
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

/// Reads the time stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD is clear at CPL 0 anyway.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Lets the hypervisor execute SSE moves (CR4.OSFXSR), which it needs only to
/// read and write the guest's XMM registers for the instruction emulator. The
/// hypervisor's own code never uses SSE, and the guest's CR4 is its own.
pub fn enable_sse_instructions() {
    use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
    // SAFETY: clearing EM and setting MP/OSFXSR/OSXMMEXCPT only allows SSE
    // instructions; no memory or mapping changes.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    }
}
