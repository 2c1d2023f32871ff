//! What the boot loader tells us: the physical memory map, the boot modules and
//! the command line, read from Multiboot 1 or Multiboot2 information.
//!
//! The loaders hand us physical addresses; parsing goes through [`PhysRead`] so
//! the same code runs on a byte vector in host tests and on identity-mapped
//! physical memory on bare metal. Nothing here allocates: this runs before the
//! heap exists.

mod fixed_list;
pub mod multiboot1;
pub mod multiboot2;

pub use fixed_list::FixedList;

/// Value in EAX when a Multiboot 1 loader enters us (Multiboot 0.6.96, 3.2).
pub const MULTIBOOT1_BOOT_MAGIC: u32 = 0x2BAD_B002;
/// Value in EAX when a Multiboot2 loader enters us (Multiboot2 2.0, 3.3).
pub const MULTIBOOT2_BOOT_MAGIC: u32 = 0x36D7_6289;

/// Most memory-map entries we keep.
pub const MAX_MEMORY_REGIONS: usize = 64;
/// Most boot modules we keep.
pub const MAX_MODULES: usize = 16;
/// Longest module name or command line we keep, in bytes.
pub const MAX_STRING: usize = 128;

/// Reads physical memory during boot.
pub trait PhysRead {
    /// Fills `buf` from physical address `addr`; false if that range is not readable.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;

    /// Reads a little-endian u32.
    fn read_u32(&self, addr: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b).then(|| u32::from_le_bytes(b))
    }

    /// Reads a little-endian u64.
    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    /// Reads a NUL-terminated string of at most [`MAX_STRING`] bytes (longer ones are cut).
    fn read_cstr(&self, addr: u64) -> Option<ShortString> {
        let mut s = ShortString::default();
        for i in 0..MAX_STRING as u64 {
            let mut b = [0u8; 1];
            if !self.read(addr + i, &mut b) {
                return None;
            }
            if b[0] == 0 {
                break;
            }
            s.push(b[0]);
        }
        Some(s)
    }
}

/// A short byte string kept inline.
#[derive(Clone, Copy)]
pub struct ShortString {
    bytes: [u8; MAX_STRING],
    len: usize,
}

impl Default for ShortString {
    fn default() -> Self {
        Self {
            bytes: [0; MAX_STRING],
            len: 0,
        }
    }
}

impl ShortString {
    fn push(&mut self, b: u8) {
        if self.len < MAX_STRING {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    /// The string, or "" if the loader gave us bytes that are not UTF-8.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl core::fmt::Debug for ShortString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Kind of a physical memory range, as the loaders' memory maps name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Type 1: RAM we may use.
    Usable,
    /// Type 3: ACPI tables, reclaimable after reading them.
    AcpiReclaimable,
    /// Anything else: reserved.
    Reserved,
}

impl RegionKind {
    /// Maps the E820-style type number both Multiboot maps use.
    pub fn from_type(t: u32) -> Self {
        match t {
            1 => Self::Usable,
            3 => Self::AcpiReclaimable,
            _ => Self::Reserved,
        }
    }
}

/// One range of the physical memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub start: u64,
    pub len: u64,
    pub kind: RegionKind,
}

/// A boot module: an image the loader placed in memory, with its command line.
#[derive(Clone, Copy, Debug)]
pub struct Module {
    pub start: u64,
    pub end: u64,
    pub cmdline: ShortString,
}

impl Module {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True for an empty module.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name the runner gave the module: the `name=` word of its command
    /// line, else its last word. (QEMU puts the file path first, GRUB passes only
    /// the words after the path.)
    pub fn name(&self) -> &str {
        let mut words = self.cmdline.as_str().split_whitespace();
        let last = words.clone().last().unwrap_or("");
        words.find_map(|w| w.strip_prefix("name=")).unwrap_or(last)
    }
}

/// Everything we keep from the loader.
#[derive(Default)]
pub struct BootInfo {
    pub memory: FixedList<MemoryRegion, MAX_MEMORY_REGIONS>,
    pub modules: FixedList<Module, MAX_MODULES>,
    pub cmdline: ShortString,
    /// Physical range of the loader's information structure (to keep it out of the allocator).
    pub info_range: (u64, u64),
}

/// Why the boot information could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// EAX held neither Multiboot magic value.
    UnknownLoader(u32),
    /// The structure points at memory we cannot read.
    Unreadable(u64),
    /// The loader gave no memory map.
    NoMemoryMap,
}

/// Parses the information of whichever loader started us, by its magic value.
pub fn parse(magic: u32, info_addr: u64, mem: &dyn PhysRead) -> Result<BootInfo, BootInfoError> {
    match magic {
        MULTIBOOT1_BOOT_MAGIC => multiboot1::parse(info_addr, mem),
        MULTIBOOT2_BOOT_MAGIC => multiboot2::parse(info_addr, mem),
        other => Err(BootInfoError::UnknownLoader(other)),
    }
}

#[cfg(test)]
pub(crate) mod test_memory {
    use super::PhysRead;

    /// Physical memory for tests: a byte vector starting at `base`.
    pub struct VecMemory {
        pub base: u64,
        pub bytes: Vec<u8>,
    }

    impl VecMemory {
        pub fn new(base: u64, size: usize) -> Self {
            Self {
                base,
                bytes: vec![0; size],
            }
        }

        pub fn put(&mut self, addr: u64, data: &[u8]) {
            let off = (addr - self.base) as usize;
            self.bytes[off..off + data.len()].copy_from_slice(data);
        }

        pub fn put_u32(&mut self, addr: u64, v: u32) {
            self.put(addr, &v.to_le_bytes());
        }

        pub fn put_u64(&mut self, addr: u64, v: u64) {
            self.put(addr, &v.to_le_bytes());
        }
    }

    impl PhysRead for VecMemory {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            let Some(off) = addr.checked_sub(self.base) else {
                return false;
            };
            let off = off as usize;
            match self.bytes.get(off..off + buf.len()) {
                Some(src) => {
                    buf.copy_from_slice(src);
                    true
                }
                None => false,
            }
        }
    }
}
