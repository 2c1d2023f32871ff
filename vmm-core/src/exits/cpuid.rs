//! CPUID: the domain's CPUID policy answers.

use super::flow::Flow;
use super::instruction::complete;
use crate::cpuid_policy::guest_cpuid;
use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::vcpu::{Gpr, Vcpu};

pub(super) fn handle_cpuid(vcpu: &mut dyn Vcpu, dom: &mut Domain, host: &dyn HostEnv) -> Flow {
    let g = vcpu.gprs();
    let (leaf, subleaf) = (g[Gpr::Rax as usize] as u32, g[Gpr::Rcx as usize] as u32);
    let r = guest_cpuid(&dom.cpu, leaf, subleaf, &|l, s| host.cpuid(l, s));
    let g = vcpu.gprs_mut();
    g[Gpr::Rax as usize] = u64::from(r.eax);
    g[Gpr::Rbx as usize] = u64::from(r.ebx);
    g[Gpr::Rcx as usize] = u64::from(r.ecx);
    g[Gpr::Rdx as usize] = u64::from(r.edx);
    complete(vcpu, dom, None)
}
