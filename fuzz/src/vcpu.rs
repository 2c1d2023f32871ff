//! The vCPU the targets drive: the exit tests' `FakeVcpu` (from vmm-core's
//! `test_support`, public with its `fuzzing` feature), whose whole state is
//! plain fields the input sets.

use crate::input::Input;
use vmm_core::vcpu::SegReg;

pub use vmm_core::test_support::FakeVcpu;

/// A real-mode vCPU with every data segment at 0 and CS:IP at `cs:ip`.
pub fn real_mode(cs: u16, ip: u16) -> FakeVcpu {
    FakeVcpu::at(u64::from(cs) << 4, u64::from(ip))
}

/// Loads data segment `seg` as real mode would: base = selector * 16.
pub fn set_real_segment(v: &mut FakeVcpu, seg: SegReg, selector: u16) {
    v.set_segment(seg, u64::from(selector) << 4);
}

/// Every general-purpose register from the input, mostly small values.
pub fn fill_gprs(v: &mut FakeVcpu, input: &mut Input) {
    for g in v.gprs.iter_mut() {
        *g = input.mostly_small_u64();
    }
}
