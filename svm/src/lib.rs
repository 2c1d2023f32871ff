//! AMD SVM backend. Every VMCB access, the world-switch assembly and the nested
//! page-table encoding live here and nowhere else; exits leave this crate as
//! typed values ([`exit::SvmExit`]) that vmm-core maps onto its neutral type.
//!
//! Cited manual: AMD64 Architecture Programmer's Manual, Volume 2: System
//! Programming, revision 3.42 (March 2024), chapter 15 "Secure Virtual Machine"
//! and appendix B "Layout of VMCB".
//!
//! The hypervisor identity-maps host RAM, so the address of any heap object is
//! also its physical address; this crate relies on that for the VMCB, the
//! permission maps and the nested page tables it allocates.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod capabilities;
pub mod event;
pub mod exit;
pub mod host;
mod instructions;
pub mod intercepts;
pub mod ioio;
pub mod npt;
pub mod permission_maps;
pub mod vcpu;
pub mod vmcb;
mod world_switch;

pub use vcpu::SvmVcpu;

/// Physical address of a heap object (identity mapping, see the crate doc).
pub(crate) fn phys_addr<T: ?Sized>(p: *const T) -> u64 {
    p as *const u8 as u64
}
