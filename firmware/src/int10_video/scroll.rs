//! Scrolling a window of a page up or down (AH=06h/07h, and teletype output
//! at the bottom of the screen): the rows move, and the rows left behind are
//! filled with blanks in a given attribute.
//!
//! The window is clamped to the 80x25 screen when it is made, so every row
//! copied stays inside its page whatever corners the guest passes.

use super::text_screen::{cell_addr, cell_index, BLANK, COLUMNS, ROWS};
use super::Video;

/// A rectangle of the screen, inclusive, clamped to 80x25 and not empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    top: u8,
    left: u8,
    bottom: u8,
    right: u8,
}

impl Window {
    pub(super) const SCREEN: Window = Window {
        top: 0,
        left: 0,
        bottom: ROWS - 1,
        right: COLUMNS - 1,
    };

    /// The window with corners (CH, CL) and (DH, DL), its lower-right corner
    /// clamped to the screen; None when the corners are reversed or the
    /// upper-left one lies off the screen.
    pub(super) fn from_corners(top: u8, left: u8, bottom: u8, right: u8) -> Option<Window> {
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
pub(super) enum Scroll {
    Up,
    Down,
}

impl Video<'_> {
    /// AH=06h/07h: moves window `w` of `page` by `lines` (0 or more than its
    /// height: clears it) and fills the rows left behind with blanks in `attr`.
    pub(super) fn scroll(&mut self, page: u8, w: Window, lines: u8, attr: u8, direction: Scroll) {
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
}
