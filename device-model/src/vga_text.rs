//! VGA in colour text mode: the I/O registers of the IBM VGA, and a renderer
//! that turns the 80x25 text page into Unicode lines for a terminal.
//!
//! Registers follow the IBM VGA Technical Reference ("VGA and XGA" register
//! descriptions, as in the IBM PS/2 Hardware Interface Technical Reference,
//! Video Subsystem chapter), by the register names used there:
//!
//! * General registers: Miscellaneous Output Register (write 3C2h, read 3CCh),
//!   Input Status Register 0 (read 3C2h), Input Status Register 1 (read
//!   3DAh/3BAh), Feature Control Register (write 3DAh/3BAh, read 3CAh), Video
//!   Subsystem Enable Register (3C3h).
//! * Sequencer Registers (Address 3C4h, Data 3C5h): Reset, Clocking Mode,
//!   Map Mask, Character Map Select, Memory Mode.
//! * CRT Controller Registers (Address 3D4h/3B4h, Data 3D5h/3B5h): 00h-18h,
//!   with Cursor Start, Cursor End, Start Address High/Low, Cursor Location
//!   High/Low and the Protect R0-R7 bit of Vertical Retrace End.
//! * Graphics Controller Registers (Address 3CEh, Data 3CFh): Set/Reset through
//!   Bit Mask (00h-08h).
//! * Attribute Controller Registers (Address/Data 3C0h with its flip-flop, Data
//!   read 3C1h): Palette 00h-0Fh, Attribute Mode Control, Overscan Color, Color
//!   Plane Enable, Horizontal PEL Panning, Color Select (00h-14h).
//! * Video DAC: PEL Mask (3C6h), PEL Address Read Mode (write 3C7h) / DAC State
//!   (read 3C7h), PEL Address Write Mode (3C8h), PEL Data (3C9h).
//!
//! The text page itself is plain guest RAM at [`TEXT_PAGE_ADDR`]: this device
//! emulates no memory planes, and planar graphics is out of scope, although
//! every register reads back what was written (reserved bits read 0).
//!
//! Choices where the reference leaves the answer open, stated once:
//! * A data access to an index that names no register reads FFh and a write to
//!   it is dropped; the index itself reads back as written. (Indices are not
//!   aliased, so SuperVGA probes of extended indices disturb nothing.)
//! * Input Status 1 is not timed: each read steps through active display,
//!   horizontal retrace, vertical retrace and horizontal retrace again, so
//!   every "wait for retrace" loop ends within four reads.
//! * Input Status 0 reads Switch Sense = 1 (a colour monitor is attached) and
//!   CRT Interrupt = 0: the vertical retrace interrupt is not emulated.
//! * The power-on state is the one the BIOS leaves after setting mode 3
//!   (80x25 colour text, 9x16 font, 400 lines): cursor on scan lines 13-14,
//!   CRTC registers protected, DAC entries 00h-3Fh holding the 64 EGA colours
//!   and 40h-FFh black.
//!
//! # Layout
//!
//! One file per register group, as the reference groups them: `general`,
//! `sequencer`, `crtc`, `graphics`, `attribute` and `dac`; `mode3` holds the
//! power-on values, `ports` the port decoding and [`VgaPorts`], and `render`
//! the text renderer.

mod attribute;
mod crtc;
mod dac;
mod general;
mod graphics;
mod mode3;
mod ports;
mod render;
mod sequencer;

pub use attribute::{
    ATTR_ADDRESS_INDEX, ATTR_ADDRESS_PAS, ATTR_COLOR_SELECT, ATTR_MODE_CONTROL, ATTR_MODE_GRAPHICS,
    ATTR_PALETTE_LAST,
};
pub use crtc::{
    CRTC_CURSOR_END, CRTC_CURSOR_LOCATION_HIGH, CRTC_CURSOR_LOCATION_LOW, CRTC_CURSOR_START,
    CRTC_HORIZONTAL_TOTAL, CRTC_LINE_COMPARE, CRTC_MAXIMUM_SCAN_LINE, CRTC_OVERFLOW,
    CRTC_START_ADDRESS_HIGH, CRTC_START_ADDRESS_LOW, CRTC_VERTICAL_RETRACE_END,
    CURSOR_END_ROW_SCAN, CURSOR_END_SKEW, CURSOR_START_CURSOR_OFF, CURSOR_START_ROW_SCAN,
    OVERFLOW_LINE_COMPARE_8, VRE_PROTECT,
};
pub use dac::{DAC_COMPONENT_MASK, DAC_ENTRIES, DAC_STATE_READ, DAC_STATE_WRITE};
pub use general::{
    FEATURE_FC, FEATURE_VSS, IS0_CRT_INTERRUPT, IS0_SWITCH_SENSE, IS1_DISPLAY_DISABLED,
    IS1_VERTICAL_RETRACE, MISC_CLOCK_SELECT, MISC_ENABLE_RAM, MISC_HSYNC_POLARITY,
    MISC_IO_ADDRESS_SELECT, MISC_PAGE_BIT_ODD_EVEN, MISC_VSYNC_POLARITY, VSE_ENABLE,
};
pub use graphics::{GC_MISCELLANEOUS, GC_MISC_GRAPHICS_MODE, GC_MISC_MEMORY_MAP};
pub use ports::{
    VgaPorts, ATTRIBUTE_ADDRESS, ATTRIBUTE_DATA_READ, CRTC_ADDRESS_COLOR, CRTC_ADDRESS_MONO,
    CRTC_DATA_COLOR, CRTC_DATA_MONO, FEATURE_CONTROL_READ, GRAPHICS_ADDRESS, GRAPHICS_DATA,
    INPUT_STATUS_1_COLOR, INPUT_STATUS_1_MONO, MISC_OUTPUT_READ, MISC_OUTPUT_WRITE,
    PEL_ADDRESS_READ_MODE, PEL_ADDRESS_WRITE_MODE, PEL_DATA, PEL_MASK, SEQUENCER_ADDRESS,
    SEQUENCER_DATA, VGA_PORT_BASE, VGA_PORT_COUNT, VIDEO_SUBSYSTEM_ENABLE,
};
pub use render::{cp437_to_char, render_lines, screen_text};
pub use sequencer::{
    SEQ_CHARACTER_MAP_SELECT, SEQ_CLOCKING_MODE, SEQ_CLOCKING_SCREEN_OFF, SEQ_MAP_MASK,
    SEQ_MEMORY_MODE, SEQ_RESET,
};

use attribute::ATTR_COUNT;
use crtc::CRTC_COUNT;
use dac::ega_color;
use graphics::GC_COUNT;
use mode3::{MODE3_ATTR, MODE3_CRTC, MODE3_GC, MODE3_MISC, MODE3_SEQ};
use sequencer::SEQ_COUNT;

/// Guest-physical address of the colour text page (memory map B8000h, 32 KiB).
pub const TEXT_PAGE_ADDR: u64 = pc_layout::memory::VGA_TEXT;
/// Size of the text page window the CPU sees at [`TEXT_PAGE_ADDR`].
pub const TEXT_PAGE_SIZE: usize = 0x8000;
/// Characters per row in mode 3.
pub const COLUMNS: usize = 80;
/// Rows on the screen in mode 3.
pub const ROWS: usize = 25;

/// A VGA's register file, in text mode.
pub struct VgaText {
    misc_output: u8,
    feature_control: u8,
    video_subsystem_enable: u8,
    seq_index: u8,
    seq: [u8; SEQ_COUNT],
    crtc_index: u8,
    crtc: [u8; CRTC_COUNT],
    gc_index: u8,
    gc: [u8; GC_COUNT],
    /// Attribute Address Register (index and Palette Address Source).
    attr_address: u8,
    attr: [u8; ATTR_COUNT],
    /// False: the next 3C0h write is an address; true: it is data.
    attr_flip_flop: bool,
    /// Step in [`RETRACE_CYCLE`] reported by the next Input Status 1 read.
    retrace_step: u8,
    pel_mask: u8,
    dac_read_index: u8,
    dac_write_index: u8,
    /// Which colour component (0 red, 1 green, 2 blue) the next 3C9h access is.
    dac_component: u8,
    dac_reading: bool,
    /// Components written so far for the entry at `dac_write_index`.
    dac_latch: [u8; 3],
    dac: [[u8; 3]; DAC_ENTRIES],
}

impl Default for VgaText {
    fn default() -> Self {
        Self::new()
    }
}

impl VgaText {
    /// A VGA as the BIOS leaves it after setting mode 3 (80x25 colour text).
    pub fn new() -> Self {
        let mut dac = [[0; 3]; DAC_ENTRIES];
        for (i, entry) in dac.iter_mut().take(64).enumerate() {
            *entry = ega_color(i as u8);
        }
        Self {
            misc_output: MODE3_MISC,
            feature_control: 0,
            video_subsystem_enable: VSE_ENABLE,
            seq_index: 0,
            seq: MODE3_SEQ,
            crtc_index: 0,
            crtc: MODE3_CRTC,
            gc_index: 0,
            gc: MODE3_GC,
            attr_address: ATTR_ADDRESS_PAS,
            attr: MODE3_ATTR,
            attr_flip_flop: false,
            retrace_step: 0,
            pel_mask: 0xFF,
            dac_read_index: 0,
            dac_write_index: 0,
            dac_component: 0,
            dac_reading: false,
            dac_latch: [0; 3],
            dac,
        }
    }

    /// True when the attribute and graphics controllers are in alphanumeric
    /// (text) mode.
    pub fn text_mode(&self) -> bool {
        indexed(&self.attr, ATTR_MODE_CONTROL) & ATTR_MODE_GRAPHICS == 0
            && indexed(&self.gc, GC_MISCELLANEOUS) & GC_MISC_GRAPHICS_MODE == 0
    }

    /// True when the screen shows anything: Palette Address Source is 1 and
    /// the sequencer's Screen Off bit is clear.
    pub fn display_enabled(&self) -> bool {
        self.attr_address & ATTR_ADDRESS_PAS != 0
            && indexed(&self.seq, SEQ_CLOCKING_MODE) & SEQ_CLOCKING_SCREEN_OFF == 0
    }
}

/// Register `index` of `regs`, or FFh for an index that names no register.
fn indexed(regs: &[u8], index: u8) -> u8 {
    regs.get(usize::from(index)).copied().unwrap_or(0xFF)
}

/// Stores the implemented bits of `value` in register `index`, if it exists.
fn store(regs: &mut [u8], implemented: &[u8], index: u8, value: u8) {
    let i = usize::from(index);
    if let (Some(reg), Some(mask)) = (regs.get_mut(i), implemented.get(i)) {
        *reg = value & mask;
    }
}

#[cfg(test)]
mod tests;
