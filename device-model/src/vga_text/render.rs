//! The renderer: the text page in guest memory, as the VGA's ROM font
//! draws it, turned into Unicode lines for a terminal. Attributes are
//! ignored.

use super::{COLUMNS, ROWS, TEXT_PAGE_SIZE};
use alloc::string::String;
use alloc::vec::Vec;

/// Code page 437 glyphs for 01h-1Fh, as the VGA's ROM font draws them.
const CP437_CONTROL: [char; 32] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼', //
    '►', '◄', '↕', '‼', '¶', '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼', //
];

/// Code page 437 glyphs for 80h-FFh.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{A0}',
];

/// The Unicode character the VGA shows for code page 437 byte `byte`; 00h
/// (an empty cell) is a space.
pub fn cp437_to_char(byte: u8) -> char {
    match byte {
        0x00..=0x1F => CP437_CONTROL.get(usize::from(byte)).copied().unwrap_or(' '),
        0x20..=0x7E => char::from(byte),
        0x7F => '⌂',
        _ => CP437_HIGH
            .get(usize::from(byte - 0x80))
            .copied()
            .unwrap_or(' '),
    }
}

/// The 25 rows of an 80x25 text page as Unicode, trailing spaces trimmed.
///
/// `page` is guest memory from [`TEXT_PAGE_ADDR`](super::TEXT_PAGE_ADDR) on
/// (normally 32 KiB); each cell is a (character, attribute) byte pair and
/// attributes are ignored. The screen starts at cell `start_address` (the CRTC
/// Start Address) and wraps within the 32 KiB window; cells beyond the end of
/// a short `page` are spaces.
pub fn render_lines(page: &[u8], start_address: u16) -> Vec<String> {
    let start = usize::from(start_address) * 2;
    (0..ROWS)
        .map(|row| {
            let mut line: String = (0..COLUMNS)
                .map(|col| {
                    let offset = (start + (row * COLUMNS + col) * 2) % TEXT_PAGE_SIZE;
                    page.get(offset).map_or(' ', |&b| cp437_to_char(b))
                })
                .collect();
            line.truncate(line.trim_end_matches(' ').len());
            line
        })
        .collect()
}

/// The text page as one string: [`render_lines`] joined with '\n'.
pub fn screen_text(page: &[u8], start_address: u16) -> String {
    render_lines(page, start_address).join("\n")
}
