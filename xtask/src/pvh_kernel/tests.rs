use super::bzimage::decompress;
use super::{from_bytes, load, PvhKernel, Segment};
use std::io::Write;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const SHT_NOTE: u32 = 7;
const EM_X86_64: u16 = 62;
const EHDR: usize = 64;
const PHDR: usize = 56;
const SHDR: usize = 64;

/// Where the synthetic kernel's note goes.
#[derive(Clone, Copy, PartialEq)]
enum NoteIn {
    Segment,
    Section,
}

/// A synthetic `vmlinux`: its ELF header fields, `PT_LOAD` segments
/// `(paddr, bytes, p_memsz)` and notes.
struct Spec {
    class: u8,
    data: u8,
    machine: u16,
    loads: Vec<(u64, Vec<u8>, u64)>,
    notes: Vec<u8>,
    note_in: NoteIn,
}

const ENTRY: u64 = 0x100_0040;

impl Spec {
    /// Two segments at Debian's 16 MiB base, the second with a `.bss`
    /// tail, and the 8-byte entry note x86-64 Linux has.
    fn good() -> Spec {
        Spec {
            class: 2,
            data: 1,
            machine: EM_X86_64,
            loads: vec![
                (0x100_0000, vec![0x90; 0x200], 0x200),
                (0x120_0000, vec![0xAB; 0x100], 0x1000),
            ],
            notes: [
                note(b"GNU", 3, &[1, 2, 3, 4]),
                note(b"Xen", 18, &ENTRY.to_le_bytes()),
            ]
            .concat(),
            note_in: NoteIn::Segment,
        }
    }

    fn with_notes(mut self, notes: Vec<u8>) -> Spec {
        self.notes = notes;
        self
    }

    /// The ELF image: header, program headers (the `PT_NOTE` first), notes,
    /// segment bytes, then a section header table (null and `SHT_NOTE`).
    fn build(&self) -> Vec<u8> {
        let note_phdr = usize::from(self.note_in == NoteIn::Segment);
        let phnum = note_phdr + self.loads.len();
        let notes_at = EHDR + phnum * PHDR;
        let mut data_at = notes_at + self.notes.len();
        let mut image = vec![0u8; data_at];
        image[..4].copy_from_slice(b"\x7fELF");
        image[4] = self.class;
        image[5] = self.data;
        image[6] = 1; // EV_CURRENT
        put16(&mut image, 16, 2); // ET_EXEC
        put16(&mut image, 18, self.machine);
        put32(&mut image, 20, 1);
        put64(&mut image, 24, 0xffff_ffff_8100_0000); // e_entry: virtual, unused
        put64(&mut image, 32, EHDR as u64);
        put16(&mut image, 52, EHDR as u16);
        put16(&mut image, 54, PHDR as u16);
        put16(&mut image, 56, phnum as u16);
        image[notes_at..].copy_from_slice(&self.notes);
        if note_phdr == 1 {
            phdr(&mut image, 0, PT_NOTE, notes_at, self.notes.len(), 0, 0);
        }
        for (i, (paddr, bytes, mem_size)) in self.loads.iter().enumerate() {
            phdr(
                &mut image,
                note_phdr + i,
                PT_LOAD,
                data_at,
                bytes.len(),
                *paddr,
                *mem_size,
            );
            image.extend_from_slice(bytes);
            data_at += bytes.len();
        }
        // The section headers: the null one and the notes.
        let shoff = image.len();
        put64(&mut image, 40, shoff as u64);
        put16(&mut image, 58, SHDR as u16);
        put16(&mut image, 60, 2);
        image.resize(shoff + 2 * SHDR, 0);
        let sh = shoff + SHDR;
        put32(&mut image, sh + 4, SHT_NOTE);
        put64(&mut image, sh + 24, notes_at as u64);
        put64(&mut image, sh + 32, self.notes.len() as u64);
        put64(&mut image, sh + 48, 4);
        image
    }
}

/// One ELF note: owner `name` (NUL-terminated), type, descriptor, each
/// padded to 4 bytes (gABI "Note Section").
fn note(name: &[u8], n_type: u32, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
    n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    n.extend_from_slice(&n_type.to_le_bytes());
    n.extend_from_slice(name);
    n.push(0);
    n.resize(n.len().next_multiple_of(4), 0);
    n.extend_from_slice(desc);
    n.resize(n.len().next_multiple_of(4), 0);
    n
}

/// Program header `index` (ELF64: type, flags, offset, vaddr, paddr,
/// filesz, memsz, align).
fn phdr(
    image: &mut [u8],
    index: usize,
    p_type: u32,
    offset: usize,
    file_size: usize,
    paddr: u64,
    mem_size: u64,
) {
    let at = EHDR + index * PHDR;
    put32(image, at, p_type);
    put64(image, at + 8, offset as u64);
    put64(image, at + 16, paddr.wrapping_add(0xffff_ffff_8000_0000));
    put64(image, at + 24, paddr);
    put64(image, at + 32, file_size as u64);
    put64(image, at + 40, mem_size);
    put64(image, at + 48, 4);
}

/// Offsets of a `PT_LOAD`'s fields, counted after the `PT_NOTE`.
fn load_field(load: usize, field: usize) -> usize {
    EHDR + (1 + load) * PHDR + field
}
const P_OFFSET: usize = 8;
const P_PADDR: usize = 24;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn err(image: &[u8]) -> String {
    let e = from_bytes(image).expect_err("accepted bad input");
    assert!(!e.contains('\n'), "not one line: {e}");
    e
}

fn expected_good() -> PvhKernel {
    PvhKernel {
        entry: ENTRY as u32,
        segments: vec![
            Segment {
                paddr: 0x100_0000,
                data: vec![0x90; 0x200],
                mem_size: 0x200,
            },
            Segment {
                paddr: 0x120_0000,
                data: vec![0xAB; 0x100],
                mem_size: 0x1000,
            },
        ],
    }
}

#[test]
fn eight_byte_note_gives_entry_and_segments() {
    assert_eq!(from_bytes(&Spec::good().build()).unwrap(), expected_good());
}

#[test]
fn four_byte_note_gives_the_same() {
    let spec = Spec::good().with_notes(note(b"Xen", 18, &(ENTRY as u32).to_le_bytes()));
    assert_eq!(from_bytes(&spec.build()).unwrap(), expected_good());
}

#[test]
fn note_in_a_section_only_is_found() {
    let mut spec = Spec::good();
    spec.note_in = NoteIn::Section;
    assert_eq!(from_bytes(&spec.build()).unwrap(), expected_good());
}

#[test]
fn segments_come_sorted_by_address() {
    let mut spec = Spec::good();
    spec.loads.reverse();
    assert_eq!(from_bytes(&spec.build()).unwrap(), expected_good());
}

#[test]
fn neither_elf_nor_bzimage_is_refused() {
    let e = err(&[0u8; 4096]);
    assert!(e.starts_with("neither an ELF vmlinux"), "{e}");
    let e = err(b"");
    assert!(e.starts_with("neither an ELF vmlinux"), "{e}");
}

#[test]
fn missing_note_is_named_with_config_pvh() {
    // Other notes, and type 18 from another owner, are not the entry.
    let spec = Spec::good().with_notes(
        [
            note(b"GNU", 3, &[0; 20]),
            note(b"Linux", 18, &ENTRY.to_le_bytes()),
            note(b"Xen", 17, &ENTRY.to_le_bytes()),
        ]
        .concat(),
    );
    assert_eq!(
        err(&spec.build()),
        "no XEN_ELFNOTE_PHYS32_ENTRY note: this kernel cannot boot as PVH (CONFIG_PVH)"
    );
}

#[test]
fn note_descriptor_of_other_size_or_above_4_gib_is_refused() {
    let spec = Spec::good().with_notes(note(b"Xen", 18, &[0x40, 0, 0]));
    assert!(err(&spec.build()).contains("descriptor is 3 bytes, expected 4 or 8"));
    let spec = Spec::good().with_notes(note(b"Xen", 18, &(1u64 << 32 | ENTRY).to_le_bytes()));
    assert!(err(&spec.build()).contains("not below 4 GiB"));
}

#[test]
fn truncated_note_is_refused() {
    let mut notes = note(b"Xen", 18, &ENTRY.to_le_bytes());
    put32(&mut notes, 4, 0x1000); // descsz past the segment's end
    let e = err(&Spec::good().with_notes(notes).build());
    assert!(e.starts_with("ELF note in a PT_NOTE segment"), "{e}");
}

#[test]
fn entry_outside_the_segments_file_data_is_refused() {
    for entry in [0x10_0000u64, 0x120_0100, 0x130_0000] {
        let spec = Spec::good().with_notes(note(b"Xen", 18, &entry.to_le_bytes()));
        let e = err(&spec.build());
        assert!(e.contains("is not inside any PT_LOAD segment"), "{e}");
    }
}

#[test]
fn other_class_byte_order_or_machine_is_refused() {
    let mut spec = Spec::good();
    spec.class = 1;
    assert!(err(&spec.build()).contains("ELF32"));
    let mut spec = Spec::good();
    spec.data = 2;
    assert!(err(&spec.build()).starts_with("big-endian ELF"));
    let mut spec = Spec::good();
    spec.machine = 183; // EM_AARCH64
    let e = err(&spec.build());
    assert!(e.starts_with("ELF for machine 183"), "{e}");
}

#[test]
fn truncated_elf_is_refused() {
    let image = Spec::good().build();
    for len in [10, 40, EHDR + PHDR + 3] {
        err(&image[..len]);
    }
    // Cut inside the second segment's bytes.
    let e = err(&image[..image.len() - 2 * SHDR - 0x10]);
    assert!(e.contains("not inside the"), "{e}");
}

#[test]
fn bad_segments_are_refused() {
    let patch = |load: usize, field: usize, value: u64| {
        let mut image = Spec::good().build();
        put64(&mut image, load_field(load, field), value);
        err(&image)
    };
    let e = patch(1, P_FILESZ, 0x2000);
    assert!(
        e.contains("p_filesz 0x2000 is larger than p_memsz 0x1000"),
        "{e}"
    );
    let e = patch(1, P_OFFSET, u64::MAX - 0x10);
    assert!(e.contains("not inside the"), "{e}");
    let e = patch(1, P_OFFSET, 0x10_0000);
    assert!(e.contains("not inside the"), "{e}");
    let e = patch(1, P_MEMSZ, u64::MAX);
    assert!(e.contains("past 4 GiB"), "{e}");
    let e = patch(1, P_PADDR, 0xFFFF_F800);
    assert!(e.contains("past 4 GiB"), "{e}");
    let e = patch(1, P_PADDR, 0x100_0100);
    assert!(e.starts_with("PT_LOAD segments overlap"), "{e}");
    let e = patch(0, P_PADDR, 0x120_0800);
    assert!(e.starts_with("PT_LOAD segments overlap"), "{e}");
}

#[test]
fn segments_sharing_file_bytes_beyond_the_file_size_are_refused() {
    // The second segment re-reads the whole file at another address.
    let mut image = Spec::good().build();
    let len = image.len() as u64;
    put64(&mut image, load_field(1, P_OFFSET), 0);
    put64(&mut image, load_field(1, P_FILESZ), len);
    put64(&mut image, load_field(1, P_MEMSZ), len);
    let e = err(&image);
    assert!(e.contains("file bytes add up to more than"), "{e}");
}

#[test]
fn no_load_segment_is_refused() {
    let mut spec = Spec::good();
    spec.loads.clear();
    assert!(err(&spec.build()).starts_with("no PT_LOAD segment"));
}

#[test]
fn program_header_table_out_of_the_file_is_refused() {
    let mut image = Spec::good().build();
    put16(&mut image, 56, 0x7FFF); // e_phnum
    assert!(err(&image).starts_with("ELF program header table"));
}

// The bzImage side.

/// A bzImage around `payload` as the kernel's build makes it: the setup
/// header's fields (boot.rst), the payload `payload_offset` bytes into the
/// protected-mode code, followed by the decompressed size (mkpiggy).
fn bzimage(payload: &[u8], size: usize, setup_sects: u8, version: u16) -> Vec<u8> {
    let real_mode = (usize::from(if setup_sects == 0 { 4 } else { setup_sects }) + 1) * 512;
    let payload_offset = 0x2CC;
    let mut image = vec![0u8; real_mode + payload_offset];
    image[0x1F1] = setup_sects;
    image[0x1FE..0x200].copy_from_slice(&[0x55, 0xAA]);
    image[0x202..0x206].copy_from_slice(b"HdrS");
    put16(&mut image, 0x206, version);
    put32(&mut image, 0x248, payload_offset as u32);
    put32(&mut image, 0x24C, payload.len() as u32 + 4);
    image.extend_from_slice(payload);
    image.extend_from_slice(&(size as u32).to_le_bytes());
    image.extend_from_slice(&[0xCC; 0x40]); // the rest of the decompressor
    image
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// XZ as scripts/xz_wrap.sh makes it for x86: the x86 BCJ filter, LZMA2,
/// CRC32 check.
fn xz(data: &[u8]) -> Vec<u8> {
    xz_preset(data, 6)
}

fn xz_preset(data: &[u8], preset: u32) -> Vec<u8> {
    let mut options = lzma_rust2::XzOptions::with_preset(preset);
    options.set_check_sum_type(lzma_rust2::CheckType::Crc32);
    options.prepend_pre_filter(lzma_rust2::FilterType::BcjX86, 0);
    let mut writer = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    writer.write_all(data).unwrap();
    writer.finish().unwrap()
}

/// A synthetic kernel with x86 code (calls) in it, for the BCJ filter.
fn vmlinux_with_calls() -> (Vec<u8>, PvhKernel) {
    let mut spec = Spec::good();
    let code: Vec<u8> = (0..0x200u32)
        .flat_map(|i| [0xE8, i as u8, (i >> 8) as u8, 0, 0, 0x90, 0x90, 0x90])
        .collect();
    spec.loads[0] = (0x100_0000, code.clone(), code.len() as u64);
    let image = spec.build();
    let mut expected = expected_good();
    expected.segments[0].data = code.clone();
    expected.segments[0].mem_size = code.len() as u64;
    (image, expected)
}

#[test]
fn gzip_bzimage_gives_the_vmlinux() {
    let (vmlinux, expected) = vmlinux_with_calls();
    let image = bzimage(&gzip(&vmlinux), vmlinux.len(), 0x1B, 0x020F);
    assert_eq!(from_bytes(&image).unwrap(), expected);
}

#[test]
fn xz_bzimage_with_bcj_padding_and_trailer_gives_the_vmlinux() {
    let (vmlinux, expected) = vmlinux_with_calls();
    let image = bzimage(&xz(&vmlinux), vmlinux.len(), 39, 0x020F);
    assert_eq!(from_bytes(&image).unwrap(), expected);
    // XZ stream padding (zero bytes in fours) before the size trailer.
    let mut padded = xz(&vmlinux);
    padded.extend_from_slice(&[0; 8]);
    let image = bzimage(&padded, vmlinux.len(), 0, 0x0208);
    assert_eq!(from_bytes(&image).unwrap(), expected);
}

#[test]
fn old_boot_protocol_is_refused() {
    let (vmlinux, _) = vmlinux_with_calls();
    let e = err(&bzimage(&gzip(&vmlinux), vmlinux.len(), 4, 0x0207));
    assert!(
        e.starts_with("bzImage boot protocol 2.07 is older than 2.08"),
        "{e}"
    );
}

#[test]
fn payload_outside_the_file_is_refused() {
    let (vmlinux, _) = vmlinux_with_calls();
    let mut image = bzimage(&gzip(&vmlinux), vmlinux.len(), 4, 0x020F);
    put32(&mut image, 0x24C, 0xFFFF_FFFF);
    assert!(err(&image).contains("is not inside the"));
    assert!(err(&image[..0x240]).starts_with("bzImage truncated"));
}

#[test]
fn truncated_or_corrupt_payloads_are_refused() {
    let (vmlinux, _) = vmlinux_with_calls();
    for (name, packed) in [("gzip", gzip(&vmlinux)), ("XZ", xz(&vmlinux))] {
        // Truncated: the header's length cut short, then a flipped byte.
        let short = bzimage(&packed[..packed.len() / 2], vmlinux.len(), 4, 0x020F);
        let e = err(&short);
        assert!(
            e.contains(&format!("{name} payload is truncated or corrupt")),
            "{e}"
        );
        let mut bad = packed.clone();
        let middle = bad.len() / 2;
        bad[middle] ^= 0x55;
        let e = err(&bzimage(&bad, vmlinux.len(), 4, 0x020F));
        assert!(
            e.contains(&format!("{name} payload is truncated or corrupt")),
            "{e}"
        );
    }
}

#[test]
fn other_compressors_are_named_as_not_supported() {
    let cases: [(&[u8], &str); 6] = [
        (&[0x28, 0xB5, 0x2F, 0xFD, 0, 0], "zstd"),
        (&[0x02, 0x21, 0x4C, 0x18, 0, 0], "LZ4"),
        (&[0x5D, 0, 0, 0x80, 0, 0], "LZMA"),
        (b"BZh91AY&SY", "bzip2"),
        (&[0x89, b'L', b'Z', b'O', 0, 0x0D, 0x0A, 0x1A, 0x0A], "LZO"),
        (&[0x04, 0x22, 0x4D, 0x18, 0, 0], "LZ4"),
    ];
    for (payload, name) in cases {
        let e = err(&bzimage(payload, 0x1000, 4, 0x020F));
        assert!(
            e.starts_with(&format!(
                "the bzImage payload is {name}-compressed, which is not supported"
            )),
            "{e}"
        );
    }
    let e = err(&bzimage(&[1, 2, 3, 4], 0x1000, 4, 0x020F));
    assert!(e.contains("no compression format the kernel uses"), "{e}");
}

#[test]
fn payload_that_is_not_elf_is_refused() {
    let text = b"not a kernel at all".repeat(10);
    let e = err(&bzimage(&gzip(&text), text.len(), 4, 0x020F));
    assert!(e.contains("not an ELF vmlinux"), "{e}");
}

#[test]
fn decompression_stops_at_the_cap() {
    let zeros = vec![0u8; 3 << 20];
    // Preset 0 has a 256 KiB dictionary, within the limit.
    for packed in [gzip(&zeros), xz_preset(&zeros, 0)] {
        let e = decompress(&packed, 1 << 20).unwrap_err();
        assert!(e.contains("decompresses to more than 1 MiB"), "{e}");
        assert_eq!(decompress(&packed, 3 << 20).unwrap().len(), 3 << 20);
    }
}

#[test]
fn xz_dictionary_beyond_the_cap_is_refused_before_allocating() {
    // Preset 6 has an 8 MiB dictionary.
    let e = decompress(&xz_preset(&[0; 4096], 6), 1 << 20).unwrap_err();
    assert!(
        e.contains("asks for a dictionary larger than the 1 MiB"),
        "{e}"
    );
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("pvh-kernel-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing");
    let e = load(&missing).unwrap_err();
    assert!(
        e.starts_with(&format!("{}: cannot read", missing.display())),
        "{e}"
    );
    let bad = dir.join("bad");
    std::fs::write(&bad, Spec::good().with_notes(Vec::new()).build()).unwrap();
    assert_eq!(
        load(&bad).unwrap_err(),
        format!(
            "{}: no XEN_ELFNOTE_PHYS32_ENTRY note: this kernel cannot boot as PVH (CONFIG_PVH)",
            bad.display()
        )
    );
    let good = dir.join("good");
    std::fs::write(&good, Spec::good().build()).unwrap();
    assert_eq!(load(&good).unwrap(), expected_good());
    let _ = std::fs::remove_dir_all(&dir);
}

// Debian's real kernel.

/// A file of an ISO 9660 image by its path of primary-volume names (ISO
/// 9660 / ECMA-119: the primary volume descriptor in sector 16, the root
/// directory record at byte 156 of it; a record's extent at 2, size at 10,
/// flags at 25, name length at 32, name at 33; records never cross a
/// sector, a zero length byte means the rest of the sector is empty).
/// Names compare without the ";1" version and a trailing dot.
fn iso_file(iso: &[u8], path: &[&str]) -> Option<Vec<u8>> {
    const SECTOR: usize = 2048;
    let le32 = |b: &[u8], at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let pvd = iso.get(16 * SECTOR..17 * SECTOR)?;
    if pvd.get(..6)? != b"\x01CD001" {
        return None;
    }
    let (mut extent, mut size) = (le32(pvd, 156 + 2)?, le32(pvd, 156 + 10)?);
    for want in path {
        let dir = iso.get(extent * SECTOR..extent * SECTOR + size)?;
        let mut at = 0;
        let mut found = None;
        while at < dir.len() {
            let len = usize::from(dir[at]);
            if len == 0 {
                at = (at / SECTOR + 1) * SECTOR;
                continue;
            }
            let record = dir.get(at..at + len)?;
            let name_len = usize::from(*record.get(32)?);
            let name = String::from_utf8_lossy(record.get(33..33 + name_len)?);
            let name = name.split(';').next().unwrap_or("").trim_end_matches('.');
            if name.eq_ignore_ascii_case(want) {
                found = Some((le32(record, 2)?, le32(record, 10)?));
                break;
            }
            at += len;
        }
        (extent, size) = found?;
    }
    iso.get(extent * SECTOR..extent * SECTOR + size)
        .map(<[u8]>::to_vec)
}

#[test]
fn debian_vmlinuz_boots_at_its_linked_16_mib() {
    let iso_path = crate::linux_iso::iso_path();
    let Ok(iso) = std::fs::read(&iso_path) else {
        eprintln!(
            "skipped: {} is not built (`cargo xtask make-linux-iso` or `cargo xtask test` builds it)",
            iso_path.display()
        );
        return;
    };
    let Some(vmlinuz) = iso_file(&iso, &["boot", "vmlinuz"]) else {
        panic!("{} has no /boot/vmlinuz", iso_path.display());
    };
    let kernel = from_bytes(&vmlinuz).unwrap_or_else(|e| panic!("Debian's vmlinuz: {e}"));
    eprintln!("Debian's vmlinuz: entry {:#x}", kernel.entry);
    for s in &kernel.segments {
        eprintln!(
            "  PT_LOAD paddr {:#x} file {:#x} mem {:#x}",
            s.paddr,
            s.data.len(),
            s.mem_size
        );
    }
    assert!(
        (0x100_0000..0x400_0000).contains(&kernel.entry),
        "{:#x}",
        kernel.entry
    );
    assert_eq!(kernel.segments[0].paddr, 0x100_0000);
}
