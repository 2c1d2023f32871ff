//! Tests of `vga_text`.

use super::attribute::ATTR_IMPLEMENTED;
use super::crtc::CRTC_IMPLEMENTED;
use super::*;
use crate::bus::PortIoDevice;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use test_rng::XorShift;

fn crtc(v: &mut VgaText, index: u8, value: u8) {
    v.write(CRTC_ADDRESS_COLOR, index);
    v.write(CRTC_DATA_COLOR, value);
}

fn crtc_read(v: &mut VgaText, index: u8) -> u8 {
    v.write(CRTC_ADDRESS_COLOR, index);
    v.read(CRTC_DATA_COLOR)
}

fn set_cursor(v: &mut VgaText, cell: u16) {
    let [hi, lo] = cell.to_be_bytes();
    crtc(v, CRTC_CURSOR_LOCATION_HIGH, hi);
    crtc(v, CRTC_CURSOR_LOCATION_LOW, lo);
}

fn set_start(v: &mut VgaText, cell: u16) {
    let [hi, lo] = cell.to_be_bytes();
    crtc(v, CRTC_START_ADDRESS_HIGH, hi);
    crtc(v, CRTC_START_ADDRESS_LOW, lo);
}

/// A page with `text` written from cell `at`, attribute 1Fh everywhere.
fn page_with(at: usize, text: &[u8]) -> Vec<u8> {
    let mut page = vec![0u8; TEXT_PAGE_SIZE];
    for cell in page.chunks_mut(2) {
        cell[0] = b' ';
        cell[1] = 0x1F;
    }
    for (i, b) in text.iter().enumerate() {
        page[(at + i) * 2] = *b;
    }
    page
}

#[test]
fn power_on_state_is_mode_3() {
    let mut v = VgaText::new();
    assert_eq!(v.read(MISC_OUTPUT_READ), 0x67);
    assert_eq!(v.cursor_scanlines(), (13, 14));
    assert_eq!(v.cursor(), Some((0, 0)));
    assert_eq!(v.start_address(), 0);
    assert!(v.text_mode());
    assert!(v.display_enabled());
    assert_eq!(v.memory_map_base(), TEXT_PAGE_ADDR);
    assert_eq!(crtc_read(&mut v, 0x01), 0x4F);
    assert_eq!(crtc_read(&mut v, CRTC_MAXIMUM_SCAN_LINE), 0x4F);
    assert_eq!(v.read(PEL_MASK), 0xFF);
    // DAC entry 14h is the BIOS's brown; 3Fh is bright white.
    assert_eq!(v.dac_color(0x14), [0x2A, 0x15, 0x00]);
    assert_eq!(v.dac_color(0x3F), [0x3F, 0x3F, 0x3F]);
}

#[test]
fn crtc_index_and_data_read_back() {
    let mut v = VgaText::new();
    crtc(&mut v, 0x13, 0x50);
    assert_eq!(v.read(CRTC_ADDRESS_COLOR), 0x13);
    assert_eq!(v.read(CRTC_DATA_COLOR), 0x50);
    assert_eq!(v.crtc_register(0x13), Some(0x50));
    assert_eq!(v.crtc_register(0x19), None);
}

#[test]
fn crtc_reserved_bits_read_zero() {
    let mut v = VgaText::new();
    crtc(&mut v, CRTC_CURSOR_START, 0xFF);
    assert_eq!(crtc_read(&mut v, CRTC_CURSOR_START), 0x3F);
    crtc(&mut v, CRTC_CURSOR_END, 0xFF);
    assert_eq!(crtc_read(&mut v, CRTC_CURSOR_END), 0x7F);
}

#[test]
fn crtc_undefined_index_reads_ff_and_ignores_writes() {
    let mut v = VgaText::new();
    crtc(&mut v, 0x24, 0x12);
    assert_eq!(crtc_read(&mut v, 0x24), 0xFF);
    assert_eq!(v.read(CRTC_ADDRESS_COLOR), 0x24);
    // No aliasing onto 04h.
    assert_eq!(crtc_read(&mut v, 0x04), 0x55);
}

#[test]
fn word_write_to_3d4_moves_the_cursor() {
    let vga = Rc::new(RefCell::new(VgaText::new()));
    let mut ports = VgaPorts::new(VGA_PORT_BASE, vga.clone());
    let off = CRTC_ADDRESS_COLOR - VGA_PORT_BASE;
    // mov ax, 0x010E; out dx, ax / mov ax, 0x0F0F; out dx, ax: cell 271.
    ports.write(off, 2, 0x010E);
    ports.write(off, 2, 0x0F0F);
    assert_eq!(vga.borrow().cursor_location(), 0x010F);
    assert_eq!(vga.borrow().cursor(), Some((31, 3)));
    // A word read gives index then data.
    assert_eq!(ports.read(off, 2), 0x0F0F);
}

#[test]
fn cursor_is_relative_to_the_start_address() {
    let mut v = VgaText::new();
    set_start(&mut v, 160);
    set_cursor(&mut v, 160 + 2 * 80 + 5);
    assert_eq!(v.start_address(), 160);
    assert_eq!(v.cursor(), Some((5, 2)));
    set_cursor(&mut v, 100); // above the visible screen
    assert_eq!(v.cursor(), None);
    set_cursor(&mut v, 160 + 2000); // just below it
    assert_eq!(v.cursor(), None);
    set_cursor(&mut v, 160 + 1999);
    assert_eq!(v.cursor(), Some((79, 24)));
}

#[test]
fn cursor_off_bit_hides_the_cursor() {
    let mut v = VgaText::new();
    set_cursor(&mut v, 81);
    crtc(&mut v, CRTC_CURSOR_START, CURSOR_START_CURSOR_OFF | 13);
    assert_eq!(v.cursor(), None);
    crtc(&mut v, CRTC_CURSOR_START, 13);
    assert_eq!(v.cursor(), Some((1, 1)));
}

#[test]
fn cursor_start_after_end_shows_no_cursor() {
    let mut v = VgaText::new();
    crtc(&mut v, CRTC_CURSOR_START, 15);
    crtc(&mut v, CRTC_CURSOR_END, 14);
    assert_eq!(v.cursor(), None);
    crtc(&mut v, CRTC_CURSOR_END, 15);
    assert_eq!(v.cursor(), Some((0, 0)));
}

#[test]
fn protect_bit_guards_r0_to_r7_except_line_compare_bit_8() {
    let mut v = VgaText::new();
    assert_ne!(
        crtc_read(&mut v, CRTC_VERTICAL_RETRACE_END) & VRE_PROTECT,
        0
    );
    crtc(&mut v, CRTC_HORIZONTAL_TOTAL, 0x12);
    assert_eq!(crtc_read(&mut v, CRTC_HORIZONTAL_TOTAL), 0x5F);
    // Overflow is 1Fh: only bit 4 may change.
    crtc(&mut v, CRTC_OVERFLOW, 0x00);
    assert_eq!(crtc_read(&mut v, CRTC_OVERFLOW), 0x0F);
    crtc(&mut v, CRTC_OVERFLOW, 0xFF);
    assert_eq!(crtc_read(&mut v, CRTC_OVERFLOW), 0x1F);
    // Registers past R7 stay writable.
    crtc(&mut v, CRTC_MAXIMUM_SCAN_LINE, 0x47);
    assert_eq!(crtc_read(&mut v, CRTC_MAXIMUM_SCAN_LINE), 0x47);
    // Clearing Protect unlocks R0-R7.
    crtc(&mut v, CRTC_VERTICAL_RETRACE_END, 0x0E);
    crtc(&mut v, CRTC_HORIZONTAL_TOTAL, 0x12);
    assert_eq!(crtc_read(&mut v, CRTC_HORIZONTAL_TOTAL), 0x12);
    crtc(&mut v, CRTC_OVERFLOW, 0x00);
    assert_eq!(crtc_read(&mut v, CRTC_OVERFLOW), 0x00);
}

#[test]
fn input_status_1_toggles_retrace_bits() {
    let mut v = VgaText::new();
    let reads: Vec<u8> = (0..8).map(|_| v.read(INPUT_STATUS_1_COLOR)).collect();
    let ddis = |r: &u8| r & IS1_DISPLAY_DISABLED != 0;
    let vr = |r: &u8| r & IS1_VERTICAL_RETRACE != 0;
    // Within any four consecutive reads each bit is seen both set and clear.
    for window in reads.windows(4) {
        assert!(window.iter().any(ddis) && !window.iter().all(ddis));
        assert!(window.iter().any(vr) && !window.iter().all(vr));
    }
    // Vertical retrace implies the display is disabled.
    assert!(reads.iter().filter(|r| vr(r)).all(ddis));
}

#[test]
fn input_status_1_read_resets_the_attribute_flip_flop() {
    let mut v = VgaText::new();
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x11); // address; flip-flop now data
    v.read(INPUT_STATUS_1_COLOR); // back to address
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x13);
    v.write(ATTRIBUTE_ADDRESS, 0x04);
    assert_eq!(v.read(ATTRIBUTE_ADDRESS), ATTR_ADDRESS_PAS | 0x13);
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0x04);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x11);
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0x00); // overscan untouched
}

#[test]
fn attribute_port_alternates_address_and_data() {
    let mut v = VgaText::new();
    v.read(INPUT_STATUS_1_COLOR);
    // Load palette entry 6 with PAS = 0 (screen blanked), then re-enable.
    v.write(ATTRIBUTE_ADDRESS, 0x06);
    assert!(!v.display_enabled());
    v.write(ATTRIBUTE_ADDRESS, 0x26);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS);
    assert!(v.display_enabled());
    v.read(INPUT_STATUS_1_COLOR);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x06);
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0x26);
    // Reading 3C0h/3C1h does not move the flip-flop: the next write is data.
    v.read(INPUT_STATUS_1_COLOR);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | ATTR_MODE_CONTROL);
    v.read(ATTRIBUTE_ADDRESS);
    v.read(ATTRIBUTE_DATA_READ);
    v.write(ATTRIBUTE_ADDRESS, 0xFF);
    assert_eq!(
        v.read(ATTRIBUTE_ADDRESS),
        ATTR_ADDRESS_PAS | ATTR_MODE_CONTROL
    );
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0xEF); // bit 4 reserved
    assert!(!v.text_mode());
}

#[test]
fn palette_is_read_only_while_the_display_owns_it() {
    let mut v = VgaText::new();
    v.read(INPUT_STATUS_1_COLOR);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x01);
    v.write(ATTRIBUTE_ADDRESS, 0x3F);
    v.write(ATTRIBUTE_ADDRESS, ATTR_ADDRESS_PAS | 0x01);
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0x01);
}

#[test]
fn attribute_undefined_index_reads_ff() {
    let mut v = VgaText::new();
    v.read(INPUT_STATUS_1_COLOR);
    v.write(ATTRIBUTE_ADDRESS, 0xFF); // reserved bits 7-6 dropped: index 1Fh
    assert_eq!(v.read(ATTRIBUTE_ADDRESS), 0x3F);
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0xFF);
    v.write(ATTRIBUTE_ADDRESS, 0x55); // data to no register: dropped
    assert_eq!(v.read(ATTRIBUTE_DATA_READ), 0xFF);
    assert_eq!(v.read(ATTRIBUTE_ADDRESS), 0x3F);
}

#[test]
fn dac_writes_and_reads_cycle_through_rgb() {
    let mut v = VgaText::new();
    v.write(PEL_ADDRESS_WRITE_MODE, 0xFE);
    assert_eq!(v.read(PEL_ADDRESS_READ_MODE), DAC_STATE_WRITE);
    for b in [0x01, 0x02, 0xFF, 0x04, 0x05, 0x06, 0x07] {
        v.write(PEL_DATA, b);
    }
    // Two entries completed, wrapping past FFh; the seventh byte waits.
    assert_eq!(v.dac_color(0xFE), [0x01, 0x02, 0x3F]);
    assert_eq!(v.dac_color(0xFF), [0x04, 0x05, 0x06]);
    assert_eq!(v.read(PEL_ADDRESS_WRITE_MODE), 0x00);
    v.write(PEL_ADDRESS_READ_MODE, 0xFE);
    assert_eq!(v.read(PEL_ADDRESS_READ_MODE), DAC_STATE_READ);
    let got: Vec<u8> = (0..9).map(|_| v.read(PEL_DATA)).collect();
    // Entry 00h is still black: the incomplete write was never committed.
    assert_eq!(got, [0x01, 0x02, 0x3F, 0x04, 0x05, 0x06, 0, 0, 0]);
}

#[test]
fn dac_address_write_restarts_the_component_cycle() {
    let mut v = VgaText::new();
    v.write(PEL_ADDRESS_WRITE_MODE, 0x10);
    v.write(PEL_DATA, 0x11);
    v.write(PEL_ADDRESS_WRITE_MODE, 0x10);
    for b in [0x21, 0x22, 0x23] {
        v.write(PEL_DATA, b);
    }
    assert_eq!(v.dac_color(0x10), [0x21, 0x22, 0x23]);
    v.write(PEL_MASK, 0x0F);
    assert_eq!(v.read(PEL_MASK), 0x0F);
}

#[test]
fn misc_output_selects_mono_or_colour_crtc_ports() {
    let mut v = VgaText::new();
    set_cursor(&mut v, 5);
    // Colour: 3Bxh is dead.
    assert_eq!(v.read(CRTC_ADDRESS_MONO), 0xFF);
    assert_eq!(v.read(INPUT_STATUS_1_MONO), 0xFF);
    v.write(CRTC_ADDRESS_MONO, CRTC_CURSOR_LOCATION_LOW);
    v.write(CRTC_DATA_MONO, 9);
    assert_eq!(v.cursor(), Some((5, 0)));
    // Mono: the same registers appear at 3B4h/3B5h, 3Dxh goes dead.
    v.write(MISC_OUTPUT_WRITE, 0x66);
    assert_eq!(v.read(MISC_OUTPUT_READ), 0x66);
    assert_eq!(v.read(CRTC_DATA_COLOR), 0xFF);
    assert_eq!(v.read(INPUT_STATUS_1_COLOR), 0xFF);
    v.write(CRTC_ADDRESS_MONO, CRTC_CURSOR_LOCATION_LOW);
    assert_eq!(v.read(CRTC_DATA_MONO), 5);
    v.write(CRTC_DATA_MONO, 9);
    assert_eq!(v.cursor(), Some((9, 0)));
    // Feature control follows the block too.
    v.write(INPUT_STATUS_1_MONO, 0xFF);
    assert_eq!(v.read(FEATURE_CONTROL_READ), FEATURE_FC | FEATURE_VSS);
    v.write(INPUT_STATUS_1_COLOR, 0x00);
    assert_eq!(v.read(FEATURE_CONTROL_READ), FEATURE_FC | FEATURE_VSS);
}

#[test]
fn input_status_0_and_read_only_ports() {
    let mut v = VgaText::new();
    assert_eq!(v.read(MISC_OUTPUT_WRITE), IS0_SWITCH_SENSE);
    assert_eq!(v.read(MISC_OUTPUT_WRITE) & IS0_CRT_INTERRUPT, 0);
    v.write(MISC_OUTPUT_READ, 0x00);
    v.write(FEATURE_CONTROL_READ, 0xFF);
    v.write(ATTRIBUTE_DATA_READ, 0xFF);
    assert_eq!(v.read(MISC_OUTPUT_READ), 0x67);
    assert_eq!(v.read(FEATURE_CONTROL_READ), 0x00);
    assert_eq!(v.read(0x3CB), 0xFF);
    assert_eq!(v.read(0x3E0), 0xFF);
    assert_eq!(v.read(0x3AF), 0xFF);
}

#[test]
fn sequencer_and_graphics_registers_read_back_masked() {
    let mut v = VgaText::new();
    v.write(SEQUENCER_ADDRESS, SEQ_MAP_MASK);
    assert_eq!(v.read(SEQUENCER_DATA), 0x03);
    v.write(SEQUENCER_DATA, 0xFF);
    assert_eq!(v.read(SEQUENCER_DATA), 0x0F);
    v.write(SEQUENCER_ADDRESS, SEQ_CLOCKING_MODE);
    v.write(SEQUENCER_DATA, SEQ_CLOCKING_SCREEN_OFF);
    assert!(!v.display_enabled());
    v.write(SEQUENCER_ADDRESS, 0x05);
    assert_eq!(v.read(SEQUENCER_DATA), 0xFF);
    v.write(SEQUENCER_ADDRESS, SEQ_MEMORY_MODE);
    assert_eq!(v.read(SEQUENCER_DATA), 0x02);

    v.write(GRAPHICS_ADDRESS, 0x08);
    assert_eq!(v.read(GRAPHICS_DATA), 0xFF);
    v.write(GRAPHICS_ADDRESS, GC_MISCELLANEOUS);
    assert_eq!(v.read(GRAPHICS_DATA), 0x0E);
    v.write(GRAPHICS_DATA, 0xF5); // graphics, map A0000h 64K
    assert_eq!(v.read(GRAPHICS_DATA), 0x05);
    assert!(!v.text_mode());
    assert_eq!(v.memory_map_base(), 0xA0000);
    v.write(GRAPHICS_ADDRESS, 0x09);
    v.write(GRAPHICS_DATA, 0x00);
    assert_eq!(v.read(GRAPHICS_DATA), 0xFF);
    assert_eq!(v.read(GRAPHICS_ADDRESS), 0x09);
}

#[test]
fn renders_a_prompt_and_ignores_attributes() {
    let mut page = page_with(0, b"A:\\>");
    page[1] = 0x00;
    page[3] = 0xFF;
    page[81 * 2] = b'x';
    page[81 * 2 + 1] = 0x70;
    let lines = render_lines(&page, 0);
    assert_eq!(lines.len(), ROWS);
    assert_eq!(lines[0], "A:\\>");
    assert_eq!(lines[1], " x");
    assert!(lines[2..].iter().all(String::is_empty));
    assert_eq!(&screen_text(&page, 0)[..8], "A:\\>\n x\n");
}

#[test]
fn cp437_glyphs_map_to_unicode() {
    let page = page_with(
        0,
        &[0xC9, 0xCD, 0xBB, 0x82, 0xDB, 0x01, 0x00, 0x7F, b'!', 0xFF],
    );
    let lines = render_lines(&page, 0);
    assert_eq!(lines[0], "╔═╗é█☺ ⌂!\u{A0}");
    assert_eq!(cp437_to_char(0xB3), '│');
    assert_eq!(cp437_to_char(0xC4), '─');
    assert_eq!(cp437_to_char(0x80), 'Ç');
    assert_eq!(cp437_to_char(0xE1), 'ß');
    assert_eq!(cp437_to_char(0x1A), '→');
    assert_eq!(cp437_to_char(0x0A), '◙');
    assert_eq!(cp437_to_char(0xFE), '■');
}

#[test]
fn start_address_scrolls_the_rendered_screen() {
    let page = page_with(80, b"second row");
    let lines = render_lines(&page, 80);
    assert_eq!(lines[0], "second row");
    // Mid-row start address.
    assert_eq!(render_lines(&page, 87)[0], "row");
}

#[test]
fn start_address_wraps_within_the_32k_window() {
    let cells = TEXT_PAGE_SIZE / 2;
    let mut page = page_with(cells - 2, b"ab");
    page[0] = b'c';
    assert_eq!(render_lines(&page, (cells - 2) as u16)[0], "abc");
    // A start address past the window wraps to the same place.
    assert_eq!(render_lines(&page, (2 * cells - 2) as u16)[0], "abc");
    assert_eq!(render_lines(&page, u16::MAX).len(), ROWS);
}

#[test]
fn short_page_renders_what_exists() {
    let page = page_with(0, b"hello");
    let lines = render_lines(&page[..6], 0);
    assert_eq!(lines[0], "hel");
    assert_eq!(lines.len(), ROWS);
    assert!(render_lines(&[], 1234).iter().all(String::is_empty));
    // Character byte present, attribute byte cut off.
    assert_eq!(render_lines(&page[..1], 0)[0], "h");
}

#[test]
fn random_register_traffic_never_panics_and_keeps_invariants() {
    let vga = Rc::new(RefCell::new(VgaText::new()));
    let mut ports: Box<dyn PortIoDevice> = Box::new(VgaPorts::new(VGA_PORT_BASE, vga.clone()));
    let mut rng = XorShift::per_run(
        "random_register_traffic_never_panics_and_keeps_invariants",
        0x9E37_79B9_7F4A_7C15,
    );
    let mut page = vec![0u8; TEXT_PAGE_SIZE];
    for _ in 0..50_000 {
        let r = rng.next();
        let value = (r >> 16) as u8;
        // Mostly inside the VGA's range, sometimes just outside it.
        let port = 0x3A8 + ((r >> 24) % 0x40) as u16;
        match r % 4 {
            0 => {
                vga.borrow_mut().write(port, value);
            }
            1 => {
                let got = vga.borrow_mut().read(port);
                if port == PEL_ADDRESS_READ_MODE {
                    assert!(got == DAC_STATE_READ || got == DAC_STATE_WRITE);
                }
                if port == ATTRIBUTE_ADDRESS {
                    assert_eq!(got & !(ATTR_ADDRESS_INDEX | ATTR_ADDRESS_PAS), 0);
                }
                if got & IS1_VERTICAL_RETRACE != 0
                    && (port == INPUT_STATUS_1_COLOR || port == INPUT_STATUS_1_MONO)
                {
                    assert_ne!(got & IS1_DISPLAY_DISABLED, 0);
                }
            }
            2 => {
                let size = [1u8, 2, 4, 3, 0, 8][((r >> 40) % 6) as usize];
                let offset = ((r >> 48) % 0x40) as u16;
                if r & (1 << 35) != 0 {
                    ports.write(offset, size, (r >> 8) as u32);
                } else {
                    let got = ports.read(offset, size);
                    if size == 1 {
                        assert!(got <= 0xFF);
                    }
                }
            }
            _ => {
                let at = ((r >> 8) as usize) % page.len();
                page[at] = value;
            }
        }
        let v = vga.borrow();
        if let Some((col, row)) = v.cursor() {
            assert!(usize::from(col) < COLUMNS && usize::from(row) < ROWS);
        }
        assert!(v
            .crtc
            .iter()
            .zip(CRTC_IMPLEMENTED)
            .all(|(r, m)| r & !m == 0));
        assert!(v
            .attr
            .iter()
            .zip(ATTR_IMPLEMENTED)
            .all(|(r, m)| r & !m == 0));
        assert!(v.dac.iter().flatten().all(|c| c & !DAC_COMPONENT_MASK == 0));
        assert!(v.dac_component < 3);
    }
    let start = vga.borrow().start_address();
    let lines = render_lines(&page, start);
    assert_eq!(lines.len(), ROWS);
    assert!(lines.iter().all(|l| l.chars().count() <= COLUMNS));
    let short = render_lines(&page[..(start as usize % 4001)], start);
    assert_eq!(short.len(), ROWS);
}
