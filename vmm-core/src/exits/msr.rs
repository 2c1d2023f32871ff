//! RDMSR/WRMSR: the domain's MSR policy answers; what it refuses is #GP(0).

use super::flow::Flow;
use super::instruction::complete;
use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::msr_policy::{self, MsrState};
use crate::vcpu::{vector, Exception, Gpr, Vcpu};

/// The MSR state of a vCPU, for the MSR policy.
struct VcpuMsrs<'a> {
    vcpu: &'a mut dyn Vcpu,
    tsc: u64,
}

impl MsrState for VcpuMsrs<'_> {
    fn efer(&self) -> u64 {
        self.vcpu.control_regs().efer
    }
    fn set_efer(&mut self, efer: u64) {
        self.vcpu.set_efer(efer);
    }
    fn cr0(&self) -> u64 {
        self.vcpu.control_regs().cr0
    }
    fn tsc(&self) -> u64 {
        self.tsc
    }
}

pub(super) fn handle_msr(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    host: &dyn HostEnv,
    write: bool,
) -> Flow {
    let g = vcpu.gprs();
    let msr = g[Gpr::Rcx as usize] as u32;
    let value = (g[Gpr::Rdx as usize] << 32) | (g[Gpr::Rax as usize] & 0xFFFF_FFFF);
    if write && msr == xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE && dom.xen.is_some() {
        return write_hypercall_page(vcpu, dom, host, value);
    }
    let mut state = VcpuMsrs {
        vcpu,
        tsc: host.tsc(),
    };
    let ok = if write {
        msr_policy::write(&dom.cpu, msr, value, &mut state)
    } else {
        match msr_policy::read(&dom.cpu, msr, &state) {
            Some(v) => {
                let g = state.vcpu.gprs_mut();
                g[Gpr::Rax as usize] = v & 0xFFFF_FFFF;
                g[Gpr::Rdx as usize] = v >> 32;
                true
            }
            None => false,
        }
    };
    if !ok {
        if dom.log_limits.unhandled_msr.allow() {
            log::info!(
                "dom{}: {} of MSR {msr:#x} -> #GP",
                dom.id,
                if write { "wrmsr" } else { "rdmsr" }
            );
        }
        vcpu.inject_exception(Exception {
            vector: vector::GP,
            error_code: Some(0),
        });
        return Flow::Continue;
    }
    complete(vcpu, dom, None)
}

/// WRMSR to the Xen hypercall-page MSR (CPUID 4000_0002h EBX): the page is
/// filled at the guest-physical address written; a bad address is #GP(0).
fn write_hypercall_page(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    host: &dyn HostEnv,
    gpa: u64,
) -> Flow {
    let ok =
        crate::xen::guest_access::split(dom, None, host.tsc()).is_some_and(|(xen, mut guest)| {
            xen.write_hypercall_msr(&mut guest, xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE, gpa)
                .is_ok()
        });
    if !ok {
        vcpu.inject_exception(Exception {
            vector: vector::GP,
            error_code: Some(0),
        });
        return Flow::Continue;
    }
    complete(vcpu, dom, None)
}
