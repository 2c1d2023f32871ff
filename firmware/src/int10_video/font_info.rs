//! Font information (AH=11h AL=30h): where the character generator's fonts
//! are, for programs that draw text themselves. Font loads are not served:
//! the VGA keeps its own font and 25 rows.
//!
//! The pointers are the guest's own INT 1Fh and 43h vectors or tables in
//! the system ROM segment, the 8x8 font at the IBM PC/AT's fixed address.

use super::{bda, unsupported, Video};
use crate::memory::RealMemory;
use crate::regs::Regs;

/// AX=1130h: get font information.
const CHARGEN_GET_FONT_INFO: u8 = 0x30;

/// Interrupt vectors AX=1130h returns for BH=00h and BH=01h.
const IVT_INT_1F: u32 = 0x1F * 4;
const IVT_INT_43: u32 = 0x43 * 4;
/// Segment of the system ROM, where the fonts AX=1130h points to live.
pub const FONT_SEGMENT: u16 = crate::rom::ROM_SEGMENT;
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

impl Video<'_> {
    /// AH=11h: only AL=30h (font information) answers; font loads keep the
    /// VGA's own font and 25 rows.
    pub(super) fn character_generator(&mut self, regs: &mut Regs) {
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
}
