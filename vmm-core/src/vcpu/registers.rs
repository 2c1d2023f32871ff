//! Architectural register state as the exit handlers see it, and a whole
//! starting state for a vCPU.

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

/// The system segment registers, which name a descriptor in the GDT (Intel
/// SDM vol. 3A, 2.4.4 "Local Descriptor Table Register (LDTR)", 2.4.5 "Task
/// Register (TR)"); their hidden part uses [`Segment`]'s packed attributes,
/// and a not-present LDTR is an unusable (null) one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemSegReg {
    Ldtr,
    Tr,
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

/// RFLAGS.DF: string instructions decrement their pointers.
pub const RFLAGS_DF: u64 = 1 << 10;

/// A vCPU's whole architectural starting state: what a boot path (a PVH
/// kernel's entry, a reset) hands the vCPU before its first entry. TR and
/// LDTR keep their reset values (a busy 32-bit TSS and an unusable LDT,
/// which both hardware backends accept for protected-mode entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitialState {
    pub gprs: Gprs,
    pub rip: u64,
    pub rflags: u64,
    pub control: ControlRegs,
    /// ES, CS, SS, DS, FS, GS (in [`SegReg`] order).
    pub segments: [Segment; 6],
    pub gdtr: DescriptorTable,
    pub idtr: DescriptorTable,
}

impl SegReg {
    /// Every segment register, in [`InitialState::segments`] order.
    pub const ALL: [SegReg; 6] = [
        SegReg::Es,
        SegReg::Cs,
        SegReg::Ss,
        SegReg::Ds,
        SegReg::Fs,
        SegReg::Gs,
    ];
}
