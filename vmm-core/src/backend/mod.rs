//! The hardware backends behind [`crate::vcpu::Vcpu`]: each maps its vendor
//! crate's typed exits onto [`crate::vcpu::VmExit`].

pub mod svm;
pub mod vmx;
pub mod xmm;
