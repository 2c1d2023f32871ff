//! Changing a hierarchy while the guest runs: removing mappings and changing
//! their permissions, page by page. A 2 MiB page that a change covers only in
//! part is first split into 512 4 KiB pages with the same flags, so the rest
//! of it keeps its mapping.
//!
//! The caller flushes the translations the processor may have cached for
//! the guest (an ASID flush on SVM, INVEPT on VMX) before the guest runs
//! again: removing or downgrading an entry is not seen until then (AMD APM
//! vol. 2, 15.16 "TLB Control"; Intel SDM vol. 3C, 29.4.3.1 "Operations that
//! Invalidate Cached Mappings").

use super::{Access, EntryFormat, MapError, PageTables, GUEST_LIMIT, LARGE_PAGE, SMALL_PAGE};

/// What to do to each page of a range.
#[derive(Clone, Copy)]
enum Change {
    Remove,
    Protect(Access),
}

impl<F: EntryFormat> PageTables<F> {
    /// Removes every mapping in `[gpa, gpa+len)`; pages not mapped are left
    /// as they are.
    pub fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), MapError> {
        self.change(gpa, len, Change::Remove)
    }

    /// Gives every page in `[gpa, gpa+len)` the permissions of `access`,
    /// keeping its host address. Every page must be mapped: the first one
    /// that is not is refused, with the pages before it already changed.
    pub fn protect(&mut self, gpa: u64, len: u64, access: Access) -> Result<(), MapError> {
        self.change(gpa, len, Change::Protect(access))
    }

    fn change(&mut self, gpa: u64, len: u64, change: Change) -> Result<(), MapError> {
        if !gpa.is_multiple_of(SMALL_PAGE) || !len.is_multiple_of(SMALL_PAGE) {
            return Err(MapError::Misaligned);
        }
        let end = gpa.checked_add(len).ok_or(MapError::OutOfRange)?;
        if end > GUEST_LIMIT {
            return Err(MapError::OutOfRange);
        }
        let mut page = gpa;
        while page < end {
            let whole_large = page.is_multiple_of(LARGE_PAGE) && end - page >= LARGE_PAGE;
            page += self.change_at(page, whole_large, change)?;
        }
        Ok(())
    }

    /// Changes the mapping of the page at `gpa` (or of the whole 2 MiB page
    /// there when `whole_large` and it is one); returns how far it got.
    fn change_at(&mut self, gpa: u64, whole_large: bool, change: Change) -> Result<u64, MapError> {
        let idx = |level: u32| ((gpa >> (12 + 9 * level)) & 0x1FF) as usize;
        let absent = |change: Change, step: u64| match change {
            Change::Remove => Ok(step),
            Change::Protect(_) => Err(MapError::NotMapped { gpa }),
        };
        let mut table = 0;
        for level in [3u32, 2] {
            let e = self.tables[table].0[idx(level)];
            if !F::is_present(e) {
                return absent(change, SMALL_PAGE);
            }
            table = self.by_addr[&(e & F::ADDRESS_MASK)];
        }
        let pde = self.tables[table].0[idx(1)];
        if !F::is_present(pde) {
            return absent(change, SMALL_PAGE);
        }
        if pde & F::LARGE_PAGE_BIT != 0 {
            if whole_large {
                self.tables[table].0[idx(1)] = apply::<F>(pde, change, true);
                return Ok(LARGE_PAGE);
            }
            self.split_large(table, idx(1), pde);
        }
        let pde = self.tables[table].0[idx(1)];
        let pt = self.by_addr[&(pde & F::ADDRESS_MASK)];
        let pte = self.tables[pt].0[idx(0)];
        if !F::is_present(pte) {
            return absent(change, SMALL_PAGE);
        }
        self.tables[pt].0[idx(0)] = apply::<F>(pte, change, false);
        Ok(SMALL_PAGE)
    }

    /// Replaces the 2 MiB leaf at `table[index]` by a table of 512 4 KiB
    /// leaves mapping the same host range with the same flags.
    fn split_large(&mut self, table: usize, index: usize, large: u64) {
        let base = large & F::ADDRESS_MASK & !(LARGE_PAGE - 1);
        let flags = large & !F::ADDRESS_MASK & !F::LARGE_PAGE_BIT;
        let pt = self.new_table();
        for (i, e) in self.tables[pt].0.iter_mut().enumerate() {
            *e = (base + i as u64 * SMALL_PAGE) | flags;
        }
        let addr = F::table_address(&self.tables[pt]);
        self.tables[table].0[index] = addr | F::TABLE_FLAGS;
    }
}

/// `entry` after `change`: removed, or its address with the new leaf flags.
fn apply<F: EntryFormat>(entry: u64, change: Change, large: bool) -> u64 {
    match change {
        Change::Remove => 0,
        Change::Protect(access) => {
            let size_bit = if large { F::LARGE_PAGE_BIT } else { 0 };
            (entry & F::ADDRESS_MASK) | F::leaf_flags(access) | size_bit
        }
    }
}
