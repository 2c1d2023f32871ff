//! The vCPU timers of `xen/include/public/vcpu.h`: the one-shot timer
//! (`VCPUOP_set_singleshot_timer`, and `set_timer_op`) and the periodic one
//! (`VCPUOP_set_periodic_timer`), both raising the vCPU's `VIRQ_TIMER`
//! port. They are checked between guest entries, so they fire within the
//! hypervisor's host tick (1 ms) of their deadline.

use xen_abi::event_channel::VIRQ_TIMER;

use super::domain::XenDomain;
use super::guest::GuestAccess;

/// The shortest period Xen accepts (`VCPUOP_set_periodic_timer`:
/// `-EINVAL` below 1 ms, `xen/common/domain.c`).
pub const MIN_PERIOD_NS: u64 = 1_000_000;

impl XenDomain {
    /// The earliest armed timer as a guest TSC value, for the
    /// hypervisor's wait.
    pub fn next_timer_tsc(&self) -> Option<u64> {
        self.vcpus
            .iter()
            .flat_map(|v| [v.timer_ns, v.periodic.map(|(next, _)| next)])
            .flatten()
            .min()
            .map(|ns| self.tsc_at(ns))
    }

    /// Arms vCPU `v`'s periodic timer (`period_ns` 0 stops it).
    pub(super) fn set_periodic(&mut self, g: &dyn GuestAccess, v: u32, period_ns: u64) -> bool {
        if period_ns != 0 && period_ns < MIN_PERIOD_NS {
            return false;
        }
        let now = self.system_time(g);
        if let Some(state) = self.vcpus.get_mut(v as usize) {
            state.periodic = (period_ns != 0).then(|| (now.saturating_add(period_ns), period_ns));
        }
        true
    }

    /// Fires what is due. A periodic timer that fell behind (the guest or
    /// host was busy) fires once and starts its next period from now, as
    /// Xen's `vcpu_periodic_timer_work()` does, rather than in a burst.
    pub(super) fn fire_timers(&mut self, g: &mut dyn GuestAccess) -> bool {
        let now = self.system_time(g);
        let mut raised = false;
        for v in 0..self.vcpus.len() {
            let state = &mut self.vcpus[v];
            let mut due = false;
            if state.timer_ns.is_some_and(|t| t <= now) {
                state.timer_ns = None;
                due = true;
            }
            if let Some((next, period)) = state.periodic {
                if next <= now {
                    let skipped = (now - next) / period;
                    let next = next.saturating_add(period.saturating_mul(skipped + 1));
                    state.periodic = Some((next, period));
                    due = true;
                }
            }
            if !due {
                continue;
            }
            if let Some(port) = self.ports.virq_port(v as u32, VIRQ_TIMER) {
                self.stats.timer_fires += 1;
                raised |= self.raise_port(g, port);
            }
        }
        raised
    }
}
