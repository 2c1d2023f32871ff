//! Font information (AH=11h), alternate select (AH=12h) and the display
//! combination code (AH=1Ah).

use super::*;

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
