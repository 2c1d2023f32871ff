//! The bzImage side: finding the compressed `vmlinux` through the real-mode
//! setup header (Linux x86 boot protocol, Documentation/arch/x86/boot.rst,
//! "The Real-Mode Kernel Header") and decompressing it.

use std::io::Read;

/// Where the setup header's "HdrS" magic (`header`) is.
pub(super) const HEADER_MAGIC_AT: usize = 0x202;
/// `setup_sects`: the real-mode code's size in 512-byte sectors, the boot
/// sector not counted; 0 means 4 (boot.rst, "setup_sects").
const SETUP_SECTS_AT: usize = 0x1F1;
/// `version`: the boot protocol, major in the high byte.
const VERSION_AT: usize = 0x206;
/// `payload_offset` and `payload_length` (protocol 2.08): the compressed
/// kernel's place, relative to the start of the protected-mode code.
const PAYLOAD_OFFSET_AT: usize = 0x248;
const PAYLOAD_LENGTH_AT: usize = 0x24C;
/// The setup header up to and including `payload_length`.
const HEADER_END: usize = 0x250;
/// The first protocol with `payload_offset`/`payload_length`.
const PAYLOAD_PROTOCOL: u16 = 0x0208;

/// The kernel's compressors (arch/x86/boot/compressed/Makefile, the
/// `CONFIG_KERNEL_*` choice) by the magic their output starts with; only
/// XZ and gzip are decoded here (Debian's kernels use XZ).
const FORMATS: &[(&[u8], &str)] = &[
    (&[0xFD, b'7', b'z', b'X', b'Z', 0x00], "XZ"),
    (&[0x1F, 0x8B], "gzip"),
    (&[0x28, 0xB5, 0x2F, 0xFD], "zstd"),
    // `lz4 -l`, the legacy frame the kernel writes, then the current frame.
    (&[0x02, 0x21, 0x4C, 0x18], "LZ4"),
    (&[0x04, 0x22, 0x4D, 0x18], "LZ4"),
    (b"BZh", "bzip2"),
    (&[0x89, b'L', b'Z', b'O', 0x00], "LZO"),
    // `lzma -9`'s .lzma header: properties lc=3 lp=0 pb=2, then the
    // dictionary size, little-endian, below 4 GiB.
    (&[0x5D, 0x00, 0x00], "LZMA"),
];

/// True if `image` has the setup header's "HdrS" magic.
pub(super) fn is_bzimage(image: &[u8]) -> bool {
    image.get(HEADER_MAGIC_AT..HEADER_MAGIC_AT + 4) == Some(b"HdrS")
}

/// The bzImage's payload, decompressed (at most `cap` bytes of it).
pub(super) fn payload(image: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    if image.len() < HEADER_END {
        return Err(format!(
            "bzImage truncated: {} bytes, shorter than its setup header ({HEADER_END:#x} bytes)",
            image.len()
        ));
    }
    let version = u16::from_le_bytes([image[VERSION_AT], image[VERSION_AT + 1]]);
    if version < PAYLOAD_PROTOCOL {
        return Err(format!(
            "bzImage boot protocol {}.{:02} is older than 2.08, which added payload_offset: cannot find the compressed vmlinux",
            version >> 8,
            version & 0xFF
        ));
    }
    let setup_sects = match image[SETUP_SECTS_AT] {
        0 => 4,
        n => u64::from(n),
    };
    let protected_mode = (setup_sects + 1) * 512;
    let offset = u64::from(le32(image, PAYLOAD_OFFSET_AT));
    let length = u64::from(le32(image, PAYLOAD_LENGTH_AT));
    let start = protected_mode + offset;
    let end = start + length;
    let image_len = image.len() as u64;
    if length == 0 || end > image_len {
        return Err(format!(
            "bzImage payload at {start:#x}..{end:#x} (setup_sects {setup_sects}, payload_offset {offset:#x}, payload_length {length:#x}) is not inside the {image_len:#x}-byte file: truncated or corrupt"
        ));
    }
    // In range of a slice's length, so both fit usize.
    decompress(&image[start as usize..end as usize], cap)
}

/// Decompresses a payload by its magic. Bytes after the compressed stream
/// are ignored: the kernel's build appends the decompressed size as 4
/// little-endian bytes to every format (arch/x86/boot/compressed/mkpiggy.c
/// reads them back), and XZ may have stream padding before that.
pub(super) fn decompress(payload: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let name = FORMATS
        .iter()
        .find(|(magic, _)| payload.starts_with(magic))
        .map(|&(_, name)| name);
    match name {
        Some("XZ") => {
            // One stream only (`false`): whatever follows it is the size
            // trailer. The dictionary limit keeps a hostile header from
            // making the decoder allocate more than the output may be.
            let limit_kib = u32::try_from(cap / 1024 + 1024).unwrap_or(u32::MAX);
            let reader = lzma_rust2::XzReader::new_mem_limit(payload, false, limit_kib);
            read_capped(reader, cap).map_err(|e| match e {
                ReadError::Io(io) if io.kind() == std::io::ErrorKind::OutOfMemory => format!(
                    "the bzImage's XZ payload asks for a dictionary larger than the {} MiB it may decompress to: not a kernel",
                    cap >> 20
                ),
                e => e.describe("XZ", cap),
            })
        }
        Some("gzip") => read_capped(flate2::read::GzDecoder::new(payload), cap)
            .map_err(|e| e.describe("gzip", cap)),
        Some(other) => Err(format!(
            "the bzImage payload is {other}-compressed, which is not supported here (only XZ and gzip): rebuild the kernel with CONFIG_KERNEL_XZ or CONFIG_KERNEL_GZIP, or pass the uncompressed vmlinux"
        )),
        // A payload that is already an ELF has nothing to decompress.
        None if payload.starts_with(b"\x7fELF") => Ok(payload.to_vec()),
        None => Err(format!(
            "the bzImage payload starts with {:02x?}, no compression format the kernel uses",
            &payload[..payload.len().min(6)]
        )),
    }
}

/// Why a decompressor's output was not taken.
enum ReadError {
    Io(std::io::Error),
    TooLarge,
}

impl ReadError {
    fn describe(&self, format: &str, cap: usize) -> String {
        match self {
            ReadError::Io(e) => {
                format!("the bzImage's {format} payload is truncated or corrupt: {e}")
            }
            ReadError::TooLarge => format!(
                "the bzImage's {format} payload decompresses to more than {} MiB: not a kernel",
                cap >> 20
            ),
        }
    }
}

/// Reads a decompressor to its end, failing past `cap` bytes.
fn read_capped(reader: impl Read, cap: usize) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    reader
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(ReadError::Io)?;
    if out.len() > cap {
        return Err(ReadError::TooLarge);
    }
    Ok(out)
}

/// A little-endian u32 at `at`; the caller has checked the length.
fn le32(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([image[at], image[at + 1], image[at + 2], image[at + 3]])
}
