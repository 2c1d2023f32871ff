//! Video modes: setting one (AH=00h), which reprograms the VGA and rewrites
//! the video bytes of the BIOS data area; querying it (AH=0Fh); and the
//! set-up POST does before any guest code runs.
//!
//! Only text modes are set, all as the one 80x25 colour layout the emulated
//! VGA shows (see the choices in the `int10_video` module doc).

use super::bda::{
    self, MODESET_400_LINES, MODESET_NO_PALETTE_LOADING, MODESET_VGA_ACTIVE,
    SWITCHES_PRIMARY_COLOR_80X25, VIDEO_CONTROL_MEMORY_256K, VIDEO_CONTROL_NO_CLEAR,
    VIDEO_CONTROL_NO_CURSOR_EMULATION,
};
use super::cursor::DEFAULT_CURSOR_SHAPE;
use super::params;
use super::text_screen::{CHAR_HEIGHT, COLUMNS, PAGES, PAGE_BYTES, ROWS};
use super::Video;
use crate::bios_platform::BiosPlatform;
use crate::memory::RealMemory;
use crate::regs::Regs;
use device_model::vga_text::CRTC_ADDRESS_COLOR;

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
pub(super) const SET_MODE_TEXT_DONE: u8 = 0x30;

/// CGA Mode Select register bits, kept in [`bda::CRT_MODE_CONTROL`].
const CGA_MODE_80_COLUMNS: u8 = 1 << 0;
const CGA_MODE_BLACK_AND_WHITE: u8 = 1 << 2;
const CGA_MODE_VIDEO_ENABLE: u8 = 1 << 3;
pub(super) const CGA_MODE_BLINK: u8 = 1 << 5;
/// CGA Color Select value the IBM BIOS keeps for text modes.
const CGA_PALETTE_TEXT: u8 = 0x30;

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

impl Video<'_> {
    /// AH=00h: sets a text mode (see the `int10_video` module doc for which);
    /// false, with nothing changed, for any other mode.
    pub(super) fn set_mode(&mut self, al: u8) -> bool {
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

    /// AH=0Fh: AL the mode (bit 7 set if the last mode set kept memory), AH
    /// the columns, BH the active page.
    pub(super) fn get_mode(&self, regs: &mut Regs) {
        let no_clear = self.mem.read_u8(bda::VIDEO_CONTROL) & VIDEO_CONTROL_NO_CLEAR;
        regs.set_al(self.mem.read_u8(bda::VIDEO_MODE) | no_clear);
        regs.set_ah(self.mem.read_u8(bda::COLUMNS));
        regs.set_bh(self.active_page());
    }
}
