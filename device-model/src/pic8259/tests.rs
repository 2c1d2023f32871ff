//! Tests of `pic8259`.

use super::*;
use crate::bus::PortIoBus;
use alloc::boxed::Box;
use test_rng::XorShift;

/// OCW2 non-specific EOI as guests write it.
const EOI: u8 = 0x20;
/// OCW3: read IRR on the next command-port read.
const READ_IRR: u8 = 0x0A;
/// OCW3: read ISR on the next command-port read.
const READ_ISR: u8 = 0x0B;
/// OCW3: poll command.
const POLL: u8 = 0x0C;

/// ICW1-ICW4 for both chips, as Linux and SeaBIOS write them.
fn init(pic: &mut PicPair, master_base: u8, slave_base: u8, icw4: u8) {
    pic.write_port(MASTER_COMMAND, 0x11);
    pic.write_port(MASTER_DATA, master_base);
    pic.write_port(MASTER_DATA, 0x04);
    pic.write_port(MASTER_DATA, icw4);
    pic.write_port(SLAVE_COMMAND, 0x11);
    pic.write_port(SLAVE_DATA, slave_base);
    pic.write_port(SLAVE_DATA, 0x02);
    pic.write_port(SLAVE_DATA, icw4);
}

/// A pair initialized with vectors 20h/28h, everything unmasked.
fn linux() -> PicPair {
    let mut pic = PicPair::new();
    init(&mut pic, 0x20, 0x28, 0x01);
    pic
}

fn pulse(pic: &mut PicPair, irq: u8) {
    pic.set_irq(irq, true);
    pic.set_irq(irq, false);
}

fn isr(pic: &mut PicPair, command: u16) -> u8 {
    pic.write_port(command, READ_ISR);
    pic.read_port(command)
}

fn irr(pic: &mut PicPair, command: u16) -> u8 {
    pic.write_port(command, READ_IRR);
    pic.read_port(command)
}

#[test]
fn power_on_state_is_masked_and_quiet() {
    let mut pic = PicPair::default();
    pulse(&mut pic, 0);
    pulse(&mut pic, 12);
    assert!(!pic.has_interrupt());
    assert_eq!(pic.read_port(MASTER_DATA), 0xFF);
    assert_eq!(pic.read_port(SLAVE_DATA), 0xFF);
    assert_eq!(pic.read_port(ELCR1), 0);
    assert_eq!(pic.read_port(ELCR2), 0);
}

#[test]
fn linux_init_sequence_delivers_vectors_from_20h_and_28h() {
    let mut pic = PicPair::new();
    // Linux: probe by masking all and reading the mask back, then init.
    pic.write_port(MASTER_DATA, 0xFF);
    pic.write_port(SLAVE_DATA, 0xFF);
    assert_eq!(pic.read_port(MASTER_DATA), 0xFF);
    init(&mut pic, 0x20, 0x28, 0x01);
    assert_eq!(pic.read_port(MASTER_DATA), 0x00, "ICW1 clears the IMR");
    pic.write_port(MASTER_DATA, 0xFB);
    pic.write_port(SLAVE_DATA, 0xFF);
    pic.write_port(MASTER_DATA, 0xFA); // unmask the timer

    pulse(&mut pic, 0);
    assert!(pic.has_interrupt());
    assert_eq!(pic.acknowledge(), 0x20);
    assert!(!pic.has_interrupt());
    pic.write_port(MASTER_COMMAND, EOI);

    pic.write_port(SLAVE_DATA, 0xFE); // unmask the RTC
    pulse(&mut pic, 8);
    assert_eq!(pic.acknowledge(), 0x28);
    pic.write_port(SLAVE_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, EOI);
    assert!(!pic.has_interrupt());
}

#[test]
fn seabios_init_sequence_delivers_vectors_from_08h_and_70h() {
    let mut pic = PicPair::new();
    init(&mut pic, 0x08, 0x70, 0x01);
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x08);
    pic.write_port(MASTER_COMMAND, EOI);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x09);
    pic.write_port(MASTER_COMMAND, EOI);
    pulse(&mut pic, 14);
    assert_eq!(pic.acknowledge(), 0x76);
    pic.write_port(SLAVE_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, EOI);
    pulse(&mut pic, 15);
    assert_eq!(pic.acknowledge(), 0x77);
}

#[test]
fn icw2_low_three_bits_are_ignored() {
    let mut pic = PicPair::new();
    init(&mut pic, 0x27, 0x2F, 0x01);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21);
}

#[test]
fn lower_number_wins_between_simultaneous_requests() {
    let mut pic = linux();
    pic.set_irq(5, true);
    pic.set_irq(3, true);
    pic.set_irq(1, true);
    assert_eq!(pic.acknowledge(), 0x21);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x23);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x25);
}

#[test]
fn masked_request_waits_in_irr_until_unmasked() {
    let mut pic = linux();
    pic.write_port(MASTER_DATA, 1 << 4);
    pulse(&mut pic, 4);
    assert!(!pic.has_interrupt());
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 4);
    pic.write_port(MASTER_DATA, 0);
    assert!(pic.has_interrupt());
    assert_eq!(pic.acknowledge(), 0x24);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 0);
}

#[test]
fn eoi_gates_same_and_lower_priority_while_higher_nests() {
    let mut pic = linux();
    pulse(&mut pic, 3);
    assert_eq!(pic.acknowledge(), 0x23);
    pulse(&mut pic, 3);
    pulse(&mut pic, 5);
    assert!(!pic.has_interrupt(), "IR3 in service blocks IR3 and IR5");
    pulse(&mut pic, 1);
    assert!(pic.has_interrupt(), "IR1 nests");
    assert_eq!(pic.acknowledge(), 0x21);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0000_1010);
    pic.write_port(MASTER_COMMAND, EOI); // ends IR1
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0000_1000);
    assert!(!pic.has_interrupt());
    pic.write_port(MASTER_COMMAND, EOI); // ends IR3
    assert_eq!(pic.acknowledge(), 0x23);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x25);
}

#[test]
fn specific_eoi_ends_the_named_level() {
    let mut pic = linux();
    pulse(&mut pic, 3);
    assert_eq!(pic.acknowledge(), 0x23);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21);
    pic.write_port(MASTER_COMMAND, OCW2_SPECIFIC_EOI | 3);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 1);
    pic.write_port(MASTER_COMMAND, OCW2_SPECIFIC_EOI | 1);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
}

#[test]
fn rotate_on_nonspecific_eoi_makes_the_ended_level_lowest() {
    let mut pic = linux();
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x20);
    pic.write_port(MASTER_COMMAND, OCW2_ROTATE_NONSPECIFIC_EOI);
    pulse(&mut pic, 0);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21, "IR0 is now lowest, IR1 highest");
    pic.write_port(MASTER_COMMAND, OCW2_ROTATE_NONSPECIFIC_EOI);
    // IR1 lowest: IR2..IR7, IR0 outrank it.
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x20);
}

#[test]
fn set_priority_and_rotate_on_specific_eoi() {
    let mut pic = linux();
    pic.write_port(MASTER_COMMAND, OCW2_SET_PRIORITY | 4);
    pulse(&mut pic, 3);
    pulse(&mut pic, 6);
    assert_eq!(pic.acknowledge(), 0x26, "IR5 highest, so IR6 beats IR3");
    pic.write_port(MASTER_COMMAND, OCW2_ROTATE_SPECIFIC_EOI | 6);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
    pulse(&mut pic, 6);
    assert_eq!(pic.acknowledge(), 0x23, "IR6 is now lowest");
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x26);
}

#[test]
fn nonspecific_eoi_follows_the_rotated_priority() {
    let mut pic = linux();
    pic.write_port(MASTER_COMMAND, OCW2_SET_PRIORITY | 4); // IR5 highest
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21);
    pulse(&mut pic, 6);
    assert_eq!(pic.acknowledge(), 0x26, "IR6 outranks IR1 now");
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 1);
}

#[test]
fn aeoi_leaves_isr_clear_and_allows_immediate_redelivery() {
    let mut pic = PicPair::new();
    init(&mut pic, 0x20, 0x28, 0x03);
    pulse(&mut pic, 3);
    assert_eq!(pic.acknowledge(), 0x23);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
    pulse(&mut pic, 3);
    assert_eq!(pic.acknowledge(), 0x23);
    pulse(&mut pic, 12);
    assert_eq!(pic.acknowledge(), 0x2C);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
    assert_eq!(isr(&mut pic, SLAVE_COMMAND), 0);
}

#[test]
fn rotate_in_aeoi_mode_rotates_on_each_acknowledge() {
    let mut pic = PicPair::new();
    init(&mut pic, 0x20, 0x28, 0x03);
    pic.write_port(MASTER_COMMAND, OCW2_ROTATE_AEOI_SET);
    pulse(&mut pic, 0);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x20);
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x21, "IR0 became lowest");
    assert_eq!(pic.acknowledge(), 0x20);
    pic.write_port(MASTER_COMMAND, OCW2_ROTATE_AEOI_CLEAR);
    pulse(&mut pic, 0);
    pulse(&mut pic, 1);
    // IR0 lowest since the last rotation; without rotation it stays so.
    assert_eq!(pic.acknowledge(), 0x21);
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21);
    assert_eq!(pic.acknowledge(), 0x20);
}

#[test]
fn slave_in_aeoi_delivers_its_next_request_through_the_cascade() {
    let mut pic = linux();
    pic.write_port(SLAVE_COMMAND, 0x11);
    pic.write_port(SLAVE_DATA, 0x28);
    pic.write_port(SLAVE_DATA, 0x02);
    pic.write_port(SLAVE_DATA, 0x03);
    pic.set_irq(8, true);
    pic.set_irq(12, true);
    assert_eq!(pic.acknowledge(), 0x28);
    pic.write_port(MASTER_COMMAND, EOI);
    assert!(pic.has_interrupt());
    assert_eq!(pic.acknowledge(), 0x2C);
}

#[test]
fn poll_command_acknowledges_on_the_next_read() {
    let mut pic = linux();
    pulse(&mut pic, 5);
    pulse(&mut pic, 6);
    pic.write_port(MASTER_COMMAND, POLL);
    assert_eq!(pic.read_port(MASTER_COMMAND), 0x80 | 5);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 5);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
    pic.write_port(MASTER_COMMAND, POLL);
    assert_eq!(pic.read_port(MASTER_DATA), 0, "IR6 is below IR5 in service");
    assert_eq!(pic.read_port(MASTER_DATA), 0, "only one read is the poll");
    pic.write_port(MASTER_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, POLL);
    assert_eq!(pic.read_port(MASTER_DATA), 0x80 | 6);
}

#[test]
fn poll_of_the_slave_acknowledges_its_request() {
    let mut pic = linux();
    pulse(&mut pic, 14);
    pic.write_port(MASTER_COMMAND, POLL);
    assert_eq!(pic.read_port(MASTER_COMMAND), 0x80 | 2);
    pic.write_port(SLAVE_COMMAND, POLL);
    assert_eq!(pic.read_port(SLAVE_COMMAND), 0x80 | 6);
    assert_eq!(isr(&mut pic, SLAVE_COMMAND), 1 << 6);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 2);
    assert!(!pic.has_interrupt());
}

#[test]
fn special_mask_mode_lets_lower_levels_through() {
    let mut pic = linux();
    pulse(&mut pic, 3);
    assert_eq!(pic.acknowledge(), 0x23);
    pulse(&mut pic, 5);
    assert!(!pic.has_interrupt());
    pic.write_port(MASTER_DATA, 1 << 3);
    pic.write_port(MASTER_COMMAND, 0x68); // ESMM | SMM: set special mask
    assert!(pic.has_interrupt());
    assert_eq!(pic.acknowledge(), 0x25);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0010_1000);
    // The masked IR3 is not ended by a non-specific EOI.
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 3);
    pic.write_port(MASTER_COMMAND, 0x48); // ESMM: reset special mask
    pic.write_port(MASTER_DATA, 0);
    pulse(&mut pic, 5);
    assert!(!pic.has_interrupt(), "normal nesting again");
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x25);
}

#[test]
fn slave_irq14_goes_through_the_cascade_and_needs_two_eois() {
    let mut pic = linux();
    pulse(&mut pic, 14);
    assert!(pic.has_interrupt());
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 2);
    assert_eq!(pic.acknowledge(), 0x2E);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 2);
    assert_eq!(isr(&mut pic, SLAVE_COMMAND), 1 << 6);
    pulse(&mut pic, 15);
    pulse(&mut pic, 3);
    assert!(
        !pic.has_interrupt(),
        "IR2 in service blocks IR3 and the slave"
    );
    pic.write_port(SLAVE_COMMAND, EOI);
    assert!(!pic.has_interrupt());
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x2F, "IR2 outranks IR3");
    pic.write_port(SLAVE_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x23);
}

#[test]
fn higher_slave_level_nests_only_in_special_fully_nested_mode() {
    for sfnm in [false, true] {
        let mut pic = PicPair::new();
        init(&mut pic, 0x20, 0x28, 0x01);
        if sfnm {
            pic.write_port(MASTER_COMMAND, 0x11);
            pic.write_port(MASTER_DATA, 0x20);
            pic.write_port(MASTER_DATA, 0x04);
            pic.write_port(MASTER_DATA, 0x11);
        }
        pulse(&mut pic, 14);
        assert_eq!(pic.acknowledge(), 0x2E);
        pulse(&mut pic, 9);
        assert_eq!(pic.has_interrupt(), sfnm);
        if sfnm {
            assert_eq!(pic.acknowledge(), 0x29);
        }
        pulse(&mut pic, 4);
        assert!(!pic.has_interrupt(), "IR2 in service still blocks IR4");
    }
}

#[test]
fn edge_line_latches_once_per_rising_edge() {
    let mut pic = linux();
    pic.set_irq(4, true);
    assert_eq!(pic.acknowledge(), 0x24);
    pic.write_port(MASTER_COMMAND, EOI);
    pic.set_irq(4, true);
    assert!(!pic.has_interrupt(), "still high: no new edge");
    pic.set_irq(4, false);
    assert!(!pic.has_interrupt());
    pic.set_irq(4, true);
    assert_eq!(pic.acknowledge(), 0x24);
}

#[test]
fn edge_request_stays_latched_after_the_line_falls() {
    let mut pic = linux();
    pulse(&mut pic, 6);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
    assert_eq!(pic.acknowledge(), 0x26);
}

#[test]
fn level_line_irr_follows_the_line_and_redelivers_after_eoi() {
    let mut pic = linux();
    pic.write_port(ELCR2, 1 << 2); // IRQ10 level
    pic.set_irq(10, true);
    assert_eq!(pic.acknowledge(), 0x2A);
    assert_eq!(irr(&mut pic, SLAVE_COMMAND), 1 << 2, "IRR stays while high");
    pic.write_port(SLAVE_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x2A, "still high: delivered again");
    pic.set_irq(10, false);
    assert_eq!(irr(&mut pic, SLAVE_COMMAND), 0);
    pic.write_port(SLAVE_COMMAND, EOI);
    pic.write_port(MASTER_COMMAND, EOI);
    assert!(!pic.has_interrupt());
}

#[test]
fn elcr_change_applies_to_a_line_already_high() {
    let mut pic = linux();
    pic.write_port(MASTER_DATA, 1 << 5);
    pic.set_irq(5, true);
    pic.write_port(ELCR1, 1 << 5);
    pic.set_irq(5, false);
    assert_eq!(
        irr(&mut pic, MASTER_COMMAND),
        0,
        "level: IRR dropped with the line"
    );
    pic.set_irq(5, true);
    pic.write_port(ELCR1, 0);
    pic.set_irq(5, false);
    assert_eq!(
        irr(&mut pic, MASTER_COMMAND),
        1 << 5,
        "edge: IRR stays latched"
    );
}

#[test]
fn switching_to_level_requests_for_a_line_already_high() {
    let mut pic = linux();
    pic.set_irq(6, true);
    assert_eq!(pic.acknowledge(), 0x26);
    pic.write_port(MASTER_COMMAND, EOI);
    assert!(!pic.has_interrupt(), "edge: served, no new edge");
    pic.write_port(ELCR1, 1 << 6);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
    assert_eq!(pic.acknowledge(), 0x26);
}

#[test]
fn icw1_ltim_makes_every_line_level_triggered() {
    let mut pic = PicPair::new();
    pic.write_port(MASTER_COMMAND, 0x19);
    pic.write_port(MASTER_DATA, 0x20);
    pic.write_port(MASTER_DATA, 0x04);
    pic.write_port(MASTER_DATA, 0x01);
    pic.set_irq(3, true);
    assert_eq!(pic.acknowledge(), 0x23);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 3);
    pic.set_irq(3, false);
    assert_eq!(irr(&mut pic, MASTER_COMMAND), 0);
    assert_eq!(pic.read_port(ELCR1), 0, "LTIM does not show in the ELCR");
}

#[test]
fn icw1_resets_the_edge_sense_circuit() {
    let mut pic = linux();
    pic.write_port(MASTER_DATA, 0xFF);
    pic.set_irq(6, true);
    init(&mut pic, 0x20, 0x28, 0x01);
    assert!(!pic.has_interrupt(), "the latched edge is gone");
    pic.set_irq(6, true);
    assert!(!pic.has_interrupt(), "a line held high needs a new edge");
    pulse(&mut pic, 6);
    pic.set_irq(6, true);
    assert_eq!(pic.acknowledge(), 0x26);
}

#[test]
fn level_drop_before_acknowledge_gives_spurious_irq7() {
    let mut pic = linux();
    pic.write_port(ELCR1, 1 << 5);
    pic.set_irq(5, true);
    assert!(pic.has_interrupt());
    pic.set_irq(5, false);
    assert_eq!(pic.acknowledge(), 0x27);
    assert_eq!(
        isr(&mut pic, MASTER_COMMAND),
        0,
        "spurious IR7 sets no ISR bit"
    );
    assert_eq!(pic.acknowledge(), 0x27, "nothing pending at all");
}

#[test]
fn slave_request_gone_before_acknowledge_gives_spurious_irq15() {
    let mut pic = linux();
    pic.write_port(ELCR2, 1 << 3); // IRQ11 level
    pic.set_irq(11, true);
    assert!(pic.has_interrupt());
    pic.set_irq(11, false);
    assert!(pic.has_interrupt(), "IR2's edge is latched at the master");
    assert_eq!(pic.acknowledge(), 0x2F);
    assert_eq!(isr(&mut pic, SLAVE_COMMAND), 0);
    assert_eq!(
        isr(&mut pic, MASTER_COMMAND),
        1 << 2,
        "the master did take IR2"
    );
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
}

#[test]
fn ocw3_selects_irr_or_isr_until_changed() {
    let mut pic = linux();
    pulse(&mut pic, 1);
    pulse(&mut pic, 4);
    assert_eq!(pic.read_port(MASTER_COMMAND), 0b0001_0010, "IRR after init");
    assert_eq!(pic.acknowledge(), 0x21);
    pic.write_port(MASTER_COMMAND, READ_ISR);
    assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 1);
    pic.write_port(MASTER_COMMAND, 0x09); // RR = 0: selection unchanged
    assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 1);
    pic.write_port(MASTER_COMMAND, READ_IRR);
    assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 4);
    assert_eq!(pic.read_port(MASTER_DATA), 0, "data port reads the IMR");
}

#[test]
fn elcr_bits_for_irq_0_1_2_8_13_read_zero() {
    let mut pic = PicPair::new();
    pic.write_port(ELCR1, 0xFF);
    pic.write_port(ELCR2, 0xFF);
    assert_eq!(pic.read_port(ELCR1), 0xF8);
    assert_eq!(pic.read_port(ELCR2), 0xDE);
    init(&mut pic, 0x20, 0x28, 0x01);
    assert_eq!(pic.read_port(ELCR1), 0xF8, "ICW1 leaves the ELCR alone");
}

#[test]
fn single_mode_and_no_icw4_shorten_the_sequence() {
    let mut pic = PicPair::new();
    pic.write_port(MASTER_COMMAND, 0x13); // SNGL, IC4
    pic.write_port(MASTER_DATA, 0x40);
    pic.write_port(MASTER_DATA, 0x03); // ICW4: 8086, AEOI
    pic.write_port(MASTER_DATA, 0xFE); // OCW1
    assert_eq!(pic.read_port(MASTER_DATA), 0xFE);
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x40);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 0, "AEOI from ICW4");

    pic.write_port(MASTER_COMMAND, 0x10); // cascade, no ICW4
    pic.write_port(MASTER_DATA, 0x50);
    pic.write_port(MASTER_DATA, 0x04);
    pic.write_port(MASTER_DATA, 0x02); // OCW1
    assert_eq!(pic.read_port(MASTER_DATA), 0x02);
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x50);
    assert_eq!(isr(&mut pic, MASTER_COMMAND), 1, "no ICW4: AEOI off");
}

#[test]
fn irq2_and_out_of_range_lines_are_ignored() {
    let mut pic = linux();
    pulse(&mut pic, 2);
    pulse(&mut pic, 16);
    pulse(&mut pic, 255);
    assert!(!pic.has_interrupt());
}

#[test]
fn other_ports_read_all_ones_and_drop_writes() {
    let mut pic = linux();
    for port in [0x22, 0x9F, 0xA2, 0x4CF, 0x4D2] {
        pic.write_port(port, 0x11);
        assert_eq!(pic.read_port(port), 0xFF);
    }
    pulse(&mut pic, 0);
    assert_eq!(pic.acknowledge(), 0x20);
}

#[test]
fn port_ranges_share_one_pair_on_the_bus() {
    let pic = Rc::new(RefCell::new(PicPair::new()));
    let mut bus = PortIoBus::default();
    for (base, len) in PIC_PORT_RANGES {
        bus.register(base, len, Box::new(PicPorts::new(base, pic.clone())))
            .unwrap();
    }
    for (port, value) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] {
        bus.write(port, 1, value);
    }
    for (port, value) in [(0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01)] {
        bus.write(port, 1, value);
    }
    bus.write(0x4D0, 2, 0xFFFF);
    assert_eq!(bus.read(0x4D0, 2), 0xDEF8);
    bus.write(0x4D0, 2, 0);
    bus.write(0x20, 2, 0xFB0A); // OCW3 read IRR, then IMR = FBh
    assert_eq!(bus.read(0x20, 2), 0xFB00);

    let line = PicIrqLine::new(pic.clone(), 9);
    bus.write(0xA1, 1, 0);
    line.set_level(true);
    line.set_level(false);
    assert!(pic.borrow().has_interrupt());
    assert_eq!(pic.borrow_mut().acknowledge(), 0x71);
    assert_eq!(bus.read(0xA0, 1), 0);
    bus.write(0xA0, 1, 0x0B);
    assert_eq!(bus.read(0xA0, 1), 1 << 1);
}

/// Random line changes, acknowledges, EOIs, masks, ELCR writes, polls
/// and re-initializations, checked against what the guest can observe:
/// vectors come from the programmed bases, masked levels are never
/// delivered, an acknowledge without INT is the spurious IR7, non-AEOI
/// deliveries show in ISR, level-triggered IRR equals the line, and the
/// hard-wired ELCR bits stay zero.
#[test]
fn random_access_keeps_the_observable_invariants() {
    let mut rng = XorShift::per_run(
        "random_access_keeps_the_observable_invariants",
        0x8259_8259_DEAD_BEEF,
    );
    let mut pic = PicPair::new();
    let (mut mbase, mut sbase, mut aeoi) = (0x20u8, 0x28u8, false);
    init(&mut pic, mbase, sbase, 0x01);
    let mut lines = 0u16;
    let mut imr = [0u8; 2];
    let mut elcr = [0u8; 2];

    for step in 0..200_000 {
        match rng.below(16) {
            0..=4 => {
                let irq = rng.below(20) as u8;
                let high = rng.below(2) == 0;
                pic.set_irq(irq, high);
                if irq < 16 && irq != 2 {
                    lines = (lines & !(1 << irq)) | (u16::from(high) << irq);
                }
            }
            5..=7 => {
                let int = pic.has_interrupt();
                let isr_before = [isr(&mut pic, MASTER_COMMAND), isr(&mut pic, SLAVE_COMMAND)];
                let vector = pic.acknowledge();
                let isr_after = [isr(&mut pic, MASTER_COMMAND), isr(&mut pic, SLAVE_COMMAND)];
                let ir = vector & 7;
                if !int {
                    assert_eq!(vector, mbase | 7, "step {step}");
                    assert_eq!(isr_before, isr_after, "step {step}");
                } else if vector & 0xF8 == mbase && ir != 2 {
                    assert_eq!(imr[0] & (1 << ir), 0, "step {step}: masked IR delivered");
                    assert_eq!(isr_after[0] & (1 << ir) != 0, !aeoi, "step {step}");
                } else {
                    assert_eq!(vector & 0xF8, sbase, "step {step}");
                    assert_eq!(imr[0] & (1 << 2), 0, "step {step}: masked cascade");
                    assert_eq!(isr_after[0] & (1 << 2) != 0, !aeoi, "step {step}");
                    let taken = isr_after[1] & !isr_before[1] & (1 << ir) != 0;
                    if ir != 7 || taken {
                        // A real delivery, not the slave's spurious IR7.
                        assert_eq!(imr[1] & (1 << ir), 0, "step {step}: masked slave IR");
                        assert_eq!(taken, !aeoi, "step {step}");
                    }
                }
            }
            8 | 9 => {
                let command = [MASTER_COMMAND, SLAVE_COMMAND][rng.below(2) as usize];
                let ocw2 = [EOI, 0x60 | (rng.byte() & 7), 0xA0, 0xC0 | (rng.byte() & 7)];
                pic.write_port(command, ocw2[rng.below(4) as usize]);
            }
            10 => {
                let chip = rng.below(2) as usize;
                imr[chip] = rng.byte() & rng.byte();
                pic.write_port([MASTER_DATA, SLAVE_DATA][chip], imr[chip]);
            }
            11 => {
                let chip = rng.below(2) as usize;
                pic.write_port([ELCR1, ELCR2][chip], rng.byte());
                elcr[chip] = pic.read_port([ELCR1, ELCR2][chip]);
            }
            12 => {
                let chip = rng.below(2) as usize;
                let (command, data) =
                    [(MASTER_COMMAND, MASTER_DATA), (SLAVE_COMMAND, SLAVE_DATA)][chip];
                pic.write_port(command, POLL);
                let word = pic.read_port(data);
                assert_eq!(word & 0x78, 0, "step {step}: poll word {word:#x}");
            }
            13 => {
                let chip = rng.below(2) as usize;
                let command = [MASTER_COMMAND, SLAVE_COMMAND][chip];
                let smm = [0x48, 0x68][rng.below(2) as usize];
                pic.write_port(command, smm);
            }
            14 => {
                if rng.below(50) == 0 {
                    mbase = rng.byte() & 0xF8;
                    sbase = mbase.wrapping_add(8);
                    aeoi = rng.below(2) == 0;
                    init(&mut pic, mbase, sbase, if aeoi { 0x03 } else { 0x01 });
                    imr = [0; 2];
                }
            }
            _ => {
                let command = [MASTER_COMMAND, SLAVE_COMMAND][rng.below(2) as usize];
                let _ = pic.read_port(command);
            }
        }

        let levels = [
            irr(&mut pic, MASTER_COMMAND) & elcr[0],
            irr(&mut pic, SLAVE_COMMAND) & elcr[1],
        ];
        assert_eq!(levels[0], (lines as u8) & elcr[0], "step {step}");
        assert_eq!(levels[1], (lines >> 8) as u8 & elcr[1], "step {step}");
        assert_eq!(pic.read_port(ELCR1) & !ELCR1_WRITABLE, 0);
        assert_eq!(pic.read_port(ELCR2) & !ELCR2_WRITABLE, 0);
    }
}

/// Any byte to any of the pair's ports, interleaved with line changes and
/// acknowledges, never panics and only yields vectors from a base.
#[test]
fn random_port_garbage_never_panics() {
    let mut rng = XorShift::per_run("random_port_garbage_never_panics", 0x0123_4567_89AB_CDEF);
    let mut pic = PicPair::new();
    let ports = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x22, 0xFFFF];
    for _ in 0..200_000 {
        match rng.below(4) {
            0 => pic.write_port(ports[rng.below(8) as usize], rng.byte()),
            1 => {
                let _ = pic.read_port(ports[rng.below(8) as usize]);
            }
            2 => pic.set_irq(rng.byte() & 0x1F, rng.below(2) == 0),
            _ => {
                let _ = pic.has_interrupt();
                let _ = pic.acknowledge();
            }
        }
    }
}

#[test]
fn every_input_masked_sees_through_the_cascade() {
    let mut pic = PicPair::new();
    assert!(pic.every_input_masked(), "power-on: all masked");
    for (port, value) in [(0x20u16, 0x11u8), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] {
        pic.write_port(port, value);
    }
    for (port, value) in [(0xA0u16, 0x11u8), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01)] {
        pic.write_port(port, value);
    }
    pic.write_port(0x21, 0xFF);
    pic.write_port(0xA1, 0x00);
    assert!(pic.every_input_masked(), "master masks the cascade too");
    pic.write_port(0x21, 0xFB);
    assert!(!pic.every_input_masked(), "cascade open, slave lines open");
    pic.write_port(0xA1, 0xFF);
    assert!(
        pic.every_input_masked(),
        "cascade open, every slave line masked"
    );
    pic.write_port(0x21, 0xFE);
    assert!(!pic.every_input_masked(), "IRQ0 open");
}

#[test]
fn registers_report_both_chips_without_changing_what_the_guest_reads() {
    let mut pic = linux();
    pic.write_port(SLAVE_DATA, 0xFE); // only IRQ8 open on the slave
    pulse(&mut pic, 8);
    pulse(&mut pic, 9); // masked: waits in the slave's IRR
    pulse(&mut pic, 1);
    assert_eq!(pic.acknowledge(), 0x21);
    pic.write_port(MASTER_COMMAND, READ_ISR);
    let [master, slave] = pic.registers();
    assert_eq!(
        master,
        PicRegisters {
            irr: 0x04,
            imr: 0x00,
            isr: 0x02
        }
    );
    assert_eq!(
        slave,
        PicRegisters {
            irr: 0x03,
            imr: 0xFE,
            isr: 0x00
        }
    );
    // The guest's OCW3 choice (ISR) still holds, and nothing was acknowledged.
    assert_eq!(pic.read_port(MASTER_COMMAND), 0x02);
    pic.write_port(MASTER_COMMAND, EOI);
    assert_eq!(pic.acknowledge(), 0x28);
}
