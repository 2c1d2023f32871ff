//! Teletype output (AH=0Eh) and the BIOS's own messages.

use super::*;

fn text_of(line: &str) -> String {
    String::from(line)
}

#[test]
fn teletype_prompt_then_cr_lf_moves_to_the_next_line() {
    let mut m = Machine::new();
    m.tty(b"A:\\>");
    assert_eq!(m.bda_cursor(0), (4, 0));
    m.tty(b"\r\n");
    assert_eq!(m.screen()[0], "A:\\>");
    assert_eq!(m.cell(0, 2, 0), (b'\\', 0x07));
    assert_eq!(m.bda_cursor(0), (0, 1));
    assert_eq!(m.pf.vga.cursor(), Some((0, 1)));
}

#[test]
fn teletype_wraps_at_column_80() {
    let mut m = Machine::new();
    m.tty(&[b'x'; 80]);
    assert_eq!(m.bda_cursor(0), (0, 1));
    m.tty(b"y");
    assert_eq!(m.cell(0, 79, 0).0, b'x');
    assert_eq!(m.cell(0, 0, 1).0, b'y');
    assert_eq!(m.pf.vga.cursor(), Some((1, 1)));
}

#[test]
fn teletype_scrolls_at_row_25_and_blanks_the_bottom_line_in_07() {
    let mut m = Machine::new();
    // Colour the whole screen first: the new line must still come in 07h.
    m.call(0x0600, 0x4E00, 0x0000, 0x184F);
    m.fill_rows();
    assert_eq!(m.screen()[0], "row 00");
    assert_eq!(m.cell(0, 0, 24), (b'r', 0x4E));
    m.tty(b"\r\n");
    let screen = m.screen();
    assert_eq!(screen[0], "row 01");
    assert_eq!(screen[23], "row 24");
    assert_eq!(screen[24], "");
    for column in 0..COLUMNS {
        assert_eq!(m.cell(0, column, 24), (b' ', 0x07));
    }
    assert_eq!(m.cell(0, 0, 23), (b'r', 0x4E));
    assert_eq!(m.bda_cursor(0), (0, 24));
    assert_eq!(m.pf.vga.cursor(), Some((0, 24)));
}

#[test]
fn teletype_writing_past_the_last_cell_scrolls() {
    let mut m = Machine::new();
    m.call(0x0200, 0, 0, 0x184F);
    m.tty(b"Z");
    assert_eq!(m.cell(0, 79, 23).0, b'Z');
    assert_eq!(m.bda_cursor(0), (0, 24));
}

#[test]
fn teletype_keeps_the_cell_attribute() {
    let mut m = Machine::new();
    m.call(0x0600, 0x1F00, 0x0000, 0x184F);
    m.tty(b"Q");
    assert_eq!(m.cell(0, 0, 0), (b'Q', 0x1F));
}

#[test]
fn backspace_moves_left_without_erasing() {
    let mut m = Machine::new();
    m.tty(b"AB\x08");
    assert_eq!(m.bda_cursor(0), (1, 0));
    assert_eq!(m.cell(0, 1, 0).0, b'B');
    m.tty(b"\x08\x08\x08");
    assert_eq!(m.bda_cursor(0), (0, 0));
    assert_eq!(m.screen()[0], "AB");
}

#[test]
fn bell_writes_nothing_and_keeps_the_cursor() {
    let mut m = Machine::new();
    m.tty(b"\x07");
    assert_eq!(m.bda_cursor(0), (0, 0));
    assert_eq!(m.cell(0, 0, 0), (b' ', 0x07));
}

#[test]
fn teletype_str_prints_bios_messages() {
    let mut m = Machine::new();
    write_teletype_str(&mut m.mem, &mut m.pf, b"BIOS\r\nNo bootable device");
    assert_eq!(
        m.screen()[..2],
        [text_of("BIOS"), text_of("No bootable device")]
    );
    assert_eq!(m.pf.vga.cursor(), Some((18, 1)));
}
