//! The Xen platform of a domain, as the hypervisor wires it: the
//! host-tested [`xen_services::hvm::XenDomain`] (hypercalls, events,
//! XenStore, console) plus what only the hypervisor has — the guest's
//! memory and page tables ([`guest_access`]), the terminal the PV console
//! writes to, and the upcall's delivery into the vCPU ([`upcall`]).

pub mod guest_access;
pub mod pv_disks;
pub mod upcall;

use crate::cpu_policy::CpuidResult;
use crate::domain::Domain;
use alloc::boxed::Box;
use alloc::vec::Vec;
use device_model::ByteSink;
use xen_services::hvm::{HypercallInsn, XenConfig, XenDomain};

/// The guest's domid on the Xen ABI: the hypervisor's backends are
/// domain 0, as dom0 is under Xen.
pub const GUEST_DOMID: u16 = 1;

/// A domain's Xen platform.
pub struct XenPlatform {
    pub domain: XenDomain,
    /// Where the PV console's output goes (the terminal).
    pub console: Box<dyn ByteSink>,
    /// Limits the guest's `CONSOLEIO_write` lines in the hypervisor log.
    pub log_limit: device_model::rate_limit::RateLimit,
    /// The media of the PV disks, by vbd index ([`pv_disks`]).
    pub disks: Vec<pv_disks::PvDisk>,
}

impl XenPlatform {
    /// The platform for a domain with `vcpus` vCPUs on a processor whose
    /// hypercall instruction is `insn`; time starts at guest TSC `tsc` and
    /// Unix time `unix_ns`.
    pub fn new(
        insn: HypercallInsn,
        vcpus: u32,
        tsc_hz: u64,
        tsc: u64,
        unix_ns: u64,
        console: Box<dyn ByteSink>,
    ) -> Self {
        let domain = XenDomain::new(XenConfig {
            domid: GUEST_DOMID,
            vcpus,
            tsc_hz,
            tsc_at_start: tsc,
            unix_ns_at_start: unix_ns,
            insn,
            store_gfn: pc_layout::memory::XEN_STORE_PAGE >> 12,
            console_gfn: pc_layout::memory::XEN_CONSOLE_PAGE >> 12,
            memory_map: Vec::new(),
        });
        Self {
            domain,
            console,
            log_limit: device_model::rate_limit::RateLimit::new(200, 1000),
            disks: Vec::new(),
        }
    }

    /// The CPUID leaves 4000_0000h.. for the domain's CPU policy.
    pub fn cpuid_leaves(&self) -> Vec<CpuidResult> {
        xen_services::hvm::platform::cpuid_leaves(0, GUEST_DOMID)
            .iter()
            .map(|&[eax, ebx, ecx, edx]| CpuidResult { eax, ebx, ecx, edx })
            .collect()
    }
}

/// The Xen counts for a statistics block (nothing without the platform).
pub fn write_stats(dom: &Domain, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    match &dom.xen {
        Some(xen) => {
            xen.domain.stats.write(out)?;
            pv_disks::write_stats(xen, out)
        }
        None => Ok(()),
    }
}

/// Gives `dom` the Xen platform: the CPUID leaves, and the ring pages
/// mapped at their reserved frames. Fails only if the second-level tables
/// cannot take the mappings.
pub fn attach(
    dom: &mut Domain,
    platform: XenPlatform,
) -> Result<(), crate::second_level::MapError> {
    for (gfn, host) in platform.domain.ring_pages() {
        dom.second_level.map(gfn << 12, host, 4096, true)?;
    }
    dom.cpu.hypervisor_leaves = platform.cpuid_leaves();
    let khz = platform.domain.pvclock_khz();
    log::info!(
        "dom{}: Xen platform on: pvclock gives the guest a {}.{:03} MHz TSC",
        dom.id,
        khz / 1000,
        khz % 1000
    );
    dom.xen = Some(platform);
    Ok(())
}
