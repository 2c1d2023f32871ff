//! Exit dispatch: what the hypervisor does for each [`VmExit`], once for every
//! backend ("vendor code decodes, common code handles"). One file per kind of
//! exit; this dispatcher is the only place that knows them all.

mod bios_stop;
mod bios_trap;
mod cache;
mod cpuid;
mod event_delivery;
mod flow;
mod halt;
mod hypercall;
mod instruction;
mod mmio;
mod msr;
mod port_io;
mod stop;
mod task_switch;
#[cfg(test)]
mod tests;

pub use bios_stop::BiosStop;
pub use flow::Flow;
pub use stop::StopReason;

use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::vcpu::{IoDirection, Vcpu, VmExit};

/// Handles one exit.
pub fn handle_exit(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    exit: VmExit,
    host: &dyn HostEnv,
) -> Flow {
    let flow = match exit {
        VmExit::Io(io)
            if io.port == firmware::rom::TRAP_PORT
                && io.direction == IoDirection::Out
                && !io.string
                && dom.bios.is_some() =>
        {
            bios_trap::handle_trap(vcpu, dom, io)
        }
        VmExit::Io(io) if io.string => port_io::handle_string_io(vcpu, dom, io),
        VmExit::Io(io) => port_io::handle_port_io(vcpu, dom, io),
        VmExit::Cpuid => cpuid::handle_cpuid(vcpu, dom, host),
        VmExit::MsrRead => msr::handle_msr(vcpu, dom, host, false),
        VmExit::MsrWrite => msr::handle_msr(vcpu, dom, host, true),
        VmExit::Hlt => halt::handle_hlt(vcpu, dom),
        VmExit::Shutdown => Flow::Stop(StopReason::TripleFault),
        // Host interrupts, NMIs, INIT and SIPI only needed the guest to stop
        // running (a single-vCPU guest has nobody to send it INIT or SIPI); an
        // open interrupt window is acted on by the run loop before re-entry,
        // and so is the device deadline the preemption timer stopped it for
        // (the poll before the entry raises the interrupt).
        VmExit::ExternalInterrupt
        | VmExit::Nmi
        | VmExit::PreemptionTimer
        | VmExit::InterruptWindow
        | VmExit::Init
        | VmExit::Sipi { .. } => Flow::Continue,
        VmExit::Hypercall => hypercall::handle_hypercall(vcpu, dom, host),
        VmExit::VirtInstruction(_) | VmExit::Xsetbv => {
            hypercall::handle_unsupported_instruction(vcpu, dom)
        }
        // The processor's own access while delivering an event, not the
        // instruction's: never emulated as MMIO.
        VmExit::NestedPageFaultDuringDelivery { gpa, write, event } => {
            event_delivery::handle_fault_during_delivery(vcpu, dom, gpa, write, event)
        }
        // Executing from memory no RAM backs: the guest has lost its way.
        VmExit::NestedPageFault {
            gpa,
            write,
            fetch: true,
        } => Flow::Stop(StopReason::UnbackedAccess { gpa, write }),
        VmExit::NestedPageFault { .. } => mmio::handle_mmio(vcpu, dom),
        VmExit::Invd | VmExit::Wbinvd => cache::handle_cache_flush(vcpu, dom),
        VmExit::TaskSwitch {
            selector,
            source,
            next_rip,
        } => task_switch::handle_task_switch(vcpu, dom, selector, source, next_rip),
        VmExit::InvalidState { code } => Flow::Stop(StopReason::InvalidState { code }),
        VmExit::Unknown { code } => Flow::Stop(StopReason::UnhandledExit { code }),
    };
    if flow == Flow::Continue {
        if let Some(status) = dom.exit_request.take() {
            return Flow::Stop(StopReason::ExitRequested(status));
        }
    }
    flow
}
