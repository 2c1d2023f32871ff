//! `reset`: a guest that reboots itself once. It counts its boots in RAM,
//! which a warm reset leaves alone, prints `reset guest: boot N` on COM1, and
//! on its first boot writes COM1's scratch register and asks for a reset with
//! the 8042's pulse command: port 64h <- FEh pulses output port bit 0, the
//! system reset line (IBM Personal Computer AT Technical Reference, "Keyboard
//! Controller", commands F0-FF "Pulse Output Port"). On its second boot it
//! checks that the reset gave it a fresh COM1 (the scratch register reads 0
//! again), prints `rebooted` and exits through the test-exit port with
//! status 0.
//!
//! If the reset is ignored it says so and exits with status 1; a third boot,
//! or a COM1 that kept its state, does the same. The same program is also
//! built as a floppy boot sector ([`boot_sector`]), to boot twice through the
//! emulated BIOS.

use super::rom::{emit_print_ds_si, emit_prologue, emit_put_al, emit_uart_init, RomBuilder};
use iced_x86::code_asm::*;

/// The line each boot starts with; the boot number (1 or 2) follows.
pub const BOOT_LINE: &str = "reset guest: boot ";
/// The line of the second boot.
pub const REBOOTED: &str = "rebooted";
/// The line printed when the reset request did not reset the machine.
pub const IGNORED: &str = "reset request ignored";
/// The line printed when COM1 kept its state across the reset.
pub const DEVICE_KEPT_STATE: &str = "COM1 kept its state across the reset";
/// The line printed on a third boot.
pub const TOO_MANY_BOOTS: &str = "booted more than twice";

/// Where the boot count lives in RAM (0000:0600, past the BIOS data area):
/// a magic dword, then the count byte.
const COUNTER: u32 = 0x600;
/// "RST!" marks a count written by an earlier boot (RAM starts as zeros, but
/// a BIOS guest's RAM need not).
const MAGIC: u32 = 0x2154_5352;
/// COM1's scratch register (PC16550D, offset 7).
const COM1_SCRATCH: u32 = 0x3FF;
/// What the first boot leaves in it.
const SCRATCH_MARK: u32 = 0x5A;

/// The guest's strings, as offsets its DS reaches them at.
struct Strings {
    boot_line: u32,
    newline: u32,
    rebooted: u32,
    ignored: u32,
    kept: u32,
    too_many: u32,
}

impl Strings {
    fn place(mut data: impl FnMut(&[u8]) -> u32) -> Self {
        let mut line = |text: &str| data(format!("{text}\r\n\0").as_bytes());
        let rebooted = line(REBOOTED);
        let ignored = line(IGNORED);
        let kept = line(DEVICE_KEPT_STATE);
        let too_many = line(TOO_MANY_BOOTS);
        Self {
            boot_line: data(format!("{BOOT_LINE}\0").as_bytes()),
            newline: data(b"\r\n\0"),
            rebooted,
            ignored,
            kept,
            too_many,
        }
    }
}

/// The ROM image.
pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let strings = Strings::place(|bytes| b.data(bytes));
    (|| {
        emit_prologue(&mut b.asm)?;
        assemble(&mut b.asm, &strings)
    })()
    .expect("reset guest assembles");
    b.finish()
}

/// Where the BIOS loads a boot sector (0000:7C00).
const BOOT_ADDRESS: u32 = 0x7C00;
/// Size of a boot sector.
const SECTOR: usize = 512;
/// Offset of the strings in the boot sector: the code stays below it.
const SECTOR_DATA: usize = 0x150;

/// The same guest as a floppy boot sector, for the emulated BIOS: it runs at
/// 0000:7C00 with DS = 0, and ends in the 55h AAh signature.
pub fn boot_sector() -> Vec<u8> {
    let mut sector = vec![0u8; SECTOR];
    let mut data_len = 0;
    let strings = Strings::place(|bytes| {
        let at = SECTOR_DATA + data_len;
        sector[at..at + bytes.len()].copy_from_slice(bytes);
        data_len += bytes.len();
        BOOT_ADDRESS + at as u32
    });
    assert!(SECTOR_DATA + data_len <= SECTOR - 2, "boot sector strings");
    let mut a = CodeAssembler::new(16).expect("16 is a valid bitness");
    (|| {
        a.cli()?;
        a.cld()?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, BOOT_ADDRESS)?;
        assemble(&mut a, &strings)
    })()
    .expect("reset boot sector assembles");
    let code = a
        .assemble(u64::from(BOOT_ADDRESS))
        .expect("reset boot sector assembles");
    assert!(code.len() <= SECTOR_DATA, "boot sector code too large");
    sector[..code.len()].copy_from_slice(&code);
    sector[SECTOR - 2..].copy_from_slice(&[0x55, 0xAA]);
    sector
}

/// A 1.44 MB floppy image whose boot sector is [`boot_sector`].
pub fn floppy_image() -> Vec<u8> {
    let mut image = vec![0u8; 1_474_560];
    image[..SECTOR].copy_from_slice(&boot_sector());
    image
}

/// Prints the line at `text` (DS-relative) and exits with `status`.
fn fail_with(a: &mut CodeAssembler, text: u32, status: u32) -> Result<(), IcedError> {
    a.mov(si, text)?;
    emit_print_ds_si(a)?;
    a.mov(dx, u32::from(pc_layout::ports::TEST_EXIT))?;
    a.mov(al, status)?;
    a.out(dx, al)?;
    a.cli()?;
    a.hlt()
}

/// The program, from a prologue that set DS (strings), SS:SP and CLI.
fn assemble(a: &mut CodeAssembler, s: &Strings) -> Result<(), IcedError> {
    let mut first = a.create_label();
    let mut counted = a.create_label();
    let mut second = a.create_label();
    let mut fresh = a.create_label();
    emit_uart_init(a)?;
    // Count this boot.
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.cmp(dword_ptr(COUNTER).es(), MAGIC)?;
    a.jne(first)?;
    a.inc(byte_ptr(COUNTER + 4).es())?;
    a.jmp(counted)?;
    a.set_label(&mut first)?;
    a.mov(dword_ptr(COUNTER).es(), MAGIC)?;
    a.mov(byte_ptr(COUNTER + 4).es(), 1u32)?;
    a.set_label(&mut counted)?;
    a.mov(si, s.boot_line)?;
    emit_print_ds_si(a)?;
    a.mov(al, byte_ptr(COUNTER + 4).es())?;
    a.add(al, u32::from(b'0'))?;
    emit_put_al(a)?;
    a.mov(si, s.newline)?;
    emit_print_ds_si(a)?;
    a.cmp(byte_ptr(COUNTER + 4).es(), 1u32)?;
    a.jne(second)?;

    // First boot: leave a mark in COM1, then pulse the reset line.
    a.mov(dx, COM1_SCRATCH)?;
    a.mov(al, SCRATCH_MARK)?;
    a.out(dx, al)?;
    a.mov(al, 0xFEu32)?;
    a.out(0x64u32, al)?;
    fail_with(a, s.ignored, 1)?;

    a.set_label(&mut second)?;
    a.cmp(byte_ptr(COUNTER + 4).es(), 2u32)?;
    a.je(fresh)?;
    fail_with(a, s.too_many, 1)?;
    a.set_label(&mut fresh)?;
    a.mov(dx, COM1_SCRATCH)?;
    a.in_(al, dx)?;
    a.cmp(al, SCRATCH_MARK)?;
    let mut clean = a.create_label();
    a.jne(clean)?;
    fail_with(a, s.kept, 1)?;
    a.set_label(&mut clean)?;
    a.mov(si, s.rebooted)?;
    emit_print_ds_si(a)?;
    a.mov(dx, u32::from(pc_layout::ports::TEST_EXIT))?;
    a.mov(al, 0u32)?;
    a.out(dx, al)?;
    a.cli()?;
    a.hlt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rom_and_the_boot_sector_assemble_and_carry_their_strings() {
        let rom = build();
        assert_eq!(rom.len(), super::super::ROM_SIZE);
        let sector = boot_sector();
        assert_eq!(sector.len(), SECTOR);
        assert_eq!(sector[510..], [0x55, 0xAA]);
        for text in [
            BOOT_LINE,
            REBOOTED,
            IGNORED,
            DEVICE_KEPT_STATE,
            TOO_MANY_BOOTS,
        ] {
            let found = |image: &[u8]| image.windows(text.len()).any(|w| w == text.as_bytes());
            assert!(found(&rom), "{text} in the ROM");
            assert!(found(&sector), "{text} in the boot sector");
        }
        // The pulse: mov al, FEh; out 64h, al.
        let pulse = [0xB0, 0xFE, 0xE6, 0x64];
        assert!(sector.windows(4).any(|w| w == pulse));
        assert_eq!(floppy_image()[..SECTOR], sector[..]);
    }
}
