//! Why a vCPU stopped running, in backend-neutral terms, and the buckets
//! the exit statistics count them in.

/// Direction of a port I/O access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoDirection {
    In,
    Out,
}

/// A port I/O instruction the guest executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoAccess {
    pub port: u16,
    /// Access width in bytes: 1, 2 or 4.
    pub size: u8,
    pub direction: IoDirection,
    /// INS/OUTS.
    pub string: bool,
    /// REP prefix.
    pub rep: bool,
    /// RIP of the next instruction, where the hardware reports it.
    pub next_rip: Option<u64>,
}

/// Which virtualization instruction the guest tried to execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtInstruction {
    Vmrun,
    Vmload,
    Vmsave,
    Stgi,
    Clgi,
    Skinit,
    Invlpga,
    Vmx,
}

/// The kind of an event the processor delivers through the IDT (AMD APM
/// vol. 2, 15.20 "Event Injection", EVENTINJ TYPE; Intel SDM vol. 3C, 25.9.3
/// "Information for VM Exits That Occur During Event Delivery").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A maskable interrupt from outside the processor.
    ExternalInterrupt,
    Nmi,
    /// A fault or abort the processor raised (#PF, #GP, #DF, ...).
    Exception,
    /// INT n, INT3, INTO, INT1: raised by an instruction.
    Software,
}

/// An event whose delivery an exit interrupted (the backend queues it again
/// for the next entry unless the handler injects something else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveredEvent {
    pub vector: u8,
    pub kind: EventKind,
}

impl DeliveredEvent {
    /// True for a double fault (#DF, vector 8, raised by the processor): a
    /// fault while delivering it is a triple fault (Intel SDM vol. 3A, 7.15
    /// "Interrupt 8—Double Fault Exception (#DF)"; AMD APM vol. 2, 8.2.9).
    pub fn is_double_fault(self) -> bool {
        self.kind == EventKind::Exception && self.vector == super::vector::DF
    }
}

/// What started a task switch (Intel SDM vol. 3A, 8.3 "Task Switching": a
/// CALL or JMP to a TSS descriptor or task gate, an IRET with EFLAGS.NT = 1,
/// or an interrupt or exception through a task gate in the IDT; SDM vol. 3C,
/// 28.2.1, table "Exit Qualification for Task Switches").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSwitchSource {
    Call,
    Jmp,
    Iret,
    /// An event delivered through a task gate in the IDT: the switch
    /// completes its delivery, and an exception's error code goes onto the
    /// new task's stack (SDM vol. 3A, 7.12.2 "Interrupt Tasks").
    Gate {
        vector: u8,
        kind: EventKind,
        error_code: Option<u32>,
    },
}

/// Why the guest stopped running, in backend-neutral terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmExit {
    /// IN/OUT/INS/OUTS.
    Io(IoAccess),
    /// CPUID.
    Cpuid,
    /// RDMSR (ECX names the MSR).
    MsrRead,
    /// WRMSR (ECX names the MSR, EDX:EAX the value).
    MsrWrite,
    /// HLT.
    Hlt,
    /// The guest triple-faulted (or otherwise entered shutdown).
    Shutdown,
    /// A host interrupt arrived while the guest ran.
    ExternalInterrupt,
    /// The guest can now take the interrupt we are holding for it.
    InterruptWindow,
    /// A host NMI arrived while the guest ran.
    Nmi,
    /// The deadline the run loop set with [`super::Vcpu::set_exit_deadline`]
    /// came while the guest ran (VT-x's VMX-preemption timer, Intel SDM
    /// vol. 3C, 26.5.1 "VMX-Preemption Timer"): nothing to handle, the run
    /// loop's poll before the next entry delivers the device's interrupt.
    PreemptionTimer,
    /// An INIT signal for this vCPU (Intel SDM vol. 3C, 26.2 "Other Causes
    /// of VM Exits"; AMD APM vol. 2, 15.13.3 "INIT Support").
    Init,
    /// A start-up IPI for this vCPU, with its vector (the start page number).
    Sipi { vector: u8 },
    /// VMMCALL/VMCALL: a hypercall.
    Hypercall,
    /// A virtualization instruction the guest may not use (answered with #UD).
    VirtInstruction(VirtInstruction),
    /// XSETBV.
    Xsetbv,
    /// INVD: intercepted on SVM, unconditional on VMX (AMD APM vol. 2, 15.9
    /// "Instruction Intercepts"; Intel SDM vol. 3C, 26.1.2 "Instructions That
    /// Cause VM Exits Unconditionally").
    Invd,
    /// WBINVD or WBNOINVD, where the backend intercepts it.
    Wbinvd,
    /// A guest-physical access that no RAM backs (MMIO or nothing).
    NestedPageFault { gpa: u64, write: bool, fetch: bool },
    /// A nested page fault the processor took while delivering `event`
    /// (reading the IDT or GDT, pushing the frame on the stack), not an
    /// access of the instruction at RIP (AMD APM vol. 2, 15.7.2 "Intercepts
    /// During IDT Interrupt Delivery"; Intel SDM vol. 3C, 25.9.3).
    NestedPageFaultDuringDelivery {
        gpa: u64,
        write: bool,
        event: DeliveredEvent,
    },
    /// A task switch the hypervisor completes (VT-x exits on every one,
    /// Intel SDM vol. 3C, 26.4.2 "Treatment of Task Switches", after
    /// checking the gate and the new TSS descriptor).
    TaskSwitch {
        /// The new task's TSS selector.
        selector: u16,
        source: TaskSwitchSource,
        /// RIP after the instruction that switched (CALL, JMP, IRET, INT n),
        /// where the hardware reports it; None for an event the processor
        /// raised (the task returns to RIP) or where the length is not given.
        next_rip: Option<u64>,
    },
    /// The hardware refused to enter the guest: its state is invalid.
    InvalidState { code: u64 },
    /// An exit code the backend does not know.
    Unknown { code: u64 },
}

impl VmExit {
    /// The statistics bucket for this exit.
    pub fn reason(&self) -> ExitReason {
        match self {
            VmExit::Io(_) => ExitReason::Io,
            VmExit::Cpuid => ExitReason::Cpuid,
            VmExit::MsrRead => ExitReason::MsrRead,
            VmExit::MsrWrite => ExitReason::MsrWrite,
            VmExit::Hlt => ExitReason::Hlt,
            VmExit::Shutdown => ExitReason::Shutdown,
            VmExit::ExternalInterrupt => ExitReason::ExternalInterrupt,
            VmExit::InterruptWindow => ExitReason::InterruptWindow,
            VmExit::Nmi => ExitReason::Nmi,
            VmExit::PreemptionTimer => ExitReason::PreemptionTimer,
            VmExit::Init => ExitReason::Init,
            VmExit::Sipi { .. } => ExitReason::Sipi,
            VmExit::Hypercall => ExitReason::Hypercall,
            VmExit::VirtInstruction(_) => ExitReason::VirtInstruction,
            VmExit::Xsetbv => ExitReason::Xsetbv,
            VmExit::Invd => ExitReason::Invd,
            VmExit::Wbinvd => ExitReason::Wbinvd,
            VmExit::NestedPageFault { .. } | VmExit::NestedPageFaultDuringDelivery { .. } => {
                ExitReason::NestedPageFault
            }
            VmExit::TaskSwitch { .. } => ExitReason::TaskSwitch,
            VmExit::InvalidState { .. } => ExitReason::InvalidState,
            VmExit::Unknown { .. } => ExitReason::Unknown,
        }
    }
}

/// Declares [`ExitReason`] with its report names, its list and its count
/// from one table, so they cannot drift apart.
macro_rules! exit_reasons {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Buckets of exit statistics.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ExitReason {
            $($(#[$doc])* $variant,)*
        }

        impl ExitReason {
            /// Every reason, in report order.
            pub const ALL: [ExitReason; [$($name),*].len()] = [$(ExitReason::$variant),*];

            /// Short name used in reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(ExitReason::$variant => $name,)*
                }
            }
        }
    };
}

exit_reasons! {
    Io => "io",
    Cpuid => "cpuid",
    MsrRead => "rdmsr",
    MsrWrite => "wrmsr",
    Hlt => "hlt",
    Shutdown => "shutdown",
    ExternalInterrupt => "intr",
    InterruptWindow => "irq-window",
    Nmi => "nmi",
    /// The exit deadline of [`super::Vcpu::set_exit_deadline`].
    PreemptionTimer => "preemption-timer",
    Init => "init",
    Sipi => "sipi",
    Hypercall => "hypercall",
    VirtInstruction => "virt-insn",
    Xsetbv => "xsetbv",
    Invd => "invd",
    Wbinvd => "wbinvd",
    NestedPageFault => "npf",
    TaskSwitch => "task-switch",
    InvalidState => "invalid",
    Unknown => "unknown",
}

impl ExitReason {
    /// Position in [`ExitReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}
