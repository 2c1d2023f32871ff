//! What exit handling needs from the host processor, as a trait so the run loop
//! runs under `cargo test` with a fake.

use crate::control::ControlRequest;
use crate::cpu_policy::CpuidResult;

/// The host processor's CPUID and time stamp counter.
pub trait HostEnv {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult;
    /// The host TSC (cycles).
    fn tsc(&self) -> u64;
    /// Host time in nanoseconds since an arbitrary start (monotonic).
    fn now_ns(&self) -> u64;
    /// A byte typed on the host console, if one is waiting.
    fn console_input(&self) -> Option<u8>;
    /// A request from the runner's control channel, if one is waiting
    /// (bytes that are no request are skipped); None where there is no
    /// channel ([`crate::control`]).
    fn control_request(&self) -> Option<ControlRequest>;
    /// Waits for the next host event (the periodic tick at the latest): how a
    /// halted guest's vCPU sleeps instead of spinning.
    fn wait_for_event(&self);
}
