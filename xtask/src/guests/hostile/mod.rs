//! The hostile-guest suite's guests (issue 11): small programs that attack
//! the hypervisor on purpose and print, one line per probe, what they got
//! back, so the integration tests (`tests/tests/hostile.rs`) can assert the
//! architectural answer on SVM and on VT-x.
//!
//! ROM guests (registered as built-in guests, `hostile-*`) start at the reset
//! vector like the other test ROMs; boot images ([`bios`]) are booted by the
//! emulated BIOS from a floppy or a disk and attack its services.
//!
//! Each probe prints `name: ok ...` or `name: fault VV ...` (see [`kit`]);
//! the names are the constants of each guest's module.

mod asm;
pub mod bios;
pub mod cpu;
pub mod cr;
pub mod dma;
pub mod kit;
pub mod long_mode;
pub mod stops;
pub mod timers;

use super::rom::ROM_SIZE;
use iced_x86::code_asm::IcedError;
use kit::Prog;

/// Where every hostile ROM keeps [`ROM_PATTERN`] (offset in F000h; the same
/// bytes are at FFFF_F000h through the ROM alias below 4 GiB).
pub const ROM_PATTERN_OFFSET: u32 = 0xF000;
/// A pattern probes try to overwrite and read back.
pub const ROM_PATTERN: [u8; 4] = [0xA5, 0x5A, 0xC3, 0x3C];
/// Offset of the reset vector in a ROM.
const RESET_VECTOR_OFFSET: usize = 0xFFF0;

/// A 64 KiB ROM whose code (segment F000h, from offset 0) `body` writes,
/// with [`ROM_PATTERN`] at [`ROM_PATTERN_OFFSET`] and the reset vector
/// jumping to offset 0.
pub fn rom(
    extra_descriptors: Vec<[u8; 8]>,
    body: impl Fn(&mut Prog<'_>) -> Result<(), IcedError>,
) -> Vec<u8> {
    let code = kit::build(kit::ROM_SEGMENT, 0, extra_descriptors, body);
    assert!(
        code.len() <= ROM_PATTERN_OFFSET as usize,
        "hostile ROM code is {} bytes",
        code.len()
    );
    let mut rom = vec![0xF4; ROM_SIZE]; // HLT everywhere else
    rom[..code.len()].copy_from_slice(&code);
    let p = ROM_PATTERN_OFFSET as usize;
    rom[p..p + ROM_PATTERN.len()].copy_from_slice(&ROM_PATTERN);
    // jmp far F000:0000
    rom[RESET_VECTOR_OFFSET..RESET_VECTOR_OFFSET + 5].copy_from_slice(&[0xEA, 0, 0, 0, 0xF0]);
    rom
}

/// A boot image of `size` bytes (a floppy or a disk) whose boot sector loads
/// the rest of the program `body` writes (see [`Prog::boot_loader`]).
pub fn boot_image(size: usize, body: impl Fn(&mut Prog<'_>) -> Result<(), IcedError>) -> Vec<u8> {
    let code = kit::build(kit::BOOT_SEGMENT, 0x7C00, Vec::new(), |p| {
        p.boot_loader()?;
        body(p)
    });
    let limit = (1 + kit::BOOT_SECTORS as usize) * 512;
    assert!(code.len() <= limit, "boot program is {} bytes", code.len());
    assert_eq!(&code[510..512], &[0x55, 0xAA]);
    let mut image = vec![0u8; size];
    image[..code.len()].copy_from_slice(&code);
    image
}

/// The line a probe printed on `console`: the text after `name: `.
pub fn probe_result<'c>(console: &'c str, name: &str) -> Option<&'c str> {
    let prefix = format!("{name}: ");
    console
        .lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix(prefix.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rom_guest_assembles_into_a_rom_with_the_pattern_and_reset_vector() {
        for g in super::super::BUILTIN_GUESTS
            .iter()
            .filter(|g| g.name.starts_with("hostile-"))
        {
            let rom = (g.build)();
            assert_eq!(rom.len(), ROM_SIZE, "{}", g.name);
            assert_eq!(&rom[0xF000..0xF004], &ROM_PATTERN, "{}", g.name);
            assert_eq!(rom[0xFFF0], 0xEA, "{}", g.name);
            assert_eq!(rom[0], 0xFA, "{} starts with cli", g.name);
        }
    }

    #[test]
    fn probe_results_are_found_by_name() {
        let console = "a: ok\r\nab: fault 0D err 0000\r\n";
        assert_eq!(probe_result(console, "a"), Some("ok"));
        assert_eq!(probe_result(console, "ab"), Some("fault 0D err 0000"));
        assert_eq!(probe_result(console, "b"), None);
    }
}
