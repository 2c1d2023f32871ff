//! Why a guest stops for good, and how that is reported.

use super::bios_stop::BiosStop;
use crate::emulator::fetch::FetchError;
use crate::emulator::string_io::StringIoError;

/// Why a guest stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// HLT with interrupts disabled: nothing can ever wake it.
    HaltedForever,
    /// The guest wrote this status to the test-exit port.
    ExitRequested(u8),
    /// Triple fault (shutdown).
    TripleFault,
    /// The hardware refused the guest's state.
    InvalidState { code: u64 },
    /// An access to guest-physical memory that nothing backs.
    UnbackedAccess { gpa: u64, write: bool },
    /// Delivering `vector` touched guest-physical memory a device or ROM
    /// backs (an IDT or stack there): the processor's delivery cannot be
    /// completed by the hypervisor.
    UnemulatedEventDelivery { gpa: u64, write: bool, vector: u8 },
    /// An instruction we had to decode could not be fetched or decoded.
    Undecodable(FetchError),
    /// A string I/O instruction that could not be completed.
    StringIo { port: u16, error: StringIoError },
    /// The emulated BIOS ended the guest.
    Bios(BiosStop),
    /// An exit this hypervisor does not handle.
    UnhandledExit { code: u64 },
}

impl StopReason {
    /// True when the guest ended the way a test guest means to end.
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            StopReason::HaltedForever | StopReason::ExitRequested(0)
        )
    }

    /// True when the guest's registers say something about why it stopped:
    /// not for a clean end, nor when the BIOS gave up (the reason is the
    /// media, which the log line before names).
    pub fn shows_guest_state(&self) -> bool {
        !self.is_clean() && !matches!(self, StopReason::Bios(_))
    }
}

impl core::fmt::Display for StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StopReason::HaltedForever => write!(f, "halted with interrupts disabled"),
            StopReason::ExitRequested(s) => write!(f, "requested exit with status {s}"),
            StopReason::TripleFault => write!(f, "triple fault (shutdown)"),
            StopReason::Bios(why) => write!(f, "{why}"),
            StopReason::InvalidState { code } => {
                write!(f, "invalid guest state (exit code {code:#x})")
            }
            StopReason::UnbackedAccess { gpa, write } => {
                write!(
                    f,
                    "{} of unbacked guest-physical address {gpa:#x}",
                    if *write { "write" } else { "read" }
                )
            }
            StopReason::UnemulatedEventDelivery { gpa, write, vector } => write!(
                f,
                "delivering vector {vector} {} guest-physical address {gpa:#x}, \
                 which a device or ROM backs: not emulated",
                if *write { "wrote" } else { "read" }
            ),
            StopReason::Undecodable(e) => {
                write!(f, "could not decode the instruction at rip: {e:?}")
            }
            StopReason::StringIo { port, error } => {
                write!(f, "string I/O on port {port:#x} failed: {error:?}")
            }
            StopReason::UnhandledExit { code } => write!(f, "unhandled exit code {code:#x}"),
        }
    }
}
