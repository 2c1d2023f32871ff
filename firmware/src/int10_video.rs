//! INT 10h, the BIOS video services, for the emulated VGA in 80x25 colour
//! text (`device_model::vga_text`: the text pages are plain guest RAM at
//! B8000h, the cursor and the start address are CRTC registers at 3D4h/3D5h).
//!
//! Sources, by function:
//! * IBM Personal Computer AT Technical Reference (1984), BIOS listing,
//!   "VIDEO_IO": functions 00h-0Fh and 13h, the video display data area of
//!   the BIOS data area ([`bda`]), the fixed ROM address of the 8x8 font.
//! * IBM VGA BIOS interface (IBM PS/2 and PC BIOS Interface Technical
//!   Reference, "Video Services"), as catalogued in Ralf Brown's Interrupt
//!   List, INT 10h: 10h palette registers, 11h/30h font information, 12h
//!   alternate select (10h EGA information, 31h/33h/34h options), 1Ah
//!   display combination code, the mode-set return value in AL (Phoenix).
//! * IBM VGA Technical Reference, CRT Controller registers: Cursor Start /
//!   End (0Ah/0Bh), Start Address (0Ch/0Dh), Cursor Location (0Eh/0Fh);
//!   Attribute Controller Palette Address Source.
//! * VESA BIOS Extension (VBE) Core Functions Standard, Version 3.0 (1998),
//!   "VBE Return Status": AL = 4Fh on return means the function is
//!   supported, any other AL means it is not; AH then holds the status.
//!
//! Choices where a real BIOS would do something this VGA cannot, stated once:
//! * Text is always 80x25 with 16-line characters in colour memory. Mode 2
//!   and 3 are set as asked; modes 0, 1 (40 columns) and 7 (monochrome) are
//!   set as mode 3, the only text layout the emulated VGA shows, so the BIOS
//!   data area keeps naming memory at B800h. Graphics modes are refused: the
//!   mode, the screen and every register stay as they were (AH=0Fh still
//!   reports the text mode), and the call is logged.
//! * No VBE: AX=4Fxxh returns with every register unchanged, as a BIOS
//!   without the extension does, so AL is never 4Fh ("not supported").
//! * A page number (BH) above 7 names the active page; AH=05h with AL above
//!   7 is ignored. Windows, positions and counts are clamped to the 80x25
//!   screen of the page, so no write leaves the text pages (B8000h-BFFFFh)
//!   or the video bytes of the BIOS data area, whatever the registers hold.
//! * Cursor positions are stored as given (a cursor parked below the screen
//!   hides it, as DOS programs expect); output functions clamp them.
//! * Cursor emulation (video control bit 0 clear): a shape given for the
//!   8-line CGA cell is stretched to the 16-line cell. Lines 0-3 scale with
//!   the height; lines 4-7 keep their distance from the bottom with one
//!   blank line under the cell, so the CGA underline 6-7 becomes 13-14, the
//!   VGA's own mode 3 cursor. AH=03h returns the shape as the guest set it.
//! * Teletype rings no bell; its scroll fills with attribute 07h.
//! * Functions [`int10`] does not serve return with registers unchanged and
//!   are logged at debug level.

pub mod bda;
mod params;
#[cfg(test)]
mod tests;

use crate::memory::RealMemory;
use crate::platform::{BiosPlatform, Next};
use crate::regs::{linear, Regs};
use bda::{
    MODESET_400_LINES, MODESET_GRAY_SUMMING, MODESET_NO_PALETTE_LOADING, MODESET_VGA_ACTIVE,
    SWITCHES_PRIMARY_COLOR_80X25, VIDEO_CONTROL_MEMORY_256K, VIDEO_CONTROL_NO_CLEAR,
    VIDEO_CONTROL_NO_CURSOR_EMULATION,
};
use device_model::vga_text::{
    ATTR_MODE_CONTROL, ATTR_PALETTE_LAST, CRTC_ADDRESS_COLOR, CRTC_ADDRESS_MONO, CRTC_CURSOR_END,
    CRTC_CURSOR_LOCATION_HIGH, CRTC_CURSOR_LOCATION_LOW, CRTC_CURSOR_START,
    CRTC_START_ADDRESS_HIGH, CRTC_START_ADDRESS_LOW, CURSOR_END_ROW_SCAN, CURSOR_START_CURSOR_OFF,
    CURSOR_START_ROW_SCAN, PEL_ADDRESS_READ_MODE, PEL_ADDRESS_WRITE_MODE, PEL_DATA,
};
use params::{attr_in, attr_out, crtc_out};

// ---------------------------------------------------------------------------
// Text memory and geometry.

/// Segment of the colour text pages.
pub const TEXT_SEGMENT: u16 = 0xB800;
/// Linear address of page 0 (B800:0000).
pub const TEXT_BASE: u32 = 0xB8000;
/// Bytes per display page in 80x25 text: page n is at B800:n*1000h.
pub const PAGE_BYTES: u16 = 0x1000;
/// Display pages in 80x25 text (8 x 4 KiB fill the 32 KiB window).
pub const PAGES: u8 = 8;
/// Characters per row.
pub const COLUMNS: u8 = 80;
/// Rows on the screen.
pub const ROWS: u8 = 25;
/// Character cells on the screen.
const CELLS: u16 = COLUMNS as u16 * ROWS as u16;
/// Scan lines per character (9x16 font, 400 lines).
pub const CHAR_HEIGHT: u8 = 16;
/// Scan lines per character of the CGA, for which cursor shapes are given.
const CGA_CHAR_HEIGHT: u8 = 8;
/// Tallest character cell the CRTC's 5-bit scan line fields can describe.
const MAX_CHAR_HEIGHT: u16 = 32;
/// Light grey on black: the attribute of a cleared screen.
pub const DEFAULT_ATTRIBUTE: u8 = 0x07;
/// The character of a cleared cell.
const BLANK: u8 = b' ';
/// Cursor shape after a text mode set: start line 6, end line 7 (BDA form).
pub const DEFAULT_CURSOR_SHAPE: u16 = 0x0607;
/// Cursor shape CH bits 6-5: blink control; any non-zero value hides the
/// cursor on EGA/VGA.
const CURSOR_SHAPE_OPTIONS: u8 = 0b11 << 5;

// ---------------------------------------------------------------------------
// Modes.

/// Mode 00h: 40x25 text, grey.
pub const MODE_40X25_GRAY: u8 = 0x00;
/// Mode 01h: 40x25 text, colour.
pub const MODE_40X25_COLOR: u8 = 0x01;
/// Mode 02h: 80x25 text, grey.
pub const MODE_80X25_GRAY: u8 = 0x02;
/// Mode 03h: 80x25 text, colour.
pub const MODE_80X25_COLOR: u8 = 0x03;
/// Mode 07h: 80x25 text, monochrome.
pub const MODE_80X25_MONO: u8 = 0x07;
/// AH=00h AL bit 7: keep display memory.
pub const SET_MODE_NO_CLEAR: u8 = 1 << 7;
/// AH=00h return in AL after a text mode set (Phoenix: 30h for modes 0-7
/// except 6).
const SET_MODE_TEXT_DONE: u8 = 0x30;

/// CGA Mode Select register bits, kept in [`bda::CRT_MODE_CONTROL`].
const CGA_MODE_80_COLUMNS: u8 = 1 << 0;
const CGA_MODE_BLACK_AND_WHITE: u8 = 1 << 2;
const CGA_MODE_VIDEO_ENABLE: u8 = 1 << 3;
const CGA_MODE_BLINK: u8 = 1 << 5;
/// CGA Color Select value the IBM BIOS keeps for text modes.
const CGA_PALETTE_TEXT: u8 = 0x30;

// ---------------------------------------------------------------------------
// Function numbers (AH) and subfunctions.

/// AH=00h: set video mode (AL; bit 7 keeps memory).
pub const FN_SET_MODE: u8 = 0x00;
/// AH=01h: set cursor shape (CH start, CL end).
pub const FN_SET_CURSOR_SHAPE: u8 = 0x01;
/// AH=02h: set cursor position (BH page, DH row, DL column).
pub const FN_SET_CURSOR_POSITION: u8 = 0x02;
/// AH=03h: get cursor position (DH, DL) and shape (CX) of page BH.
pub const FN_GET_CURSOR: u8 = 0x03;
/// AH=05h: select active display page (AL).
pub const FN_SELECT_PAGE: u8 = 0x05;
/// AH=06h: scroll window up (AL lines, BH fill attribute, CX..DX window).
pub const FN_SCROLL_UP: u8 = 0x06;
/// AH=07h: scroll window down (as AH=06h).
pub const FN_SCROLL_DOWN: u8 = 0x07;
/// AH=08h: read character (AL) and attribute (AH) at the cursor of page BH.
pub const FN_READ_CHAR_ATTR: u8 = 0x08;
/// AH=09h: write character AL with attribute BL, CX times, at the cursor.
pub const FN_WRITE_CHAR_ATTR: u8 = 0x09;
/// AH=0Ah: write character AL CX times at the cursor, keeping attributes.
pub const FN_WRITE_CHAR: u8 = 0x0A;
/// AH=0Eh: teletype output of AL on page BH.
pub const FN_TELETYPE: u8 = 0x0E;
/// AH=0Fh: get mode (AL), columns (AH) and active page (BH).
pub const FN_GET_MODE: u8 = 0x0F;
/// AH=10h: palette registers and DAC (AL subfunction).
pub const FN_PALETTE: u8 = 0x10;
/// AH=11h: character generator (AL subfunction).
pub const FN_CHARACTER_GENERATOR: u8 = 0x11;
/// AH=12h: alternate select (BL subfunction).
pub const FN_ALTERNATE_SELECT: u8 = 0x12;
/// AH=13h: write string (AL mode, ES:BP string, CX length, DH,DL position).
pub const FN_WRITE_STRING: u8 = 0x13;
/// AH=1Ah: display combination code (AL=00h get, 01h set).
pub const FN_DISPLAY_COMBINATION: u8 = 0x1A;
/// AH=4Fh: VESA BIOS Extension (not provided).
pub const FN_VBE: u8 = 0x4F;

/// AX=1000h: set one palette register (BL index, BH value).
const PAL_SET_REGISTER: u8 = 0x00;
/// AX=1001h: set the overscan (border) colour (BH).
const PAL_SET_OVERSCAN: u8 = 0x01;
/// AX=1002h: set all 16 palette registers and overscan from ES:DX.
const PAL_SET_ALL: u8 = 0x02;
/// AX=1003h: BL=0 background intensity, BL=1 blink.
const PAL_TOGGLE_BLINK: u8 = 0x03;
/// AX=1007h: read one palette register (BL) into BH.
const PAL_GET_REGISTER: u8 = 0x07;
/// AX=1008h: read the overscan colour into BH.
const PAL_GET_OVERSCAN: u8 = 0x08;
/// AX=1010h: set DAC register BX to DH red, CH green, CL blue.
const PAL_SET_DAC: u8 = 0x10;
/// AX=1015h: read DAC register BX into DH, CH, CL.
const PAL_GET_DAC: u8 = 0x15;
/// Bytes AX=1002h reads: 16 palette registers, then overscan.
const PAL_ALL_BYTES: u16 = 17;
/// Attribute controller index of the Overscan Color register.
const ATTR_OVERSCAN_COLOR: u8 = 0x11;
/// Attribute Mode Control bit 3: Enable Blink (0 = background intensity).
const ATTR_MODE_BLINK: u8 = 1 << 3;

/// AX=1130h: get font information.
const CHARGEN_GET_FONT_INFO: u8 = 0x30;
/// AH=12h BL=10h: get EGA information.
const ALT_GET_EGA_INFO: u8 = 0x10;
/// AH=12h BL=31h: AL=0 enable, 1 disable default palette loading.
const ALT_PALETTE_LOADING: u8 = 0x31;
/// AH=12h BL=33h: AL=0 enable, 1 disable gray-scale summing.
const ALT_GRAY_SUMMING: u8 = 0x33;
/// AH=12h BL=34h: AL=0 enable, 1 disable cursor emulation.
const ALT_CURSOR_EMULATION: u8 = 0x34;
/// AH=12h (31h-34h) return in AL: the function is supported.
const ALT_SUPPORTED: u8 = 0x12;
/// AH=12h BL=10h return in BL: 256 KiB of video memory.
const EGA_INFO_MEMORY_256K: u8 = 0x03;
/// AH=1Ah AL=00h: get the display combination code.
const DCC_GET: u8 = 0x00;
/// AH=1Ah AL=01h: set the display combination code.
const DCC_SET: u8 = 0x01;
/// AH=1Ah return in AL: the function is supported.
const DCC_SUPPORTED: u8 = 0x1A;
/// Display combination code 08h: VGA with analog colour display.
const DCC_VGA_COLOR: u8 = 0x08;
/// AH=13h AL bit 0: leave the cursor after the string.
const STRING_MOVE_CURSOR: u8 = 1 << 0;
/// AH=13h AL bit 1: the string alternates characters and attributes.
const STRING_HAS_ATTRIBUTES: u8 = 1 << 1;

/// Characters teletype output treats as commands.
const BEL: u8 = 0x07;
const BS: u8 = 0x08;
const LF: u8 = 0x0A;
const CR: u8 = 0x0D;

// ---------------------------------------------------------------------------
// Font pointers (AX=1130h).

/// Interrupt vectors AX=1130h returns for BH=00h and BH=01h.
const IVT_INT_1F: u32 = 0x1F * 4;
const IVT_INT_43: u32 = 0x43 * 4;
/// Segment of the system ROM, where the fonts AX=1130h points to live.
pub const FONT_SEGMENT: u16 = 0xF000;
/// 8x8 font, characters 00h-7Fh: the IBM PC/AT fixed address F000:FA6E
/// (characters 80h-FFh follow at +400h).
pub const FONT_8X8_OFFSET: u16 = 0xFA6E;
const FONT_8X8_UPPER_HALF: u16 = 0x400;
/// 8x16 font (4096 bytes); the ROM builder reserves it.
pub const FONT_8X16_OFFSET: u16 = 0x1000;
/// 8x14 font (3584 bytes); the ROM builder reserves it.
pub const FONT_8X14_OFFSET: u16 = 0x2000;
/// 9-dot alternate glyph table: a single 00h byte (no alternates).
pub const FONT_ALTERNATE_OFFSET: u16 = 0x2E00;

/// The guest's memory and the machine, as the services reach them.
struct Video<'a> {
    mem: &'a mut dyn RealMemory,
    pf: &'a mut dyn BiosPlatform,
}

/// A rectangle of the screen, inclusive, clamped to 80x25 and not empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    top: u8,
    left: u8,
    bottom: u8,
    right: u8,
}

impl Window {
    const SCREEN: Window = Window {
        top: 0,
        left: 0,
        bottom: ROWS - 1,
        right: COLUMNS - 1,
    };

    /// The window with corners (CH, CL) and (DH, DL), its lower-right corner
    /// clamped to the screen; None when the corners are reversed or the
    /// upper-left one lies off the screen.
    fn from_corners(top: u8, left: u8, bottom: u8, right: u8) -> Option<Window> {
        let bottom = bottom.min(ROWS - 1);
        let right = right.min(COLUMNS - 1);
        (top <= bottom && left <= right).then_some(Window {
            top,
            left,
            bottom,
            right,
        })
    }

    fn height(self) -> u8 {
        self.bottom - self.top + 1
    }

    fn width(self) -> u8 {
        self.right - self.left + 1
    }
}

/// Which way a window's contents move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scroll {
    Up,
    Down,
}

/// The INT 10h entry point: dispatches on AH. Always returns to the caller.
///
/// Served: AH=00h-03h, 05h-0Ah, 0Eh-13h and 1Ah (see the `FN_*` constants).
/// Everything else (04h light pen, 0Bh-0Dh CGA palette and pixels, 1Bh/1Ch
/// state, 4Fh VBE, unlisted subfunctions) returns with registers unchanged.
pub fn int10(regs: &mut Regs, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
    let mut v = Video { mem, pf };
    match regs.ah() {
        FN_SET_MODE => {
            if v.set_mode(regs.al()) {
                regs.set_al(SET_MODE_TEXT_DONE);
            } else {
                unsupported(regs);
            }
        }
        FN_SET_CURSOR_SHAPE => {
            v.mem.write_u16(bda::CURSOR_SHAPE, regs.cx());
            v.program_cursor_shape();
        }
        FN_SET_CURSOR_POSITION => {
            let page = v.page_arg(regs.bh());
            v.set_cursor(page, regs.dl(), regs.dh());
        }
        FN_GET_CURSOR => {
            let page = v.page_arg(regs.bh());
            let (column, row) = v.cursor(page);
            regs.set_cx(v.mem.read_u16(bda::CURSOR_SHAPE));
            regs.set_dh(row);
            regs.set_dl(column);
        }
        FN_SELECT_PAGE => {
            if !v.select_page(regs.al()) {
                unsupported(regs);
            }
        }
        FN_SCROLL_UP | FN_SCROLL_DOWN => {
            let direction = if regs.ah() == FN_SCROLL_UP {
                Scroll::Up
            } else {
                Scroll::Down
            };
            if let Some(w) = Window::from_corners(regs.ch(), regs.cl(), regs.dh(), regs.dl()) {
                let page = v.active_page();
                v.scroll(page, w, regs.al(), regs.bh(), direction);
            }
        }
        FN_READ_CHAR_ATTR => {
            let page = v.page_arg(regs.bh());
            let (column, row) = v.screen_cursor(page);
            let (ch, attr) = v.read_cell(page, column, row);
            regs.set_al(ch);
            regs.set_ah(attr);
        }
        FN_WRITE_CHAR_ATTR => {
            let page = v.page_arg(regs.bh());
            v.write_repeated(page, regs.al(), Some(regs.bl()), regs.cx());
        }
        FN_WRITE_CHAR => {
            let page = v.page_arg(regs.bh());
            v.write_repeated(page, regs.al(), None, regs.cx());
        }
        FN_TELETYPE => {
            let page = v.page_arg(regs.bh());
            v.teletype(page, regs.al(), None);
        }
        FN_GET_MODE => {
            let no_clear = v.mem.read_u8(bda::VIDEO_CONTROL) & VIDEO_CONTROL_NO_CLEAR;
            regs.set_al(v.mem.read_u8(bda::VIDEO_MODE) | no_clear);
            regs.set_ah(v.mem.read_u8(bda::COLUMNS));
            regs.set_bh(v.active_page());
        }
        FN_PALETTE => v.palette(regs),
        FN_CHARACTER_GENERATOR => v.character_generator(regs),
        FN_ALTERNATE_SELECT => v.alternate_select(regs),
        FN_WRITE_STRING => v.write_string(regs),
        FN_DISPLAY_COMBINATION => match regs.al() {
            DCC_GET => {
                regs.set_al(DCC_SUPPORTED);
                regs.set_bl(DCC_VGA_COLOR);
                regs.set_bh(0);
            }
            // The only combination is the one there is: accept and keep it.
            DCC_SET => regs.set_al(DCC_SUPPORTED),
            _ => unsupported(regs),
        },
        _ => unsupported(regs),
    }
    Next::Return
}

/// Sets the BIOS data area and the VGA up as POST leaves them: mode 3, a
/// cleared screen (attribute 07h), the cursor at 0,0 with shape 0607h.
pub fn init_video(mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) {
    let equipment = mem.read_u16(bda::EQUIPMENT) & !bda::EQUIPMENT_VIDEO_MASK;
    mem.write_u16(bda::EQUIPMENT, equipment | bda::EQUIPMENT_VIDEO_80X25_COLOR);
    mem.write_u8(bda::SWITCHES, SWITCHES_PRIMARY_COLOR_80X25);
    mem.write_u8(bda::MODESET_CONTROL, MODESET_VGA_ACTIVE | MODESET_400_LINES);
    mem.write_u8(bda::VIDEO_CONTROL, VIDEO_CONTROL_MEMORY_256K);
    Video { mem, pf }.set_mode(MODE_80X25_COLOR);
}

/// Writes `s` to the active page as teletype output (AH=0Eh), for the
/// BIOS's own messages.
pub fn write_teletype_str(mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform, s: &[u8]) {
    let mut v = Video { mem, pf };
    let page = v.active_page();
    for &ch in s {
        v.teletype(page, ch, None);
    }
}

fn unsupported(regs: &Regs) {
    log::debug!(
        "int10: AX={:04X} BX={:04X} CX={:04X} DX={:04X} not supported",
        regs.ax(),
        regs.bx(),
        regs.cx(),
        regs.dx()
    );
}

/// Cell `index` (0-1999) of `page`, as a linear address.
fn cell_addr(page: u8, index: u16) -> u32 {
    let page = u32::from(page.min(PAGES - 1));
    let index = u32::from(index.min(CELLS - 1));
    TEXT_BASE + page * u32::from(PAGE_BYTES) + index * 2
}

/// Cell number of (column, row), both on the screen.
fn cell_index(column: u8, row: u8) -> u16 {
    u16::from(row.min(ROWS - 1)) * u16::from(COLUMNS) + u16::from(column.min(COLUMNS - 1))
}

/// The first cell of `page` as the CRTC counts (character cells from B8000h).
fn page_start_cell(page: u8) -> u16 {
    u16::from(page) * (PAGE_BYTES / 2)
}

/// Cursor Start and Cursor End register values for the BDA cursor shape
/// `shape` (high byte start, low byte end) in a cell `char_height` lines
/// tall, with or without cursor emulation (see the module doc).
fn crtc_cursor_shape(shape: u16, char_height: u16, emulate: bool) -> (u8, u8) {
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
    /// The active page from the BDA; a value the guest left out of range
    /// counts as page 0.
    fn active_page(&self) -> u8 {
        let page = self.mem.read_u8(bda::ACTIVE_PAGE);
        if page < PAGES {
            page
        } else {
            0
        }
    }

    /// The page a call names in BH: pages above 7 mean the active page.
    fn page_arg(&self, bh: u8) -> u8 {
        if bh < PAGES {
            bh
        } else {
            self.active_page()
        }
    }

    fn cursor_slot(page: u8) -> u32 {
        bda::CURSOR_POSITIONS + 2 * u32::from(page.min(PAGES - 1))
    }

    /// The cursor of `page` as stored: (column, row).
    fn cursor(&self, page: u8) -> (u8, u8) {
        let [column, row] = self.mem.read_u16(Self::cursor_slot(page)).to_le_bytes();
        (column, row)
    }

    /// The cursor of `page`, clamped to the screen, for output.
    fn screen_cursor(&self, page: u8) -> (u8, u8) {
        let (column, row) = self.cursor(page);
        (column.min(COLUMNS - 1), row.min(ROWS - 1))
    }

    /// Stores the cursor of `page`; the CRTC follows when it is the active page.
    fn set_cursor(&mut self, page: u8, column: u8, row: u8) {
        self.mem
            .write_u16(Self::cursor_slot(page), u16::from_le_bytes([column, row]));
        if page == self.active_page() {
            self.program_cursor_location();
        }
    }

    /// Cursor Location = the active page's first cell + row * 80 + column.
    fn program_cursor_location(&mut self) {
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
    fn program_cursor_shape(&mut self) {
        let shape = self.mem.read_u16(bda::CURSOR_SHAPE);
        let height = self.mem.read_u16(bda::CHAR_HEIGHT);
        let emulate = self.mem.read_u8(bda::VIDEO_CONTROL) & VIDEO_CONTROL_NO_CURSOR_EMULATION == 0;
        let (start, end) = crtc_cursor_shape(shape, height, emulate);
        crtc_out(self.pf, CRTC_CURSOR_START, start);
        crtc_out(self.pf, CRTC_CURSOR_END, end);
    }

    fn program_start_address(&mut self, cell: u16) {
        let [high, low] = cell.to_be_bytes();
        crtc_out(self.pf, CRTC_START_ADDRESS_HIGH, high);
        crtc_out(self.pf, CRTC_START_ADDRESS_LOW, low);
    }

    fn read_cell(&self, page: u8, column: u8, row: u8) -> (u8, u8) {
        let mut cell = [0u8; 2];
        self.mem
            .read(cell_addr(page, cell_index(column, row)), &mut cell);
        (cell[0], cell[1])
    }

    fn write_cell(&mut self, page: u8, column: u8, row: u8, ch: u8, attr: u8) {
        self.mem
            .write(cell_addr(page, cell_index(column, row)), &[ch, attr]);
    }

    /// AH=00h: sets a text mode (see the module doc for which); false, with
    /// nothing changed, for any other mode.
    fn set_mode(&mut self, al: u8) -> bool {
        let mode = match al & !SET_MODE_NO_CLEAR {
            MODE_80X25_GRAY => MODE_80X25_GRAY,
            MODE_40X25_GRAY | MODE_40X25_COLOR | MODE_80X25_COLOR | MODE_80X25_MONO => {
                MODE_80X25_COLOR
            }
            _ => return false,
        };
        let keep_memory = al & SET_MODE_NO_CLEAR != 0;
        let modeset = self.mem.read_u8(bda::MODESET_CONTROL);
        params::program_mode3(self.pf, modeset & MODESET_NO_PALETTE_LOADING == 0);

        let m = &mut *self.mem;
        m.write_u8(bda::VIDEO_MODE, mode);
        m.write_u16(bda::COLUMNS, u16::from(COLUMNS));
        m.write_u16(bda::PAGE_SIZE, PAGE_BYTES);
        m.write_u16(bda::PAGE_OFFSET, 0);
        for page in 0..PAGES {
            m.write_u16(Self::cursor_slot(page), 0);
        }
        m.write_u16(bda::CURSOR_SHAPE, DEFAULT_CURSOR_SHAPE);
        m.write_u8(bda::ACTIVE_PAGE, 0);
        m.write_u16(bda::CRTC_BASE, CRTC_ADDRESS_COLOR);
        let bw = if mode == MODE_80X25_GRAY {
            CGA_MODE_BLACK_AND_WHITE
        } else {
            0
        };
        m.write_u8(
            bda::CRT_MODE_CONTROL,
            CGA_MODE_80_COLUMNS | CGA_MODE_VIDEO_ENABLE | CGA_MODE_BLINK | bw,
        );
        m.write_u8(bda::CGA_PALETTE, CGA_PALETTE_TEXT);
        m.write_u8(bda::ROWS_MINUS_1, ROWS - 1);
        m.write_u16(bda::CHAR_HEIGHT, u16::from(CHAR_HEIGHT));
        let emulation = m.read_u8(bda::VIDEO_CONTROL) & VIDEO_CONTROL_NO_CURSOR_EMULATION;
        let no_clear = if keep_memory {
            VIDEO_CONTROL_NO_CLEAR
        } else {
            0
        };
        m.write_u8(
            bda::VIDEO_CONTROL,
            emulation | VIDEO_CONTROL_MEMORY_256K | no_clear,
        );

        if !keep_memory {
            self.clear_all_pages();
        }
        self.program_start_address(0);
        self.program_cursor_shape();
        self.program_cursor_location();
        true
    }

    /// Fills all eight pages with blanks in attribute 07h.
    fn clear_all_pages(&mut self) {
        const CHUNK_CELLS: usize = 128;
        let mut chunk = [0u8; CHUNK_CELLS * 2];
        for cell in chunk.chunks_exact_mut(2) {
            cell.copy_from_slice(&[BLANK, DEFAULT_ATTRIBUTE]);
        }
        let total = u32::from(PAGES) * u32::from(PAGE_BYTES);
        let step = chunk.len() as u32;
        for offset in (0..total).step_by(chunk.len()) {
            let len = (total - offset).min(step) as usize;
            self.mem
                .write(TEXT_BASE + offset, chunk.get(..len).unwrap_or(&[]));
        }
    }

    /// AH=05h: makes `page` the displayed one; false for pages above 7.
    fn select_page(&mut self, page: u8) -> bool {
        if page >= PAGES {
            return false;
        }
        self.mem.write_u8(bda::ACTIVE_PAGE, page);
        self.mem
            .write_u16(bda::PAGE_OFFSET, u16::from(page) * PAGE_BYTES);
        self.program_start_address(page_start_cell(page));
        self.program_cursor_location();
        true
    }

    /// AH=06h/07h: moves window `w` of `page` by `lines` (0 or more than its
    /// height: clears it) and fills the rows left behind with blanks in `attr`.
    fn scroll(&mut self, page: u8, w: Window, lines: u8, attr: u8, direction: Scroll) {
        let height = w.height();
        let lines = if lines == 0 || lines >= height {
            height
        } else {
            lines
        };
        let bytes = usize::from(w.width()) * 2;
        let mut blank = [0u8; COLUMNS as usize * 2];
        for cell in blank.chunks_exact_mut(2) {
            cell.copy_from_slice(&[BLANK, attr]);
        }
        let mut row_buf = [0u8; COLUMNS as usize * 2];
        for i in 0..height {
            let (dst, src) = match direction {
                Scroll::Up => (w.top + i, (i + lines < height).then(|| w.top + i + lines)),
                Scroll::Down => (
                    w.bottom - i,
                    (i + lines < height).then(|| w.bottom - i - lines),
                ),
            };
            let (Some(row), Some(fill)) = (row_buf.get_mut(..bytes), blank.get(..bytes)) else {
                return;
            };
            match src {
                Some(src) => {
                    self.mem.read(cell_addr(page, cell_index(w.left, src)), row);
                }
                None => row.copy_from_slice(fill),
            }
            self.mem
                .write(cell_addr(page, cell_index(w.left, dst)), row);
        }
    }

    /// AH=09h/0Ah: writes `ch` (with `attr`, or keeping each cell's
    /// attribute) `count` times from the cursor on, without moving it; the
    /// writes stop at the end of the screen.
    fn write_repeated(&mut self, page: u8, ch: u8, attr: Option<u8>, count: u16) {
        let (column, row) = self.screen_cursor(page);
        let first = cell_index(column, row);
        let count = count.min(CELLS - first);
        for index in first..first + count {
            let addr = cell_addr(page, index);
            match attr {
                Some(attr) => self.mem.write(addr, &[ch, attr]),
                None => self.mem.write_u8(addr, ch),
            };
        }
    }

    /// AH=0Eh: one character of teletype output on `page`. `attr` is the
    /// attribute for printable characters (write string); None keeps the
    /// cell's own.
    fn teletype(&mut self, page: u8, ch: u8, attr: Option<u8>) {
        let (mut column, mut row) = self.screen_cursor(page);
        match ch {
            BEL => return,
            BS => column = column.saturating_sub(1),
            CR => column = 0,
            LF => row += 1,
            _ => {
                let attr = attr.unwrap_or_else(|| self.read_cell(page, column, row).1);
                self.write_cell(page, column, row, ch, attr);
                column += 1;
                if column >= COLUMNS {
                    column = 0;
                    row += 1;
                }
            }
        }
        if row >= ROWS {
            self.scroll(page, Window::SCREEN, 1, DEFAULT_ATTRIBUTE, Scroll::Up);
            row = ROWS - 1;
        }
        self.set_cursor(page, column, row);
    }

    /// AH=13h: writes CX characters from ES:BP at (DL, DH) on page BH, as
    /// teletype output with the attribute in BL (AL bit 1 clear) or after
    /// each character (bit 1 set); AL bit 0 leaves the cursor after the
    /// string, otherwise it returns to where it was.
    fn write_string(&mut self, regs: &Regs) {
        let mode = regs.al();
        if mode > (STRING_MOVE_CURSOR | STRING_HAS_ATTRIBUTES) {
            unsupported(regs);
            return;
        }
        let page = self.page_arg(regs.bh());
        let (saved_column, saved_row) = self.cursor(page);
        self.set_cursor(page, regs.dl().min(COLUMNS - 1), regs.dh().min(ROWS - 1));
        let with_attributes = mode & STRING_HAS_ATTRIBUTES != 0;
        let stride: u16 = if with_attributes { 2 } else { 1 };
        for i in 0..regs.cx() {
            let offset = regs.bp().wrapping_add(i.wrapping_mul(stride));
            let ch = self.mem.read_u8(linear(regs.es, offset));
            let attr = if with_attributes {
                self.mem.read_u8(linear(regs.es, offset.wrapping_add(1)))
            } else {
                regs.bl()
            };
            self.teletype(page, ch, Some(attr));
        }
        if mode & STRING_MOVE_CURSOR == 0 {
            self.set_cursor(page, saved_column, saved_row);
        }
    }

    /// AH=10h: palette registers and the DAC. Subfunctions not handled
    /// here change nothing and return.
    fn palette(&mut self, regs: &mut Regs) {
        match regs.al() {
            PAL_SET_REGISTER if regs.bl() <= ATTR_PALETTE_LAST => {
                attr_out(self.pf, regs.bl(), regs.bh())
            }
            PAL_SET_OVERSCAN => attr_out(self.pf, ATTR_OVERSCAN_COLOR, regs.bh()),
            PAL_SET_ALL => {
                for i in 0..PAL_ALL_BYTES {
                    let value = self.mem.read_u8(linear(regs.es, regs.dx().wrapping_add(i)));
                    let index = if i <= u16::from(ATTR_PALETTE_LAST) {
                        i as u8
                    } else {
                        ATTR_OVERSCAN_COLOR
                    };
                    attr_out(self.pf, index, value);
                }
            }
            PAL_TOGGLE_BLINK if regs.bl() <= 1 => {
                let blink = regs.bl() == 1;
                let mode = attr_in(self.pf, ATTR_MODE_CONTROL) & !ATTR_MODE_BLINK;
                attr_out(
                    self.pf,
                    ATTR_MODE_CONTROL,
                    mode | if blink { ATTR_MODE_BLINK } else { 0 },
                );
                let cga = self.mem.read_u8(bda::CRT_MODE_CONTROL) & !CGA_MODE_BLINK;
                self.mem.write_u8(
                    bda::CRT_MODE_CONTROL,
                    cga | if blink { CGA_MODE_BLINK } else { 0 },
                );
            }
            PAL_GET_REGISTER if regs.bl() <= ATTR_PALETTE_LAST => {
                regs.set_bh(attr_in(self.pf, regs.bl()));
            }
            PAL_GET_OVERSCAN => regs.set_bh(attr_in(self.pf, ATTR_OVERSCAN_COLOR)),
            PAL_SET_DAC if regs.bx() <= u16::from(u8::MAX) => {
                self.pf.port_out(PEL_ADDRESS_WRITE_MODE, regs.bl());
                for component in [regs.dh(), regs.ch(), regs.cl()] {
                    self.pf.port_out(PEL_DATA, component);
                }
            }
            PAL_GET_DAC if regs.bx() <= u16::from(u8::MAX) => {
                self.pf.port_out(PEL_ADDRESS_READ_MODE, regs.bl());
                regs.set_dh(self.pf.port_in(PEL_DATA));
                regs.set_ch(self.pf.port_in(PEL_DATA));
                regs.set_cl(self.pf.port_in(PEL_DATA));
            }
            _ => unsupported(regs),
        }
    }

    /// AH=11h: only AL=30h (font information) answers; font loads keep the
    /// VGA's own font and 25 rows.
    fn character_generator(&mut self, regs: &mut Regs) {
        if regs.al() != CHARGEN_GET_FONT_INFO {
            unsupported(regs);
            return;
        }
        let vector = |mem: &dyn RealMemory, at: u32| (mem.read_u16(at + 2), mem.read_u16(at));
        let (segment, offset) = match regs.bh() {
            0x00 => vector(self.mem, IVT_INT_1F),
            0x01 => vector(self.mem, IVT_INT_43),
            0x02 => (FONT_SEGMENT, FONT_8X14_OFFSET),
            0x03 => (FONT_SEGMENT, FONT_8X8_OFFSET),
            0x04 => (FONT_SEGMENT, FONT_8X8_OFFSET + FONT_8X8_UPPER_HALF),
            0x05 | 0x07 => (FONT_SEGMENT, FONT_ALTERNATE_OFFSET),
            _ => (FONT_SEGMENT, FONT_8X16_OFFSET),
        };
        regs.es = segment;
        regs.ebp = (regs.ebp & !0xFFFF) | u32::from(offset);
        regs.set_cx(self.mem.read_u16(bda::CHAR_HEIGHT));
        regs.set_dl(self.mem.read_u8(bda::ROWS_MINUS_1));
    }

    /// AH=12h: alternate select, by BL.
    fn alternate_select(&mut self, regs: &mut Regs) {
        let put_bit = |mem: &mut dyn RealMemory, addr: u32, bit: u8, set: bool| {
            let value = mem.read_u8(addr) & !bit;
            mem.write_u8(addr, value | if set { bit } else { 0 });
        };
        match regs.bl() {
            ALT_GET_EGA_INFO => {
                let mono = self.mem.read_u16(bda::CRTC_BASE) == CRTC_ADDRESS_MONO;
                regs.set_bh(u8::from(mono));
                regs.set_bl(EGA_INFO_MEMORY_256K);
                regs.set_ch(0);
                let switches = self.mem.read_u8(bda::SWITCHES);
                regs.set_cl(switches & bda::SWITCHES_SETTING);
            }
            ALT_PALETTE_LOADING if regs.al() <= 1 => {
                put_bit(
                    self.mem,
                    bda::MODESET_CONTROL,
                    MODESET_NO_PALETTE_LOADING,
                    regs.al() == 1,
                );
                regs.set_al(ALT_SUPPORTED);
            }
            ALT_GRAY_SUMMING if regs.al() <= 1 => {
                // The bit is kept for the guest to read; the DAC is loaded in colour.
                put_bit(
                    self.mem,
                    bda::MODESET_CONTROL,
                    MODESET_GRAY_SUMMING,
                    regs.al() == 0,
                );
                regs.set_al(ALT_SUPPORTED);
            }
            ALT_CURSOR_EMULATION if regs.al() <= 1 => {
                put_bit(
                    self.mem,
                    bda::VIDEO_CONTROL,
                    VIDEO_CONTROL_NO_CURSOR_EMULATION,
                    regs.al() == 1,
                );
                self.program_cursor_shape();
                regs.set_al(ALT_SUPPORTED);
            }
            _ => unsupported(regs),
        }
    }
}
