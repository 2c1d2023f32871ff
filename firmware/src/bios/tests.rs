//! Tests of POST and the bootstrap loader against a fake machine: 1 MiB of
//! guest memory, the real CMOS RTC and 8042, and hand-made ISO images.

use super::*;
use crate::eltorito::catalog::{
    BOOTABLE, MEDIA_FLOPPY_1M44, MEDIA_HARD_DISK, MEDIA_NO_EMULATION, PLATFORM_X86,
};
use crate::eltorito::test_iso::{boot_entry, mbr, pattern, Iso, IMAGE_SECTOR};
use crate::memory::VecMemory;
use crate::system::test_platform::FakePlatform;
use crate::system::{E820_MAX_ENTRIES, E820_TYPE_RESERVED, SMAP, XEN_SPECIAL_PAGES};
use alloc::vec;
use block_backend::MemoryBlock;

const MIB: usize = 1 << 20;
const VGA_TEXT: usize = pc_layout::memory::VGA_TEXT as usize;

fn machine() -> (VecMemory, FakePlatform) {
    (VecMemory(vec![0; MIB]), FakePlatform::new(64 << 20))
}

fn post(bios: &mut Bios, mem: &mut VecMemory, pf: &mut FakePlatform) -> Next {
    let mut regs = Regs::default();
    bios.handle(Service::Post, &mut regs, mem, pf)
}

fn int13(bios: &mut Bios, mem: &mut VecMemory, pf: &mut FakePlatform, regs: &mut Regs) {
    bios.handle(Service::Interrupt(0x13), regs, mem, pf);
}

/// A hard disk of `sectors` 512-byte sectors, each filled with its number's
/// low byte plus `salt`, with a boot signature on sector 0.
fn disk(sectors: usize, salt: u8) -> Box<dyn BlockBackend> {
    let mut bytes = vec![0u8; sectors * 512];
    for (i, s) in bytes.chunks_mut(512).enumerate() {
        s.fill((i as u8).wrapping_add(salt));
    }
    bytes[510] = 0x55;
    bytes[511] = 0xAA;
    Box::new(MemoryBlock::new(bytes, false))
}

fn cd(iso: Iso) -> SharedBlock {
    SharedBlock::new(MemoryBlock::new(iso.0, true))
}

/// Text on the first screen row.
fn first_row(mem: &VecMemory) -> alloc::string::String {
    mem.0[VGA_TEXT..VGA_TEXT + 160]
        .iter()
        .step_by(2)
        .map(|b| *b as char)
        .collect()
}

#[test]
fn post_points_every_vector_at_the_rom_and_fills_the_bda() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(None, Some(disk(64, 0)), None, vec![BootDevice::Disk]);
    post(&mut bios, &mut mem, &mut pf);
    for (v, (seg, off)) in rom::ivt().iter().enumerate() {
        assert_eq!(mem.read_u16(v as u32 * 4), *off, "vector {v:#x}");
        assert_eq!(mem.read_u16(v as u32 * 4 + 2), *seg, "vector {v:#x}");
    }
    assert_eq!(mem.read_u8(BDA_HARD_DISKS), 1);
}

#[test]
fn a_no_emulation_cd_loads_at_its_segment_and_boots_with_dl_e0() {
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(None, None, Some(cd(iso)), vec![BootDevice::Cdrom]);
    let next = post(&mut bios, &mut mem, &mut pf);
    assert_eq!(
        next,
        Next::Boot {
            cs: 0x7C0,
            ip: 0,
            dl: DRIVE_CDROM
        }
    );
    for i in 0..2048 {
        assert_eq!(mem.0[0x7C00 + i], pattern(i), "byte {i}");
    }
    assert_eq!(mem.0[0x7C00 + 2048], 0, "only four virtual sectors load");
}

#[test]
fn floppy_emulation_makes_the_image_drive_00h() {
    // A 1.44 MB image: 720 CD sectors.
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_FLOPPY_1M44, 0, 1, IMAGE_SECTOR),
        720,
    );
    iso.image_bytes(0, &[0xEB, 0x3C, 0x90]);
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(None, None, Some(cd(iso)), vec![BootDevice::Cdrom]);
    let next = post(&mut bios, &mut mem, &mut pf);
    assert_eq!(
        next,
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_FLOPPY
        }
    );
    assert_eq!(&mem.0[0x7C00..0x7C03], &[0xEB, 0x3C, 0x90]);
    // INT 13h AH=08h on drive 00h: 80 cylinders, 2 heads, 18 sectors.
    let mut r = Regs {
        eax: 0x0800,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert!(!r.cf());
    assert_eq!((r.ch(), r.cl() & 0x3F, r.dh()), (79, 18, 1));
    // Equipment word bit 0: a diskette drive is installed.
    assert_eq!(mem.read_u16(0x410) & 1, 1);
}

#[test]
fn further_hard_disks_are_81h_and_82h_and_the_boot_stays_with_80h() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(None, Some(disk(64, 0)), None, vec![BootDevice::Disk]);
    assert_eq!(bios.add_hard_disk(disk(32, 0x20)), 0x81);
    assert_eq!(bios.add_hard_disk(disk(16, 0x30)), 0x82);
    let next = post(&mut bios, &mut mem, &mut pf);
    assert_eq!(
        next,
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_HARD_DISK
        }
    );
    assert_eq!(mem.read_u8(BDA_HARD_DISKS), 3);
    // AH=02h: sector 3 (C0 H0 S4) of each drive is its own; AH=08h counts three.
    for (drive, expected) in [(0x80u32, 3), (0x81, 3 + 0x20), (0x82, 3 + 0x30)] {
        let mut r = Regs {
            eax: 0x0201,
            ecx: 0x0004,
            edx: drive,
            ebx: 0x8000,
            ..Default::default()
        };
        int13(&mut bios, &mut mem, &mut pf, &mut r);
        assert!(!r.cf(), "drive {drive:#x}: AH={:#x}", r.ah());
        assert!(mem.0[0x8000..0x8200].iter().all(|b| *b == expected));
        let mut r = Regs {
            eax: 0x0800,
            edx: drive,
            ..Default::default()
        };
        int13(&mut bios, &mut mem, &mut pf, &mut r);
        assert!(!r.cf() && r.dl() == 3, "drive {drive:#x}");
    }
    let mut r = Regs {
        eax: 0x0800,
        edx: 0x83,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert!(r.cf(), "no drive 83h");
}

/// An ISO whose hard-disk-emulation image has geometry 2/4/17 (136
/// sectors); sector `n` of the image holds `n + 0x40` except the MBR.
fn hard_disk_iso(signature: bool) -> Iso {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_HARD_DISK, 0, 1, IMAGE_SECTOR),
        34,
    );
    for n in 1..136u8 {
        iso.image_bytes(usize::from(n) * 512, &[n + 0x40; 512]);
    }
    let mut m = mbr(1, 3, 17);
    if !signature {
        m[0x1FF] = 0;
    }
    iso.image_bytes(0, &m);
    iso
}

#[test]
fn hard_disk_emulation_is_drive_80h_and_the_real_disk_moves_to_81h() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(
        None,
        Some(disk(64, 0x10)),
        Some(cd(hard_disk_iso(true))),
        vec![BootDevice::Cdrom, BootDevice::Disk],
    );
    let next = post(&mut bios, &mut mem, &mut pf);
    assert_eq!(
        next,
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_HARD_DISK
        }
    );
    assert_eq!(&mem.0[0x7C00..0x7E00], &mbr(1, 3, 17)[..]);
    assert_eq!(mem.read_u8(BDA_HARD_DISKS), 2);

    // AH=08h on 80h: the image's geometry and two hard disks.
    let mut r = Regs {
        eax: 0x0800,
        edx: 0x80,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert!(!r.cf());
    assert_eq!((r.ch(), r.cl() & 0x3F, r.dh(), r.dl()), (1, 17, 3, 2));

    // AH=02h: sector 5 (C0 H0 S6) of 80h is the image's, of 81h the disk's.
    for (drive, expected) in [(0x80u32, 5 + 0x40), (0x81, 5 + 0x10)] {
        let mut r = Regs {
            eax: 0x0201,
            ecx: 0x0006,
            edx: drive,
            ebx: 0x8000,
            ..Default::default()
        };
        int13(&mut bios, &mut mem, &mut pf, &mut r);
        assert!(!r.cf(), "drive {drive:#x}: AH={:#x}", r.ah());
        assert!(mem.0[0x8000..0x8200].iter().all(|b| *b == expected));
    }

    // AX=4B01h reports hard-disk emulation of drive 80h.
    let mut r = Regs {
        eax: 0x4B01,
        edx: 0x80,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert!(!r.cf());
    assert_eq!(mem.0[0x601], MEDIA_HARD_DISK);
    assert_eq!(mem.0[0x602], 0x80);
}

#[test]
fn a_hard_disk_image_without_boot_signature_falls_through_to_the_next_device() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(
        None,
        Some(disk(64, 0)),
        Some(cd(hard_disk_iso(false))),
        vec![BootDevice::Cdrom, BootDevice::Disk],
    );
    let next = post(&mut bios, &mut mem, &mut pf);
    assert_eq!(
        next,
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_HARD_DISK
        }
    );
    assert_eq!(mem.0[0x7C00], 0, "the real disk's sector 0 loaded");
    assert_eq!(
        bios.drives.get(0x80).map(|d| d.kind),
        Some(DriveKind::HardDisk)
    );
    assert!(bios.drives.get(0x81).is_none(), "no drive was renumbered");
    assert!(
        bios.problems[0].0.contains("partition table"),
        "{:?}",
        bios.problems
    );
}

#[test]
fn boot_order_is_followed() {
    let iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_NO_EMULATION, 0, 4, IMAGE_SECTOR),
        2,
    );
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(
        None,
        Some(disk(64, 0)),
        Some(cd(iso)),
        vec![BootDevice::Disk, BootDevice::Cdrom],
    );
    assert_eq!(
        post(&mut bios, &mut mem, &mut pf),
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_HARD_DISK
        }
    );
}

#[test]
fn nothing_bootable_says_so_on_screen_and_halts() {
    let (mut mem, mut pf) = machine();
    let empty: Box<dyn BlockBackend> = Box::new(MemoryBlock::new(vec![0; 64 * 512], false));
    let mut bios = Bios::new(
        None,
        Some(empty),
        Some(cd(Iso::blank(32))),
        vec![BootDevice::Cdrom, BootDevice::Disk, BootDevice::Floppy],
    );
    assert_eq!(post(&mut bios, &mut mem, &mut pf), Next::Halt);
    assert!(
        first_row(&mem).starts_with("No bootable device."),
        "{:?}",
        first_row(&mem)
    );
    assert_eq!(bios.problems.len(), 2, "{:?}", bios.problems);
}

/// A UART that records writes; its line status says "transmitter empty,
/// `data_ready`", its receive buffer holds `rx`.
struct RecordingUart {
    writes: Vec<(u16, u8)>,
    data_ready: bool,
    rx: u8,
}

impl BiosPlatform for RecordingUart {
    fn port_in(&mut self, port: u16) -> u8 {
        match port {
            0x3FD => 0x60 | u8::from(self.data_ready),
            0x3FE => 0xB0,
            0x3F8 => self.rx,
            _ => 0xFF,
        }
    }
    fn port_out(&mut self, port: u16, value: u8) {
        self.writes.push((port, value));
    }
    fn ram_size(&self) -> u64 {
        64 << 20
    }
    fn now_ns(&self) -> u64 {
        0
    }
}

fn int14(uart: &mut RecordingUart, ax: u16, dx: u16) -> Regs {
    let mut mem = VecMemory(vec![0; MIB]);
    let mut bios = Bios::new(None, None, None, vec![]);
    let mut regs = Regs {
        eax: u32::from(ax),
        edx: u32::from(dx),
        ..Default::default()
    };
    bios.handle(Service::Interrupt(0x14), &mut regs, &mut mem, uart);
    regs
}

#[test]
fn int14_initialises_sends_and_receives_on_com1() {
    let mut uart = RecordingUart {
        writes: Vec::new(),
        data_ready: false,
        rx: b'k',
    };
    // AL=E3h: 9600 baud, no parity, one stop bit, 8 bits.
    let r = int14(&mut uart, 0x00E3, 0);
    assert_eq!(
        uart.writes,
        vec![(0x3FB, 0x80), (0x3F8, 12), (0x3F9, 0), (0x3FB, 0x03)]
    );
    assert_eq!((r.ah(), r.al()), (0x60, 0xB0));

    uart.writes.clear();
    let r = int14(&mut uart, 0x0141, 0);
    assert_eq!(uart.writes, vec![(0x3F8, b'A')]);
    assert_eq!(r.ah() & 0x80, 0);

    let r = int14(&mut uart, 0x0200, 0);
    assert_ne!(r.ah() & 0x80, 0, "nothing received: time-out");
    uart.data_ready = true;
    let r = int14(&mut uart, 0x0200, 0);
    assert_eq!((r.ah() & 0x80, r.al()), (0, b'k'));
}

#[test]
fn int14_on_a_port_that_does_not_exist_times_out() {
    let mut uart = RecordingUart {
        writes: Vec::new(),
        data_ready: false,
        rx: 0,
    };
    let r = int14(&mut uart, 0x0141, 9);
    assert_eq!(r.ah(), 0x80);
    assert!(uart.writes.is_empty());
}

/// The 8259 and 8254 writes among `writes`.
fn pic_and_pit(writes: &[(u16, u8)]) -> Vec<(u16, u8)> {
    writes
        .iter()
        .copied()
        .filter(|(port, _)| matches!(port, 0x20 | 0x21 | 0xA0 | 0xA1 | 0x40..=0x43))
        .collect()
}

#[test]
fn post_programs_the_interrupt_controllers_timer_and_com_table_as_the_at_does() {
    let mut pf = RecordingUart {
        writes: Vec::new(),
        data_ready: false,
        rx: 0,
    };
    let mut mem = VecMemory(vec![0; MIB]);
    let mut bios = Bios::new(None, None, None, vec![]);
    bios.handle(Service::Post, &mut Regs::default(), &mut mem, &mut pf);
    assert_eq!(
        pic_and_pit(&pf.writes),
        vec![
            (0x20, 0x11),
            (0xA0, 0x11),
            (0x21, 0x08),
            (0xA1, 0x70),
            (0x21, 0x04),
            (0xA1, 0x02),
            (0x21, 0x01),
            (0xA1, 0x01),
            (0x21, 0xF8),
            (0xA1, 0xFF),
            (0x43, 0x36),
            (0x40, 0),
            (0x40, 0),
        ]
    );
    let com: Vec<u16> = (0..4).map(|i| mem.read_u16(0x400 + 2 * i)).collect();
    assert_eq!(com, [0x3F8, 0x2F8, 0x3E8, 0x2E8]);
    assert_eq!(mem.read_u16(0x410) >> 9 & 7, 4, "four serial ports");
}

#[test]
fn hardware_interrupts_end_at_the_right_controllers() {
    let mut pf = RecordingUart {
        writes: Vec::new(),
        data_ready: false,
        rx: 0,
    };
    let mut mem = VecMemory(vec![0; MIB]);
    let mut bios = Bios::new(None, None, None, vec![]);
    let mut writes_of = |v: u8| {
        pf.writes.clear();
        bios.handle(
            Service::Interrupt(v),
            &mut Regs::default(),
            &mut mem,
            &mut pf,
        );
        pf.writes.clone()
    };
    assert_eq!(writes_of(0x08), vec![(0x20, 0x20)]);
    assert_eq!(writes_of(0x0F), vec![(0x20, 0x20)]);
    // IRQ8: register C is read to acknowledge the RTC.
    assert_eq!(
        writes_of(0x70),
        vec![(0x70, 0x0C), (0xA0, 0x20), (0x20, 0x20)]
    );
    assert_eq!(writes_of(0x77), vec![(0xA0, 0x20), (0x20, 0x20)]);
}

#[test]
fn int17_reports_no_printer() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(None, None, None, vec![]);
    let mut regs = Regs {
        eax: 0x0041,
        ..Default::default()
    };
    bios.handle(Service::Interrupt(0x17), &mut regs, &mut mem, &mut pf);
    assert_eq!(regs.ah(), 0x09, "time-out and I/O error");
}

mod hostile_registers;
mod repeated_bootstrap;

/// The E820h descriptors a BIOS hands out, walked from EBX 0.
fn e820_walk(bios: &mut Bios) -> Vec<(u64, u32)> {
    let (mut mem, mut pf) = machine();
    let mut out = Vec::new();
    let mut ebx = 0;
    for _ in 0..E820_MAX_ENTRIES {
        let mut regs = Regs {
            eax: 0xE820,
            ebx,
            ecx: 20,
            edx: SMAP,
            es: 0x0800,
            ..Default::default()
        };
        bios.handle(Service::Interrupt(0x15), &mut regs, &mut mem, &mut pf);
        let d = &mem.0[0x8000..0x8014];
        out.push((
            u64::from_le_bytes(d[0..8].try_into().unwrap()),
            u32::from_le_bytes(d[16..20].try_into().unwrap()),
        ));
        ebx = regs.ebx;
        if ebx == 0 {
            break;
        }
    }
    out
}

#[test]
fn a_bios_on_a_xen_board_reserves_the_special_pages_in_its_e820_map() {
    let plain = e820_walk(&mut Bios::new(None, None, None, vec![]));
    assert!(plain.iter().all(|e| e.0 != XEN_SPECIAL_PAGES));
    let mut bios = Bios::new(None, None, None, vec![]).with_xen_platform(true);
    let xen = e820_walk(&mut bios);
    assert_eq!(xen.len(), plain.len() + 1);
    assert_eq!(xen.last(), Some(&(XEN_SPECIAL_PAGES, E820_TYPE_RESERVED)));
}
