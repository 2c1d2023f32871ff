//! Palette registers, overscan, blink and the DAC (AH=10h).

use super::*;

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
