//! Why a guest stops for good, and how that is reported.

use super::bios_stop::BiosStop;
use crate::domain::DomainError;
use crate::emulator::fetch::FetchError;
use crate::emulator::string_io::StringIoError;
use crate::task_switch::StopCause;
use device_model::reset::ResetSource;

/// Why a guest stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// HLT with interrupts disabled: nothing can ever wake it.
    HaltedForever,
    /// HLT with interrupts enabled while the interrupt controller masks every
    /// input, for longer than the `halt_watchdog_ms` watchdog: nothing can
    /// wake it either (real hardware would hang silently).
    HaltedWithEveryInterruptMasked { watchdog_ms: u64 },
    /// The guest wrote this status to the test-exit port.
    ExitRequested(u8),
    /// Triple fault (shutdown). Never a reboot: a guest that breaks down is
    /// stopped and reported, whatever `no_reboot` says.
    TripleFault,
    /// The guest asked for a system reset and the configuration says
    /// `no_reboot`: the end QEMU's `-no-reboot` gives a rebooting guest.
    ResetRequested { source: ResetSource },
    /// The guest asked for more than `resets` resets within `window_secs`
    /// seconds of host time: a reboot loop, stopped before it eats the host.
    ResetLoop { resets: u32, window_secs: u32 },
    /// The board could not be rebuilt for a reset (a hypervisor bug: the
    /// same board was built when the domain was).
    ResetFailed(DomainError),
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
    /// A task switch to TSS `selector` that cannot be completed for the
    /// guest (a TSS or descriptor table outside RAM, say).
    TaskSwitch { selector: u16, cause: StopCause },
    /// An exit this hypervisor does not handle.
    UnhandledExit { code: u64 },
    /// The guest shut itself down through the Xen ABI (`SCHEDOP_shutdown`
    /// with this `SHUTDOWN_*` reason, `xen/include/public/sched.h`).
    XenShutdown(u32),
    /// The guest entered the ACPI soft-off state: SLP_EN with the `_S5`
    /// SLP_TYP in PM1a_CNT (ACPI 6.5, 4.8.3.2.1 and 16.1.5 "G2/S5 Soft Off").
    AcpiPowerOff,
}

impl StopReason {
    /// True when the guest ended the way a test guest means to end.
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            StopReason::HaltedForever
                | StopReason::ExitRequested(0)
                | StopReason::ResetRequested { .. }
                | StopReason::AcpiPowerOff
                | StopReason::XenShutdown(
                    xen_abi::sched::SHUTDOWN_POWEROFF | xen_abi::sched::SHUTDOWN_REBOOT
                )
        )
    }

    /// True when the guest's registers say something about why it stopped:
    /// not for a clean end, nor when the BIOS gave up (the reason is the
    /// media, which the log line before names).
    pub fn shows_guest_state(&self) -> bool {
        !self.is_clean() && !matches!(self, StopReason::Bios(_) | StopReason::ResetFailed(_))
    }
}

impl core::fmt::Display for StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StopReason::HaltedForever => write!(
                f,
                "halted with interrupts disabled (how a guest without ACPI powers off)"
            ),
            StopReason::AcpiPowerOff => write!(f, "powered off through ACPI (S5)"),
            StopReason::XenShutdown(reason) => {
                let how = match *reason {
                    xen_abi::sched::SHUTDOWN_POWEROFF => "poweroff",
                    xen_abi::sched::SHUTDOWN_REBOOT => "reboot (a reboot ends the run)",
                    xen_abi::sched::SHUTDOWN_SUSPEND => "suspend (not supported: the run ends)",
                    xen_abi::sched::SHUTDOWN_CRASH => "crash",
                    xen_abi::sched::SHUTDOWN_WATCHDOG => "watchdog",
                    _ => "soft reset (not supported: the run ends)",
                };
                write!(f, "shut down through SCHEDOP_shutdown: {how}")
            }
            StopReason::HaltedWithEveryInterruptMasked { watchdog_ms } => write!(
                f,
                "halted for {watchdog_ms} ms with interrupts enabled but every interrupt \
                 line masked: nothing can wake it (halt_watchdog_ms)"
            ),
            StopReason::ExitRequested(s) => write!(f, "requested exit with status {s}"),
            StopReason::TripleFault => write!(f, "triple fault (shutdown)"),
            StopReason::ResetRequested { source } => {
                write!(f, "reset requested ({source}), not rebooting (no_reboot)")
            }
            StopReason::ResetLoop {
                resets,
                window_secs,
            } => write!(
                f,
                "reboot loop: more than {resets} resets within {window_secs} s of host time"
            ),
            StopReason::ResetFailed(e) => {
                write!(f, "the board could not be rebuilt for a reset: {e:?}")
            }
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
            StopReason::TaskSwitch { selector, cause } => {
                write!(
                    f,
                    "task switch to TSS selector {selector:#x} not completed: {cause}"
                )
            }
            StopReason::UnhandledExit { code } => write!(f, "unhandled exit code {code:#x}"),
        }
    }
}
