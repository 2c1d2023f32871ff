//! The VGA register values of the text modes this BIOS sets (the mode 3 row
//! of the IBM VGA BIOS video parameter table: 80x25, 9x16 characters, 400
//! lines, text at B8000h), and their programming through the VGA's ports in
//! the order the IBM VGA Technical Reference requires: sequencer held in
//! reset while the clock changes, CRTC protection lifted before R0-R7, the
//! attribute controller loaded with Palette Address Source clear, then
//! handed back to the display.
//!
//! These are the same values `device_model::vga_text::VgaText` powers on
//! with, so a mode set restores exactly that state.

use crate::bios_platform::BiosPlatform;
use device_model::vga_text::{
    ATTRIBUTE_ADDRESS, ATTR_ADDRESS_INDEX, ATTR_ADDRESS_PAS, CRTC_ADDRESS_COLOR, CRTC_DATA_COLOR,
    CRTC_VERTICAL_RETRACE_END, GRAPHICS_ADDRESS, GRAPHICS_DATA, INPUT_STATUS_1_COLOR,
    MISC_OUTPUT_WRITE, PEL_ADDRESS_WRITE_MODE, PEL_DATA, PEL_MASK, SEQUENCER_ADDRESS,
    SEQUENCER_DATA, SEQ_RESET, VRE_PROTECT,
};

/// Miscellaneous Output: colour I/O, RAM on, 28 MHz clock, page bit,
/// 400-line sync polarities.
pub const MISC: u8 = 0x67;
/// Sequencer 00h-04h.
pub const SEQ: [u8; 5] = [0x03, 0x00, 0x03, 0x00, 0x02];
/// CRTC 00h-18h (cursor on scan lines 13-14, R0-R7 protected).
pub const CRTC: [u8; 0x19] = [
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, // 00h-07h
    0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00, // 08h-0Fh
    0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, // 10h-17h
    0xFF, // 18h
];
/// Graphics controller 00h-08h (odd/even, memory map B8000h).
pub const GC: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];
/// Attribute controller 00h-14h (EGA palette, blink, 9-dot line graphics).
pub const ATTR: [u8; 0x15] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, // palette 00h-07h
    0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, // palette 08h-0Fh
    0x0C, 0x00, 0x0F, 0x08, 0x00, // 10h-14h
];
/// PEL Mask value that lets every DAC address bit through.
const PEL_MASK_ALL: u8 = 0xFF;
/// Sequencer Reset value that holds the sequencer in synchronous reset.
const SEQ_RESET_SYNCHRONOUS: u8 = 0x01;
/// DAC entries the default palette defines (the 64 EGA colours); the rest
/// are loaded black.
const EGA_COLORS: u8 = 64;

/// Writes CRTC register `index`.
pub fn crtc_out(pf: &mut dyn BiosPlatform, index: u8, value: u8) {
    pf.port_out(CRTC_ADDRESS_COLOR, index);
    pf.port_out(CRTC_DATA_COLOR, value);
}

/// Writes attribute controller register `index`: Palette Address Source is
/// cleared for the write (the palette is writable only then) and set again
/// after it, which gives the palette back to the display.
pub fn attr_out(pf: &mut dyn BiosPlatform, index: u8, value: u8) {
    pf.port_in(INPUT_STATUS_1_COLOR); // resets the address/data flip-flop
    pf.port_out(ATTRIBUTE_ADDRESS, index & ATTR_ADDRESS_INDEX);
    pf.port_out(ATTRIBUTE_ADDRESS, value);
    pf.port_out(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS);
}

/// Reads attribute controller register `index`.
pub fn attr_in(pf: &mut dyn BiosPlatform, index: u8) -> u8 {
    pf.port_in(INPUT_STATUS_1_COLOR);
    pf.port_out(
        ATTRIBUTE_ADDRESS,
        (index & ATTR_ADDRESS_INDEX) | ATTR_ADDRESS_PAS,
    );
    let value = pf.port_in(device_model::vga_text::ATTRIBUTE_DATA_READ);
    pf.port_in(INPUT_STATUS_1_COLOR);
    value
}

/// The EGA colour of DAC entry `index` (0-63) as 6-bit red, green, blue:
/// bits 2-0 add two thirds (2Ah) of red, green, blue, bits 5-3 one third (15h).
pub fn ega_color(index: u8) -> [u8; 3] {
    let level = |hi: u8, lo: u8| {
        (if index & hi != 0 { 0x2A } else { 0 }) + (if index & lo != 0 { 0x15 } else { 0 })
    };
    [
        level(1 << 2, 1 << 5),
        level(1 << 1, 1 << 4),
        level(1 << 0, 1 << 3),
    ]
}

/// Programs every register of mode 3; the DAC too when `load_palette`.
pub fn program_mode3(pf: &mut dyn BiosPlatform, load_palette: bool) {
    pf.port_out(SEQUENCER_ADDRESS, SEQ_RESET);
    pf.port_out(SEQUENCER_DATA, SEQ_RESET_SYNCHRONOUS);
    for (index, &value) in (0u8..).zip(SEQ.iter()).skip(1) {
        pf.port_out(SEQUENCER_ADDRESS, index);
        pf.port_out(SEQUENCER_DATA, value);
    }
    pf.port_out(MISC_OUTPUT_WRITE, MISC);
    pf.port_out(SEQUENCER_ADDRESS, SEQ_RESET);
    pf.port_out(SEQUENCER_DATA, SEQ[usize::from(SEQ_RESET)]);

    // Lift Protect R0-R7 first; the table's own Vertical Retrace End (11h),
    // written after R0-R7, sets it again.
    let vre = CRTC[usize::from(CRTC_VERTICAL_RETRACE_END)];
    crtc_out(pf, CRTC_VERTICAL_RETRACE_END, vre & !VRE_PROTECT);
    for (index, &value) in (0u8..).zip(CRTC.iter()) {
        crtc_out(pf, index, value);
    }

    for (index, &value) in (0u8..).zip(GC.iter()) {
        pf.port_out(GRAPHICS_ADDRESS, index);
        pf.port_out(GRAPHICS_DATA, value);
    }

    pf.port_in(INPUT_STATUS_1_COLOR);
    for (index, &value) in (0u8..).zip(ATTR.iter()) {
        pf.port_out(ATTRIBUTE_ADDRESS, index);
        pf.port_out(ATTRIBUTE_ADDRESS, value);
    }
    pf.port_out(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS);

    if load_palette {
        pf.port_out(PEL_MASK, PEL_MASK_ALL);
        pf.port_out(PEL_ADDRESS_WRITE_MODE, 0);
        for index in 0..=u8::MAX {
            let rgb = if index < EGA_COLORS {
                ega_color(index)
            } else {
                [0; 3]
            };
            for component in rgb {
                pf.port_out(PEL_DATA, component);
            }
        }
    }
}
