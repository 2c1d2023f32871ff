//! Hostile ROM guests whose attack ends the run, one attack each: each
//! prints its announcement line, attacks, and prints [`SURVIVED`] if it is
//! still running afterwards (none should be).
//!
//! - `hostile-npf-idt` / `hostile-npf-ivt`: the IDT (protected mode) or the
//!   IVT (real mode) at 0F00_0000h, where nothing backs it, then INT3: the
//!   processor's delivery faults, #DF's too: a triple fault (issue 11,
//!   nested page fault during event delivery).
//! - `hostile-triple-fault`: protected mode, an IDT with limit 0, UD2.
//! - `hostile-task-gate`: protected mode, the #GP gate not present, so a
//!   #GP becomes #NP and then #DF, whose gate is a task gate: the processor
//!   switches to the double-fault task, which prints a line and halts
//!   (issue 11, task switches on VT-x).
//! - `hostile-cr3-outside-ram`: paging turned on with CR3 at 2000_0000h,
//!   outside RAM: the next fetch walks a page directory nothing backs.
//! - `hostile-pt-outside-ram`: paging with the page table for FEC0_0000h at
//!   2000_0000h, then a read of FEC0_0000h (MMIO): the hypervisor's page
//!   walk for the emulated access finds the table outside RAM.
//! - `hostile-stack-in-rom`: a real-mode INT with SS:SP in the shadow ROM:
//!   delivery writes the frame into memory the hypervisor maps read-only.
//! - `hostile-masked-halt`: every 8259 input masked, then `sti; hlt`.
//! - `hostile-reset-loop`: counts its boots in RAM and asks for a reset on
//!   every boot, by the PIIX3's CF9h, port 92h, the 8042's output port and
//!   its pulse command in turn, until the hypervisor stops the loop.

use super::kit::{
    descriptor, Prog, CODE_SEL, DATA_SEL, EXTRA_SEL, FLAT_SEL, PAGE_DIRECTORY, STACK_SEL,
};
use super::ROM_PATTERN_OFFSET;
use iced_x86::code_asm::*;

/// Printed if an attack did not end the run.
pub const SURVIVED: &str = "survived";

pub const NPF_IDT: &str = "npf-idt: int3 with the IDT at 0F000000h";
pub const NPF_IVT: &str = "npf-ivt: int3 with the IVT at 0F000000h";
pub const TRIPLE_FAULT: &str = "triple-fault: ud2 with an empty IDT in protected mode";
pub const TASK_GATE: &str = "task-gate: #GP without a gate, #DF through a task gate";
/// What the double-fault task prints, then the back link, the error code
/// it found on its stack and its task register follow.
pub const DF_TASK: &str = "df-task: ran";
pub const CR3_OUTSIDE_RAM: &str = "cr3-outside-ram: paging on with CR3 at 20000000h";
pub const PT_OUTSIDE_RAM: &str =
    "pt-outside-ram: read of FEC00000h through a page table at 20000000h";
pub const STACK_IN_ROM: &str = "stack-in-rom: int 60h with SS:SP = F000:F010";
pub const MASKED_HALT: &str = "masked-halt: sti; hlt with every interrupt line masked";
/// Each boot of `hostile-reset-loop` prints this, the boot number (4 hex
/// digits) and the way it asks for the next reset.
pub const RESET_BOOT: &str = "reset-loop: boot ";

/// Unbacked guest-physical memory (RAM is 16 MiB) for tables.
pub const UNBACKED: u32 = 0x2000_0000;
/// Where the IDT/IVT goes for the NPF-during-delivery guests.
pub const UNBACKED_IDT: u32 = 0x0F00_0000;

/// Prints `line` and CR LF.
fn say(p: &mut Prog<'_>, line: &str) -> Result<(), IcedError> {
    p.print(&format!("{line}\r\n"))
}

/// What follows an attack that should have ended the run.
fn survived(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.restore_segments()?;
    say(p, SURVIVED)?;
    p.halt()
}

fn rom(body: impl Fn(&mut Prog<'_>) -> Result<(), IcedError>) -> Vec<u8> {
    super::rom(Vec::new(), |p| {
        p.prologue()?;
        body(p)
    })
}

/// Loads IDTR from a pseudo-descriptor (limit, base) kept after the code,
/// with a 32-bit operand size: with 16 bits LIDT would load only 24 bits of
/// the base.
fn lidt32(p: &mut Prog<'_>, limit: u16, base: u32) -> Result<(), IcedError> {
    let mut bytes = limit.to_le_bytes().to_vec();
    bytes.extend(base.to_le_bytes());
    let at = p.data(&bytes) as u16;
    // o32 lidt [disp16]
    p.db(&[0x66, 0x0F, 0x01, 0x1E, at as u8, (at >> 8) as u8])
}

pub fn build_npf_idt() -> Vec<u8> {
    rom(|p| {
        p.enter_protected_mode()?;
        say(p, NPF_IDT)?;
        lidt32(p, 0x7FF, UNBACKED_IDT)?;
        p.int3()?;
        survived(p)
    })
}

pub fn build_npf_ivt() -> Vec<u8> {
    rom(|p| {
        say(p, NPF_IVT)?;
        lidt32(p, 0x3FF, UNBACKED_IDT)?;
        p.int3()?;
        survived(p)
    })
}

pub fn build_triple_fault() -> Vec<u8> {
    rom(|p| {
        p.enter_protected_mode()?;
        say(p, TRIPLE_FAULT)?;
        lidt32(p, 0, 0)?;
        p.ud2()?;
        survived(p)
    })
}

/// The two TSSs of `hostile-task-gate` (32-bit, 104 bytes each) and the
/// double-fault task's stack.
const TSS_MAIN: u32 = 0x4000;
const TSS_DF: u32 = 0x4100;
const DF_STACK_TOP: u32 = 0x5000;
const TSS_MAIN_SEL: u16 = EXTRA_SEL;
const TSS_DF_SEL: u16 = EXTRA_SEL + 8;

pub fn build_task_gate() -> Vec<u8> {
    let tss = |base| descriptor(base, 0x67, 0x89, 0x0); // present 32-bit TSS, available
    super::rom(vec![tss(TSS_MAIN), tss(TSS_DF)], |p| {
        p.prologue()?;
        let df_task = p.mark();
        p.enter_protected_mode()?;
        // The double-fault task's TSS: where it starts, its segments and stack.
        let entry = p.addr(df_task);
        for (offset, value) in [
            (0x1C, 0),                    // CR3
            (0x20, entry),                // EIP
            (0x24, 0x2),                  // EFLAGS
            (0x38, DF_STACK_TOP),         // ESP
            (0x48, u32::from(FLAT_SEL)),  // ES
            (0x4C, u32::from(CODE_SEL)),  // CS
            (0x50, u32::from(STACK_SEL)), // SS
            (0x54, u32::from(DATA_SEL)),  // DS
            (0x58, u32::from(FLAT_SEL)),  // FS
            (0x5C, u32::from(FLAT_SEL)),  // GS
            (0x60, 0),                    // LDT
            (0x64, 0x68 << 16),           // no I/O bitmap
        ] {
            p.mov(ebx, TSS_DF + offset)?;
            p.mov(dword_ptr(ebx).es(), value)?;
        }
        p.mov(ax, u32::from(TSS_MAIN_SEL))?;
        p.ltr(ax)?;
        // #DF through a task gate, #GP's gate not present.
        p.set_gate(8, [0, TSS_DF_SEL, 0x8500, 0])?;
        p.set_gate(13, [0, 0, 0, 0])?;
        say(p, TASK_GATE)?;
        p.mov(ax, 0xFFF8u32)?; // beyond the GDT's limit: #GP(FFF8h)
        p.mov(ds, ax)?;
        survived(p)?;

        // The double-fault task.
        p.place(df_task)?;
        p.print(&format!("{DF_TASK} link "))?;
        p.mov(ebx, TSS_DF)?;
        p.mov(ax, word_ptr(ebx).es())?;
        p.hex16()?;
        p.print(" err ")?;
        p.mov(bp, sp)?;
        p.mov(eax, dword_ptr(bp))?;
        p.hex32()?;
        p.print(" tr ")?;
        p.str(ax)?;
        p.hex16()?;
        p.print("\r\n")?;
        p.halt()
    })
}

pub fn build_cr3_outside_ram() -> Vec<u8> {
    rom(|p| {
        p.enter_protected_mode()?;
        say(p, CR3_OUTSIDE_RAM)?;
        p.mov(eax, UNBACKED)?;
        p.mov(cr3, eax)?;
        p.mov(eax, cr0)?;
        p.or(eax, 0x8000_0000u32)?;
        p.mov(cr0, eax)?;
        survived(p)
    })
}

pub fn build_pt_outside_ram() -> Vec<u8> {
    rom(|p| {
        p.enter_protected_mode()?;
        p.paging_on()?;
        say(p, PT_OUTSIDE_RAM)?;
        let mmio = 0xFEC0_0000u32;
        p.mov(ebx, PAGE_DIRECTORY + (mmio >> 22) * 4)?;
        p.mov(dword_ptr(ebx).es(), UNBACKED | 0x003)?;
        p.mov(eax, cr3)?;
        p.mov(cr3, eax)?;
        p.mov(ebx, mmio)?;
        p.mov(al, byte_ptr(ebx).es())?;
        survived(p)
    })
}

pub fn build_stack_in_rom() -> Vec<u8> {
    rom(|p| {
        let handler = p.mark();
        let handler_at = p.addr(handler);
        p.mov(word_ptr(0x60 * 4).es(), handler_at)?;
        p.mov(word_ptr(0x60 * 4 + 2).es(), cs)?;
        say(p, STACK_IN_ROM)?;
        p.mov(ax, 0xF000u32)?;
        p.mov(ss, ax)?;
        p.mov(sp, ROM_PATTERN_OFFSET + 0x10)?;
        p.int(0x60u32)?;
        p.xor(ax, ax)?;
        p.mov(ss, ax)?;
        p.mov(sp, 0x7000u32)?;
        survived(p)?;
        p.place(handler)?;
        p.iret()
    })
}

pub fn build_masked_halt() -> Vec<u8> {
    rom(|p| {
        p.program_pics(0x08, 0x70, 0xFF, 0xFF)?;
        say(p, MASKED_HALT)?;
        p.sti()?;
        p.hlt()?;
        survived(p)
    })
}

/// Where `hostile-reset-loop` counts its boots: a magic word, then the count.
const BOOTS: u32 = 0x0640;
const BOOTS_MAGIC: u32 = 0x5254; // "TR"

/// The ways `hostile-reset-loop` asks for a reset, in turn.
pub const RESET_WAYS: [&str; 4] = ["cf9", "port92", "i8042-output-port", "i8042-pulse"];

pub fn build_reset_loop() -> Vec<u8> {
    rom(|p| {
        let mut counted = p.create_label();
        p.cmp(word_ptr(BOOTS).es(), BOOTS_MAGIC)?;
        p.je(counted)?;
        p.mov(word_ptr(BOOTS).es(), BOOTS_MAGIC)?;
        p.mov(word_ptr(BOOTS + 2).es(), 0u32)?;
        p.set_label(&mut counted)?;
        p.inc(word_ptr(BOOTS + 2).es())?;
        p.print(RESET_BOOT)?;
        p.mov(ax, word_ptr(BOOTS + 2).es())?;
        p.hex16()?;
        // (boot - 1) mod 4 picks the way.
        p.dec(ax)?;
        p.and(ax, 3u32)?;
        let mut labels = [(); 4].map(|_| p.create_label());
        for (i, l) in labels.iter().enumerate() {
            p.cmp(ax, i as u32)?;
            p.je(*l)?;
        }
        for (i, way) in RESET_WAYS.iter().enumerate() {
            p.set_label(&mut labels[i])?;
            p.print(&format!(" via {way}\r\n"))?;
            match i {
                0 => {
                    p.mov(dx, 0xCF9u32)?;
                    p.mov(al, 0x06u32)?; // SRST | RCPU: hard reset
                    p.out(dx, al)?;
                }
                1 => {
                    p.in_(al, 0x92u32)?;
                    p.and(al, 0xFEu32)?;
                    p.out(0x92u32, al)?;
                    p.or(al, 1u32)?; // alternate hot reset: 0 -> 1
                    p.out(0x92u32, al)?;
                }
                2 => {
                    p.mov(al, 0xD1u32)?; // write output port
                    p.out(0x64u32, al)?;
                    p.mov(al, 0xFEu32)?; // system reset line low
                    p.out(0x60u32, al)?;
                }
                _ => {
                    p.mov(al, 0xFEu32)?; // pulse output port bit 0
                    p.out(0x64u32, al)?;
                }
            }
            survived(p)?;
        }
        Ok(())
    })
}
