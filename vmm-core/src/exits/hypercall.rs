//! VMMCALL/VMCALL, and the other instructions a guest of ours may not use.
//!
//! No hypercall interface is offered yet (the Xen ABI will be served here);
//! SVM/VMX instructions and XSETBV are not offered by the CPUID we report.
//! All raise #UD, as on such a processor.

use super::flow::Flow;
use super::instruction::inject;
use crate::domain::Domain;
use crate::vcpu::{vector, Exception, Vcpu};

pub(super) fn handle_unsupported_instruction(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Flow {
    inject(
        vcpu,
        dom,
        Exception {
            vector: vector::UD,
            error_code: None,
        },
        "unsupported instruction",
    );
    Flow::Continue
}
