//! Reading and writing characters at the cursor (AH=08h-0Ah).

use super::*;

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
