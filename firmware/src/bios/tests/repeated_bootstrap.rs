//! A boot sector that calls INT 19h in a loop (issue 11, finding 1): every
//! bootstrap attempt must leave the BIOS holding no more than the first one
//! did, whatever failed on the way and whatever El Torito emulation it set up.

use super::*;

/// How many times the hostile boot sector calls INT 19h.
const LOOPS: usize = 5000;

fn int19(bios: &mut Bios, mem: &mut VecMemory, pf: &mut FakePlatform) -> Next {
    let mut regs = Regs::default();
    bios.handle(Service::Interrupt(0x19), &mut regs, mem, pf)
}

/// Bytes of problem text the BIOS holds.
fn problem_bytes(bios: &Bios) -> usize {
    bios.problems.iter().map(|p| p.0.capacity()).sum()
}

#[test]
fn int19_in_a_loop_behind_failing_media_keeps_the_problem_list_bounded() {
    let (mut mem, mut pf) = machine();
    // A CD that is no ISO and a floppy that cannot be read come first; the
    // hard disk boots every time.
    let unreadable: Box<dyn BlockBackend> = Box::new(MemoryBlock::new(vec![], false));
    let mut bios = Bios::new(
        Some(unreadable),
        Some(disk(64, 0)),
        Some(cd(Iso::blank(32))),
        vec![BootDevice::Cdrom, BootDevice::Floppy, BootDevice::Disk],
    );
    let booted = Next::Boot {
        cs: 0,
        ip: BOOT_ADDRESS,
        dl: DRIVE_HARD_DISK,
    };
    assert_eq!(post(&mut bios, &mut mem, &mut pf), booted);
    let first_attempt = bios.problems.clone();
    assert_eq!(first_attempt.len(), 2, "{first_attempt:?}");
    let first_bytes = problem_bytes(&bios);
    for i in 0..LOOPS {
        assert_eq!(int19(&mut bios, &mut mem, &mut pf), booted, "call {i}");
        assert_eq!(bios.problems, first_attempt, "call {i}");
        assert!(problem_bytes(&bios) <= first_bytes, "call {i}");
        assert!(bios.problems.capacity() <= 16, "call {i}");
    }
    assert_eq!(bios.drives.list.len(), 2);
}

#[test]
fn int19_in_a_loop_with_hard_disk_emulation_replaces_the_emulated_drive() {
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(
        None,
        Some(disk(64, 0x10)),
        Some(cd(hard_disk_iso(true))),
        vec![BootDevice::Cdrom, BootDevice::Disk],
    );
    let booted = Next::Boot {
        cs: 0,
        ip: BOOT_ADDRESS,
        dl: DRIVE_HARD_DISK,
    };
    assert_eq!(post(&mut bios, &mut mem, &mut pf), booted);
    // The emulated disk (80h), the real one (81h), the CD (E0h).
    let numbers = |bios: &Bios| -> Vec<(u8, DriveKind)> {
        bios.drives
            .list
            .iter()
            .map(|d| (d.number, d.kind))
            .collect()
    };
    let mut after_post = numbers(&bios);
    after_post.sort_by_key(|(n, _)| *n);
    assert_eq!(
        after_post,
        [
            (0x80, DriveKind::HardDisk),
            (0x81, DriveKind::HardDisk),
            (DRIVE_CDROM, DriveKind::Cdrom)
        ]
    );
    for i in 0..LOOPS {
        assert_eq!(int19(&mut bios, &mut mem, &mut pf), booted, "call {i}");
        let mut now = numbers(&bios);
        now.sort_by_key(|(n, _)| *n);
        assert_eq!(now, after_post, "call {i}");
        assert!(bios.problems.is_empty(), "call {i}: {:?}", bios.problems);
    }
    assert_eq!(mem.read_u8(BDA_HARD_DISKS), 2);

    // The drives still read as after the first boot: 80h the image, 81h the
    // real disk; AH=08h counts two hard disks.
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
    let mut r = Regs {
        eax: 0x0800,
        edx: 0x80,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert_eq!(r.dl(), 2);
}

#[test]
fn int19_after_hard_disk_emulation_falls_back_to_the_real_disk_at_80h() {
    // The CD boots with hard-disk emulation once; then the boot order
    // changes to the disk alone (as if the CD had gone): the next INT 19h
    // must find the real disk back at 80h, with one hard disk in the BDA.
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(
        None,
        Some(disk(64, 0x10)),
        Some(cd(hard_disk_iso(true))),
        vec![BootDevice::Cdrom, BootDevice::Disk],
    );
    post(&mut bios, &mut mem, &mut pf);
    bios.boot_order = vec![BootDevice::Disk];
    assert_eq!(
        int19(&mut bios, &mut mem, &mut pf),
        Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: DRIVE_HARD_DISK
        }
    );
    assert_eq!(mem.0[0x7C00], 0x10, "the real disk's sector 0 loaded");
    assert!(bios.drives.get(0x81).is_none());
    assert_eq!(bios.drives.count(DriveKind::HardDisk), 1);
    assert_eq!(mem.read_u8(BDA_HARD_DISKS), 1);
    // AX=4B01h: no emulation is active any more.
    let mut r = Regs {
        eax: 0x4B01,
        edx: 0x80,
        esi: 0x600,
        ..Default::default()
    };
    int13(&mut bios, &mut mem, &mut pf, &mut r);
    assert!(r.cf());
}

#[test]
fn int19_in_a_loop_with_floppy_emulation_keeps_one_drive_00h_and_gives_the_real_one_back() {
    let mut iso = Iso::standard(
        PLATFORM_X86,
        boot_entry(BOOTABLE, MEDIA_FLOPPY_1M44, 0, 1, IMAGE_SECTOR),
        720,
    );
    iso.image_bytes(0, &[0xEB, 0x3C, 0x90]);
    let mut floppy = vec![0xF1u8; 1_474_560];
    floppy[0] = 0xFA;
    let real: Box<dyn BlockBackend> = Box::new(MemoryBlock::new(floppy, false));
    let (mut mem, mut pf) = machine();
    let mut bios = Bios::new(Some(real), None, Some(cd(iso)), vec![BootDevice::Cdrom]);
    let emulated = Next::Boot {
        cs: 0,
        ip: BOOT_ADDRESS,
        dl: DRIVE_FLOPPY,
    };
    assert_eq!(post(&mut bios, &mut mem, &mut pf), emulated);
    for i in 0..LOOPS {
        assert_eq!(int19(&mut bios, &mut mem, &mut pf), emulated, "call {i}");
        assert_eq!(bios.drives.list.len(), 2, "call {i}");
        assert_eq!(bios.drives.count(DriveKind::Floppy), 1, "call {i}");
    }
    assert_eq!(&mem.0[0x7C00..0x7C03], &[0xEB, 0x3C, 0x90]);
    // Booting the diskette next finds the real one at 00h again.
    bios.boot_order = vec![BootDevice::Floppy];
    assert_eq!(int19(&mut bios, &mut mem, &mut pf), emulated);
    assert_eq!(&mem.0[0x7C00..0x7C03], &[0xFA, 0xF1, 0xF1]);
}

#[test]
fn problem_lines_are_capped_in_number_and_length() {
    let mut bios = Bios::new(None, None, None, vec![]);
    for i in 0..1000 {
        bios.note_problem(alloc::format!("problem {i}: {}", "é".repeat(200)));
    }
    assert_eq!(bios.problems.len(), MAX_PROBLEMS);
    assert_eq!(bios.problems_dropped, 1000 - MAX_PROBLEMS as u32);
    assert!(bios.problems[MAX_PROBLEMS - 1]
        .0
        .starts_with("problem 999: é"));
    for p in &bios.problems {
        assert!(p.0.len() <= MAX_PROBLEM_LEN && p.0.len() > MAX_PROBLEM_LEN - 2);
    }
    // The next attempt starts with none.
    let (mut mem, mut pf) = machine();
    assert_eq!(int19(&mut bios, &mut mem, &mut pf), Next::Halt);
    assert!(bios.problems.is_empty());
    assert_eq!(bios.problems_dropped, 0);
}
