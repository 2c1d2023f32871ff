//! Host terminal bytes to PC keystrokes, and scan code set 1 to set 2.
//!
//! Scan codes are those of the IBM PS/2 Hardware Interface Technical
//! Reference, "Keyboards (101- and 102-Key)", scan code tables for sets 1
//! and 2, US layout. Terminal input follows ECMA-48 (ESC, CSI = `ESC [`,
//! SS3 = `ESC O`) with the xterm/VT220 key sequences:
//! arrows `CSI A..D` / `SS3 A..D`, Home/End `CSI H/F`, `CSI n ~` editing and
//! function keys, F1-F4 `SS3 P..S`, and the Linux console's `CSI [ A..E`.

/// Set-1 prefix byte of the extended (gray) keys.
pub(super) const SET1_EXTENDED: u8 = 0xE0;
/// Set-1 break code = make code with bit 7 set.
pub(super) const SET1_BREAK: u8 = 0x80;
/// Set-2 prefix of a break code.
pub(super) const SET2_BREAK_PREFIX: u8 = 0xF0;

// Set-1 make codes of the keys the terminal decoder emits by name.
const KEY_ESCAPE: u8 = 0x01;
const KEY_BACKSPACE: u8 = 0x0E;
const KEY_TAB: u8 = 0x0F;
const KEY_ENTER: u8 = 0x1C;
const KEY_LEFT_CTRL: u8 = 0x1D;
const KEY_LEFT_SHIFT: u8 = 0x2A;
const KEY_SPACE: u8 = 0x39;
const KEY_F1: u8 = 0x3B;
const KEY_F11: u8 = 0x57;
const KEY_F12: u8 = 0x58;
// Extended keys (sent after 0xE0); same codes as the keypad keys they shadow.
const KEY_HOME: u8 = 0x47;
const KEY_UP: u8 = 0x48;
const KEY_PAGE_UP: u8 = 0x49;
const KEY_LEFT: u8 = 0x4B;
const KEY_RIGHT: u8 = 0x4D;
const KEY_END: u8 = 0x4F;
const KEY_DOWN: u8 = 0x50;
const KEY_PAGE_DOWN: u8 = 0x51;
const KEY_INSERT: u8 = 0x52;
const KEY_DELETE: u8 = 0x53;

/// US layout main-block rows: first set-1 make code, unshifted and shifted
/// characters of consecutive keys.
const ROWS: [(u8, &[u8], &[u8]); 4] = [
    (0x02, b"1234567890-=", b"!@#$%^&*()_+"),
    (0x10, b"qwertyuiop[]", b"QWERTYUIOP{}"),
    (0x1E, b"asdfghjkl;'`", b"ASDFGHJKL:\"~"),
    (0x2B, b"\\zxcvbnm,./", b"|ZXCVBNM<>?"),
];

/// Set-2 make code for each set-1 make code 0x00..=0x58 (0 = no such key).
/// Extended keys share the table: `E0 48` (Up) is `E0 75` in set 2.
const SET1_TO_SET2: [u8; 0x59] = [
    0x00, 0x76, 0x16, 0x1E, 0x26, 0x25, 0x2E, 0x36, // -, Esc, 1..6
    0x3D, 0x3E, 0x46, 0x45, 0x4E, 0x55, 0x66, 0x0D, // 7..0, -, =, Bksp, Tab
    0x15, 0x1D, 0x24, 0x2D, 0x2C, 0x35, 0x3C, 0x43, // Q W E R T Y U I
    0x44, 0x4D, 0x54, 0x5B, 0x5A, 0x14, 0x1C, 0x1B, // O P [ ] Enter LCtrl A S
    0x23, 0x2B, 0x34, 0x33, 0x3B, 0x42, 0x4B, 0x4C, // D F G H J K L ;
    0x52, 0x0E, 0x12, 0x5D, 0x1A, 0x22, 0x21, 0x2A, // ' ` LShift \ Z X C V
    0x32, 0x31, 0x3A, 0x41, 0x49, 0x4A, 0x59, 0x7C, // B N M , . / RShift KP*
    0x11, 0x29, 0x58, 0x05, 0x06, 0x04, 0x0C, 0x03, // LAlt Space Caps F1..F5
    0x0B, 0x83, 0x0A, 0x01, 0x09, 0x77, 0x7E, 0x6C, // F6..F10 Num Scroll KP7
    0x75, 0x7D, 0x7B, 0x6B, 0x73, 0x74, 0x79, 0x69, // KP8 KP9 KP- KP4..6 KP+ KP1
    0x72, 0x7A, 0x70, 0x71, 0x00, 0x00, 0x61, 0x78, // KP2 KP3 KP0 KP. - - <> F11
    0x07, // F12
];

/// The set-2 make code of a set-1 make code, if the key exists.
pub(super) fn set1_to_set2(make: u8) -> Option<u8> {
    SET1_TO_SET2
        .get(usize::from(make))
        .copied()
        .filter(|&c| c != 0)
}

/// One key press and release, optionally with a modifier held around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stroke {
    /// Set-1 make code of a (non-extended) modifier held during the key.
    pub modifier: Option<u8>,
    /// The key is an extended one (its codes carry the 0xE0 prefix).
    pub extended: bool,
    /// Set-1 make code of the key.
    pub code: u8,
}

/// Longest set-1 encoding of a stroke: modifier, E0, key, modifier, E0, key.
pub(super) const MAX_STROKE_BYTES: usize = 6;

impl Stroke {
    fn key(code: u8) -> Self {
        Self {
            modifier: None,
            extended: false,
            code,
        }
    }

    fn extended(code: u8) -> Self {
        Self {
            modifier: None,
            extended: true,
            code,
        }
    }

    fn with(modifier: u8, code: u8) -> Self {
        Self {
            modifier: Some(modifier),
            extended: false,
            code,
        }
    }

    /// The stroke in set 1: modifier make, key make, modifier break, key
    /// break. Returns the buffer and the number of bytes used.
    pub fn set1(&self) -> ([u8; MAX_STROKE_BYTES], usize) {
        let mut out = [0; MAX_STROKE_BYTES];
        let mut n = 0;
        let mut push = |b: u8| {
            if let Some(slot) = out.get_mut(n) {
                *slot = b;
                n += 1;
            }
        };
        if let Some(m) = self.modifier {
            push(m);
        }
        if self.extended {
            push(SET1_EXTENDED);
        }
        push(self.code);
        if let Some(m) = self.modifier {
            push(m | SET1_BREAK);
        }
        if self.extended {
            push(SET1_EXTENDED);
        }
        push(self.code | SET1_BREAK);
        (out, n)
    }
}

/// The key and Shift state that types printable ASCII `b` on a US layout.
fn ascii_key(b: u8) -> Option<(u8, bool)> {
    if b == b' ' {
        return Some((KEY_SPACE, false));
    }
    ROWS.iter().find_map(|&(first, plain, shifted)| {
        let at = |row: &[u8]| {
            row.iter()
                .position(|&c| c == b)
                .and_then(|i| u8::try_from(i).ok())
                .map(|i| first.wrapping_add(i))
        };
        at(plain)
            .map(|code| (code, false))
            .or_else(|| at(shifted).map(|code| (code, true)))
    })
}

/// Escape sequences this long or longer name no key and are dropped whole.
const MAX_SEQUENCE_LEN: u8 = 16;
/// Largest numeric parameter kept; bigger ones mean no key anyway.
const MAX_PARAM: u16 = 999;

/// Where the decoder is within an escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Plain input.
    Ground,
    /// After ESC: a lone Escape key unless `[` or `O` follows.
    Escape,
    /// After CSI: first numeric parameter so far, whether a `;` ended it,
    /// and bytes seen.
    Csi { param: u16, ended: bool, len: u8 },
    /// After the Linux console's `CSI [`.
    CsiBracket,
    /// After SS3.
    Ss3,
}

/// Turns a stream of terminal bytes into keystrokes. Keeps its state across
/// calls, so a sequence split over several host reads still decodes.
#[derive(Clone, Debug)]
pub(super) struct TerminalDecoder {
    state: State,
}

impl Default for TerminalDecoder {
    fn default() -> Self {
        Self {
            state: State::Ground,
        }
    }
}

impl TerminalDecoder {
    /// Decodes one byte, handing finished keystrokes to `emit`.
    pub fn feed(&mut self, b: u8, emit: &mut impl FnMut(Stroke)) {
        match self.state {
            State::Ground => self.ground(b, emit),
            State::Escape => match b {
                b'[' => {
                    self.state = State::Csi {
                        param: 0,
                        ended: false,
                        len: 0,
                    }
                }
                b'O' => self.state = State::Ss3,
                _ => {
                    // The ESC was a key of its own.
                    emit(Stroke::key(KEY_ESCAPE));
                    self.state = State::Ground;
                    self.ground(b, emit);
                }
            },
            State::Csi { param, ended, len } => self.csi(b, param, ended, len, emit),
            State::CsiBracket => {
                self.state = State::Ground;
                match b {
                    // CSI [ A..E: F1..F5 on the Linux console.
                    b'A'..=b'E' => emit(Stroke::key(KEY_F1.wrapping_add(b - b'A'))),
                    0x00..=0x1F => self.ground(b, emit),
                    _ => {}
                }
            }
            State::Ss3 => {
                self.state = State::Ground;
                match b {
                    b'P'..=b'S' => emit(Stroke::key(KEY_F1.wrapping_add(b - b'P'))),
                    0x00..=0x1F => self.ground(b, emit),
                    _ => {
                        if let Some(s) = cursor_key(b) {
                            emit(s);
                        }
                    }
                }
            }
        }
    }

    /// The host saw no further input for a while: an ESC still waiting for
    /// the rest of a sequence was the Escape key; a partial sequence is
    /// dropped.
    pub fn idle(&mut self, emit: &mut impl FnMut(Stroke)) {
        if self.state == State::Escape {
            emit(Stroke::key(KEY_ESCAPE));
        }
        self.state = State::Ground;
    }

    fn ground(&mut self, b: u8, emit: &mut impl FnMut(Stroke)) {
        let stroke = match b {
            0x1B => {
                self.state = State::Escape;
                return;
            }
            b'\r' | b'\n' => Stroke::key(KEY_ENTER),
            0x7F | 0x08 => Stroke::key(KEY_BACKSPACE),
            b'\t' => Stroke::key(KEY_TAB),
            // Ctrl+A..Ctrl+Z (the ones above that are keys of their own excepted).
            0x01..=0x1A => match ascii_key(b'a'.wrapping_add(b - 1)) {
                Some((code, _)) => Stroke::with(KEY_LEFT_CTRL, code),
                None => return,
            },
            // Ctrl+\ and Ctrl+].
            0x1C | 0x1D => match ascii_key(b + 0x40) {
                Some((code, _)) => Stroke::with(KEY_LEFT_CTRL, code),
                None => return,
            },
            0x20..=0x7E => match ascii_key(b) {
                Some((code, false)) => Stroke::key(code),
                Some((code, true)) => Stroke::with(KEY_LEFT_SHIFT, code),
                None => return,
            },
            // NUL, Ctrl+^, Ctrl+_ and non-ASCII bytes have no key here.
            _ => return,
        };
        emit(stroke);
    }

    fn csi(&mut self, b: u8, param: u16, ended: bool, len: u8, emit: &mut impl FnMut(Stroke)) {
        let len = len.saturating_add(1).min(MAX_SEQUENCE_LEN);
        match b {
            b'0'..=b'9' if !ended => {
                let param = param
                    .saturating_mul(10)
                    .saturating_add(u16::from(b - b'0'))
                    .min(MAX_PARAM);
                self.state = State::Csi { param, ended, len };
            }
            b'0'..=b'9' | b';' => {
                self.state = State::Csi {
                    param,
                    ended: true,
                    len,
                }
            }
            b'[' if len == 1 => self.state = State::CsiBracket,
            // Intermediate and private-marker bytes: ignored.
            0x20..=0x2F | 0x3A..=0x3F => self.state = State::Csi { param, ended, len },
            0x40..=0x7E => {
                self.state = State::Ground;
                if len >= MAX_SEQUENCE_LEN {
                    return;
                }
                if let Some(s) = csi_final(b, param) {
                    emit(s);
                }
            }
            // A control byte cuts the sequence short and counts on its own.
            _ => {
                self.state = State::Ground;
                self.ground(b, emit);
            }
        }
    }
}

/// Cursor keys shared by CSI and SS3: arrows, Home and End.
fn cursor_key(b: u8) -> Option<Stroke> {
    let code = match b {
        b'A' => KEY_UP,
        b'B' => KEY_DOWN,
        b'C' => KEY_RIGHT,
        b'D' => KEY_LEFT,
        b'H' => KEY_HOME,
        b'F' => KEY_END,
        _ => return None,
    };
    Some(Stroke::extended(code))
}

/// The key a complete CSI sequence names.
fn csi_final(b: u8, param: u16) -> Option<Stroke> {
    match b {
        b'~' => tilde_key(param),
        // xterm with modifiers: CSI 1 ; m P..S = F1..F4.
        b'P'..=b'S' => Some(Stroke::key(KEY_F1.wrapping_add(b - b'P'))),
        // Back-tab: Shift+Tab.
        b'Z' => Some(Stroke::with(KEY_LEFT_SHIFT, KEY_TAB)),
        _ => cursor_key(b),
    }
}

/// The key of a VT220-style `CSI n ~` sequence.
fn tilde_key(n: u16) -> Option<Stroke> {
    let function = |first: u16, key: u8| {
        u8::try_from(n.wrapping_sub(first))
            .ok()
            .map(|i| Stroke::key(key.wrapping_add(i)))
    };
    match n {
        1 | 7 => Some(Stroke::extended(KEY_HOME)),
        2 => Some(Stroke::extended(KEY_INSERT)),
        3 => Some(Stroke::extended(KEY_DELETE)),
        4 | 8 => Some(Stroke::extended(KEY_END)),
        5 => Some(Stroke::extended(KEY_PAGE_UP)),
        6 => Some(Stroke::extended(KEY_PAGE_DOWN)),
        11..=15 => function(11, KEY_F1),     // F1..F5
        17..=21 => function(17, KEY_F1 + 5), // F6..F10
        23 => Some(Stroke::key(KEY_F11)),
        24 => Some(Stroke::key(KEY_F12)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn decode(input: &[u8]) -> Vec<u8> {
        let mut d = TerminalDecoder::default();
        let mut out = Vec::new();
        let mut emit = |s: Stroke| {
            let (bytes, n) = s.set1();
            out.extend_from_slice(&bytes[..n]);
        };
        for &b in input {
            d.feed(b, &mut emit);
        }
        d.idle(&mut emit);
        out
    }

    #[test]
    fn lower_case_letters_and_digits_are_plain_make_break_pairs() {
        assert_eq!(decode(b"a1"), [0x1E, 0x9E, 0x02, 0x82]);
        assert_eq!(decode(b" "), [0x39, 0xB9]);
    }

    #[test]
    fn upper_case_and_shifted_symbols_hold_left_shift() {
        assert_eq!(decode(b"A"), [0x2A, 0x1E, 0xAA, 0x9E]);
        assert_eq!(decode(b"?"), [0x2A, 0x35, 0xAA, 0xB5]);
        assert_eq!(decode(b"\""), [0x2A, 0x28, 0xAA, 0xA8]);
    }

    #[test]
    fn every_printable_ascii_character_has_a_key() {
        for b in 0x20..=0x7E {
            assert!(!decode(&[b]).is_empty(), "{b:#x}");
        }
    }

    #[test]
    fn control_characters_map_to_editing_keys_or_ctrl_letter() {
        assert_eq!(decode(b"\r"), [0x1C, 0x9C]);
        assert_eq!(decode(b"\n"), [0x1C, 0x9C]);
        assert_eq!(decode(&[0x7F]), [0x0E, 0x8E]);
        assert_eq!(decode(&[0x08]), [0x0E, 0x8E]);
        assert_eq!(decode(b"\t"), [0x0F, 0x8F]);
        // Ctrl+C.
        assert_eq!(decode(&[0x03]), [0x1D, 0x2E, 0x9D, 0xAE]);
    }

    #[test]
    fn a_lone_escape_is_the_escape_key() {
        assert_eq!(decode(&[0x1B]), [0x01, 0x81]);
        assert_eq!(decode(b"\x1bx"), [0x01, 0x81, 0x2D, 0xAD]);
        assert_eq!(decode(b"\x1b\x1b"), [0x01, 0x81, 0x01, 0x81]);
    }

    #[test]
    fn escape_sequences_decode_to_extended_keys() {
        assert_eq!(decode(b"\x1b[A"), [0xE0, 0x48, 0xE0, 0xC8]);
        assert_eq!(decode(b"\x1bOB"), [0xE0, 0x50, 0xE0, 0xD0]);
        assert_eq!(decode(b"\x1b[3~"), [0xE0, 0x53, 0xE0, 0xD3]);
        assert_eq!(decode(b"\x1b[6~"), [0xE0, 0x51, 0xE0, 0xD1]);
        assert_eq!(decode(b"\x1b[1;5C"), [0xE0, 0x4D, 0xE0, 0xCD]);
        assert_eq!(decode(b"\x1b[H"), [0xE0, 0x47, 0xE0, 0xC7]);
    }

    #[test]
    fn function_keys_decode_from_all_common_encodings() {
        assert_eq!(decode(b"\x1bOP"), [0x3B, 0xBB]);
        assert_eq!(decode(b"\x1bOS"), [0x3E, 0xBE]);
        assert_eq!(decode(b"\x1b[15~"), [0x3F, 0xBF]);
        assert_eq!(decode(b"\x1b[17~"), [0x40, 0xC0]);
        assert_eq!(decode(b"\x1b[21~"), [0x44, 0xC4]);
        assert_eq!(decode(b"\x1b[23~"), [0x57, 0xD7]);
        assert_eq!(decode(b"\x1b[24~"), [0x58, 0xD8]);
        assert_eq!(decode(b"\x1b[[A"), [0x3B, 0xBB]);
    }

    #[test]
    fn unknown_or_overlong_sequences_and_bytes_are_dropped() {
        assert!(decode(b"\x1b[99~").is_empty());
        assert!(decode(b"\x1b[5555555555555555555555~").is_empty());
        assert!(decode(&[0x00, 0x80, 0xFF, 0x1E, 0x1F]).is_empty());
        // A control byte inside a sequence ends it and is typed itself.
        assert_eq!(decode(b"\x1b[1\r"), [0x1C, 0x9C]);
    }

    #[test]
    fn sequences_split_across_calls_still_decode() {
        let mut d = TerminalDecoder::default();
        let mut out = Vec::new();
        for &b in b"\x1b[D" {
            d.feed(b, &mut |s: Stroke| out.push(s));
        }
        assert_eq!(out, [Stroke::extended(KEY_LEFT)]);
    }

    #[test]
    fn every_key_the_decoder_emits_exists_in_set_2() {
        let mut all = Vec::new();
        for b in 0..=0xFFu8 {
            all.extend(decode(&[b]));
            all.extend(decode(&[0x1B, b'[', b]));
            all.extend(decode(&[0x1B, b'O', b]));
        }
        for n in 0..40u8 {
            let mut seq = Vec::from(*b"\x1b[");
            seq.extend_from_slice(alloc::format!("{n}~").as_bytes());
            all.extend(decode(&seq));
        }
        for b in all {
            if b != SET1_EXTENDED {
                assert!(set1_to_set2(b & !SET1_BREAK).is_some(), "{b:#x}");
            }
        }
    }

    #[test]
    fn set_2_table_agrees_on_known_keys() {
        assert_eq!(set1_to_set2(0x1E), Some(0x1C)); // A
        assert_eq!(set1_to_set2(0x48), Some(0x75)); // Up / KP8
        assert_eq!(set1_to_set2(0x41), Some(0x83)); // F7
        assert_eq!(set1_to_set2(0x58), Some(0x07)); // F12
        assert_eq!(set1_to_set2(0x00), None);
        assert_eq!(set1_to_set2(0x7F), None);
    }
}
