//! Nested page tables: guest-physical to host-physical translation (AMD APM
//! vol. 2, 15.25 "Nested Paging"). The tables use the long-mode 4-level format
//! (APM vol. 2, 5.3 "Long-Mode Page Translation"); every nested access counts as
//! a user access (15.25.5), so every entry sets U/S.
//!
//! Only what is mapped here is guest memory: anything else the guest touches
//! ends in a nested page fault, which is how MMIO reaches the hypervisor.
//!
//! The tree itself is built and walked by [`second_level_paging`]; this module
//! supplies the entry encoding.

use crate::phys_addr;
use second_level_paging::{EntryFormat, MapError, PageTables, Table};

/// Entry bit 0: present.
pub const PRESENT: u64 = 1 << 0;
/// Entry bit 1: writable.
pub const WRITABLE: u64 = 1 << 1;
/// Entry bit 2: user (required on every nested entry).
pub const USER: u64 = 1 << 2;
/// Entry bit 7 in a PDPE/PDE: maps a large page.
pub const PAGE_SIZE_BIT: u64 = 1 << 7;
/// Bits 51:12 of an entry: the physical address.
pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Why a mapping was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NptError {
    /// An address or size is not aligned to the page size asked for.
    Misaligned,
    /// The range is already mapped (at another granularity or address).
    AlreadyMapped { gpa: u64 },
    /// Beyond the 48-bit guest-physical space, or a host address beyond
    /// what an entry can hold.
    OutOfRange,
    /// A change of permissions for a page that is not mapped.
    NotMapped { gpa: u64 },
}

impl From<MapError> for NptError {
    fn from(e: MapError) -> Self {
        match e {
            MapError::Misaligned => NptError::Misaligned,
            MapError::AlreadyMapped { gpa } => NptError::AlreadyMapped { gpa },
            MapError::OutOfRange => NptError::OutOfRange,
            MapError::NotMapped { gpa } => NptError::NotMapped { gpa },
        }
    }
}

/// Access rights of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// The long-mode entry format (APM vol. 2, 5.3) as nested paging uses it:
/// U/S set in every entry (15.25.5).
struct Npt;

impl EntryFormat for Npt {
    type Access = Access;
    const TABLE_FLAGS: u64 = PRESENT | WRITABLE | USER;
    const LARGE_PAGE_BIT: u64 = PAGE_SIZE_BIT;
    const ADDRESS_MASK: u64 = ADDRESS_MASK;
    /// Host addresses end where an entry's address field does (bit 51).
    const HOST_LIMIT: Option<u64> = Some(ADDRESS_MASK + 4096);

    fn is_present(entry: u64) -> bool {
        entry & PRESENT != 0
    }

    fn is_writable(entry: u64) -> bool {
        entry & WRITABLE != 0
    }

    fn leaf_flags(access: Access) -> u64 {
        match access {
            Access::ReadWrite => PRESENT | WRITABLE | USER,
            Access::ReadOnly => PRESENT | USER,
        }
    }

    fn table_address(table: &Table) -> u64 {
        phys_addr(table)
    }
}

/// A nested page-table hierarchy, owning its tables.
#[derive(Default)]
pub struct NestedPageTable(PageTables<Npt>);

impl NestedPageTable {
    /// An empty hierarchy (everything faults).
    pub fn new() -> Self {
        Self(PageTables::new())
    }

    /// The value for the VMCB's N_CR3.
    pub fn root(&self) -> u64 {
        self.0.root()
    }

    /// Maps `[gpa, gpa+len)` to `[hpa, hpa+len)`, with 2 MiB pages where both
    /// addresses allow it and 4 KiB pages elsewhere.
    pub fn map(&mut self, gpa: u64, hpa: u64, len: u64, access: Access) -> Result<(), NptError> {
        Ok(self.0.map(gpa, hpa, len, access)?)
    }

    /// Removes every mapping in `[gpa, gpa+len)`; the caller flushes the
    /// guest's cached translations before it runs again.
    pub fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), NptError> {
        Ok(self.0.unmap(gpa, len)?)
    }

    /// Changes the access rights of every mapped page in `[gpa, gpa+len)`;
    /// the caller flushes the guest's cached translations before it runs again.
    pub fn protect(&mut self, gpa: u64, len: u64, access: Access) -> Result<(), NptError> {
        Ok(self.0.protect(gpa, len, access)?)
    }

    /// Walks the tables as the processor would: the host-physical address and
    /// writability of `gpa`, or None where the guest would take a nested fault.
    pub fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        self.0.translate(gpa)
    }

    /// Number of 4 KiB tables in use.
    pub fn table_count(&self) -> usize {
        self.0.table_count()
    }

    /// The entries of every table, for tests to check their bits.
    #[cfg(test)]
    fn tables(&self) -> impl Iterator<Item = &[u64; 512]> + '_ {
        self.0.tables()
    }
}

#[cfg(test)]
mod tests {
    //! The NPT encoding only: how the tables are built and walked is tested
    //! once, for any entry format, in `second_level_paging`.

    use super::*;

    #[test]
    fn reset_vector_alias_maps_top_of_4g_read_only() {
        let mut n = NestedPageTable::new();
        n.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
        n.map(0xFFFF_0000, 0x400F_0000, 0x1_0000, Access::ReadOnly)
            .unwrap();
        assert_eq!(n.translate(0xFFFF_FFF0), Some((0x400F_FFF0, false)));
        assert_eq!(n.translate(0xFFFE_FFFF), None);
    }

    #[test]
    fn refusals_keep_their_reason_as_npt_errors() {
        let mut n = NestedPageTable::new();
        n.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
        assert_eq!(
            n.map(0x10, 0, 0x1000, Access::ReadWrite),
            Err(NptError::Misaligned)
        );
        assert_eq!(
            n.map(0x1000, 0x5000_0000, 0x1000, Access::ReadWrite),
            Err(NptError::AlreadyMapped { gpa: 0x1000 })
        );
        assert_eq!(
            n.map(1 << 48, 0, 0x1000, Access::ReadWrite),
            Err(NptError::OutOfRange)
        );
    }

    #[test]
    fn host_addresses_end_at_bit_51() {
        let mut n = NestedPageTable::new();
        assert_eq!(
            n.map(0, 1 << 52, 0x1000, Access::ReadWrite),
            Err(NptError::OutOfRange),
            "a host address past bit 51 is refused, not wrapped"
        );
        n.map(0, (1 << 52) - 0x1000, 0x1000, Access::ReadWrite)
            .unwrap();
        assert_eq!(n.translate(0x10), Some(((1 << 52) - 0x1000 + 0x10, true)));
    }

    #[test]
    fn every_entry_is_user_accessible() {
        let mut n = NestedPageTable::new();
        n.map(0x20_0000, 0x4000_0000, 0x1000, Access::ReadWrite)
            .unwrap();
        for t in n.tables() {
            for e in t.iter().filter(|e| **e & PRESENT != 0) {
                assert_ne!(e & USER, 0);
            }
        }
    }
}
