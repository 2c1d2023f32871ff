//! INT 15h through its entry point, against the fake platform of the
//! system services' tests.

use super::config_table::FEATURE1_KBD_INTERCEPT;
use super::memory_map::{BLOCK_64K, SIXTEEN_MIB};
use super::*;
use crate::memory::VecMemory;
use crate::system::test_platform::{regs_with_flags, FakePlatform};
use alloc::vec;
use alloc::vec::Vec;
use device_model::cmos_rtc::{CMOS_MEM_ABOVE_16M_HIGH, CMOS_MEM_ABOVE_16M_LOW};

const MIB: u64 = 1 << 20;

fn mem() -> VecMemory {
    VecMemory(vec![0; 0x10_0000])
}

/// Walks E820 as Linux's `detect_memory_e820` does: EBX from 0 until it
/// comes back 0, a 20-byte buffer at ES:DI each time.
fn walk(ram: u64) -> Vec<(u64, u64, u32)> {
    walk_on(ram, false)
}

/// [`walk`] on a board with (`xen`) or without the Xen platform device.
fn walk_on(ram: u64, xen: bool) -> Vec<(u64, u64, u32)> {
    walk_board(ram, BoardReservations::xen_platform(xen))
}

/// [`walk`] through [`int15_on`] on a board with `board`'s reservations.
fn walk_board(ram: u64, board: BoardReservations) -> Vec<(u64, u64, u32)> {
    let mut m = mem();
    let mut pf = FakePlatform::new(ram);
    let mut out = Vec::new();
    let mut ebx = 0;
    for _ in 0..16 {
        let mut r = Regs {
            eax: 0xE820,
            ebx,
            ecx: 24,
            edx: SMAP,
            es: 0x0800,
            edi: 0x0010,
            ..regs_with_flags()
        };
        assert_eq!(int15_on(&mut r, &mut m, &mut pf, board), Next::Return);
        assert!(!r.cf());
        assert_eq!((r.eax, r.ecx), (SMAP, 20));
        let b = &m.0[0x8010..0x8010 + 20];
        out.push((
            u64::from_le_bytes(b[0..8].try_into().unwrap()),
            u64::from_le_bytes(b[8..16].try_into().unwrap()),
            u32::from_le_bytes(b[16..20].try_into().unwrap()),
        ));
        ebx = r.ebx;
        if ebx == 0 {
            return out;
        }
    }
    panic!("E820 never ended");
}

#[test]
fn e820_walk_with_ebx_continuation_lists_the_map() {
    assert_eq!(
        walk(512 * MIB),
        vec![
            (0, 0x9_FC00, 1),
            (0x9_FC00, 0x400, 2),
            (0xE_0000, 0x2_0000, 2),
            (0x10_0000, 511 * MIB, 1),
        ]
    );
}

#[test]
fn e820_puts_ram_past_3_5_gib_above_4_gib() {
    let map = walk(4096 * MIB);
    assert_eq!(map[3], (0x10_0000, 0xE000_0000 - 0x10_0000, 1));
    assert_eq!(map[4], (0x1_0000_0000, 0x2000_0000, 1));
    assert_eq!(map.len(), 5);
}

#[test]
fn e820_splits_ram_where_the_cmos_memory_bytes_do() {
    let mut pf = FakePlatform::new(4096 * MIB);
    pf.rtc.set_memory_size(4096 * MIB);
    let blocks_above_16m = u64::from(pf.cmos_read(CMOS_MEM_ABOVE_16M_LOW))
        | u64::from(pf.cmos_read(CMOS_MEM_ABOVE_16M_HIGH)) << 8;
    let below_4g = SIXTEEN_MIB + blocks_above_16m * BLOCK_64K;
    assert_eq!(below_4g, RAM_BELOW_4G_LIMIT);
    let map = walk(4096 * MIB);
    assert_eq!(map[3].0 + map[3].1, below_4g);
}

#[test]
fn e820_with_one_mib_has_no_extended_range() {
    assert_eq!(walk(MIB).len(), 3);
}

#[test]
fn e820_reserves_the_xen_special_pages_between_low_and_high_ram() {
    let special = (
        XEN_SPECIAL_PAGES,
        XEN_SPECIAL_PAGES_SIZE,
        E820_TYPE_RESERVED,
    );
    assert_eq!(special, (0xFEFF_8000, 0x8000, 2));
    let map = walk_on(512 * MIB, true);
    assert_eq!(map.len(), 5);
    assert_eq!(map[..4], walk(512 * MIB)[..]);
    assert_eq!(map[4], special);
    let map = walk_on(4096 * MIB, true);
    assert_eq!(map.len(), 6);
    assert_eq!(map[4], special);
    assert_eq!(map[5], (0x1_0000_0000, 0x2000_0000, 1));
    assert_eq!(walk_on(MIB, true)[3], special);
}

/// The ACPI tables' size a board with them reserves (`pc_acpi::TABLES_MAX_SIZE`;
/// pc-acpi's tests check the two agree).
const ACPI: u64 = 64 << 10;

/// Every combination of reservations.
fn boards() -> [BoardReservations; 4] {
    [(false, 0), (true, 0), (false, ACPI), (true, ACPI)].map(|(xen, acpi)| BoardReservations {
        xen_special_pages: xen,
        acpi_tables: acpi,
    })
}

#[test]
fn e820_maps_are_sorted_and_never_overlap() {
    for board in boards() {
        for ram in [
            MIB,
            MIB + ACPI,
            MIB + ACPI + 0x1234,
            2 * MIB,
            16 * MIB,
            3584 * MIB,
            4096 * MIB,
            1 << 40,
        ] {
            let map = e820_map(ram, board);
            let entries = map.as_slice();
            assert!(entries.iter().all(|e| e.length > 0), "{ram:#x} {board:?}");
            for pair in entries.windows(2) {
                assert!(
                    pair[0].base + pair[0].length <= pair[1].base,
                    "{ram:#x} {board:?}: {pair:x?}"
                );
            }
            let total = |kind| -> u64 {
                entries
                    .iter()
                    .filter(|e| e.kind == kind)
                    .map(|e| e.length)
                    .sum()
            };
            // RAM is all there but what lies between the EBDA and 1 MiB,
            // and the ACPI tables, which are type 3.
            let below_1m_hole = ram.min(HIGH_RAM_BASE).saturating_sub(LOW_RAM_LIMIT);
            assert_eq!(
                total(E820_TYPE_RAM) + total(E820_TYPE_ACPI),
                ram - below_1m_hole,
                "{ram:#x} {board:?}"
            );
            let acpi = acpi_tables_region(ram, board.acpi_tables).map_or(0, |(b, e)| e - b);
            assert_eq!(total(E820_TYPE_ACPI), acpi, "{ram:#x} {board:?}");
        }
    }
}

#[test]
fn e820_gives_the_acpi_tables_the_top_of_low_ram_as_type_3() {
    let board = BoardReservations {
        xen_special_pages: false,
        acpi_tables: ACPI,
    };
    assert_eq!(
        walk_board(512 * MIB, board),
        vec![
            (0, 0x9_FC00, 1),
            (0x9_FC00, 0x400, 2),
            (0xE_0000, 0x2_0000, 2),
            (0x10_0000, 511 * MIB - ACPI, 1),
            (512 * MIB - ACPI, ACPI, 3),
        ]
    );
    assert_eq!(
        acpi_tables_region(512 * MIB, ACPI),
        Some((512 * MIB - ACPI, 512 * MIB))
    );
    // At the 4 GiB split the tables end where low RAM does, and with the Xen
    // pages the map is as long as it gets.
    let map = walk_board(
        4096 * MIB,
        BoardReservations {
            xen_special_pages: true,
            ..board
        },
    );
    assert_eq!(map.len(), E820_MAX_ENTRIES);
    assert_eq!(map[3], (0x10_0000, 0xE000_0000 - 0x10_0000 - ACPI, 1));
    assert_eq!(map[4], (0xE000_0000 - ACPI, ACPI, 3));
    assert_eq!(map[5], (XEN_SPECIAL_PAGES, XEN_SPECIAL_PAGES_SIZE, 2));
    assert_eq!(map[6], (0x1_0000_0000, 0x2000_0000, 1));
}

#[test]
fn acpi_tables_start_on_a_page_and_only_above_1_mib() {
    // RAM that does not end on a page: the region starts on the page at or
    // below `ram - ACPI`, and ends with RAM.
    let ram = 100 * MIB + 0x800;
    assert_eq!(acpi_tables_region(ram, ACPI), Some((100 * MIB - ACPI, ram)));
    assert_eq!(
        acpi_tables_region(MIB + ACPI, ACPI),
        Some((MIB, MIB + ACPI))
    );
    assert_eq!(acpi_tables_region(MIB + ACPI - 1, ACPI), None);
    assert_eq!(acpi_tables_region(MIB, ACPI), None);
    assert_eq!(acpi_tables_region(512 * MIB, 0), None, "no tables");
    // Without room for them, the map is the plain one.
    let board = BoardReservations {
        xen_special_pages: false,
        acpi_tables: ACPI,
    };
    assert_eq!(walk_board(MIB + 0x8000, board), walk(MIB + 0x8000));
}

#[test]
fn a_board_without_acpi_tables_keeps_the_pc_at_map() {
    for ram in [MIB, 16 * MIB, 512 * MIB, 4096 * MIB] {
        for xen in [false, true] {
            let board = BoardReservations::xen_platform(xen);
            assert_eq!(board.acpi_tables, 0);
            assert!(e820_map(ram, board)
                .as_slice()
                .iter()
                .all(|e| e.kind != E820_TYPE_ACPI));
        }
    }
}

#[test]
fn e820_rejects_bad_signature_small_buffer_and_bad_continuation() {
    let mut pf = FakePlatform::new(64 * MIB);
    let good = Regs {
        eax: 0xE820,
        ecx: 20,
        edx: SMAP,
        es: 0x0800,
        ..regs_with_flags()
    };
    for bad in [
        Regs {
            edx: 0x5041_4D53, // 'SMAP' byte-swapped
            ..good
        },
        Regs { ecx: 19, ..good },
        Regs { ebx: 4, ..good },
        Regs {
            ebx: 0xFFFF_FFFF,
            ..good
        },
    ] {
        let mut m = mem();
        let mut r = bad;
        int15(&mut r, &mut m, &mut pf, false);
        assert!(r.cf(), "{bad:?}");
        assert_eq!(r.ah(), 0x86);
        assert!(m.0.iter().all(|b| *b == 0), "nothing written");
    }
}

#[test]
fn e820_into_a_buffer_outside_memory_fails() {
    let mut m = VecMemory(vec![0; 0x8000]);
    let mut pf = FakePlatform::new(64 * MIB);
    let mut r = Regs {
        eax: 0xE820,
        ecx: 20,
        edx: SMAP,
        es: 0x0800,
        ..regs_with_flags()
    };
    int15(&mut r, &mut m, &mut pf, false);
    assert!(r.cf());
}

fn call(ax: u16, ram: u64) -> Regs {
    let mut r = Regs {
        eax: u32::from(ax),
        ..regs_with_flags()
    };
    int15(&mut r, &mut mem(), &mut FakePlatform::new(ram), false);
    r
}

#[test]
fn e801_and_88h_with_16_mib() {
    let r = call(0xE801, 16 * MIB);
    assert!(!r.cf());
    assert_eq!(
        (r.ax(), r.bx(), r.cx(), r.dx()),
        (15 * 1024, 0, 15 * 1024, 0)
    );
    let r = call(0x8800, 16 * MIB);
    assert!(!r.cf());
    assert_eq!(r.ax(), 0x3C00);
}

#[test]
fn e801_and_88h_with_512_mib() {
    let r = call(0xE801, 512 * MIB);
    assert!(!r.cf());
    let blocks = (512 - 16) * 16;
    assert_eq!(
        (r.ax(), r.bx(), r.cx(), r.dx()),
        (0x3C00, blocks, 0x3C00, blocks)
    );
    // 88h stops at 15 MiB, as the standard BIOS does.
    assert_eq!(call(0x8800, 512 * MIB).ax(), 0x3C00);
    assert_eq!(call(0x8800, 4 * MIB).ax(), 3 * 1024);
}

#[test]
fn e801_counts_only_ram_below_4_gib() {
    let r = call(0xE801, 3072 * MIB + 2048 * MIB);
    assert_eq!(r.bx(), ((0xE000_0000 - SIXTEEN_MIB) / BLOCK_64K) as u16);
}

#[test]
fn a20_functions_drive_port_92_and_the_8042() {
    let mut m = mem();
    let mut pf = FakePlatform::new(16 * MIB);
    post_a20(&mut pf);
    assert!(pf.a20_enabled());
    let mut run = |ax: u16, pf: &mut FakePlatform| {
        let mut r = Regs {
            eax: u32::from(ax),
            ..regs_with_flags()
        };
        int15(&mut r, &mut m, pf, false);
        assert!(!r.cf(), "{ax:#x}");
        assert_eq!(r.ah(), 0);
        r
    };
    assert_eq!(run(0x2402, &mut pf).al(), 1);
    run(0x2400, &mut pf);
    assert!(!pf.a20_enabled(), "both gates closed");
    assert_eq!(pf.port_in(pc_layout::ports::SYSTEM_CONTROL_A) & 0x02, 0);
    assert_eq!(run(0x2402, &mut pf).al(), 0);
    run(0x2401, &mut pf);
    assert!(pf.a20_enabled());
    assert_eq!(pf.port_in(pc_layout::ports::SYSTEM_CONTROL_A) & 0x02, 0x02);
    assert_eq!(run(0x2402, &mut pf).al(), 1);
    assert_eq!(run(0x2403, &mut pf).bx(), 3);
    assert!(!pf.reset_requested(), "no reset edge on port 92h");
    let mut r = Regs {
        eax: 0x2404,
        ..regs_with_flags()
    };
    int15(&mut r, &mut m, &mut pf, false);
    assert!(r.cf());
}

#[test]
fn c0h_points_at_the_configuration_table() {
    let r = call(0xC000, 16 * MIB);
    assert!(!r.cf());
    assert_eq!((r.es, r.bx(), r.ah()), (0xF000, 0xE6F5, 0));
    assert_eq!(
        SYSTEM_CONFIG_TABLE,
        [0x08, 0x00, 0xFC, 0x01, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00]
    );
    // Second 8259, RTC, EBDA; not "INT 09h calls INT 15h/4Fh".
    assert_eq!(SYSTEM_CONFIG_TABLE[5] & FEATURE1_KBD_INTERCEPT, 0);
}

#[test]
fn c1h_returns_the_ebda_segment() {
    let mut m = mem();
    m.write_u16(0x40E, 0x9FC0);
    let mut r = Regs {
        eax: 0xC100,
        ..regs_with_flags()
    };
    int15(&mut r, &mut m, &mut FakePlatform::new(16 * MIB), false);
    assert_eq!((r.es, r.cf()), (0x9FC0, false));
}

#[test]
fn hints_and_intercepts_answer_as_documented() {
    let r = call(0xEC00, 16 * MIB);
    assert!(!r.cf());
    let r = call(0x4F1E, 16 * MIB);
    assert!(r.cf(), "process the key");
    assert_eq!(r.ax(), 0x4F1E, "AL unchanged");
    for ax in [0x5300, 0x8700, 0x8900, 0xC200, 0x0000, 0xE881] {
        let r = call(ax, 16 * MIB);
        assert!(r.cf(), "{ax:#x}");
        assert_eq!(r.ah(), 0x86, "{ax:#x}");
    }
}

/// [`call`] on a board with the ACPI tables.
fn call_with_acpi(ax: u16, ram: u64) -> Regs {
    let mut r = Regs {
        eax: u32::from(ax),
        ..regs_with_flags()
    };
    let board = BoardReservations {
        xen_special_pages: false,
        acpi_tables: ACPI,
    };
    int15_on(&mut r, &mut mem(), &mut FakePlatform::new(ram), board);
    r
}

#[test]
fn e801_and_88h_leave_the_acpi_tables_out() {
    let r = call_with_acpi(0xE801, 512 * MIB);
    assert!(!r.cf());
    let blocks = (512 - 16) * 16 - 1;
    assert_eq!(
        (r.ax(), r.bx(), r.cx(), r.dx()),
        (0x3C00, blocks, 0x3C00, blocks)
    );
    assert_eq!(call_with_acpi(0x8800, 512 * MIB).ax(), 0x3C00);
    // With the tables below 16 MiB, the 1-16 MiB sizes shrink too.
    let r = call_with_acpi(0xE801, 16 * MIB);
    assert_eq!((r.ax(), r.bx()), (15 * 1024 - 64, 0));
    let r = call_with_acpi(0x8800, 16 * MIB);
    assert_eq!(r.ax(), 15 * 1024 - 64);
    // At the 4 GiB split.
    let r = call_with_acpi(0xE801, 4096 * MIB);
    assert_eq!(r.bx(), ((0xE000_0000 - SIXTEEN_MIB) / BLOCK_64K) as u16 - 1);
    // Too little RAM for the tables: the sizes are the plain ones.
    let small = MIB + 0x8000;
    assert_eq!(call_with_acpi(0x8800, small).ax(), call(0x8800, small).ax());
}
