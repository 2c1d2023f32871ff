//! Exit dispatch: what the hypervisor does for each [`VmExit`], once for every
//! backend ("vendor code decodes, common code handles").

use crate::cpuid_policy::guest_cpuid;
use crate::domain::Domain;
use crate::emulator::fetch::{decode_at_rip, FetchError};
use crate::emulator::guest_access::GuestAccess;
use crate::emulator::string_io::{run_string_io, StringIoError};
use crate::emulator::{emulate, EmuError};
use crate::guest_paging::raise_page_fault;
use crate::host_env::HostEnv;
use crate::msr_policy::{self, MsrState};
use crate::vcpu::{vector, Exception, Gpr, IoAccess, IoDirection, Vcpu, VmExit, RFLAGS_IF};

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
    /// An instruction we had to decode could not be fetched or decoded.
    Undecodable(FetchError),
    /// A string I/O instruction that could not be completed.
    StringIo { port: u16, error: StringIoError },
    /// The BIOS found nothing to boot.
    NoBootableDevice,
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
    /// not for a clean end, nor when the BIOS found nothing to boot (the
    /// reason is the media, which the log line before names).
    pub fn shows_guest_state(&self) -> bool {
        !self.is_clean() && !matches!(self, StopReason::NoBootableDevice)
    }
}

/// What the run loop does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The guest executed HLT with interrupts enabled: sleep until one is pending.
    Halt,
    Stop(StopReason),
}

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
            crate::bios_glue::handle_trap(vcpu, dom, io)
        }
        VmExit::Io(io) if io.string => {
            match run_string_io(vcpu, &mut dom.memory, &mut dom.io, dom.max_phys_bits, io) {
                Ok(_) => Flow::Continue,
                Err(error) => Flow::Stop(StopReason::StringIo {
                    port: io.port,
                    error,
                }),
            }
        }
        VmExit::Io(io) => handle_port_io(vcpu, dom, io),
        VmExit::Cpuid => handle_cpuid(vcpu, dom, host),
        VmExit::MsrRead => handle_msr(vcpu, dom, host, false),
        VmExit::MsrWrite => handle_msr(vcpu, dom, host, true),
        VmExit::Hlt => {
            if vcpu.rflags() & RFLAGS_IF == 0 {
                Flow::Stop(StopReason::HaltedForever)
            } else {
                match skip_instruction(vcpu, dom, None) {
                    Ok(()) => Flow::Halt,
                    Err(e) => fetch_failed(vcpu, e),
                }
            }
        }
        VmExit::Shutdown => Flow::Stop(StopReason::TripleFault),
        // Host interrupts and NMIs only needed the guest to stop running; an
        // open interrupt window is acted on by the run loop before re-entry.
        VmExit::ExternalInterrupt | VmExit::Nmi | VmExit::InterruptWindow => Flow::Continue,
        // No hypercall interface yet; SVM/VMX instructions and XSETBV are not
        // offered by the CPUID we report: all raise #UD, as on such a processor.
        VmExit::Hypercall | VmExit::VirtInstruction(_) | VmExit::Xsetbv => {
            inject(
                vcpu,
                dom,
                Exception {
                    vector: vector::UD,
                    error_code: None,
                },
                "unsupported instruction",
            );
            Flow::Continue
        }
        // Executing from memory no RAM backs: the guest has lost its way.
        VmExit::NestedPageFault {
            gpa,
            write,
            fetch: true,
        } => Flow::Stop(StopReason::UnbackedAccess { gpa, write }),
        VmExit::NestedPageFault { .. } => handle_mmio(vcpu, dom),
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

fn inject(vcpu: &mut dyn Vcpu, dom: &mut Domain, exception: Exception, why: &str) {
    if dom.log_limits.injected_exception.allow() {
        log::warn!(
            "dom{}: injecting vector {} ({why}) at rip {:#x}",
            dom.id,
            exception.vector,
            vcpu.rip()
        );
    }
    vcpu.inject_exception(exception);
}

/// Moves RIP past the current instruction: to `next_rip` where the hardware
/// reported it, else past the decoded instruction.
fn skip_instruction(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    next_rip: Option<u64>,
) -> Result<(), FetchError> {
    let next = match next_rip {
        Some(rip) => rip,
        None => decode_at_rip(vcpu, &mut dom.memory, dom.max_phys_bits)?.next_ip(),
    };
    vcpu.set_rip(next);
    Ok(())
}

/// The flow after a failed fetch: a #PF goes to the guest, anything else stops it.
fn fetch_failed(vcpu: &mut dyn Vcpu, error: FetchError) -> Flow {
    match error {
        FetchError::PageFault { error_code, linear } => {
            raise_page_fault(vcpu, error_code, linear);
            Flow::Continue
        }
        other => Flow::Stop(StopReason::Undecodable(other)),
    }
}

/// A data access to guest-physical memory no RAM backs: decode the
/// instruction and emulate it against the MMIO bus.
fn handle_mmio(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Flow {
    let insn = match decode_at_rip(vcpu, &mut dom.memory, dom.max_phys_bits) {
        Ok(insn) => insn,
        Err(e) => return fetch_failed(vcpu, e),
    };
    let mut access = GuestAccess {
        memory: &mut dom.memory,
        mmio: &mut dom.mmio,
        max_phys_bits: dom.max_phys_bits,
    };
    match emulate(vcpu, &mut access, &insn) {
        Ok(()) => Flow::Continue,
        Err(EmuError::Fault(f)) => {
            if let Some(cr2) = f.cr2 {
                vcpu.set_cr2(cr2);
            }
            vcpu.inject_exception(f.exception);
            Flow::Continue
        }
        Err(EmuError::Unsupported(m)) => {
            if dom.log_limits.unsupported_mmio_instruction.allow() {
                log::warn!(
                    "dom{}: MMIO access by unsupported instruction {m:?} at rip {:#x}: #UD",
                    dom.id,
                    vcpu.rip()
                );
            }
            vcpu.inject_exception(Exception {
                vector: vector::UD,
                error_code: None,
            });
            Flow::Continue
        }
        Err(EmuError::Fatal) => Flow::Stop(StopReason::UnbackedAccess {
            gpa: 0,
            write: false,
        }),
    }
}

/// Mask of an access of `size` bytes.
fn size_mask(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

fn handle_port_io(vcpu: &mut dyn Vcpu, dom: &mut Domain, io: IoAccess) -> Flow {
    let rax = vcpu.gprs()[Gpr::Rax as usize];
    match io.direction {
        IoDirection::Out => dom
            .io
            .write(io.port, io.size, (rax & size_mask(io.size)) as u32),
        IoDirection::In => {
            let v = u64::from(dom.io.read(io.port, io.size));
            // IN AL/AX keeps the rest of RAX; IN EAX zero-extends into RAX like
            // every 32-bit register write (Intel SDM vol. 1, 3.4.1.1).
            let new = if io.size == 4 {
                v
            } else {
                (rax & !size_mask(io.size)) | v
            };
            vcpu.gprs_mut()[Gpr::Rax as usize] = new;
        }
    }
    match skip_instruction(vcpu, dom, io.next_rip) {
        Ok(()) => Flow::Continue,
        Err(e) => fetch_failed(vcpu, e),
    }
}

fn handle_cpuid(vcpu: &mut dyn Vcpu, dom: &mut Domain, host: &dyn HostEnv) -> Flow {
    let g = vcpu.gprs();
    let (leaf, subleaf) = (g[Gpr::Rax as usize] as u32, g[Gpr::Rcx as usize] as u32);
    let r = guest_cpuid(leaf, subleaf, &|l, s| host.cpuid(l, s));
    let g = vcpu.gprs_mut();
    g[Gpr::Rax as usize] = u64::from(r.eax);
    g[Gpr::Rbx as usize] = u64::from(r.ebx);
    g[Gpr::Rcx as usize] = u64::from(r.ecx);
    g[Gpr::Rdx as usize] = u64::from(r.edx);
    match skip_instruction(vcpu, dom, None) {
        Ok(()) => Flow::Continue,
        Err(e) => fetch_failed(vcpu, e),
    }
}

/// The MSR state of a vCPU, for the MSR policy.
struct VcpuMsrs<'a> {
    vcpu: &'a mut dyn Vcpu,
    tsc: u64,
}

impl MsrState for VcpuMsrs<'_> {
    fn efer(&self) -> u64 {
        self.vcpu.control_regs().efer
    }
    fn set_efer(&mut self, efer: u64) {
        self.vcpu.set_efer(efer);
    }
    fn tsc(&self) -> u64 {
        self.tsc
    }
}

fn handle_msr(vcpu: &mut dyn Vcpu, dom: &mut Domain, host: &dyn HostEnv, write: bool) -> Flow {
    let g = vcpu.gprs();
    let msr = g[Gpr::Rcx as usize] as u32;
    let value = (g[Gpr::Rdx as usize] << 32) | (g[Gpr::Rax as usize] & 0xFFFF_FFFF);
    let mut state = VcpuMsrs {
        vcpu,
        tsc: host.tsc(),
    };
    let ok = if write {
        msr_policy::write(msr, value, &mut state)
    } else {
        match msr_policy::read(msr, &state) {
            Some(v) => {
                let g = state.vcpu.gprs_mut();
                g[Gpr::Rax as usize] = v & 0xFFFF_FFFF;
                g[Gpr::Rdx as usize] = v >> 32;
                true
            }
            None => false,
        }
    };
    if !ok {
        if dom.log_limits.unhandled_msr.allow() {
            log::info!(
                "dom{}: {} of MSR {msr:#x} -> #GP",
                dom.id,
                if write { "wrmsr" } else { "rdmsr" }
            );
        }
        vcpu.inject_exception(Exception {
            vector: vector::GP,
            error_code: Some(0),
        });
        return Flow::Continue;
    }
    match skip_instruction(vcpu, dom, None) {
        Ok(()) => Flow::Continue,
        Err(e) => fetch_failed(vcpu, e),
    }
}

impl core::fmt::Display for StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StopReason::HaltedForever => write!(f, "halted with interrupts disabled"),
            StopReason::ExitRequested(s) => write!(f, "requested exit with status {s}"),
            StopReason::TripleFault => write!(f, "triple fault (shutdown)"),
            StopReason::NoBootableDevice => write!(f, "the BIOS found no bootable device"),
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
