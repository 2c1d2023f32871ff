//! Extended page tables: guest-physical to host-physical translation.
//!
//! Cited manual: Intel 64 and IA-32 Architectures Software Developer's Manual,
//! order number 325462, in the chapter numbering Intel adopted in 2023 (see
//! [`crate::controls`]): vol. 3C, 29.3 "The Extended Page Table Mechanism
//! (EPT)" — 29.3.2 "EPT Translation Mechanism" and its entry formats (table
//! 29-1 "Format of an EPT PML4 Entry (PML4E) that References an EPT
//! Page-Directory-Pointer Table" and the tables after it), 29.3.3 "EPT-Induced
//! VM Exits", and the subsection "EPT and Memory Typing"; and 25.6.11
//! "Extended-Page-Table Pointer (EPTP)".
//!
//! The hierarchy has four levels and maps with 2 MiB pages where both
//! addresses and the length allow it, 4 KiB pages elsewhere. Every leaf is
//! write-back; the ignore-PAT bit stays clear, so the guest's PAT still
//! combines with it ("EPT and Memory Typing"). Only what is mapped here is guest memory:
//! anything else the guest touches ends in an EPT violation, which is how MMIO
//! reaches the hypervisor.
//!
//! The tree itself is built and walked by [`second_level_paging`]; this module
//! supplies the entry encoding.

use crate::phys_addr;
pub use second_level_paging::{Access, MapError};
use second_level_paging::{EntryFormat, PageTables, Table, SMALL_PAGE};

/// Entry bit 0: reads allowed.
pub const READ: u64 = 1 << 0;
/// Entry bit 1: writes allowed.
pub const WRITE: u64 = 1 << 1;
/// Entry bit 2: instruction fetches allowed.
pub const EXECUTE: u64 = 1 << 2;
/// Entry bits 2:0: an entry with none of them is not present.
pub const PERMISSIONS: u64 = READ | WRITE | EXECUTE;
/// Leaf bits 5:3: EPT memory type of the page.
pub const MEMORY_TYPE_SHIFT: u32 = 3;
/// Mask of the leaf memory-type field.
pub const MEMORY_TYPE_MASK: u64 = 0x7 << MEMORY_TYPE_SHIFT;
/// Leaf bit 6: ignore the guest's PAT memory type.
pub const IGNORE_PAT: u64 = 1 << 6;
/// Bit 7 of a PDE (or PDPTE): the entry maps a large page.
pub const LARGE_PAGE: u64 = 1 << 7;
/// Bit 8: accessed (only with EPTP bit 6).
pub const ACCESSED: u64 = 1 << 8;
/// Leaf bit 9: dirty (only with EPTP bit 6).
pub const DIRTY: u64 = 1 << 9;
/// Bits 51:12 of an entry: the physical address.
pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Memory type 0: uncacheable.
pub const MEMORY_TYPE_UC: u8 = 0;
/// Memory type 6: write-back.
pub const MEMORY_TYPE_WB: u8 = 6;

/// EPTP bits 2:0: memory type of the EPT paging structures.
pub const EPTP_MEMORY_TYPE_MASK: u64 = 0x7;
/// EPTP bits 5:3: page-walk length minus one.
pub const EPTP_WALK_LENGTH_SHIFT: u32 = 3;
/// EPTP bit 6: enable accessed and dirty flags.
pub const EPTP_ACCESSED_DIRTY: u64 = 1 << 6;
/// Levels in the hierarchy this module builds.
const WALK_LENGTH: u64 = 4;

/// The EPT entry format (29.3.2).
pub struct Ept;

impl EntryFormat for Ept {
    /// A non-leaf entry grants everything, so the leaf alone decides: an access
    /// needs its right in every entry of the walk (29.3.3).
    const TABLE_FLAGS: u64 = PERMISSIONS;
    const LARGE_PAGE_BIT: u64 = LARGE_PAGE;
    const ADDRESS_MASK: u64 = ADDRESS_MASK;
    /// A leaf's address field ends at bit 51.
    const HOST_LIMIT: Option<u64> = Some(ADDRESS_MASK + SMALL_PAGE);

    fn is_present(entry: u64) -> bool {
        entry & PERMISSIONS != 0
    }

    fn is_writable(entry: u64) -> bool {
        entry & WRITE != 0
    }

    fn leaf_flags(access: Access) -> u64 {
        let permissions = match access {
            Access::ReadWrite => READ | WRITE | EXECUTE,
            Access::ReadOnly => READ | EXECUTE,
        };
        permissions | (u64::from(MEMORY_TYPE_WB) << MEMORY_TYPE_SHIFT)
    }

    fn table_address(table: &Table) -> u64 {
        phys_addr(table)
    }

    /// The value for the VMCS's EPT pointer: write-back paging structures, a
    /// 4-level walk, accessed/dirty flags off, and the PML4 address (SDM 25.6.11).
    fn root_pointer(root: u64) -> u64 {
        root | ((WALK_LENGTH - 1) << EPTP_WALK_LENGTH_SHIFT) | u64::from(MEMORY_TYPE_WB)
    }
}

/// An EPT hierarchy, owning its tables; its [`PageTables::root_pointer`]
/// is the VMCS's EPT pointer.
pub type ExtendedPageTable = PageTables<Ept>;

#[cfg(test)]
mod tests {
    //! The EPT encoding only: how the tables are built and walked is tested
    //! once, for any entry format, in `second_level_paging`.

    use super::*;

    /// Every present entry with whether it is a leaf.
    fn entries(t: &ExtendedPageTable) -> impl Iterator<Item = (u64, bool)> + '_ {
        t.tables().flat_map(|table| {
            table
                .iter()
                .copied()
                .filter(|e| e & PERMISSIONS != 0)
                .map(|e| {
                    let points_to_table = e & LARGE_PAGE == 0 && t.is_table(e & ADDRESS_MASK);
                    (e, !points_to_table)
                })
        })
    }

    #[test]
    fn read_only_leaves_lack_write_but_stay_executable() {
        let mut n = ExtendedPageTable::new();
        n.map(0xF_0000, 0x400F_0000, 0x1_0000, Access::ReadOnly)
            .unwrap();
        let leaves: std::vec::Vec<u64> = entries(&n).filter(|(_, l)| *l).map(|(e, _)| e).collect();
        assert_eq!(leaves.len(), 16);
        for e in leaves {
            assert_eq!(e & PERMISSIONS, READ | EXECUTE);
        }
    }

    #[test]
    fn host_addresses_end_at_bit_51() {
        let mut n = ExtendedPageTable::new();
        assert_eq!(
            n.map(0, 1 << 52, 0x1000, Access::ReadWrite),
            Err(MapError::OutOfRange)
        );
        assert_eq!(
            n.map(0, !0xFFF, 0x2000, Access::ReadWrite),
            Err(MapError::OutOfRange)
        );
        assert_eq!(n.table_count(), 1);
        n.map(0, (1 << 52) - 0x1000, 0x1000, Access::ReadWrite)
            .unwrap();
        assert_eq!(n.translate(0x10), Some(((1 << 52) - 0x1000 + 0x10, true)));
    }

    #[test]
    fn leaves_are_write_back_and_respect_the_guest_pat() {
        let mut n = ExtendedPageTable::new();
        n.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
        n.map(0x20_0000, 0x4020_1000, 0x1000, Access::ReadWrite)
            .unwrap();
        let leaves: std::vec::Vec<u64> = entries(&n).filter(|(_, l)| *l).map(|(e, _)| e).collect();
        assert_eq!(leaves.len(), 2);
        for e in leaves {
            assert_eq!(
                (e & MEMORY_TYPE_MASK) >> MEMORY_TYPE_SHIFT,
                u64::from(MEMORY_TYPE_WB)
            );
            assert_eq!(e & IGNORE_PAT, 0);
        }
    }

    #[test]
    fn non_leaf_entries_carry_only_permissions_and_an_address() {
        // Bits 7:3 of a PML4E, PDPTE or PDE that references a table are reserved.
        let mut n = ExtendedPageTable::new();
        n.map(0x20_0000, 0x4000_0000, 0x1000, Access::ReadOnly)
            .unwrap();
        let tables: std::vec::Vec<u64> = entries(&n).filter(|(_, l)| !*l).map(|(e, _)| e).collect();
        assert_eq!(tables.len(), 3);
        for e in tables {
            assert_eq!(e & !ADDRESS_MASK, PERMISSIONS);
        }
    }

    #[test]
    fn eptp_encodes_write_back_four_level_walk_and_root() {
        let n = ExtendedPageTable::new();
        let eptp = n.root_pointer();
        assert_eq!(eptp & EPTP_MEMORY_TYPE_MASK, 6);
        assert_eq!((eptp >> EPTP_WALK_LENGTH_SHIFT) & 0x7, 3);
        assert_eq!(eptp & EPTP_ACCESSED_DIRTY, 0);
        assert_eq!(eptp & ADDRESS_MASK, n.root());
        assert_eq!(eptp & !ADDRESS_MASK, 0x1E);
        assert_eq!(n.root() % 4096, 0);
    }
}
