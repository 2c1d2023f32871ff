//! Tests of `ioapic`.

use super::registers::{
    DELIVERY_STATUS, DEST_LOGICAL, MASK, POLARITY_LOW, REMOTE_IRR, TRIGGER_LEVEL,
};
use super::*;
use crate::mmio_bus::MmioBus;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Selects register `index` and reads it through IOWIN.
fn read_reg(io: &mut IoApic, index: u8) -> u32 {
    io.write(IOREGSEL, 4, u64::from(index));
    io.read(IOWIN, 4) as u32
}

/// Selects register `index` and writes `value` through IOWIN.
fn write_reg(io: &mut IoApic, index: u8, value: u32) {
    io.write(IOREGSEL, 4, u64::from(index));
    io.write(IOWIN, 4, u64::from(value));
}

/// Programs `pin`'s entry as the guest does: high dword, then low.
fn program(io: &mut IoApic, pin: u8, low: u32, destination: u8) {
    write_reg(io, 0x11 + 2 * pin, u32::from(destination) << 24);
    write_reg(io, 0x10 + 2 * pin, low);
}

fn entry(io: &mut IoApic, pin: u8) -> u64 {
    let low = read_reg(io, 0x10 + 2 * pin);
    let high = read_reg(io, 0x11 + 2 * pin);
    u64::from(low) | (u64::from(high) << 32)
}

fn drain(io: &mut IoApic) -> Vec<ApicMessage> {
    core::iter::from_fn(|| io.take_message()).collect()
}

const LEVEL: u32 = TRIGGER_LEVEL as u32;
const MASKED: u32 = MASK as u32;

fn fixed(vector: u8, destination: u8, pin: u8, level_triggered: bool) -> ApicMessage {
    ApicMessage {
        destination,
        logical: false,
        mode: IoApicDeliveryMode::Fixed,
        vector,
        level_triggered,
        pin,
    }
}

#[test]
fn id_version_and_arbitration_registers() {
    let mut io = IoApic::new(2);
    assert_eq!(read_reg(&mut io, 0x00), 2 << 24);
    assert_eq!(read_reg(&mut io, 0x01), 0x0017_0020);
    assert_eq!(read_reg(&mut io, 0x02), 2 << 24);

    // Only bits 27:24 of the ID are writable; version and arbitration are read-only.
    write_reg(&mut io, 0x00, 0xFFFF_FFFF);
    assert_eq!(read_reg(&mut io, 0x00), 0x0F00_0000);
    assert_eq!(io.id(), 0xF);
    write_reg(&mut io, 0x01, 0);
    write_reg(&mut io, 0x02, 0);
    assert_eq!(read_reg(&mut io, 0x01), 0x0017_0020);
    assert_eq!(
        read_reg(&mut io, 0x02),
        0x0F00_0000,
        "arbitration reads the ID"
    );

    io.reset();
    assert_eq!(
        read_reg(&mut io, 0x00),
        2 << 24,
        "reset restores the board's ID"
    );
    assert_eq!(IoApic::new(0x35).id(), 5, "the ID is 4 bits wide");
}

#[test]
fn ioregsel_reads_back_and_unknown_registers_read_zero() {
    let mut io = IoApic::new(0);
    io.write(IOREGSEL, 4, 0x1234_5611);
    assert_eq!(io.read(IOREGSEL, 4), 0x11, "only bits 7:0 are the index");
    io.write(IOREGSEL, 1, 0x03);
    assert_eq!(io.read(IOREGSEL, 1), 0x03);
    for index in [0x03u8, 0x0F, 0x40, 0x41, 0x80, 0xFF] {
        write_reg(&mut io, index, 0xFFFF_FFFF);
        assert_eq!(read_reg(&mut io, index), 0, "register {index:#x}");
    }
}

#[test]
fn redirection_entries_reset_masked_and_keep_only_their_fields() {
    let mut io = IoApic::new(0);
    for pin in 0..IOAPIC_PINS {
        assert_eq!(entry(&mut io, pin), MASK, "pin {pin}");
        assert_eq!(io.redirection_entry(pin), Some(MASK));
    }
    assert_eq!(io.redirection_entry(24), None);

    write_reg(&mut io, 0x10 + 2 * 5, 0xFFFF_FFFF);
    write_reg(&mut io, 0x11 + 2 * 5, 0xFFFF_FFFF);
    // Reserved 55:17 and read-only delivery status / remote IRR read 0.
    assert_eq!(
        entry(&mut io, 5),
        0xFF00_0000_0001_AFFF,
        "vector, mode, dest mode, polarity, trigger, mask, destination"
    );
    assert_eq!(entry(&mut io, 5) & (DELIVERY_STATUS | REMOTE_IRR), 0);
    // The high dword alone leaves the low one alone and vice versa.
    write_reg(&mut io, 0x11 + 2 * 5, 0x0300_0000);
    assert_eq!(entry(&mut io, 5), 0x0300_0000_0001_AFFF);
    write_reg(&mut io, 0x10 + 2 * 5, 0x0001_0031);
    assert_eq!(entry(&mut io, 5), 0x0300_0000_0001_0031);
    // Other entries are untouched.
    assert_eq!(entry(&mut io, 4), MASK);
    assert_eq!(entry(&mut io, 6), MASK);

    io.reset();
    assert_eq!(entry(&mut io, 5), MASK);
}

#[test]
fn reset_masks_everything_and_empties_the_queue_but_keeps_the_levels() {
    let mut io = IoApic::new(0);
    program(&mut io, 3, 0x40 | LEVEL, 0);
    io.set_irq(3, true);
    assert!(io.has_message());
    io.write(IOREGSEL, 4, 0x12);
    io.reset();
    assert!(!io.has_message());
    assert_eq!(io.read(IOREGSEL, 4), 0);
    assert!(io.pin_asserted(3));
    // Still asserted: programming the entry again sends.
    program(&mut io, 3, 0x40 | LEVEL, 0);
    assert_eq!(drain(&mut io), [fixed(0x40, 0, 3, true)]);
}

#[test]
fn edge_triggered_pins_send_once_per_rising_edge() {
    let mut io = IoApic::new(0);
    program(&mut io, 2, 0x30, 1);
    io.set_irq(2, true);
    assert_eq!(io.take_message(), Some(fixed(0x30, 1, 2, false)));
    // Staying high, repeating the level: no new edge.
    io.set_irq(2, true);
    assert_eq!(io.take_message(), None);
    io.set_irq(2, false);
    assert_eq!(io.take_message(), None);
    io.set_irq(2, true);
    assert_eq!(io.take_message(), Some(fixed(0x30, 1, 2, false)));
    // Edge entries never set remote IRR, and an EOI changes nothing.
    assert_eq!(entry(&mut io, 2) & REMOTE_IRR, 0);
    io.end_of_interrupt(0x30);
    assert_eq!(io.take_message(), None);
}

#[test]
fn an_edge_while_the_previous_message_waits_is_merged() {
    let mut io = IoApic::new(0);
    program(&mut io, 0, 0x20, 0);
    io.set_irq(0, true);
    io.set_irq(0, false);
    io.set_irq(0, true);
    assert_eq!(drain(&mut io), [fixed(0x20, 0, 0, false)]);
}

#[test]
fn level_triggered_pins_send_then_wait_for_the_eoi() {
    let mut io = IoApic::new(0);
    program(&mut io, 9, 0x49 | LEVEL, 0);
    io.set_irq(9, true);
    assert_eq!(io.take_message(), Some(fixed(0x49, 0, 9, true)));
    assert_ne!(
        entry(&mut io, 9) & REMOTE_IRR,
        0,
        "remote IRR set on delivery"
    );
    // Still asserted, remote IRR set: nothing more until the EOI.
    io.set_irq(9, true);
    assert_eq!(io.take_message(), None);
    // An EOI for another vector changes nothing.
    io.end_of_interrupt(0x48);
    assert_eq!(io.take_message(), None);
    assert_ne!(entry(&mut io, 9) & REMOTE_IRR, 0);
    // EOI with the line still asserted: remote IRR cleared and set again by
    // the re-sent message.
    io.end_of_interrupt(0x49);
    assert_eq!(io.take_message(), Some(fixed(0x49, 0, 9, true)));
    assert_ne!(entry(&mut io, 9) & REMOTE_IRR, 0);
    // The device deasserts, then the EOI: remote IRR clears and nothing is sent.
    io.set_irq(9, false);
    io.end_of_interrupt(0x49);
    assert_eq!(io.take_message(), None);
    assert_eq!(entry(&mut io, 9) & REMOTE_IRR, 0);
    // Asserting again sends.
    io.set_irq(9, true);
    assert_eq!(io.take_message(), Some(fixed(0x49, 0, 9, true)));
}

#[test]
fn the_eoi_register_is_an_eoi() {
    let mut io = IoApic::new(0);
    program(&mut io, 11, 0x51 | LEVEL, 0);
    io.set_irq(11, true);
    assert!(io.take_message().is_some());
    io.write(IOAPIC_EOI, 4, 0xFFFF_FF51);
    assert_eq!(io.take_message(), Some(fixed(0x51, 0, 11, true)));
    io.set_irq(11, false);
    io.write(IOAPIC_EOI, 4, 0x51);
    assert_eq!(entry(&mut io, 11) & REMOTE_IRR, 0);
    assert_eq!(io.read(IOAPIC_EOI, 4), 0, "EOI is write-only");
}

#[test]
fn one_eoi_serves_every_level_entry_with_its_vector() {
    let mut io = IoApic::new(0);
    for pin in [16, 17, 18] {
        program(&mut io, pin, 0x60 | LEVEL, 0);
        io.set_irq(pin, true);
    }
    assert_eq!(
        drain(&mut io),
        [
            fixed(0x60, 0, 16, true),
            fixed(0x60, 0, 17, true),
            fixed(0x60, 0, 18, true)
        ]
    );
    io.set_irq(17, false);
    io.end_of_interrupt(0x60);
    assert_eq!(
        drain(&mut io),
        [fixed(0x60, 0, 16, true), fixed(0x60, 0, 18, true)]
    );
    assert_eq!(entry(&mut io, 17) & REMOTE_IRR, 0);
}

#[test]
fn masked_pins_remember_their_level() {
    let mut io = IoApic::new(0);
    // Level-triggered, masked: asserted meanwhile, sent on unmask.
    program(&mut io, 10, 0x50 | LEVEL | MASKED, 0);
    io.set_irq(10, true);
    assert_eq!(io.take_message(), None);
    assert_eq!(entry(&mut io, 10) & REMOTE_IRR, 0);
    write_reg(&mut io, 0x10 + 20, 0x50 | LEVEL);
    assert_eq!(io.take_message(), Some(fixed(0x50, 0, 10, true)));

    // Asserted and deasserted while masked: nothing on unmask.
    program(&mut io, 12, 0x52 | LEVEL | MASKED, 0);
    io.set_irq(12, true);
    io.set_irq(12, false);
    write_reg(&mut io, 0x10 + 24, 0x52 | LEVEL);
    assert_eq!(io.take_message(), None);

    // Masked while remote IRR is set: the EOI clears it, sends nothing; the
    // unmask sends.
    program(&mut io, 13, 0x53 | LEVEL, 0);
    io.set_irq(13, true);
    assert!(io.take_message().is_some());
    write_reg(&mut io, 0x10 + 26, 0x53 | LEVEL | MASKED);
    io.end_of_interrupt(0x53);
    assert_eq!(io.take_message(), None);
    assert_eq!(entry(&mut io, 13) & REMOTE_IRR, 0);
    write_reg(&mut io, 0x10 + 26, 0x53 | LEVEL);
    assert_eq!(io.take_message(), Some(fixed(0x53, 0, 13, true)));
}

#[test]
fn an_edge_on_a_masked_pin_is_lost() {
    let mut io = IoApic::new(0);
    program(&mut io, 4, 0x34 | MASKED, 0);
    io.set_irq(4, true);
    write_reg(&mut io, 0x10 + 8, 0x34);
    assert_eq!(
        io.take_message(),
        None,
        "datasheet: ignored, not held pending"
    );
    io.set_irq(4, false);
    io.set_irq(4, true);
    assert_eq!(io.take_message(), Some(fixed(0x34, 0, 4, false)));
}

#[test]
fn remote_irr_is_read_only_and_cleared_by_switching_to_edge() {
    let mut io = IoApic::new(0);
    program(&mut io, 7, 0x37 | LEVEL, 0);
    io.set_irq(7, true);
    assert!(io.take_message().is_some());
    // A guest write cannot clear remote IRR of a level entry (nor set it).
    write_reg(&mut io, 0x10 + 14, 0x37 | LEVEL);
    assert_ne!(entry(&mut io, 7) & REMOTE_IRR, 0);
    assert_eq!(io.take_message(), None);
    write_reg(&mut io, 0x11 + 14, 0xFFFF_FFFF);
    assert_ne!(entry(&mut io, 7) & REMOTE_IRR, 0);
    // Edge: cleared (Linux's way out of a stuck remote IRR).
    write_reg(&mut io, 0x10 + 14, 0x37 | MASKED);
    assert_eq!(entry(&mut io, 7) & REMOTE_IRR, 0);
    // Back to level with the pin asserted and unmasked: sends at once.
    write_reg(&mut io, 0x10 + 14, 0x37 | LEVEL);
    assert!(io.take_message().is_some());
    assert_ne!(entry(&mut io, 7) & REMOTE_IRR, 0);

    program(&mut io, 8, 0x38 | REMOTE_IRR as u32, 0);
    assert_eq!(entry(&mut io, 8) & REMOTE_IRR, 0, "a guest cannot set it");
}

#[test]
fn polarity_is_stored_and_inverts_nothing() {
    let mut io = IoApic::new(0);
    let active_low = POLARITY_LOW as u32;
    // The SCI as the MADT describes it at the I/O APIC: level, active low.
    program(&mut io, 9, 0x41 | LEVEL | active_low, 0);
    assert_ne!(entry(&mut io, 9) & POLARITY_LOW, 0);
    assert_eq!(
        io.take_message(),
        None,
        "a deasserted line is not an interrupt"
    );
    io.set_irq(9, true);
    assert_eq!(io.take_message(), Some(fixed(0x41, 0, 9, true)));
    io.set_irq(9, false);
    io.end_of_interrupt(0x41);
    assert_eq!(io.take_message(), None);

    // Edge, active low: the assertion (true) is the edge.
    program(&mut io, 1, 0x31 | active_low, 0);
    io.set_irq(1, true);
    assert_eq!(io.take_message(), Some(fixed(0x31, 0, 1, false)));
    io.set_irq(1, false);
    assert_eq!(io.take_message(), None);
}

#[test]
fn messages_carry_every_field_of_the_entry() {
    let mut io = IoApic::new(0);
    let modes = [
        (0b000, IoApicDeliveryMode::Fixed),
        (0b001, IoApicDeliveryMode::LowestPriority),
        (0b010, IoApicDeliveryMode::Smi),
        (0b100, IoApicDeliveryMode::Nmi),
        (0b101, IoApicDeliveryMode::Init),
        (0b111, IoApicDeliveryMode::ExtInt),
    ];
    for (pin, (bits, mode)) in modes.into_iter().enumerate() {
        let pin = pin as u8;
        let vector = 0x80 + pin;
        program(
            &mut io,
            pin,
            u32::from(vector) | (bits << 8) | DEST_LOGICAL as u32,
            0xA0 | pin,
        );
        io.set_irq(pin, true);
        assert_eq!(
            io.take_message(),
            Some(ApicMessage {
                destination: 0xA0 | pin,
                logical: true,
                mode,
                vector,
                level_triggered: false,
                pin,
            })
        );
    }
    // Physical mode, full 8-bit destination.
    program(&mut io, 23, 0xFE, 0xFF);
    io.set_irq(23, true);
    assert_eq!(io.take_message(), Some(fixed(0xFE, 0xFF, 23, false)));
}

#[test]
fn nmi_smi_init_and_extint_are_edge_even_when_programmed_level() {
    let mut io = IoApic::new(0);
    for (pin, bits) in [(0u8, 0b010u32), (1, 0b100), (2, 0b101), (3, 0b111)] {
        program(&mut io, pin, 0x20 | (bits << 8) | LEVEL, 0);
        io.set_irq(pin, true);
        let message = io.take_message().expect("sent on the rising edge");
        assert!(!message.level_triggered);
        assert_eq!(entry(&mut io, pin) & REMOTE_IRR, 0, "pin {pin}");
        io.set_irq(pin, true);
        io.end_of_interrupt(0x20);
        assert_eq!(io.take_message(), None, "no re-send while held: pin {pin}");
        io.set_irq(pin, false);
        io.set_irq(pin, true);
        assert!(io.take_message().is_some(), "next edge: pin {pin}");
    }
}

#[test]
fn reserved_delivery_modes_send_nothing() {
    let mut io = IoApic::new(0);
    for bits in [0b011u32, 0b110] {
        for trigger in [0, LEVEL] {
            program(&mut io, 5, 0x25 | (bits << 8) | trigger, 0);
            io.set_irq(5, false);
            io.set_irq(5, true);
            assert_eq!(io.take_message(), None);
            assert_eq!(entry(&mut io, 5) & REMOTE_IRR, 0);
        }
    }
}

#[test]
fn pins_beyond_23_are_ignored() {
    let mut io = IoApic::new(0);
    for pin in 0..IOAPIC_PINS {
        program(&mut io, pin, 0x40 + u32::from(pin), 0);
    }
    for pin in [24, 31, 32, 200, 255] {
        io.set_irq(pin, true);
        assert!(!io.pin_asserted(pin));
    }
    assert_eq!(io.take_message(), None);
}

#[test]
fn a_storm_never_queues_more_than_one_message_per_pin() {
    let mut io = IoApic::new(0);
    for pin in 0..IOAPIC_PINS {
        let trigger = if pin % 2 == 0 { 0 } else { LEVEL };
        program(&mut io, pin, (0x40 + u32::from(pin)) | trigger, 0);
    }
    for _ in 0..10_000 {
        for pin in 0..IOAPIC_PINS {
            io.set_irq(pin, false);
            io.set_irq(pin, true);
            io.end_of_interrupt(0x40 + pin);
        }
        io.write(IOAPIC_EOI, 4, 0x41);
    }
    assert!(io.queue.len() <= usize::from(IOAPIC_PINS));
    let messages = drain(&mut io);
    assert_eq!(messages.len(), usize::from(IOAPIC_PINS));
    for (pin, message) in messages.iter().enumerate() {
        assert_eq!(usize::from(message.pin), pin, "first come, first queued");
    }
    assert!(io.queue.capacity() < 64, "the queue never grew");
}

#[test]
fn the_queue_keeps_arrival_order_across_pins() {
    let mut io = IoApic::new(0);
    for pin in [20u8, 3, 15] {
        program(&mut io, pin, 0x70 + u32::from(pin), 0);
    }
    io.set_irq(15, true);
    io.set_irq(3, true);
    io.set_irq(20, true);
    let pins: Vec<u8> = drain(&mut io).iter().map(|m| m.pin).collect();
    assert_eq!(pins, [15, 3, 20]);
    // Once taken, a pin can queue again.
    io.set_irq(3, false);
    io.set_irq(3, true);
    assert_eq!(io.take_message().map(|m| m.pin), Some(3));
}

#[test]
fn pins_and_the_mmio_bus_share_one_ioapic() {
    let io = Rc::new(RefCell::new(IoApic::new(0)));
    let mut bus = MmioBus::default();
    bus.register(
        IOAPIC_BASE,
        IOAPIC_MMIO_SIZE,
        Box::new(IoApicMmio::new(io.clone())),
    )
    .unwrap();
    let pin = IoApicPin::new(io.clone(), 9);
    bus.write(IOAPIC_BASE + IOREGSEL, 4, 0x10 + 18);
    bus.write(IOAPIC_BASE + IOWIN, 4, 0x49 | u64::from(LEVEL));
    assert_eq!(bus.read(IOAPIC_BASE + IOWIN, 4), 0x49 | u64::from(LEVEL));
    pin.set_level(true);
    assert_eq!(
        io.borrow_mut().take_message(),
        Some(fixed(0x49, 0, 9, true))
    );
    bus.write(IOAPIC_BASE + IOAPIC_EOI, 4, 0x49);
    assert_eq!(
        io.borrow_mut().take_message(),
        Some(fixed(0x49, 0, 9, true))
    );
    pin.set_level(false);
    bus.write(IOAPIC_BASE + IOAPIC_EOI, 4, 0x49);
    assert!(!io.borrow().has_message());
    assert_eq!(bus.read(IOAPIC_BASE + IOWIN, 4) & REMOTE_IRR, 0);
}

#[test]
fn iowin_answers_32_bit_accesses_only() {
    let mut io = IoApic::new(1);
    io.write(IOREGSEL, 4, 0);
    for size in [1u8, 2, 8] {
        assert_eq!(io.read(IOWIN, size), 0, "size {size}");
        io.write(IOWIN, size, 0x0F00_0000);
    }
    assert_eq!(
        io.read(IOWIN, 4),
        1 << 24,
        "narrow or wide writes were dropped"
    );
    // Offsets inside IOWIN but not at its start, and nearby offsets, are nothing.
    for offset in [0x11u64, 0x12, 0x14, 0x20, 0x30, 0x44, 0x100, 0x110, 0xFFC] {
        io.write(offset, 4, 0x0F00_0000);
        assert_eq!(io.read(offset, 4), 0, "offset {offset:#x}");
    }
    assert_eq!(io.read(IOWIN, 4), 1 << 24);
}
