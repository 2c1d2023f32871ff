//! The keyboard ring buffer in the BIOS data area, which the INT 09h
//! handler fills and INT 16h empties.
//!
//! 16 words at 40:1Eh-40:3Dh by default; each word is the ASCII code (low
//! byte) and the scan code (high byte). `BUFFER_HEAD` points at the next key
//! to read, `BUFFER_TAIL` at the next free slot; head = tail is empty, and the
//! buffer is full when advancing the tail would make it equal the head (so it
//! holds 15 keys). Both pointers wrap from `BUFFER_END` to `BUFFER_START`
//! (40:80h/82h), which a program may move elsewhere in the BDA. As in the AT
//! listing's `K4`/`KIO` routines.
//!
//! The guest owns this memory and may write anything to it. These routines
//! only honour a buffer that lies inside the BDA (start < end <= 100h, even
//! length, pointers inside it at an even distance from the start); otherwise
//! [`kbd_push`] and [`kbd_pop`] reset the buffer to the default empty 16-word
//! ring and [`kbd_peek`] reports it empty, so no write leaves the BDA.

#[cfg(test)]
mod tests;

use super::{
    BDA_BASE, BDA_SIZE, BUFFER_END, BUFFER_HEAD, BUFFER_START, BUFFER_TAIL, KB_BUFFER_DEFAULT_END,
    KB_BUFFER_DEFAULT_START,
};
use crate::RealMemory;

/// A validated view of the keyboard ring: all four values are offsets from
/// segment 40h with `start <= head, tail < end <= BDA_SIZE`.
struct Ring {
    start: u16,
    end: u16,
    head: u16,
    tail: u16,
}

impl Ring {
    fn read(mem: &dyn RealMemory) -> Option<Self> {
        let ring = Self {
            start: mem.read_u16(BUFFER_START),
            end: mem.read_u16(BUFFER_END),
            head: mem.read_u16(BUFFER_HEAD),
            tail: mem.read_u16(BUFFER_TAIL),
        };
        ring.valid().then_some(ring)
    }

    /// The buffer lies inside the BDA and both pointers sit on a word slot.
    fn valid(&self) -> bool {
        let inside = |p: u16| p >= self.start && p < self.end && (p - self.start).is_multiple_of(2);
        self.start < self.end
            && u32::from(self.end) <= BDA_SIZE
            && (self.end - self.start).is_multiple_of(2)
            && inside(self.head)
            && inside(self.tail)
    }

    /// The slot after `p`, wrapping from the end to the start.
    fn advance(&self, p: u16) -> u16 {
        let next = p + 2;
        if next >= self.end {
            self.start
        } else {
            next
        }
    }
}

/// Resets the keyboard buffer to the default empty 16-word ring.
pub fn kbd_reset(mem: &mut dyn RealMemory) {
    mem.write_u16(BUFFER_START, KB_BUFFER_DEFAULT_START);
    mem.write_u16(BUFFER_END, KB_BUFFER_DEFAULT_END);
    mem.write_u16(BUFFER_HEAD, KB_BUFFER_DEFAULT_START);
    mem.write_u16(BUFFER_TAIL, KB_BUFFER_DEFAULT_START);
}

fn ring_or_reset(mem: &mut dyn RealMemory) -> Ring {
    match Ring::read(mem) {
        Some(r) => r,
        None => {
            kbd_reset(mem);
            Ring {
                start: KB_BUFFER_DEFAULT_START,
                end: KB_BUFFER_DEFAULT_END,
                head: KB_BUFFER_DEFAULT_START,
                tail: KB_BUFFER_DEFAULT_START,
            }
        }
    }
}

/// Appends a key (scan code, ASCII code) at the tail, as the INT 09h handler
/// and INT 16h AH=05h do. Returns false, storing nothing, if the buffer is
/// full (the AT beeps then).
pub fn kbd_push(mem: &mut dyn RealMemory, scancode: u8, ascii: u8) -> bool {
    let ring = ring_or_reset(mem);
    let next = ring.advance(ring.tail);
    if next == ring.head {
        return false;
    }
    let word = u16::from_le_bytes([ascii, scancode]);
    mem.write_u16(BDA_BASE + u32::from(ring.tail), word);
    mem.write_u16(BUFFER_TAIL, next);
    true
}

/// The key at the head, (scan code, ASCII code), without removing it; `None`
/// if the buffer is empty (or not a valid ring inside the BDA).
pub fn kbd_peek(mem: &dyn RealMemory) -> Option<(u8, u8)> {
    let ring = Ring::read(mem)?;
    if ring.head == ring.tail {
        return None;
    }
    let [ascii, scancode] = mem.read_u16(BDA_BASE + u32::from(ring.head)).to_le_bytes();
    Some((scancode, ascii))
}

/// Removes and returns the key at the head, (scan code, ASCII code); `None`
/// if the buffer is empty. An invalid ring is reset to the empty default.
pub fn kbd_pop(mem: &mut dyn RealMemory) -> Option<(u8, u8)> {
    let ring = ring_or_reset(mem);
    if ring.head == ring.tail {
        return None;
    }
    let [ascii, scancode] = mem.read_u16(BDA_BASE + u32::from(ring.head)).to_le_bytes();
    mem.write_u16(BUFFER_HEAD, ring.advance(ring.head));
    Some((scancode, ascii))
}
