//! A guest, and devices, doing anything they like to the I/O APIC: every
//! offset, size and value, interleaved with pin changes and EOIs. Nothing
//! panics, the queue stays bounded, and what the guest reads stays within
//! the registers' definitions.

use super::registers::{DELIVERY_STATUS, REMOTE_IRR};
use super::*;
use test_rng::XorShift;

/// Every size at every offset of the page (and a little beyond), with a
/// handful of values, on a fresh device and on one with traffic.
#[test]
fn every_offset_and_size_never_panics() {
    let mut io = IoApic::new(0);
    let values = [
        0u64,
        1,
        0x10,
        0x3F,
        0xFF,
        0xFFFF_FFFF,
        u64::MAX,
        0x8000_0000_0000_0000,
    ];
    for offset in 0..IOAPIC_MMIO_SIZE + 0x10 {
        for size in [0u8, 1, 2, 3, 4, 5, 8, 16, 255] {
            let _ = io.read(offset, size);
            for value in values {
                io.write(offset, size, value);
                io.set_irq((offset % 32) as u8, value & 1 != 0);
                while io.take_message().is_some() {}
            }
        }
    }
    let _ = io.read(u64::MAX, 4);
    io.write(u64::MAX, 8, u64::MAX);
}

/// Every register index written with every bit pattern of interest, then
/// read back: the ID register keeps 4 bits, version and arbitration never
/// change, entries keep only their fields.
#[test]
fn every_register_index_with_every_pattern_stays_well_formed() {
    let mut io = IoApic::new(3);
    for index in 0..=255u8 {
        for value in [0u32, 0xFFFF_FFFF, 0xAAAA_AAAA, 0x5555_5555, 0x0001_C000] {
            io.write(IOREGSEL, 4, u64::from(index));
            io.write(IOWIN, 4, u64::from(value));
            let _ = io.read(IOWIN, 4);
            io.write(IOREGSEL, 4, 1);
            assert_eq!(io.read(IOWIN, 4), 0x0017_0020);
            io.write(IOREGSEL, 4, 0);
            assert_eq!(io.read(IOWIN, 4) & !0x0F00_0000, 0);
        }
    }
    for pin in 0..IOAPIC_PINS {
        let e = io.redirection_entry(pin).unwrap();
        assert_eq!(e & 0x00FF_FFFF_FFFE_0000, 0, "reserved bits of pin {pin}");
        assert_eq!(e & (DELIVERY_STATUS | REMOTE_IRR), 0, "no pin was asserted");
    }
}

/// Random MMIO traffic, pin changes and EOIs: never panics, never more
/// than one queued message per pin, every message names a wired pin,
/// only fixed and lowest-priority messages are level-triggered, and edge
/// entries never have remote IRR.
#[test]
fn random_traffic_keeps_the_invariants() {
    let mut rng = XorShift::per_run(
        "ioapic_random_traffic_keeps_the_invariants",
        0x8209_3AA0_0017_0020,
    );
    let mut io = IoApic::new(0);
    let offsets = [IOREGSEL, IOWIN, IOAPIC_EOI, 0x04, 0x14, 0x20, 0xFFF];
    for step in 0..300_000 {
        match rng.below(10) {
            0..=2 => {
                // Mostly sensible register indices, some garbage.
                let index = if rng.below(4) == 0 {
                    rng.byte()
                } else {
                    0x10 + rng.below(48) as u8
                };
                io.write(IOREGSEL, 4, u64::from(index));
                // Keep vectors in a small set so EOIs hit.
                let value = (rng.next() as u32 & !0xFF) | (0x40 + rng.below(4) as u32);
                io.write(IOWIN, 4, u64::from(value));
            }
            3..=5 => io.set_irq(rng.below(26) as u8, rng.below(2) == 0),
            6 => io.end_of_interrupt(0x40 + rng.below(4) as u8),
            7 => {
                let offset = offsets[rng.below(offsets.len() as u64) as usize];
                let size = [1u8, 2, 4, 8][rng.below(4) as usize];
                if rng.below(2) == 0 {
                    let _ = io.read(offset, size);
                } else {
                    io.write(offset, size, rng.next());
                }
            }
            _ => {
                if let Some(message) = io.take_message() {
                    assert!(message.pin < IOAPIC_PINS, "step {step}");
                    if message.level_triggered {
                        assert!(matches!(
                            message.mode,
                            IoApicDeliveryMode::Fixed | IoApicDeliveryMode::LowestPriority
                        ));
                    }
                }
            }
        }
        assert!(io.queue.len() <= usize::from(IOAPIC_PINS), "step {step}");
        assert_eq!(
            io.queued.count_ones() as usize,
            io.queue.len(),
            "step {step}"
        );
        for pin in 0..IOAPIC_PINS {
            let entry = io.redirection_entry(pin).unwrap();
            if entry & (1 << 15) == 0 {
                assert_eq!(entry & REMOTE_IRR, 0, "edge pin {pin} at step {step}");
            }
            assert_eq!(entry & DELIVERY_STATUS, 0);
        }
    }
}
