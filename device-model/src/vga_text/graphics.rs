//! The Graphics Controller Registers (Address 3CEh, Data 3CFh), Set/Reset
//! through Bit Mask (00h-08h); only the Miscellaneous Register's memory map
//! and graphics mode matter to a text-mode VGA.

use super::{indexed, VgaText, TEXT_PAGE_ADDR};

/// Graphics index: Miscellaneous Register.
pub const GC_MISCELLANEOUS: u8 = 0x06;
/// Number of graphics controller registers (00h-08h).
pub(super) const GC_COUNT: usize = 9;
/// Graphics Miscellaneous bit 0: Graphics Mode (0 = alphanumeric).
pub const GC_MISC_GRAPHICS_MODE: u8 = 1 << 0;
/// Graphics Miscellaneous bits 3-2: Memory Map (11b = B8000h, 32 KiB).
pub const GC_MISC_MEMORY_MAP: u8 = 0b11 << 2;

/// Bits each graphics register implements: Set/Reset, Enable Set/Reset, Color
/// Compare (3-0), Data Rotate (4-0), Read Map Select (1-0), Graphics Mode (bit
/// 2 reserved), Miscellaneous (3-0), Color Don't Care (3-0), Bit Mask (7-0).
pub(super) const GC_IMPLEMENTED: [u8; GC_COUNT] =
    [0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF];

impl VgaText {
    /// Guest-physical base of the display memory window the Graphics
    /// Miscellaneous Memory Map field selects (A0000h, A0000h, B0000h, B8000h).
    pub fn memory_map_base(&self) -> u64 {
        match (indexed(&self.gc, GC_MISCELLANEOUS) & GC_MISC_MEMORY_MAP) >> 2 {
            0b00 | 0b01 => pc_layout::memory::VGA_WINDOW,
            0b10 => 0xB0000,
            _ => TEXT_PAGE_ADDR,
        }
    }
}
