//! The console rings as Linux's hvc_xen drives them: output written by
//! the guest and drained, input pushed and read back, wrap-around of the
//! free-running indices, and garbage indices.

use super::*;
use alloc::vec;
use alloc::vec::Vec;
use test_rng::XorShift;

/// A zeroed page, as the guest finds it.
fn page() -> Vec<u8> {
    vec![0u8; 4096]
}

fn get(page: &[u8], at: usize) -> u32 {
    super::get_u32(page, at)
}

fn put(page: &mut [u8], at: usize, v: u32) {
    super::put_u32(page, at, v);
}

/// The guest's side of `out[]`: copies what fits, advances out_prod.
fn guest_write(page: &mut [u8], bytes: &[u8]) -> usize {
    let cons = get(page, OUT_CONS);
    let prod = get(page, OUT_PROD);
    let room = XENCONS_OUT_SIZE - prod.wrapping_sub(cons) as usize;
    let n = room.min(bytes.len());
    for (i, &b) in bytes[..n].iter().enumerate() {
        page[OUT + mask_xencons_out_idx(prod.wrapping_add(i as u32))] = b;
    }
    put(page, OUT_PROD, prod.wrapping_add(n as u32));
    n
}

/// The guest's side of `in[]`: reads everything, advances in_cons.
fn guest_read(page: &mut [u8]) -> Vec<u8> {
    let cons = get(page, IN_CONS);
    let prod = get(page, IN_PROD);
    // A model guest that finds garbage indices reads nothing.
    let n = prod.wrapping_sub(cons).min(XENCONS_IN_SIZE as u32);
    let v = (0..n)
        .map(|i| page[IN + mask_xencons_in_idx(cons.wrapping_add(i))])
        .collect();
    put(page, IN_CONS, prod);
    v
}

fn drain(page: &mut [u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let n = drain_output(page, &mut |b| got.push(b));
    assert_eq!(n, got.len());
    got
}

#[test]
fn layout_matches_the_header() {
    assert_eq!(XENCONS_PAGE_LEN, 3092);
    assert_eq!((IN, OUT), (0, 1024));
    assert_eq!(
        (IN_CONS, IN_PROD, OUT_CONS, OUT_PROD),
        (3072, 3076, 3080, 3084)
    );
}

#[test]
fn output_is_drained_in_order() {
    let mut p = page();
    assert_eq!(drain(&mut p), b"");
    assert_eq!(guest_write(&mut p, b"Linux version 6.1\n"), 18);
    assert_eq!(drain(&mut p), b"Linux version 6.1\n");
    assert_eq!(get(&p, OUT_CONS), 18);
    assert_eq!(drain(&mut p), b"");
}

#[test]
fn a_full_output_ring_drains_in_one_call() {
    let mut p = page();
    let text: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(guest_write(&mut p, &text), XENCONS_OUT_SIZE);
    assert_eq!(drain(&mut p), &text[..XENCONS_OUT_SIZE]);
    assert_eq!(guest_write(&mut p, &text[XENCONS_OUT_SIZE..]), 952);
    assert_eq!(drain(&mut p), &text[XENCONS_OUT_SIZE..]);
}

#[test]
fn indices_wrap_around_u32() {
    let mut p = page();
    for at in [OUT_CONS, OUT_PROD, IN_CONS, IN_PROD] {
        put(&mut p, at, u32::MAX - 5);
    }
    guest_write(&mut p, b"across the wrap");
    assert_eq!(drain(&mut p), b"across the wrap");
    assert_eq!(get(&p, OUT_CONS), 9);
    assert_eq!(push_input(&mut p, b"keys across"), 11);
    assert_eq!(get(&p, IN_PROD), 5);
    assert_eq!(guest_read(&mut p), b"keys across");
}

#[test]
fn input_is_bounded_by_the_room_left() {
    let mut p = page();
    let keys = vec![b'k'; 1500];
    assert_eq!(push_input(&mut p, &keys), XENCONS_IN_SIZE);
    assert_eq!(push_input(&mut p, b"more"), 0);
    assert_eq!(guest_read(&mut p).len(), XENCONS_IN_SIZE);
    assert_eq!(push_input(&mut p, b"more"), 4);
    assert_eq!(guest_read(&mut p), b"more");
    assert_eq!(push_input(&mut p, b""), 0);
}

#[test]
fn garbage_indices_move_nothing() {
    let mut p = page();
    put(&mut p, OUT_PROD, XENCONS_OUT_SIZE as u32 + 1);
    assert_eq!(drain(&mut p), b"");
    assert_eq!(get(&p, OUT_CONS), 0);
    put(&mut p, OUT_CONS, 7);
    put(&mut p, OUT_PROD, 6); // prod behind cons: 2^32 - 1 bytes "waiting"
    assert_eq!(drain(&mut p), b"");
    // The guest claims to have consumed input it was never given.
    put(&mut p, IN_CONS, 5000);
    assert_eq!(push_input(&mut p, b"x"), 0);
    assert_eq!(get(&p, IN_PROD), 0);
}

#[test]
fn a_short_page_moves_nothing() {
    let mut short = vec![0u8; XENCONS_PAGE_LEN - 1];
    assert_eq!(drain_output(&mut short, &mut |_| panic!("no byte")), 0);
    assert_eq!(push_input(&mut short, b"x"), 0);
    assert!(short.iter().all(|&b| b == 0));
}

/// Random guests: any index values and ring contents. Each call moves at
/// most one ring's worth, touches only its own index and (for input) the
/// input ring, and the bytes match a model of the ring.
#[test]
fn random_indices_and_traffic_stay_bounded() {
    let mut rng = XorShift::per_run("console_random", 0xC0);
    let mut p = page();
    for step in 0..20_000 {
        match rng.below(6) {
            0 => {
                let at = [IN_CONS, OUT_PROD][rng.below(2) as usize];
                put(&mut p, at, rng.next() as u32);
            }
            1 => {
                let len = rng.below(2100) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                guest_write_any(&mut p, &bytes);
            }
            2 => {
                let _ = guest_read(&mut p);
            }
            3 => {
                let before = p.clone();
                let cons = get(&p, OUT_CONS);
                let prod = get(&p, OUT_PROD);
                let got = drain(&mut p);
                assert!(got.len() <= XENCONS_OUT_SIZE, "step {step}");
                let waiting = prod.wrapping_sub(cons) as usize;
                if waiting <= XENCONS_OUT_SIZE {
                    assert_eq!(got.len(), waiting);
                    for (i, &b) in got.iter().enumerate() {
                        let at = OUT + mask_xencons_out_idx(cons.wrapping_add(i as u32));
                        assert_eq!(b, before[at]);
                    }
                } else {
                    assert!(got.is_empty());
                }
                changed_only(&before, &p, &[(OUT_CONS, 4)]);
            }
            _ => {
                let before = p.clone();
                let len = rng.below(1200) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                let n = push_input(&mut p, &bytes);
                assert!(n <= XENCONS_IN_SIZE && n <= len, "step {step}");
                changed_only(&before, &p, &[(IN, XENCONS_IN_SIZE), (IN_PROD, 4)]);
            }
        }
    }
}

/// The guest writing `bytes` even past the ring's room (a hostile guest).
fn guest_write_any(page: &mut [u8], bytes: &[u8]) {
    let prod = get(page, OUT_PROD);
    for (i, &b) in bytes.iter().enumerate() {
        page[OUT + mask_xencons_out_idx(prod.wrapping_add(i as u32))] = b;
    }
    put(page, OUT_PROD, prod.wrapping_add(bytes.len() as u32));
}

/// Asserts that only bytes in the `(offset, length)` ranges changed.
fn changed_only(before: &[u8], after: &[u8], allowed: &[(usize, usize)]) {
    for (i, (a, b)) in before.iter().zip(after).enumerate() {
        if a != b {
            assert!(
                allowed.iter().any(|&(at, n)| (at..at + n).contains(&i)),
                "byte {i} changed outside {allowed:?}"
            );
        }
    }
}
