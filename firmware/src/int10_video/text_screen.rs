//! The 80x25 colour text screen in guest memory: its geometry, where each
//! character cell of each of the eight display pages lies (B8000h-BFFFFh),
//! which page is shown (AH=05h, the CRTC Start Address), and reading and
//! writing characters in place (AH=08h-0Ah).
//!
//! Every address is computed through [`cell_addr`], which clamps the page and
//! the cell, so no register value can reach outside the text pages.

use super::params::crtc_out;
use super::{bda, Video};
use device_model::vga_text::{CRTC_START_ADDRESS_HIGH, CRTC_START_ADDRESS_LOW};

/// Linear address of page 0 (B800:0000), the board's
/// [`pc_layout::memory::VGA_TEXT`].
pub const TEXT_BASE: u32 = pc_layout::memory::VGA_TEXT as u32;
/// Segment of the colour text pages.
pub const TEXT_SEGMENT: u16 = (TEXT_BASE >> 4) as u16;
const _: () = assert!(TEXT_BASE == (TEXT_SEGMENT as u32) << 4);
/// Bytes per display page in 80x25 text: page n is at B800:n*1000h.
pub const PAGE_BYTES: u16 = 0x1000;
/// Display pages in 80x25 text (8 x 4 KiB fill the 32 KiB window).
pub const PAGES: u8 = 8;
/// Characters per row.
pub const COLUMNS: u8 = 80;
/// Rows on the screen.
pub const ROWS: u8 = 25;
/// Character cells on the screen.
pub(super) const CELLS: u16 = COLUMNS as u16 * ROWS as u16;
/// Scan lines per character (9x16 font, 400 lines).
pub const CHAR_HEIGHT: u8 = 16;
/// Light grey on black: the attribute of a cleared screen.
pub const DEFAULT_ATTRIBUTE: u8 = 0x07;
/// The character of a cleared cell.
pub(super) const BLANK: u8 = b' ';

/// Cell `index` (0-1999) of `page`, as a linear address.
pub(super) fn cell_addr(page: u8, index: u16) -> u32 {
    let page = u32::from(page.min(PAGES - 1));
    let index = u32::from(index.min(CELLS - 1));
    TEXT_BASE + page * u32::from(PAGE_BYTES) + index * 2
}

/// Cell number of (column, row), both on the screen.
pub(super) fn cell_index(column: u8, row: u8) -> u16 {
    u16::from(row.min(ROWS - 1)) * u16::from(COLUMNS) + u16::from(column.min(COLUMNS - 1))
}

/// The first cell of `page` as the CRTC counts (character cells from B8000h).
pub(super) fn page_start_cell(page: u8) -> u16 {
    u16::from(page) * (PAGE_BYTES / 2)
}

impl Video<'_> {
    /// The active page from the BDA; a value the guest left out of range
    /// counts as page 0.
    pub(super) fn active_page(&self) -> u8 {
        let page = self.mem.read_u8(bda::ACTIVE_PAGE);
        if page < PAGES {
            page
        } else {
            0
        }
    }

    /// The page a call names in BH: pages above 7 mean the active page.
    pub(super) fn page_arg(&self, bh: u8) -> u8 {
        if bh < PAGES {
            bh
        } else {
            self.active_page()
        }
    }

    pub(super) fn program_start_address(&mut self, cell: u16) {
        let [high, low] = cell.to_be_bytes();
        crtc_out(self.pf, CRTC_START_ADDRESS_HIGH, high);
        crtc_out(self.pf, CRTC_START_ADDRESS_LOW, low);
    }

    pub(super) fn read_cell(&self, page: u8, column: u8, row: u8) -> (u8, u8) {
        let mut cell = [0u8; 2];
        self.mem
            .read(cell_addr(page, cell_index(column, row)), &mut cell);
        (cell[0], cell[1])
    }

    pub(super) fn write_cell(&mut self, page: u8, column: u8, row: u8, ch: u8, attr: u8) {
        self.mem
            .write(cell_addr(page, cell_index(column, row)), &[ch, attr]);
    }

    /// Fills all eight pages with blanks in attribute 07h.
    pub(super) fn clear_all_pages(&mut self) {
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
    pub(super) fn select_page(&mut self, page: u8) -> bool {
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

    /// AH=09h/0Ah: writes `ch` (with `attr`, or keeping each cell's
    /// attribute) `count` times from the cursor on, without moving it; the
    /// writes stop at the end of the screen.
    pub(super) fn write_repeated(&mut self, page: u8, ch: u8, attr: Option<u8>, count: u16) {
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
}
