//! Multiboot 1 boot information (Multiboot Specification 0.6.96, section 3.3
//! "Boot information format").

use super::{BootInfo, BootInfoError, MemoryRegion, Module, PhysRead, RegionKind};

/// `flags` bit 2: `cmdline` is valid.
const FLAG_CMDLINE: u32 = 1 << 2;
/// `flags` bit 3: `mods_count`/`mods_addr` are valid.
const FLAG_MODS: u32 = 1 << 3;
/// `flags` bit 6: `mmap_length`/`mmap_addr` are valid.
const FLAG_MMAP: u32 = 1 << 6;

const OFF_FLAGS: u64 = 0;
const OFF_CMDLINE: u64 = 16;
const OFF_MODS_COUNT: u64 = 20;
const OFF_MODS_ADDR: u64 = 24;
const OFF_MMAP_LENGTH: u64 = 44;
const OFF_MMAP_ADDR: u64 = 48;
/// Size of the fixed part of the structure we read.
const INFO_SIZE: u64 = 88;
/// Size of one module entry: mod_start, mod_end, string, reserved.
const MODULE_ENTRY_SIZE: u64 = 16;

/// Parses the structure at `addr`.
pub fn parse(addr: u64, mem: &dyn PhysRead) -> Result<BootInfo, BootInfoError> {
    let rd = |a: u64| mem.read_u32(a).ok_or(BootInfoError::Unreadable(a));
    let mut info = BootInfo {
        info_range: (addr, addr + INFO_SIZE),
        ..Default::default()
    };
    let flags = rd(addr + OFF_FLAGS)?;

    if flags & FLAG_CMDLINE != 0 {
        let p = u64::from(rd(addr + OFF_CMDLINE)?);
        info.cmdline = mem.read_cstr(p).ok_or(BootInfoError::Unreadable(p))?;
    }

    if flags & FLAG_MODS != 0 {
        let count = u64::from(rd(addr + OFF_MODS_COUNT)?);
        let base = u64::from(rd(addr + OFF_MODS_ADDR)?);
        for i in 0..count {
            let e = base + i * MODULE_ENTRY_SIZE;
            let start = u64::from(rd(e)?);
            let end = u64::from(rd(e + 4)?);
            let string = u64::from(rd(e + 8)?);
            let cmdline = mem
                .read_cstr(string)
                .ok_or(BootInfoError::Unreadable(string))?;
            info.modules.push(Module {
                start,
                end,
                cmdline,
            });
        }
    }

    if flags & FLAG_MMAP == 0 {
        return Err(BootInfoError::NoMemoryMap);
    }
    let len = u64::from(rd(addr + OFF_MMAP_LENGTH)?);
    let base = u64::from(rd(addr + OFF_MMAP_ADDR)?);
    // Each entry is preceded by its own size, which does not count itself.
    let mut p = base;
    while p < base + len {
        let size = u64::from(rd(p)?);
        let start = mem
            .read_u64(p + 4)
            .ok_or(BootInfoError::Unreadable(p + 4))?;
        let length = mem
            .read_u64(p + 12)
            .ok_or(BootInfoError::Unreadable(p + 12))?;
        let kind = RegionKind::from_type(rd(p + 20)?);
        info.memory.push(MemoryRegion {
            start,
            len: length,
            kind,
        });
        if size < 20 {
            break; // malformed entry: stop rather than loop forever
        }
        p += size + 4;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot_info::test_memory::VecMemory;

    fn sample() -> VecMemory {
        let mut m = VecMemory::new(0x1000, 0x2000);
        let info = 0x1000;
        m.put_u32(info + OFF_FLAGS, FLAG_CMDLINE | FLAG_MODS | FLAG_MMAP);
        m.put_u32(info + OFF_CMDLINE, 0x1800);
        m.put(0x1800, b"vmm log=debug\0");
        m.put_u32(info + OFF_MODS_COUNT, 2);
        m.put_u32(info + OFF_MODS_ADDR, 0x1200);
        for (i, (s, e, name)) in [
            (0x20_0000u32, 0x20_1000u32, 0x1900u32),
            (0x30_0000, 0x30_0200, 0x1940),
        ]
        .into_iter()
        .enumerate()
        {
            let ent = 0x1200 + 16 * i as u64;
            m.put_u32(ent, s);
            m.put_u32(ent + 4, e);
            m.put_u32(ent + 8, name);
        }
        m.put(0x1900, b"/tmp/run/guest.cfg name=config\0");
        m.put(0x1940, b"disk0\0");
        m.put_u32(info + OFF_MMAP_LENGTH, 48);
        m.put_u32(info + OFF_MMAP_ADDR, 0x1400);
        m.put_u32(0x1400, 20);
        m.put_u64(0x1404, 0);
        m.put_u64(0x140C, 0x9F000);
        m.put_u32(0x1414, 1);
        m.put_u32(0x1418, 20);
        m.put_u64(0x141C, 0x10_0000);
        m.put_u64(0x1424, 0x7F0_0000);
        m.put_u32(0x142C, 2);
        m
    }

    #[test]
    fn reads_cmdline_modules_and_memory_map() {
        let m = sample();
        let info = parse(0x1000, &m).unwrap();
        assert_eq!(info.cmdline.as_str(), "vmm log=debug");
        let mods: Vec<_> = info.modules.iter().collect();
        assert_eq!(mods.len(), 2);
        assert_eq!(
            (mods[0].start, mods[0].end, mods[0].name()),
            (0x20_0000, 0x20_1000, "config")
        );
        assert_eq!(mods[1].name(), "disk0");
        assert_eq!(mods[1].len(), 0x200);
        let mem: Vec<_> = info.memory.iter().copied().collect();
        assert_eq!(
            mem,
            vec![
                MemoryRegion {
                    start: 0,
                    len: 0x9F000,
                    kind: RegionKind::Usable
                },
                MemoryRegion {
                    start: 0x10_0000,
                    len: 0x7F0_0000,
                    kind: RegionKind::Reserved
                },
            ]
        );
    }

    #[test]
    fn missing_memory_map_is_an_error() {
        let mut m = sample();
        m.put_u32(0x1000, FLAG_CMDLINE);
        assert_eq!(parse(0x1000, &m).err(), Some(BootInfoError::NoMemoryMap));
    }

    #[test]
    fn pointer_outside_memory_is_an_error_not_a_panic() {
        let mut m = sample();
        m.put_u32(0x1000 + OFF_MODS_ADDR, 0xFFFF_FF00);
        assert!(matches!(
            parse(0x1000, &m),
            Err(BootInfoError::Unreadable(_))
        ));
    }

    #[test]
    fn zero_sized_map_entry_does_not_loop_forever() {
        let mut m = sample();
        m.put_u32(0x1400, 0);
        let info = parse(0x1000, &m).unwrap();
        assert_eq!(info.memory.len(), 1);
    }
}
