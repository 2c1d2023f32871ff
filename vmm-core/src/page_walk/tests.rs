//! The guest page walk against its specification, case by case.

use super::*;
use crate::guest_memory::test_memory;

const PG: u64 = 1 << 31;
const PE: u64 = 1;

fn put64(m: &mut GuestMemory, gpa: u64, v: u64) {
    m.write(gpa, &v.to_le_bytes()).unwrap();
}
fn put32(m: &mut GuestMemory, gpa: u64, v: u32) {
    m.write(gpa, &v.to_le_bytes()).unwrap();
}
fn get64(m: &GuestMemory, gpa: u64) -> u64 {
    u64::from_le_bytes(m.read_bytes::<8>(gpa).unwrap())
}

fn long_mode() -> PagingState {
    PagingState {
        cr0: PG | PE | CR0_WP,
        cr3: 0x1000,
        cr4: CR4_PAE,
        efer: EFER_LMA | EFER_NXE | (1 << 8),
        rflags: 2,
        max_phys_bits: 40,
    }
}

/// 4-level tables: PML4 at 1000h, PDPT 2000h, PD 3000h, PT 4000h;
/// linear 0x40_0000 + n*4K -> 0x10_0000 + n*4K via the PT; linear
/// 0x20_0000 is a 2 MiB page at 0x60_0000; linear 0x4000_0000 a 1 GiB page.
fn four_level(m: &mut GuestMemory, leaf_flags: u64) {
    put64(m, 0x1000, 0x2000 | P | RW | US);
    put64(m, 0x2000, 0x3000 | P | RW | US);
    put64(m, 0x2008, P | RW | US | PS); // 1 GiB page at 0, mapped for linear 4000_0000h
    put64(m, 0x3008, 0x60_0000 | P | RW | US | PS);
    put64(m, 0x3010, 0x4000 | P | RW | US);
    put64(m, 0x4000, 0x10_0000 | leaf_flags);
}

#[test]
fn four_level_4k_2m_and_1g_pages_translate_and_set_accessed_dirty() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | RW | US);
    let s = long_mode();
    let t = translate(
        &mut m,
        s,
        0x40_0123,
        Access {
            write: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        t,
        Translation {
            gpa: 0x10_0123,
            page_size: 4096
        }
    );
    assert_eq!(
        get64(&m, 0x4000) & (A | D),
        A | D,
        "leaf accessed and dirty"
    );
    assert_eq!(
        get64(&m, 0x3010) & (A | D),
        A,
        "non-leaf accessed, not dirty"
    );
    let t = translate(&mut m, s, 0x23_4567, Access::default()).unwrap();
    assert_eq!(
        t,
        Translation {
            gpa: 0x63_4567,
            page_size: 2 << 20
        }
    );
    assert_eq!(get64(&m, 0x3008) & D, 0, "a read leaves dirty clear");
    let t = translate(&mut m, s, 0x4012_3456, Access::default()).unwrap();
    assert_eq!(
        t,
        Translation {
            gpa: 0x12_3456,
            page_size: 1 << 30
        }
    );
}

#[test]
fn not_present_faults_carry_the_access_kind() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | RW | US);
    let s = long_mode();
    let e = translate(
        &mut m,
        s,
        0x80_0000,
        Access {
            write: true,
            user: true,
            fetch: false,
        },
    );
    assert_eq!(
        e,
        Err(WalkError::PageFault {
            error_code: pf::W | pf::U,
            linear: 0x80_0000
        })
    );
    let e = translate(
        &mut m,
        s,
        0x7F_0000_0000,
        Access {
            fetch: true,
            ..Default::default()
        },
    );
    assert_eq!(
        e,
        Err(WalkError::PageFault {
            error_code: pf::ID,
            linear: 0x7F_0000_0000
        })
    );
}

#[test]
fn user_access_to_a_supervisor_page_is_a_protection_fault() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | RW);
    let e = translate(
        &mut m,
        long_mode(),
        0x40_0000,
        Access {
            user: true,
            ..Default::default()
        },
    );
    assert_eq!(
        e,
        Err(WalkError::PageFault {
            error_code: pf::P | pf::U,
            linear: 0x40_0000
        })
    );
    assert_eq!(
        get64(&m, 0x4000) & A,
        0,
        "no accessed bit on a faulting walk"
    );
}

#[test]
fn cr0_wp_decides_supervisor_writes_to_read_only_pages() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | US);
    let mut s = long_mode();
    let w = Access {
        write: true,
        ..Default::default()
    };
    assert_eq!(
        translate(&mut m, s, 0x40_0000, w),
        Err(WalkError::PageFault {
            error_code: pf::P | pf::W,
            linear: 0x40_0000
        })
    );
    s.cr0 &= !CR0_WP;
    assert!(translate(&mut m, s, 0x40_0000, w).is_ok());
    let uw = Access {
        write: true,
        user: true,
        fetch: false,
    };
    assert!(
        translate(&mut m, s, 0x40_0000, uw).is_err(),
        "user writes never ignore R/W"
    );
}

#[test]
fn execute_disable_smep_and_smap() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | RW | US | XD);
    let mut s = long_mode();
    let fetch = Access {
        fetch: true,
        ..Default::default()
    };
    assert_eq!(
        translate(&mut m, s, 0x40_0000, fetch),
        Err(WalkError::PageFault {
            error_code: pf::P | pf::ID,
            linear: 0x40_0000
        })
    );
    four_level(&mut m, P | RW | US);
    assert!(translate(&mut m, s, 0x40_0000, fetch).is_ok());
    s.cr4 |= CR4_SMEP;
    assert!(
        translate(&mut m, s, 0x40_0000, fetch).is_err(),
        "SMEP: no supervisor fetch from user pages"
    );
    s.cr4 = CR4_PAE | CR4_SMAP;
    assert!(
        translate(&mut m, s, 0x40_0000, Access::default()).is_err(),
        "SMAP without AC"
    );
    s.rflags |= RFLAGS_AC;
    assert!(
        translate(&mut m, s, 0x40_0000, Access::default()).is_ok(),
        "SMAP with AC"
    );
}

#[test]
fn reserved_bits_give_rsvd_faults() {
    let mut m = test_memory(0x80_0000);
    four_level(&mut m, P | RW | US | (1 << 45)); // above MAXPHYADDR 40
    let e = translate(&mut m, long_mode(), 0x40_0000, Access::default());
    assert_eq!(
        e,
        Err(WalkError::PageFault {
            error_code: pf::P | pf::RSVD,
            linear: 0x40_0000
        })
    );
    // XD set while EFER.NXE is clear is reserved too
    four_level(&mut m, P | RW | US | XD);
    let mut s = long_mode();
    s.efer &= !EFER_NXE;
    assert!(
        matches!(translate(&mut m, s, 0x40_0000, Access::default()), Err(WalkError::PageFault { error_code, .. }) if error_code & pf::RSVD != 0)
    );
    // PS in a PML4 entry
    put64(&mut m, 0x1000, 0x2000 | P | RW | US | PS);
    assert!(
        matches!(translate(&mut m, long_mode(), 0x40_0000, Access::default()), Err(WalkError::PageFault { error_code, .. }) if error_code & pf::RSVD != 0)
    );
}

#[test]
fn pae_paging_uses_the_pdpte_and_wide_entries() {
    let mut m = test_memory(0x80_0000);
    // PDPT at 0x1020 (32-byte aligned), PD at 3000h, PT at 4000h
    put64(&mut m, 0x1020 + 8, 0x3000 | P); // PDPTE 1 covers 4000_0000h..7FFF_FFFFh
    put64(&mut m, 0x3000, 0x4000 | P | RW | US);
    put64(&mut m, 0x4008, 0x20_0000 | P | RW | US);
    let s = PagingState {
        cr0: PG | PE,
        cr3: 0x1020,
        cr4: CR4_PAE,
        efer: 0,
        rflags: 2,
        max_phys_bits: 36,
    };
    let t = translate(&mut m, s, 0x4000_1ABC, Access::default()).unwrap();
    assert_eq!(t.gpa, 0x20_0ABC);
    // a reserved bit in the PDPTE (bit 1)
    put64(&mut m, 0x1020 + 8, 0x3000 | P | RW);
    assert!(
        matches!(translate(&mut m, s, 0x4000_1ABC, Access::default()), Err(WalkError::PageFault { error_code, .. }) if error_code & pf::RSVD != 0)
    );
}

#[test]
fn thirty_two_bit_paging_with_4k_and_4m_pages() {
    let mut m = test_memory(0x80_0000);
    put32(&mut m, 0x1000, 0x2000 | (P | RW | US) as u32); // PDE 0 -> PT at 2000h
    put32(&mut m, 0x2004, 0x5000 | (P | RW) as u32); // linear 1000h -> 5000h
    put32(&mut m, 0x1004, 0x40_0000 | (P | RW | PS) as u32); // linear 40_0000h: 4 MiB page
    let mut s = PagingState {
        cr0: PG | PE,
        cr3: 0x1000,
        cr4: CR4_PSE,
        efer: 0,
        rflags: 2,
        max_phys_bits: 32,
    };
    let t = translate(
        &mut m,
        s,
        0x1234,
        Access {
            write: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.gpa, 0x5234);
    assert_eq!(
        u32::from_le_bytes(m.read_bytes::<4>(0x2004).unwrap()) as u64 & (A | D),
        A | D
    );
    assert_eq!(
        translate(&mut m, s, 0x45_6789, Access::default())
            .unwrap()
            .gpa,
        0x45_6789
    );
    s.cr4 = 0; // without PSE the PS bit is ignored and the PDE points at a table
    assert_ne!(
        translate(&mut m, s, 0x45_6789, Access::default()).map(|t| t.page_size),
        Ok(4 << 20)
    );
    let e = translate(
        &mut m,
        s,
        0x1234,
        Access {
            user: true,
            ..Default::default()
        },
    );
    assert!(
        matches!(e, Err(WalkError::PageFault { error_code, .. }) if error_code == pf::P | pf::U)
    );
}

#[test]
fn tables_outside_guest_ram_are_reported_not_followed() {
    let mut m = test_memory(0x10_0000);
    put64(&mut m, 0x1000, 0x7FFF_F000 | P | RW | US);
    let e = translate(&mut m, long_mode(), 0x1000, Access::default());
    assert!(matches!(e, Err(WalkError::TableOutsideRam { .. })), "{e:?}");
}

#[test]
fn paging_off_is_identity_within_4g() {
    let mut m = test_memory(0x1000);
    let s = PagingState {
        cr0: PE,
        ..Default::default()
    };
    assert_eq!(
        translate(&mut m, s, 0x1_2345_6789, Access::default())
            .unwrap()
            .gpa,
        0x2345_6789
    );
}

#[test]
fn random_tables_never_panic() {
    let mut m = test_memory(0x10_0000);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2000 {
        let gpa = (next() % 0x10_0000) & !7;
        let _ = m.write(gpa, &next().to_le_bytes());
    }
    for i in 0..20_000u64 {
        let r = next();
        let s = PagingState {
            cr0: PG | PE | (r & CR0_WP),
            cr3: next() % 0x10_0000,
            cr4: r & (CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP),
            efer: r & (EFER_LMA | EFER_NXE),
            rflags: r & RFLAGS_AC,
            max_phys_bits: (r >> 32) as u8,
        };
        let a = Access {
            write: i & 1 != 0,
            user: i & 2 != 0,
            fetch: i & 4 != 0,
        };
        let _ = translate(&mut m, s, next(), a);
    }
}
