//! POST's set-up and the mode functions (AH=00h, AH=0Fh).

use super::*;

#[test]
fn init_video_leaves_mode_3_in_the_bios_data_area() {
    let m = Machine::new();
    assert_eq!(m.bda_u8(bda::VIDEO_MODE), MODE_80X25_COLOR);
    assert_eq!(m.bda_u16(bda::COLUMNS), 80);
    assert_eq!(m.bda_u16(bda::PAGE_SIZE), 0x1000);
    assert_eq!(m.bda_u16(bda::PAGE_OFFSET), 0);
    assert_eq!(m.bda_u16(bda::CURSOR_SHAPE), 0x0607);
    assert_eq!(m.bda_u8(bda::ACTIVE_PAGE), 0);
    assert_eq!(m.bda_u16(bda::CRTC_BASE), 0x3D4);
    assert_eq!(m.bda_u8(bda::CRT_MODE_CONTROL), 0x29);
    assert_eq!(m.bda_u8(bda::ROWS_MINUS_1), 24);
    assert_eq!(m.bda_u16(bda::CHAR_HEIGHT), 16);
    assert_eq!(m.bda_u8(bda::VIDEO_CONTROL), 0x60);
    assert_eq!(m.bda_u8(bda::SWITCHES), 0x09);
    assert_eq!(m.bda_u8(bda::MODESET_CONTROL), 0x11);
    assert_eq!(m.bda_u16(bda::EQUIPMENT) & 0x30, 0x20);
    for page in 0..PAGES {
        assert_eq!(m.bda_cursor(page), (0, 0));
    }
}

#[test]
fn init_video_clears_all_pages_with_attribute_07() {
    let mut m = Machine::blank();
    let junk = vec![0xAAu8; TEXT_END as usize - TEXT_BASE as usize];
    m.poke(TEXT_BASE, &junk);
    init_video(&mut m.mem, &mut m.pf);
    assert!(m
        .text_pages()
        .chunks_exact(2)
        .all(|cell| cell == [b' ', 0x07]));
}

#[test]
fn init_video_programs_the_crtc_cursor_through_the_ports() {
    let m = Machine::new();
    let mut m2 = Machine::blank();
    // Disturb the VGA first: POST must put every register back.
    for (port, value) in [(0x3D4, 0x0A), (0x3D5, 0x20), (0x3D4, 0x0E), (0x3D5, 0x12)] {
        m2.pf.port_out(port, value);
    }
    init_video(&mut m2.mem, &mut m2.pf);
    let w = &m2.pf.writes;
    for index in [0x0A, 0x0B, 0x0E, 0x0F] {
        assert!(
            w.windows(2)
                .any(|p| p[0] == (0x3D4, index) && p[1].0 == 0x3D5),
            "CRTC {index:#x} not written"
        );
    }
    assert_eq!(m2.pf.vga.cursor(), Some((0, 0)));
    assert_eq!(m2.pf.vga.cursor_scanlines(), (13, 14));
    let fresh = VgaText::new();
    for index in 0..0x19 {
        assert_eq!(
            m2.pf.vga.crtc_register(index),
            fresh.crtc_register(index),
            "CRTC {index:#x}"
        );
    }
    assert!(m2.pf.vga.text_mode() && m2.pf.vga.display_enabled());
    assert_eq!(m.pf.vga.dac_color(1), [0, 0, 0x2A]);
}

#[test]
fn set_mode_3_clears_the_screen_and_homes_every_cursor() {
    let mut m = Machine::new();
    m.tty(b"hello");
    m.call(0x0200, 0x0300, 0, 0x0505);
    m.call(0x0501, 0, 0, 0);
    let r = m.call(0x0003, 0, 0, 0);
    assert_eq!(r.al(), 0x30);
    assert_eq!(m.screen()[0], "");
    assert_eq!(m.cell(0, 0, 0), (b' ', 0x07));
    assert_eq!(m.bda_cursor(3), (0, 0));
    assert_eq!(m.bda_u8(bda::ACTIVE_PAGE), 0);
    assert_eq!(m.pf.vga.start_address(), 0);
    assert_eq!(m.pf.vga.cursor(), Some((0, 0)));
}

#[test]
fn set_mode_with_bit_7_keeps_the_screen_and_reports_it() {
    let mut m = Machine::new();
    m.tty(b"keep me");
    m.call(0x0083, 0, 0, 0);
    assert_eq!(m.screen()[0], "keep me");
    assert_eq!(m.call(0x0F00, 0, 0, 0).al(), 0x83);
    m.call(0x0003, 0, 0, 0);
    assert_eq!(m.screen()[0], "");
    assert_eq!(m.call(0x0F00, 0, 0, 0).al(), 0x03);
}

#[test]
fn set_mode_2_is_grey_text_and_7_becomes_colour_text() {
    let mut m = Machine::new();
    m.call(0x0002, 0, 0, 0);
    assert_eq!(m.bda_u8(bda::VIDEO_MODE), 2);
    assert_eq!(m.bda_u8(bda::CRT_MODE_CONTROL), 0x2D);
    m.call(0x0007, 0, 0, 0);
    assert_eq!(m.bda_u8(bda::VIDEO_MODE), 3);
    assert_eq!(m.bda_u16(bda::CRTC_BASE), 0x3D4);
}

#[test]
fn graphics_mode_is_refused_and_changes_nothing() {
    let mut m = Machine::new();
    m.tty(b"text");
    let before: Vec<u8> = m.text_pages().to_vec();
    for mode in [0x04u16, 0x06, 0x0D, 0x12, 0x13, 0x6A, 0x7F] {
        let r = m.call(mode, 0x1234, 0x5678, 0x9ABC);
        assert_eq!(r.ax(), mode);
        assert_eq!((r.bx(), r.cx(), r.dx()), (0x1234, 0x5678, 0x9ABC));
    }
    assert_eq!(m.text_pages(), &before[..]);
    assert_eq!(m.bda_u8(bda::VIDEO_MODE), 3);
    assert!(m.pf.writes.iter().all(|&(p, _)| p == 0x3D4 || p == 0x3D5));
}

#[test]
fn get_mode_reports_mode_columns_and_active_page() {
    let mut m = Machine::new();
    let r = m.call(0x0F00, 0xFFFF, 0, 0);
    assert_eq!((r.al(), r.ah(), r.bh(), r.bl()), (0x03, 80, 0, 0xFF));
    m.call(0x0502, 0, 0, 0);
    assert_eq!(m.call(0x0F00, 0, 0, 0).bh(), 2);
}
