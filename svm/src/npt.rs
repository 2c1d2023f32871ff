//! Nested page tables: guest-physical to host-physical translation (AMD APM
//! vol. 2, 15.25 "Nested Paging"). The tables use the long-mode 4-level format
//! (APM vol. 2, 5.3 "Long-Mode Page Translation"); every nested access counts as
//! a user access (15.25.5), so every entry sets U/S.
//!
//! Only what is mapped here is guest memory: anything else the guest touches
//! ends in a nested page fault, which is how MMIO reaches the hypervisor.

use crate::phys_addr;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

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

const SMALL: u64 = 4096;
const LARGE: u64 = 2 * 1024 * 1024;

/// One 4 KiB table of 512 entries.
#[repr(C, align(4096))]
struct Table([u64; 512]);

/// Why a mapping was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NptError {
    /// An address or size is not aligned to the page size asked for.
    Misaligned,
    /// The range is already mapped (at another granularity or address).
    AlreadyMapped { gpa: u64 },
    /// Beyond the 48-bit guest-physical space.
    OutOfRange,
}

/// Access rights of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// A nested page-table hierarchy, owning its tables.
pub struct NestedPageTable {
    tables: Vec<Box<Table>>,
    /// Physical address of a table to its index in `tables`.
    by_addr: BTreeMap<u64, usize>,
}

impl Default for NestedPageTable {
    fn default() -> Self {
        Self::new()
    }
}

impl NestedPageTable {
    /// An empty hierarchy (everything faults).
    pub fn new() -> Self {
        let mut t = Self {
            tables: Vec::new(),
            by_addr: BTreeMap::new(),
        };
        t.new_table();
        t
    }

    /// The value for the VMCB's N_CR3.
    pub fn root(&self) -> u64 {
        phys_addr(&*self.tables[0])
    }

    fn new_table(&mut self) -> usize {
        let table = Box::new(Table([0; 512]));
        let addr = phys_addr(&*table);
        self.tables.push(table);
        let index = self.tables.len() - 1;
        self.by_addr.insert(addr, index);
        index
    }

    /// Index of the table the entry `index` of table `table` points to, creating it.
    fn child(&mut self, table: usize, index: usize, gpa: u64) -> Result<usize, NptError> {
        let entry = self.tables[table].0[index];
        if entry & PRESENT == 0 {
            let child = self.new_table();
            let addr = phys_addr(&*self.tables[child]);
            self.tables[table].0[index] = addr | PRESENT | WRITABLE | USER;
            return Ok(child);
        }
        if entry & PAGE_SIZE_BIT != 0 {
            return Err(NptError::AlreadyMapped { gpa });
        }
        Ok(self.by_addr[&(entry & ADDRESS_MASK)])
    }

    fn leaf_flags(access: Access) -> u64 {
        match access {
            Access::ReadWrite => PRESENT | WRITABLE | USER,
            Access::ReadOnly => PRESENT | USER,
        }
    }

    /// Maps `[gpa, gpa+len)` to `[hpa, hpa+len)`, with 2 MiB pages where both
    /// addresses allow it and 4 KiB pages elsewhere.
    pub fn map(&mut self, gpa: u64, hpa: u64, len: u64, access: Access) -> Result<(), NptError> {
        if !gpa.is_multiple_of(SMALL) || !hpa.is_multiple_of(SMALL) || !len.is_multiple_of(SMALL) {
            return Err(NptError::Misaligned);
        }
        let end = gpa.checked_add(len).ok_or(NptError::OutOfRange)?;
        if end > 1 << 48 {
            return Err(NptError::OutOfRange);
        }
        let mut off = 0;
        while off < len {
            let (g, h) = (gpa + off, hpa + off);
            if g.is_multiple_of(LARGE) && h.is_multiple_of(LARGE) && len - off >= LARGE {
                self.map_one(g, h, true, access)?;
                off += LARGE;
            } else {
                self.map_one(g, h, false, access)?;
                off += SMALL;
            }
        }
        Ok(())
    }

    fn map_one(&mut self, gpa: u64, hpa: u64, large: bool, access: Access) -> Result<(), NptError> {
        let idx = |level: u32| ((gpa >> (12 + 9 * level)) & 0x1FF) as usize;
        let pdpt = self.child(0, idx(3), gpa)?;
        let pd = self.child(pdpt, idx(2), gpa)?;
        let flags = Self::leaf_flags(access);
        if large {
            let e = &mut self.tables[pd].0[idx(1)];
            if *e & PRESENT != 0 {
                return Err(NptError::AlreadyMapped { gpa });
            }
            *e = hpa | flags | PAGE_SIZE_BIT;
            return Ok(());
        }
        let pt = self.child(pd, idx(1), gpa)?;
        let e = &mut self.tables[pt].0[idx(0)];
        if *e & PRESENT != 0 {
            return Err(NptError::AlreadyMapped { gpa });
        }
        *e = hpa | flags;
        Ok(())
    }

    /// Walks the tables as the processor would: the host-physical address and
    /// writability of `gpa`, or None where the guest would take a nested fault.
    pub fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        let mut table = 0;
        for level in (0..4).rev() {
            let e = self.tables[table].0[((gpa >> (12 + 9 * level)) & 0x1FF) as usize];
            if e & PRESENT == 0 {
                return None;
            }
            if level == 0 || (level == 1 && e & PAGE_SIZE_BIT != 0) {
                let page = if level == 0 { SMALL } else { LARGE };
                return Some((
                    (e & ADDRESS_MASK & !(page - 1)) | (gpa & (page - 1)),
                    e & WRITABLE != 0,
                ));
            }
            table = *self.by_addr.get(&(e & ADDRESS_MASK))?;
        }
        None
    }

    /// Number of 4 KiB tables in use.
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_aligned_ranges_use_2m_pages() {
        let mut n = NestedPageTable::new();
        n.map(0, 0x4000_0000, 16 << 20, Access::ReadWrite).unwrap();
        // root + PDPT + PD, no page tables
        assert_eq!(n.table_count(), 3);
        assert_eq!(n.translate(0x12_3456), Some((0x4012_3456, true)));
        assert_eq!(n.translate(0xFF_FFFF), Some((0x40FF_FFFF, true)));
        assert_eq!(n.translate(0x100_0000), None);
    }

    #[test]
    fn unaligned_host_address_falls_back_to_4k_pages() {
        let mut n = NestedPageTable::new();
        n.map(0, 0x4000_1000, 2 << 20, Access::ReadWrite).unwrap();
        assert_eq!(n.table_count(), 4);
        assert_eq!(n.translate(0x1F_FFFF), Some((0x4020_0FFF, true)));
    }

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
    fn overlapping_maps_are_refused() {
        let mut n = NestedPageTable::new();
        n.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
        assert_eq!(
            n.map(0x1000, 0x5000_0000, 0x1000, Access::ReadWrite),
            Err(NptError::AlreadyMapped { gpa: 0x1000 })
        );
        n.map(0x40_0000, 0x5000_0000, 0x1000, Access::ReadWrite)
            .unwrap();
        assert!(matches!(
            n.map(0x40_0000, 0x5000_0000, 0x1000, Access::ReadWrite),
            Err(NptError::AlreadyMapped { .. })
        ));
    }

    #[test]
    fn bad_arguments_are_refused() {
        let mut n = NestedPageTable::new();
        assert_eq!(
            n.map(0x10, 0, 0x1000, Access::ReadWrite),
            Err(NptError::Misaligned)
        );
        assert_eq!(
            n.map(1 << 48, 0, 0x1000, Access::ReadWrite),
            Err(NptError::OutOfRange)
        );
        assert_eq!(
            n.map(!0xFFF, 0, 0x2000, Access::ReadWrite),
            Err(NptError::OutOfRange)
        );
    }

    #[test]
    fn every_entry_is_user_accessible() {
        let mut n = NestedPageTable::new();
        n.map(0x20_0000, 0x4000_0000, 0x1000, Access::ReadWrite)
            .unwrap();
        for t in &n.tables {
            for e in t.0.iter().filter(|e| **e & PRESENT != 0) {
                assert_ne!(e & USER, 0);
            }
        }
    }
}
