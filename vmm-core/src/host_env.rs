//! What exit handling needs from the host processor, as a trait so the run loop
//! runs under `cargo test` with a fake.

use crate::cpuid_policy::CpuidResult;

/// The host processor's CPUID and time stamp counter.
pub trait HostEnv {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult;
    /// The host TSC (cycles).
    fn tsc(&self) -> u64;
    /// Host time in nanoseconds since an arbitrary start (monotonic).
    fn now_ns(&self) -> u64;
}
