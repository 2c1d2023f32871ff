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
pub use second_level_paging::{Access, MapError};
use second_level_paging::{EntryFormat, PageTables, Table};

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

/// The long-mode entry format (APM vol. 2, 5.3) as nested paging uses it:
/// U/S set in every entry (15.25.5).
pub struct Npt;

impl EntryFormat for Npt {
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

/// A nested page-table hierarchy, owning its tables; its
/// [`PageTables::root_pointer`] is the VMCB's N_CR3.
pub type NestedPageTable = PageTables<Npt>;

#[cfg(test)]
mod tests {
    //! The NPT encoding only: how the tables are built and walked is tested
    //! once, for any entry format, in `second_level_paging`.

    use super::*;

    #[test]
    fn host_addresses_end_at_bit_51() {
        let mut n = NestedPageTable::new();
        assert_eq!(
            n.map(0, 1 << 52, 0x1000, Access::ReadWrite),
            Err(MapError::OutOfRange),
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
