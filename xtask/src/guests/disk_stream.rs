//! `disk-stream` and `disk-stream-dma`: from real mode, stream numbered
//! sectors to the IDE primary master from LBA 0 to the end of the disk and
//! say on COM1 how far the written data is durable, for the durability
//! tests (`soak_disks`). The first writes by PIO, the second by bus-master
//! DMA (SFF-8038i rev 1.0, "Bus Master IDE Controller"), which the
//! hypervisor completes asynchronously on a host disk.
//!
//! References are to ATA/ATAPI-6 (T13/1410D revision 3b): 8.15 IDENTIFY
//! DEVICE (words 60-61, the number of user-addressable sectors for 28-bit
//! commands), section 8 "WRITE SECTOR(S)" (30h, 1 to 256 sectors at a
//! 28-bit LBA) with 9.8 "PIO data-out command protocol" (per sector: BSY
//! clear and DRQ set, then 256 words to the Data register; after the last,
//! BSY and DRQ clear), 8.12 FLUSH CACHE (E7h, 9.6 "Non-data command
//! protocol": BSY stays set until the device's write cache is on its
//! medium, then ERR says whether it got there), and the Status register
//! bits BSY (7), DF "device fault" (5), DRQ (3), ERR (0), with the Error
//! register at command block offset 1.
//!
//! What the guest does:
//! 1. IDENTIFY DEVICE; the sector count is words 60-61, capped at
//!    [`MAX_SECTORS`]; it prints `stream sectors <count>`.
//! 2. WRITE SECTOR(S) (or WRITE DMA, CAh, section 8 "WRITE DMA" with 9.9
//!    "DMA command protocol") of [`SECTORS_PER_COMMAND`] sectors (fewer at
//!    the end) from LBA 0 upwards, each sector holding [`sector_pattern`]
//!    of its LBA, polled (nIEN set).
//! 3. After every [`COMMANDS_PER_FLUSH`] commands and after the last one,
//!    FLUSH CACHE; once it completed without ERR or DF it prints
//!    [`FLUSHED_PREFIX`] and the number of sectors from LBA 0 written so
//!    far, 8 hex digits: every one of them is durable from then on.
//! 4. At the end of the disk: [`DONE_LINE`], then `cli; hlt` (the run
//!    ends cleanly). Any error: [`ERROR_PREFIX`], the stage (`identify`,
//!    `size`, `write`, `bus master`, `flush`), the Error and Status
//!    registers, then halt.
//!
//! Counts are printed only after the flush they describe completed, so a
//! count the host saw on the console is a claim the disk image must honour.

use super::rom::{emit_print_ds_si, emit_prologue, emit_uart_init, RomBuilder};
use iced_x86::code_asm::*;

/// Sectors per WRITE SECTOR(S) command.
pub const SECTORS_PER_COMMAND: u32 = 8;
/// WRITE SECTOR(S) commands between two FLUSH CACHEs.
pub const COMMANDS_PER_FLUSH: u32 = 4;
/// The most sectors streamed (16 MiB), whatever IDENTIFY says, so a large
/// disk does not make a run long.
pub const MAX_SECTORS: u32 = 0x8000;
/// Bytes per sector.
pub const SECTOR_BYTES: usize = 512;
/// Printed after each completed flush, before 8 hex digits: the number of
/// sectors from LBA 0 that are durable.
pub const FLUSHED_PREFIX: &str = "flushed ";
/// Printed once the whole disk is written and flushed.
pub const DONE_LINE: &str = "stream done";
/// Printed on any error, before the stage and the registers.
pub const ERROR_PREFIX: &str = "stream error ";
/// Printed after IDENTIFY, before 8 hex digits: the sectors to stream.
pub const SECTORS_PREFIX: &str = "stream sectors ";

/// XORed into every dword of a sector's pattern, so that no sector's
/// pattern holds a zero dword except by a one-in-2^32 chance.
pub const PATTERN_MAGIC: u32 = 0x5354_524D;
/// The multiplier that spreads a dword's index over all 32 bits (2^32
/// divided by the golden ratio, rounded to odd: a bijection modulo 2^32).
pub const PATTERN_MULTIPLIER: u32 = 0x9E37_79B1;

/// Dword `i` (0..128) of sector `lba`'s pattern:
/// `((lba << 7) + i) * PATTERN_MULTIPLIER ^ PATTERN_MAGIC` modulo 2^32.
/// Each dword is distinct over the first 2^25 sectors, so a sector with
/// another sector's data, zeros, or a mix of old and new data never passes
/// for its own.
pub fn pattern_dword(lba: u64, i: u32) -> u32 {
    ((lba as u32) << 7)
        .wrapping_add(i)
        .wrapping_mul(PATTERN_MULTIPLIER)
        ^ PATTERN_MAGIC
}

/// What the guest writes to sector `lba` (the checker's reference).
pub fn sector_pattern(lba: u64) -> [u8; SECTOR_BYTES] {
    let mut s = [0u8; SECTOR_BYTES];
    for (i, d) in s.chunks_exact_mut(4).enumerate() {
        d.copy_from_slice(&pattern_dword(lba, i as u32).to_le_bytes());
    }
    s
}

/// The sector whose pattern `sector` is, if it is a whole pattern: for a
/// checker to say a sector holds another's data. Inverts dword 0 (the
/// multiplier is odd, so invertible modulo 2^32).
pub fn pattern_owner(sector: &[u8]) -> Option<u64> {
    let first = u32::from_le_bytes(sector.get(..4)?.try_into().ok()?);
    let index = (first ^ PATTERN_MAGIC).wrapping_mul(multiplier_inverse());
    if index & 0x7F != 0 {
        return None;
    }
    let lba = u64::from(index >> 7);
    (sector == sector_pattern(lba)).then_some(lba)
}

/// The inverse of [`PATTERN_MULTIPLIER`] modulo 2^32 (Newton's iteration
/// x <- x(2 - ax) doubles the correct low bits each step; x = a is right
/// to 3 bits for odd a).
fn multiplier_inverse() -> u32 {
    let a = PATTERN_MULTIPLIER;
    let mut x = a;
    for _ in 0..5 {
        x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

// Where the guest keeps its state, in RAM at segment 0 (ES).
/// Next LBA to write: the sectors written so far (dword).
const VAR_LBA: u32 = 0x0500;
/// Sectors to stream (dword).
const VAR_TOTAL: u32 = 0x0504;
/// WRITE SECTOR(S) commands since the last flush (word).
const VAR_COMMANDS: u32 = 0x0508;
/// Sectors in the current command (word).
const VAR_COUNT: u32 = 0x050A;
/// The sectors of one command, and the IDENTIFY data (0000:1000-1FFF).
const BUFFER: u32 = 0x1000;
/// Byte offset of IDENTIFY words 60-61 (a little-endian dword).
const IDENTIFY_LBA28_SECTORS: u32 = 60 * 2;

// The primary channel's command block and control block (ATA/ATAPI-6,
// section 7, the register addresses of a PC's first channel).
const DATA: u32 = 0x1F0;
const ERROR: u32 = 0x1F1;
const SECTOR_COUNT: u32 = 0x1F2;
const LBA_LOW: u32 = 0x1F3;
const LBA_MID: u32 = 0x1F4;
const LBA_HIGH: u32 = 0x1F5;
const DEVICE: u32 = 0x1F6;
const STATUS_COMMAND: u32 = 0x1F7;
const DEVICE_CONTROL: u32 = 0x3F6;
/// Device register: bit 6 LBA, bits 7 and 5 obsolete (set), DEV 0.
const DEVICE_LBA_MASTER: u32 = 0xE0;
/// Device Control register bit 1: nIEN, no INTRQ (the guest polls).
const NIEN: u32 = 0x02;

const CMD_IDENTIFY_DEVICE: u32 = 0xEC;
const CMD_WRITE_SECTORS: u32 = 0x30;
const CMD_FLUSH_CACHE: u32 = 0xE7;
const CMD_WRITE_DMA: u32 = 0xCA;

// The primary channel's bus-master registers (SFF-8038i rev 1.0, "Bus
// Master IDE Register Description"; BAR4 where the board leaves it).
const BM_COMMAND: u32 = pc_layout::ports::IDE_BUS_MASTER as u32;
const BM_STATUS: u32 = BM_COMMAND + 2;
const BM_PRD_TABLE: u32 = BM_COMMAND + 4;
/// Command bit 0: Start/Stop Bus Master (bit 3 clear: reads from memory).
const BM_START: u32 = 0x01;
/// Status bits: Active (0), Error (1), Interrupt (2).
const BM_ACTIVE: u32 = 0x01;
const BM_ERROR: u32 = 0x02;
const BM_INTERRUPT: u32 = 0x04;
/// The one-entry PRD table (dword aligned, within one 64 KiB page).
const PRD_TABLE: u32 = 0x0600;
/// PRD entry bit 31: End Of Table.
const PRD_EOT: u32 = 0x8000_0000;

const BSY: u32 = 0x80;
const DF: u32 = 0x20;
const DRQ: u32 = 0x08;
const ERR: u32 = 0x01;

/// The guest's strings, by ROM offset.
struct Strings {
    hex: u32,
    sectors: u32,
    flushed: u32,
    done: u32,
    error: u32,
    registers: u32,
    newline: u32,
    identify: u32,
    size: u32,
    write: u32,
    bus_master: u32,
    flush: u32,
}

/// How the guest moves its sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// WRITE SECTOR(S), PIO data-out (`disk-stream`).
    Pio,
    /// WRITE DMA through the PIIX3 bus master (`disk-stream-dma`).
    Dma,
}

impl Transfer {
    /// The built-in guest that streams this way.
    pub fn guest(self) -> &'static str {
        match self {
            Transfer::Pio => "disk-stream",
            Transfer::Dma => "disk-stream-dma",
        }
    }
}

/// `disk-stream`: the sectors by PIO.
pub fn build() -> Vec<u8> {
    build_with(Transfer::Pio)
}

/// `disk-stream-dma`: the sectors by bus-master DMA.
pub fn build_dma() -> Vec<u8> {
    build_with(Transfer::Dma)
}

fn build_with(transfer: Transfer) -> Vec<u8> {
    let mut b = RomBuilder::new();
    let mut z = |s: &str| b.data(format!("{s}\0").as_bytes());
    let s = Strings {
        hex: z("0123456789abcdef"),
        sectors: z(SECTORS_PREFIX),
        flushed: z(FLUSHED_PREFIX),
        done: z(&format!("{DONE_LINE}\r\n")),
        error: z(ERROR_PREFIX),
        registers: z(": error:status "),
        newline: z("\r\n"),
        identify: z("identify"),
        size: z("size"),
        write: z("write"),
        bus_master: z("bus master"),
        flush: z("flush"),
    };
    assemble(&mut b.asm, &s, transfer).expect("disk-stream guest assembles");
    b.finish()
}

fn out_al(a: &mut CodeAssembler, port: u32, value: u32) -> Result<(), IcedError> {
    a.mov(dx, port)?;
    a.mov(al, value)?;
    a.out(dx, al)
}

/// Prints the string at ROM offset `s` through the `print` subroutine.
fn print(a: &mut CodeAssembler, print: CodeLabel, s: u32) -> Result<(), IcedError> {
    a.mov(si, s)?;
    a.call(print)
}

/// The subroutines: `print` (DS:SI), `print_hex` (EAX as 8 digits;
/// clobbers EAX, EBX, CX, DX) and `wait_not_busy` (polls the Status
/// register until BSY clears; AL = the status; clobbers DX).
fn subroutines(
    a: &mut CodeAssembler,
    s: &Strings,
    print: &mut CodeLabel,
    print_hex: &mut CodeLabel,
    wait_not_busy: &mut CodeLabel,
) -> Result<(), IcedError> {
    a.set_label(print)?;
    a.cld()?; // LODSB forwards (and the label its own instruction)
    emit_print_ds_si(a)?;
    a.ret()?;

    let mut digit = a.create_label();
    let mut thre = a.create_label();
    a.set_label(print_hex)?;
    a.mov(cx, 8u32)?;
    a.set_label(&mut digit)?;
    a.rol(eax, 4u32)?;
    a.mov(ebx, eax)?;
    a.and(bx, 0xFu32)?;
    a.mov(bl, byte_ptr(bx + s.hex))?;
    a.mov(dx, 0x3FDu32)?;
    a.push(eax)?;
    a.set_label(&mut thre)?;
    a.in_(al, dx)?;
    a.test(al, 0x20u32)?; // LSR bit 5: THRE
    a.jz(thre)?;
    a.mov(al, bl)?;
    a.mov(dx, 0x3F8u32)?;
    a.out(dx, al)?;
    a.pop(eax)?;
    a.dec(cx)?;
    a.jnz(digit)?;
    a.ret()?;

    let mut poll = a.create_label();
    a.set_label(wait_not_busy)?;
    a.mov(dx, STATUS_COMMAND)?;
    a.set_label(&mut poll)?;
    a.in_(al, dx)?;
    a.test(al, BSY)?;
    a.jnz(poll)?;
    a.ret()
}

/// The task file of a 28-bit command on `VAR_COUNT` sectors at `VAR_LBA`:
/// LBA Low/Mid/High, the Device register with LBA bits 27:24, the Sector
/// Count.
fn taskfile(a: &mut CodeAssembler) -> Result<(), IcedError> {
    a.mov(eax, dword_ptr(VAR_LBA).es())?;
    for port in [LBA_LOW, LBA_MID, LBA_HIGH] {
        a.mov(dx, port)?;
        a.out(dx, al)?;
        a.shr(eax, 8u32)?;
    }
    a.and(al, 0x0Fu32)?;
    a.or(al, DEVICE_LBA_MASTER)?;
    a.mov(dx, DEVICE)?;
    a.out(dx, al)?;
    a.mov(ax, word_ptr(VAR_COUNT).es())?;
    a.mov(dx, SECTOR_COUNT)?;
    a.out(dx, al)
}

/// WRITE SECTOR(S) (30h), PIO data-out: per sector, BSY clear and DRQ set,
/// then 256 words from the buffer; after the last, BSY, DRQ, ERR and DF
/// all clear.
fn write_pio(
    a: &mut CodeAssembler,
    wait_not_busy: CodeLabel,
    failed: CodeLabel,
) -> Result<(), IcedError> {
    let mut sector = a.create_label();
    taskfile(a)?;
    out_al(a, STATUS_COMMAND, CMD_WRITE_SECTORS)?;
    a.mov(si, BUFFER)?;
    a.mov(bp, word_ptr(VAR_COUNT).es())?;
    a.set_label(&mut sector)?;
    a.call(wait_not_busy)?;
    a.test(al, ERR | DF)?;
    a.jnz(failed)?;
    a.test(al, DRQ)?;
    a.jz(failed)?;
    a.push(ds)?;
    a.push(es)?;
    a.pop(ds)?;
    a.mov(dx, DATA)?;
    a.mov(cx, 256u32)?;
    a.rep().outsw()?;
    a.pop(ds)?;
    a.dec(bp)?;
    a.jnz(sector)?;
    a.call(wait_not_busy)?;
    a.test(al, ERR | DF | DRQ)?;
    a.jnz(failed)
}

/// WRITE DMA (CAh) through the bus master (SFF-8038i): a one-entry PRD
/// table (the buffer, the command's bytes, EOT), Error and Interrupt
/// cleared, the command, then Start with the direction "read from
/// memory". Done when the bus master's Interrupt bit is set (the device
/// completed; it stays clear while the host works) and BSY clears; then
/// Start is cleared (never before: that would abort the transfer). The
/// bus master must be no longer Active (the table was used up) and without
/// Error, the device without ERR, DF or DRQ.
fn write_dma(
    a: &mut CodeAssembler,
    wait_not_busy: CodeLabel,
    failed: CodeLabel,
    dma_failed: CodeLabel,
) -> Result<(), IcedError> {
    let mut poll = a.create_label();
    out_al(a, BM_COMMAND, 0)?;
    out_al(a, BM_STATUS, BM_ERROR | BM_INTERRUPT)?; // write 1 to clear
    a.mov(dword_ptr(PRD_TABLE).es(), BUFFER)?;
    a.movzx(eax, word_ptr(VAR_COUNT).es())?;
    a.shl(eax, 9u32)?; // bytes, at most 4096: bits 15:0
    a.or(eax, PRD_EOT)?;
    a.mov(dword_ptr(PRD_TABLE + 4).es(), eax)?;
    a.mov(dx, BM_PRD_TABLE)?;
    a.mov(eax, PRD_TABLE)?;
    a.out(dx, eax)?;
    taskfile(a)?;
    out_al(a, STATUS_COMMAND, CMD_WRITE_DMA)?;
    out_al(a, BM_COMMAND, BM_START)?; // bit 3 clear: memory to the device
    a.mov(dx, BM_STATUS)?;
    a.set_label(&mut poll)?;
    a.in_(al, dx)?;
    a.test(al, BM_INTERRUPT)?;
    a.jz(poll)?;
    a.call(wait_not_busy)?;
    a.mov(bl, al)?;
    a.mov(dx, BM_STATUS)?;
    a.in_(al, dx)?;
    a.mov(bh, al)?;
    out_al(a, BM_COMMAND, 0)?;
    a.mov(al, bl)?;
    a.test(bh, BM_ACTIVE | BM_ERROR)?;
    a.jnz(dma_failed)?;
    a.test(al, ERR | DF | DRQ)?;
    a.jnz(failed)
}

fn assemble(a: &mut CodeAssembler, s: &Strings, transfer: Transfer) -> Result<(), IcedError> {
    let mut print_label = a.create_label();
    let mut print_hex = a.create_label();
    let mut wait_not_busy = a.create_label();
    let mut start = a.create_label();
    let mut capped = a.create_label();
    let mut next_command = a.create_label();
    let mut full = a.create_label();
    let mut fill = a.create_label();
    let mut flush = a.create_label();
    let mut halt = a.create_label();
    let mut error = a.create_label();
    let mut identify_failed = a.create_label();
    let mut size_failed = a.create_label();
    let mut write_failed = a.create_label();
    let mut dma_failed = a.create_label();
    let mut flush_failed = a.create_label();

    emit_prologue(a)?;
    emit_uart_init(a)?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.jmp(start)?;
    subroutines(a, s, &mut print_label, &mut print_hex, &mut wait_not_busy)?;
    let p = print_label;

    // ---- IDENTIFY DEVICE (ECh), PIO data-in: the sector count.
    a.set_label(&mut start)?;
    out_al(a, DEVICE_CONTROL, NIEN)?;
    out_al(a, DEVICE, DEVICE_LBA_MASTER)?;
    a.call(wait_not_busy)?;
    out_al(a, STATUS_COMMAND, CMD_IDENTIFY_DEVICE)?;
    a.call(wait_not_busy)?;
    a.test(al, ERR | DF)?;
    a.jnz(identify_failed)?;
    a.test(al, DRQ)?;
    a.jz(identify_failed)?;
    a.mov(di, BUFFER)?;
    a.mov(dx, DATA)?;
    a.mov(cx, 256u32)?;
    a.rep().insw()?;
    a.mov(eax, dword_ptr(BUFFER + IDENTIFY_LBA28_SECTORS).es())?;
    a.cmp(eax, MAX_SECTORS)?;
    a.jbe(capped)?;
    a.mov(eax, MAX_SECTORS)?;
    a.set_label(&mut capped)?;
    a.test(eax, eax)?;
    a.jz(size_failed)?;
    a.mov(dword_ptr(VAR_TOTAL).es(), eax)?;
    a.mov(dword_ptr(VAR_LBA).es(), 0u32)?;
    a.mov(word_ptr(VAR_COMMANDS).es(), 0u32)?;
    print(a, p, s.sectors)?;
    a.mov(eax, dword_ptr(VAR_TOTAL).es())?;
    a.call(print_hex)?;
    print(a, p, s.newline)?;

    // ---- The next command's sectors: min(8, total - lba), their patterns.
    a.set_label(&mut next_command)?;
    a.mov(eax, dword_ptr(VAR_TOTAL).es())?;
    a.sub(eax, dword_ptr(VAR_LBA).es())?;
    a.cmp(eax, SECTORS_PER_COMMAND)?;
    a.jbe(full)?;
    a.mov(eax, SECTORS_PER_COMMAND)?;
    a.set_label(&mut full)?;
    a.mov(word_ptr(VAR_COUNT).es(), ax)?;
    a.mov(bp, ax)?;
    a.shl(bp, 7u32)?; // dwords
    a.mov(ebx, dword_ptr(VAR_LBA).es())?;
    a.shl(ebx, 7u32)?; // (lba << 7) + i, i counting on across sectors
    a.mov(di, BUFFER)?;
    a.set_label(&mut fill)?;
    a.imul_3(eax, ebx, PATTERN_MULTIPLIER as i32)?;
    a.xor(eax, PATTERN_MAGIC)?;
    a.stosd()?;
    a.inc(ebx)?;
    a.dec(bp)?;
    a.jnz(fill)?;

    // ---- The command: WRITE SECTOR(S) or WRITE DMA.
    a.call(wait_not_busy)?;
    match transfer {
        Transfer::Pio => write_pio(a, wait_not_busy, write_failed)?,
        Transfer::Dma => write_dma(a, wait_not_busy, write_failed, dma_failed)?,
    }
    a.movzx(eax, word_ptr(VAR_COUNT).es())?;
    a.add(dword_ptr(VAR_LBA).es(), eax)?;
    a.inc(word_ptr(VAR_COMMANDS).es())?;
    a.mov(eax, dword_ptr(VAR_LBA).es())?;
    a.cmp(eax, dword_ptr(VAR_TOTAL).es())?;
    a.jae(flush)?;
    a.cmp(word_ptr(VAR_COMMANDS).es(), COMMANDS_PER_FLUSH)?;
    a.jb(next_command)?;

    // ---- FLUSH CACHE (E7h), non-data; then the durable count.
    a.set_label(&mut flush)?;
    out_al(a, DEVICE, DEVICE_LBA_MASTER)?;
    out_al(a, STATUS_COMMAND, CMD_FLUSH_CACHE)?;
    a.call(wait_not_busy)?;
    a.test(al, ERR | DF)?;
    a.jnz(flush_failed)?;
    a.mov(word_ptr(VAR_COMMANDS).es(), 0u32)?;
    print(a, p, s.flushed)?;
    a.mov(eax, dword_ptr(VAR_LBA).es())?;
    a.call(print_hex)?;
    print(a, p, s.newline)?;
    a.mov(eax, dword_ptr(VAR_LBA).es())?;
    a.cmp(eax, dword_ptr(VAR_TOTAL).es())?;
    a.jb(next_command)?;
    print(a, p, s.done)?;
    a.set_label(&mut halt)?;
    a.cli()?;
    a.hlt()?;
    a.jmp(halt)?;

    // ---- Errors: AL holds the status; BP the stage's name.
    for (label, name) in [
        (&mut identify_failed, s.identify),
        (&mut size_failed, s.size),
        (&mut write_failed, s.write),
        (&mut dma_failed, s.bus_master),
        (&mut flush_failed, s.flush),
    ] {
        a.set_label(label)?;
        a.mov(bp, name)?;
        a.jmp(error)?;
    }
    a.set_label(&mut error)?;
    a.movzx(ebx, al)?;
    a.mov(dx, ERROR)?;
    a.in_(al, dx)?;
    a.mov(bh, al)?;
    a.push(ebx)?;
    print(a, p, s.error)?;
    a.mov(si, bp)?;
    a.call(p)?;
    print(a, p, s.registers)?;
    a.pop(eax)?;
    a.call(print_hex)?;
    print(a, p, s.newline)?;
    a.jmp(halt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_into_a_rom() {
        assert_eq!(build().len(), super::super::ROM_SIZE);
        assert_eq!(build_dma().len(), super::super::ROM_SIZE);
        assert_ne!(build(), build_dma());
    }

    #[test]
    fn patterns_differ_between_sectors_and_from_zeros() {
        let a = sector_pattern(0);
        let b = sector_pattern(1);
        assert_ne!(a, b);
        assert!(a.chunks(4).all(|d| d != [0; 4]));
        assert_eq!(
            u32::from_le_bytes(b[..4].try_into().unwrap()),
            128u32.wrapping_mul(PATTERN_MULTIPLIER) ^ PATTERN_MAGIC
        );
    }

    #[test]
    fn a_whole_pattern_names_its_sector_and_anything_else_none() {
        assert_eq!(multiplier_inverse().wrapping_mul(PATTERN_MULTIPLIER), 1);
        for lba in [0u64, 1, 7, 8191, 0x7FFF] {
            assert_eq!(pattern_owner(&sector_pattern(lba)), Some(lba));
        }
        assert_eq!(pattern_owner(&[0u8; SECTOR_BYTES]), None);
        let mut torn = sector_pattern(5);
        torn[256..].fill(0);
        assert_eq!(pattern_owner(&torn), None);
    }

    #[test]
    fn the_rom_holds_the_lines_the_checker_parses() {
        let rom = build();
        for line in [FLUSHED_PREFIX, DONE_LINE, ERROR_PREFIX, SECTORS_PREFIX] {
            assert!(
                rom.windows(line.len()).any(|w| w == line.as_bytes()),
                "{line:?} is not in the ROM"
            );
        }
    }
}
