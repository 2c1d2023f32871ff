//! VMCALL/VMMCALL: a Xen hypercall when the domain has the Xen platform
//! (served by [`xen_services::hvm::XenDomain::hypercall`]; the 64-bit ABI
//! of `xen/include/public/arch-x86/xen-x86_64.h`: number in RAX, arguments
//! in RDI, RSI, RDX, R10, R8, result in RAX, every other register kept),
//! otherwise #UD as on a processor without a hypervisor. SVM/VMX
//! instructions and XSETBV are not offered by the CPUID we report and raise
//! #UD too.

use super::flow::Flow;
use super::instruction::{fetch_failed, inject, skip_instruction};
use super::stop::StopReason;
use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::vcpu::{vector, Exception, SegReg, Segment, Vcpu};
use crate::xen::guest_access::split;
use xen_services::hvm::{Action, HypercallArgs};

/// EFER.LMA (AMD APM vol. 2, 3.1.7; Intel SDM vol. 3A, 2.2.1).
const EFER_LMA: u64 = 1 << 10;

pub(super) fn handle_hypercall(vcpu: &mut dyn Vcpu, dom: &mut Domain, host: &dyn HostEnv) -> Flow {
    if dom.xen.is_none() {
        return handle_unsupported_instruction(vcpu, dom);
    }
    let g = vcpu.gprs();
    let long_mode = vcpu.control_regs().efer & EFER_LMA != 0
        && vcpu.segment(SegReg::Cs).attrs & Segment::ATTR_L != 0;
    let args = HypercallArgs {
        nr: g[0],
        // RDI, RSI, RDX, R10, R8.
        args: [g[7], g[6], g[2], g[10], g[8]],
        cpl: vcpu.cpl(),
        long_mode,
        vcpu: 0,
    };
    let Some((xen, mut guest)) = split(dom, Some(&*vcpu), host.tsc()) else {
        return Flow::Continue;
    };
    let outcome = xen.hypercall(&mut guest, args);
    log::debug!(
        "dom{}: hypercall {} ({:#x}, {:#x}, {:#x}) -> {:#x}",
        dom.id,
        args.nr,
        args.args[0],
        args.args[1],
        args.args[2],
        outcome.ret
    );
    vcpu.gprs_mut()[0] = outcome.ret;
    if let Err(e) = skip_instruction(vcpu, dom, None) {
        return fetch_failed(vcpu, e);
    }
    match outcome.action {
        Action::None | Action::Yield => Flow::Continue,
        Action::Block => Flow::Halt,
        Action::Shutdown(reason) => Flow::Stop(StopReason::XenShutdown(reason)),
    }
}

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
