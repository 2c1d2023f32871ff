//! A guest's physical memory as the hypervisor sees it: one RAM block at
//! guest-physical 0, plus read-only aliases of parts of it elsewhere (the BIOS
//! ROM at the top of the 4 GiB space, where the reset vector lies). Every
//! access is bounds-checked; a guest address outside RAM is an error, never a
//! touch of host memory.

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
}

impl GuestMemory {
    /// Memory whose RAM (guest-physical 0 up) is `ram`.
    pub fn new(ram: &'static mut [u8]) -> Self {
        Self {
            ram,
            aliases: Vec::new(),
        }
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

    /// The host-side layout, for nested paging.
    pub fn mappings(&self) -> Vec<Mapping> {
        let base = self.ram.as_ptr() as u64;
        let mut v = alloc::vec![Mapping {
            gpa: 0,
            hpa: base,
            len: self.ram_size(),
            writable: true
        }];
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

    /// Writes `data` at `gpa`.
    pub fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), GuestMemoryError> {
        let (off, writable) = self.locate(gpa, data.len())?;
        if !writable {
            return Err(GuestMemoryError::ReadOnly { gpa });
        }
        self.ram[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// Reads a little-endian value of `N` bytes.
    pub fn read_bytes<const N: usize>(&self, gpa: u64) -> Result<[u8; N], GuestMemoryError> {
        let mut b = [0; N];
        self.read(gpa, &mut b)?;
        Ok(b)
    }

    /// All of RAM, for loading images into it.
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
}
