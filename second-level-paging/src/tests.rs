//! The hierarchy's behaviour, tested once for any entry format: every
//! generic test below runs over two made-up formats whose bits differ from
//! NPT's and EPT's (and from each other's), so a test can only pass if the
//! code takes every bit from the format. `Fake` marks presence with one bit,
//! as NPT does; `Permissions` treats an entry with any of three permission
//! bits as present, as EPT does. The backends test only their own encodings.

use super::*;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
/// Set only in entries that reference a table.
const TABLE_MARK: u64 = 1 << 3;
/// Set only in leaves.
const LEAF_MARK: u64 = 1 << 4;
const LARGE: u64 = 1 << 7;
const ADDRESS: u64 = 0x000F_FFFF_FFFF_F000;
const HOST_END: u64 = 1 << 40;

/// The made-up format, checking host addresses against `HOST_END`.
struct Fake;

impl EntryFormat for Fake {
    const TABLE_FLAGS: u64 = PRESENT | WRITABLE | TABLE_MARK;
    const LARGE_PAGE_BIT: u64 = LARGE;
    const ADDRESS_MASK: u64 = ADDRESS;
    const HOST_LIMIT: Option<u64> = Some(HOST_END);
    fn is_present(entry: u64) -> bool {
        entry & PRESENT != 0
    }
    fn is_writable(entry: u64) -> bool {
        entry & WRITABLE != 0
    }
    fn leaf_flags(access: Access) -> u64 {
        match access {
            Access::ReadWrite => PRESENT | WRITABLE | LEAF_MARK,
            Access::ReadOnly => PRESENT | LEAF_MARK,
        }
    }
    fn table_address(table: &Table) -> u64 {
        table as *const Table as u64
    }
}

/// The same format without a host-address check.
struct Unchecked;

impl EntryFormat for Unchecked {
    const TABLE_FLAGS: u64 = Fake::TABLE_FLAGS;
    const LARGE_PAGE_BIT: u64 = Fake::LARGE_PAGE_BIT;
    const ADDRESS_MASK: u64 = Fake::ADDRESS_MASK;
    const HOST_LIMIT: Option<u64> = None;
    fn is_present(entry: u64) -> bool {
        Fake::is_present(entry)
    }
    fn is_writable(entry: u64) -> bool {
        Fake::is_writable(entry)
    }
    fn leaf_flags(access: Access) -> u64 {
        Fake::leaf_flags(access)
    }
    fn table_address(table: &Table) -> u64 {
        Fake::table_address(table)
    }
}

/// Permission bits of the second made-up format: any one makes an entry present.
const P_READ: u64 = 1 << 9;
const P_WRITE: u64 = 1 << 10;
const P_EXECUTE: u64 = 1 << 11;
/// Set only in leaves of the second format.
const P_LEAF_MARK: u64 = 1 << 5;
/// The second format's large-page bit (not bit 7).
const P_LARGE: u64 = 1 << 8;

/// A format that, like EPT, has no present bit: an entry is present when it
/// grants anything, and a table reference grants everything. It leaves host
/// addresses unchecked.
struct Permissions;

impl EntryFormat for Permissions {
    const TABLE_FLAGS: u64 = P_READ | P_WRITE | P_EXECUTE;
    const LARGE_PAGE_BIT: u64 = P_LARGE;
    const ADDRESS_MASK: u64 = ADDRESS;
    const HOST_LIMIT: Option<u64> = None;
    fn is_present(entry: u64) -> bool {
        entry & (P_READ | P_WRITE | P_EXECUTE) != 0
    }
    fn is_writable(entry: u64) -> bool {
        entry & P_WRITE != 0
    }
    fn leaf_flags(access: Access) -> u64 {
        match access {
            Access::ReadWrite => P_READ | P_WRITE | P_EXECUTE | P_LEAF_MARK,
            Access::ReadOnly => P_READ | P_EXECUTE | P_LEAF_MARK,
        }
    }
    fn table_address(table: &Table) -> u64 {
        table as *const Table as u64
    }
}

/// Every present entry with whether it references one of the tables.
fn entries<F: EntryFormat>(t: &PageTables<F>) -> std::vec::Vec<(u64, bool)> {
    t.tables()
        .flat_map(|table| table.iter().copied())
        .filter(|e| F::is_present(*e))
        .map(|e| {
            let references_table = e & F::LARGE_PAGE_BIT == 0 && t.is_table(e & F::ADDRESS_MASK);
            (e, references_table)
        })
        .collect()
}

/// Runs each generic test below over each made-up format, in a module named
/// after the format.
macro_rules! for_each_format {
    ($($test:ident),* $(,)?) => {
        mod fake {
            $(
                #[test]
                fn $test() {
                    super::$test::<super::Fake>();
                }
            )*
        }
        mod unchecked {
            $(
                #[test]
                fn $test() {
                    super::$test::<super::Unchecked>();
                }
            )*
        }
        mod permissions {
            $(
                #[test]
                fn $test() {
                    super::$test::<super::Permissions>();
                }
            )*
        }
    };
}

for_each_format!(
    an_empty_hierarchy_is_one_table_and_translates_nothing,
    large_aligned_ranges_use_2m_pages,
    unaligned_host_address_falls_back_to_4k_pages,
    a_short_tail_uses_4k_pages_after_the_large_ones,
    read_only_mappings_translate_as_not_writable,
    entries_are_an_address_ored_with_the_format_flags,
    overlapping_maps_are_refused,
    misaligned_arguments_are_refused_before_any_table_is_made,
    guest_addresses_beyond_48_bits_are_refused,
);

fn an_empty_hierarchy_is_one_table_and_translates_nothing<F: EntryFormat>() {
    let t = PageTables::<F>::new();
    assert_eq!(t.table_count(), 1);
    assert_eq!(t.root() % SMALL_PAGE, 0);
    assert!(t.is_table(t.root()));
    assert_eq!(t.translate(0), None);
    assert!(entries(&t).is_empty());
}

fn large_aligned_ranges_use_2m_pages<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 16 << 20, Access::ReadWrite).unwrap();
    // root + level 3 + level 2, no level-1 tables
    assert_eq!(t.table_count(), 3);
    assert_eq!(t.translate(0x12_3456), Some((0x4012_3456, true)));
    assert_eq!(t.translate(0xFF_FFFF), Some((0x40FF_FFFF, true)));
    assert_eq!(t.translate(0x100_0000), None);
}

fn unaligned_host_address_falls_back_to_4k_pages<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_1000, 2 << 20, Access::ReadWrite).unwrap();
    assert_eq!(t.table_count(), 4);
    assert_eq!(t.translate(0), Some((0x4000_1000, true)));
    assert_eq!(t.translate(0x1F_FFFF), Some((0x4020_0FFF, true)));
    assert_eq!(t.translate(0x20_0000), None);
}

fn a_short_tail_uses_4k_pages_after_the_large_ones<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, (2 << 20) + 0x3000, Access::ReadWrite)
        .unwrap();
    let leaves: std::vec::Vec<u64> = entries(&t)
        .into_iter()
        .filter(|(_, table)| !table)
        .map(|(e, _)| e)
        .collect();
    assert_eq!(leaves.len(), 4);
    assert_eq!(
        leaves
            .iter()
            .filter(|e| *e & F::LARGE_PAGE_BIT != 0)
            .count(),
        1
    );
    assert_eq!(t.translate(0x20_2FFF), Some((0x4020_2FFF, true)));
    assert_eq!(t.translate(0x20_3000), None);
}

fn read_only_mappings_translate_as_not_writable<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
    t.map(0xFFFF_0000, 0x400F_0000, 0x1_0000, Access::ReadOnly)
        .unwrap();
    assert_eq!(t.translate(0xFFFF_FFF0), Some((0x400F_FFF0, false)));
    assert_eq!(t.translate(0xFFFE_FFFF), None);
    assert_eq!(t.translate(0x1234), Some((0x4000_1234, true)));
}

fn entries_are_an_address_ored_with_the_format_flags<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
    t.map(0x20_0000, 0x5000_1000, 0x1000, Access::ReadOnly)
        .unwrap();
    let all = entries(&t);
    let tables: std::vec::Vec<u64> = all.iter().filter(|(_, t)| *t).map(|(e, _)| *e).collect();
    // root -> level 3 -> level 2 -> one level-1 table
    assert_eq!(tables.len(), 3);
    for e in tables {
        assert_eq!(e & !F::ADDRESS_MASK, F::TABLE_FLAGS);
        assert_eq!((e & F::ADDRESS_MASK) % SMALL_PAGE, 0);
    }
    let mut leaves: std::vec::Vec<u64> = all.iter().filter(|(_, t)| !*t).map(|(e, _)| *e).collect();
    leaves.sort_unstable();
    assert_eq!(
        leaves,
        [
            0x4000_0000 | F::leaf_flags(Access::ReadWrite) | F::LARGE_PAGE_BIT,
            0x5000_1000 | F::leaf_flags(Access::ReadOnly),
        ]
    );
}

fn overlapping_maps_are_refused<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 2 << 20, Access::ReadWrite).unwrap();
    // A 4 KiB page inside a 2 MiB one.
    assert_eq!(
        t.map(0x1000, 0x5000_0000, 0x1000, Access::ReadWrite),
        Err(MapError::AlreadyMapped { gpa: 0x1000 })
    );
    // The same 2 MiB page again.
    assert_eq!(
        t.map(0, 0x5000_0000, 2 << 20, Access::ReadWrite),
        Err(MapError::AlreadyMapped { gpa: 0 })
    );
    // The same 4 KiB page again.
    t.map(0x40_0000, 0x5000_0000, 0x1000, Access::ReadWrite)
        .unwrap();
    assert_eq!(
        t.map(0x40_0000, 0x6000_0000, 0x1000, Access::ReadOnly),
        Err(MapError::AlreadyMapped { gpa: 0x40_0000 })
    );
    // A 2 MiB page over a range that already has a level-1 table.
    assert_eq!(
        t.map(0x40_0000, 0x6000_0000, 2 << 20, Access::ReadWrite),
        Err(MapError::AlreadyMapped { gpa: 0x40_0000 })
    );
    // The first mappings are untouched.
    assert_eq!(t.translate(0x1000), Some((0x4000_1000, true)));
    assert_eq!(t.translate(0x40_0000), Some((0x5000_0000, true)));
}

fn misaligned_arguments_are_refused_before_any_table_is_made<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    for (gpa, hpa, len) in [(0x10, 0, 0x1000), (0, 0x800, 0x1000), (0, 0, 0x1800)] {
        assert_eq!(
            t.map(gpa, hpa, len, Access::ReadWrite),
            Err(MapError::Misaligned)
        );
    }
    assert_eq!(t.table_count(), 1);
}

fn guest_addresses_beyond_48_bits_are_refused<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    assert_eq!(
        t.map(GUEST_LIMIT, 0, 0x1000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        t.map(GUEST_LIMIT - 0x1000, 0, 0x2000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        t.map(!0xFFF, 0, 0x2000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(t.table_count(), 1);
    t.map(GUEST_LIMIT - 0x1000, 0x1000, 0x1000, Access::ReadWrite)
        .unwrap();
    assert_eq!(t.translate(GUEST_LIMIT - 1), Some((0x1FFF, true)));
}

#[test]
fn host_addresses_are_checked_only_against_a_format_limit() {
    let mut checked = PageTables::<Fake>::new();
    assert_eq!(
        checked.map(0, HOST_END, 0x1000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        checked.map(0, HOST_END - 0x1000, 0x2000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        checked.map(0, !0xFFF, 0x2000, Access::ReadWrite),
        Err(MapError::OutOfRange)
    );
    assert_eq!(checked.table_count(), 1);
    checked
        .map(0, HOST_END - 0x1000, 0x1000, Access::ReadWrite)
        .unwrap();

    let mut unchecked = PageTables::<Unchecked>::new();
    unchecked
        .map(0, HOST_END, 0x1000, Access::ReadWrite)
        .unwrap();
    assert_eq!(unchecked.translate(0x10), Some((HOST_END + 0x10, true)));
}

/// The runtime changes (unmap, protect), over each format.
mod runtime_changes {
    use super::*;
    for_each_format!(
        unmapping_part_of_a_large_page_splits_it_and_keeps_the_rest,
        unmapping_a_whole_large_page_clears_it_without_a_new_table,
        protecting_changes_permissions_and_keeps_addresses,
        protecting_an_unmapped_page_is_refused_and_unmapping_one_is_not,
        runtime_changes_check_alignment_and_range,
    );
}

fn unmapping_part_of_a_large_page_splits_it_and_keeps_the_rest<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, LARGE_PAGE, Access::ReadWrite)
        .unwrap();
    let tables = t.table_count();
    t.unmap(0x5000, 2 * SMALL_PAGE).unwrap();
    assert_eq!(t.table_count(), tables + 1, "one new page table");
    assert_eq!(t.translate(0x5000), None);
    assert_eq!(t.translate(0x6FFF), None);
    assert_eq!(t.translate(0x4FFF), Some((0x4000_4FFF, true)));
    assert_eq!(t.translate(0x7000), Some((0x4000_7000, true)));
    assert_eq!(
        t.translate(LARGE_PAGE - 1),
        Some((0x4000_0000 + LARGE_PAGE - 1, true))
    );
    // The split page's leaves carry the format's leaf flags, not the large bit.
    let leaves = entries(&t)
        .into_iter()
        .filter(|(e, table)| !table && e & F::LARGE_PAGE_BIT == 0)
        .count();
    assert_eq!(leaves, 510);
}

fn unmapping_a_whole_large_page_clears_it_without_a_new_table<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 2 * LARGE_PAGE, Access::ReadWrite)
        .unwrap();
    let tables = t.table_count();
    t.unmap(LARGE_PAGE, LARGE_PAGE).unwrap();
    assert_eq!(t.table_count(), tables);
    assert_eq!(t.translate(LARGE_PAGE), None);
    assert_eq!(t.translate(0x1000), Some((0x4000_1000, true)));
    // Mapping it again works: the slot is free.
    t.map(LARGE_PAGE, 0x8000_0000, SMALL_PAGE, Access::ReadOnly)
        .unwrap();
    assert_eq!(t.translate(LARGE_PAGE), Some((0x8000_0000, false)));
}

fn protecting_changes_permissions_and_keeps_addresses<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, 2 * LARGE_PAGE, Access::ReadWrite)
        .unwrap();
    t.map(0x100_0000, 0x9000, SMALL_PAGE, Access::ReadWrite)
        .unwrap();
    t.protect(0x1000, SMALL_PAGE, Access::ReadOnly).unwrap();
    t.protect(LARGE_PAGE, LARGE_PAGE, Access::ReadOnly).unwrap();
    t.protect(0x100_0000, SMALL_PAGE, Access::ReadOnly).unwrap();
    assert_eq!(t.translate(0x1234), Some((0x4000_1234, false)));
    assert_eq!(t.translate(0x2000), Some((0x4000_2000, true)));
    assert_eq!(t.translate(0x0FFF), Some((0x4000_0FFF, true)));
    assert_eq!(
        t.translate(LARGE_PAGE + 5),
        Some((0x4000_0000 + LARGE_PAGE + 5, false))
    );
    assert_eq!(t.translate(0x100_0000), Some((0x9000, false)));
    t.protect(0x1000, SMALL_PAGE, Access::ReadWrite).unwrap();
    assert_eq!(t.translate(0x1000), Some((0x4000_1000, true)));
}

fn protecting_an_unmapped_page_is_refused_and_unmapping_one_is_not<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    t.map(0, 0x4000_0000, SMALL_PAGE, Access::ReadWrite)
        .unwrap();
    assert_eq!(
        t.protect(0, 2 * SMALL_PAGE, Access::ReadOnly),
        Err(MapError::NotMapped { gpa: SMALL_PAGE })
    );
    assert_eq!(t.unmap(0x10_0000, 4 * SMALL_PAGE), Ok(()));
    assert_eq!(t.unmap(0, 2 * SMALL_PAGE), Ok(()));
    assert_eq!(t.translate(0), None);
}

fn runtime_changes_check_alignment_and_range<F: EntryFormat>() {
    let mut t = PageTables::<F>::new();
    assert_eq!(t.unmap(0x10, SMALL_PAGE), Err(MapError::Misaligned));
    assert_eq!(
        t.protect(0, 0x10, Access::ReadOnly),
        Err(MapError::Misaligned)
    );
    assert_eq!(
        t.unmap(GUEST_LIMIT - SMALL_PAGE, 2 * SMALL_PAGE),
        Err(MapError::OutOfRange)
    );
    assert_eq!(
        t.unmap(u64::MAX - 0xFFF, SMALL_PAGE),
        Err(MapError::OutOfRange)
    );
}
