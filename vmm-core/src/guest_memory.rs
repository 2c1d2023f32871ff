//! A guest's physical memory as the hypervisor sees it: one RAM block at
//! guest-physical 0, plus read-only aliases of parts of it elsewhere (the BIOS
//! ROM at the top of the 4 GiB space, where the reset vector lies). Every
//! access is bounds-checked; a guest address outside RAM is an error, never a
//! touch of host memory.
//!
//! Part of RAM can be shadow ROM: the firmware image below 1 MiB, loaded by
//! the hypervisor and then read-only to the guest, as a chipset's PAM
//! registers leave the BIOS shadow after POST (Intel 82441FX PMC datasheet,
//! PAM0-PAM6). Guest stores, string I/O and BIOS services writing there are
//! dropped or refused like writes to a ROM, and bus-master DMA into it fails.

use alloc::vec::Vec;

/// Why a guest-physical access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestMemoryError {
    /// No RAM or alias backs (all of) this range.
    Unbacked { gpa: u64 },
    /// The range is read-only to the guest (an alias of ROM).
    ReadOnly { gpa: u64 },
}

/// A read-only window at `gpa` onto RAM at `target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alias {
    pub gpa: u64,
    pub len: u64,
    pub target: u64,
}

/// One contiguous guest-physical range and where its bytes live on the host,
/// as the backends need it to build nested page tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub gpa: u64,
    pub hpa: u64,
    pub len: u64,
    pub writable: bool,
}

/// A guest's physical memory.
pub struct GuestMemory {
    ram: &'static mut [u8],
    aliases: Vec<Alias>,
    /// `[start, end)` of RAM that the guest sees as ROM.
    shadow_rom: Option<(u64, u64)>,
}

impl GuestMemory {
    /// Memory whose RAM (guest-physical 0 up) is `ram`.
    pub fn new(ram: &'static mut [u8]) -> Self {
        Self {
            ram,
            aliases: Vec::new(),
            shadow_rom: None,
        }
    }

    /// Makes `[gpa, gpa+len)` of RAM read-only to the guest from now on (the
    /// hypervisor loads it first through [`GuestMemory::ram_mut`] or
    /// [`GuestMemory::write`]). False if the range is not inside RAM.
    pub fn set_shadow_rom(&mut self, gpa: u64, len: u64) -> bool {
        let fits = gpa
            .checked_add(len)
            .is_some_and(|end| end <= self.ram_size());
        if fits {
            self.shadow_rom = Some((gpa, gpa + len));
        }
        fits
    }

    /// The part of `[gpa, end)` that is shadow ROM, if any.
    fn rom_overlap(&self, gpa: u64, end: u64) -> Option<(u64, u64)> {
        let (start, stop) = self.shadow_rom?;
        let (a, b) = (gpa.max(start), end.min(stop));
        (a < b).then_some((a, b))
    }

    /// Size of RAM in bytes.
    pub fn ram_size(&self) -> u64 {
        self.ram.len() as u64
    }

    /// Adds a read-only window; refused (false) if its target is not inside RAM.
    pub fn add_alias(&mut self, alias: Alias) -> bool {
        let fits = alias
            .target
            .checked_add(alias.len)
            .is_some_and(|end| end <= self.ram_size());
        if fits {
            self.aliases.push(alias);
        }
        fits
    }

    /// The host-side layout, for nested paging: RAM (with the shadow ROM
    /// read-only), then the aliases.
    pub fn mappings(&self) -> Vec<Mapping> {
        let base = self.ram.as_ptr() as u64;
        let size = self.ram_size();
        let (rom_start, rom_end) = self.shadow_rom.unwrap_or((size, size));
        let mut v: Vec<Mapping> = [
            (0, rom_start, true),
            (rom_start, rom_end, false),
            (rom_end, size, true),
        ]
        .into_iter()
        .filter(|(start, end, _)| start < end)
        .map(|(start, end, writable)| Mapping {
            gpa: start,
            hpa: base + start,
            len: end - start,
            writable,
        })
        .collect();
        v.extend(self.aliases.iter().map(|a| Mapping {
            gpa: a.gpa,
            hpa: base + a.target,
            len: a.len,
            writable: false,
        }));
        v
    }

    /// The RAM offset of `[gpa, gpa+len)` and whether it is writable.
    fn locate(&self, gpa: u64, len: usize) -> Result<(usize, bool), GuestMemoryError> {
        let len = len as u64;
        let end = gpa
            .checked_add(len)
            .ok_or(GuestMemoryError::Unbacked { gpa })?;
        if end <= self.ram_size() {
            return Ok((gpa as usize, true));
        }
        self.aliases
            .iter()
            .find(|a| gpa >= a.gpa && end <= a.gpa + a.len)
            .map(|a| ((a.target + (gpa - a.gpa)) as usize, false))
            .ok_or(GuestMemoryError::Unbacked { gpa })
    }

    /// Reads `buf.len()` bytes at `gpa`.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        let (off, _) = self.locate(gpa, buf.len())?;
        buf.copy_from_slice(&self.ram[off..off + buf.len()]);
        Ok(())
    }

    /// Writes `data` at `gpa`. Bytes that fall on ROM (an alias or the
    /// shadow ROM) are not written and the write reports `ReadOnly`; bytes
    /// of the same write that fall on RAM are written, as a processor's
    /// store to both would leave them.
    pub fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), GuestMemoryError> {
        let (off, writable) = self.locate(gpa, data.len())?;
        if !writable {
            return Err(GuestMemoryError::ReadOnly { gpa });
        }
        let end = gpa + data.len() as u64;
        let Some((rom_start, rom_end)) = self.rom_overlap(gpa, end) else {
            self.ram[off..off + data.len()].copy_from_slice(data);
            return Ok(());
        };
        for (start, stop) in [(gpa, rom_start), (rom_end, end)] {
            if start < stop {
                let (from, to) = ((start - gpa) as usize, (stop - gpa) as usize);
                self.ram[off + from..off + to].copy_from_slice(&data[from..to]);
            }
        }
        Err(GuestMemoryError::ReadOnly { gpa: rom_start })
    }

    /// Reads a little-endian value of `N` bytes.
    pub fn read_bytes<const N: usize>(&self, gpa: u64) -> Result<[u8; N], GuestMemoryError> {
        let mut b = [0; N];
        self.read(gpa, &mut b)?;
        Ok(b)
    }

    /// All of RAM, for loading images into it.
    /// The host address of guest RAM at `gpa` (for mapping it again after
    /// a page was mapped over it), `None` outside RAM.
    pub fn host_address(&self, gpa: u64) -> Option<u64> {
        (gpa < self.ram_size()).then(|| self.ram.as_ptr() as u64 + gpa)
    }

    pub fn ram_mut(&mut self) -> &mut [u8] {
        self.ram
    }
}

/// Bus-master DMA reaches guest RAM only through the same checked accesses.
impl device_model::DmaMemory for GuestMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), device_model::DmaError> {
        GuestMemory::read(self, gpa, buf).map_err(|_| device_model::DmaError { gpa })
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), device_model::DmaError> {
        GuestMemory::write(self, gpa, data).map_err(|_| device_model::DmaError { gpa })
    }
}

#[cfg(test)]
pub(crate) fn test_memory(size: usize) -> GuestMemory {
    GuestMemory::new(alloc::boxed::Box::leak(
        alloc::vec![0u8; size].into_boxed_slice(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_reads_back_what_was_written() {
        let mut m = test_memory(0x2000);
        m.write(0x1FFC, &[1, 2, 3, 4]).unwrap();
        assert_eq!(m.read_bytes::<4>(0x1FFC).unwrap(), [1, 2, 3, 4]);
    }

    #[test]
    fn accesses_past_ram_fail_without_touching_anything() {
        let mut m = test_memory(0x2000);
        assert_eq!(
            m.write(0x1FFE, &[0; 4]),
            Err(GuestMemoryError::Unbacked { gpa: 0x1FFE })
        );
        assert_eq!(
            m.read_bytes::<1>(u64::MAX),
            Err(GuestMemoryError::Unbacked { gpa: u64::MAX })
        );
        assert!(m.read_bytes::<8>(u64::MAX - 3).is_err());
    }

    #[test]
    fn alias_reads_ram_and_refuses_writes() {
        let mut m = test_memory(0x10_0000);
        m.write(0xFFFF0, &[0xEA]).unwrap();
        assert!(m.add_alias(Alias {
            gpa: 0xFFFF_0000,
            len: 0x1_0000,
            target: 0xF_0000
        }));
        assert_eq!(m.read_bytes::<1>(0xFFFF_FFF0).unwrap(), [0xEA]);
        assert_eq!(
            m.write(0xFFFF_FFF0, &[0]),
            Err(GuestMemoryError::ReadOnly { gpa: 0xFFFF_FFF0 })
        );
        // reads straddling the end of the alias fail
        assert!(m.read_bytes::<2>(0xFFFF_FFFF).is_err());
    }

    #[test]
    fn alias_outside_ram_is_refused() {
        let mut m = test_memory(0x1000);
        assert!(!m.add_alias(Alias {
            gpa: 0xFFFF_0000,
            len: 0x1_0000,
            target: 0
        }));
    }

    #[test]
    fn mappings_describe_ram_then_aliases() {
        let mut m = test_memory(0x10_0000);
        m.add_alias(Alias {
            gpa: 0xFFFF_0000,
            len: 0x1_0000,
            target: 0xF_0000,
        });
        let maps = m.mappings();
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].hpa - maps[0].hpa, 0xF_0000);
        assert!(!maps[1].writable);
    }

    #[test]
    fn shadow_rom_refuses_guest_writes_keeps_ram_around_it_and_maps_read_only() {
        let mut m = test_memory(0x20_0000);
        m.write(0xF_0000, &[0xEA]).unwrap();
        assert!(m.set_shadow_rom(0xF_0000, 0x1_0000));
        assert_eq!(
            m.write(0xF_0000, &[0]),
            Err(GuestMemoryError::ReadOnly { gpa: 0xF_0000 })
        );
        assert_eq!(m.read_bytes::<1>(0xF_0000).unwrap(), [0xEA]);
        // A write straddling the ROM's start keeps its RAM part, as a store would.
        assert_eq!(
            m.write(0xE_FFFE, &[1, 2, 3, 4]),
            Err(GuestMemoryError::ReadOnly { gpa: 0xF_0000 })
        );
        assert_eq!(m.read_bytes::<4>(0xE_FFFE).unwrap(), [1, 2, 0xEA, 0]);
        m.write(0x10_0000, &[5]).unwrap();
        let maps = m.mappings();
        let flags: Vec<(u64, u64, bool)> =
            maps.iter().map(|x| (x.gpa, x.len, x.writable)).collect();
        assert_eq!(
            flags,
            [
                (0, 0xF_0000, true),
                (0xF_0000, 0x1_0000, false),
                (0x10_0000, 0x10_0000, true)
            ]
        );
        assert!(!m.set_shadow_rom(0x1F_F000, 0x2000), "must lie inside RAM");
    }
}
