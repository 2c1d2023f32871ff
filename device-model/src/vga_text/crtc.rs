//! The CRT Controller Registers (Address 3D4h/3B4h, Data 3D5h/3B5h),
//! 00h-18h: the Protect R0-R7 bit of Vertical Retrace End, and the start
//! address and cursor the screen and its renderer use.

use super::{indexed, store, VgaText, COLUMNS, ROWS};

/// CRTC index: Horizontal Total Register.
pub const CRTC_HORIZONTAL_TOTAL: u8 = 0x00;
/// CRTC index: CRTC Overflow Register.
pub const CRTC_OVERFLOW: u8 = 0x07;
/// CRTC index: Maximum Scan Line Register.
pub const CRTC_MAXIMUM_SCAN_LINE: u8 = 0x09;
/// CRTC index: Cursor Start Register.
pub const CRTC_CURSOR_START: u8 = 0x0A;
/// CRTC index: Cursor End Register.
pub const CRTC_CURSOR_END: u8 = 0x0B;
/// CRTC index: Start Address High Register.
pub const CRTC_START_ADDRESS_HIGH: u8 = 0x0C;
/// CRTC index: Start Address Low Register.
pub const CRTC_START_ADDRESS_LOW: u8 = 0x0D;
/// CRTC index: Cursor Location High Register.
pub const CRTC_CURSOR_LOCATION_HIGH: u8 = 0x0E;
/// CRTC index: Cursor Location Low Register.
pub const CRTC_CURSOR_LOCATION_LOW: u8 = 0x0F;
/// CRTC index: Vertical Retrace End Register.
pub const CRTC_VERTICAL_RETRACE_END: u8 = 0x11;
/// CRTC index: Line Compare Register (the last one).
pub const CRTC_LINE_COMPARE: u8 = 0x18;
/// Number of CRTC registers (00h-18h).
pub(super) const CRTC_COUNT: usize = 0x19;

/// Cursor Start bit 5: Cursor Off.
pub const CURSOR_START_CURSOR_OFF: u8 = 1 << 5;
/// Cursor Start bits 4-0: Row Scan Cursor Begins.
pub const CURSOR_START_ROW_SCAN: u8 = 0x1F;
/// Cursor End bits 6-5: Cursor Skew Control.
pub const CURSOR_END_SKEW: u8 = 0b11 << 5;
/// Cursor End bits 4-0: Row Scan Cursor Ends.
pub const CURSOR_END_ROW_SCAN: u8 = 0x1F;
/// Vertical Retrace End bit 7: Protect R0-R7.
pub const VRE_PROTECT: u8 = 1 << 7;
/// CRTC Overflow bit 4: Line Compare bit 8, writable even when protected.
pub const OVERFLOW_LINE_COMPARE_8: u8 = 1 << 4;
/// Highest CRTC index the Protect bit covers (R0-R7).
pub(super) const CRTC_LAST_PROTECTED: u8 = 0x07;

/// Bits each CRTC register implements; reserved bits read 0: Preset Row Scan
/// bit 7, Cursor Start bits 7-6, Cursor End bit 7, Underline Location bit 7
/// and CRT Mode Control bit 4.
pub(super) const CRTC_IMPLEMENTED: [u8; CRTC_COUNT] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // 00h-07h
    0x7F, 0xFF, 0x3F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, // 08h-0Fh
    0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xEF, // 10h-17h
    0xFF, // 18h
];

impl VgaText {
    pub(super) fn crtc_write(&mut self, value: u8) {
        let index = self.crtc_index;
        let protected = self.crtc_reg(CRTC_VERTICAL_RETRACE_END) & VRE_PROTECT != 0;
        let value = match index {
            // Protect R0-R7 leaves only Line Compare bit 8 of the Overflow writable.
            CRTC_OVERFLOW if protected => {
                let kept = self.crtc_reg(CRTC_OVERFLOW) & !OVERFLOW_LINE_COMPARE_8;
                kept | (value & OVERFLOW_LINE_COMPARE_8)
            }
            0..=CRTC_LAST_PROTECTED if protected => return,
            _ => value,
        };
        store(&mut self.crtc, &CRTC_IMPLEMENTED, index, value);
    }

    fn crtc_reg(&self, index: u8) -> u8 {
        indexed(&self.crtc, index)
    }

    /// The value of CRTC register `index` (00h-18h), or None past the last one.
    pub fn crtc_register(&self, index: u8) -> Option<u8> {
        self.crtc.get(usize::from(index)).copied()
    }

    /// The CRTC Start Address (High:Low), in character cells.
    pub fn start_address(&self) -> u16 {
        u16::from_be_bytes([
            self.crtc_reg(CRTC_START_ADDRESS_HIGH),
            self.crtc_reg(CRTC_START_ADDRESS_LOW),
        ])
    }

    /// The CRTC Cursor Location (High:Low), in character cells.
    pub fn cursor_location(&self) -> u16 {
        u16::from_be_bytes([
            self.crtc_reg(CRTC_CURSOR_LOCATION_HIGH),
            self.crtc_reg(CRTC_CURSOR_LOCATION_LOW),
        ])
    }

    /// The cursor's first and last scan lines within the character cell.
    pub fn cursor_scanlines(&self) -> (u8, u8) {
        (
            self.crtc_reg(CRTC_CURSOR_START) & CURSOR_START_ROW_SCAN,
            self.crtc_reg(CRTC_CURSOR_END) & CURSOR_END_ROW_SCAN,
        )
    }

    /// The cursor as (column, row) on the 80x25 screen, or None when Cursor
    /// Off is set, when Row Scan Cursor Begins is past Row Scan Cursor Ends
    /// (the VGA then shows no cursor), or when the Cursor Location lies
    /// outside the 2000 cells that follow the Start Address.
    pub fn cursor(&self) -> Option<(u16, u16)> {
        if self.crtc_reg(CRTC_CURSOR_START) & CURSOR_START_CURSOR_OFF != 0 {
            return None;
        }
        let (first, last) = self.cursor_scanlines();
        if first > last {
            return None;
        }
        let cell = self.cursor_location().wrapping_sub(self.start_address());
        let columns = COLUMNS as u16;
        (usize::from(cell) < COLUMNS * ROWS).then(|| (cell % columns, cell / columns))
    }
}
