//! Resets on the host: a fake vCPU writing the reset ports of real devices.

use super::history::RESET_LOOP_LIMIT;
use super::*;
use crate::guest_boot::bios::{attach_bios, BiosMedia};
use crate::guest_boot::rom::load_rom_image;
use crate::guest_config::GuestConfig;
use crate::guest_memory::test_memory;
use crate::run_loop::run_vcpu;
use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
use crate::vcpu::{Gpr, IoAccess, IoDirection, SegReg, VmExit};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{BlockBackend, MemoryBlock, SharedBlock};
use core::cell::Cell;
use device_model::pci::ResetKind;
use firmware::bios::BootProblem;

use crate::test_support::Discard;

/// The test ROM: 4 KiB of HLT with a far jump at the reset vector.
fn rom() -> Vec<u8> {
    let mut image = vec![0xF4u8; 0x1000];
    image[0xFF0..0xFF5].copy_from_slice(&[0xEA, 0x00, 0xF0, 0x00, 0xFF]);
    image
}

/// A ROM guest with 2 MiB of RAM, as the boot path builds one.
fn domain(no_reboot: bool) -> Domain {
    let mut memory = test_memory(0x20_0000);
    load_rom_image(&mut memory, &rom(), "test").unwrap();
    let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
    let config = GuestConfig {
        no_reboot,
        ..GuestConfig::default()
    };
    let mut dom = Domain::new(
        1,
        config,
        memory,
        Box::new(FakeTables::default()),
        Box::new(Discard),
        clock,
        0,
    )
    .unwrap();
    dom.rom_image = rom();
    dom
}

/// A vCPU in the middle of a ROM that executes `OUT port, AL` with `al`.
fn guest_writing(port: u16, al: u8) -> FakeVcpu {
    let mut vcpu = FakeVcpu::at(0xF_0000, 0x100);
    vcpu.gprs[Gpr::Rax as usize] = u64::from(al);
    vcpu.exits = vec![VmExit::Io(IoAccess {
        port,
        size: 1,
        direction: IoDirection::Out,
        string: false,
        rep: false,
        next_rip: Some(0x102),
    })];
    vcpu
}

#[test]
fn with_no_reboot_an_i8042_pulse_stops_the_guest_cleanly_with_the_reason() {
    let mut dom = domain(true);
    let mut vcpu = guest_writing(0x64, 0xFE);
    let reason = run_vcpu(&mut vcpu, &mut dom, &FakeHost::default());
    assert_eq!(
        reason,
        StopReason::ResetRequested {
            source: ResetSource::I8042Pulse
        }
    );
    assert!(reason.is_clean(), "the run ends as QEMU -no-reboot's does");
    assert!(!reason.shows_guest_state());
    assert_eq!(
        alloc::format!("{reason}"),
        "reset requested (i8042 pulse), not rebooting (no_reboot)"
    );
    assert_eq!(vcpu.resets, 0);
    assert_eq!(vcpu.rip, 0x102, "stopped after the OUT");
}

#[test]
fn every_reset_port_is_a_request_with_its_own_source() {
    for (port, value, source) in [
        (0x64, 0xFE, ResetSource::I8042Pulse),
        (0xCF9, 0x06, ResetSource::ResetControl(ResetKind::Hard)),
        (0xCF9, 0x0E, ResetSource::ResetControl(ResetKind::Hard)),
        (0x92, 0x01, ResetSource::FastReset),
        (0x92, 0x03, ResetSource::FastReset),
    ] {
        let mut dom = domain(true);
        let mut vcpu = guest_writing(port, value);
        assert_eq!(
            run_vcpu(&mut vcpu, &mut dom, &FakeHost::default()),
            StopReason::ResetRequested { source },
            "{port:#x} <- {value:#x}"
        );
    }
    // Writes that ask for nothing run on (to the end of the script: the fake
    // vCPU then shuts down).
    for (port, value) in [(0x64, 0xFF), (0xCF9, 0x02), (0x92, 0x02)] {
        let mut dom = domain(true);
        let mut vcpu = guest_writing(port, value);
        assert_eq!(
            run_vcpu(&mut vcpu, &mut dom, &FakeHost::default()),
            StopReason::TripleFault,
            "{port:#x} <- {value:#x}"
        );
    }
}

#[test]
fn without_no_reboot_the_guest_restarts_at_the_reset_vector_on_fresh_devices() {
    let mut dom = domain(false);
    // What the guest did before: the PIC programmed with only IRQ3 unmasked,
    // a byte in CMOS RAM, the ROM's RAM copy scribbled on (through the
    // hypervisor's view: the guest's own stores to it are refused).
    for (port, value) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] {
        dom.io.write(port, 1, value);
    }
    dom.io.write(0x21, 1, 0xF7);
    dom.io.write(0x70, 1, 0x40);
    dom.io.write(0x71, 1, 0x5A);
    dom.memory.ram_mut()[0xF_F000..0x10_0000].fill(0);
    dom.memory.ram_mut()[0x600] = 0x42;
    let mut vcpu = guest_writing(0x64, 0xFE);
    vcpu.cr.cr0 = 0x11;
    vcpu.gprs[Gpr::Rbx as usize] = 0x1234;

    let reason = run_vcpu(&mut vcpu, &mut dom, &FakeHost::default());
    // The script ends with a shutdown after the reboot: a triple fault still
    // stops the guest.
    assert_eq!(reason, StopReason::TripleFault);
    assert_eq!(vcpu.resets, 1);
    assert_eq!(dom.resets.count(), 1);
    assert_eq!(vcpu.rip, 0xFFF0);
    let cs = vcpu.segment(SegReg::Cs);
    assert_eq!((cs.selector, cs.base), (0xF000, 0xFFFF_0000));
    assert_eq!(vcpu.cr.cr0, 0x6000_0010);
    assert_eq!(vcpu.gprs[Gpr::Rbx as usize], 0);
    assert_eq!(dom.io.read(0x21, 1), 0xFF, "the 8259's power-on mask");
    dom.io.write(0x70, 1, 0x40);
    assert_eq!(dom.io.read(0x71, 1), 0x5A, "CMOS RAM is battery-backed");
    assert_eq!(
        dom.memory.read_bytes::<1>(0x600).unwrap(),
        [0x42],
        "RAM kept"
    );
    let mut vector = [0u8; 5];
    dom.memory.read(0xFFFF_FFF0, &mut vector).unwrap();
    assert_eq!(
        vector,
        [0xEA, 0x00, 0xF0, 0x00, 0xFF],
        "the ROM loaded again"
    );
    // The test-exit port is on the new bus.
    dom.io.write(pc_layout::ports::TEST_EXIT, 1, 0);
    assert_eq!(dom.exit_request.get(), Some(0));
}

#[test]
fn a_reset_gives_a_bios_guest_a_fresh_bios_for_the_same_media() {
    let mut dom = domain(false);
    dom.config.boot_order = vec![firmware::bios::BootDevice::Floppy];
    let floppy = SharedBlock::new(MemoryBlock::new(vec![0u8; 1_474_560], false));
    let disk = SharedBlock::new(MemoryBlock::new(vec![0u8; 1 << 20], false));
    let idle_status = dom.io.read(0x1F7, 1);
    attach_bios(
        &mut dom,
        BiosMedia {
            disks: vec![disk.clone()],
            floppy: Some(floppy.clone()),
            cdrom: None,
        },
        Box::new(Discard),
    );
    let disk_status = dom.io.read(0x1F7, 1);
    assert_ne!(disk_status, idle_status, "the status of a present drive");
    let bios = dom.bios.as_mut().unwrap();
    bios.problems
        .push(BootProblem("from the first boot".into()));
    bios.boot_order.clear();
    bios.drives.list.clear();
    let mut written = disk.clone();
    written.write_at(512, &[0xAB]).unwrap();

    let mut vcpu = FakeVcpu::default();
    reset_domain(&mut vcpu, &mut dom).unwrap();
    let bios = dom.bios.as_ref().unwrap();
    assert!(bios.problems.is_empty(), "a BIOS that has not booted yet");
    assert_eq!(bios.boot_order, [firmware::bios::BootDevice::Floppy]);
    assert_eq!(bios.drives.list.len(), 2, "floppy and hard disk again");
    let mut byte = [0u8];
    bios.drives.list[1].medium.read_at(512, &mut byte).unwrap();
    assert_eq!(byte, [0xAB], "the disk as the guest left it");
    assert_eq!(
        dom.io.read(0x1F7, 1),
        disk_status,
        "the disk is on IDE again"
    );
    assert_eq!(vcpu.resets, 1);
}

/// The status register of the IDE device at `(channel, slave)`, selected
/// through its Device register (ATA/ATAPI-6, 7.10 and 7.15).
fn ide_status(dom: &mut Domain, (channel, slave): (usize, bool)) -> u32 {
    let base = [0x1F0, 0x170][channel];
    dom.io.write(base + 6, 1, if slave { 0xB0 } else { 0xA0 });
    dom.io.read(base + 7, 1)
}

#[test]
fn three_disks_take_the_ide_places_beside_the_cd_and_drives_80h_to_82h_after_a_reset_too() {
    let mut dom = domain(false);
    let positions = [(0, false), (0, true), (1, false), (1, true)];
    let idle: Vec<u32> = positions.iter().map(|p| ide_status(&mut dom, *p)).collect();
    let disks: Vec<SharedBlock> = (1..=3u8)
        .map(|n| SharedBlock::new(MemoryBlock::new(vec![n; 1 << 20], n == 2)))
        .collect();
    let cd = SharedBlock::new(MemoryBlock::new(vec![0u8; 1 << 20], true));
    attach_bios(
        &mut dom,
        BiosMedia {
            disks: disks.clone(),
            cdrom: Some(cd),
            floppy: None,
        },
        Box::new(Discard),
    );
    let mut vcpu = FakeVcpu::default();
    for round in ["attached", "after a reset"] {
        let present: Vec<u32> = positions.iter().map(|p| ide_status(&mut dom, *p)).collect();
        for (i, p) in positions.iter().enumerate() {
            assert_ne!(present[i], idle[i], "{round}: a drive at {p:?}");
        }
        let bios = dom.bios.as_mut().unwrap();
        let numbers: Vec<u8> = bios.drives.list.iter().map(|d| d.number).collect();
        assert_eq!(numbers, [0x80, 0x81, 0x82], "{round}");
        for (n, d) in bios.drives.list.iter_mut().enumerate() {
            let mut byte = [0u8];
            d.medium.read_at(0, &mut byte).unwrap();
            assert_eq!(byte[0], n as u8 + 1, "{round}: drive {:#x}", d.number);
        }
        assert!(bios.drives.list[1].medium.read_only(), "{round}");
        reset_domain(&mut vcpu, &mut dom).unwrap();
    }
}

#[test]
fn more_than_a_hundred_resets_within_ten_seconds_stop_the_guest_as_a_loop() {
    let mut dom = domain(false);
    let mut vcpu = FakeVcpu::default();
    for i in 0..RESET_LOOP_LIMIT {
        let flow = handle_reset_request(&mut vcpu, &mut dom, ResetSource::I8042Pulse, 0);
        assert_eq!(flow, Flow::Continue, "reset {}", i + 1);
    }
    let flow = handle_reset_request(&mut vcpu, &mut dom, ResetSource::I8042Pulse, 9_999);
    let Flow::Stop(reason) = flow else {
        panic!("{flow:?}")
    };
    assert_eq!(
        reason,
        StopReason::ResetLoop {
            resets: 100,
            window_secs: 10
        }
    );
    assert!(!reason.is_clean());
    assert_eq!(
        alloc::format!("{reason}"),
        "reboot loop: more than 100 resets within 10 s of host time"
    );
    assert_eq!(vcpu.resets, RESET_LOOP_LIMIT);
}
