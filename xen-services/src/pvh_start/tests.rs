use super::*;
use crate::hvm::guest::{u32_at, u64_at};

/// Debian 12's 6.1 kernel as `xtask::pvh_kernel` reads it from the ISO.
const DEBIAN_SEGMENTS: [(u64, u64); 4] = [
    (0x100_0000, 0x18e_acdc),
    (0x2a0_0000, 0x64_4000),
    (0x304_4000, 0x3_5000),
    (0x307_9000, 0x198_7000),
];

const MIB: u64 = 1 << 20;

fn image<'a>(cmdline: &'a [u8], initrd_len: u64) -> PvhImage<'a> {
    PvhImage {
        segments: &DEBIAN_SEGMENTS,
        initrd_len,
        cmdline,
        acpi_len: 0x400,
    }
}

#[test]
fn debian_s_kernel_and_an_initrd_in_256_mib() {
    let cmdline = b"console=hvc0 panic=-1";
    let p = plan(256 * MIB, &image(cmdline, 30 * MIB + 5)).unwrap();
    // The initrd at the top of RAM, page aligned, above the kernel (which
    // ends at 0x4a00000).
    let initrd = p.initrd.unwrap();
    assert_eq!(initrd % 0x1000, 0);
    assert_eq!(initrd + align_up(30 * MIB + 5), 256 * MIB);
    assert!(initrd >= 0x4a0_0000);
    // Boot data and tables below 1 MiB, away from each other.
    assert!(p.start_info < p.modlist && p.modlist < p.memmap && p.memmap < p.cmdline);
    assert!(p.cmdline + MAX_CMDLINE as u64 <= BOOT_INFO_BASE + BOOT_INFO_LEN);
    assert_eq!(p.rsdp, ACPI_BASE);
    // The map: RAM below 1 MiB around the reserved boot block, the ACPI
    // window, RAM from 1 MiB to the end; sorted and not overlapping.
    let kinds: Vec<(u64, u64, u32)> = p
        .memory_map
        .iter()
        .map(|e| (e.addr, e.size, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (0, BOOT_INFO_BASE, XEN_HVM_MEMMAP_TYPE_RAM),
            (BOOT_INFO_BASE, BOOT_INFO_LEN, XEN_HVM_MEMMAP_TYPE_RESERVED),
            (
                BOOT_INFO_BASE + BOOT_INFO_LEN,
                0xA_0000 - BOOT_INFO_BASE - BOOT_INFO_LEN,
                XEN_HVM_MEMMAP_TYPE_RAM
            ),
            (ACPI_BASE, ACPI_END - ACPI_BASE, XEN_HVM_MEMMAP_TYPE_ACPI),
            (MIB, 255 * MIB, XEN_HVM_MEMMAP_TYPE_RAM),
        ]
    );
    for pair in p.memory_map.windows(2) {
        assert!(pair[0].addr + pair[0].size <= pair[1].addr);
    }
}

#[test]
fn the_boot_block_holds_start_info_modlist_memmap_and_cmdline_where_they_point() {
    let cmdline = b"console=hvc0";
    let p = plan(128 * MIB, &image(cmdline, 4096)).unwrap();
    let b = p.boot_info(4096, cmdline);
    assert_eq!(b.len() as u64, BOOT_INFO_LEN);
    let at = |paddr: u64| (paddr - BOOT_INFO_BASE) as usize;
    let s = at(p.start_info);
    assert_eq!(u32_at(&b, s), 0x336e_c578, "magic");
    assert_eq!(u32_at(&b, s + 4), 1, "version");
    assert_eq!(u32_at(&b, s + 8), 0, "flags: a domU");
    assert_eq!(u32_at(&b, s + 12), 1, "one module");
    assert_eq!(u64_at(&b, s + 16), p.modlist);
    assert_eq!(u64_at(&b, s + 24), p.cmdline);
    assert_eq!(u64_at(&b, s + 32), p.rsdp);
    assert_eq!(u64_at(&b, s + 40), p.memmap);
    assert_eq!(u32_at(&b, s + 48), p.memory_map.len() as u32);
    let m = at(p.modlist);
    assert_eq!(u64_at(&b, m), p.initrd.unwrap());
    assert_eq!(u64_at(&b, m + 8), 4096);
    for (i, e) in p.memory_map.iter().enumerate() {
        let at = at(p.memmap) + 24 * i;
        assert_eq!(
            (u64_at(&b, at), u64_at(&b, at + 8), u32_at(&b, at + 16)),
            (e.addr, e.size, e.kind)
        );
    }
    let c = at(p.cmdline);
    assert_eq!(&b[c..c + cmdline.len() + 1], b"console=hvc0\0");
    // The memory map ends before the command line's page.
    assert!(p.memmap + 24 * p.memory_map.len() as u64 <= p.cmdline);
}

#[test]
fn without_an_initrd_there_is_no_module() {
    let p = plan(128 * MIB, &image(b"", 0)).unwrap();
    assert_eq!(p.initrd, None);
    let b = p.boot_info(0, b"");
    assert_eq!(u32_at(&b, 12), 0);
    assert_eq!(u64_at(&b, 16), 0, "no module list");
}

#[test]
fn what_does_not_fit_is_refused() {
    // The kernel ends at 0x4a00000: 64 MiB of RAM is too little.
    assert_eq!(
        plan(64 * MIB, &image(b"", 0)),
        Err(PlanError::KernelOutsideRam {
            paddr: 0x307_9000,
            end: 0x4a0_0000,
            ram: 64 * MIB
        })
    );
    // A segment below 1 MiB, or one whose end overflows.
    for segment in [(0x9_0000, 0x1000), (u64::MAX - 10, 0x1000)] {
        let segs = [segment];
        let img = PvhImage {
            segments: &segs,
            ..image(b"", 0)
        };
        assert!(matches!(
            plan(256 * MIB, &img),
            Err(PlanError::KernelOutsideRam { .. })
        ));
    }
    let long = alloc::vec![b'x'; MAX_CMDLINE];
    assert_eq!(
        plan(256 * MIB, &image(&long, 0)),
        Err(PlanError::CmdlineTooLong { len: MAX_CMDLINE })
    );
    assert!(plan(256 * MIB, &image(&long[..MAX_CMDLINE - 1], 0)).is_ok());
    assert_eq!(
        plan(256 * MIB, &image(b"a\0b", 0)),
        Err(PlanError::CmdlineHasNul)
    );
    // The initrd must fit between the kernel's end and the top of RAM.
    let room = 128 * MIB - 0x4a0_0000;
    assert!(plan(128 * MIB, &image(b"", room)).is_ok());
    assert_eq!(
        plan(128 * MIB, &image(b"", room + 1)),
        Err(PlanError::InitrdTooLarge {
            len: room + 1,
            room
        })
    );
    assert!(matches!(
        plan(256 * MIB, &image(b"", u64::MAX)),
        Err(PlanError::InitrdTooLarge { .. })
    ));
    let tables = PvhImage {
        acpi_len: ACPI_END - ACPI_BASE + 1,
        ..image(b"", 0)
    };
    assert!(matches!(
        plan(256 * MIB, &tables),
        Err(PlanError::AcpiTooLarge { .. })
    ));
}

#[test]
fn an_initrd_stays_below_4_gib_in_a_large_guest() {
    let p = plan(6 << 30, &image(b"", 10 * MIB)).unwrap();
    let initrd = p.initrd.unwrap();
    assert_eq!(initrd + 10 * MIB, 1 << 32);
    assert_eq!(p.memory_map.last().unwrap().size, (6 << 30) - MIB);
}

#[test]
fn errors_read_as_one_line() {
    for e in [
        PlanError::KernelOutsideRam {
            paddr: 1,
            end: 2,
            ram: 3,
        },
        PlanError::CmdlineTooLong { len: 5000 },
        PlanError::CmdlineHasNul,
        PlanError::InitrdTooLarge { len: 1, room: 0 },
        PlanError::AcpiTooLarge { len: 1 << 20 },
    ] {
        let text = alloc::format!("{e}");
        assert!(!text.is_empty() && !text.contains('\n'), "{text}");
    }
}
