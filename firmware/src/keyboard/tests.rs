//! Tests: scan-code streams as the 8042 delivers them (set 1, make and break
//! codes, E0h prefixes) turned into key words and read back through INT 16h.

use super::*;
use crate::bda::kbd_reset;
use crate::memory::VecMemory;
use alloc::vec;
use alloc::vec::Vec;

const LSHIFT: u8 = 0x2A;
const LCTRL: u8 = 0x1D;
const LALT: u8 = 0x38;
const CAPS: u8 = 0x3A;
const NUMLOCK: u8 = 0x45;
const BREAK: u8 = 0x80;

fn keyboard() -> VecMemory {
    let mut mem = VecMemory(vec![0; 0x1000]);
    kbd_reset(&mut mem);
    mem
}

fn feed(mem: &mut VecMemory, codes: &[u8]) {
    for c in codes {
        handle_scancode(mem, *c);
    }
}

/// Every key word INT 16h AH=`ah` hands out until the buffer is empty.
fn drain(mem: &mut VecMemory, ah: u8) -> Vec<u16> {
    let mut words = Vec::new();
    loop {
        let mut regs = Regs {
            eax: u32::from(ah) << 8,
            ..Default::default()
        };
        match int16(&mut regs, mem) {
            Next::Return => words.push(regs.ax()),
            Next::WaitAndRetry => return words,
            other => panic!("INT 16h returned {other:?}"),
        }
    }
}

/// Press and release of an unmodified key.
fn tap(code: u8) -> [u8; 2] {
    [code, code | BREAK]
}

#[test]
fn letters_digits_and_shifted_symbols() {
    let mut mem = keyboard();
    feed(&mut mem, &[LSHIFT, 0x1E, 0x1E | BREAK, LSHIFT | BREAK]); // A
    feed(&mut mem, &tap(0x30)); // b
    feed(&mut mem, &tap(0x02)); // 1
    feed(&mut mem, &[0x36, 0x02, 0x82, 0x36 | BREAK]); // right shift + 1: !
    feed(&mut mem, &tap(0x1C)); // Enter
    feed(&mut mem, &tap(0x0E)); // Backspace
    assert_eq!(
        drain(&mut mem, 0x00),
        vec![0x1E41, 0x3062, 0x0231, 0x0221, 0x1C0D, 0x0E08]
    );
}

#[test]
fn caps_lock_shifts_letters_only_and_shift_undoes_it() {
    let mut mem = keyboard();
    feed(&mut mem, &tap(CAPS));
    feed(&mut mem, &tap(0x10)); // Q
    feed(&mut mem, &tap(0x02)); // 1
    feed(&mut mem, &[LSHIFT, 0x10, 0x90, LSHIFT | BREAK]); // q
    assert_eq!(drain(&mut mem, 0x00), vec![0x1051, 0x0231, 0x1071]);
    let mut regs = Regs {
        eax: 0x0200,
        ..Default::default()
    };
    int16(&mut regs, &mut mem);
    assert_eq!(regs.al(), CAPS_LOCK);
}

#[test]
fn control_and_alt_combinations() {
    let mut mem = keyboard();
    feed(&mut mem, &[LCTRL, 0x2E, 0xAE, LCTRL | BREAK]); // Ctrl+C
    feed(&mut mem, &[LALT, 0x2D, 0xAD, LALT | BREAK]); // Alt+X
    feed(&mut mem, &tap(0x3B)); // F1
    assert_eq!(drain(&mut mem, 0x00), vec![0x2E03, 0x2D00, 0x3B00]);
    let mut regs = Regs {
        eax: 0x0200,
        ..Default::default()
    };
    int16(&mut regs, &mut mem);
    assert_eq!(regs.al(), 0, "every modifier was released");
}

#[test]
fn gray_keys_carry_e0_only_through_the_extended_functions() {
    for (ah, expected) in [(0x10, [0x48E0, 0xE00D]), (0x00, [0x4800, 0x1C0D])] {
        let mut mem = keyboard();
        feed(&mut mem, &[0xE0, 0x48, 0xE0, 0xC8]); // gray up arrow
        feed(&mut mem, &[0xE0, 0x1C, 0xE0, 0x9C]); // keypad Enter
        assert_eq!(drain(&mut mem, ah), expected, "AH={ah:#x}");
    }
}

#[test]
fn keypad_gives_digits_with_num_lock_and_cursor_keys_without() {
    let mut mem = keyboard();
    feed(&mut mem, &tap(0x48)); // keypad 8 / up
    feed(&mut mem, &tap(NUMLOCK));
    feed(&mut mem, &tap(0x48));
    feed(&mut mem, &tap(0x4E)); // keypad +
    assert_eq!(drain(&mut mem, 0x00), vec![0x4800, 0x4838, 0x4E2B]);
}

#[test]
fn break_codes_and_unknown_codes_store_nothing() {
    let mut mem = keyboard();
    feed(&mut mem, &[0x9E, 0xB0, 0x5A, 0x7F, 0xE0, 0x10]);
    assert!(drain(&mut mem, 0x00).is_empty());
}

#[test]
fn peek_leaves_the_key_and_reports_an_empty_buffer_in_zf() {
    let mut mem = keyboard();
    let mut regs = Regs {
        eax: 0x0100,
        ..Default::default()
    };
    int16(&mut regs, &mut mem);
    assert!(regs.zf());
    feed(&mut mem, &tap(0x1F)); // s
    for _ in 0..2 {
        let mut regs = Regs {
            eax: 0x1100,
            ..Default::default()
        };
        assert_eq!(int16(&mut regs, &mut mem), Next::Return);
        assert!(!regs.zf());
        assert_eq!(regs.ax(), 0x1F73);
    }
    assert_eq!(drain(&mut mem, 0x10), vec![0x1F73]);
}

#[test]
fn a_read_on_an_empty_buffer_waits_and_retries() {
    let mut mem = keyboard();
    let mut regs = Regs::default();
    assert_eq!(int16(&mut regs, &mut mem), Next::WaitAndRetry);
}

#[test]
fn store_keystroke_fills_the_buffer_then_reports_full() {
    let mut mem = keyboard();
    let mut results = Vec::new();
    for i in 0..16u32 {
        let mut regs = Regs {
            eax: 0x0500,
            ecx: 0x2000 + i,
            ..Default::default()
        };
        int16(&mut regs, &mut mem);
        results.push(regs.al());
    }
    assert_eq!(results[..15], [0; 15]);
    assert_eq!(results[15], 1, "the sixteenth key does not fit");
    let words = drain(&mut mem, 0x10);
    assert_eq!(words.len(), 15);
    assert_eq!(words[0], 0x2000);
    assert_eq!(words[14], 0x200E);
}

/// Port 60h holds one scan code; writes are recorded.
struct OneScancode {
    code: u8,
    writes: Vec<(u16, u8)>,
}

impl BiosPlatform for OneScancode {
    fn port_in(&mut self, port: u16) -> u8 {
        if port == KBC_DATA {
            self.code
        } else {
            0xFF
        }
    }
    fn port_out(&mut self, port: u16, value: u8) {
        self.writes.push((port, value));
    }
    fn ram_size(&self) -> u64 {
        0
    }
    fn now_ns(&self) -> u64 {
        0
    }
}

#[test]
fn int09_reads_port_60h_and_ends_the_interrupt() {
    let mut mem = keyboard();
    let mut pf = OneScancode {
        code: 0x2C, // z
        writes: Vec::new(),
    };
    assert_eq!(int09(&mut mem, &mut pf), Next::Return);
    assert_eq!(pf.writes, vec![(PIC1_COMMAND, EOI)]);
    assert_eq!(drain(&mut mem, 0x00), vec![0x2C7A]);
}

#[test]
fn random_scan_codes_never_panic_and_never_overrun_the_ring() {
    let mut mem = keyboard();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        handle_scancode(&mut mem, x as u8);
        if x & 0x700 == 0 {
            assert!(drain(&mut mem, 0x10).len() <= 15);
        }
    }
    // The buffer stays inside 0040:001E-003D.
    let head = mem.read_u16(0x41A);
    let tail = mem.read_u16(0x41C);
    assert!((0x1E..0x3E).contains(&head) && (0x1E..0x3E).contains(&tail));
}
