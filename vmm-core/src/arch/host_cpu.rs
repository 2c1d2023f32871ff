//! The host processor and machine as exit handling sees them: CPUID, the
//! TSC, host time, typed input, the runner's control channel and waiting
//! for an interrupt.

use super::cpu::rdtsc;
use crate::control::ControlRequest;
use crate::cpu_policy::CpuidResult;
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

    fn control_request(&self) -> Option<ControlRequest> {
        ControlRequest::next(super::serial::try_read_control_byte)
    }

    fn wait_for_event(&self) {
        // STI; HLT back to back: the tick cannot slip in between and be missed.
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}
