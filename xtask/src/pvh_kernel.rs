//! Reading a Linux kernel for a Xen PVH boot: the host-side first step of
//! starting Linux at its PVH entry instead of through firmware (the shared
//! Xen ABI notes, section 11 "PVH boot").
//!
//! The PVH entry point exists only as an ELF note of the uncompressed
//! `vmlinux`, so [`from_bytes`] takes either that ELF64 x86-64 file or a
//! bzImage (`vmlinuz`), whose compressed payload is the same `vmlinux`
//! (Linux x86 boot protocol, Documentation/arch/x86/boot.rst, fields
//! `payload_offset`/`payload_length`, protocol 2.08 and later). It returns
//! the entry from the note `"Xen"` of type `XEN_ELFNOTE_PHYS32_ENTRY` (18,
//! xen/include/public/elfnote.h) and the `PT_LOAD` segments at their
//! physical addresses (`p_paddr`). Linux 6.1's PVH entry is not
//! relocatable: its segments must be loaded exactly there (Debian's
//! `CONFIG_PHYSICAL_START` is 0x1000000); whether they fit the guest's RAM
//! is the hypervisor side's check, not this one's.
//!
//! The crates, all pure Rust so the runner needs no C library or tool:
//! - `object` (gimli-rs, the ELF reader under Rust's own backtraces) for
//!   the ELF header, program and section headers and notes: every read is
//!   bounds-checked and it borrows from the image instead of allocating by
//!   the header's counts;
//! - `lzma-rust2` for XZ, because the kernel compresses with the x86 BCJ
//!   filter before LZMA2 (scripts/xz_wrap.sh) and `lzma-rs` has no BCJ
//!   filter; it is a maintained port of XZ for Java, decodes in bounded
//!   memory (a dictionary limit) and has an encoder the tests use to make
//!   the kernel's exact filter chain;
//! - `flate2` on its default pure-Rust `miniz_oxide` backend for gzip: it
//!   parses the gzip header and checks the CRC-32 and size trailer, which
//!   raw `miniz_oxide` leaves to the caller.
//!
//! Bad input gives one line (no panic), and no size read from the image is
//! trusted for an allocation: decompression stops at [`MAX_DECOMPRESSED`].
//! The parts: `bzimage` (the setup header and the payload's decompression)
//! and `elf` (the note, the segments and their checks).

mod bzimage;
mod elf;

use std::path::Path;

/// The most a bzImage payload may decompress to: Debian 12's `vmlinux` is
/// some 66 MiB, so four times that leaves room for a large kernel while a
/// hostile payload cannot fill the host's memory.
pub const MAX_DECOMPRESSED: usize = 256 << 20;

/// A kernel ready to be placed in guest memory for a PVH start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvhKernel {
    /// The guest-physical address to start at in 32-bit protected mode, from
    /// the `XEN_ELFNOTE_PHYS32_ENTRY` note; it lies in a segment's file data.
    pub entry: u32,
    /// The `PT_LOAD` segments with a non-zero memory size, sorted by
    /// address, not overlapping, all below 4 GiB.
    pub segments: Vec<Segment>,
}

/// One `PT_LOAD` segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Where it goes in guest-physical memory (`p_paddr`).
    pub paddr: u64,
    /// Its bytes from the file (`p_filesz` of them).
    pub data: Vec<u8>,
    /// Its size in memory (`p_memsz`, at least `data.len()`): the rest after
    /// `data` is zero-filled (`.bss`).
    pub mem_size: u64,
}

/// Reads a `vmlinux` or bzImage file; errors are one line naming the file.
pub fn load(path: &Path) -> Result<PvhKernel, String> {
    let image = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    from_bytes(&image).map_err(|e| format!("{}: {e}", path.display()))
}

/// A quick look at `path` before any work: readable, and starting as an
/// ELF or a bzImage does (the whole check is [`load`]'s); errors are one
/// line naming the file.
pub fn sniff(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if elf::is_elf(&head) || bzimage::is_bzimage(&head) {
        Ok(())
    } else {
        Err(format!("{}: {}", path.display(), not_a_kernel()))
    }
}

fn not_a_kernel() -> String {
    format!(
        "neither an ELF vmlinux (no \\x7fELF at 0) nor a bzImage (no \"HdrS\" at {:#x})",
        bzimage::HEADER_MAGIC_AT
    )
}

/// Reads a `vmlinux` (ELF64 x86-64) or a bzImage from memory.
pub fn from_bytes(image: &[u8]) -> Result<PvhKernel, String> {
    if elf::is_elf(image) {
        elf::read(image)
    } else if bzimage::is_bzimage(image) {
        let vmlinux = bzimage::payload(image, MAX_DECOMPRESSED)?;
        if !elf::is_elf(&vmlinux) {
            return Err(
                "the bzImage payload decompressed to something that is not an ELF vmlinux".into(),
            );
        }
        elf::read(&vmlinux)
    } else {
        Err(not_a_kernel())
    }
}

#[cfg(test)]
mod tests;
