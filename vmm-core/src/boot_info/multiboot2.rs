//! Multiboot2 boot information (Multiboot2 Specification 2.0, section 3.6
//! "Boot information format").

use super::{BootInfo, BootInfoError, MemoryRegion, Module, PhysRead, RegionKind};

const TAG_END: u32 = 0;
const TAG_CMDLINE: u32 = 1;
const TAG_MODULE: u32 = 3;
const TAG_MMAP: u32 = 6;
/// Header of a tag: type and size.
const TAG_HEADER: u64 = 8;

/// Parses the structure at `addr`.
pub fn parse(addr: u64, mem: &dyn PhysRead) -> Result<BootInfo, BootInfoError> {
    let rd = |a: u64| mem.read_u32(a).ok_or(BootInfoError::Unreadable(a));
    let total = u64::from(rd(addr)?);
    let mut info = BootInfo {
        info_range: (addr, addr + total),
        ..Default::default()
    };
    let mut saw_mmap = false;
    let mut p = addr + 8;
    while p + TAG_HEADER <= addr + total {
        let ty = rd(p)?;
        let size = u64::from(rd(p + 4)?);
        if ty == TAG_END || size < TAG_HEADER {
            break;
        }
        match ty {
            TAG_CMDLINE => {
                info.cmdline = mem
                    .read_cstr(p + 8)
                    .ok_or(BootInfoError::Unreadable(p + 8))?;
            }
            TAG_MODULE => {
                let start = u64::from(rd(p + 8)?);
                let end = u64::from(rd(p + 12)?);
                let cmdline = mem
                    .read_cstr(p + 16)
                    .ok_or(BootInfoError::Unreadable(p + 16))?;
                info.modules.push(Module {
                    start,
                    end,
                    cmdline,
                });
            }
            TAG_MMAP => {
                saw_mmap = true;
                let entry_size = u64::from(rd(p + 8)?);
                if entry_size < 24 {
                    return Err(BootInfoError::Unreadable(p + 8));
                }
                let mut e = p + 16;
                while e + entry_size <= p + size {
                    let start = mem.read_u64(e).ok_or(BootInfoError::Unreadable(e))?;
                    let len = mem
                        .read_u64(e + 8)
                        .ok_or(BootInfoError::Unreadable(e + 8))?;
                    let kind = RegionKind::from_type(rd(e + 16)?);
                    info.memory.push(MemoryRegion { start, len, kind });
                    e += entry_size;
                }
            }
            _ => {}
        }
        // Tags are padded to 8 bytes.
        p += (size + 7) & !7;
    }
    if !saw_mmap {
        return Err(BootInfoError::NoMemoryMap);
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot_info::test_memory::VecMemory;

    /// Builds a Multiboot2 structure at 0x1000 from (type, payload) tags.
    fn build(tags: &[(u32, Vec<u8>)]) -> VecMemory {
        let mut m = VecMemory::new(0x1000, 0x1000);
        let mut p = 0x1008u64;
        for (ty, payload) in tags {
            let size = 8 + payload.len() as u32;
            m.put_u32(p, *ty);
            m.put_u32(p + 4, size);
            m.put(p + 8, payload);
            p += (u64::from(size) + 7) & !7;
        }
        m.put_u32(p, TAG_END);
        m.put_u32(p + 4, 8);
        m.put_u32(0x1000, (p + 8 - 0x1000) as u32);
        m
    }

    fn mmap_payload(entries: &[(u64, u64, u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&24u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        for (s, l, t) in entries {
            v.extend_from_slice(&s.to_le_bytes());
            v.extend_from_slice(&l.to_le_bytes());
            v.extend_from_slice(&t.to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes());
        }
        v
    }

    fn module_payload(start: u32, end: u32, s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&start.to_le_bytes());
        v.extend_from_slice(&end.to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }

    #[test]
    fn reads_tags_in_any_order() {
        let m = build(&[
            (TAG_MODULE, module_payload(0x40_0000, 0x40_0800, "config")),
            (TAG_CMDLINE, b"log=trace\0".to_vec()),
            (
                TAG_MMAP,
                mmap_payload(&[
                    (0, 0x9FC00, 1),
                    (0xF0000, 0x10000, 2),
                    (0x10_0000, 0x1000_0000, 1),
                ]),
            ),
            (TAG_MODULE, module_payload(0x50_0000, 0x60_0000, "iso0")),
            (42, vec![1, 2, 3]),
        ]);
        let info = parse(0x1000, &m).unwrap();
        assert_eq!(info.cmdline.as_str(), "log=trace");
        let names: Vec<_> = info.modules.iter().map(|m| m.name().to_string()).collect();
        assert_eq!(names, ["config", "iso0"]);
        assert_eq!(info.memory.len(), 3);
        let second = info.memory.iter().nth(1).unwrap();
        assert_eq!(second.kind, RegionKind::Reserved);
    }

    #[test]
    fn no_memory_map_is_an_error() {
        let m = build(&[(TAG_CMDLINE, b"x\0".to_vec())]);
        assert_eq!(parse(0x1000, &m).err(), Some(BootInfoError::NoMemoryMap));
    }

    #[test]
    fn truncated_structure_is_an_error_not_a_panic() {
        let mut m = build(&[(TAG_MMAP, mmap_payload(&[(0, 0x1000, 1)]))]);
        m.put_u32(0x1000, 0x10_0000); // total size far past the end of memory
        m.put_u32(0x1008 + 4, 0x9000); // and a tag that says it is huge
        assert!(parse(0x1000, &m).is_err());
    }
}
