//! `bios-probe`: a boot sector that calls BIOS services the way DOS-era
//! programs do and prints what they answered, on the screen through INT 10h
//! teletype, for tests of the emulated BIOS inside the real hypervisor:
//!
//! - INT 15h AH=86h for one second, timed with INT 1Ah AH=00h's tick count
//!   (18.2 Hz): `WAIT CF=0 TICKS=18` or so;
//! - INT 13h AH=02h from cylinder 90 of the 80-cylinder floppy it booted
//!   from: `PAST END CF=1 AH=04` (sector not found);
//! - INT 13h with an unknown function, AH=FEh: `UNKNOWN CF=1 AH=01`.
//!
//! Then `PROBE DONE` and `cli; hlt`. It lives on a 1.44 MB floppy image
//! ([`floppy_image`]).

use iced_x86::code_asm::*;

/// Where the BIOS loads a boot sector.
const ORIGIN: u64 = 0x7C00;
/// Offset in the sector where the strings start (after the code).
const DATA_OFFSET: usize = 0x180;
/// Scratch word for the first tick count (0000:0600).
const TICKS_AT_START: u32 = 0x600;
/// The line printed last.
pub const DONE: &str = "PROBE DONE";
/// A 1.44 MB floppy: 80 cylinders, 2 heads, 18 sectors.
const FLOPPY_BYTES: usize = 1_474_560;

/// The messages, each NUL-terminated, and their addresses.
struct Strings {
    bytes: Vec<u8>,
    addresses: Vec<u32>,
}

impl Strings {
    fn new(texts: &[&str]) -> Self {
        let mut bytes = Vec::new();
        let mut addresses = Vec::new();
        for t in texts {
            addresses.push((ORIGIN as usize + DATA_OFFSET + bytes.len()) as u32);
            bytes.extend_from_slice(t.as_bytes());
            bytes.push(0);
        }
        Strings { bytes, addresses }
    }
}

/// The boot sector: code, strings at offset 180h, 55h AAh.
pub fn boot_sector() -> [u8; 512] {
    let strings = Strings::new(&[
        "WAIT CF=",
        " TICKS=",
        "PAST END CF=",
        "UNKNOWN CF=",
        " AH=",
        "\r\n",
        DONE,
    ]);
    let code = assemble(&strings.addresses).expect("the probe assembles");
    assert!(
        code.len() <= DATA_OFFSET,
        "probe code is {} bytes",
        code.len()
    );
    assert!(DATA_OFFSET + strings.bytes.len() <= 510);
    let mut sector = [0u8; 512];
    sector[..code.len()].copy_from_slice(&code);
    sector[DATA_OFFSET..DATA_OFFSET + strings.bytes.len()].copy_from_slice(&strings.bytes);
    sector[510] = 0x55;
    sector[511] = 0xAA;
    sector
}

/// A 1.44 MB floppy image whose first sector is the probe.
pub fn floppy_image() -> Vec<u8> {
    let mut image = vec![0u8; FLOPPY_BYTES];
    image[..512].copy_from_slice(&boot_sector());
    image
}

fn assemble(s: &[u32]) -> Result<Vec<u8>, IcedError> {
    let [wait_cf, ticks, past_end, unknown, ah_is, newline, done] = s else {
        unreachable!("seven strings")
    };
    let mut a = CodeAssembler::new(16)?;
    let mut print = a.create_label();
    let mut print_loop = a.create_label();
    let mut print_end = a.create_label();
    let mut hex = a.create_label();
    let mut digit = a.create_label();
    let mut letter = a.create_label();
    let mut dec2 = a.create_label();
    let mut report = a.create_label();

    // Segments at 0, a stack below the boot sector.
    a.cli()?;
    a.xor(ax, ax)?;
    a.mov(ds, ax)?;
    a.mov(es, ax)?;
    a.mov(ss, ax)?;
    a.mov(sp, ORIGIN as u32)?;
    a.sti()?;

    // One second of INT 15h AH=86h, measured in timer ticks.
    a.mov(ah, 0u32)?;
    a.int(0x1Au32)?;
    a.mov(word_ptr(TICKS_AT_START), dx)?;
    a.mov(ah, 0x86u32)?;
    a.mov(cx, 0x000Fu32)?;
    a.mov(dx, 0x4240u32)?; // 000F4240h = 1 000 000 us
    a.int(0x15u32)?;
    a.setc(bl)?;
    a.mov(si, *wait_cf)?;
    a.call(print)?;
    a.mov(al, bl)?;
    a.add(al, b'0' as u32)?;
    a.call(digit)?; // prints AL as a character
    a.mov(si, *ticks)?;
    a.call(print)?;
    a.mov(ah, 0u32)?;
    a.int(0x1Au32)?;
    a.sub(dx, word_ptr(TICKS_AT_START))?;
    a.mov(ax, dx)?;
    a.call(dec2)?;
    a.mov(si, *newline)?;
    a.call(print)?;

    // A read past the end of the floppy: cylinder 90, head 0, sector 1.
    a.mov(ax, 0x0201u32)?;
    a.mov(cx, 0x5A01u32)?;
    a.mov(dx, 0u32)?;
    a.mov(bx, 0x8000u32)?;
    a.int(0x13u32)?;
    a.mov(si, *past_end)?;
    a.call(report)?;

    // An INT 13h function that does not exist.
    a.mov(ah, 0xFEu32)?;
    a.mov(dx, 0u32)?;
    a.int(0x13u32)?;
    a.mov(si, *unknown)?;
    a.call(report)?;

    a.mov(si, *done)?;
    a.call(print)?;
    a.mov(si, *newline)?;
    a.call(print)?;
    let mut stop = a.create_label();
    a.set_label(&mut stop)?;
    a.cli()?;
    a.hlt()?;
    a.jmp(stop)?;

    // report: SI = label; prints "<label><CF> AH=<AH hex>\r\n" for the
    // flags and AH an INT 13h call left.
    a.set_label(&mut report)?;
    a.setc(bl)?;
    a.mov(bh, ah)?;
    a.call(print)?;
    a.mov(al, bl)?;
    a.add(al, b'0' as u32)?;
    a.call(digit)?;
    a.mov(si, *ah_is)?;
    a.call(print)?;
    a.mov(al, bh)?;
    a.call(hex)?;
    a.mov(si, *newline)?;
    a.call(print)?;
    a.ret()?;

    // print: the NUL-terminated string at DS:SI through INT 10h AH=0Eh.
    a.set_label(&mut print)?;
    a.push(ax)?;
    a.push(bx)?;
    a.set_label(&mut print_loop)?;
    a.lodsb()?;
    a.test(al, al)?;
    a.jz(print_end)?;
    a.mov(ah, 0x0Eu32)?;
    a.mov(bx, 0x0007u32)?;
    a.int(0x10u32)?;
    a.jmp(print_loop)?;
    a.set_label(&mut print_end)?;
    a.pop(bx)?;
    a.pop(ax)?;
    a.ret()?;

    // hex: AL as two hexadecimal digits.
    a.set_label(&mut hex)?;
    a.push(ax)?;
    a.shr(al, 4u32)?;
    a.call(letter)?;
    a.pop(ax)?;
    a.and(al, 0x0Fu32)?;
    // letter: the hex digit AL (0-15).
    a.set_label(&mut letter)?;
    a.add(al, b'0' as u32)?;
    a.cmp(al, b'9' as u32)?;
    a.jbe(digit)?;
    a.add(al, 7u32)?;
    // digit: the character AL.
    a.set_label(&mut digit)?;
    a.push(ax)?;
    a.push(bx)?;
    a.mov(ah, 0x0Eu32)?;
    a.mov(bx, 0x0007u32)?;
    a.int(0x10u32)?;
    a.pop(bx)?;
    a.pop(ax)?;
    a.ret()?;

    // dec2: AX (0-99) as two decimal digits.
    a.set_label(&mut dec2)?;
    a.mov(bl, 10u32)?;
    a.div(bl)?; // AL = tens, AH = ones
    a.push(ax)?;
    a.add(al, b'0' as u32)?;
    a.call(digit)?;
    a.pop(ax)?;
    a.mov(al, ah)?;
    a.add(al, b'0' as u32)?;
    a.call(digit)?;
    a.ret()?;

    a.assemble(ORIGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_sector_fits_and_is_bootable() {
        let s = boot_sector();
        assert_eq!(&s[510..], &[0x55, 0xAA]);
        assert_eq!(s[0], 0xFA, "starts with cli");
        let image = floppy_image();
        assert_eq!(image.len(), FLOPPY_BYTES);
        assert_eq!(&image[..512], &s[..]);
    }
}
