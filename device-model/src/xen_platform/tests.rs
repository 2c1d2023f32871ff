//! Tests of `xen_platform` and of the Xen platform PCI function.

use super::*;
use crate::bus::PortIoBus;
use crate::pci::{
    PciBus, BAR0, CLASS_XEN_PLATFORM, COMMAND, COMMAND_INTERRUPT_DISABLE, CONFIG_ADDRESS_ENABLE,
    CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, HEADER_TYPE, INTERRUPT_LINE, REVISION_ID,
    SUBSYSTEM_VENDOR_ID, XEN_PLATFORM_DEVICE,
};
use alloc::string::ToString;
use pc_layout::ports::{XEN_PLATFORM_IO, XEN_PLATFORM_IO_SIZE, XEN_UNPLUG, XEN_UNPLUG_COUNT};
use std::vec;
use test_rng::XorShift;

/// Keeps the lines the device logs.
struct Lines(Rc<RefCell<Vec<String>>>);

impl GuestLogSink for Lines {
    fn log_line(&mut self, line: &str) {
        self.0.borrow_mut().push(line.to_string());
    }
}

type Logged = Rc<RefCell<Vec<String>>>;

/// The device on a port bus at its fixed block and at BAR0's base.
fn machine() -> (PortIoBus, Rc<RefCell<XenPlatform>>, Logged) {
    let logged = Rc::new(RefCell::new(Vec::new()));
    let dev = Rc::new(RefCell::new(XenPlatform::new(Box::new(Lines(
        logged.clone(),
    )))));
    let mut bus = PortIoBus::default();
    bus.register(
        XEN_UNPLUG,
        XEN_UNPLUG_COUNT,
        Box::new(XenUnplugPorts(dev.clone())),
    )
    .unwrap();
    bus.register(
        XEN_PLATFORM_IO,
        XEN_PLATFORM_IO_SIZE,
        Box::new(XenPlatformBarPorts(dev.clone())),
    )
    .unwrap();
    (bus, dev, logged)
}

#[test]
fn linux_identifies_itself_and_asks_for_disks_and_nics_to_go() {
    let (mut bus, dev, _) = machine();
    // check_platform_magic, then xen_unplug_emulated_devices.
    assert_eq!(bus.read(0x10, 2), 0x49D2);
    assert_eq!(bus.read(0x12, 1), 1);
    bus.write(0x12, 2, 3);
    bus.write(0x10, 4, 1);
    assert_eq!(bus.read(0x10, 2), 0x49D2, "never blacklisted");
    assert_eq!(dev.borrow_mut().take_unplug_request(), None);
    bus.write(0x10, 2, u32::from(UNPLUG_IDE_DISKS | UNPLUG_NICS));
    let mut d = dev.borrow_mut();
    assert_eq!(d.take_unplug_request(), Some(0x0003));
    assert_eq!(d.take_unplug_request(), None, "taken once");
    assert_eq!(d.unplug_requested(), 0x0003);
    assert_eq!(
        d.identity(),
        GuestIdentity {
            product: Some(3),
            build: Some(1)
        }
    );
    assert_eq!(product_name(3), Some("linux"));
    assert_eq!(product_name(7), None);
}

#[test]
fn requests_made_before_the_board_looks_add_up() {
    let (mut bus, dev, _) = machine();
    bus.write(0x10, 2, u32::from(UNPLUG_NICS));
    bus.write(0x10, 2, u32::from(UNPLUG_NVME_DISKS));
    assert_eq!(dev.borrow_mut().take_unplug_request(), Some(0x000A));
    bus.write(0x10, 2, 0);
    assert_eq!(dev.borrow_mut().take_unplug_request(), Some(0));
}

#[test]
fn other_widths_and_offsets_answer_as_qemu_does() {
    let (mut bus, dev, _) = machine();
    assert_eq!(bus.read(0x10, 1), 0, "platform flags");
    assert_eq!(bus.read(0x10, 4), 0xFFFF_FFFF);
    assert_eq!(bus.read(0x11, 1), 0xFF);
    assert_eq!(bus.read(0x11, 2), 0xFFFF);
    assert_eq!(bus.read(0x12, 2), 0xFFFF);
    assert_eq!(bus.read(0x1F, 1), 0xFF);
    bus.write(0x10, 1, 0xFF);
    assert_eq!(bus.read(0x10, 1), u32::from(PLATFORM_FLAG_ROM_LOCK));
    // Ignored writes change nothing the guest or the board can see.
    bus.write(0x11, 2, 0xFFFF);
    bus.write(0x14, 4, 0xFFFF_FFFF);
    bus.write(0x12, 4, 0x1234_5678);
    let mut d = dev.borrow_mut();
    assert_eq!(d.take_unplug_request(), None);
    assert_eq!(d.identity(), GuestIdentity::default());
}

#[test]
fn log_text_comes_out_a_line_at_a_time_with_odd_bytes_escaped() {
    let (mut bus, _, logged) = machine();
    for b in b"Xen PV: hi\x07\xFF\nsecond" {
        bus.write(0x12, 1, u32::from(*b));
    }
    assert_eq!(*logged.borrow(), ["Xen PV: hi\\x07\\xff"]);
    bus.write(0x12, 1, u32::from(b'\n'));
    assert_eq!(logged.borrow()[1], "second");
}

#[test]
fn a_line_without_a_newline_is_cut_at_the_buffer_size() {
    let (mut bus, _, logged) = machine();
    for _ in 0..LOG_LINE_MAX + 10 {
        bus.write(0x12, 1, u32::from(b'a'));
    }
    assert_eq!(logged.borrow().len(), 1);
    assert_eq!(logged.borrow()[0].len(), LOG_LINE_MAX);
}

#[test]
fn a_chatty_guest_is_rate_limited() {
    let (mut bus, dev, logged) = machine();
    for _ in 0..5000 {
        bus.write(0x12, 1, u32::from(b'x'));
        bus.write(0x12, 1, u32::from(b'\n'));
    }
    assert_eq!(dev.borrow().log_lines_seen(), 5000);
    assert!(logged.borrow().len() < 64, "{}", logged.borrow().len());
}

#[test]
fn bar0_answers_bytes_and_takes_the_old_suse_and_vmdp_unplugs() {
    let (mut bus, dev, logged) = machine();
    let bar = XEN_PLATFORM_IO;
    assert_eq!(bus.read(bar, 1), 0);
    assert_eq!(bus.read(bar, 2), 0xFF00);
    assert_eq!(bus.read(bar + 1, 4), 0xFFFF_FFFF);
    bus.write(bar, 1, 1);
    assert_eq!(bus.read(0x10, 1), 1, "the same flags as port 10h");
    bus.write(bar + 4, 4, 1); // SUSE: outl(1, ioaddr + 4)
    assert_eq!(dev.borrow_mut().take_unplug_request(), Some(0x0003));
    bus.write(bar + 8, 1, 2);
    assert_eq!(dev.borrow_mut().take_unplug_request(), Some(UNPLUG_NICS));
    bus.write(bar + 8, 1, 1);
    assert_eq!(
        dev.borrow_mut().take_unplug_request(),
        Some(UNPLUG_IDE_DISKS)
    );
    for b in b"ok\n" {
        bus.write(bar + 8, 1, u32::from(*b));
    }
    assert_eq!(*logged.borrow(), ["ok"]);
    assert_eq!(dev.borrow_mut().take_unplug_request(), None);
}

#[test]
fn the_intx_level_follows_the_event_pending_state() {
    let (_, dev, _) = machine();
    let mut d = dev.borrow_mut();
    assert!(!d.intx_level());
    d.set_event_pending(true);
    assert!(d.intx_level());
    d.set_event_pending(false);
    assert!(!d.intx_level());
}

#[test]
fn random_port_traffic_never_panics_and_keeps_the_protocol_answers() {
    let mut rng = XorShift::per_run(
        "random_port_traffic_never_panics_and_keeps_the_protocol_answers",
        0x5853_0001,
    );
    let (mut bus, dev, logged) = machine();
    for _ in 0..200_000 {
        let port = match rng.below(3) {
            0 => XEN_UNPLUG + rng.below(u64::from(XEN_UNPLUG_COUNT) + 2) as u16,
            1 => XEN_PLATFORM_IO.wrapping_add(rng.below(0x104) as u16),
            _ => rng.next() as u16,
        };
        let size = [1u8, 2, 4, 3, 0, 8][rng.below(6) as usize];
        if rng.below(2) == 0 {
            let v = bus.read(port, size);
            assert!(u64::from(v) <= u64::from(all_ones(size)));
        } else {
            bus.write(port, size, rng.next() as u32);
        }
        if rng.below(1000) == 0 {
            let _ = dev.borrow_mut().take_unplug_request();
        }
    }
    assert_eq!(bus.read(0x10, 2), u32::from(MAGIC));
    assert_eq!(bus.read(0x12, 1), u32::from(PROTOCOL_VERSION));
    let d = dev.borrow();
    assert!(d.line.len() < LOG_LINE_MAX);
    assert!(d.flags() & !PLATFORM_FLAG_ROM_LOCK == 0);
    assert!(logged.borrow().iter().all(|l| l.len() <= 4 * LOG_LINE_MAX));
}

// ---------------------------------------------------------------------------
// The PCI function
// ---------------------------------------------------------------------------

fn cfg_read(bus: &mut PciBus, reg: u8, size: u8) -> u32 {
    let addr =
        CONFIG_ADDRESS_ENABLE | (u32::from(XEN_PLATFORM_DEVICE) << 11) | u32::from(reg & 0xFC);
    bus.write(CONFIG_ADDRESS_PORT, 4, addr);
    bus.read(CONFIG_DATA_PORT + u16::from(reg & 3), size)
}

fn cfg_write(bus: &mut PciBus, reg: u8, size: u8, value: u32) {
    let addr =
        CONFIG_ADDRESS_ENABLE | (u32::from(XEN_PLATFORM_DEVICE) << 11) | u32::from(reg & 0xFC);
    bus.write(CONFIG_ADDRESS_PORT, 4, addr);
    bus.write(CONFIG_DATA_PORT + u16::from(reg & 3), size, value);
}

fn pc_with_xen() -> PciBus {
    let mut bus = PciBus::new_pc();
    bus.add_xen_platform().unwrap();
    bus
}

#[test]
fn the_platform_device_has_xens_identity_at_03_0() {
    let mut bus = pc_with_xen();
    assert_eq!(cfg_read(&mut bus, 0, 4), 0x0001_5853);
    assert_eq!(
        cfg_read(&mut bus, REVISION_ID, 4),
        CLASS_XEN_PLATFORM << 8 | 1
    );
    assert_eq!(cfg_read(&mut bus, SUBSYSTEM_VENDOR_ID, 4), 0x0001_5853);
    assert_eq!(cfg_read(&mut bus, HEADER_TYPE, 1), 0);
    assert_eq!(cfg_read(&mut bus, COMMAND, 2), 0x0003, "I/O and memory on");
    assert_eq!(
        cfg_read(&mut bus, INTERRUPT_LINE, 2),
        0x01_0B,
        "INTA#, IRQ 11"
    );
    assert_eq!(cfg_read(&mut bus, BAR0, 4), u32::from(XEN_PLATFORM_IO) | 1);
    assert_eq!(cfg_read(&mut bus, BAR0 + 4, 4), 0xF000_0008);
    for bar in 2..6u8 {
        assert_eq!(cfg_read(&mut bus, BAR0 + 4 * bar, 4), 0);
    }
    assert_eq!(bus.xen_platform_io_base(), Some(XEN_PLATFORM_IO));
    assert_eq!(bus.xen_platform_mmio_base(), Some(0xF000_0000));
    assert!(bus.add_xen_platform().is_err(), "one per bus");
    assert_eq!(PciBus::new_pc().xen_platform_io_base(), None);
}

#[test]
fn sizing_the_bars_reads_their_sizes_and_the_firmware_bases_go_back() {
    let mut bus = pc_with_xen();
    for (reg, size_mask, base) in [
        (BAR0, 0xFFFF_FF01u32, u32::from(XEN_PLATFORM_IO) | 1),
        (BAR0 + 4, 0xFF00_0008, 0xF000_0008),
    ] {
        cfg_write(&mut bus, reg, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, reg, 4), size_mask, "BAR at {reg:#x}");
        cfg_write(&mut bus, reg, 4, base);
        assert_eq!(cfg_read(&mut bus, reg, 4), base);
    }
    // An unaligned base loses its low bits; moving BAR0 moves the decode.
    cfg_write(&mut bus, BAR0, 4, 0xD0FF);
    assert_eq!(bus.xen_platform_io_base(), Some(0xD000));
    cfg_write(&mut bus, COMMAND, 2, 0);
    assert_eq!(bus.xen_platform_io_base(), None);
    assert_eq!(bus.xen_platform_mmio_base(), None);
}

#[test]
fn interrupt_disable_masks_inta() {
    let mut bus = pc_with_xen();
    assert!(bus.xen_platform_intx_enabled());
    cfg_write(
        &mut bus,
        COMMAND,
        2,
        u32::from(0x3 | COMMAND_INTERRUPT_DISABLE),
    );
    assert!(!bus.xen_platform_intx_enabled());
    assert_eq!(cfg_read(&mut bus, COMMAND, 2), 0x0403);
    assert!(!PciBus::new_pc().xen_platform_intx_enabled());
}

#[test]
fn the_ide_controller_gives_up_disks_but_never_cd_roms() {
    use crate::atapi::AtapiDrive;
    use crate::ide::IdeController;
    use block_backend::MemoryBlock;
    let mut ide = IdeController::new();
    ide.attach_disk(0, false, Box::new(MemoryBlock::new(vec![0u8; 4096], false)));
    let cd = MemoryBlock::new(vec![0u8; 4 * 2048], true);
    ide.attach_cdrom(1, false, AtapiDrive::new(Some(Box::new(cd))));
    assert!(ide.has_disk(0, false));
    assert!(!ide.has_disk(1, false), "a CD-ROM drive is no disk");
    assert!(!ide.has_disk(9, false));
    assert!(!ide.detach_disk(1, false), "a CD-ROM drive stays");
    assert!(!ide.detach_disk(0, true), "nothing there");
    assert!(!ide.detach_disk(7, false), "no such channel");
    assert!(ide.detach_disk(0, false));
    assert!(!ide.detach_disk(0, false), "already gone");
    assert!(!ide.has_disk(0, false));
    // With no device 0 left, the primary channel floats.
    assert_eq!(ide.read(0x1F7, 1) & 0xFF, 0xFF);
}

#[test]
fn firmware_can_route_a_pirq_and_take_the_route_away() {
    let mut bus = PciBus::new_pc();
    assert_eq!(bus.pirq_route(2), None, "disabled at power-on");
    bus.set_pirq_route(2, Some(11));
    assert_eq!(bus.pirq_route(2), Some(11));
    assert_eq!(bus.pirq_route(1), None, "its neighbours untouched");
    bus.set_pirq_route(2, None);
    assert_eq!(bus.pirq_route(2), None);
    bus.set_pirq_route(9, Some(11));
}

#[test]
fn random_config_traffic_to_the_platform_device_keeps_its_identity_and_bar_types() {
    let mut rng = XorShift::per_run(
        "random_config_traffic_to_the_platform_device_keeps_its_identity_and_bar_types",
        0x5853_0003,
    );
    let mut bus = pc_with_xen();
    for _ in 0..50_000 {
        let reg = rng.byte();
        let size = [1u8, 2, 4][rng.below(3) as usize];
        if rng.below(2) == 0 {
            cfg_write(&mut bus, reg, size, rng.next() as u32);
        } else {
            let _ = cfg_read(&mut bus, reg, size);
        }
    }
    assert_eq!(cfg_read(&mut bus, 0, 4), 0x0001_5853);
    assert_eq!(cfg_read(&mut bus, SUBSYSTEM_VENDOR_ID, 4), 0x0001_5853);
    assert_eq!(
        cfg_read(&mut bus, REVISION_ID, 4),
        CLASS_XEN_PLATFORM << 8 | 1
    );
    assert_eq!(cfg_read(&mut bus, BAR0, 4) & 0xFF, 0x01, "I/O, 256 bytes");
    assert_eq!(cfg_read(&mut bus, BAR0 + 4, 4) & 0x00FF_FFFF, 0x08);
    assert_eq!(cfg_read(&mut bus, INTERRUPT_LINE + 1, 1), 1, "INTA#");
    if let Some(base) = bus.xen_platform_io_base() {
        assert_eq!(base & 0xFF, 0);
    }
}
