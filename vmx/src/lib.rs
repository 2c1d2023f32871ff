//! Intel VT-x backend. All VMCS access, VMX instructions, the world switch
//! and the EPT encoding live here and nowhere else; exits leave this crate as
//! typed values that vmm-core maps onto its backend-neutral exit type.
//!
//! Cited manual: Intel 64 and IA-32 Architectures Software Developer's Manual
//! (order no. 325462), volume 3C chapters 25-29 ("Virtual Machine Control
//! Structures", "VMX Non-Root Operation", "VM Entries", "VM Exits", "VMX
//! Support for Address Translation") and volume 3D appendices A-C.
//!
//! As in the SVM crate, the hypervisor identity-maps host RAM, so a heap
//! object's address is its physical address.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod access_rights;
pub mod capabilities;
pub mod controls;
pub mod ept;
pub mod exit;
pub mod fields;
pub mod host;
pub mod instructions;
pub mod vcpu;
mod world_switch;

pub use vcpu::VmxVcpu;

/// Physical address of a heap object (identity mapping, see the crate doc).
pub(crate) fn phys_addr<T: ?Sized>(p: *const T) -> u64 {
    p as *const u8 as u64
}
