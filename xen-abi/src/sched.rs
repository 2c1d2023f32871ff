//! `sched_op` argument structures and shutdown reasons (`sched.h`;
//! sub-operation numbers in [`crate::hypercall`]).

/// `SCHEDOP_shutdown` (`struct sched_shutdown`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SchedShutdown {
    /// A `SHUTDOWN_*` reason.
    pub reason: u32,
}

layout!(SchedShutdown, size 4, reason @ 0);

/// `SCHEDOP_poll` (`struct sched_poll`): block until one of the ports is
/// pending or the timeout passes. A guest with PV spinlocks treats a
/// failure as a bug.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SchedPoll {
    /// Guest-virtual address of an array of `nr_ports`
    /// [`EvtchnPort`](crate::event_channel::EvtchnPort)s.
    pub ports: u64,
    /// Number of ports.
    pub nr_ports: u32,
    /// Always zero.
    pub pad0: u32,
    /// Absolute system time (ns) to give up at; 0 for never.
    pub timeout: u64,
}

layout!(SchedPoll, size 24, ports @ 0, nr_ports @ 8, pad0 @ 12, timeout @ 16);

// `SchedShutdown::reason` values (`SHUTDOWN_*`).

/// The domain is done: power off.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// Restart the domain.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// Save the domain's state for a later resume.
pub const SHUTDOWN_SUSPEND: u32 = 2;
/// The domain crashed.
pub const SHUTDOWN_CRASH: u32 = 3;
/// The domain's watchdog expired: restart it.
pub const SHUTDOWN_WATCHDOG: u32 = 4;
/// Reset the domain's state but keep its memory (for kexec).
pub const SHUTDOWN_SOFT_RESET: u32 = 5;
/// The highest valid reason.
pub const SHUTDOWN_MAX: u32 = 5;
