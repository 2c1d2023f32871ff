//! The keyboard ring buffer: order, capacity, wrap-around, a moved buffer
//! and corrupt pointers.

use super::*;
use crate::bda::{INTRA_APP_AREA, KB_BUFFER};
use crate::memory::VecMemory;
use alloc::vec;

fn fresh() -> VecMemory {
    let mut mem = VecMemory(vec![0; 0x10_0000]);
    kbd_reset(&mut mem);
    mem
}

#[test]
fn pushed_keys_pop_in_order_as_scan_and_ascii() {
    let mut mem = fresh();
    assert!(kbd_push(&mut mem, 0x1E, b'a'));
    assert!(kbd_push(&mut mem, 0x30, b'b'));
    // The word in the buffer is ASCII low, scan code high.
    assert_eq!(mem.read_u16(KB_BUFFER), 0x1E61);
    assert_eq!(mem.read_u16(BUFFER_TAIL), KB_BUFFER_DEFAULT_START + 4);
    assert_eq!(kbd_peek(&mem), Some((0x1E, b'a')));
    assert_eq!(kbd_pop(&mut mem), Some((0x1E, b'a')));
    assert_eq!(kbd_pop(&mut mem), Some((0x30, b'b')));
    assert_eq!(kbd_pop(&mut mem), None);
    assert_eq!(kbd_peek(&mem), None);
}

#[test]
fn buffer_holds_fifteen_keys_and_refuses_the_sixteenth() {
    let mut mem = fresh();
    for i in 0..15 {
        assert!(kbd_push(&mut mem, i, i), "key {i}");
    }
    assert!(!kbd_push(&mut mem, 0xAA, 0xBB));
    // Full: tail + 2 wraps to head.
    assert_eq!(mem.read_u16(BUFFER_TAIL), KB_BUFFER_DEFAULT_END - 2);
    assert_eq!(mem.read_u16(BUFFER_HEAD), KB_BUFFER_DEFAULT_START);
    for i in 0..15 {
        assert_eq!(kbd_pop(&mut mem), Some((i, i)));
    }
    assert_eq!(kbd_pop(&mut mem), None);
}

#[test]
fn pointers_wrap_from_end_to_start() {
    let mut mem = fresh();
    for round in 0..39u8 {
        assert!(kbd_push(&mut mem, round, !round));
        assert!(kbd_push(&mut mem, round ^ 0x55, round));
        assert_eq!(kbd_pop(&mut mem), Some((round, !round)));
        assert_eq!(kbd_pop(&mut mem), Some((round ^ 0x55, round)));
        let head = mem.read_u16(BUFFER_HEAD);
        assert!((KB_BUFFER_DEFAULT_START..KB_BUFFER_DEFAULT_END).contains(&head));
    }
    // 78 keys through a 16-slot ring: both pointers wrapped four times
    // and stand on slot 78 mod 16 = 14.
    assert_eq!(mem.read_u16(BUFFER_HEAD), mem.read_u16(BUFFER_TAIL));
    assert_eq!(mem.read_u16(BUFFER_HEAD), KB_BUFFER_DEFAULT_START + 14 * 2);
}

#[test]
fn a_buffer_moved_within_the_bda_is_honoured() {
    let mut mem = fresh();
    // A 4-word ring in the intra-application area, 40:F0h-40:F7h.
    for (addr, v) in [
        (BUFFER_START, 0xF0),
        (BUFFER_END, 0xF8),
        (BUFFER_HEAD, 0xF0),
        (BUFFER_TAIL, 0xF0),
    ] {
        mem.write_u16(addr, v);
    }
    assert!(kbd_push(&mut mem, 1, 2));
    assert!(kbd_push(&mut mem, 3, 4));
    assert!(kbd_push(&mut mem, 5, 6));
    assert!(!kbd_push(&mut mem, 7, 8));
    assert_eq!(mem.read_u16(INTRA_APP_AREA), 0x0102);
    assert_eq!(kbd_pop(&mut mem), Some((1, 2)));
}

#[test]
fn a_corrupt_ring_is_reset_and_nothing_leaves_the_bda() {
    let corrupt: [[u16; 4]; 5] = [
        [0x1E, 0x3E, 0x1F, 0x1E],  // odd head
        [0x1E, 0x3E, 0x1E, 0x40],  // tail past the end
        [0x3E, 0x1E, 0x1E, 0x1E],  // start after end
        [0xF0, 0x200, 0xF0, 0xF0], // buffer outside the BDA
        [0xFFFE, 0xFFFF, 0xFFFE, 0xFFFE],
    ];
    for [start, end, head, tail] in corrupt {
        let mut mem = fresh();
        mem.write_u16(BUFFER_START, start);
        mem.write_u16(BUFFER_END, end);
        mem.write_u16(BUFFER_HEAD, head);
        mem.write_u16(BUFFER_TAIL, tail);
        let before = mem.0.clone();
        assert_eq!(kbd_peek(&mem), None);
        assert_eq!(mem.0, before, "peek writes nothing");
        assert!(kbd_push(&mut mem, 0x1C, 0x0D));
        for (i, (a, b)) in before.iter().zip(mem.0.iter()).enumerate() {
            if a != b {
                assert!((0x400..0x500).contains(&i), "wrote {i:#x}");
            }
        }
        assert_eq!(kbd_pop(&mut mem), Some((0x1C, 0x0D)));
    }
}
