//! The power-on register values: the state the BIOS leaves after setting
//! mode 3 (80x25 colour text, 9x16 font, 400 lines).

use super::attribute::ATTR_COUNT;
use super::crtc::CRTC_COUNT;
use super::graphics::GC_COUNT;
use super::sequencer::SEQ_COUNT;

/// Miscellaneous Output after mode 3: colour I/O, RAM on, 28 MHz clock,
/// page bit, 400-line sync polarities.
pub(super) const MODE3_MISC: u8 = 0x67;
/// Sequencer registers after mode 3.
pub(super) const MODE3_SEQ: [u8; SEQ_COUNT] = [0x03, 0x00, 0x03, 0x00, 0x02];
/// CRTC registers after mode 3 (cursor on scan lines 13-14, R0-R7 protected).
pub(super) const MODE3_CRTC: [u8; CRTC_COUNT] = [
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, // 00h-07h
    0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00, // 08h-0Fh
    0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, // 10h-17h
    0xFF, // 18h
];
/// Graphics controller registers after mode 3 (odd/even, map B8000h).
pub(super) const MODE3_GC: [u8; GC_COUNT] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];
/// Attribute registers after mode 3 (EGA palette, blink, 9-dot line graphics).
pub(super) const MODE3_ATTR: [u8; ATTR_COUNT] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, // palette 00h-07h
    0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, // palette 08h-0Fh
    0x0C, 0x00, 0x0F, 0x08, 0x00, // 10h-14h
];
