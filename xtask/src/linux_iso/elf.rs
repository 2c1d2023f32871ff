//! Reading ELF-64 files by their section headers: a section's bytes by name
//! (a kernel module's `.modinfo`), and what a program or shared library
//! needs from the dynamic loader (its `.interp` and the `DT_NEEDED` entries
//! of its `.dynamic` section).
//!
//! Formats followed: the ELF-64 header and section header table (System V
//! ABI, generic "gABI" 4.1, chapter 4 "ELF Header" and "Sections"), and the
//! dynamic section (gABI 4.1, chapter 5 "Dynamic Section": `Elf64_Dyn` is a
//! 64-bit `d_tag` and a 64-bit `d_val`; `DT_NULL` 0 ends the array,
//! `DT_NEEDED` 1 is an offset into the dynamic string table).

// ELF-64 header and section header fields used here, as byte offsets.
const EI_CLASS: usize = 4;
const ELFCLASS64: u8 = 2;
const EI_DATA: usize = 5;
const ELFDATA2LSB: u8 = 1;
const E_SHOFF: usize = 0x28;
const E_SHENTSIZE: usize = 0x3A;
const E_SHNUM: usize = 0x3C;
const E_SHSTRNDX: usize = 0x3E;
const SH_NAME: usize = 0x00;
const SH_OFFSET: usize = 0x18;
const SH_SIZE: usize = 0x20;
const SHDR_SIZE: usize = 0x40;
/// `Elf64_Dyn`: `d_tag` then `d_val`, 8 bytes each.
const DYN_SIZE: usize = 16;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

fn le(bytes: &[u8], at: usize, len: usize) -> Result<u64, String> {
    let b = bytes
        .get(at..at + len)
        .ok_or_else(|| format!("ELF field at {at:#x} lies past the end of the file"))?;
    Ok(b.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x)))
}

/// True for a little-endian ELF-64 file (the only kind read here).
pub(super) fn is_elf64(bytes: &[u8]) -> bool {
    bytes.get(..4) == Some(b"\x7fELF".as_slice())
        && bytes.get(EI_CLASS) == Some(&ELFCLASS64)
        && bytes.get(EI_DATA) == Some(&ELFDATA2LSB)
}

/// The bytes of the section called `name`, None if there is none.
fn find_section<'a>(elf: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, String> {
    if !is_elf64(elf) {
        return Err("not a little-endian ELF-64 file".into());
    }
    let shoff = le(elf, E_SHOFF, 8)? as usize;
    let entsize = le(elf, E_SHENTSIZE, 2)? as usize;
    let count = le(elf, E_SHNUM, 2)? as usize;
    let strndx = le(elf, E_SHSTRNDX, 2)? as usize;
    if entsize < SHDR_SIZE {
        return Err(format!("section headers of {entsize} bytes"));
    }
    let bytes_of = |index: usize| -> Result<&'a [u8], String> {
        let header = shoff + index * entsize;
        let offset = le(elf, header + SH_OFFSET, 8)? as usize;
        let size = le(elf, header + SH_SIZE, 8)? as usize;
        elf.get(offset..offset.saturating_add(size))
            .ok_or_else(|| format!("section {index} lies past the end of the file"))
    };
    let names = bytes_of(strndx)?;
    for index in 0..count {
        let at = le(elf, shoff + index * entsize + SH_NAME, 4)? as usize;
        if c_string(names, at) == name.as_bytes() {
            return bytes_of(index).map(Some);
        }
    }
    Ok(None)
}

/// The bytes of the section called `name`.
pub(super) fn section<'a>(elf: &'a [u8], name: &str) -> Result<&'a [u8], String> {
    find_section(elf, name)?.ok_or_else(|| format!("no {name} section"))
}

/// The NUL-terminated string at `at` in a string table (empty if out of range).
fn c_string(table: &[u8], at: usize) -> &[u8] {
    let rest = table.get(at..).unwrap_or_default();
    rest.split(|&b| b == 0).next().unwrap_or_default()
}

/// The program interpreter a dynamically linked program asks for (its
/// `.interp`, e.g. `/lib64/ld-linux-x86-64.so.2`); None for a static program
/// or a shared library.
pub(super) fn interpreter(elf: &[u8]) -> Result<Option<String>, String> {
    Ok(find_section(elf, ".interp")?.map(|b| String::from_utf8_lossy(c_string(b, 0)).into_owned()))
}

/// The shared libraries the file names in `DT_NEEDED` entries, in order
/// (empty for a statically linked file).
pub(super) fn needed_libraries(elf: &[u8]) -> Result<Vec<String>, String> {
    let Some(dynamic) = find_section(elf, ".dynamic")? else {
        return Ok(Vec::new());
    };
    let strings = section(elf, ".dynstr")?;
    let mut needed = Vec::new();
    for entry in dynamic.chunks_exact(DYN_SIZE) {
        let tag = le(entry, 0, 8)?;
        let value = le(entry, 8, 8)? as usize;
        match tag {
            DT_NULL => break,
            DT_NEEDED => {
                let name = c_string(strings, value);
                if name.is_empty() {
                    return Err(format!("DT_NEEDED names no string (offset {value})"));
                }
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
            _ => {}
        }
    }
    Ok(needed)
}
