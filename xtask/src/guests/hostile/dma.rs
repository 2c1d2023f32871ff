//! `hostile-ide-dma`: READ DMA from the IDE primary master (a disk of
//! [`DISK_BYTE`]s, [`disk_image`]) through PRD tables a careful driver
//! never builds, in 16-bit protected mode with IRQ14 unmasked and counted by
//! a handler. Each probe prints the bus-master status, the drive's status
//! and error registers, the IRQ14s taken and how many polls of the
//! bus-master status it took to see the interrupt bit (SFF-8038i: the
//! transfer ends with Interrupt set, and Error set when the PRD table was
//! at fault; the drive aborts the command):
//!
//! - `dma-good`: one 512-byte entry with EOT (the control: no error);
//! - `dma-prd-without-eot`: 4608 2-byte entries and no EOT, 40 sectors;
//! - `dma-prd-5000-entries`: 5120 2-byte entries, EOT on the last,
//!   20 sectors (more entries than the hypervisor walks for one transfer);
//! - `dma-buffer-in-rom-alias`: the buffer in the ROM alias below 4 GiB
//!   (the ROM reads back unchanged);
//! - `dma-buffer-crossing-ram-end`: the buffer's last 256 bytes past the
//!   end of RAM (the RAM part is checked as well);
//! - `dma-zero-count`: one entry with count 0 (64 KiB) and EOT, 129 sectors:
//!   64 KiB arrive, the rest does not fit.
//!
//! Then `cli; hlt`.

use super::kit::{Prog, SCRATCH};
use super::ROM_PATTERN_OFFSET;
use iced_x86::code_asm::*;

pub const DMA_GOOD: &str = "dma-good";
pub const DMA_PRD_WITHOUT_EOT: &str = "dma-prd-without-eot";
pub const DMA_PRD_5000_ENTRIES: &str = "dma-prd-5000-entries";
pub const DMA_BUFFER_IN_ROM_ALIAS: &str = "dma-buffer-in-rom-alias";
pub const DMA_BUFFER_CROSSING_RAM_END: &str = "dma-buffer-crossing-ram-end";
pub const DMA_ZERO_COUNT: &str = "dma-zero-count";
pub const DONE: &str = "hostile-ide-dma: done";

/// Every byte of the disk.
pub const DISK_BYTE: u8 = 0x42;
/// Its size.
pub const DISK_BYTES: usize = 1 << 20;
/// The guest's RAM: run it with this `--mem`.
pub const RAM_MIB: u64 = 16;
const RAM_END: u32 = (RAM_MIB as u32) << 20;

/// The disk the guest reads.
pub fn disk_image() -> Vec<u8> {
    vec![DISK_BYTE; DISK_BYTES]
}

/// The bus-master registers of the primary channel (BAR4 as the board
/// leaves it) and the primary channel's ports.
const BM: u32 = pc_layout::ports::IDE_BUS_MASTER as u32;
const ATA: u32 = 0x1F0;
const ATA_ALT_STATUS: u32 = 0x3F6;
/// IRQ14's vector with the slave PIC at 70h.
const IRQ14_VECTOR: u32 = 0x76;

/// Where the PRD tables and buffers are.
const PRD_TABLE: u32 = 0x20000;
const BUFFER: u32 = 0x30000;
const ZERO_COUNT_BUFFER: u32 = 0x40000;
/// Below any marks a probe checks.
const UNTOUCHED: u32 = 0xEEEE_EEEE;
const EOT: u32 = 0x8000_0000;

/// Results (SS = 0).
const IRQS: u32 = SCRATCH;
const POLLS: u32 = SCRATCH + 2;
const BM_STATUS: u32 = SCRATCH + 4;
const ATA_STATUS: u32 = SCRATCH + 5;
const ATA_ERROR: u32 = SCRATCH + 6;

pub fn build() -> Vec<u8> {
    super::rom(Vec::new(), program)
}

fn out(p: &mut Prog<'_>, port: u32, value: u32) -> Result<(), IcedError> {
    p.mov(dx, port)?;
    p.mov(al, value)?;
    p.out(dx, al)
}

/// Writes `count` PRD entries from `PRD_TABLE`, each `flags_count` (byte
/// count and EOT) for `addr`.
fn prd_entries(p: &mut Prog<'_>, count: u32, addr: u32, flags_count: u32) -> Result<(), IcedError> {
    let mut l = p.create_label();
    p.mov(edi, PRD_TABLE)?;
    p.mov(ecx, count)?;
    p.set_label(&mut l)?;
    p.mov(dword_ptr(edi).es(), addr)?;
    p.mov(dword_ptr(edi + 4).es(), flags_count)?;
    p.add(edi, 8u32)?;
    p.dec(ecx)?;
    p.jnz(l)
}

/// Fills `len` bytes (a multiple of 4) at `at` with [`UNTOUCHED`].
fn mark_untouched(p: &mut Prog<'_>, at: u32, len: u32) -> Result<(), IcedError> {
    let mut l = p.create_label();
    p.mov(edi, at)?;
    p.mov(ecx, len / 4)?;
    p.set_label(&mut l)?;
    p.mov(dword_ptr(edi).es(), UNTOUCHED)?;
    p.add(edi, 4u32)?;
    p.dec(ecx)?;
    p.jnz(l)
}

/// READ DMA of `sectors` from LBA 0 through the table at `PRD_TABLE`,
/// interrupts on while the guest polls; records the results.
fn read_dma(p: &mut Prog<'_>, sectors: u32) -> Result<(), IcedError> {
    let mut poll = p.create_label();
    let mut seen = p.create_label();
    p.mov(word_ptr(IRQS).ss(), 0u32)?;
    out(p, BM, 0x00)?; // stopped
    out(p, BM + 2, 0x06)?; // Error and Interrupt cleared
    p.mov(dx, BM + 4)?;
    p.mov(eax, PRD_TABLE)?;
    p.out(dx, eax)?;
    out(p, ATA_ALT_STATUS, 0x00)?; // nIEN = 0: the drive interrupts
    out(p, ATA + 6, 0xE0)?; // LBA, master
    out(p, ATA + 2, sectors)?;
    for reg in 3..=5 {
        out(p, ATA + reg, 0)?;
    }
    out(p, ATA + 7, 0xC8)?; // READ DMA
    out(p, BM, 0x09)?; // start, towards memory
    p.sti()?;
    p.xor(cx, cx)?;
    p.set_label(&mut poll)?;
    p.inc(cx)?;
    p.mov(dx, BM + 2)?;
    p.in_(al, dx)?;
    p.test(al, 0x04u32)?;
    p.jnz(seen)?;
    p.cmp(cx, 0x1000u32)?;
    p.jb(poll)?;
    p.set_label(&mut seen)?;
    p.nop()?; // an instruction boundary for the interrupt
    p.cli()?;
    p.mov(word_ptr(POLLS).ss(), cx)?;
    p.mov(byte_ptr(BM_STATUS).ss(), al)?;
    out(p, BM, 0x00)?;
    p.mov(dx, ATA_ALT_STATUS)?;
    p.in_(al, dx)?;
    p.mov(byte_ptr(ATA_STATUS).ss(), al)?;
    p.mov(dx, ATA + 1)?;
    p.in_(al, dx)?;
    p.mov(byte_ptr(ATA_ERROR).ss(), al)
}

/// Prints what [`read_dma`] recorded.
fn show_dma(p: &mut Prog<'_>) -> Result<(), IcedError> {
    for (label, at) in [
        (" bm ", BM_STATUS),
        (" st ", ATA_STATUS),
        (" er ", ATA_ERROR),
    ] {
        p.print(label)?;
        p.mov(al, byte_ptr(at).ss())?;
        p.hex8()?;
    }
    p.print(" irq ")?;
    p.mov(ax, word_ptr(IRQS).ss())?;
    p.hex16()?;
    p.print(" polls ")?;
    p.mov(ax, word_ptr(POLLS).ss())?;
    p.hex16()
}

/// Prints " <label> " and the dword at flat address `at`.
fn show_dword(p: &mut Prog<'_>, label: &str, at: u32) -> Result<(), IcedError> {
    p.print(&format!(" {label} "))?;
    p.mov(ebx, at)?;
    p.mov(eax, dword_ptr(ebx).es())?;
    p.hex32()
}

fn program(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.enter_protected_mode()?;

    // IRQ14: count it, read the status (the drive drops INTRQ), EOI both.
    let handler = p.mark();
    let start = p.mark();
    let start_label = p.label(start);
    p.jmp(start_label)?;
    p.place(handler)?;
    p.push(ax)?;
    p.push(dx)?;
    p.inc(word_ptr(IRQS).ss())?;
    p.mov(dx, ATA + 7)?;
    p.in_(al, dx)?;
    p.mov(al, 0x20u32)?;
    p.out(0xA0u32, al)?;
    p.out(0x20u32, al)?;
    p.pop(dx)?;
    p.pop(ax)?;
    p.iret()?;
    p.place(start)?;
    let handler_at = p.addr(handler);
    p.set_interrupt_gate(IRQ14_VECTOR, handler_at)?;
    // Master at 20h (clear of the exceptions), slave at 70h; only the
    // cascade and IRQ14 unmasked.
    p.program_pics(0x20, 0x70, 0xFB, 0xBF)?;

    p.probe(
        DMA_GOOD,
        |p| {
            prd_entries(p, 1, BUFFER, EOT | 512)?;
            read_dma(p, 1)
        },
        |p| {
            show_dma(p)?;
            show_dword(p, "data", BUFFER)
        },
    )?;
    p.probe(
        DMA_PRD_WITHOUT_EOT,
        |p| {
            prd_entries(p, 4608, BUFFER, 2)?;
            read_dma(p, 40)
        },
        show_dma,
    )?;
    p.probe(
        DMA_PRD_5000_ENTRIES,
        |p| {
            prd_entries(p, 5120, BUFFER, 2)?;
            p.mov(ebx, PRD_TABLE + 5119 * 8 + 4)?;
            p.mov(dword_ptr(ebx).es(), EOT | 2)?;
            read_dma(p, 20)
        },
        show_dma,
    )?;
    let rom_pattern = 0xFFFF_0000 + ROM_PATTERN_OFFSET;
    p.probe(
        DMA_BUFFER_IN_ROM_ALIAS,
        |p| {
            prd_entries(p, 1, rom_pattern, EOT | 512)?;
            read_dma(p, 1)
        },
        |p| {
            show_dma(p)?;
            show_dword(p, "rom", rom_pattern)
        },
    )?;
    p.probe(
        DMA_BUFFER_CROSSING_RAM_END,
        |p| {
            mark_untouched(p, RAM_END - 256, 256)?;
            prd_entries(p, 1, RAM_END - 256, EOT | 512)?;
            read_dma(p, 1)
        },
        |p| {
            show_dma(p)?;
            show_dword(p, "ram", RAM_END - 256)?;
            show_dword(p, "last", RAM_END - 4)
        },
    )?;
    p.probe(
        DMA_ZERO_COUNT,
        |p| {
            mark_untouched(p, ZERO_COUNT_BUFFER + 0x10000, 16)?;
            prd_entries(p, 1, ZERO_COUNT_BUFFER, EOT)?;
            read_dma(p, 129)
        },
        |p| {
            show_dma(p)?;
            show_dword(p, "end", ZERO_COUNT_BUFFER + 0xFFFC)?;
            show_dword(p, "past", ZERO_COUNT_BUFFER + 0x10000)
        },
    )?;
    p.print(&format!("{DONE}\r\n"))?;
    p.halt()
}
