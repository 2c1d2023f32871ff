//! The `mode-switch` round trips around BIOS calls, as OpenBSD's boot loader
//! makes them: a floppy ([`floppy_image`]) whose boot sector loads the
//! program at 0000:7E00h and jumps to it.
//!
//! The program enters protected mode (a conforming 16-bit code segment
//! based at 0, 4 GiB data segments in DS, ES and SS) and stores a marker at
//! 3 MiB; then, [`ROUND_TRIPS`] times: clears PE and far-jumps to real mode
//! at CS = RPL 1, 2 or 3 in turn (the code at the same linear addresses),
//! reloads DS, ES and SS with 0 there (real-mode loads: the 4 GiB limits
//! stay), reads a floppy sector with INT 13h AH=02h with interrupts on, asks
//! INT 13h AH=08h for the drive's parameters (the BIOS returns ES = F000h)
//! and reads through ES 1 MiB past its base (the unreal limit must survive
//! the BIOS's load of ES), reads the marker through DS, then sets PE, makes
//! an I/O exit before the far jump and reloads DS, SS and ES with the DPL-0
//! data selector in protected mode (a #GP, and a triple fault, at any other
//! CPL: OpenBSD's failure). Then [`DONE`] on COM1 and exit status 0; a
//! failure prints a [`FAIL`](super::FAIL) line and exits with 1 (a real-mode
//! #GP or #SS through the guest's own IVT entries).

use super::{
    exit_with, gdt, io_exit, label_ips, pseudo_descriptor, selector, set_iopl3, set_pe, Places,
};
use crate::guests::rom::emit_print_ds_si;
use iced_x86::code_asm::*;

/// Printed first.
pub const START: &str = "mode-switch-bios: start";
/// Printed once every round trip passed, before exit status 0.
pub const DONE: &str = "mode-switch-bios: PASS round trips through the BIOS, CPL 0 after each far jump, 4 GiB DS and ES kept across INT 13h";

/// Round trips to real mode and back, each with two BIOS calls.
pub const ROUND_TRIPS: u16 = 30;
/// The real-mode CS RPLs the round trips cycle through.
const TRIP_RPLS: [u16; 3] = [1, 2, 3];
/// Where the BIOS loads the boot sector, and where it loads the program.
const BOOT_SECTOR: u32 = 0x7C00;
const PROGRAM: u32 = 0x7E00;
/// The program's data (strings, GDT) at this address, in its last sectors.
const DATA: u32 = 0x9000;
/// Sectors the boot sector loads (sectors 2-17 of track 0): 7E00h-9DFFh.
const PROGRAM_SECTORS: u32 = 16;
/// The round-trip counter (a word) and the INT 13h read buffer.
const COUNTER: u32 = 0x0600;
const READ_BUFFER: u32 = 0xA000;
/// The marker at 3 MiB.
const MARKER_AT: u32 = 0x0030_0000;
const MARKER: u32 = 0x4249_4F53;
/// An offset 1 MiB past ES's base: beyond its limit unless it is 4 GiB.
const PAST_64K: u32 = 0x0010_0000;
/// A 1.44 MB floppy: 80 cylinders, 2 heads, 18 sectors.
const FLOPPY_BYTES: usize = 1_474_560;
/// Real-mode vectors of #SS and #GP, which a limit violation raises.
const REAL_MODE_FAULTS: [u8; 2] = [0x0C, 0x0D];

/// The floppy: the boot sector, then the program's sectors.
pub fn floppy_image() -> Vec<u8> {
    let mut image = vec![0u8; FLOPPY_BYTES];
    image[..512].copy_from_slice(&boot_sector());
    let program = program_bytes();
    image[512..512 + program.len()].copy_from_slice(&program);
    image
}

/// Loads sectors 2-17 to 0000:7E00h with INT 13h AH=02h and jumps there.
fn boot_sector() -> [u8; 512] {
    let code = (|| -> Result<Vec<u8>, IcedError> {
        let mut a = CodeAssembler::new(16)?;
        let mut hang = a.create_label();
        a.cli()?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(es, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, BOOT_SECTOR)?;
        a.sti()?;
        // DL: the drive the BIOS booted from.
        a.mov(ax, 0x0200 | PROGRAM_SECTORS)?;
        a.mov(cx, 0x0002u32)?;
        a.mov(dh, 0u32)?;
        a.mov(bx, PROGRAM)?;
        a.int(0x13u32)?;
        a.jc(hang)?;
        a.jmp_far(0, PROGRAM)?;
        a.set_label(&mut hang)?;
        a.cli()?;
        a.hlt()?;
        a.assemble(u64::from(BOOT_SECTOR))
    })()
    .expect("the boot sector assembles");
    let mut sector = [0u8; 512];
    sector[..code.len()].copy_from_slice(&code);
    sector[510] = 0x55;
    sector[511] = 0xAA;
    sector
}

/// The program's sectors: code from 7E00h, data from [`DATA`].
fn program_bytes() -> Vec<u8> {
    let (mut first, _, labels) = program(&[]).expect("mode-switch-bios assembles");
    let known =
        label_ips(&mut first, u64::from(PROGRAM), &labels).expect("mode-switch-bios assembles");
    let (mut second, data, _) = program(&known).expect("mode-switch-bios assembles");
    let code = second
        .assemble(u64::from(PROGRAM))
        .expect("mode-switch-bios assembles");
    assert!(code.len() <= (DATA - PROGRAM) as usize, "code too large");
    let mut bytes = vec![0u8; (PROGRAM_SECTORS * 512) as usize];
    bytes[..code.len()].copy_from_slice(&code);
    let at = (DATA - PROGRAM) as usize;
    assert!(at + data.len() <= bytes.len(), "data too large");
    bytes[at..at + data.len()].copy_from_slice(&data);
    bytes
}

/// The code, its data (to go at [`DATA`]) and its labels.
fn program(known: &[u32]) -> Result<(CodeAssembler, Vec<u8>, Vec<CodeLabel>), IcedError> {
    let mut data = Vec::new();
    let mut place = |bytes: &[u8]| {
        let at = DATA + data.len() as u32;
        data.extend_from_slice(bytes);
        at
    };
    let line = |text: &str| format!("{text}\r\n\0").into_bytes();
    let start = place(&line(START));
    let done = place(&line(DONE));
    let fail_disk = place(&line(&format!("{} INT 13h read failed", super::FAIL)));
    let fail_unreal = place(&line(&format!(
        "{} 4 GiB limit of DS lost or marker changed",
        super::FAIL
    )));
    let fail_fault = place(&line(&format!(
        "{} #GP or #SS in real mode (a 64 KiB limit)",
        super::FAIL
    )));
    let gdt = gdt(0);
    let gdt_at = place(&gdt);
    let gdtr = place(&pseudo_descriptor(gdt.len() as u16 - 1, gdt_at));

    let mut places = Places::new(known);
    let mut asm = CodeAssembler::new(16)?;
    let a = &mut asm;
    let mut print = a.create_label();
    let mut fail_disk_label = a.create_label();
    let mut fail_unreal_label = a.create_label();
    let mut fail_print = a.create_label();
    let (mut fault, fault_ip) = places.label(a);
    let (mut first_protected, first_protected_ip) = places.label(a);
    let (mut last_real, last_real_ip) = places.label(a);

    a.cli()?;
    a.cld()?;
    a.xor(ax, ax)?;
    a.mov(ds, ax)?;
    a.mov(es, ax)?;
    a.mov(ss, ax)?;
    a.mov(sp, BOOT_SECTOR)?;
    set_iopl3(a)?;
    for vector in REAL_MODE_FAULTS {
        let entry = u64::from(vector) * 4;
        a.mov(word_ptr(entry), fault_ip)?;
        a.mov(word_ptr(entry + 2), 0u32)?;
    }
    a.mov(word_ptr(u64::from(COUNTER)), u32::from(ROUND_TRIPS))?;
    a.mov(si, start)?;
    a.call(print)?;
    a.lgdt(ptr(u64::from(gdtr)))?;
    set_pe(a, true)?;
    a.jmp_far(selector::CONFORMING16, first_protected_ip)?;
    places.set(a, &mut first_protected)?;
    a.mov(ax, u32::from(selector::FLAT))?;
    a.mov(ds, ax)?;
    a.mov(es, ax)?;
    a.mov(ss, ax)?;
    a.mov(esi, MARKER_AT)?;
    a.mov(dword_ptr(esi), MARKER)?;

    let mut again = a.create_label();
    a.set_label(&mut again)?;
    for rpl in TRIP_RPLS {
        let (mut real, real_ip) = places.label(a);
        let (mut protected, protected_ip) = places.label(a);
        // To real mode, as a boot loader's BIOS call does.
        set_pe(a, false)?;
        a.jmp_far(rpl, real_ip.wrapping_sub(u32::from(rpl) * 16))?;
        places.set(a, &mut real)?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(es, ax)?;
        a.mov(ss, ax)?;
        // The boot sector again, from drive A: (DL = 0).
        a.mov(ax, 0x0201u32)?;
        a.mov(cx, 0x0001u32)?;
        a.mov(dx, 0u32)?;
        a.mov(bx, READ_BUFFER)?;
        a.sti()?;
        a.int(0x13u32)?;
        a.cli()?;
        a.jc(fail_disk_label)?;
        // The drive's parameters: ES:DI = F000h:table, ES loaded by the BIOS.
        a.mov(ah, 0x08u32)?;
        a.mov(dl, 0u32)?;
        a.int(0x13u32)?;
        a.mov(esi, PAST_64K)?;
        a.mov(al, byte_ptr(esi).es())?;
        a.mov(esi, MARKER_AT)?;
        a.cmp(dword_ptr(esi), MARKER)?;
        a.jne(fail_unreal_label)?;
        // Back to protected mode, with an exit before the far jump.
        a.lgdt(ptr(u64::from(gdtr)))?;
        set_pe(a, true)?;
        io_exit(a)?;
        a.jmp_far(selector::CONFORMING16, protected_ip)?;
        places.set(a, &mut protected)?;
        a.mov(ax, u32::from(selector::FLAT))?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(es, ax)?;
    }
    a.dec(word_ptr(u64::from(COUNTER)))?;
    a.jnz(again)?;
    set_pe(a, false)?;
    a.jmp_far(0, last_real_ip)?;
    places.set(a, &mut last_real)?;
    a.xor(ax, ax)?;
    a.mov(ds, ax)?;
    a.mov(si, done)?;
    a.call(print)?;
    exit_with(a, 0)?;

    places.set(a, &mut fault)?;
    a.mov(si, fail_fault)?;
    a.jmp(fail_print)?;
    for (label, text) in [
        (&mut fail_disk_label, fail_disk),
        (&mut fail_unreal_label, fail_unreal),
    ] {
        a.set_label(label)?;
        a.mov(si, text)?;
        a.jmp(fail_print)?;
    }
    // SI: the failure's line, at a linear address below 64 KiB.
    a.set_label(&mut fail_print)?;
    a.xor(ax, ax)?;
    a.mov(ds, ax)?;
    a.call(print)?;
    exit_with(a, 1)?;

    // (`cld` carries the label: the print loop has its own.)
    a.set_label(&mut print)?;
    a.cld()?;
    emit_print_ds_si(a)?;
    a.ret()?;
    let labels = places.into_labels();
    Ok((asm, data, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floppy_boots_loads_the_program_and_carries_its_lines() {
        let image = floppy_image();
        assert_eq!(image.len(), FLOPPY_BYTES);
        assert_eq!(&image[510..512], &[0x55, 0xAA]);
        let program = &image[512..512 + (PROGRAM_SECTORS * 512) as usize];
        let has = |bytes: &[u8]| program.windows(bytes.len()).any(|w| w == bytes);
        for text in [START, DONE] {
            assert!(has(text.as_bytes()), "{text}");
        }
        assert!(has(&gdt(0)));
        // The program starts with `cli` at 7E00h.
        assert_eq!(program[0], 0xFA);
    }
}
