//! Tests of the board's Xen platform wiring.

use super::*;
use crate::interrupts::InterruptController;
use crate::pc_board::{ConsoleInput, DeviceSet};
use crate::test_support::FakeClock;
use block_backend::MemoryBlock;
use core::cell::Cell;

use crate::test_support::Discard;

fn board(devices: DeviceSet, bus: &mut PortIoBus) -> PcBoard {
    let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
    PcBoard::new(devices, bus, clock, Box::new(Discard), 0, 1 << 20).unwrap()
}

/// A configuration read through mechanism #1 of bus 0 device 3.
fn cfg_read(bus: &mut PortIoBus, reg: u8, size: u8) -> u32 {
    bus.write(0xCF8, 4, 0x8000_1800 | u32::from(reg & 0xFC));
    bus.read(0xCFC + u16::from(reg & 3), size)
}

fn cfg_write(bus: &mut PortIoBus, reg: u8, size: u8, value: u32) {
    bus.write(0xCF8, 4, 0x8000_1800 | u32::from(reg & 0xFC));
    bus.write(0xCFC + u16::from(reg & 3), size, value);
}

/// Both 8259s initialised as a BIOS leaves them, with only IRQ 11 (and the
/// cascade) unmasked.
fn open_irq11(bus: &mut PortIoBus) {
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
        (0xA1, 0xF7),
    ] {
        bus.write(port, 1, value);
    }
}

fn eoi(bus: &mut PortIoBus) {
    bus.write(0xA0, 1, 0x20);
    bus.write(0x20, 1, 0x20);
}

/// A disk on the primary master and a CD-ROM on the secondary master.
fn with_media(b: &mut PcBoard) {
    let disk = MemoryBlock::new(alloc::vec![0u8; 64 * 512], false);
    assert!(b.attach_disk(Box::new(disk)));
    let cd = MemoryBlock::new(alloc::vec![0u8; 4 * 2048], true);
    assert!(b.attach_cdrom(Box::new(cd)));
}

#[test]
fn a_xen_board_has_the_platform_device_its_ports_and_a_level_irq_11() {
    let mut bus = PortIoBus::default();
    let b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    assert_eq!(cfg_read(&mut bus, 0, 4), 0x0001_5853);
    assert_eq!(cfg_read(&mut bus, 0x3C, 1), 11);
    assert_eq!(bus.read(0x10, 2), 0x49D2);
    assert_eq!(bus.read(0x12, 1), 1);
    assert_eq!(bus.read(ports::XEN_PLATFORM_IO, 1), 0, "BAR0 decodes");
    assert_eq!(bus.read(0x4D1, 1) & 0x08, 0x08, "ELCR2: IRQ 11 level");
    let d = b.legacy.as_ref().unwrap();
    assert_eq!(d.pci.borrow().pirq_route(2), Some(11), "PIRQC# to IRQ 11");
    assert_eq!(
        b.xen_grant_space(),
        Some((0xF000_0000, memory::XEN_PLATFORM_MMIO_SIZE))
    );
    assert!(b.xen_platform().is_some());
}

#[test]
fn a_plain_pc_board_has_none_of_it() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPc, &mut bus);
    assert_eq!(cfg_read(&mut bus, 0, 4), 0xFFFF_FFFF);
    assert_eq!(bus.read(0x10, 2), 0xFFFF);
    assert_eq!(bus.read(ports::XEN_PLATFORM_IO, 1), 0xFF);
    assert_eq!(bus.read(0x4D1, 1), 0);
    assert_eq!(b.take_unplug_request(), None);
    assert_eq!(b.honour_unplug(0x3, true), UnplugOutcome::default());
    b.set_xen_event_pending(true);
    assert!(!b.has_interrupt());
    assert_eq!(b.xen_grant_space(), None);
    assert!(b.xen_platform().is_none());
}

#[test]
fn a_pending_event_holds_irq_11_until_the_hypervisor_drops_it() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    open_irq11(&mut bus);
    b.poll(0);
    assert!(!b.has_interrupt());
    b.set_xen_event_pending(true);
    assert!(b.has_interrupt(), "raised at once, not at the next poll");
    assert_eq!(b.acknowledge(), 0x73);
    eoi(&mut bus);
    b.poll(1);
    assert!(b.has_interrupt(), "a level: still pending after the EOI");
    assert_eq!(b.acknowledge(), 0x73);
    // The handler clears evtchn_upcall_pending; the hypervisor drops the
    // level before the EOI.
    b.set_xen_event_pending(false);
    eoi(&mut bus);
    b.poll(2);
    assert!(!b.has_interrupt());
    // Interrupt Disable in the Command register keeps INTA# low.
    cfg_write(&mut bus, 0x04, 2, 0x0403);
    b.set_xen_event_pending(true);
    b.poll(3);
    assert!(!b.has_interrupt());
    cfg_write(&mut bus, 0x04, 2, 0x0003);
    b.poll(4);
    assert!(b.has_interrupt());
    assert_eq!(b.acknowledge(), 0x73);
}

#[test]
fn an_unplug_without_pv_disks_is_refused_and_the_disk_stays() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    with_media(&mut b);
    bus.write(0x12, 2, 3);
    bus.write(0x10, 4, 1);
    bus.write(0x10, 2, 0x0003);
    assert_eq!(b.take_unplug_request(), Some(0x0003));
    assert_eq!(b.take_unplug_request(), None);
    let outcome = b.honour_unplug(0x0003, false);
    assert_eq!(
        outcome,
        UnplugOutcome {
            disks_detached: 0,
            disks_refused: true
        }
    );
    assert_ne!(bus.read(0x1F7, 1), 0xFF, "the primary master still answers");
    // Asked again, it is refused again (and logged only the first time).
    assert!(b.honour_unplug(0x0001, false).disks_refused);
    let identity = b.xen_platform().unwrap().identity();
    assert_eq!((identity.product, identity.build), (Some(3), Some(1)));
}

#[test]
fn an_unplug_with_pv_disks_takes_the_ide_disk_and_leaves_the_cd_rom() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    with_media(&mut b);
    // Bit 2 alone spares the primary master: nothing else is a disk here.
    assert_eq!(b.honour_unplug(0x0004, true), UnplugOutcome::default());
    assert_ne!(bus.read(0x1F7, 1), 0xFF);
    // NICs and NVMe: this board has none; nothing happens.
    assert_eq!(b.honour_unplug(0x000A, true), UnplugOutcome::default());
    let outcome = b.honour_unplug(0x0007, true);
    assert_eq!(outcome.disks_detached, 1);
    assert!(!outcome.disks_refused);
    assert_eq!(bus.read(0x1F7, 1), 0xFF, "the primary channel floats");
    assert_ne!(bus.read(0x177, 1), 0xFF, "the CD-ROM drive stays");
}

#[test]
fn bar0_follows_the_guest_when_it_moves_the_bar() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    cfg_write(&mut bus, 0x10, 4, 0xD000);
    let pci = b.legacy.as_ref().unwrap().pci.clone();
    b.xen.as_mut().unwrap().service(&mut bus, &pci);
    assert_eq!(bus.read(0xD000, 1), 0);
    assert_eq!(bus.read(ports::XEN_PLATFORM_IO, 1), 0xFF);
    // I/O decoding off: the ports go; on again: they come back.
    cfg_write(&mut bus, 0x04, 2, 0x0002);
    b.xen.as_mut().unwrap().service(&mut bus, &pci);
    assert_eq!(bus.read(0xD000, 1), 0xFF);
    assert_eq!(bus.read(0x10, 2), 0x49D2, "the fixed block does not move");
    cfg_write(&mut bus, 0x04, 2, 0x0003);
    b.xen.as_mut().unwrap().service(&mut bus, &pci);
    assert_eq!(bus.read(0xD000, 1), 0);
}

#[test]
fn typed_bytes_for_hvc0_wait_on_the_board_and_survive_a_reset() {
    let mut bus = PortIoBus::default();
    let mut b = board(DeviceSet::LegacyPcWithXen, &mut bus);
    b.console_input = ConsoleInput::Hvc0;
    for byte in b"ls\r" {
        b.console_byte(*byte);
    }
    assert_eq!(bus.read(0x3FD, 1) & 1, 0, "nothing reached COM1");
    assert_eq!(b.take_hvc_input(), b"ls\r");
    assert!(b.take_hvc_input().is_empty());
    b.console_byte(b'q');
    let mut fresh = PortIoBus::default();
    b.reset(&mut fresh).unwrap();
    assert_eq!(b.console_input, ConsoleInput::Hvc0);
    assert_eq!(b.take_hvc_input(), b"q");
    assert_eq!(fresh.read(0x10, 2), 0x49D2, "the platform device is back");
    assert_eq!(bus.read(0x4D1, 1) & 0x08, 0x08);
}
