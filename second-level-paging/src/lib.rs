//! Second-level address translation tables: a 4-level radix tree of 4 KiB
//! tables of 512 64-bit entries that maps guest-physical to host-physical
//! addresses with 2 MiB pages where both addresses and the length allow it and
//! 4 KiB pages elsewhere, and walks itself as the processor would.
//!
//! AMD nested paging and Intel EPT share this shape (9 index bits per level,
//! a large-page bit in the level-2 entry) and differ only in what the bits of
//! an entry mean. That encoding is not here: each backend describes its own by
//! implementing [`EntryFormat`] (`svm::npt` for AMD APM vol. 2, 15.25
//! "Nested Paging"; `vmx::ept` for Intel SDM vol. 3C, 29.3 "The Extended Page
//! Table Mechanism (EPT)"), and [`PageTables`] only ORs an address with the
//! flags the format gives it and tests entries with the format's predicates.
//! Everything is monomorphised per format: no runtime dispatch.
#![no_std]
// The tables are owned boxed arrays, and a walk finds a child table through a
// map from its physical address, never through a pointer; the backends turn
// tables into physical addresses (`EntryFormat::table_address`).
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::marker::PhantomData;

/// Size of a small page and of a table.
pub const SMALL_PAGE: u64 = 4096;
/// Size of the large page a level-2 entry maps.
pub const LARGE_PAGE: u64 = 2 * 1024 * 1024;
/// Guest-physical addresses a 4-level walk covers: `[0, GUEST_LIMIT)`.
pub const GUEST_LIMIT: u64 = 1 << 48;

/// One 4 KiB table of 512 entries.
#[repr(C, align(4096))]
pub struct Table([u64; 512]);

const _: () = assert!(core::mem::size_of::<Table>() == SMALL_PAGE as usize);

/// How a backend encodes its entries, and where its tables are in physical
/// memory.
/// Access rights of a mapping, as every format can express them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read, write and execute.
    ReadWrite,
    /// Read and execute: ROM, and pages the hypervisor must see every write to.
    ReadOnly,
}

pub trait EntryFormat {
    /// The access rights a mapping can ask for.
    /// Flags of an entry that references the next table.
    const TABLE_FLAGS: u64;
    /// The bit of a level-2 entry that makes it map a large page.
    const LARGE_PAGE_BIT: u64;
    /// The bits of an entry that hold the physical address.
    const ADDRESS_MASK: u64;
    /// The end (exclusive) of the host-physical addresses [`PageTables::map`]
    /// accepts, or None to leave host addresses unchecked.
    const HOST_LIMIT: Option<u64>;
    /// Whether the processor would use the entry (a clear one faults).
    fn is_present(entry: u64) -> bool;
    /// Whether a leaf allows writes.
    fn is_writable(entry: u64) -> bool;
    /// Flags of a leaf with the rights `access` (without the large-page bit).
    fn leaf_flags(access: Access) -> u64;
    /// Physical address of a table.
    fn table_address(table: &Table) -> u64;
    /// What the processor is given to find the hierarchy whose root table is
    /// at `root`: the address itself (NPT's N_CR3), or the address with the
    /// format's control bits (EPT's EPTP).
    fn root_pointer(root: u64) -> u64 {
        root
    }
}

/// Why a mapping was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// An address or size is not aligned to 4 KiB.
    Misaligned,
    /// The range is already mapped (at another granularity or address).
    AlreadyMapped { gpa: u64 },
    /// Beyond the 48-bit guest-physical space a 4-level walk covers, or past
    /// the format's [`EntryFormat::HOST_LIMIT`].
    OutOfRange,
    /// A change of permissions for a page that is not mapped.
    NotMapped { gpa: u64 },
}

/// A 4-level hierarchy in the format `F`, owning its tables.
pub struct PageTables<F: EntryFormat> {
    tables: Vec<Box<Table>>,
    /// Physical address of a table to its index in `tables`.
    by_addr: BTreeMap<u64, usize>,
    format: PhantomData<F>,
}

impl<F: EntryFormat> Default for PageTables<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: EntryFormat> PageTables<F> {
    /// An empty hierarchy (every access faults).
    pub fn new() -> Self {
        let mut t = Self {
            tables: Vec::new(),
            by_addr: BTreeMap::new(),
            format: PhantomData,
        };
        t.new_table();
        t
    }

    /// Physical address of the root (level-4) table.
    pub fn root(&self) -> u64 {
        F::table_address(&self.tables[0])
    }

    /// What the processor is given for this hierarchy (see
    /// [`EntryFormat::root_pointer`]).
    pub fn root_pointer(&self) -> u64 {
        F::root_pointer(self.root())
    }

    fn new_table(&mut self) -> usize {
        let table = Box::new(Table([0; 512]));
        let addr = F::table_address(&table);
        self.tables.push(table);
        let index = self.tables.len() - 1;
        self.by_addr.insert(addr, index);
        index
    }

    /// Index of the table the entry `index` of table `table` points to, creating it.
    fn child(&mut self, table: usize, index: usize, gpa: u64) -> Result<usize, MapError> {
        let entry = self.tables[table].0[index];
        if !F::is_present(entry) {
            let child = self.new_table();
            let addr = F::table_address(&self.tables[child]);
            self.tables[table].0[index] = addr | F::TABLE_FLAGS;
            return Ok(child);
        }
        if entry & F::LARGE_PAGE_BIT != 0 {
            return Err(MapError::AlreadyMapped { gpa });
        }
        Ok(self.by_addr[&(entry & F::ADDRESS_MASK)])
    }

    /// Maps `[gpa, gpa+len)` to `[hpa, hpa+len)`, with 2 MiB pages where both
    /// addresses allow it and 4 KiB pages elsewhere.
    pub fn map(&mut self, gpa: u64, hpa: u64, len: u64, access: Access) -> Result<(), MapError> {
        if !gpa.is_multiple_of(SMALL_PAGE)
            || !hpa.is_multiple_of(SMALL_PAGE)
            || !len.is_multiple_of(SMALL_PAGE)
        {
            return Err(MapError::Misaligned);
        }
        let end = gpa.checked_add(len).ok_or(MapError::OutOfRange)?;
        if end > GUEST_LIMIT {
            return Err(MapError::OutOfRange);
        }
        if let Some(limit) = F::HOST_LIMIT {
            let host_end = hpa.checked_add(len).ok_or(MapError::OutOfRange)?;
            if host_end > limit {
                return Err(MapError::OutOfRange);
            }
        }
        let mut off = 0;
        while off < len {
            let (g, h) = (gpa + off, hpa + off);
            if g.is_multiple_of(LARGE_PAGE)
                && h.is_multiple_of(LARGE_PAGE)
                && len - off >= LARGE_PAGE
            {
                self.map_one(g, h, true, access)?;
                off += LARGE_PAGE;
            } else {
                self.map_one(g, h, false, access)?;
                off += SMALL_PAGE;
            }
        }
        Ok(())
    }

    fn map_one(&mut self, gpa: u64, hpa: u64, large: bool, access: Access) -> Result<(), MapError> {
        let idx = |level: u32| ((gpa >> (12 + 9 * level)) & 0x1FF) as usize;
        let pdpt = self.child(0, idx(3), gpa)?;
        let pd = self.child(pdpt, idx(2), gpa)?;
        let flags = F::leaf_flags(access);
        if large {
            let e = &mut self.tables[pd].0[idx(1)];
            if F::is_present(*e) {
                return Err(MapError::AlreadyMapped { gpa });
            }
            *e = hpa | flags | F::LARGE_PAGE_BIT;
            return Ok(());
        }
        let pt = self.child(pd, idx(1), gpa)?;
        let e = &mut self.tables[pt].0[idx(0)];
        if F::is_present(*e) {
            return Err(MapError::AlreadyMapped { gpa });
        }
        *e = hpa | flags;
        Ok(())
    }

    /// Walks the tables as the processor would: the host-physical address and
    /// writability of `gpa`, or None where the guest would fault.
    pub fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        let mut table = 0;
        for level in (0..4).rev() {
            let e = self.tables[table].0[((gpa >> (12 + 9 * level)) & 0x1FF) as usize];
            if !F::is_present(e) {
                return None;
            }
            if level == 0 || (level == 1 && e & F::LARGE_PAGE_BIT != 0) {
                let page = if level == 0 { SMALL_PAGE } else { LARGE_PAGE };
                return Some((
                    (e & F::ADDRESS_MASK & !(page - 1)) | (gpa & (page - 1)),
                    F::is_writable(e),
                ));
            }
            table = *self.by_addr.get(&(e & F::ADDRESS_MASK))?;
        }
        None
    }

    /// Number of 4 KiB tables in use.
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// The entries of every table, the root first (for inspection: tests
    /// check the exact bits a format produced).
    pub fn tables(&self) -> impl Iterator<Item = &[u64; 512]> + '_ {
        self.tables.iter().map(|t| &t.0)
    }

    /// Whether `addr` is the physical address of one of these tables.
    pub fn is_table(&self, addr: u64) -> bool {
        self.by_addr.contains_key(&addr)
    }
}

mod update;

#[cfg(test)]
mod tests;
