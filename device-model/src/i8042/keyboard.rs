//! The PS/2 keyboard behind the 8042's keyboard port (IBM PS/2 Hardware
//! Interface Technical Reference, "Keyboards (101- and 102-Key)",
//! "Commands from the System" and "Commands to the System").
//!
//! The keyboard speaks scan code set 2 on its wire; the host-side queue,
//! however, holds set-1 codes (what the guest reads with the 8042's default
//! translation on). [`Keyboard::next_scan_code`] hands them out unchanged while
//! translation is on or set 1 is selected, and converts them to set 2
//! otherwise. Set 3 is accepted but delivered as set 2.

use super::keymap::{self, Stroke, TerminalDecoder, SET1_BREAK, SET1_EXTENDED, SET2_BREAK_PREFIX};
use alloc::collections::VecDeque;

/// Set LED indicators (one parameter byte: bit 0 Scroll, 1 Num, 2 Caps Lock).
const CMD_SET_LEDS: u8 = 0xED;
/// Echo: the keyboard answers 0xEE.
const CMD_ECHO: u8 = 0xEE;
/// Select alternate scan codes (parameter 0 = report, 1..3 = select set).
const CMD_SCAN_CODE_SET: u8 = 0xF0;
/// Read ID: ACK, then the two ID bytes.
const CMD_READ_ID: u8 = 0xF2;
/// Set typematic rate/delay (one parameter byte, bit 7 zero).
const CMD_SET_TYPEMATIC: u8 = 0xF3;
/// Enable: start scanning.
const CMD_ENABLE: u8 = 0xF4;
/// Default disable: restore defaults and stop scanning.
const CMD_DEFAULT_DISABLE: u8 = 0xF5;
/// Set default: restore defaults, keep scanning.
const CMD_SET_DEFAULT: u8 = 0xF6;
/// Set all keys typematic (set 3 only).
const CMD_SET_ALL_TYPEMATIC: u8 = 0xF7;
/// Set all keys make/break/typematic (set 3 only).
const CMD_SET_ALL_MAKE_BREAK_TYPEMATIC: u8 = 0xFA;
/// Resend: repeat the last byte sent.
const CMD_RESEND: u8 = 0xFE;
/// Reset: ACK, then the basic assurance test and its completion code.
const CMD_RESET: u8 = 0xFF;

/// Acknowledge.
const REPLY_ACK: u8 = 0xFA;
/// Basic assurance test completed.
const REPLY_BAT_COMPLETE: u8 = 0xAA;
/// Echo answer.
const REPLY_ECHO: u8 = 0xEE;
/// Resend: the keyboard could not use the byte.
const REPLY_RESEND: u8 = 0xFE;
/// First keyboard ID byte of a 101/102-key keyboard.
const ID_FIRST: u8 = 0xAB;
/// Second keyboard ID byte of a 101/102-key keyboard.
const ID_SECOND: u8 = 0x83;

/// LED parameter bits that exist (Scroll, Num, Caps Lock).
const LED_MASK: u8 = 0x07;
/// Typematic parameter bit 7, which must be zero.
const TYPEMATIC_RESERVED: u8 = 0x80;
/// Power-on typematic setting: 10.9 characters/s after 500 ms.
const TYPEMATIC_DEFAULT: u8 = 0x2B;
/// Power-on scan code set.
const SET_DEFAULT: u8 = 2;

/// Bytes the keyboard can hold in replies not yet taken by the controller.
pub(super) const REPLY_DEPTH: usize = 16;
/// Host keystroke bytes waiting for the guest.
pub const TYPED_QUEUE_DEPTH: usize = 256;

/// What the 8042's translation (command byte bit 6) turns a keyboard reply
/// into: the entries of the set-2-to-set-1 table that replies can hit. ACK,
/// BAT, echo, resend and 0xAB are at or above 0x80 and pass unchanged.
fn translate_reply(b: u8) -> u8 {
    match b {
        0x01 => 0x43,
        0x02 => 0x41,
        0x03 => 0x3F,
        0x83 => 0x41,
        other => other,
    }
}

/// One PS/2 keyboard.
#[derive(Clone, Debug)]
pub(super) struct Keyboard {
    /// Replies to commands, oldest first, as sent on the wire (untranslated).
    replies: VecDeque<u8>,
    /// Host keystrokes in set 1.
    typed: VecDeque<u8>,
    /// Second byte of a set-2 break code still to send.
    carry: Option<u8>,
    /// Scanning enabled (F4) rather than disabled (F5).
    scanning: bool,
    /// Command whose parameter byte is awaited.
    awaiting: Option<u8>,
    leds: u8,
    typematic: u8,
    scan_code_set: u8,
    /// Last byte put on the wire, for Resend.
    last_sent: u8,
    decoder: TerminalDecoder,
}

impl Default for Keyboard {
    /// The keyboard after its power-on basic assurance test.
    fn default() -> Self {
        Self {
            replies: VecDeque::new(),
            typed: VecDeque::new(),
            carry: None,
            scanning: true,
            awaiting: None,
            leds: 0,
            typematic: TYPEMATIC_DEFAULT,
            scan_code_set: SET_DEFAULT,
            last_sent: REPLY_BAT_COMPLETE,
            decoder: TerminalDecoder::default(),
        }
    }
}

impl Keyboard {
    /// Host keystroke bytes queued.
    #[cfg(test)]
    pub fn typed_len(&self) -> usize {
        self.typed.len()
    }

    /// Lock LED state last set by the guest (bit 0 Scroll, 1 Num, 2 Caps).
    pub fn leds(&self) -> u8 {
        self.leds
    }

    /// The scan code set the guest selected.
    #[cfg(test)]
    pub fn scan_code_set(&self) -> u8 {
        self.scan_code_set
    }

    fn reply(&mut self, b: u8) {
        if self.replies.len() < REPLY_DEPTH {
            self.replies.push_back(b);
        }
    }

    fn defaults(&mut self) {
        self.typematic = TYPEMATIC_DEFAULT;
        self.carry = None;
    }

    /// A byte the system sent to the keyboard.
    pub fn write(&mut self, b: u8) {
        if let Some(cmd) = self.awaiting.take() {
            // A command byte in place of the parameter abandons the command.
            if b < CMD_SET_LEDS {
                self.parameter(cmd, b);
                return;
            }
        }
        match b {
            CMD_SET_LEDS | CMD_SET_TYPEMATIC | CMD_SCAN_CODE_SET => {
                self.reply(REPLY_ACK);
                self.awaiting = Some(b);
            }
            CMD_ECHO => self.reply(REPLY_ECHO),
            CMD_READ_ID => {
                self.reply(REPLY_ACK);
                self.reply(ID_FIRST);
                self.reply(ID_SECOND);
            }
            CMD_ENABLE => {
                self.reply(REPLY_ACK);
                self.scanning = true;
            }
            CMD_DEFAULT_DISABLE => {
                self.reply(REPLY_ACK);
                self.defaults();
                self.scanning = false;
            }
            CMD_SET_DEFAULT => {
                self.reply(REPLY_ACK);
                self.defaults();
            }
            CMD_SET_ALL_TYPEMATIC..=CMD_SET_ALL_MAKE_BREAK_TYPEMATIC => self.reply(REPLY_ACK),
            CMD_RESEND => {
                let last = self.last_sent;
                self.reply(last);
            }
            CMD_RESET => {
                self.defaults();
                self.leds = 0;
                self.scan_code_set = SET_DEFAULT;
                self.scanning = true;
                self.reply(REPLY_ACK);
                self.reply(REPLY_BAT_COMPLETE);
            }
            _ => self.reply(REPLY_RESEND),
        }
    }

    fn parameter(&mut self, cmd: u8, p: u8) {
        match cmd {
            CMD_SET_LEDS => {
                self.leds = p & LED_MASK;
                self.reply(REPLY_ACK);
            }
            CMD_SET_TYPEMATIC if p & TYPEMATIC_RESERVED == 0 => {
                self.typematic = p;
                self.reply(REPLY_ACK);
            }
            CMD_SCAN_CODE_SET => match p {
                0 => {
                    self.reply(REPLY_ACK);
                    let set = self.scan_code_set;
                    self.reply(set);
                }
                1..=3 => {
                    self.reply(REPLY_ACK);
                    self.scan_code_set = p;
                    self.carry = None;
                }
                _ => self.reply(REPLY_RESEND),
            },
            _ => self.reply(REPLY_RESEND),
        }
    }

    /// The next reply to a command, as the guest will read it with the
    /// controller translating (`translate`) or not.
    pub fn next_reply(&mut self, translate: bool) -> Option<u8> {
        let b = self.replies.pop_front()?;
        self.last_sent = b;
        Some(if translate { translate_reply(b) } else { b })
    }

    /// The next scan code byte of a host keystroke, as the guest will read
    /// it. Replies go first; scanning stops while disabled and while a
    /// parameter is awaited.
    pub fn next_scan_code(&mut self, translate: bool) -> Option<u8> {
        if !self.replies.is_empty() || !self.scanning || self.awaiting.is_some() {
            return None;
        }
        if let Some(b) = self.carry.take() {
            self.last_sent = b;
            return Some(b);
        }
        let b = self.typed.pop_front()?;
        let out = if translate || self.scan_code_set == 1 || b == SET1_EXTENDED {
            b
        } else {
            // Every code in the queue came from the keymap, which only uses
            // keys that exist in set 2; an unknown one is skipped.
            let code = keymap::set1_to_set2(b & !SET1_BREAK)?;
            if b & SET1_BREAK != 0 {
                self.carry = Some(code);
                SET2_BREAK_PREFIX
            } else {
                code
            }
        };
        self.last_sent = out;
        Some(out)
    }

    /// Queues host terminal input as set-1 keystrokes. A keystroke that does
    /// not fit whole in the queue is dropped.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        let Self { decoder, typed, .. } = self;
        for &b in bytes {
            decoder.feed(b, &mut |s| push_stroke(typed, s));
        }
    }

    /// The host input went quiet: a pending lone ESC becomes the Escape key.
    pub fn input_idle(&mut self) {
        let Self { decoder, typed, .. } = self;
        decoder.idle(&mut |s| push_stroke(typed, s));
    }
}

fn push_stroke(typed: &mut VecDeque<u8>, s: Stroke) {
    let (bytes, n) = s.set1();
    let bytes = bytes.get(..n).unwrap_or(&[]);
    if typed.len().saturating_add(bytes.len()) <= TYPED_QUEUE_DEPTH {
        typed.extend(bytes.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn drain(k: &mut Keyboard, translate: bool) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = k
            .next_reply(translate)
            .or_else(|| k.next_scan_code(translate))
        {
            out.push(b);
            assert!(out.len() < 10_000);
        }
        out
    }

    #[test]
    fn reset_acks_then_reports_bat_complete() {
        let mut k = Keyboard::default();
        k.write(CMD_RESET);
        assert_eq!(drain(&mut k, false), [0xFA, 0xAA]);
    }

    #[test]
    fn read_id_reports_mf2_keyboard_translated_or_not() {
        let mut k = Keyboard::default();
        k.write(CMD_READ_ID);
        assert_eq!(drain(&mut k, false), [0xFA, 0xAB, 0x83]);
        k.write(CMD_READ_ID);
        assert_eq!(drain(&mut k, true), [0xFA, 0xAB, 0x41]);
    }

    #[test]
    fn parameter_commands_ack_twice_and_take_effect() {
        let mut k = Keyboard::default();
        k.write(CMD_SET_LEDS);
        k.write(0xFF);
        // 0xFF is a command (Reset) in place of the parameter.
        assert_eq!(drain(&mut k, false), [0xFA, 0xFA, 0xAA]);
        k.write(CMD_SET_LEDS);
        k.write(0x05);
        assert_eq!(k.leds(), 0x05);
        k.write(CMD_SET_TYPEMATIC);
        k.write(0x20);
        k.write(CMD_SCAN_CODE_SET);
        k.write(0x00);
        assert_eq!(
            drain(&mut k, false),
            [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x02]
        );
        k.write(CMD_SCAN_CODE_SET);
        k.write(0x01);
        k.write(CMD_SCAN_CODE_SET);
        k.write(0x00);
        assert_eq!(drain(&mut k, true), [0xFA, 0xFA, 0xFA, 0xFA, 0x43]);
        assert_eq!(k.scan_code_set(), 1);
    }

    #[test]
    fn bad_parameters_and_unknown_commands_get_resend() {
        let mut k = Keyboard::default();
        k.write(CMD_SCAN_CODE_SET);
        k.write(0x04);
        k.write(CMD_SET_TYPEMATIC);
        k.write(0x80);
        k.write(0x00);
        k.write(0xEF);
        assert_eq!(drain(&mut k, false), [0xFA, 0xFE, 0xFA, 0xFE, 0xFE, 0xFE]);
        k.write(CMD_ECHO);
        assert_eq!(drain(&mut k, false), [0xEE]);
        k.write(CMD_RESEND);
        assert_eq!(drain(&mut k, false), [0xEE]);
    }

    #[test]
    fn typed_keys_wait_while_scanning_is_disabled_or_a_parameter_is_due() {
        let mut k = Keyboard::default();
        k.write(CMD_DEFAULT_DISABLE);
        k.type_bytes(b"a");
        assert_eq!(drain(&mut k, true), [0xFA]);
        k.write(CMD_ENABLE);
        k.write(CMD_SET_LEDS);
        assert_eq!(drain(&mut k, true), [0xFA, 0xFA]);
        k.write(0);
        assert_eq!(drain(&mut k, true), [0xFA, 0x1E, 0x9E]);
    }

    #[test]
    fn without_translation_set_2_codes_are_sent() {
        let mut k = Keyboard::default();
        k.type_bytes(b"a\x1b[A");
        assert_eq!(
            drain(&mut k, false),
            [0x1C, 0xF0, 0x1C, 0xE0, 0x75, 0xE0, 0xF0, 0x75]
        );
        k.write(CMD_SCAN_CODE_SET);
        k.write(1);
        drain(&mut k, false);
        k.type_bytes(b"a");
        assert_eq!(drain(&mut k, false), [0x1E, 0x9E]);
    }

    #[test]
    fn typed_queue_is_bounded_and_keeps_strokes_whole() {
        let mut k = Keyboard::default();
        for _ in 0..100 {
            k.type_bytes(b"A");
        }
        assert_eq!(k.typed_len(), TYPED_QUEUE_DEPTH);
        k.type_bytes(b"a");
        assert_eq!(k.typed_len(), TYPED_QUEUE_DEPTH);
        let all = drain(&mut k, true);
        assert_eq!(all.len(), TYPED_QUEUE_DEPTH);
        assert!(all.chunks(4).all(|c| c == [0x2A, 0x1E, 0xAA, 0x9E]));
    }

    #[test]
    fn replies_are_bounded() {
        let mut k = Keyboard::default();
        for _ in 0..100 {
            k.write(CMD_READ_ID);
        }
        assert_eq!(drain(&mut k, false).len(), REPLY_DEPTH);
    }
}
