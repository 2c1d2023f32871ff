//! Randomised hostile sequences: a guest granting, revoking and scribbling
//! over its table while the backend maps, copies and unmaps. No panic; the
//! backend's pins are never lost; and, as long as the guest only uses the
//! grant protocol, the in-use bits are exactly what the backend holds and a
//! revocation of a grant in use always fails.

use super::tests::{end_access, grant};
use super::*;
use alloc::vec::Vec;
use test_rng::XorShift;
use xen_abi::grant_table::{GrantRef, GTF_READING, GTF_TYPE_MASK, GTF_WRITING};

fn any_ref(rng: &mut XorShift, t: &GrantTable) -> GrantRef {
    match rng.below(8) {
        0 => rng.next() as u32,
        1 => t.entries() - 1 + rng.below(3) as u32,
        _ => rng.below(24) as u32,
    }
}

/// The in-use bits of every entry match the backend's pins.
fn check_strict(t: &GrantTable) {
    for gref in 0..t.entries() {
        let flags = t.header(gref).unwrap() as u16;
        let (r, w) = t.pins(gref).unwrap_or((0, 0));
        assert_eq!(flags & GTF_READING != 0, r + w > 0, "ref {gref}: reading");
        assert_eq!(flags & GTF_WRITING != 0, w > 0, "ref {gref}: writing");
    }
}

#[test]
fn hostile_grant_table_sequences() {
    let mut rng = XorShift::per_run("hostile_grant_table_sequences", 0x6A7);
    let mut maps = 0;
    for round in 0..60 {
        // Even rounds: a guest that follows the protocol; odd: one that also
        // writes anything anywhere in its frames.
        let scribbler = round % 2 == 1;
        let mut t = GrantTable::new(1 + rng.below(4) as u32);
        let mut held: Vec<Mapping> = Vec::new();
        for _ in 0..500 {
            let gref = any_ref(&mut rng, &t);
            match rng.below(9) {
                0 => {
                    let _ = t.setup_table(rng.below(6) as u32);
                }
                1 => {
                    let _ = t.add_to_physmap(rng.below(6));
                }
                2 if gref < t.entries() => {
                    // The protocol guest reuses only refs it has ended.
                    let free = t.header(gref).unwrap() as u16 & GTF_TYPE_MASK == 0;
                    if scribbler || free {
                        let domid = [0, 0, 0, 1][rng.below(4) as usize];
                        grant(&mut t, gref, domid, rng.next() as u32, rng.below(2) == 0);
                    }
                }
                3 if gref < t.entries() => {
                    let pinned = t.pins(gref).is_some();
                    let ended = end_access(&mut t, gref);
                    if !scribbler && pinned {
                        assert!(!ended, "a grant in use was revoked");
                    }
                }
                4 if scribbler => {
                    let f = rng.below(u64::from(t.nr_frames())) as u32;
                    let i = rng.below(4096) as usize;
                    t.frame_mut(f).unwrap()[i] = rng.byte();
                }
                5 | 6 => {
                    let before = t.pins(gref);
                    let write = rng.below(2) == 0;
                    match t.map(0, gref, write) {
                        Ok(m) => {
                            assert_eq!(m.gref(), gref);
                            // A scribbler may have cleared the bits under an
                            // earlier pin; later pins do not set them again.
                            let flags = t.header(gref).unwrap() as u16;
                            assert!(scribbler || flags & GTF_READING != 0);
                            assert!(scribbler || !write || flags & GTF_WRITING != 0);
                            held.push(m);
                            maps += 1;
                        }
                        Err(_) => assert_eq!(t.pins(gref), before, "a failed map pins"),
                    }
                }
                7 if !held.is_empty() => {
                    let m = held.swap_remove(rng.below(held.len() as u64) as usize);
                    t.unmap(m).unwrap();
                }
                _ => {
                    let (off, len) = (rng.below(4200) as u16, rng.below(4200) as u16);
                    let before = t.pins(gref);
                    let _ = t.copy(0, gref, rng.below(2) == 0, off, len, |_, r| {
                        assert!(r.end <= 4096);
                    });
                    assert_eq!(t.pins(gref), before, "a copy leaves no pin behind");
                }
            }
            // The backend's pins always match the mappings it holds.
            let total: u32 = held.len() as u32;
            let pinned: u32 = (0..t.entries())
                .filter_map(|g| t.pins(g))
                .map(|(r, w)| r + w)
                .sum();
            assert_eq!(total, pinned);
            if !scribbler {
                check_strict(&t);
            }
        }
        for m in held.drain(..) {
            t.unmap(m).unwrap();
        }
        if !scribbler {
            check_strict(&t);
        }
    }
    assert!(
        maps > 100,
        "the sequences exercise the mapping path ({maps})"
    );
}
