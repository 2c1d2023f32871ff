use super::*;
use crate::test_support::FakeClock;
use block_backend::MemoryBlock;
use core::cell::Cell;
use device_model::pci::ResetKind;

use crate::test_support::Discard;

fn board(devices: DeviceSet, bus: &mut PortIoBus) -> PcBoard {
    let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
    PcBoard::new(devices, bus, clock, Box::new(Discard), 0, 1 << 20).unwrap()
}

#[test]
fn a_board_without_devices_claims_no_port_and_never_interrupts() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::None, &mut bus);
    for port in [
        pc_layout::ports::PIC_MASTER,
        pc_layout::ports::PIT,
        pc_layout::ports::CMOS_DATA,
        pc_layout::ports::COM[0],
        pc_layout::ports::IDE_PRIMARY_COMMAND,
    ] {
        assert_eq!(bus.read(port, 1), 0xFF, "port {port:#x}");
    }
    b.poll(1_000_000_000);
    b.console_byte(b'x');
    assert!(!b.has_interrupt());
    assert!(b.vga().is_none());
    assert_eq!(b.next_deadline(0), None);
    let disk = MemoryBlock::new(alloc::vec![0u8; 512], false);
    assert!(!b.attach_disk(Box::new(disk)));
    assert!(!b.irqs.is_connected(pc_layout::irqs::PIT));
}

#[test]
fn the_pc_board_routes_every_isa_line_to_the_pic() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPc, &mut bus);
    for irq in 0..pc_layout::irqs::ISA_COUNT {
        assert!(b.irqs.is_connected(irq));
    }
    // Unmask IRQ3 at vector 08h+3, then raise its GSI through the router.
    for (port, value) in [
        (0x20u16, 0x11u32),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xF7),
    ] {
        bus.write(port, 1, value);
    }
    b.irqs.pulse(pc_layout::irqs::COM2_COM4);
    assert!(b.has_interrupt());
    assert_eq!(b.acknowledge(), 0x0B);
    let disk = MemoryBlock::new(alloc::vec![0u8; 512], false);
    assert!(b.attach_disk(Box::new(disk)));
}

/// Records what COM1 transmits.
struct Recorder(Rc<core::cell::RefCell<alloc::vec::Vec<u8>>>);
impl ByteSink for Recorder {
    fn write_byte(&mut self, byte: u8) {
        self.0.borrow_mut().push(byte);
    }
}

/// Unmasks IRQ3 only, as [`the_pc_board_routes_every_isa_line_to_the_pic`] does.
fn program_pic(bus: &mut PortIoBus) {
    for (port, value) in [(0x20u16, 0x11u32), (0x21, 0x08), (0x21, 0x04)] {
        bus.write(port, 1, value);
    }
    bus.write(0x21, 1, 0x01);
    bus.write(0x21, 1, 0xF7);
}

#[test]
fn a_reset_gives_fresh_devices_on_the_new_bus_and_keeps_the_rtc_and_the_console() {
    let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
    let sent = Rc::new(core::cell::RefCell::new(alloc::vec::Vec::new()));
    let mut bus = PortIoBus::default();
    let mut b = PcBoard::new(
        DeviceSet::LegacyPc,
        &mut bus,
        clock,
        Box::new(Recorder(sent.clone())),
        1_700_000_000,
        1 << 20,
    )
    .unwrap();
    b.console_input = ConsoleInput::Both;
    program_pic(&mut bus);
    assert_eq!(bus.read(0x21, 1), 0xF7);
    bus.write(0x3FF, 1, 0x5A); // COM1 scratch register
    bus.write(0x70, 1, 0x40); // CMOS RAM
    bus.write(0x71, 1, 0xA5);
    bus.write(0x70, 1, 0x0B); // register B: periodic interrupt on
    bus.write(0x71, 1, 0x42);

    let mut fresh_bus = PortIoBus::default();
    b.reset(&mut fresh_bus).unwrap();
    assert_eq!(fresh_bus.read(0x21, 1), 0xFF, "the 8259's power-on mask");
    assert_eq!(fresh_bus.read(0x3FF, 1), 0, "a fresh UART");
    fresh_bus.write(0x70, 1, 0x40);
    assert_eq!(fresh_bus.read(0x71, 1), 0xA5, "CMOS RAM survives");
    fresh_bus.write(0x70, 1, 0x0B);
    assert_eq!(fresh_bus.read(0x71, 1), 0x02, "RESET cleared PIE only");
    fresh_bus.write(0x3F8, 1, u32::from(b'R'));
    assert_eq!(*sent.borrow(), b"R", "COM1 still reaches the console");
    assert_eq!(b.console_input, ConsoleInput::Both);
    program_pic(&mut fresh_bus);
    b.irqs.pulse(pc_layout::irqs::COM2_COM4);
    assert!(b.has_interrupt(), "the router drives the new 8259");
}

#[test]
fn reset_requests_come_from_the_8042_port_92h_and_cf9h_once_each() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPc, &mut bus);
    assert_eq!(b.take_reset_request(), None);
    for (port, value, source) in [
        (0x64u16, 0xFEu32, ResetSource::I8042Pulse),
        (0xCF9, 0x06, ResetSource::ResetControl(ResetKind::Hard)),
        (0xCF9, 0x0E, ResetSource::ResetControl(ResetKind::Hard)),
        (0xCF9, 0x04, ResetSource::ResetControl(ResetKind::Soft)),
        (0x92, 0x01, ResetSource::FastReset),
    ] {
        bus.write(port, 1, value);
        assert_eq!(
            b.take_reset_request(),
            Some(source),
            "{port:#x} <- {value:#x}"
        );
        assert_eq!(b.take_reset_request(), None, "taken once");
    }
    // An 8042 output port write with bit 0 clear (D1h, then the data).
    bus.write(0x64, 1, 0xD1);
    bus.write(0x60, 1, 0xDE);
    assert_eq!(b.take_reset_request(), Some(ResetSource::I8042OutputPort));
    let mut none_bus = PortIoBus::default();
    let mut none = board(DeviceSet::None, &mut none_bus);
    none_bus.write(0x64, 1, 0xFE);
    assert_eq!(none.take_reset_request(), None);
    none.reset(&mut PortIoBus::default()).unwrap();
    assert!(none.legacy.is_none());
}

#[test]
fn an_rtc_interrupt_raised_again_before_the_poll_after_its_acknowledge_is_not_lost() {
    let time = Rc::new(Cell::new(0u64));
    let clock = Rc::new(FakeClock(time.clone()));
    let mut bus = PortIoBus::default();
    let mut b = PcBoard::new(
        DeviceSet::LegacyPc,
        &mut bus,
        clock,
        Box::new(Discard),
        0,
        1 << 20,
    )
    .unwrap();
    // 8259 pair as a BIOS leaves it: master at 08h, slave at 70h, only
    // the cascade and IRQ8 open.
    for (port, value) in [
        (0x20u16, 0x11u32),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFB),
        (0xA0, 0x11),
        (0xA1, 0x70),
        (0xA1, 0x02),
        (0xA1, 0x01),
        (0xA1, 0xFE),
    ] {
        bus.write(port, 1, value);
    }
    // RTC periodic interrupt at 1024 Hz (rate 6), PIE on: as iPXE programs it.
    for (index, value) in [(0x0Au32, 0x26u32), (0x0B, 0x42)] {
        bus.write(0x70, 1, index);
        bus.write(0x71, 1, value);
    }
    let period = 976_563u64;
    time.set(2 * period + 1000);
    b.poll(time.get());
    assert!(b.has_interrupt());
    assert_eq!(b.acknowledge(), 0x70);
    // The handler: read register C (IRQ8 falls), EOI both chips...
    time.set(3 * period - 1000);
    bus.write(0x70, 1, 0x0C);
    let _ = bus.read(0x71, 1);
    bus.write(0xA0, 1, 0x20);
    bus.write(0x20, 1, 0x20);
    // ...and the next poll comes only after the next periodic edge.
    time.set(3 * period + 1000);
    b.poll(time.get());
    assert!(
        b.has_interrupt(),
        "the next periodic interrupt reaches the PIC"
    );
    assert_eq!(b.acknowledge(), 0x70);
}

/// A board whose 8259 pair is set up as a BIOS leaves it (master at
/// 08h) with only IRQ0 open and the PIT's counter 0 in mode 2 at `count`
/// (programmed at time 0), and the clock that drives it.
fn ticking_board(count: u16) -> (PcBoard, PortIoBus, Rc<Cell<u64>>) {
    let time = Rc::new(Cell::new(0u64));
    let clock = Rc::new(FakeClock(time.clone()));
    let mut bus = PortIoBus::default();
    let b = PcBoard::new(
        DeviceSet::LegacyPc,
        &mut bus,
        clock,
        Box::new(Discard),
        0,
        1 << 20,
    )
    .unwrap();
    for (port, value) in [
        (0x20u16, 0x11u32),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFE),
        (0x43, 0x34),
        (0x40, u32::from(count & 0xFF)),
        (0x40, u32::from(count >> 8)),
    ] {
        bus.write(port, 1, value);
    }
    (b, bus, time)
}

/// The guest takes every IRQ0 the board has for it at the current time
/// (INTA, then EOI), as one with interrupts enabled would; returns how
/// many it took.
fn take_ticks(b: &mut PcBoard, bus: &mut PortIoBus, now: u64) -> u32 {
    let mut taken = 0;
    loop {
        b.poll(now);
        if !b.has_interrupt() {
            return taken;
        }
        assert_eq!(b.acknowledge(), 0x08);
        bus.write(0x20, 1, 0x20);
        taken += 1;
        assert!(taken <= 2000, "a storm of IRQ0");
    }
}

/// Ten-millisecond PIT period (100 Hz), in nanoseconds: 11932 clocks.
const PERIOD_100HZ: u64 = 10_000_168;

#[test]
fn pit_ticks_missed_while_irq0_waits_are_delivered_after_its_acknowledge() {
    let (mut b, mut bus, time) = ticking_board(11932);
    assert_eq!(take_ticks(&mut b, &mut bus, 0), 1, "the programming edge");
    // IRQ0 raised after the first period; the guest keeps interrupts
    // off for 3.5 more periods while the board polls at every exit.
    time.set(PERIOD_100HZ + 1000);
    b.poll(time.get());
    assert!(b.has_interrupt());
    for k in 2..=4 {
        time.set(k * PERIOD_100HZ + 1000);
        b.poll(time.get());
    }
    time.set(4 * PERIOD_100HZ + PERIOD_100HZ / 2);
    b.poll(time.get());
    // Every one of the four periods reaches the guest, one per
    // acknowledge, and then nothing more until the next period ends.
    assert_eq!(take_ticks(&mut b, &mut bus, time.get()), 4);
    assert_eq!(take_ticks(&mut b, &mut bus, 5 * PERIOD_100HZ + 1000), 1);
}

#[test]
fn a_guest_that_cannot_take_ticks_for_ten_seconds_gets_at_most_one_second_of_them() {
    let (mut b, mut bus, time) = ticking_board(11932);
    assert_eq!(take_ticks(&mut b, &mut bus, 0), 1);
    for ms in 1..=10_000 {
        time.set(ms * 1_000_000);
        b.poll(time.get());
    }
    // 100 periods of 11932 clocks last just over a second: 99 owed, plus
    // the request already in the 8259's IRR.
    assert_eq!(take_ticks(&mut b, &mut bus, time.get()), 100);
}

#[test]
fn linux_masking_irq0_in_its_handler_keeps_the_backlog_a_long_mask_drops_it() {
    let (mut b, mut bus, time) = ticking_board(11932);
    assert_eq!(take_ticks(&mut b, &mut bus, 0), 1);
    // Linux's 8259 handler: INTA, mask IRQ0 and EOI, run (slowly: three
    // periods end), unmask.
    time.set(PERIOD_100HZ + 1000);
    b.poll(time.get());
    assert_eq!(b.acknowledge(), 0x08);
    bus.write(0x21, 1, 0xFF);
    bus.write(0x20, 1, 0x60);
    for k in 2..=4 {
        time.set(k * PERIOD_100HZ + 1000);
        b.poll(time.get());
        assert!(!b.has_interrupt(), "masked");
    }
    bus.write(0x21, 1, 0xFE);
    assert_eq!(take_ticks(&mut b, &mut bus, time.get()), 3);

    // Masked for a second, polled all along: what is left on unmask is
    // the one request the 8259 latched and at most one more.
    bus.write(0x21, 1, 0xFF);
    for ms in 41..=1040 {
        time.set(ms * 1_000_000);
        b.poll(time.get());
    }
    bus.write(0x21, 1, 0xFE);
    let after_mask = take_ticks(&mut b, &mut bus, time.get());
    assert!((1..=2).contains(&after_mask), "{after_mask}");
}

#[test]
fn reprogramming_the_pit_drops_the_ticks_it_owes() {
    let (mut b, mut bus, time) = ticking_board(11932);
    assert_eq!(take_ticks(&mut b, &mut bus, 0), 1);
    for k in 1..=5 {
        time.set(k * PERIOD_100HZ + 1000);
        b.poll(time.get());
    }
    // Five periods: one request in IRR, four owed; then a new count.
    // What is left is the request in IRR and at most the one edge the
    // PIT keeps across a reprogramming.
    bus.write(0x40, 1, 0x9C);
    bus.write(0x40, 1, 0x2E);
    let after = take_ticks(&mut b, &mut bus, time.get());
    assert!((1..=2).contains(&after), "{after}");
    // A control word likewise.
    for k in 6..=10 {
        time.set(k * PERIOD_100HZ + 1000);
        b.poll(time.get());
    }
    bus.write(0x43, 1, 0x34);
    bus.write(0x40, 1, 0x9C);
    bus.write(0x40, 1, 0x2E);
    let after = take_ticks(&mut b, &mut bus, time.get());
    assert!((1..=2).contains(&after), "{after}");
}

#[test]
fn a_keystroke_paced_in_before_the_poll_after_the_last_was_read_is_not_lost() {
    let time = Rc::new(Cell::new(0u64));
    let clock = Rc::new(FakeClock(time.clone()));
    let mut bus = PortIoBus::default();
    let mut b = PcBoard::new(
        DeviceSet::LegacyPc,
        &mut bus,
        clock,
        Box::new(Discard),
        0,
        1 << 20,
    )
    .unwrap();
    b.console_input = ConsoleInput::Keyboard;
    for (port, value) in [
        (0x20u16, 0x11u32),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFD),
    ] {
        bus.write(port, 1, value);
    }
    b.console_byte(b'a');
    time.set(1_000_000);
    b.poll(time.get());
    assert!(b.has_interrupt());
    assert_eq!(b.acknowledge(), 0x09);
    // The handler reads the scan code (IRQ1 falls) and EOIs...
    let _ = bus.read(0x60, 1);
    bus.write(0x20, 1, 0x20);
    // ...and the next poll comes after the next byte was paced in.
    time.set(10_000_000);
    b.poll(time.get());
    assert!(
        b.has_interrupt(),
        "the next keystroke's IRQ1 reaches the PIC"
    );
}

/// A PC/AT board made the modern PC, with the local APIC's and I/O APIC's
/// pages on `mmio`.
fn modern_board(bus: &mut PortIoBus, mmio: &mut device_model::mmio_bus::MmioBus) -> PcBoard {
    let mut b = board(DeviceSet::LegacyPc, bus);
    b.add_apic(bus).unwrap();
    let apic = b.apic.as_ref().unwrap();
    mmio.register(pc_layout::memory::LOCAL_APIC, 0x1000, apic.lapic_mmio())
        .unwrap();
    mmio.register(pc_layout::memory::IO_APIC, 0x1000, apic.ioapic_mmio())
        .unwrap();
    b
}

#[test]
fn on_the_modern_pc_the_8259_still_reaches_the_vcpu_through_the_virtual_wire() {
    let mut bus = PortIoBus::default();
    let mut mmio = device_model::mmio_bus::MmioBus::default();
    let mut b = modern_board(&mut bus, &mut mmio);
    program_pic(&mut bus);
    b.irqs.pulse(pc_layout::irqs::COM2_COM4);
    b.poll(0);
    assert!(b.has_interrupt(), "LINT0 in ExtINT mode passes INTR");
    assert_eq!(b.acknowledge(), 0x0B);
    // The guest masks LINT0 (as an OS using the I/O APIC does): the 8259
    // no longer reaches the processor.
    let lint0 = pc_layout::memory::LOCAL_APIC + 0x350;
    mmio.write(lint0, 4, 0x1_0700);
    bus.write(0x20, 1, 0x20);
    b.irqs.pulse(pc_layout::irqs::COM2_COM4);
    b.poll(0);
    assert!(!b.has_interrupt());
}

#[test]
fn an_io_apic_pin_reaches_the_local_apic_and_a_level_eoi_goes_back() {
    let mut bus = PortIoBus::default();
    let mut mmio = device_model::mmio_bus::MmioBus::default();
    let mut b = modern_board(&mut bus, &mut mmio);
    let ioapic = pc_layout::memory::IO_APIC;
    let lapic = pc_layout::memory::LOCAL_APIC;
    // Pin 2 (ISA IRQ 0, the MADT's override): vector 30h, edge, to APIC 0.
    mmio.write(ioapic, 4, 0x10 + 2 * 2);
    mmio.write(ioapic + 0x10, 4, 0x30);
    // Pin 11 (the Xen platform's INTx): vector 41h, level.
    mmio.write(ioapic, 4, 0x10 + 2 * 11);
    mmio.write(ioapic + 0x10, 4, 0x41 | (1 << 15));
    mmio.write(lapic + 0xF0, 4, 0x1FF); // SVR: software enabled
    b.irqs.pulse(pc_layout::irqs::PIT);
    b.irqs.set_level(11, true);
    b.poll(0);
    assert!(b.has_interrupt());
    assert_eq!(b.acknowledge(), 0x41, "the higher vector first");
    mmio.write(lapic + 0xB0, 4, 0); // EOI: the level vector
    b.poll(0);
    // Still asserted: the I/O APIC sends it again after the EOI broadcast.
    assert_eq!(b.acknowledge(), 0x41);
    b.irqs.set_level(11, false);
    mmio.write(lapic + 0xB0, 4, 0);
    b.poll(0);
    assert_eq!(b.acknowledge(), 0x30);
    mmio.write(lapic + 0xB0, 4, 0);
    b.poll(0);
    assert!(!b.has_interrupt());
}

#[test]
fn acpi_soft_off_is_taken_once_and_other_sleep_states_are_not() {
    let mut bus = PortIoBus::default();
    let mut mmio = device_model::mmio_bus::MmioBus::default();
    let mut b = modern_board(&mut bus, &mut mmio);
    let cnt = pc_layout::ports::ACPI_PM1A_CNT;
    // S1 (SLP_TYP 5) with SLP_EN: not supported, the guest runs on.
    bus.write(cnt, 2, (5 << 10) | (1 << 13) | 1);
    assert!(!b.take_power_off());
    let s5 = u32::from(pc_layout::acpi::S5_SLP_TYP) << 10;
    bus.write(cnt, 2, s5 | (1 << 13) | 1);
    assert!(b.take_power_off());
    assert!(!b.take_power_off());
}

#[test]
fn a_reset_keeps_the_same_apic_devices_in_their_reset_state() {
    let mut bus = PortIoBus::default();
    let mut mmio = device_model::mmio_bus::MmioBus::default();
    let mut b = modern_board(&mut bus, &mut mmio);
    let lapic = pc_layout::memory::LOCAL_APIC;
    mmio.write(lapic + 0x80, 4, 0x50); // TPR
    let mut fresh_bus = PortIoBus::default();
    b.reset(&mut fresh_bus).unwrap();
    assert_eq!(
        mmio.read(lapic + 0x80, 4),
        0,
        "the page reaches the reset APIC"
    );
    // The PM registers are on the new bus, the 8259 passes again.
    assert_ne!(
        fresh_bus.read(pc_layout::ports::ACPI_PM_TIMER, 4),
        0xFFFF_FFFF
    );
    program_pic(&mut fresh_bus);
    b.irqs.pulse(pc_layout::irqs::COM2_COM4);
    b.poll(0);
    assert_eq!(b.acknowledge(), 0x0B);
}
