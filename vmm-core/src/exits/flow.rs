//! What the run loop does after an exit.

use super::stop::StopReason;

/// What the run loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The guest executed HLT with interrupts enabled: sleep until one is pending.
    Halt,
    Stop(StopReason),
}
