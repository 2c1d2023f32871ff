//! The backend-neutral virtual CPU: what the run loop and the exit handlers see.
//!
//! The SVM and VMX crates decode their own exit formats; `crate::backend` turns
//! those into [`VmExit`] and implements [`Vcpu`], so exit policy exists once.

use core::fmt;

/// General-purpose registers indexed by their instruction encoding number:
/// RAX=0, RCX=1, RDX=2, RBX=3, RSP=4, RBP=5, RSI=6, RDI=7, R8..R15=8..15
/// (Intel SDM vol. 2A, 2.1.5, table 2-2 "32-Bit Addressing Forms with the ModR/M Byte").
pub type Gprs = [u64; 16];

/// Index of a general-purpose register in [`Gprs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Gpr {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
}

/// Names of the registers in [`Gprs`] order, for dumps.
pub const GPR_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

/// A segment register as the processor holds it, hidden part included.
///
/// `attrs` uses the packed 12-bit form of the AMD VMCB (AMD APM vol. 2, 15.5.1
/// "Basic Operation", segment attribute field): bits 0-3 type, 4 S, 5-6 DPL, 7 P,
/// 8 AVL, 9 L, 10 D/B, 11 G. The VMX backend converts its access-rights format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    pub attrs: u16,
    pub limit: u32,
    pub base: u64,
}

impl Segment {
    /// Attribute bit 9: 64-bit code segment.
    pub const ATTR_L: u16 = 1 << 9;
    /// Attribute bit 10: default operand size 32 bits.
    pub const ATTR_DB: u16 = 1 << 10;
}

/// The segment registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegReg {
    Es,
    Cs,
    Ss,
    Ds,
    Fs,
    Gs,
}

/// A descriptor-table register (GDTR/IDTR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescriptorTable {
    pub base: u64,
    pub limit: u32,
}

/// Control registers and EFER as the guest sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControlRegs {
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

/// CR0.PE: protection enabled.
pub const CR0_PE: u64 = 1 << 0;
/// CR0.PG: paging.
pub const CR0_PG: u64 = 1 << 31;
/// EFER.LMA: long mode active.
pub const EFER_LMA: u64 = 1 << 10;
/// RFLAGS.IF: maskable interrupts enabled.
pub const RFLAGS_IF: u64 = 1 << 9;

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

/// RFLAGS.DF: string instructions decrement their pointers.
pub const RFLAGS_DF: u64 = 1 << 10;

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
    /// A guest-physical access that no RAM backs (MMIO or nothing).
    NestedPageFault { gpa: u64, write: bool, fetch: bool },
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
            VmExit::Init => ExitReason::Init,
            VmExit::Sipi { .. } => ExitReason::Sipi,
            VmExit::Hypercall => ExitReason::Hypercall,
            VmExit::VirtInstruction(_) => ExitReason::VirtInstruction,
            VmExit::Xsetbv => ExitReason::Xsetbv,
            VmExit::NestedPageFault { .. } => ExitReason::NestedPageFault,
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
    Init => "init",
    Sipi => "sipi",
    Hypercall => "hypercall",
    VirtInstruction => "virt-insn",
    Xsetbv => "xsetbv",
    NestedPageFault => "npf",
    InvalidState => "invalid",
    Unknown => "unknown",
}

impl ExitReason {
    /// Position in [`ExitReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An exception to deliver to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    pub vector: u8,
    pub error_code: Option<u32>,
}

/// Exception vectors (Intel SDM vol. 3A, 7.15 "Exception and Interrupt Reference").
pub mod vector {
    pub const DE: u8 = 0;
    pub const UD: u8 = 6;
    pub const DF: u8 = 8;
    pub const SS: u8 = 12;
    pub const GP: u8 = 13;
    pub const PF: u8 = 14;
}

/// A hardware virtual CPU, as the run loop drives it.
pub trait Vcpu {
    /// Short name of the backend ("svm", "vmx").
    fn backend_name(&self) -> &'static str;
    /// Enters the guest and returns when it exits.
    fn run(&mut self) -> VmExit;
    /// The general-purpose registers.
    fn gprs(&self) -> &Gprs;
    /// The general-purpose registers, for changing.
    fn gprs_mut(&mut self) -> &mut Gprs;
    fn rip(&self) -> u64;
    fn set_rip(&mut self, rip: u64);
    fn rflags(&self) -> u64;
    fn set_rflags(&mut self, rflags: u64);
    /// CR0, CR2, CR3, CR4 and EFER as the guest sees them.
    fn control_regs(&self) -> ControlRegs;
    /// Sets EFER as the guest sees it (the backend keeps its own bits).
    fn set_efer(&mut self, efer: u64);
    /// Sets CR2 (the faulting address of a #PF being injected).
    fn set_cr2(&mut self, cr2: u64);
    fn segment(&self, seg: SegReg) -> Segment;
    /// Loads a segment register (selector and hidden part), as the BIOS does
    /// when it starts boot code.
    fn set_segment(&mut self, seg: SegReg, value: Segment);
    fn gdtr(&self) -> DescriptorTable;
    fn idtr(&self) -> DescriptorTable;
    /// Current privilege level.
    fn cpl(&self) -> u8;
    /// Queues an exception for delivery at the next entry.
    fn inject_exception(&mut self, exception: Exception);
    /// True when an external interrupt injected now would be delivered at once
    /// (RFLAGS.IF set, no interrupt shadow, no event already queued).
    fn interrupt_window_open(&self) -> bool;
    /// Queues external interrupt `vector` for delivery at the next entry.
    fn inject_interrupt(&mut self, vector: u8);
    /// Asks for a [`VmExit::InterruptWindow`] as soon as the guest can take an
    /// interrupt (on) or stops asking (off).
    fn set_interrupt_window_exiting(&mut self, on: bool);
    /// Guest register XMM`index` (0-15).
    fn xmm(&self, index: u8) -> u128;
    /// Sets guest register XMM`index` (0-15).
    fn set_xmm(&mut self, index: u8, value: u128);
    /// Writes the backend's own view of the guest (VMCB/VMCS fields) for a report.
    fn dump_backend_state(&self, out: &mut dyn fmt::Write) -> fmt::Result;
}

/// Writes the architectural state of `vcpu` in a form people read in bug reports.
pub fn dump_state(vcpu: &dyn Vcpu, out: &mut dyn fmt::Write) -> fmt::Result {
    let g = vcpu.gprs();
    for (i, name) in GPR_NAMES.iter().enumerate() {
        write!(out, "{name:>3}={:016x}", g[i])?;
        out.write_str(if i % 4 == 3 { "\n" } else { " " })?;
    }
    let cr = vcpu.control_regs();
    writeln!(
        out,
        "rip={:016x} rflags={:016x} cpl={}",
        vcpu.rip(),
        vcpu.rflags(),
        vcpu.cpl()
    )?;
    writeln!(
        out,
        "cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x} efer={:016x}",
        cr.cr0, cr.cr2, cr.cr3, cr.cr4, cr.efer
    )?;
    for (name, seg) in [
        ("es", SegReg::Es),
        ("cs", SegReg::Cs),
        ("ss", SegReg::Ss),
        ("ds", SegReg::Ds),
        ("fs", SegReg::Fs),
        ("gs", SegReg::Gs),
    ] {
        let s = vcpu.segment(seg);
        writeln!(
            out,
            "{name}={:04x} base={:016x} limit={:08x} attrs={:03x}",
            s.selector, s.base, s.limit, s.attrs
        )?;
    }
    let (gdt, idt) = (vcpu.gdtr(), vcpu.idtr());
    writeln!(
        out,
        "gdtr={:016x}/{:x} idtr={:016x}/{:x}",
        gdt.base, gdt.limit, idt.base, idt.limit
    )?;
    vcpu.dump_backend_state(out)
}
