//! Write string (AH=13h) in its four modes.

use super::*;

#[test]
fn write_string_mode_0_uses_bl_and_restores_the_cursor() {
    let mut m = Machine::new();
    write_string(&mut m, 0, 0x001E, 0x0203, b"abc", 3);
    assert_eq!(m.screen()[2], "   abc");
    assert_eq!(m.cell(0, 5, 2), (b'c', 0x1E));
    assert_eq!(m.bda_cursor(0), (0, 0));
    assert_eq!(m.pf.vga.cursor(), Some((0, 0)));
}

#[test]
fn write_string_mode_1_leaves_the_cursor_after_the_string() {
    let mut m = Machine::new();
    write_string(&mut m, 1, 0x0070, 0x0A00, b"ok\r\nnext", 8);
    let s = m.screen();
    assert_eq!((s[10].as_str(), s[11].as_str()), ("ok", "next"));
    assert_eq!(m.cell(0, 0, 11), (b'n', 0x70));
    assert_eq!(m.bda_cursor(0), (4, 11));
    assert_eq!(m.pf.vga.cursor(), Some((4, 11)));
}

#[test]
fn write_string_modes_2_and_3_take_attributes_from_the_string() {
    let mut m = Machine::new();
    write_string(&mut m, 2, 0x0000, 0x0000, b"A\x1bB\x4e", 2);
    assert_eq!(
        (m.cell(0, 0, 0), m.cell(0, 1, 0)),
        ((b'A', 0x1B), (b'B', 0x4E))
    );
    assert_eq!(m.bda_cursor(0), (0, 0));
    write_string(&mut m, 3, 0x0000, 0x014E, b"C\x1fD\x2fE\x3f", 3);
    assert_eq!(m.cell(0, 78, 1), (b'C', 0x1F));
    assert_eq!(m.cell(0, 79, 1), (b'D', 0x2F));
    assert_eq!(m.cell(0, 0, 2), (b'E', 0x3F));
    assert_eq!(m.bda_cursor(0), (1, 2));
}

#[test]
fn write_string_with_an_unknown_mode_does_nothing() {
    let mut m = Machine::new();
    let r = write_string(&mut m, 4, 0x0007, 0, b"zz", 2);
    assert_eq!(r.ax(), 0x1304);
    assert_eq!(m.cell(0, 0, 0).0, b' ');
}
