//! RDMSR/WRMSR: the domain's MSR policy answers; what it refuses is #GP(0).

use super::flow::Flow;
use super::instruction::complete;
use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::msr_policy::{self, MsrState};
use crate::vcpu::{vector, Exception, Gpr, Vcpu};
use device_model::lapic::{IA32_APIC_BASE, X2APIC_MSR_FIRST, X2APIC_MSR_LAST};

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
    if let Some(flow) = local_apic_msr(vcpu, dom, host, msr, write.then_some(value)) {
        return flow;
    }
    let mut state = VcpuMsrs {
        vcpu,
        tsc: host.tsc(),
    };
    let ok = if write {
        msr_policy::write(msr, value, &mut state)
    } else {
        match msr_policy::read(msr, &state) {
            Some(v) => {
                set_edx_eax(state.vcpu, v);
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
        return raise_gp(vcpu);
    }
    complete(vcpu, dom, None)
}

/// IA32_TSC_DEADLINE (Intel SDM vol. 3A, 12.5.4.1 "TSC-Deadline Mode").
pub const MSR_TSC_DEADLINE: u32 = 0x6E0;

/// The local APIC's MSRs on a board that has one: IA32_APIC_BASE, the
/// x2APIC registers 800h-8FFh (SDM vol. 3A, 12.12.1.2 "x2APIC Register
/// Address Space") and IA32_TSC_DEADLINE; None for any other MSR. `value`
/// is the WRMSR's, None for RDMSR. What the APIC refuses is #GP(0).
fn local_apic_msr(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    host: &dyn HostEnv,
    msr: u32,
    value: Option<u64>,
) -> Option<Flow> {
    let is_apic_msr = msr == IA32_APIC_BASE
        || (X2APIC_MSR_FIRST..=X2APIC_MSR_LAST).contains(&msr)
        || msr == MSR_TSC_DEADLINE;
    if !is_apic_msr {
        return None;
    }
    let apic = dom.board.apic.as_ref()?;
    let mut lapic = apic.lapic.borrow_mut();
    let result = match (msr, value) {
        (MSR_TSC_DEADLINE, Some(deadline)) => {
            lapic.set_tsc_deadline(deadline, host.tsc(), dom.tsc_hz);
            Ok(0)
        }
        (MSR_TSC_DEADLINE, None) => Ok(lapic.tsc_deadline()),
        (_, Some(v)) => lapic.write_msr(msr, v).map(|()| 0),
        (_, None) => lapic.read_msr(msr),
    };
    drop(lapic);
    match result {
        Ok(read) => {
            if value.is_none() {
                set_edx_eax(vcpu, read);
            }
            Some(complete(vcpu, dom, None))
        }
        Err(_) => {
            if dom.log_limits.unhandled_msr.allow() {
                log::info!(
                    "dom{}: {} of local APIC MSR {msr:#x} refused -> #GP",
                    dom.id,
                    if value.is_some() { "wrmsr" } else { "rdmsr" }
                );
            }
            Some(raise_gp(vcpu))
        }
    }
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
        return raise_gp(vcpu);
    }
    complete(vcpu, dom, None)
}

/// RDMSR's result: EDX:EAX, the upper halves of RAX and RDX cleared.
fn set_edx_eax(vcpu: &mut dyn Vcpu, value: u64) {
    let g = vcpu.gprs_mut();
    g[Gpr::Rax as usize] = value & 0xFFFF_FFFF;
    g[Gpr::Rdx as usize] = value >> 32;
}

/// A refused RDMSR/WRMSR: #GP(0), the instruction not retired.
fn raise_gp(vcpu: &mut dyn Vcpu) -> Flow {
    vcpu.inject_exception(Exception {
        vector: vector::GP,
        error_code: Some(0),
    });
    Flow::Continue
}
