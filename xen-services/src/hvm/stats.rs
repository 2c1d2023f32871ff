//! Counts for `--stats`: hypercalls by number and sub-op, event-channel
//! traffic and XenStore requests.

use alloc::collections::BTreeMap;
use core::fmt;
use xen_abi::hypercall::*;

/// What a domain's Xen interface has done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XenStats {
    /// Calls by (hypercall number, sub-op).
    pub calls: BTreeMap<(u64, u32), u64>,
    /// `EVTCHNOP_send` calls.
    pub sends: u64,
    /// Ports raised in the guest (by sends, backends and timers).
    pub events_raised: u64,
    /// One-shot timers that fired.
    pub timer_fires: u64,
    /// XenStore requests served.
    pub xenstore_requests: u64,
    /// Kicks on a XenStore ring that could not be served.
    pub xenstore_ring_errors: u64,
    /// Kicks on a vbd's channel (`EVTCHNOP_send` by blkfront).
    pub vbd_kicks: u64,
    /// Vbds closed because their frontend broke the protocol.
    pub vbd_failures: u64,
}

/// Distinct (hypercall, sub-op) pairs counted on their own; calls of any
/// other pair are counted under [`OTHER_CALLS`], so a guest making calls
/// with ever new numbers cannot grow the map without bound.
pub const MAX_CALL_KEYS: usize = 256;
/// The key of the calls past [`MAX_CALL_KEYS`] (shown as `?/4294967295`).
pub const OTHER_CALLS: (u64, u32) = (u64::MAX, u32::MAX);

impl XenStats {
    pub(super) fn record(&mut self, nr: u64, sub: u32) {
        let key = if self.calls.len() < MAX_CALL_KEYS || self.calls.contains_key(&(nr, sub)) {
            (nr, sub)
        } else {
            OTHER_CALLS
        };
        *self.calls.entry(key).or_default() += 1;
    }

    /// Hypercalls in all.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Writes the counts, one line each.
    pub fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "xen hypercalls: {}", self.total_calls())?;
        for (&(nr, sub), count) in &self.calls {
            writeln!(out, "  {:<36} {count:>10}", CallName(nr, sub))?;
        }
        writeln!(
            out,
            "xen events: {} sends, {} raised, {} timer fires; xenstore: {} requests, {} ring errors",
            self.sends,
            self.events_raised,
            self.timer_fires,
            self.xenstore_requests,
            self.xenstore_ring_errors
        )
    }
}

/// A hypercall and sub-op as `name/sub` (numbers where unnamed).
struct CallName(u64, u32);

impl fmt::Display for CallName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (nr, sub) = (self.0, self.1);
        let name = match nr as u32 {
            _ if nr > u64::from(u32::MAX) => "?",
            HYPERVISOR_MEMORY_OP => "memory_op",
            HYPERVISOR_SET_TIMER_OP => return f.write_str("set_timer_op"),
            HYPERVISOR_XEN_VERSION => "xen_version",
            HYPERVISOR_CONSOLE_IO => "console_io",
            HYPERVISOR_GRANT_TABLE_OP => "grant_table_op",
            HYPERVISOR_VM_ASSIST => "vm_assist",
            HYPERVISOR_VCPU_OP => "vcpu_op",
            HYPERVISOR_SCHED_OP => "sched_op",
            HYPERVISOR_EVENT_CHANNEL_OP => "event_channel_op",
            HYPERVISOR_PHYSDEV_OP => "physdev_op",
            HYPERVISOR_HVM_OP => "hvm_op",
            _ => "",
        };
        let s = if name.is_empty() {
            alloc::format!("hypercall {nr}/{sub}")
        } else {
            alloc::format!("{name}/{sub}")
        };
        f.pad(&s)
    }
}
