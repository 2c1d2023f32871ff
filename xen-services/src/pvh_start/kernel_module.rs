//! The PVH kernel as the runner hands it to the hypervisor: a boot module
//! holding the entry point and the `PT_LOAD` segments the runner read from
//! the kernel's ELF (`xtask`'s `pvh_kernel`), so the hypervisor needs no
//! ELF reader or decompressor of its own.
//!
//! Layout, all little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | [`MAGIC`] |
//! | 8 | 4 | entry (guest-physical, 32-bit) |
//! | 12 | 4 | segment count, at most [`MAX_SEGMENTS`] |
//! | 16 | 24 × count | per segment: `paddr` u64, `mem_size` u64, `file_len` u64 |
//! | then | | the segments' file bytes, one after the other |
//!
//! The module comes from the user's runner, not from the guest, but it is
//! still checked as if hostile: counts, lengths and sums are checked before
//! anything is sliced, so a damaged module is an error, never a panic.

use super::put;
use crate::hvm::guest::{u32_at, u64_at};
use alloc::vec::Vec;

/// The module's first bytes.
pub const MAGIC: [u8; 8] = *b"PVHKERN1";
/// More segments than any kernel has (Linux 6.1 has five).
pub const MAX_SEGMENTS: usize = 32;
const HEADER_LEN: usize = 16;
const SEGMENT_ENTRY_LEN: usize = 24;

/// One segment to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelSegment<'a> {
    /// Where it goes in guest-physical memory.
    pub paddr: u64,
    /// Its size in memory: the bytes after `data` are zero (`.bss`).
    pub mem_size: u64,
    /// Its bytes from the file.
    pub data: &'a [u8],
}

/// A decoded module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelModule<'a> {
    /// The 32-bit protected-mode entry (`XEN_ELFNOTE_PHYS32_ENTRY`).
    pub entry: u32,
    pub segments: Vec<KernelSegment<'a>>,
}

/// Why a module cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleError {
    /// It does not start with [`MAGIC`].
    NotAKernelModule,
    /// No segments, or more than [`MAX_SEGMENTS`].
    SegmentCount(u32),
    /// A segment's file bytes are more than its memory size.
    FileLongerThanMemory { index: usize },
    /// The header or the data end before the lengths say.
    Truncated,
}

impl core::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ModuleError::NotAKernelModule => {
                write!(f, "the PVH kernel module is not one the runner wrote")
            }
            ModuleError::SegmentCount(n) => write!(
                f,
                "the PVH kernel module has {n} segments (1..={MAX_SEGMENTS} expected)"
            ),
            ModuleError::FileLongerThanMemory { index } => write!(
                f,
                "segment {index} of the PVH kernel has more file bytes than memory"
            ),
            ModuleError::Truncated => write!(f, "the PVH kernel module is truncated"),
        }
    }
}

/// The module's bytes for `entry` and `segments`.
pub fn encode(entry: u32, segments: &[KernelSegment<'_>]) -> Vec<u8> {
    let table = HEADER_LEN + SEGMENT_ENTRY_LEN * segments.len();
    let data: usize = segments.iter().map(|s| s.data.len()).sum();
    let mut out = alloc::vec![0u8; table + data];
    put(&mut out, 0, &MAGIC);
    put(&mut out, 8, &entry.to_le_bytes());
    put(&mut out, 12, &(segments.len() as u32).to_le_bytes());
    let mut at = table;
    for (i, s) in segments.iter().enumerate() {
        let e = HEADER_LEN + SEGMENT_ENTRY_LEN * i;
        put(&mut out, e, &s.paddr.to_le_bytes());
        put(&mut out, e + 8, &s.mem_size.to_le_bytes());
        put(&mut out, e + 16, &(s.data.len() as u64).to_le_bytes());
        put(&mut out, at, s.data);
        at += s.data.len();
    }
    out
}

/// Reads a module written by [`encode`].
pub fn decode(module: &[u8]) -> Result<KernelModule<'_>, ModuleError> {
    if module.len() < HEADER_LEN {
        return Err(if module.starts_with(&MAGIC) {
            ModuleError::Truncated
        } else {
            ModuleError::NotAKernelModule
        });
    }
    if module[..8] != MAGIC {
        return Err(ModuleError::NotAKernelModule);
    }
    let entry = u32_at(module, 8);
    let count = u32_at(module, 12);
    if count == 0 || count as usize > MAX_SEGMENTS {
        return Err(ModuleError::SegmentCount(count));
    }
    let count = count as usize;
    let table = HEADER_LEN + SEGMENT_ENTRY_LEN * count;
    if module.len() < table {
        return Err(ModuleError::Truncated);
    }
    let mut at = table;
    let mut segments = Vec::with_capacity(count);
    for index in 0..count {
        let e = HEADER_LEN + SEGMENT_ENTRY_LEN * index;
        let paddr = u64_at(module, e);
        let mem_size = u64_at(module, e + 8);
        let file_len = u64_at(module, e + 16);
        if file_len > mem_size {
            return Err(ModuleError::FileLongerThanMemory { index });
        }
        let end = usize::try_from(file_len)
            .ok()
            .and_then(|n| at.checked_add(n))
            .filter(|&end| end <= module.len())
            .ok_or(ModuleError::Truncated)?;
        segments.push(KernelSegment {
            paddr,
            mem_size,
            data: &module[at..end],
        });
        at = end;
    }
    Ok(KernelModule { entry, segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(
            0x100_0850,
            &[
                KernelSegment {
                    paddr: 0x100_0000,
                    mem_size: 0x3000,
                    data: &[1, 2, 3],
                },
                KernelSegment {
                    paddr: 0x200_0000,
                    mem_size: 4,
                    data: &[9, 9, 9, 9],
                },
            ],
        )
    }

    #[test]
    fn what_is_encoded_decodes_the_same() {
        let bytes = sample();
        let m = decode(&bytes).unwrap();
        assert_eq!(m.entry, 0x100_0850);
        assert_eq!(m.segments.len(), 2);
        assert_eq!(m.segments[0].paddr, 0x100_0000);
        assert_eq!(m.segments[0].mem_size, 0x3000);
        assert_eq!(m.segments[0].data, &[1, 2, 3]);
        assert_eq!(m.segments[1].data, &[9, 9, 9, 9]);
    }

    #[test]
    fn every_truncation_and_damage_is_an_error_not_a_panic() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "length {len}");
        }
        let mut other = bytes.clone();
        other[0] = b'X';
        assert_eq!(decode(&other), Err(ModuleError::NotAKernelModule));
        let mut many = bytes.clone();
        many[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&many), Err(ModuleError::SegmentCount(u32::MAX)));
        let mut huge = bytes.clone();
        // file_len of segment 0 = u64::MAX (memory size too, so only the
        // data check can refuse it).
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        huge[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode(&huge), Err(ModuleError::Truncated));
        let mut longer = bytes;
        longer[24..32].copy_from_slice(&2u64.to_le_bytes());
        assert_eq!(
            decode(&longer),
            Err(ModuleError::FileLongerThanMemory { index: 0 })
        );
    }

    #[test]
    fn random_bytes_after_the_magic_never_panic() {
        let mut rng = test_rng::XorShift::per_run("pvh_kernel_module", 0x5eed_4b45);
        for _ in 0..2000 {
            let len = rng.below(200) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            if b.len() >= 8 {
                b[..8].copy_from_slice(&MAGIC);
            }
            let _ = decode(&b);
        }
    }
}
