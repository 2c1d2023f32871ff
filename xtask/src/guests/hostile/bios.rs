//! Boot images that attack the emulated BIOS's services, booted by the BIOS
//! itself (`--guest bios`):
//!
//! [`attack_disk`], a hard disk booted with `--mem 1` ([`ATTACK_MEM_MIB`]),
//! so that RAM ends at 1 MiB, where the shadow ROM does, and the
//! real-mode addresses FFFF:xxxx lie past it. One line per probe, each with
//! CF and AH as the service returned them:
//!
//! - `int13-dap-buffer-past-ram`: AH=42h into FFFF:FFF0;
//! - `int13-dap-buffer-straddling-ram-end`: AH=42h into FFFF:0000 (16 bytes
//!   of shadow ROM, then nothing);
//! - `int13-dap-past-ram`: AH=42h with the packet itself at FFFF:FFF8;
//! - `int13-read-into-rom`: AH=42h into F000:0000, the BIOS's own image;
//! - `e820-buffer-past-ram` and `e820-buffer-straddling-ram-end`: INT 15h
//!   E820h with ES:DI at FFFF:FFF0 and FFFF:0000;
//! - `rom-write`: a store into the F segment after POST;
//! - `int13-sp-wrap`: INT 13h with SS:SP = 2000:0002, so the return frame
//!   wraps around the stack segment (FLAGS at 2000:0000).
//!
//! Where ROM is involved the line says whether its bytes are `kept`.
//!
//! [`int19_loop_floppy`]: a floppy whose boot sector counts its boots in RAM
//! and calls INT 19h again until [`INT19_BOOTS`], behind a disk that fails
//! to boot every time (issue 11: INT 19h in a loop exhausted the heap).

use super::kit::{Prog, SCRATCH};
use iced_x86::code_asm::*;

pub const DAP_BUFFER_PAST_RAM: &str = "int13-dap-buffer-past-ram";
pub const DAP_BUFFER_STRADDLING_RAM_END: &str = "int13-dap-buffer-straddling-ram-end";
pub const DAP_PAST_RAM: &str = "int13-dap-past-ram";
pub const READ_INTO_ROM: &str = "int13-read-into-rom";
pub const E820_BUFFER_PAST_RAM: &str = "e820-buffer-past-ram";
pub const E820_BUFFER_STRADDLING_RAM_END: &str = "e820-buffer-straddling-ram-end";
pub const ROM_WRITE: &str = "rom-write";
pub const INT13_SP_WRAP: &str = "int13-sp-wrap";
pub const ATTACK_DONE: &str = "bios-attacks: done";
/// Guest RAM for [`attack_disk`].
pub const ATTACK_MEM_MIB: u64 = 1;
/// Size of the attack disk.
pub const ATTACK_DISK_BYTES: usize = 1 << 20;

/// The boots [`int19_loop_floppy`] makes, and its last line's start (the
/// count follows in hex).
pub const INT19_BOOTS: u32 = 1000;
pub const INT19_DONE: &str = "int19-loop: done after boots ";
/// A 1.44 MB floppy.
const FLOPPY_BYTES: usize = 1_474_560;

/// Results (SS = 0): CF, AH, a flag, a saved dword.
const R_CF: u32 = SCRATCH;
const R_AH: u32 = SCRATCH + 1;
const R_SAVED: u32 = SCRATCH + 4;
const R_SP: u32 = SCRATCH + 8;
/// The disk address packet (0000:0800).
const DAP: u32 = 0x0800;
/// The E820h signature.
const SMAP: u32 = 0x534D_4150;
/// A word the stack-wrap probe expects to find unchanged at 3000:0000.
const SENTINEL: u32 = 0xBEEF;

/// Calls `int n` and records CF and AH.
fn int_and_record(p: &mut Prog<'_>, n: u32) -> Result<(), IcedError> {
    p.int(n)?;
    p.setc(bl)?;
    p.mov(byte_ptr(R_CF).ss(), bl)?;
    p.mov(byte_ptr(R_AH).ss(), ah)
}

/// Prints " cf XX ah XX".
fn show_cf_ah(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.print(" cf ")?;
    p.mov(al, byte_ptr(R_CF).ss())?;
    p.hex8()?;
    p.print(" ah ")?;
    p.mov(al, byte_ptr(R_AH).ss())?;
    p.hex8()
}

/// Saves the dword at `segment:offset`.
fn save_dword(p: &mut Prog<'_>, segment: u32, offset: u32) -> Result<(), IcedError> {
    p.mov(ax, segment)?;
    p.mov(fs, ax)?;
    p.mov(eax, dword_ptr(offset).fs())?;
    p.mov(dword_ptr(R_SAVED).ss(), eax)
}

/// Prints " rom kept" if the dword at `segment:offset` is what
/// [`save_dword`] saved, else " rom changed".
fn show_kept(p: &mut Prog<'_>, segment: u32, offset: u32) -> Result<(), IcedError> {
    let mut changed = p.create_label();
    let mut done = p.create_label();
    p.mov(ax, segment)?;
    p.mov(fs, ax)?;
    p.mov(eax, dword_ptr(offset).fs())?;
    p.cmp(eax, dword_ptr(R_SAVED).ss())?;
    p.jne(changed)?;
    p.print(" rom kept")?;
    p.jmp(done)?;
    p.set_label(&mut changed)?;
    p.print(" rom changed")?;
    p.set_label(&mut done)?;
    p.zero_bytes()
}

/// Writes the packet at [`DAP`]: one block from LBA 0 to `segment:offset`.
fn dap(p: &mut Prog<'_>, segment: u32, offset: u32) -> Result<(), IcedError> {
    for (at, value) in [
        (0, 0x0010),
        (2, 1),
        (4, offset),
        (6, segment),
        (8, 0),
        (10, 0),
        (12, 0),
        (14, 0),
    ] {
        p.mov(word_ptr(DAP + at).ss(), value)?;
    }
    Ok(())
}

/// INT 13h AH=42h on the boot disk with DS:SI = `ds:si`.
fn extended_read(p: &mut Prog<'_>, ds_value: u32, si_value: u32) -> Result<(), IcedError> {
    p.mov(ax, ds_value)?;
    p.mov(ds, ax)?;
    p.mov(si, si_value)?;
    p.mov(dl, 0x80u32)?;
    p.mov(ah, 0x42u32)?;
    int_and_record(p, 0x13)
}

/// INT 15h E820h, first descriptor, into `segment:offset`.
fn e820(p: &mut Prog<'_>, segment: u32, offset: u32) -> Result<(), IcedError> {
    p.mov(ax, segment)?;
    p.mov(es, ax)?;
    p.mov(di, offset)?;
    p.mov(eax, 0xE820u32)?;
    p.xor(ebx, ebx)?;
    p.mov(ecx, 20u32)?;
    p.mov(edx, SMAP)?;
    int_and_record(p, 0x15)
}

/// The attack disk: boot sector, the program, zeros.
pub fn attack_disk() -> Vec<u8> {
    super::boot_image(ATTACK_DISK_BYTES, attacks)
}

fn attacks(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.sti()?;

    p.probe(
        DAP_BUFFER_PAST_RAM,
        |p| {
            dap(p, 0xFFFF, 0xFFF0)?;
            extended_read(p, 0, DAP)
        },
        |p| {
            show_cf_ah(p)?;
            p.print(" count ")?;
            p.mov(ax, word_ptr(DAP + 2).ss())?;
            p.hex16()
        },
    )?;
    p.probe(
        DAP_BUFFER_STRADDLING_RAM_END,
        |p| {
            save_dword(p, 0xF000, 0xFFF0)?;
            dap(p, 0xFFFF, 0x0000)?;
            extended_read(p, 0, DAP)
        },
        |p| {
            show_cf_ah(p)?;
            show_kept(p, 0xF000, 0xFFF0)
        },
    )?;
    p.probe(
        DAP_PAST_RAM,
        |p| extended_read(p, 0xFFFF, 0xFFF8),
        show_cf_ah,
    )?;
    p.probe(
        READ_INTO_ROM,
        |p| {
            save_dword(p, 0xF000, 0x0000)?;
            dap(p, 0xF000, 0x0000)?;
            extended_read(p, 0, DAP)
        },
        |p| {
            show_cf_ah(p)?;
            show_kept(p, 0xF000, 0x0000)
        },
    )?;
    p.probe(
        E820_BUFFER_PAST_RAM,
        |p| e820(p, 0xFFFF, 0xFFF0),
        show_cf_ah,
    )?;
    p.probe(
        E820_BUFFER_STRADDLING_RAM_END,
        |p| {
            save_dword(p, 0xF000, 0xFFF0)?;
            e820(p, 0xFFFF, 0x0000)
        },
        |p| {
            show_cf_ah(p)?;
            show_kept(p, 0xF000, 0xFFF0)
        },
    )?;
    p.probe(
        ROM_WRITE,
        |p| {
            save_dword(p, 0xF000, 0xE000)?;
            p.mov(dword_ptr(0xE000).fs(), 0x1234_5678u32)
        },
        |p| show_kept(p, 0xF000, 0xE000),
    )?;
    p.probe(
        INT13_SP_WRAP,
        |p| {
            p.mov(ax, 0x3000u32)?;
            p.mov(fs, ax)?;
            p.mov(word_ptr(0).fs(), SENTINEL)?;
            p.mov(word_ptr(R_SP).ss(), sp)?;
            p.mov(ax, 0x2000u32)?;
            p.mov(ss, ax)?;
            p.mov(sp, 2u32)?;
            p.mov(ah, 0xFEu32)?; // no such function: CF=1, AH=01h
            p.mov(dl, 0x80u32)?;
            p.int(0x13u32)?;
            p.setc(bl)?;
            p.mov(cl, ah)?;
            p.xor(ax, ax)?;
            p.mov(ss, ax)?;
            p.mov(sp, word_ptr(R_SP).ss())?;
            p.mov(byte_ptr(R_CF).ss(), bl)?;
            p.mov(byte_ptr(R_AH).ss(), cl)
        },
        |p| {
            show_cf_ah(p)?;
            p.print(" sentinel ")?;
            p.mov(ax, 0x3000u32)?;
            p.mov(fs, ax)?;
            p.mov(ax, word_ptr(0).fs())?;
            p.hex16()
        },
    )?;
    p.print(&format!("{ATTACK_DONE}\r\n"))?;
    p.halt()
}

/// Where the INT 19h loop counts its boots: a magic word, then the count.
const BOOTS: u32 = 0x0640;
const BOOTS_MAGIC: u32 = 0x3931; // "19"

/// The INT 19h floppy.
pub fn int19_loop_floppy() -> Vec<u8> {
    super::boot_image(FLOPPY_BYTES, |p| {
        let mut counted = p.create_label();
        let mut done = p.create_label();
        p.prologue()?;
        p.cmp(word_ptr(BOOTS).ss(), BOOTS_MAGIC)?;
        p.je(counted)?;
        p.mov(word_ptr(BOOTS).ss(), BOOTS_MAGIC)?;
        p.mov(word_ptr(BOOTS + 2).ss(), 0u32)?;
        p.set_label(&mut counted)?;
        p.inc(word_ptr(BOOTS + 2).ss())?;
        p.cmp(word_ptr(BOOTS + 2).ss(), INT19_BOOTS)?;
        p.jae(done)?;
        p.sti()?;
        p.int(0x19u32)?;
        p.set_label(&mut done)?;
        p.print(INT19_DONE)?;
        p.mov(ax, word_ptr(BOOTS + 2).ss())?;
        p.hex16()?;
        p.print("\r\n")?;
        p.halt()
    })
}
