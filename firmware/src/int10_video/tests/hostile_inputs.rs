//! Register values no well-behaved guest passes: every write stays in the
//! text pages and the video bytes of the BIOS data area, and the CRTC stays
//! in step with the BIOS data area.

use super::*;

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

#[test]
fn random_calls_stay_in_bounds_and_keep_the_crtc_in_step() {
    const FUNCTIONS: [u8; 24] = [
        0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0E, 0x0E, 0x0E, 0x0F, 0x10,
        0x11, 0x12, 0x13, 0x1A, 0x4F, 0x04, 0x1B, 0xEE, 0x0E,
    ];
    let mut m = Machine::new();
    let mut rng = test_rng::XorShift::per_run(
        "random_calls_stay_in_bounds_and_keep_the_crtc_in_step",
        0x9E37_79B9_7F4A_7C15,
    );
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
