//! Teletype output (AH=0Eh): one character at the cursor, with BEL, BS, CR
//! and LF as commands, wrapping at column 80 and scrolling the page up at
//! row 25; and write string (AH=13h), which is teletype output of a string
//! from guest memory. The BIOS's own messages come out the same way.

use super::scroll::{Scroll, Window};
use super::text_screen::{COLUMNS, DEFAULT_ATTRIBUTE, ROWS};
use super::{unsupported, Video};
use crate::bios_platform::BiosPlatform;
use crate::memory::RealMemory;
use crate::regs::{linear, Regs};

/// AH=13h AL bit 0: leave the cursor after the string.
const STRING_MOVE_CURSOR: u8 = 1 << 0;
/// AH=13h AL bit 1: the string alternates characters and attributes.
const STRING_HAS_ATTRIBUTES: u8 = 1 << 1;

/// Characters teletype output treats as commands.
const BEL: u8 = 0x07;
const BS: u8 = 0x08;
const LF: u8 = 0x0A;
const CR: u8 = 0x0D;

/// Writes `s` to the active page as teletype output (AH=0Eh), for the
/// BIOS's own messages.
pub fn write_teletype_str(mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform, s: &[u8]) {
    let mut v = Video { mem, pf };
    let page = v.active_page();
    for &ch in s {
        v.teletype(page, ch, None);
    }
}

impl Video<'_> {
    /// AH=0Eh: one character of teletype output on `page`. `attr` is the
    /// attribute for printable characters (write string); None keeps the
    /// cell's own.
    pub(super) fn teletype(&mut self, page: u8, ch: u8, attr: Option<u8>) {
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
    pub(super) fn write_string(&mut self, regs: &Regs) {
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
}
