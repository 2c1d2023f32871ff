//! Unit tests of every operation and status of the grant table.

use super::*;
use xen_abi::errno::Errno;
use xen_abi::grant_table::*;

const BACKEND: u16 = 0;

/// The guest's `gnttab_grant_foreign_access_ref`: domid and frame, then
/// flags.
pub(super) fn grant(t: &mut GrantTable, gref: GrantRef, domid: u16, gfn: u32, readonly: bool) {
    let per = GRANT_ENTRIES_V1_PER_FRAME as u32;
    let off = (gref % per) as usize * 8;
    let frame = t.frame_mut(gref / per).unwrap();
    frame[off + 2..off + 4].copy_from_slice(&domid.to_le_bytes());
    frame[off + 4..off + 8].copy_from_slice(&gfn.to_le_bytes());
    let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
    frame[off..off + 2].copy_from_slice(&flags.to_le_bytes());
}

/// The guest's `gnttab_end_foreign_access_ref`: compare-and-exchange the
/// flags to 0, failing while the backend has the grant in use.
pub(super) fn end_access(t: &mut GrantTable, gref: GrantRef) -> bool {
    let h = t.header(gref).unwrap();
    if h as u16 & (GTF_READING | GTF_WRITING) != 0 {
        return false;
    }
    t.cmpxchg_header(gref, h, h & 0xFFFF_0000) == Some(h)
}

fn flags(t: &GrantTable, gref: GrantRef) -> u16 {
    t.header(gref).unwrap() as u16
}

#[test]
fn sizes_setup_and_physmap() {
    let mut t = GrantTable::new(DEFAULT_MAX_FRAMES);
    let q = t.query_size();
    assert_eq!(
        (q.nr_frames, q.max_nr_frames, q.status),
        (1, 32, GNTST_OKAY)
    );
    assert_eq!(t.entries(), 512);
    assert_eq!(t.setup_table(4), GNTST_OKAY);
    assert_eq!(t.nr_frames(), 4);
    assert_eq!(t.setup_table(2), GNTST_OKAY);
    assert_eq!(t.nr_frames(), 4, "never shrinks");
    assert_eq!(t.setup_table(33), GNTST_GENERAL_ERROR);
    assert_eq!(t.add_to_physmap(9), Ok(()));
    assert_eq!(t.nr_frames(), 10);
    assert_eq!(t.add_to_physmap(32), Err(Errno::EINVAL));
    assert_eq!(t.add_to_physmap(1 << 31), Err(Errno::EINVAL));
    assert_eq!(t.add_to_physmap(u64::MAX), Err(Errno::EINVAL));
    assert_eq!(t.setup_table(32), GNTST_OKAY);
    assert_eq!(t.entries(), 32 * 512);
    assert!(t.frame(31).unwrap().iter().all(|&b| b == 0));
    assert!(t.frame(32).is_none());
    assert_eq!(GrantTable::new(0).max_frames(), 1);
}

#[test]
fn map_checks_ref_type_domid_and_readonly() {
    let mut t = GrantTable::new(4);
    assert_eq!(t.map(BACKEND, 512, false), Err(GNTST_BAD_GNTREF));
    assert_eq!(t.map(BACKEND, u32::MAX, false), Err(GNTST_BAD_GNTREF));
    assert_eq!(
        t.map(BACKEND, 9, false),
        Err(GNTST_GENERAL_ERROR),
        "invalid entry"
    );
    grant(&mut t, 9, 5, 0x1234, false);
    assert_eq!(
        t.map(BACKEND, 9, false),
        Err(GNTST_GENERAL_ERROR),
        "other domid"
    );
    grant(&mut t, 10, BACKEND, 0x1234, true);
    assert_eq!(
        t.map(BACKEND, 10, true),
        Err(GNTST_GENERAL_ERROR),
        "read-only"
    );
    assert_eq!(
        flags(&t, 10),
        GTF_PERMIT_ACCESS | GTF_READONLY,
        "nothing set on failure"
    );
    let m = t.map(BACKEND, 10, false).unwrap();
    assert_eq!((m.gref(), m.gfn(), m.writable()), (10, 0x1234, false));
    assert_eq!(
        flags(&t, 10),
        GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING
    );
    t.unmap(m).unwrap();
    assert_eq!(flags(&t, 10), GTF_PERMIT_ACCESS | GTF_READONLY);
    // Accept-transfer and sub-page entries cannot be mapped.
    let frame = t.frame_mut(0).unwrap();
    frame[11 * 8] = GTF_ACCEPT_TRANSFER as u8;
    frame[12 * 8..12 * 8 + 2].copy_from_slice(&(GTF_PERMIT_ACCESS | GTF_SUB_PAGE).to_le_bytes());
    assert_eq!(t.map(BACKEND, 11, false), Err(GNTST_GENERAL_ERROR));
    assert_eq!(t.map(BACKEND, 12, false), Err(GNTST_GENERAL_ERROR));
}

#[test]
fn reserved_refs_are_valid_if_granted() {
    let mut t = GrantTable::new(1);
    grant(&mut t, GNTTAB_RESERVED_XENSTORE, BACKEND, 0xFEFFF, false);
    let m = t.map(BACKEND, GNTTAB_RESERVED_XENSTORE, true).unwrap();
    assert_eq!(m.gfn(), 0xFEFFF);
    t.unmap(m).unwrap();
    assert_eq!(
        t.map(BACKEND, GNTTAB_RESERVED_CONSOLE, false),
        Err(GNTST_GENERAL_ERROR)
    );
}

#[test]
fn in_use_bits_follow_the_pins_and_block_revocation() {
    let mut t = GrantTable::new(2);
    assert_eq!(t.map(BACKEND, 600, false), Err(GNTST_BAD_GNTREF));
    assert_eq!(t.setup_table(2), GNTST_OKAY);
    grant(&mut t, 600, BACKEND, 77, false);
    let r = t.map(BACKEND, 600, false).unwrap();
    let w = t.map(BACKEND, 600, true).unwrap();
    assert_eq!(t.pins(600), Some((1, 1)));
    assert_eq!(
        flags(&t, 600),
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING
    );
    assert!(!end_access(&mut t, 600), "revoking an entry in use fails");
    t.unmap(w).unwrap();
    assert_eq!(flags(&t, 600), GTF_PERMIT_ACCESS | GTF_READING);
    assert!(!end_access(&mut t, 600));
    t.unmap(r).unwrap();
    assert_eq!(t.pins(600), None);
    assert!(end_access(&mut t, 600));
    assert_eq!(flags(&t, 600), 0);
    assert_eq!(t.map(BACKEND, 600, false), Err(GNTST_GENERAL_ERROR));
}

#[test]
fn later_pins_keep_the_first_frame() {
    let mut t = GrantTable::new(1);
    grant(&mut t, 20, BACKEND, 1, false);
    let a = t.map(BACKEND, 20, false).unwrap();
    // The guest rewrites the entry under the pin (a hostile guest can).
    grant(&mut t, 20, 9, 2, false);
    let b = t.map(BACKEND, 20, false).unwrap();
    assert_eq!(b.gfn(), 1);
    t.unmap(a).unwrap();
    t.unmap(b).unwrap();
    assert_eq!(
        t.map(BACKEND, 20, false),
        Err(GNTST_GENERAL_ERROR),
        "domid now 9"
    );
}

#[test]
fn unmap_of_a_foreign_mapping_is_a_bad_handle() {
    let mut a = GrantTable::new(1);
    let mut b = GrantTable::new(1);
    grant(&mut a, 8, BACKEND, 3, false);
    let m = a.map(BACKEND, 8, true).unwrap();
    assert_eq!(b.unmap(m), Err(GNTST_BAD_HANDLE));
    grant(&mut b, 8, BACKEND, 3, false);
    let r = b.map(BACKEND, 8, false).unwrap();
    let w = a.map(BACKEND, 8, true).unwrap();
    // A writable handle on a ref held read-only here.
    assert_eq!(b.unmap(w), Err(GNTST_BAD_HANDLE));
    assert_eq!(b.pins(8), Some((1, 0)));
    b.unmap(r).unwrap();
}

#[test]
fn copy_pins_for_the_transfer_only() {
    let mut t = GrantTable::new(1);
    grant(&mut t, 30, BACKEND, 0x55, true);
    let got = t.copy(BACKEND, 30, false, 4000, 96, |gfn, range| {
        assert_eq!((gfn, range.clone()), (0x55, 4000..4096));
        7
    });
    assert_eq!(got, Ok(7));
    assert_eq!(flags(&t, 30), GTF_PERMIT_ACCESS | GTF_READONLY);
    assert_eq!(
        t.copy(BACKEND, 30, false, 4000, 97, |_, _| ()),
        Err(GNTST_BAD_COPY_ARG)
    );
    assert_eq!(
        t.copy(BACKEND, 30, true, 0, 1, |_, _| ()),
        Err(GNTST_GENERAL_ERROR)
    );
    assert_eq!(
        t.copy(BACKEND, 512, false, 0, 1, |_, _| ()),
        Err(GNTST_BAD_GNTREF)
    );
    assert_eq!(
        t.copy(7, 30, false, 0, 1, |_, _| ()),
        Err(GNTST_GENERAL_ERROR)
    );
    // Sub-page entries may be copied (the mapping path alone refuses them).
    let frame = t.frame_mut(0).unwrap();
    frame[31 * 8..31 * 8 + 2].copy_from_slice(&(GTF_PERMIT_ACCESS | GTF_SUB_PAGE).to_le_bytes());
    assert_eq!(t.copy(BACKEND, 31, true, 0, 0, |_, _| 1), Ok(1));
    assert_eq!(flags(&t, 31), GTF_PERMIT_ACCESS | GTF_SUB_PAGE);
}

#[test]
fn pin_retries_when_the_guest_races_then_gives_up() {
    let mut t = GrantTable::new(1);
    grant(&mut t, 40, BACKEND, 6, false);
    // The guest flips an unrelated flag once: the pin re-checks and succeeds.
    let mut once = true;
    let gfn = t.pin_racing(BACKEND, 40, true, true, |t| {
        if core::mem::take(&mut once) {
            t.frame_mut(0).unwrap()[40 * 8] ^= GTF_PWT as u8;
        }
    });
    assert_eq!(gfn, Ok(6));
    assert_eq!(
        flags(&t, 40),
        GTF_PERMIT_ACCESS | GTF_PWT | GTF_READING | GTF_WRITING
    );
    // A guest that makes the entry read-only meanwhile fails the write pin.
    grant(&mut t, 41, BACKEND, 6, false);
    let r = t.pin_racing(BACKEND, 41, true, true, |t| {
        t.frame_mut(0).unwrap()[41 * 8] |= GTF_READONLY as u8;
    });
    assert_eq!(r, Err(GNTST_GENERAL_ERROR));
    assert_eq!(flags(&t, 41), GTF_PERMIT_ACCESS | GTF_READONLY);
    // An entry that never settles: give up after five attempts.
    grant(&mut t, 42, BACKEND, 6, false);
    let mut tries = 0;
    let r = t.pin_racing(BACKEND, 42, false, true, |t| {
        tries += 1;
        t.frame_mut(0).unwrap()[42 * 8] ^= GTF_PCD as u8;
    });
    assert_eq!((r, tries), (Err(GNTST_GENERAL_ERROR), 5));
    assert_eq!(t.pins(42), None);
}

#[test]
fn a_pinned_grant_serves_only_its_backend_and_counts_are_capped() {
    let mut t = GrantTable::new(1);
    grant(&mut t, 50, BACKEND, 9, false);
    let m = t.map(BACKEND, 50, false).unwrap();
    // Another domain cannot share the active entry, even if re-granted.
    grant(&mut t, 50, 4, 9, false);
    assert_eq!(t.map(4, 50, false), Err(GNTST_GENERAL_ERROR));
    grant(&mut t, 50, BACKEND, 9, false);
    t.frame_mut(0).unwrap()[50 * 8] |= GTF_READING as u8;
    let mut more = alloc::vec![m];
    while let Ok(m) = t.map(BACKEND, 50, false) {
        more.push(m);
    }
    assert_eq!(t.pins(50), Some((255, 0)), "Xen's 8-bit pin counts");
    for m in more {
        t.unmap(m).unwrap();
    }
    assert_eq!(flags(&t, 50), GTF_PERMIT_ACCESS);
}

#[test]
fn flags_are_rechecked_only_for_the_first_pin_of_each_kind() {
    let mut t = GrantTable::new(1);
    grant(&mut t, 60, BACKEND, 9, false);
    let w = t.map(BACKEND, 60, true).unwrap();
    // The guest marks the entry read-only under the writable pin: further
    // pins share the active entry and are not re-checked, as in Xen.
    t.frame_mut(0).unwrap()[60 * 8] |= GTF_READONLY as u8;
    let w2 = t.map(BACKEND, 60, true).unwrap();
    let r = t.map(BACKEND, 60, false).unwrap();
    assert_eq!(t.pins(60), Some((1, 2)));
    t.unmap(w).unwrap();
    t.unmap(w2).unwrap();
    assert_eq!(
        flags(&t, 60),
        GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING
    );
    // With only a read pin left, a new writable pin is checked again.
    assert_eq!(t.map(BACKEND, 60, true), Err(GNTST_GENERAL_ERROR));
    t.unmap(r).unwrap();
    assert_eq!(t.pins(60), None);
}
