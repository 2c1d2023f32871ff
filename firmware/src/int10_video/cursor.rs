//! The cursor: one position per page in the BIOS data area (AH=02h/03h),
//! one shape for all of them (AH=01h), and the CRTC registers that show the
//! active page's cursor (Cursor Location 0Eh/0Fh, Cursor Start/End 0Ah/0Bh).
//!
//! The BDA keeps what the guest gave; the CRTC gets the shape stretched to
//! the VGA's 16-line cell when cursor emulation is on (see the choices in
//! the `int10_video` module doc).

use super::bda::VIDEO_CONTROL_NO_CURSOR_EMULATION;
use super::params::crtc_out;
use super::text_screen::{page_start_cell, COLUMNS, PAGES, ROWS};
use super::{bda, Video};
use device_model::vga_text::{
    CRTC_CURSOR_END, CRTC_CURSOR_LOCATION_HIGH, CRTC_CURSOR_LOCATION_LOW, CRTC_CURSOR_START,
    CURSOR_END_ROW_SCAN, CURSOR_START_CURSOR_OFF, CURSOR_START_ROW_SCAN,
};

/// Scan lines per character of the CGA, for which cursor shapes are given.
const CGA_CHAR_HEIGHT: u8 = 8;
/// Tallest character cell the CRTC's 5-bit scan line fields can describe.
const MAX_CHAR_HEIGHT: u16 = 32;
/// Cursor shape after a text mode set: start line 6, end line 7 (BDA form).
pub const DEFAULT_CURSOR_SHAPE: u16 = 0x0607;
/// Cursor shape CH bits 6-5: blink control; any non-zero value hides the
/// cursor on EGA/VGA.
const CURSOR_SHAPE_OPTIONS: u8 = 0b11 << 5;

/// Cursor Start and Cursor End register values for the BDA cursor shape
/// `shape` (high byte start, low byte end) in a cell `char_height` lines
/// tall, with or without cursor emulation (see the `int10_video` module doc).
pub(super) fn crtc_cursor_shape(shape: u16, char_height: u16, emulate: bool) -> (u8, u8) {
    let [end, start] = shape.to_le_bytes();
    let hidden = start & CURSOR_SHAPE_OPTIONS != 0;
    let mut first = start & CURSOR_START_ROW_SCAN;
    let mut last = end & CURSOR_END_ROW_SCAN;
    let height = char_height.min(MAX_CHAR_HEIGHT);
    let cga = u16::from(CGA_CHAR_HEIGHT);
    if emulate && height > cga && first <= last && u16::from(last) < cga {
        let stretch = |line: u8, is_end: bool| {
            let line = u16::from(line);
            let scaled = if line >= cga / 2 {
                line + height - (cga + 1)
            } else if is_end {
                (line + 1) * height / cga - 1
            } else {
                line * height / cga
            };
            (scaled & u16::from(CURSOR_START_ROW_SCAN)) as u8
        };
        first = stretch(first, false);
        last = stretch(last, true);
    }
    let off = if hidden { CURSOR_START_CURSOR_OFF } else { 0 };
    (first | off, last)
}

impl Video<'_> {
    pub(super) fn cursor_slot(page: u8) -> u32 {
        bda::CURSOR_POSITIONS + 2 * u32::from(page.min(PAGES - 1))
    }

    /// The cursor of `page` as stored: (column, row).
    pub(super) fn cursor(&self, page: u8) -> (u8, u8) {
        let [column, row] = self.mem.read_u16(Self::cursor_slot(page)).to_le_bytes();
        (column, row)
    }

    /// The cursor of `page`, clamped to the screen, for output.
    pub(super) fn screen_cursor(&self, page: u8) -> (u8, u8) {
        let (column, row) = self.cursor(page);
        (column.min(COLUMNS - 1), row.min(ROWS - 1))
    }

    /// Stores the cursor of `page`; the CRTC follows when it is the active page.
    pub(super) fn set_cursor(&mut self, page: u8, column: u8, row: u8) {
        self.mem
            .write_u16(Self::cursor_slot(page), u16::from_le_bytes([column, row]));
        if page == self.active_page() {
            self.program_cursor_location();
        }
    }

    /// Cursor Location = the active page's first cell + row * 80 + column.
    pub(super) fn program_cursor_location(&mut self) {
        let page = self.active_page();
        let (column, row) = self.cursor(page);
        let location = page_start_cell(page)
            .wrapping_add(u16::from(row) * u16::from(COLUMNS))
            .wrapping_add(u16::from(column));
        let [high, low] = location.to_be_bytes();
        crtc_out(self.pf, CRTC_CURSOR_LOCATION_HIGH, high);
        crtc_out(self.pf, CRTC_CURSOR_LOCATION_LOW, low);
    }

    /// Cursor Start/End from the BDA shape, character height and emulation bit.
    pub(super) fn program_cursor_shape(&mut self) {
        let shape = self.mem.read_u16(bda::CURSOR_SHAPE);
        let height = self.mem.read_u16(bda::CHAR_HEIGHT);
        let emulate = self.mem.read_u8(bda::VIDEO_CONTROL) & VIDEO_CONTROL_NO_CURSOR_EMULATION == 0;
        let (start, end) = crtc_cursor_shape(shape, height, emulate);
        crtc_out(self.pf, CRTC_CURSOR_START, start);
        crtc_out(self.pf, CRTC_CURSOR_END, end);
    }
}
