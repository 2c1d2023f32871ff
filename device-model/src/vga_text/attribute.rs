//! The Attribute Controller Registers (Address/Data 3C0h with its flip-flop,
//! Data read 3C1h): Palette 00h-0Fh, Attribute Mode Control, Overscan Color,
//! Color Plane Enable, Horizontal PEL Panning and Color Select (00h-14h).

use super::{indexed, store, VgaText};

/// Attribute Address bits 4-0: Attribute Address (register index).
pub const ATTR_ADDRESS_INDEX: u8 = 0x1F;
/// Attribute Address bit 5: Palette Address Source (1 = display uses the
/// palette and the host cannot write it; 0 = host loads it, screen blanked).
pub const ATTR_ADDRESS_PAS: u8 = 1 << 5;
/// Attribute index: last palette register.
pub const ATTR_PALETTE_LAST: u8 = 0x0F;
/// Attribute index: Attribute Mode Control Register.
pub const ATTR_MODE_CONTROL: u8 = 0x10;
/// Attribute index: Color Select Register (the last one).
pub const ATTR_COLOR_SELECT: u8 = 0x14;
/// Number of attribute registers (00h-14h).
pub(super) const ATTR_COUNT: usize = 0x15;
/// Attribute Mode Control bit 0: Graphics/Alphanumeric Mode (1 = graphics).
pub const ATTR_MODE_GRAPHICS: u8 = 1 << 0;

/// Bits each attribute register implements: Palette (5-0), Attribute Mode
/// Control (bit 4 reserved), Overscan Color (7-0), Color Plane Enable (5-0),
/// Horizontal PEL Panning (3-0), Color Select (3-0).
pub(super) const ATTR_IMPLEMENTED: [u8; ATTR_COUNT] = [
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, // palette 00h-07h
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, // palette 08h-0Fh
    0xEF, 0xFF, 0x3F, 0x0F, 0x0F, // 10h-14h
];

impl VgaText {
    fn attr_index(&self) -> u8 {
        self.attr_address & ATTR_ADDRESS_INDEX
    }

    pub(super) fn attr_data(&self) -> u8 {
        indexed(&self.attr, self.attr_index())
    }

    pub(super) fn attr_write(&mut self, value: u8) {
        if !self.attr_flip_flop {
            self.attr_address = value & (ATTR_ADDRESS_INDEX | ATTR_ADDRESS_PAS);
        } else {
            let index = self.attr_index();
            // While the display owns the palette (PAS = 1) the host cannot load it.
            let palette_locked = self.attr_address & ATTR_ADDRESS_PAS != 0;
            if !(palette_locked && index <= ATTR_PALETTE_LAST) {
                store(&mut self.attr, &ATTR_IMPLEMENTED, index, value);
            }
        }
        self.attr_flip_flop = !self.attr_flip_flop;
    }
}
