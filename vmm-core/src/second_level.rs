//! The domain's second-level address translation (guest-physical to
//! host-physical: AMD's nested page tables, Intel's EPT). The domain owns
//! its tables and changes them while it runs — grant frames, the shared-info
//! page and grant mappings come and go — and the backend only loads their
//! root and flushes what the processor cached when asked.
//!
//! [`SecondLevelTables`] is implemented once, for the generic hierarchy of
//! `second_level_paging` in any entry format (the NPT and EPT encodings live
//! in the `svm` and `vmx` crates); [`GuestPhysicalMap`]
//! records when a change needs the vCPUs' cached translations flushed before
//! the guest runs again (AMD APM vol. 2, 15.16 "TLB Control"; Intel SDM vol.
//! 3C, 29.4.3 "Invalidating Cached Translation Information"): removing a
//! mapping or reducing its rights does; adding one does not, since a missing
//! translation is never cached.

use crate::guest_memory::Mapping;
use alloc::boxed::Box;
pub use second_level_paging::MapError;
use second_level_paging::{Access, EntryFormat, PageTables};

/// A second-level hierarchy in one backend's entry format.
pub trait SecondLevelTables {
    /// Maps `[gpa, gpa+len)` to `[hpa, hpa+len)`, read-only unless `writable`.
    fn map(&mut self, gpa: u64, hpa: u64, len: u64, writable: bool) -> Result<(), MapError>;
    /// Removes every mapping in `[gpa, gpa+len)`.
    fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), MapError>;
    /// Changes the rights of every mapped page in `[gpa, gpa+len)`.
    fn protect(&mut self, gpa: u64, len: u64, writable: bool) -> Result<(), MapError>;
    /// What the backend loads: the VMCB's N_CR3, or the VMCS's EPT pointer.
    fn root(&self) -> u64;
    /// The host-physical address and writability of `gpa`, as the processor
    /// would translate it.
    fn translate(&self, gpa: u64) -> Option<(u64, bool)>;
}

fn access(writable: bool) -> Access {
    if writable {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    }
}

impl<F: EntryFormat> SecondLevelTables for PageTables<F> {
    fn map(&mut self, gpa: u64, hpa: u64, len: u64, writable: bool) -> Result<(), MapError> {
        PageTables::map(self, gpa, hpa, len, access(writable))
    }

    fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), MapError> {
        PageTables::unmap(self, gpa, len)
    }

    fn protect(&mut self, gpa: u64, len: u64, writable: bool) -> Result<(), MapError> {
        PageTables::protect(self, gpa, len, access(writable))
    }

    fn root(&self) -> u64 {
        self.root_pointer()
    }

    fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        PageTables::translate(self, gpa)
    }
}

/// A domain's guest-physical address space.
pub struct GuestPhysicalMap {
    tables: Box<dyn SecondLevelTables>,
    /// A change since the vCPUs last flushed needs their cached
    /// translations invalidated.
    flush_pending: bool,
}

impl GuestPhysicalMap {
    /// An address space on `tables`, with `mappings` (the domain's RAM and
    /// aliases) in place.
    pub fn new(tables: Box<dyn SecondLevelTables>, mappings: &[Mapping]) -> Result<Self, MapError> {
        let mut map = Self {
            tables,
            flush_pending: false,
        };
        for m in mappings {
            map.map(m.gpa, m.hpa, m.len, m.writable)?;
        }
        Ok(map)
    }

    /// Adds a mapping (no flush needed: nothing was cached for it).
    pub fn map(&mut self, gpa: u64, hpa: u64, len: u64, writable: bool) -> Result<(), MapError> {
        self.tables.map(gpa, hpa, len, writable)
    }

    /// Removes mappings; the vCPUs flush before the guest runs again.
    pub fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), MapError> {
        let result = self.tables.unmap(gpa, len);
        // Even a change refused half-way may have removed pages before it.
        self.flush_pending = true;
        result
    }

    /// Changes rights; the vCPUs flush before the guest runs again.
    pub fn protect(&mut self, gpa: u64, len: u64, writable: bool) -> Result<(), MapError> {
        let result = self.tables.protect(gpa, len, writable);
        self.flush_pending = true;
        result
    }

    /// The root the backend loads.
    pub fn root(&self) -> u64 {
        self.tables.root()
    }

    /// The translation of `gpa`, as the processor would see it.
    pub fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        self.tables.translate(gpa)
    }

    /// True once after a change that needs the cached translations flushed.
    /// One vCPU today; with several, each will compare a change counter.
    pub fn take_flush(&mut self) -> bool {
        core::mem::take(&mut self.flush_pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use svm::npt::NestedPageTable;

    fn map_with_ram() -> GuestPhysicalMap {
        let ram = Mapping {
            gpa: 0,
            hpa: 0x4000_0000,
            len: 0x40_0000,
            writable: true,
        };
        GuestPhysicalMap::new(Box::new(NestedPageTable::new()), &[ram]).unwrap()
    }

    #[test]
    fn adding_needs_no_flush_removing_and_protecting_do() {
        let mut map = map_with_ram();
        assert!(!map.take_flush());
        map.map(0x100_0000, 0x9000, 0x1000, true).unwrap();
        assert!(!map.take_flush());
        map.protect(0x100_0000, 0x1000, false).unwrap();
        assert_eq!(map.translate(0x100_0000), Some((0x9000, false)));
        assert!(map.take_flush());
        assert!(!map.take_flush(), "once");
        map.unmap(0x1000, 0x1000).unwrap();
        assert_eq!(map.translate(0x1000), None);
        assert_eq!(map.translate(0x2000), Some((0x4000_2000, true)));
        assert!(map.take_flush());
    }

    #[test]
    fn a_refused_change_still_flushes_what_it_did_before_failing() {
        let mut map = map_with_ram();
        let end = 0x40_0000;
        assert_eq!(
            map.protect(end - 0x1000, 0x2000, false),
            Err(MapError::NotMapped { gpa: end })
        );
        assert!(map.take_flush());
    }
}
