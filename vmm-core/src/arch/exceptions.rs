//! The hypervisor's IDT. Host PIC interrupts (vectors 20h-2Fh) are only
//! acknowledged: they exist to end guest execution (see `host_timer`).
//!
//! Exceptions inside the hypervisor: each is a bug, so the handler prints the
//! vector, error code, RIP, CR2 and registers to the log and powers off with
//! a hypervisor failure (Intel SDM vol. 3A, 7.12 "Exception and Interrupt
//! Handling", 7.14 "Exception and Interrupt Handling in 64-bit Mode").

use super::gdt::{code_selector, DOUBLE_FAULT_IST};
use super::power::{power_off, RunOutcome};
use core::arch::{asm, global_asm};
use spin::Once;

/// Vectors whose exception pushes an error code (SDM vol. 3A, table 7-1).
macro_rules! with_error_code {
    ($n:literal) => {
        concat!(
            ".balign 16\nexc_stub_",
            $n,
            ":\n push ",
            $n,
            "\n jmp exc_common\n"
        )
    };
}
macro_rules! without_error_code {
    ($n:literal) => {
        concat!(
            ".balign 16\nexc_stub_",
            $n,
            ":\n push 0\n push ",
            $n,
            "\n jmp exc_common\n"
        )
    };
}

global_asm!(
    ".text",
    without_error_code!(0),
    without_error_code!(1),
    without_error_code!(2),
    without_error_code!(3),
    without_error_code!(4),
    without_error_code!(5),
    without_error_code!(6),
    without_error_code!(7),
    with_error_code!(8),
    without_error_code!(9),
    with_error_code!(10),
    with_error_code!(11),
    with_error_code!(12),
    with_error_code!(13),
    with_error_code!(14),
    without_error_code!(15),
    without_error_code!(16),
    with_error_code!(17),
    without_error_code!(18),
    without_error_code!(19),
    without_error_code!(20),
    with_error_code!(21),
    without_error_code!(22),
    without_error_code!(23),
    without_error_code!(24),
    without_error_code!(25),
    without_error_code!(26),
    without_error_code!(27),
    without_error_code!(28),
    with_error_code!(29),
    with_error_code!(30),
    without_error_code!(31),
    r#"
    .balign 16
host_irq_master:
    push rax
    mov al, 0x20
    out 0x20, al
    pop rax
    iretq
    .balign 16
host_irq_slave:
    push rax
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop rax
    iretq

exc_common:
    push rax
    push rcx
    push rdx
    push rbx
    push rbp
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    and rsp, -16
    call vmm_exception
    ud2

    .section .rodata
    .balign 8
    .global exception_stub_table
exception_stub_table:
    .quad exc_stub_0, exc_stub_1, exc_stub_2, exc_stub_3, exc_stub_4, exc_stub_5, exc_stub_6, exc_stub_7
    .quad exc_stub_8, exc_stub_9, exc_stub_10, exc_stub_11, exc_stub_12, exc_stub_13, exc_stub_14, exc_stub_15
    .quad exc_stub_16, exc_stub_17, exc_stub_18, exc_stub_19, exc_stub_20, exc_stub_21, exc_stub_22, exc_stub_23
    .quad exc_stub_24, exc_stub_25, exc_stub_26, exc_stub_27, exc_stub_28, exc_stub_29, exc_stub_30, exc_stub_31
    .quad host_irq_master, host_irq_master, host_irq_master, host_irq_master
    .quad host_irq_master, host_irq_master, host_irq_master, host_irq_master
    .quad host_irq_slave, host_irq_slave, host_irq_slave, host_irq_slave
    .quad host_irq_slave, host_irq_slave, host_irq_slave, host_irq_slave
    .text
    "#
);

extern "C" {
    static exception_stub_table: [u64; IDT_ENTRIES];
}

/// What the stubs leave on the stack, lowest address first.
#[repr(C)]
pub struct ExceptionFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// A 64-bit interrupt gate (SDM vol. 3A, 7.14.1, figure 7-8).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

/// Present, DPL 0, type 0Eh (64-bit interrupt gate).
const INTERRUPT_GATE: u8 = 0x8E;

/// Exceptions 0-31, then the host PIC's 16 interrupt vectors (see `host_timer`).
const IDT_ENTRIES: usize = 48;

#[repr(C, align(16))]
struct Idt([Gate; IDT_ENTRIES]);

static IDT: Once<Idt> = Once::new();

/// Builds and loads the IDT: the 32 exception vectors and the host PIC's 16.
pub fn init() {
    // SAFETY: the table is defined in the global_asm above: IDT_ENTRIES addresses, read-only.
    let stubs = unsafe { exception_stub_table };
    let idt = IDT.call_once(|| {
        let mut gates = [Gate::default(); IDT_ENTRIES];
        for (v, gate) in gates.iter_mut().enumerate() {
            let addr = stubs[v];
            *gate = Gate {
                offset_low: addr as u16,
                selector: code_selector(),
                ist: if v == 8 { DOUBLE_FAULT_IST } else { 0 },
                type_attr: INTERRUPT_GATE,
                offset_mid: (addr >> 16) as u16,
                offset_high: (addr >> 32) as u32,
                reserved: 0,
            };
        }
        Idt(gates)
    });
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let ptr = Pointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: idt as *const Idt as u64,
    };
    // SAFETY: the IDT is static and its gates point at the stubs above, which
    // never return into interrupted code.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) };
}

const NAMES: [&str; 32] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD exception",
    "#VE virtualization exception",
    "#CP control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security exception",
    "reserved",
];

#[no_mangle]
extern "C" fn vmm_exception(f: &ExceptionFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    let name = NAMES.get(f.vector as usize).copied().unwrap_or("?");
    log::error!(
        "hypervisor exception: vector {} ({name}) error code {:#x} rip {:#x} cs {:#x} rflags {:#x} rsp {:#x} cr2 {:#x}",
        f.vector,
        f.error_code,
        f.rip,
        f.cs,
        f.rflags,
        f.rsp,
        cr2
    );
    log::error!(
        "rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx
    );
    log::error!(
        "rsi={:016x} rdi={:016x} rbp={:016x} r8 ={:016x}",
        f.rsi,
        f.rdi,
        f.rbp,
        f.r8
    );
    log::error!(
        "r9 ={:016x} r10={:016x} r11={:016x} r12={:016x}",
        f.r9,
        f.r10,
        f.r11,
        f.r12
    );
    log::error!("r13={:016x} r14={:016x} r15={:016x}", f.r13, f.r14, f.r15);
    power_off(RunOutcome::HypervisorFailed)
}

/// Executes UD2 inside the hypervisor, so tests can see the exception report.
pub fn self_test_invalid_opcode() -> ! {
    log::warn!("vmm: self-test: executing an invalid opcode in the hypervisor");
    // SAFETY: UD2 raises #UD, whose handler reports and powers off; it never returns.
    unsafe { asm!("ud2", options(noreturn)) }
}
