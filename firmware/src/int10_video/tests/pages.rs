//! Display pages: selecting one (AH=05h) and writing to one not shown.

use super::*;

#[test]
fn page_select_moves_the_crtc_start_and_the_bda() {
    let mut m = Machine::new();
    m.tty(b"page zero");
    m.call(0x0501, 0, 0, 0);
    assert_eq!(m.bda_u8(bda::ACTIVE_PAGE), 1);
    assert_eq!(m.bda_u16(bda::PAGE_OFFSET), 0x1000);
    assert_eq!(m.pf.vga.start_address(), 0x0800);
    assert_eq!(m.screen()[0], "");
    m.call(0x0E41, 0x0100, 0, 0);
    assert_eq!(m.ram()[0xB9000], b'A');
    assert_eq!(m.screen()[0], "A");
    assert_eq!(m.pf.vga.cursor(), Some((1, 0)));
    m.call(0x0500, 0, 0, 0);
    assert_eq!(m.screen()[0], "page zero");
    assert_eq!(m.pf.vga.cursor(), Some((9, 0)));
}

#[test]
fn teletype_to_a_hidden_page_does_not_touch_the_shown_one() {
    let mut m = Machine::new();
    m.call(0x0E41, 0x0700, 0, 0);
    assert_eq!(m.ram()[0xBF000], b'A');
    assert_eq!(m.bda_cursor(7), (1, 0));
    assert_eq!(m.pf.vga.cursor(), Some((0, 0)));
    assert_eq!(m.cell(0, 0, 0).0, b' ');
}
