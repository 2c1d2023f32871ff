//! Intel VT-x backend (to come, see the VT-x issue): VMXON and the capability
//! MSRs, the VMCS and its field encodings grouped as Intel SDM vol. 3D appendix B
//! groups them, EPT and VPID, the world switch, and the decoding of VM exits into
//! typed values that vmm-core maps onto its backend-neutral exit type. All VMCS
//! access lives in this crate and nowhere else.
#![no_std]
