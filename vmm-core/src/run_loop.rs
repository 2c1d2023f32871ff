//! The vCPU run loop: enter the guest, handle the exit, count it, repeat until
//! the guest stops. Generic over the backend, so the hot path has no dynamic
//! dispatch into the hardware layer.

use crate::domain::Domain;
use crate::exits::{handle_exit, Flow, StopReason};
use crate::host_env::HostEnv;
use crate::vcpu::Vcpu;

/// Runs `vcpu` in `dom` until the guest stops; returns why.
pub fn run_vcpu<V: Vcpu>(vcpu: &mut V, dom: &mut Domain, host: &dyn HostEnv) -> StopReason {
    loop {
        let entered = host.tsc();
        let exit = vcpu.run();
        let exited = host.tsc();
        dom.stats.guest_cycles = dom
            .stats
            .guest_cycles
            .saturating_add(exited.saturating_sub(entered));
        let flow = handle_exit(vcpu, dom, exit, host);
        dom.stats
            .record(exit.reason(), host.tsc().saturating_sub(exited));
        if let Flow::Stop(reason) = flow {
            return reason;
        }
    }
}
