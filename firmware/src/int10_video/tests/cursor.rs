//! Cursor position and shape (AH=01h-03h) and the CRTC registers behind them.

use super::*;
use crate::int10_video::cursor::crtc_cursor_shape;

#[test]
fn set_and_get_cursor_round_trip() {
    let mut m = Machine::new();
    m.call(0x0200, 0x0000, 0, 0x0C28);
    let r = m.call(0x0300, 0x0000, 0xFFFF, 0);
    assert_eq!((r.dh(), r.dl(), r.cx()), (12, 40, 0x0607));
    m.call(0x0200, 0x0500, 0, 0x0102);
    assert_eq!(m.call(0x0300, 0x0500, 0, 0).dx(), 0x0102);
    assert_eq!(m.call(0x0300, 0x0000, 0, 0).dx(), 0x0C28);
}

#[test]
fn crtc_cursor_registers_follow_the_active_page_cursor() {
    let mut m = Machine::new();
    m.call(0x0200, 0, 0, 0x0C28);
    assert_eq!(m.pf.vga.cursor_location(), 12 * 80 + 40);
    assert_eq!(m.pf.vga.cursor(), Some((40, 12)));
    // Another page's cursor leaves the hardware cursor alone...
    m.call(0x0200, 0x0200, 0, 0x0305);
    assert_eq!(m.pf.vga.cursor(), Some((40, 12)));
    // ...until that page is shown.
    m.call(0x0502, 0, 0, 0);
    assert_eq!(m.pf.vga.cursor_location(), 0x1000 + 3 * 80 + 5);
    assert_eq!(m.pf.vga.cursor(), Some((5, 3)));
}

#[test]
fn cursor_parked_below_the_screen_is_hidden_and_output_stays_on_it() {
    let mut m = Machine::new();
    m.call(0x0200, 0, 0, 0x1900);
    assert_eq!(m.pf.vga.cursor(), None);
    assert_eq!(m.call(0x0300, 0, 0, 0).dh(), 25);
    m.call(0x0958, 0x0007, 3, 0);
    assert_eq!(m.cell(0, 0, 24).0, b'X');
    m.tty(b"Y");
    assert_eq!(m.cell(0, 0, 24).0, b'Y');
    assert_eq!(m.bda_cursor(0), (1, 24));
}

#[test]
fn cursor_shape_goes_to_the_bda_as_given_and_to_the_crtc_emulated() {
    let mut m = Machine::new();
    m.call(0x0100, 0, 0x0007, 0);
    assert_eq!(m.bda_u16(bda::CURSOR_SHAPE), 0x0007);
    assert_eq!(m.call(0x0300, 0, 0, 0).cx(), 0x0007);
    assert_eq!(m.pf.vga.cursor_scanlines(), (0, 14));
    m.call(0x0100, 0, 0x2000, 0);
    assert_eq!(m.pf.vga.cursor(), None);
    m.call(0x0100, 0, 0x0607, 0);
    assert_eq!(m.pf.vga.cursor_scanlines(), (13, 14));
    assert_eq!(m.pf.vga.cursor(), Some((0, 0)));
    // With emulation off the lines go to the CRTC unchanged.
    assert_eq!(m.call(0x1201, 0x0034, 0, 0).al(), 0x12);
    m.call(0x0100, 0, 0x0607, 0);
    assert_eq!(m.pf.vga.cursor_scanlines(), (6, 7));
    m.call(0x0100, 0, 0x0E0F, 0);
    assert_eq!(m.pf.vga.cursor_scanlines(), (14, 15));
}

#[test]
fn cursor_emulation_maps_cga_shapes() {
    assert_eq!(crtc_cursor_shape(0x0607, 16, true), (13, 14));
    assert_eq!(crtc_cursor_shape(0x0007, 16, true), (0, 14));
    assert_eq!(crtc_cursor_shape(0x0001, 16, true), (0, 3));
    assert_eq!(crtc_cursor_shape(0x0607, 14, true), (11, 12));
    assert_eq!(crtc_cursor_shape(0x0607, 8, true), (6, 7));
    assert_eq!(crtc_cursor_shape(0x0D0E, 16, true), (13, 14));
    assert_eq!(crtc_cursor_shape(0x0706, 16, true), (7, 6));
    assert_eq!(crtc_cursor_shape(0x2607, 16, true), (13 | 0x20, 14));
    assert_eq!(crtc_cursor_shape(0xFFFF, 0xFFFF, true), (0x3F, 0x1F));
}
