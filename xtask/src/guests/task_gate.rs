//! `task-gate`: a double fault handled in a task of its own, as a 32-bit OS
//! handles it (Intel SDM vol. 3A, 8.3 "Task Switching", 7.12.2 "Interrupt
//! Tasks"; issue 11, task switches on VT-x).
//!
//! The guest enters protected mode on 16-bit segments (CS based at the ROM,
//! so the code runs at the same offsets in both modes), with its GDT, IDT
//! and three 32-bit TSSs copied into RAM: the running task's (loaded with
//! LTR), a called task's and the double-fault task's, whose task gate is
//! IDT vector 8. It first CALLs the called task, which prints [`CALLED`],
//! clobbers EBP and returns with IRET (NT set): the caller checks its EBP
//! came back from its TSS. Then it faults: the #GP gate is not present, so
//! loading DS with a selector past the GDT's limit raises #GP, its delivery
//! #NP, and the two contributory faults a #DF (SDM vol. 3A, 7.15, table
//! 7-5), delivered through the task gate.
//! The double-fault task checks what the switch left it — the error code 0
//! on its stack, the back link to the faulting task in its TSS, EFLAGS.NT,
//! TR — prints [`DONE`] on COM1 and exits with status 0 through the test-exit
//! port; a wrong state prints [`WRONG`] and exits with 1. On VT-x every
//! step of the switch is the hypervisor's; on SVM the processor's.

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

/// Printed once the guest is set up, before the fault.
pub const ANNOUNCEMENT: &str = "task-gate: protected mode, #GP without a gate";
/// Printed by the task the guest CALLs.
pub const CALLED: &str = "task-gate: the called task runs";
/// Printed by the double-fault task when the switch left it what it expects.
pub const DONE: &str = "double fault handled in its own task";
/// Printed by the double-fault task when it found something else.
pub const WRONG: &str = "task-gate: the double-fault task found the wrong state";
/// Printed if the fault did not switch tasks.
pub const SURVIVED: &str = "task-gate: no double fault";

/// Where the tables go in RAM.
const GDT: u32 = 0x1000;
const IDT: u32 = 0x1800;
const TSS_MAIN: u32 = 0x2000;
const TSS_DF: u32 = 0x2100;
const TSS_CALLED: u32 = 0x2200;
/// The double-fault task's and the called task's stack tops.
const DF_STACK_TOP: u32 = 0x3000;
const CALLED_STACK_TOP: u32 = 0x3800;

/// 16-bit code at the ROM (base F0000h).
const CODE_SEL: u16 = 0x08;
/// 16-bit data over the first 64 KiB of RAM.
const DATA_SEL: u16 = 0x10;
/// 16-bit data over the ROM, for its strings.
const ROM_SEL: u16 = 0x18;
const TSS_MAIN_SEL: u16 = 0x20;
const TSS_DF_SEL: u16 = 0x28;
const TSS_CALLED_SEL: u16 = 0x30;
/// A selector past the GDT's limit: loading it is #GP(FFF8h).
const BAD_SEL: u16 = 0xFFF8;

/// Vectors the IDT covers: up to #GP (13).
const IDT_VECTORS: u32 = 14;
/// EFLAGS.NT.
const EFLAGS_NT: u32 = 1 << 14;

/// A code or data descriptor: base, byte-granular 16-bit limit, access byte.
fn segment(base: u32, limit: u16, access: u8) -> u64 {
    u64::from(limit)
        | (u64::from(base & 0xFF_FFFF) << 16)
        | (u64::from(access) << 40)
        | (u64::from(base >> 24) << 56)
}

/// The GDT: null, code, data, ROM data, the three TSSs (available 32-bit).
fn gdt() -> Vec<u8> {
    [
        0,
        segment(0xF_0000, 0xFFFF, 0x9B),
        segment(0, 0xFFFF, 0x93),
        segment(0xF_0000, 0xFFFF, 0x93),
        segment(TSS_MAIN, 0x67, 0x89),
        segment(TSS_DF, 0x67, 0x89),
        segment(TSS_CALLED, 0x67, 0x89),
    ]
    .iter()
    .flat_map(|d| d.to_le_bytes())
    .collect()
}

/// The IDT: vector 8 a task gate to the double-fault task (present, DPL 0,
/// type 5), every other one not present.
fn idt() -> Vec<u8> {
    let mut idt = vec![0; (IDT_VECTORS * 8) as usize];
    let gate = (u64::from(TSS_DF_SEL) << 16) | (0x85 << 40);
    idt[8 * 8..9 * 8].copy_from_slice(&gate.to_le_bytes());
    idt
}

/// A task's TSS, starting at `entry` with its stack at `stack_top`.
fn task_tss(entry: u32, stack_top: u32) -> Vec<u8> {
    let mut tss = vec![0u8; 0x68];
    let dwords = [
        (0x20, entry),
        (0x24, 0x2), // EFLAGS
        (0x38, stack_top),
        (0x48, u32::from(DATA_SEL)), // ES
        (0x4C, u32::from(CODE_SEL)),
        (0x50, u32::from(DATA_SEL)), // SS
        (0x54, u32::from(ROM_SEL)),  // DS
        (0x58, u32::from(DATA_SEL)), // FS
        (0x5C, u32::from(DATA_SEL)), // GS
        (0x64, 0x68 << 16),          // I/O map base past the limit: none
    ];
    for (offset, value) in dwords {
        tss[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
    tss
}

/// A pseudo-descriptor for LGDT/LIDT.
fn pseudo_descriptor(limit: u16, base: u32) -> Vec<u8> {
    let mut bytes = limit.to_le_bytes().to_vec();
    bytes.extend(base.to_le_bytes());
    bytes
}

/// Where the program's entry points landed in the ROM segment.
#[derive(Clone, Copy, Default)]
struct Entries {
    protected_mode: u32,
    double_fault: u32,
    called: u32,
}

pub fn build() -> Vec<u8> {
    // The far jump and the TSS need the entry points' offsets, which are
    // known once assembled: a first pass finds them (every instruction's
    // length is the same whatever the offsets), the second uses them.
    let (mut first, labels) = program(Entries::default()).expect("task-gate guest assembles");
    let result = first
        .asm
        .assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
        .expect("task-gate guest assembles");
    let ip = |label| result.label_ip(label).expect("the label was placed") as u32;
    let entries = Entries {
        protected_mode: ip(&labels[0]),
        double_fault: ip(&labels[1]),
        called: ip(&labels[2]),
    };
    let (rom, _) = program(entries).expect("task-gate guest assembles");
    rom.finish()
}

/// Prints the string at `text` (DS-relative) and exits with `status`.
fn print_and_exit(a: &mut CodeAssembler, text: u32, status: u32) -> Result<(), IcedError> {
    a.mov(si, text)?;
    emit_print_ds_si(a)?;
    a.mov(dx, u32::from(pc_layout::ports::TEST_EXIT))?;
    a.mov(al, status)?;
    a.out(dx, al)?;
    a.cli()?;
    a.hlt()
}

/// The ROM for `entries`, and the labels of the protected-mode entry, the
/// double-fault task and the called task.
fn program(entries: Entries) -> Result<(RomBuilder, [CodeLabel; 3]), IcedError> {
    let mut b = RomBuilder::new();
    let line = |b: &mut RomBuilder, text: &str| b.data(format!("{text}\r\n\0").as_bytes());
    let announcement = line(&mut b, ANNOUNCEMENT);
    let done = line(&mut b, DONE);
    let wrong = line(&mut b, WRONG);
    let survived = line(&mut b, SURVIVED);
    let called_line = line(&mut b, CALLED);
    let gdt = gdt();
    let tables = [
        (b.data(&gdt), GDT, gdt.len()),
        (b.data(&idt()), IDT, (IDT_VECTORS * 8) as usize),
        (b.data(&[0; 0x68]), TSS_MAIN, 0x68),
        (
            b.data(&task_tss(entries.double_fault, DF_STACK_TOP)),
            TSS_DF,
            0x68,
        ),
        (
            b.data(&task_tss(entries.called, CALLED_STACK_TOP)),
            TSS_CALLED,
            0x68,
        ),
    ];
    let gdtr = b.data(&pseudo_descriptor(gdt.len() as u16 - 1, GDT));
    let idtr = b.data(&pseudo_descriptor((IDT_VECTORS * 8 - 1) as u16, IDT));

    let a = &mut b.asm;
    let mut protected_mode = a.create_label();
    let mut double_fault = a.create_label();
    let mut wrong_state = a.create_label();
    let mut called = a.create_label();
    emit_prologue(a)?;
    // The tables into RAM (ES = 0), then protected mode.
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    for (from, to, len) in tables {
        a.mov(si, from)?;
        a.mov(di, to)?;
        a.mov(cx, len as u32)?;
        a.rep().movsb()?;
    }
    a.lgdt(ptr(gdtr as u64))?;
    a.lidt(ptr(idtr as u64))?;
    a.mov(eax, cr0)?;
    a.or(eax, 1u32)?;
    a.mov(cr0, eax)?;
    a.jmp_far(CODE_SEL, entries.protected_mode)?;

    a.set_label(&mut protected_mode)?;
    a.mov(ax, u32::from(DATA_SEL))?;
    a.mov(ss, ax)?;
    a.mov(es, ax)?;
    a.mov(ax, u32::from(ROM_SEL))?;
    a.mov(ds, ax)?;
    a.mov(ax, u32::from(TSS_MAIN_SEL))?;
    a.ltr(ax)?;
    a.mov(si, announcement)?;
    emit_print_ds_si(a)?;
    // CALL a task and come back by its IRET, EBP restored from the TSS.
    a.mov(ebp, 0x1234_5678u32)?;
    a.call_far(TSS_CALLED_SEL, 0)?;
    a.cmp(ebp, 0x1234_5678u32)?;
    a.jne(wrong_state)?;
    // #GP(FFF8h), whose delivery raises #NP: #DF, through the task gate.
    a.mov(ax, u32::from(BAD_SEL))?;
    a.mov(ds, ax)?;
    print_and_exit(a, survived, 1)?;

    // The double-fault task: error code 0 on its stack, back link to the
    // faulting task, NT set, TR its own TSS.
    a.set_label(&mut double_fault)?;
    a.pop(eax)?;
    a.test(eax, eax)?;
    a.jnz(wrong_state)?;
    a.cmp(word_ptr(TSS_DF).es(), u32::from(TSS_MAIN_SEL))?;
    a.jne(wrong_state)?;
    a.pushfd()?;
    a.pop(eax)?;
    a.test(eax, EFLAGS_NT)?;
    a.jz(wrong_state)?;
    a.str(ax)?;
    a.cmp(ax, u32::from(TSS_DF_SEL))?;
    a.jne(wrong_state)?;
    print_and_exit(a, done, 0)?;
    a.set_label(&mut wrong_state)?;
    print_and_exit(a, wrong, 1)?;

    // The called task: back to its caller with IRET (NT set).
    a.set_label(&mut called)?;
    a.mov(si, called_line)?;
    emit_print_ds_si(a)?;
    a.xor(ebp, ebp)?;
    a.iret()?;
    a.jmp(wrong_state)?;
    Ok((b, [protected_mode, double_fault, called]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rom_carries_its_lines_and_a_task_gate_for_vector_8() {
        let rom = build();
        assert_eq!(rom.len(), super::super::ROM_SIZE);
        let has = |bytes: &[u8]| rom.windows(bytes.len()).any(|w| w == bytes);
        for line in [ANNOUNCEMENT, CALLED, DONE, WRONG, SURVIVED] {
            assert!(has(line.as_bytes()), "{line}");
        }
        let idt = idt();
        assert_eq!(&idt[0x40..0x48], &[0, 0, 0x28, 0, 0, 0x85, 0, 0]);
        assert!(has(&idt));
    }

    #[test]
    fn the_entry_points_are_found_in_the_first_pass() {
        let (mut first, labels) = program(Entries::default()).unwrap();
        let result = first
            .asm
            .assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
            .unwrap();
        let df = result.label_ip(&labels[1]).unwrap() as u32;
        assert!(df > 0 && df < 0x8000);
        // The double-fault task's TSS in the ROM names that entry point.
        let rom = build();
        let tss = task_tss(df, DF_STACK_TOP);
        assert!(rom.windows(0x68).any(|w| w == tss.as_slice()));
    }
}
