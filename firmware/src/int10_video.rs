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
//!
//! The services are split by what they work on: `text_screen` (the pages in
//! memory, cell addresses, page selection, character read and write),
//! `cursor`, `scroll`, `teletype` (AH=0Eh and the write string that builds
//! on it), `mode` (set and query, and POST's set-up), `palette`, `font_info`
//! and `adapter_config` (alternate select and display combination). This
//! file holds the function numbers and the dispatcher by AH.

mod adapter_config;
pub mod bda;
mod cursor;
mod font_info;
mod mode;
mod palette;
mod params;
mod scroll;
mod teletype;
#[cfg(test)]
mod tests;
mod text_screen;

pub use cursor::DEFAULT_CURSOR_SHAPE;
pub use font_info::{
    FONT_8X14_OFFSET, FONT_8X16_OFFSET, FONT_8X8_OFFSET, FONT_ALTERNATE_OFFSET, FONT_SEGMENT,
};
pub use mode::{
    init_video, MODE_40X25_COLOR, MODE_40X25_GRAY, MODE_80X25_COLOR, MODE_80X25_GRAY,
    MODE_80X25_MONO, SET_MODE_NO_CLEAR,
};
pub use teletype::write_teletype_str;
pub use text_screen::{
    CHAR_HEIGHT, COLUMNS, DEFAULT_ATTRIBUTE, PAGES, PAGE_BYTES, ROWS, TEXT_BASE, TEXT_SEGMENT,
};

use crate::bios_platform::{BiosPlatform, Next};
use crate::memory::RealMemory;
use crate::regs::Regs;
use adapter_config::display_combination;
use mode::SET_MODE_TEXT_DONE;
use scroll::{Scroll, Window};

// ---------------------------------------------------------------------------
// Function numbers (AH).

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

/// The guest's memory and the machine, as the services reach them. Each
/// concept's module adds its own methods.
struct Video<'a> {
    mem: &'a mut dyn RealMemory,
    pf: &'a mut dyn BiosPlatform,
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
        FN_GET_MODE => v.get_mode(regs),
        FN_PALETTE => v.palette(regs),
        FN_CHARACTER_GENERATOR => v.character_generator(regs),
        FN_ALTERNATE_SELECT => v.alternate_select(regs),
        FN_WRITE_STRING => v.write_string(regs),
        FN_DISPLAY_COMBINATION => display_combination(regs),
        _ => unsupported(regs),
    }
    Next::Return
}

/// Logs a call this BIOS does not serve; the caller's registers are left as
/// they came, which is how a BIOS without the function answers.
fn unsupported(regs: &Regs) {
    log::debug!(
        "int10: AX={:04X} BX={:04X} CX={:04X} DX={:04X} not supported",
        regs.ax(),
        regs.bx(),
        regs.cx(),
        regs.dx()
    );
}
