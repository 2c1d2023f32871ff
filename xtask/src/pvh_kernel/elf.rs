//! The `vmlinux` side: the PVH entry note and the `PT_LOAD` segments of an
//! ELF64 x86-64 executable (System V ABI, gABI 4.1, chapters 4 "Program
//! Header" and 5 "Note Section"), read with `object`, which bounds-checks
//! each header, table and note against the image.

use super::{PvhKernel, Segment};
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, NoteIterator, ProgramHeader, SectionHeader};
use object::LittleEndian;

/// `XEN_ELFNOTE_PHYS32_ENTRY` (xen/include/public/elfnote.h): the
/// physical address of the 32-bit PVH entry; Linux puts it in a note of
/// owner "Xen" (arch/x86/platform/pvh/head.S), as an `_ASM_PTR`, 8 bytes
/// on x86-64.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// The PVH entry runs with paging off, so everything is below 4 GiB.
const FOUR_GIB: u64 = 1 << 32;

/// `e_ident`'s size and the places of its class and byte-order bytes.
const EI_NIDENT: usize = 16;
const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;

type Header = FileHeader64<LittleEndian>;

pub(super) fn is_elf(image: &[u8]) -> bool {
    image.starts_with(&elf::ELFMAG)
}

/// The entry and segments of an ELF `vmlinux`.
pub(super) fn read(image: &[u8]) -> Result<PvhKernel, String> {
    let header = header(image)?;
    let e = LittleEndian;
    let phdrs = header
        .program_headers(e, image)
        .map_err(|err| format!("ELF program header table: {err}"))?;

    let mut entry = None;
    for phdr in phdrs {
        if let Some(notes) = phdr
            .notes(e, image)
            .map_err(|err| format!("ELF PT_NOTE segment: {err}"))?
        {
            entry = entry_note(notes, "PT_NOTE segment")?;
            if entry.is_some() {
                break;
            }
        }
    }
    // A linker script may leave the note out of every PT_NOTE; the section
    // is then still there unless the file was stripped of its sections.
    if entry.is_none() {
        // The headers alone: the note needs no section name, so a missing
        // or bad `.shstrtab` does not matter here.
        let sections = header
            .section_headers(e, image)
            .map_err(|err| format!("ELF section header table: {err}"))?;
        for section in sections {
            if let Some(notes) = section
                .notes(e, image)
                .map_err(|err| format!("ELF SHT_NOTE section: {err}"))?
            {
                entry = entry_note(notes, "SHT_NOTE section")?;
                if entry.is_some() {
                    break;
                }
            }
        }
    }
    let entry = entry
        .ok_or("no XEN_ELFNOTE_PHYS32_ENTRY note: this kernel cannot boot as PVH (CONFIG_PVH)")?;

    let segments = segments(image, phdrs)?;
    // Execution starts at `entry`, so it must be code from the file, not
    // the zero-filled tail of a segment.
    if !segments
        .iter()
        .any(|s| u64::from(entry) >= s.paddr && u64::from(entry) - s.paddr < s.data.len() as u64)
    {
        return Err(format!(
            "the XEN_ELFNOTE_PHYS32_ENTRY entry {entry:#x} is not inside any PT_LOAD segment's file data"
        ));
    }
    Ok(PvhKernel { entry, segments })
}

/// The file header, refused unless it is ELF64, little-endian, x86-64 and
/// an executable.
fn header(image: &[u8]) -> Result<&Header, String> {
    let ident = image
        .get(..EI_NIDENT)
        .ok_or("ELF file truncated in its ident bytes")?;
    let class = ident[EI_CLASS];
    if class != elf::ELFCLASS64.0 {
        let which = if class == elf::ELFCLASS32.0 {
            "ELF32"
        } else {
            "unknown class"
        };
        return Err(format!(
            "ELF class {class} ({which}): expected an ELF64 x86-64 vmlinux"
        ));
    }
    if ident[EI_DATA] != elf::ELFDATA2LSB.0 {
        return Err("big-endian ELF: expected an ELF64 x86-64 vmlinux".into());
    }
    let header = Header::parse(image).map_err(|err| format!("ELF header: {err}"))?;
    let e = LittleEndian;
    let machine = header.e_machine(e);
    if machine != elf::EM_X86_64 {
        return Err(format!(
            "ELF for machine {}: expected x86-64 ({})",
            machine.0,
            elf::EM_X86_64.0
        ));
    }
    let kind = header.e_type(e);
    if kind != elf::ET_EXEC && kind != elf::ET_DYN {
        return Err(format!(
            "ELF type {} is not an executable (ET_EXEC or ET_DYN)",
            kind.0
        ));
    }
    Ok(header)
}

/// The value of the first `XEN_ELFNOTE_PHYS32_ENTRY` note among `notes`.
fn entry_note(mut notes: NoteIterator<'_, Header>, container: &str) -> Result<Option<u32>, String> {
    while let Some(note) = notes
        .next()
        .map_err(|err| format!("ELF note in a {container}: {err}"))?
    {
        if note.name() != b"Xen" || note.n_type(LittleEndian).0 != XEN_ELFNOTE_PHYS32_ENTRY {
            continue;
        }
        let value = match *note.desc() {
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            ref other => {
                return Err(format!(
                    "the XEN_ELFNOTE_PHYS32_ENTRY note's descriptor is {} bytes, expected 4 or 8",
                    other.len()
                ))
            }
        };
        let entry = u32::try_from(value).map_err(|_| {
            format!("the XEN_ELFNOTE_PHYS32_ENTRY entry {value:#x} is not below 4 GiB")
        })?;
        return Ok(Some(entry));
    }
    Ok(None)
}

/// The `PT_LOAD` segments, checked and sorted by address. Empty ones
/// (`p_memsz` 0) load nothing and are left out. Everything is checked
/// before any byte is copied, and the file bytes of all segments together
/// may not exceed the file (a linker never makes segments share bytes), so
/// a hostile table cannot multiply the image into a huge allocation.
fn segments(
    image: &[u8],
    phdrs: &[<Header as FileHeader>::ProgramHeader],
) -> Result<Vec<Segment>, String> {
    let e = LittleEndian;
    // (paddr, p_memsz, the file bytes).
    let mut loads: Vec<(u64, u64, &[u8])> = Vec::new();
    let mut file_total = 0usize;
    for (index, phdr) in phdrs.iter().enumerate() {
        if phdr.p_type(e) != elf::PT_LOAD {
            continue;
        }
        let (paddr, offset) = (phdr.p_paddr(e), phdr.p_offset(e));
        let (file_size, mem_size) = (phdr.p_filesz(e), phdr.p_memsz(e));
        let what = format!("PT_LOAD segment {index} (paddr {paddr:#x})");
        if file_size > mem_size {
            return Err(format!(
                "{what}: p_filesz {file_size:#x} is larger than p_memsz {mem_size:#x}"
            ));
        }
        if mem_size == 0 {
            continue;
        }
        match paddr.checked_add(mem_size) {
            Some(end) if end <= FOUR_GIB => {}
            _ => {
                return Err(format!(
                    "{what}: p_memsz {mem_size:#x} reaches past 4 GiB, out of reach of the 32-bit PVH entry"
                ))
            }
        }
        let data = offset
            .checked_add(file_size)
            .and_then(|end| image.get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?))
            .ok_or_else(|| {
                format!(
                    "{what}: file bytes {offset:#x}+{file_size:#x} are not inside the {:#x}-byte file: truncated or corrupt",
                    image.len()
                )
            })?;
        // Each term is at most the image's length, so this cannot overflow
        // before the check fails.
        file_total += data.len();
        if file_total > image.len() {
            return Err(format!(
                "{what}: the PT_LOAD segments' file bytes add up to more than the {:#x}-byte file: corrupt",
                image.len()
            ));
        }
        loads.push((paddr, mem_size, data));
    }
    if loads.is_empty() {
        return Err("no PT_LOAD segment with contents: nothing to load".into());
    }
    loads.sort_by_key(|&(paddr, _, _)| paddr);
    for pair in loads.windows(2) {
        let ((a, a_size, _), (b, b_size, _)) = (pair[0], pair[1]);
        // Both ends are below 4 GiB, checked above.
        if a + a_size > b {
            return Err(format!(
                "PT_LOAD segments overlap: {a:#x}..{:#x} and {b:#x}..{:#x}",
                a + a_size,
                b + b_size
            ));
        }
    }
    Ok(loads
        .into_iter()
        .map(|(paddr, mem_size, data)| Segment {
            paddr,
            data: data.to_vec(),
            mem_size,
        })
        .collect())
}
