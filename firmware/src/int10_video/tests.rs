use super::*;
use crate::memory::VecMemory;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use device_model::vga_text::{render_lines, VgaText, TEXT_PAGE_SIZE};

const RAM_SIZE: usize = 1 << 20;
const TEXT_END: u32 = TEXT_BASE + PAGES as u32 * PAGE_BYTES as u32;
/// Where tests put strings and palette tables (0000:7000).
const BUFFER: u32 = 0x7000;

/// 1 MiB of guest RAM that fails the test on any write outside the text
/// pages and the video bytes of the BIOS data area (and the equipment word).
struct GuardedMemory(VecMemory);

fn write_allowed(addr: u32, len: usize) -> bool {
    let end = u64::from(addr) + len as u64;
    let inside = |lo: u32, hi: u32| u64::from(addr) >= u64::from(lo) && end <= u64::from(hi);
    inside(bda::EQUIPMENT, bda::EQUIPMENT + 2)
        || inside(bda::VIDEO_MODE, bda::MODESET_CONTROL + 1)
        || inside(TEXT_BASE, TEXT_END)
}

impl RealMemory for GuardedMemory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool {
        self.0.read(addr, buf)
    }
    fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        assert!(
            write_allowed(addr, data.len()),
            "write of {} bytes at {addr:#x}",
            data.len()
        );
        self.0.write(addr, data)
    }
}

/// The machine: the real VGA register model behind the ports, and a record
/// of every port write.
struct FakePlatform {
    vga: VgaText,
    writes: Vec<(u16, u8)>,
}

impl BiosPlatform for FakePlatform {
    fn port_in(&mut self, port: u16) -> u8 {
        self.vga.read(port)
    }
    fn port_out(&mut self, port: u16, value: u8) {
        self.writes.push((port, value));
        self.vga.write(port, value);
    }
    fn ram_size(&self) -> u64 {
        RAM_SIZE as u64
    }
    fn now_ns(&self) -> u64 {
        0
    }
}

struct Machine {
    mem: GuardedMemory,
    pf: FakePlatform,
}

impl Machine {
    /// A machine after POST's [`init_video`].
    fn new() -> Self {
        let mut m = Self::blank();
        init_video(&mut m.mem, &mut m.pf);
        m.pf.writes.clear();
        m
    }

    fn blank() -> Self {
        Self {
            mem: GuardedMemory(VecMemory(vec![0; RAM_SIZE])),
            pf: FakePlatform {
                vga: VgaText::new(),
                writes: Vec::new(),
            },
        }
    }

    fn int10(&mut self, regs: &mut Regs) {
        assert_eq!(int10(regs, &mut self.mem, &mut self.pf), Next::Return);
    }

    /// INT 10h with AX, BX, CX, DX; the registers after the call.
    fn call(&mut self, ax: u16, bx: u16, cx: u16, dx: u16) -> Regs {
        let mut regs = Regs {
            eax: ax.into(),
            ebx: bx.into(),
            ecx: cx.into(),
            edx: dx.into(),
            flags: 0x0202,
            ..Default::default()
        };
        self.int10(&mut regs);
        regs
    }

    fn tty(&mut self, text: &[u8]) {
        for &ch in text {
            self.call(u16::from(ch) | 0x0E00, 0x0000, 0, 0);
        }
    }

    fn ram(&self) -> &[u8] {
        &self.mem.0 .0
    }

    /// Puts bytes in RAM behind the guard (the guest's own data).
    fn poke(&mut self, addr: u32, data: &[u8]) {
        let a = addr as usize;
        self.mem.0 .0[a..a + data.len()].copy_from_slice(data);
    }

    fn cell(&self, page: u8, column: u8, row: u8) -> (u8, u8) {
        let a = cell_addr(page, cell_index(column, row)) as usize;
        (self.ram()[a], self.ram()[a + 1])
    }

    fn text_pages(&self) -> &[u8] {
        &self.ram()[TEXT_BASE as usize..TEXT_END as usize]
    }

    /// The screen as the emulated VGA shows it.
    fn screen(&self) -> Vec<String> {
        let page = &self.ram()[TEXT_BASE as usize..TEXT_BASE as usize + TEXT_PAGE_SIZE];
        render_lines(page, self.pf.vga.start_address())
    }

    fn bda_u8(&self, addr: u32) -> u8 {
        self.mem.read_u8(addr)
    }

    fn bda_u16(&self, addr: u32) -> u16 {
        self.mem.read_u16(addr)
    }

    /// Cursor of the active page from the BDA: (column, row).
    fn bda_cursor(&self, page: u8) -> (u8, u8) {
        let [c, r] = self
            .bda_u16(bda::CURSOR_POSITIONS + 2 * u32::from(page))
            .to_le_bytes();
        (c, r)
    }

    /// Fills every row with "row NN" in attribute 07h through teletype,
    /// leaving the cursor at the end of row 24.
    fn fill_rows(&mut self) {
        for row in 0..ROWS {
            let mut line = Vec::from(*b"row ");
            line.extend_from_slice(&[b'0' + row / 10, b'0' + row % 10]);
            if row + 1 < ROWS {
                line.extend_from_slice(b"\r\n");
            }
            self.tty(&line);
        }
    }
}

fn text_of(line: &str) -> String {
    String::from(line)
}

// ---------------------------------------------------------------------------
// POST and mode set.

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

// ---------------------------------------------------------------------------
// Teletype.

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

// ---------------------------------------------------------------------------
// Cursor.

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

// ---------------------------------------------------------------------------
// Pages.

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

// ---------------------------------------------------------------------------
// Scrolling.

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

// ---------------------------------------------------------------------------
// Characters.

#[test]
fn read_character_and_attribute_at_the_cursor() {
    let mut m = Machine::new();
    m.call(0x0600, 0x1700, 0, 0x184F);
    m.tty(b"hi");
    m.call(0x0200, 0, 0, 0x0001);
    let r = m.call(0x0800, 0x0000, 0, 0);
    assert_eq!((r.al(), r.ah()), (b'i', 0x17));
}

#[test]
fn write_char_and_attribute_with_count_leaves_the_cursor() {
    let mut m = Machine::new();
    m.call(0x0200, 0, 0, 0x004E);
    m.call(0x0978, 0x002F, 5, 0);
    assert_eq!(m.cell(0, 78, 0), (b'x', 0x2F));
    assert_eq!(m.cell(0, 79, 0), (b'x', 0x2F));
    assert_eq!(m.cell(0, 2, 1), (b'x', 0x2F));
    assert_eq!(m.cell(0, 3, 1), (b' ', 0x07));
    assert_eq!(m.bda_cursor(0), (78, 0));
}

#[test]
fn write_char_only_keeps_the_attributes() {
    let mut m = Machine::new();
    m.call(0x0600, 0x4100, 0, 0x184F);
    m.call(0x0A2A, 0x00FF, 3, 0);
    assert_eq!(m.cell(0, 2, 0), (b'*', 0x41));
    assert_eq!(m.cell(0, 3, 0), (b' ', 0x41));
    assert_eq!(m.bda_cursor(0), (0, 0));
}

// ---------------------------------------------------------------------------
// Write string.

fn write_string(m: &mut Machine, al: u8, bx: u16, dx: u16, bytes: &[u8], cx: u16) -> Regs {
    m.poke(BUFFER, bytes);
    let mut regs = Regs {
        eax: 0x1300 | u32::from(al),
        ebx: bx.into(),
        ecx: cx.into(),
        edx: dx.into(),
        ebp: BUFFER & 0xF,
        es: (BUFFER >> 4) as u16,
        ..Default::default()
    };
    m.int10(&mut regs);
    regs
}

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

// ---------------------------------------------------------------------------
// Palette, fonts, configuration.

#[test]
fn palette_registers_and_dac_round_trip_through_the_vga() {
    let mut m = Machine::new();
    m.call(0x1000, 0x2A05, 0, 0);
    assert_eq!(m.call(0x1007, 0x0005, 0, 0).bh(), 0x2A);
    m.call(0x1001, 0x0900, 0, 0);
    assert_eq!(m.call(0x1008, 0, 0, 0).bh(), 0x09);
    m.call(0x1010, 0x0040, 0x0203, 0x0100);
    assert_eq!(m.pf.vga.dac_color(0x40), [1, 2, 3]);
    let r = m.call(0x1015, 0x0040, 0, 0);
    assert_eq!((r.dh(), r.ch(), r.cl()), (1, 2, 3));
    assert!(m.pf.vga.display_enabled());
    m.call(0x1003, 0x0000, 0, 0);
    assert_eq!(m.bda_u8(bda::CRT_MODE_CONTROL) & 0x20, 0);
    m.call(0x1003, 0x0001, 0, 0);
    assert_eq!(m.bda_u8(bda::CRT_MODE_CONTROL) & 0x20, 0x20);
}

#[test]
fn palette_set_all_reads_17_bytes_from_es_dx() {
    let mut m = Machine::new();
    let table: Vec<u8> = (0x20..0x31).collect();
    m.poke(BUFFER, &table);
    let mut regs = Regs {
        eax: 0x1002,
        edx: BUFFER,
        ..Default::default()
    };
    m.int10(&mut regs);
    assert_eq!(m.call(0x1007, 0x000F, 0, 0).bh(), 0x2F);
    assert_eq!(m.call(0x1008, 0, 0, 0).bh(), 0x30);
}

#[test]
fn font_information_points_into_the_rom() {
    let mut m = Machine::new();
    let mut regs = Regs {
        eax: 0x1130,
        ebx: 0x0600,
        ..Default::default()
    };
    m.int10(&mut regs);
    assert_eq!((regs.es, regs.bp()), (FONT_SEGMENT, FONT_8X16_OFFSET));
    assert_eq!((regs.cx(), regs.dl()), (16, 24));
    regs.eax = 0x1130;
    regs.ebx = 0x0300;
    m.int10(&mut regs);
    assert_eq!((regs.es, regs.bp()), (0xF000, 0xFA6E));
}

#[test]
fn ega_information_reports_colour_256k_and_the_switches() {
    let mut m = Machine::new();
    let r = m.call(0x1200, 0xFF10, 0xFFFF, 0);
    assert_eq!((r.bh(), r.bl(), r.ch(), r.cl()), (0, 3, 0, 0x09));
}

#[test]
fn display_combination_is_vga_colour() {
    let mut m = Machine::new();
    let r = m.call(0x1A00, 0xFFFF, 0, 0);
    assert_eq!((r.al(), r.bl(), r.bh()), (0x1A, 0x08, 0x00));
}

#[test]
fn vbe_calls_report_not_supported() {
    let mut m = Machine::new();
    for ax in [0x4F00u16, 0x4F01, 0x4F02, 0x4F03, 0x4F15] {
        let r = m.call(ax, 0x4105, 0x0101, 0);
        assert_eq!((r.ax(), r.bx(), r.cx()), (ax, 0x4105, 0x0101));
        assert_ne!(r.al(), 0x4F);
    }
}

#[test]
fn unknown_functions_leave_registers_unchanged() {
    let mut m = Machine::new();
    for ax in [
        0x0400u16, 0x0C00, 0x1B00, 0x1C00, 0x1A02, 0x1100, 0x1201, 0xFE00, 0xFFFF,
    ] {
        let mut regs = Regs {
            eax: 0xDEAD_0000 | u32::from(ax),
            ebx: 0x1234_5678,
            ecx: 0x9ABC_DEF0,
            edx: 0x0F0F_0F0F,
            ebp: 0x1111_2222,
            es: 0x3333,
            flags: 0x0203,
            ..Default::default()
        };
        let before = regs;
        m.int10(&mut regs);
        assert_eq!(regs, before, "AX={ax:04X}");
    }
}

// ---------------------------------------------------------------------------
// Hostile inputs.

#[test]
fn absurd_page_numbers_stay_inside_the_text_pages() {
    let mut m = Machine::new();
    let r = m.call(0x05C8, 0, 0, 0);
    assert_eq!(r.ax(), 0x05C8);
    assert_eq!(m.bda_u8(bda::ACTIVE_PAGE), 0);
    // BH=200 names the active page.
    m.call(0x0E41, 0xC800, 0, 0);
    assert_eq!(m.cell(0, 0, 0).0, b'A');
    m.call(0x0200, 0xC800, 0, 0x0505);
    assert_eq!(m.bda_cursor(0), (5, 5));
    // A page byte the guest broke in the BDA counts as page 0.
    m.poke(bda::ACTIVE_PAGE, &[0xC8]);
    m.tty(b"B");
    assert_eq!(m.cell(0, 5, 5).0, b'B');
}

#[test]
fn huge_repeat_counts_stop_at_the_end_of_the_screen() {
    let mut m = Machine::new();
    m.call(0x0200, 0, 0, 0x1800);
    let page1_before: Vec<u8> = m.ram()[0xB8FA0..0xBA000].to_vec();
    m.call(0x0921, 0x0007, 0xFFFF, 0);
    m.call(0x0A21, 0x0000, 0xFFFF, 0);
    assert_eq!(m.ram()[0xB8FA0..0xBA000], page1_before[..]);
    assert_eq!(m.cell(0, 79, 24).0, b'!');
    assert_eq!(m.bda_cursor(0), (0, 24));
}

#[test]
fn reversed_or_off_screen_windows_change_nothing() {
    let mut m = Machine::new();
    m.fill_rows();
    let before: Vec<u8> = m.text_pages().to_vec();
    m.call(0x0601, 0x1F00, 0x0A0A, 0x0505); // corners reversed
    m.call(0x0701, 0x1F00, 0x0A00, 0x0550); // rows reversed
    m.call(0x0600, 0x1F00, 0x1950, 0xFFFF); // upper-left off the screen
    assert_eq!(m.text_pages(), &before[..]);
    // A lower-right corner past the screen is clamped to it.
    m.call(0x0600, 0x1F00, 0x1800, 0xFFFF);
    assert_eq!(m.cell(0, 79, 24), (b' ', 0x1F));
    assert_eq!(m.screen()[23], "row 23");
}

#[test]
fn write_string_of_65535_characters_stays_on_its_page() {
    let mut m = Machine::new();
    let page1_before: Vec<u8> = m.ram()[0xB9000..0xBA000].to_vec();
    write_string(&mut m, 1, 0x00FF, 0xFFFF, &[b'#'; 16], 0xFFFF);
    assert_eq!(m.ram()[0xB9000..0xBA000], page1_before[..]);
    assert!(m.bda_cursor(0).1 <= 24);
}

/// xorshift64: deterministic pseudo-random numbers for the stress test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_calls_stay_in_bounds_and_keep_the_crtc_in_step() {
    const FUNCTIONS: [u8; 24] = [
        0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0E, 0x0E, 0x0E, 0x0F, 0x10,
        0x11, 0x12, 0x13, 0x1A, 0x4F, 0x04, 0x1B, 0xEE, 0x0E,
    ];
    let mut m = Machine::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let pick = rng.next();
        let ah = FUNCTIONS[(pick % FUNCTIONS.len() as u64) as usize];
        let mut regs = Regs {
            eax: (rng.next() as u32 & 0xFFFF_00FF) | (u32::from(ah) << 8),
            ebx: rng.next() as u32,
            ecx: rng.next() as u32,
            edx: rng.next() as u32,
            ebp: rng.next() as u32,
            es: rng.next() as u16,
            flags: 0x0202,
            ..Default::default()
        };
        // Mostly valid subfunctions, so the calls reach the code behind them.
        let sub = (rng.next() % 8) as usize;
        if pick & 0x700 != 0 {
            match ah {
                FN_SET_MODE => regs.set_al(regs.al() & 0x87),
                FN_PALETTE => regs.set_al([0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x10, 0x15][sub]),
                FN_CHARACTER_GENERATOR => regs.set_al(0x30),
                FN_ALTERNATE_SELECT => {
                    regs.set_bl([0x10, 0x31, 0x33, 0x34][sub % 4]);
                    regs.set_al(regs.al() & 1);
                }
                FN_WRITE_STRING => regs.set_al(regs.al() & 3),
                _ => {}
            }
        }
        m.int10(&mut regs);
        let page = m.bda_u8(bda::ACTIVE_PAGE);
        assert!(page < PAGES);
        assert!(matches!(m.bda_u8(bda::VIDEO_MODE), 2 | 3));
        let (column, row) = m.bda_cursor(page);
        let expected = (u16::from(page) * 0x800)
            .wrapping_add(u16::from(row) * 80)
            .wrapping_add(u16::from(column));
        assert_eq!(m.pf.vga.cursor_location(), expected);
        assert_eq!(m.pf.vga.start_address(), u16::from(page) * 0x800);
        assert!(m.pf.vga.text_mode());
    }
}
