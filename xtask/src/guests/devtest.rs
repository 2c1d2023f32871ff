//! `devtest`: from real mode, reads LBA 1 of the IDE primary master with PIO
//! READ SECTORS and block 16 of the ATAPI CD-ROM on the secondary master with a
//! PACKET READ(10), each by port I/O with `rep insw`, and prints the 32-bit sum
//! of each block's little-endian dwords (ATA/ATAPI-6 9.7 "PIO data-in command
//! protocol" and 9.10 "PACKET command protocol").
//!
//! The integration test computes the same sums from the image files.

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;

/// The sector of the disk that is read.
pub const DISK_LBA: u64 = 1;
/// The 2048-byte block of the CD that is read (the ISO 9660 primary volume descriptor).
pub const CD_LBA: u32 = 16;
/// Prefix of the disk line; 8 hex digits follow.
pub const DISK_PREFIX: &str = "disk sum: ";
/// Prefix of the CD line; 8 hex digits follow.
pub const CD_PREFIX: &str = "cd sum: ";

const DISK_BUFFER: u32 = 0x1000;
const CD_BUFFER: u32 = 0x2000;
/// Status register bits: BSY 7, DRQ 3, ERR 0.
const BSY: u32 = 0x80;
const DRQ: u32 = 0x08;
const ERR: u32 = 0x01;

/// The 32-bit sum of little-endian dwords, as the guest computes it.
pub fn dword_sum(block: &[u8]) -> u32 {
    block
        .chunks(4)
        .map(|c| {
            let mut d = [0u8; 4];
            d[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(d)
        })
        .fold(0u32, |a, b| a.wrapping_add(b))
}

pub fn build() -> Vec<u8> {
    let mut b = RomBuilder::new();
    let hex = b.data(b"0123456789abcdef");
    let disk_prefix = b.data(format!("{DISK_PREFIX}\0").as_bytes());
    let cd_prefix = b.data(format!("{CD_PREFIX}\0").as_bytes());
    let newline = b.data(b"\r\n\0");
    let disk_error = b.data(b"disk error\r\n\0");
    let cd_error = b.data(b"cd error\r\n\0");
    let lba = CD_LBA.to_be_bytes();
    let packet = b.data(&[0x28, 0, lba[0], lba[1], lba[2], lba[3], 0, 0, 1, 0, 0, 0]);
    let strings = Strings {
        hex,
        disk_prefix,
        cd_prefix,
        newline,
        disk_error,
        cd_error,
        packet,
    };
    assemble(&mut b.asm, &strings).expect("devtest guest assembles");
    b.finish()
}

struct Strings {
    hex: u32,
    disk_prefix: u32,
    cd_prefix: u32,
    newline: u32,
    disk_error: u32,
    cd_error: u32,
    packet: u32,
}

fn out_al(a: &mut CodeAssembler, port: u32, value: u32) -> Result<(), IcedError> {
    a.mov(dx, port)?;
    a.mov(al, value)?;
    a.out(dx, al)
}

/// Waits until BSY clears, then jumps to `error` if ERR is set or to `no_drq`
/// if DRQ is clear.
fn wait_ready(a: &mut CodeAssembler, status_port: u32, error: CodeLabel) -> Result<(), IcedError> {
    let mut poll = a.create_label();
    a.set_label(&mut poll)?;
    a.mov(dx, status_port)?;
    a.in_(al, dx)?;
    a.test(al, BSY)?;
    a.jnz(poll)?;
    a.test(al, ERR)?;
    a.jnz(error)?;
    a.test(al, DRQ)?;
    a.jz(error)?;
    Ok(())
}

/// EAX = sum of CX dwords at 0000:SI. Clobbers SI, CX.
fn sum_dwords(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut lp = a.create_label();
    a.xor(eax, eax)?;
    a.set_label(&mut lp)?;
    a.add(eax, dword_ptr(si))?;
    a.add(si, 4u32)?;
    a.dec(cx)?;
    a.jnz(lp)?;
    Ok(())
}

/// Prints the string at ROM offset `s` (DS must be the ROM).
fn print(a: &mut CodeAssembler, s: u32) -> Result<(), IcedError> {
    a.mov(si, s)?;
    emit_print_ds_si(a)
}

/// Prints EAX as 8 hex digits through COM1 (DS must be the ROM). Clobbers EBX, CX, DX.
fn print_eax_hex(a: &mut CodeAssembler, hex: u32) -> Result<(), IcedError> {
    let mut digit = a.create_label();
    let mut wait = a.create_label();
    a.mov(cx, 8u32)?;
    a.set_label(&mut digit)?;
    a.rol(eax, 4u32)?;
    a.mov(ebx, eax)?;
    a.and(bx, 0xFu32)?;
    a.mov(bl, byte_ptr(bx + hex))?;
    a.set_label(&mut wait)?;
    a.mov(dx, 0x3FDu32)?;
    a.push(eax)?;
    a.in_(al, dx)?;
    a.test(al, 0x20u32)?;
    a.pop(eax)?;
    a.jz(wait)?;
    a.mov(dx, 0x3F8u32)?;
    a.push(eax)?;
    a.mov(al, bl)?;
    a.out(dx, al)?;
    a.pop(eax)?;
    a.dec(cx)?;
    a.jnz(digit)?;
    Ok(())
}

fn assemble(a: &mut CodeAssembler, s: &Strings) -> Result<(), IcedError> {
    let mut disk_failed = a.create_label();
    let mut cd_part = a.create_label();
    let mut cd_failed = a.create_label();
    let mut cd_retry = a.create_label();
    let mut done = a.create_label();
    emit_prologue(a)?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;

    // ---- IDE primary master: READ SECTORS (20h), LBA28, one sector, polled.
    out_al(a, 0x3F6, 0x02)?; // device control: nIEN
    out_al(a, 0x1F6, 0xE0 | ((DISK_LBA >> 24) as u32 & 0xF))?; // LBA mode, master
    out_al(a, 0x1F2, 1)?;
    out_al(a, 0x1F3, DISK_LBA as u32 & 0xFF)?;
    out_al(a, 0x1F4, (DISK_LBA >> 8) as u32 & 0xFF)?;
    out_al(a, 0x1F5, (DISK_LBA >> 16) as u32 & 0xFF)?;
    out_al(a, 0x1F7, 0x20)?;
    wait_ready(a, 0x1F7, disk_failed)?;
    a.mov(di, DISK_BUFFER)?;
    a.mov(dx, 0x1F0u32)?;
    a.mov(cx, 256u32)?;
    a.rep().insw()?;
    a.push(ds)?;
    a.push(es)?;
    a.pop(ds)?;
    a.mov(si, DISK_BUFFER)?;
    a.mov(cx, 128u32)?;
    sum_dwords(a)?;
    a.pop(ds)?;
    a.push(eax)?;
    print(a, s.disk_prefix)?;
    a.pop(eax)?;
    print_eax_hex(a, s.hex)?;
    print(a, s.newline)?;
    a.jmp(cd_part)?;
    a.set_label(&mut disk_failed)?;
    print(a, s.disk_error)?;

    // ---- ATAPI secondary master: PACKET (A0h) with READ(10), PIO.
    // The first command after power-on may end in CHECK CONDITION (unit
    // attention), as on a real drive: retry a few times.
    a.set_label(&mut cd_part)?;
    a.mov(bp, 4u32)?;
    a.set_label(&mut cd_retry)?;
    out_al(a, 0x376, 0x02)?;
    out_al(a, 0x176, 0xA0)?; // master
    out_al(a, 0x171, 0x00)?; // features: PIO
    out_al(a, 0x174, 0x00)?; // byte count limit 0800h
    out_al(a, 0x175, 0x08)?;
    out_al(a, 0x177, 0xA0)?;
    wait_ready(a, 0x177, cd_failed)?;
    a.mov(si, s.packet)?;
    a.mov(dx, 0x170u32)?;
    a.mov(cx, 6u32)?;
    a.rep().outsw()?;
    wait_ready(a, 0x177, cd_failed)?;
    a.mov(di, CD_BUFFER)?;
    a.mov(dx, 0x170u32)?;
    a.mov(cx, 1024u32)?;
    a.rep().insw()?;
    a.push(ds)?;
    a.push(es)?;
    a.pop(ds)?;
    a.mov(si, CD_BUFFER)?;
    a.mov(cx, 512u32)?;
    sum_dwords(a)?;
    a.pop(ds)?;
    a.push(eax)?;
    print(a, s.cd_prefix)?;
    a.pop(eax)?;
    print_eax_hex(a, s.hex)?;
    print(a, s.newline)?;
    a.jmp(done)?;
    a.set_label(&mut cd_failed)?;
    a.dec(bp)?;
    a.jnz(cd_retry)?;
    print(a, s.cd_error)?;

    a.set_label(&mut done)?;
    a.cli()?;
    a.hlt()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dword_sum_wraps_and_pads() {
        assert_eq!(dword_sum(&[1, 0, 0, 0, 2, 0, 0, 0]), 3);
        assert_eq!(dword_sum(&[0xFF; 8]), 0xFFFF_FFFE);
        assert_eq!(dword_sum(&[1]), 1);
    }

    #[test]
    fn assembles_into_a_rom() {
        assert_eq!(build().len(), super::super::ROM_SIZE);
    }
}
