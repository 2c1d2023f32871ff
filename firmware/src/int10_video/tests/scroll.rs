//! Scrolling a window up and down (AH=06h/07h).

use super::*;

#[test]
fn scroll_up_moves_the_window_and_fills_with_the_attribute() {
    let mut m = Machine::new();
    m.fill_rows();
    // Window rows 5-10, columns 0-9; two lines up, fill 1Eh.
    m.call(0x0602, 0x1E00, 0x0500, 0x0A09);
    let s = m.screen();
    assert_eq!(s[4], "row 04");
    assert_eq!(s[5], "row 07");
    assert_eq!(s[8], "row 10");
    assert_eq!(s[9], "");
    assert_eq!(s[10], "");
    assert_eq!(s[11], "row 11");
    assert_eq!(m.cell(0, 9, 10), (b' ', 0x1E));
    assert_eq!(m.cell(0, 10, 10), (b' ', 0x07));
    assert_eq!(m.cell(0, 0, 5), (b'r', 0x07));
}

#[test]
fn scroll_up_moves_only_the_window_columns() {
    let mut m = Machine::new();
    m.fill_rows();
    // Columns 4-5 ("NN") of rows 0-24 up one line.
    m.call(0x0601, 0x0700, 0x0004, 0x1805);
    let s = m.screen();
    assert_eq!(s[0], "row 01");
    assert_eq!(s[23], "row 24");
    assert_eq!(s[24], "row");
}

#[test]
fn scroll_down_moves_the_window_and_fills_the_top() {
    let mut m = Machine::new();
    m.fill_rows();
    m.call(0x0703, 0x7000, 0x0200, 0x184F);
    let s = m.screen();
    assert_eq!(s[1], "row 01");
    assert_eq!((s[2].as_str(), s[4].as_str()), ("", ""));
    assert_eq!(s[5], "row 02");
    assert_eq!(s[24], "row 21");
    assert_eq!(m.cell(0, 79, 4), (b' ', 0x70));
}

#[test]
fn scroll_by_zero_or_more_than_the_height_clears_the_window() {
    let mut m = Machine::new();
    m.fill_rows();
    m.call(0x0600, 0x2F00, 0x0000, 0x0104);
    m.call(0x07FF, 0x3F00, 0x0300, 0x0304);
    let s = m.screen();
    assert_eq!((s[0].as_str(), s[1].as_str()), ("     0", "     1"));
    assert_eq!(s[3], "     3");
    assert_eq!(m.cell(0, 4, 1), (b' ', 0x2F));
    assert_eq!(m.cell(0, 0, 3), (b' ', 0x3F));
    assert_eq!(s[2], "row 02");
}
