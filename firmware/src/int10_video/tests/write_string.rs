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

/// The segment the wrap-around tests put their string in (linear 10000h-1FFFFh).
const STRING_SEGMENT: u16 = 0x1000;

/// Byte `offset` of [`STRING_SEGMENT`] in the wrap-around tests: printable,
/// never a teletype command, and not periodic in 80 columns.
fn segment_byte(offset: u16) -> u8 {
    0x20 + (offset % 0x5F) as u8
}

/// AH=13h in mode `al` with ES:BP = [`STRING_SEGMENT`]:`bp` (the whole
/// segment filled with [`segment_byte`]), CX = `cx`, at row 0 column 0 of
/// page 0 in attribute 1Eh.
fn write_segment_string(m: &mut Machine, al: u8, bp: u16, cx: u16) -> Regs {
    let base = u32::from(STRING_SEGMENT) << 4;
    let bytes: Vec<u8> = (0..=u16::MAX).map(segment_byte).collect();
    m.poke(base, &bytes);
    let mut regs = Regs {
        eax: 0x1300 | u32::from(al),
        ebx: 0x001E,
        ecx: cx.into(),
        edx: 0,
        ebp: 0xABCD_0000 | u32::from(bp),
        es: STRING_SEGMENT,
        ..Default::default()
    };
    m.int10(&mut regs);
    regs
}

/// Character `i` of an AH=13h string at BP in mode `al` and the attribute it
/// is written in: real-mode offsets wrap at 64 KiB inside ES (the IBM AT
/// listing's WRITE_STRING steps BP with INC BP, one byte at a time).
fn expected_cell(al: u8, bp: u16, i: u16) -> (u8, u8) {
    if al & 2 == 0 {
        (segment_byte(bp.wrapping_add(i)), 0x1E)
    } else {
        let at = bp.wrapping_add(i.wrapping_mul(2));
        (segment_byte(at), segment_byte(at.wrapping_add(1)))
    }
}

#[test]
fn write_string_wraps_es_bp_inside_the_segment_in_every_mode() {
    for al in 0..=3u8 {
        // BP=FFFFh: in modes 2 and 3 the first attribute is already at 0000h.
        for bp in [0xFFF0u16, 0xFFFF] {
            let mut m = Machine::new();
            let regs = write_segment_string(&mut m, al, bp, 32);
            assert_eq!(
                (regs.ax(), regs.bp(), regs.cx()),
                (0x1300 | u16::from(al), bp, 32)
            );
            for i in 0..32u16 {
                assert_eq!(
                    m.cell(0, i as u8, 0),
                    expected_cell(al, bp, i),
                    "AL={al} BP={bp:#06x} character {i}"
                );
            }
            assert_eq!(
                m.cell(0, 32, 0),
                (b' ', 0x07),
                "AL={al}: only CX characters"
            );
            let cursor = if al & 1 != 0 { (32, 0) } else { (0, 0) };
            assert_eq!(m.bda_cursor(0), cursor, "AL={al}");
        }
    }
}

#[test]
fn write_string_of_65535_characters_from_bp_near_ffffh_wraps_and_ends_in_every_mode() {
    const CX: u16 = 0xFFFF;
    // 65535 characters from row 0 column 0: 819 full rows, then 15 more on
    // the last row after the screen has scrolled.
    let full_rows = CX / u16::from(COLUMNS);
    let last_row_chars = CX % u16::from(COLUMNS);
    for al in 0..=3u8 {
        let bp = 0xFFF0;
        let mut m = Machine::new();
        write_segment_string(&mut m, al, bp, CX);
        // Row 24 holds the last 15 characters, row 23 the 80 before them.
        for column in 0..last_row_chars {
            let i = full_rows * u16::from(COLUMNS) + column;
            assert_eq!(
                m.cell(0, column as u8, 24),
                expected_cell(al, bp, i),
                "AL={al} row 24 column {column}"
            );
        }
        assert_eq!(m.cell(0, last_row_chars as u8, 24), (b' ', 0x07));
        for column in 0..COLUMNS {
            let i = (full_rows - 1) * u16::from(COLUMNS) + u16::from(column);
            assert_eq!(
                m.cell(0, column, 23),
                expected_cell(al, bp, i),
                "AL={al} row 23 column {column}"
            );
        }
        let cursor = if al & 1 != 0 {
            (last_row_chars as u8, 24)
        } else {
            (0, 0)
        };
        assert_eq!(m.bda_cursor(0), cursor, "AL={al}");
        let (column, row) = cursor;
        assert_eq!(
            m.pf.vga.cursor(),
            Some((column.into(), row.into())),
            "AL={al}"
        );
        // Bounded work: a cursor update per character and a scroll per row,
        // no more port writes than a small constant per character.
        assert!(
            m.pf.writes.len() <= 8 * usize::from(CX),
            "AL={al}: {} port writes",
            m.pf.writes.len()
        );
    }
}

#[test]
fn write_string_of_65535_line_feeds_scrolls_65535_times_and_ends() {
    // The worst case for work: every character scrolls the whole screen.
    let mut m = Machine::new();
    m.fill_rows();
    // ES = 2000h, all 64 KiB of it line feeds; BP=FFFFh wraps at once.
    m.poke(0x2_0000, &[b'\n'; 0x1_0000]);
    let mut regs = Regs {
        eax: 0x1301,
        ebx: 0x0007,
        ecx: 0xFFFF,
        edx: 0x1800,
        ebp: 0xFFFF,
        es: 0x2000,
        ..Default::default()
    };
    m.int10(&mut regs);
    assert!(m.screen().iter().all(|line| line.is_empty()));
    assert_eq!(m.bda_cursor(0), (0, 24));
}
