//! The tables, read back the way an OS reads them: from the RSDP through
//! the XSDT/RSDT and the FADT, at the offsets ACPI 6.5 gives (not through
//! the builders' own structures).

mod iasl;

use super::*;
use crate::dsdt::pirq_of;
use crate::madt::{
    inti, ALL_PROCESSORS, LINT1, MADT_HEADER_SIZE, PCAT_COMPAT, TYPE_INTERRUPT_SOURCE_OVERRIDE,
    TYPE_IO_APIC, TYPE_LOCAL_APIC, TYPE_LOCAL_APIC_NMI,
};
use crate::system_tables::{boot_arch, CMOS_CENTURY_INDEX, RESET_VALUE};
use alloc::vec;
use alloc::vec::Vec;
use pc_layout::{irqs, memory, ports};
use std::collections::BTreeMap;

/// A tables base as the hypervisor would use it (512 MiB of RAM).
const BASE: u64 = (512 << 20) - TABLES_MAX_SIZE;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn sum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |s, x| s.wrapping_add(*x))
}

/// An image with its base, read as guest memory.
pub(super) struct Tables {
    pub image: AcpiImage,
    pub base: u64,
}

impl Tables {
    pub fn build(config: &PcAcpiConfig) -> Self {
        Self {
            image: build(config, BASE).expect("a valid configuration"),
            base: BASE,
        }
    }

    /// The table whose header is at guest address `addr`: its length
    /// field's bytes, all inside the blob.
    pub fn table_at(&self, addr: u64) -> &[u8] {
        assert!(addr >= self.base, "{addr:#x} below the blob");
        let at = (addr - self.base) as usize;
        let header = &self.image.tables[at..at + 8];
        let len = u32_at(header, 4) as usize;
        assert!(
            at + len <= self.image.tables.len(),
            "{} at {addr:#x} runs past the blob",
            core::str::from_utf8(&header[..4]).unwrap()
        );
        &self.image.tables[at..at + len]
    }

    fn rsdt(&self) -> &[u8] {
        self.table_at(u64::from(u32_at(&self.image.rsdp, 16)))
    }

    fn xsdt(&self) -> &[u8] {
        self.table_at(u64_at(&self.image.rsdp, 24))
    }

    /// Every table the XSDT lists, by signature.
    pub fn listed(&self) -> BTreeMap<[u8; 4], &[u8]> {
        let xsdt = self.xsdt();
        (36..xsdt.len())
            .step_by(8)
            .map(|at| {
                let t = self.table_at(u64_at(xsdt, at));
                (t[..4].try_into().unwrap(), t)
            })
            .collect()
    }

    pub fn fadt(&self) -> &[u8] {
        self.listed()[b"FACP"]
    }

    pub fn madt(&self) -> &[u8] {
        self.listed()[b"APIC"]
    }

    pub fn dsdt(&self) -> &[u8] {
        self.table_at(u64_at(self.fadt(), 140))
    }

    pub fn facs(&self) -> &[u8] {
        self.table_at(u64::from(u32_at(self.fadt(), 36)))
    }

    /// Every table, by signature, the DSDT and FACS included.
    pub fn all(&self) -> BTreeMap<[u8; 4], &[u8]> {
        let mut all = self.listed();
        all.insert(*b"RSDT", self.rsdt());
        all.insert(*b"XSDT", self.xsdt());
        all.insert(*b"DSDT", self.dsdt());
        all.insert(*b"FACS", self.facs());
        all
    }
}

fn configs() -> Vec<PcAcpiConfig> {
    let mut xen = PcAcpiConfig::hvm(2);
    xen.pirq_routes[2] = Some(irqs::XEN_PLATFORM);
    let full = PcAcpiConfig {
        vcpus: MAX_VCPUS,
        io_apic: true,
        hpet: true,
        pvh: false,
        pirq_routes: [Some(10), Some(10), Some(11), Some(11)],
    };
    vec![
        PcAcpiConfig::default(),
        PcAcpiConfig::hvm(8),
        xen,
        full,
        PcAcpiConfig {
            io_apic: false,
            ..PcAcpiConfig::hvm(1)
        },
        PcAcpiConfig::pvh(1),
        PcAcpiConfig::pvh(4),
        PcAcpiConfig {
            hpet: true,
            ..PcAcpiConfig::pvh(MAX_VCPUS)
        },
    ]
}

#[test]
fn rsdp_has_both_checksums_and_points_at_the_rsdt_and_xsdt() {
    for config in configs() {
        let t = Tables::build(&config);
        let r = &t.image.rsdp;
        assert_eq!(&r[..8], b"RSD PTR ");
        assert_eq!(sum(&r[..20]), 0, "checksum of the first 20 bytes");
        assert_eq!(sum(r), 0, "extended checksum");
        assert_eq!(&r[9..15], &OEM_ID);
        assert_eq!(r[15], 2, "revision");
        assert_eq!(u32_at(r, 20), 36, "length");
        assert_eq!(&r[33..36], &[0; 3]);
        assert_eq!(&t.rsdt()[..4], b"RSDT");
        assert_eq!(&t.xsdt()[..4], b"XSDT");
    }
    const { assert!(RSDP_ADDRESS >= 0xE_0000 && RSDP_ADDRESS + 36 <= 0x10_0000) };
    assert_eq!(RSDP_ADDRESS % 16, 0);
}

#[test]
fn every_table_has_its_length_checksum_and_oem_ids() {
    for config in configs() {
        let t = Tables::build(&config);
        for (sig, table) in t.all() {
            let name = core::str::from_utf8(&sig).unwrap();
            if &sig == b"FACS" {
                // No checksum, no standard header (5.2.10).
                assert_eq!(table.len(), 64);
                assert_eq!(table[32], 2, "FACS version");
                continue;
            }
            assert!(table.len() >= 36, "{name}");
            assert_eq!(sum(table), 0, "{name} checksum");
            assert_eq!(&table[10..16], &OEM_ID, "{name}");
            assert_eq!(&table[16..24], &OEM_TABLE_ID, "{name}");
            assert_eq!(u32_at(table, 24), OEM_REVISION, "{name}");
        }
        let expected: &[&[u8; 4]] = if config.hpet {
            &[b"APIC", b"FACP", b"HPET"]
        } else {
            &[b"APIC", b"FACP"]
        };
        assert_eq!(
            t.listed().keys().collect::<Vec<_>>(),
            expected.to_vec(),
            "{config:?}"
        );
        assert!(t.image.tables.len() as u64 <= TABLES_MAX_SIZE);
    }
}

#[test]
fn rsdt_and_xsdt_list_the_same_tables() {
    for config in configs() {
        let t = Tables::build(&config);
        let (rsdt, xsdt) = (t.rsdt(), t.xsdt());
        assert_eq!((rsdt[8], xsdt[8]), (1, 1), "revisions");
        let n = (rsdt.len() - 36) / 4;
        assert_eq!((xsdt.len() - 36) / 8, n);
        for i in 0..n {
            assert_eq!(
                u64::from(u32_at(rsdt, 36 + 4 * i)),
                u64_at(xsdt, 36 + 8 * i)
            );
        }
    }
}

#[test]
fn the_facs_is_64_byte_aligned_and_the_fadt_points_at_it_and_the_dsdt() {
    for config in configs() {
        let t = Tables::build(&config);
        let f = t.fadt();
        let facs = u32_at(f, 36);
        assert_eq!(facs % 64, 0);
        assert_eq!(&t.facs()[..4], b"FACS");
        assert_eq!(
            u64_at(f, 132),
            0,
            "X_FIRMWARE_CTRL 0 when FIRMWARE_CTRL is used"
        );
        assert_eq!(u64::from(u32_at(f, 40)), u64_at(f, 140), "DSDT = X_DSDT");
        assert_eq!(&t.dsdt()[..4], b"DSDT");
        assert_eq!(t.dsdt()[8], 2, "DSDT revision 2: 64-bit integers");
    }
}

/// A generic address structure: (space, bit width, bit offset, access size,
/// address).
fn gas(b: &[u8], at: usize) -> (u8, u8, u8, u8, u64) {
    (b[at], b[at + 1], b[at + 2], b[at + 3], u64_at(b, at + 4))
}

#[test]
fn fadt_describes_the_pm_registers_sci_and_reset_register() {
    for config in configs() {
        let t = Tables::build(&config);
        let f = t.fadt();
        assert_eq!(f.len(), 276, "revision 6.5 length");
        assert_eq!((f[8], f[131]), (6, 5), "FADT version 6.5");
        assert_eq!(u16_at(f, 46), u16::from(irqs::ACPI_SCI), "SCI_INT");
        assert_eq!(u32_at(f, 48), 0, "no SMI_CMD: ACPI always enabled");
        assert_eq!((f[52], f[53]), (0, 0), "ACPI_ENABLE/DISABLE");
        let blocks = [
            (
                56,
                88,
                148,
                ports::ACPI_PM1A_EVT,
                ports::ACPI_PM1A_EVT_LEN,
                2,
            ),
            (
                64,
                89,
                172,
                ports::ACPI_PM1A_CNT,
                ports::ACPI_PM1A_CNT_LEN,
                2,
            ),
            (
                76,
                91,
                208,
                ports::ACPI_PM_TIMER,
                ports::ACPI_PM_TIMER_LEN,
                3,
            ),
        ];
        for (blk, len, x_blk, port, port_len, access) in blocks {
            assert_eq!(u32_at(f, blk), u32::from(port));
            assert_eq!(u16::from(f[len]), port_len);
            assert_eq!(
                gas(f, x_blk),
                (1, (port_len * 8) as u8, 0, access, u64::from(port)),
                "X_ block at {x_blk}"
            );
        }
        assert_eq!(f[91], 4, "PM_TMR_LEN");
        // No PM1b, PM2 or GPE blocks.
        for at in [60, 68, 72, 80, 84] {
            assert_eq!(u32_at(f, at), 0, "block at {at}");
        }
        assert_eq!(&f[92..95], &[0, 0, 0], "GPE lengths and base");
        for x in [160, 184, 196, 220, 232, 244, 256] {
            assert_eq!(gas(f, x), (0, 0, 0, 0, 0), "X_ block at {x}");
        }
        assert!(u16_at(f, 96) > 100 && u16_at(f, 98) > 1000, "no C2/C3");
        let flags = u32_at(f, 112);
        let wbinvd = 1 << 0;
        let proc_c1 = 1 << 2;
        let slp_button = 1 << 5;
        let reset_reg_sup = 1 << 10;
        assert_eq!(flags, wbinvd | proc_c1 | slp_button | reset_reg_sup);
        assert_eq!(flags & 1 << 8, 0, "TMR_VAL_EXT: a 24-bit timer");
        assert_eq!(flags & 1 << 20, 0, "not HW_REDUCED_ACPI");
        assert_eq!(
            gas(f, 116),
            (1, 8, 0, 1, u64::from(ports::RESET_CONTROL)),
            "RESET_REG: system I/O CF9h, a byte"
        );
        assert_eq!(f[128], RESET_VALUE);
        assert_eq!(RESET_VALUE, 0x06);
        assert_eq!(u16_at(f, 129), 0, "ARM_BOOT_ARCH");
    }
}

#[test]
fn fadt_boot_arch_says_legacy_pc_for_hvm_and_nothing_for_pvh() {
    let hvm = Tables::build(&PcAcpiConfig::hvm(1));
    let f = hvm.fadt();
    assert_eq!(u16_at(f, 109), boot_arch::LEGACY_DEVICES | boot_arch::I8042);
    assert_eq!(u16_at(f, 109), 0x0003);
    // Never both NO_VGA and NO_CMOS_RTC on an HVM guest (Linux would take
    // it for PVH), nor either of them.
    assert_eq!(
        u16_at(f, 109) & (boot_arch::NO_VGA | boot_arch::NO_CMOS_RTC),
        0
    );
    assert_eq!(f[108], CMOS_CENTURY_INDEX, "the RTC's century byte");
    let pvh = Tables::build(&PcAcpiConfig::pvh(1));
    let f = pvh.fadt();
    assert_eq!(u16_at(f, 109), boot_arch::NO_VGA | boot_arch::NO_CMOS_RTC);
    assert_eq!(u16_at(f, 109), 0x0024);
    assert_eq!(f[108], 0, "no century byte without an RTC");
}

/// The MADT's structures: (type, bytes).
fn madt_entries(madt: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut at = MADT_HEADER_SIZE;
    while at < madt.len() {
        let (kind, len) = (madt[at], usize::from(madt[at + 1]));
        assert!(len >= 2 && at + len <= madt.len(), "structure at {at}");
        out.push((kind, &madt[at..at + len]));
        at += len;
    }
    out
}

#[test]
fn madt_lists_one_enabled_local_apic_per_vcpu_with_uid_the_index() {
    for vcpus in [1, 2, 8, 15, 16, 100, MAX_VCPUS] {
        for config in [PcAcpiConfig::hvm(vcpus), PcAcpiConfig::pvh(vcpus)] {
            let t = Tables::build(&config);
            let madt = t.madt();
            assert_eq!(u32_at(madt, 36), memory::LOCAL_APIC as u32);
            assert_eq!(u32_at(madt, 36), 0xFEE0_0000);
            let lapics: Vec<_> = madt_entries(madt)
                .into_iter()
                .filter(|(k, _)| *k == TYPE_LOCAL_APIC)
                .map(|(_, s)| s)
                .collect();
            assert_eq!(lapics.len(), vcpus as usize);
            for (i, s) in lapics.iter().enumerate() {
                assert_eq!(s.len(), 8);
                assert_eq!((s[2], s[3]), (i as u8, i as u8), "UID, APIC ID");
                assert_eq!(u32_at(s, 4), 1, "enabled");
            }
        }
    }
}

#[test]
fn madt_has_the_io_apic_overrides_and_nmi_on_the_pc() {
    for vcpus in [1, 2, 8, MAX_VCPUS] {
        let t = Tables::build(&PcAcpiConfig::hvm(vcpus));
        let madt = t.madt();
        assert_eq!(u32_at(madt, 40), PCAT_COMPAT, "the 8259 pair is there");
        let entries = madt_entries(madt);
        let io: Vec<_> = entries.iter().filter(|e| e.0 == TYPE_IO_APIC).collect();
        assert_eq!(io.len(), 1);
        let s = io[0].1;
        assert_eq!(s.len(), 12);
        assert_eq!(s[2], io_apic_id(vcpus));
        assert_eq!(u32_at(s, 4), memory::IO_APIC as u32);
        assert_eq!(u32_at(s, 8), 0, "GSI base");
        let overrides: Vec<_> = entries
            .iter()
            .filter(|e| e.0 == TYPE_INTERRUPT_SOURCE_OVERRIDE)
            .map(|e| {
                let s = e.1;
                assert_eq!((s.len(), s[2]), (10, 0), "10 bytes, ISA bus");
                (s[3], u32_at(s, 4), u16_at(s, 8))
            })
            .collect();
        assert_eq!(
            overrides,
            vec![(0, 2, inti::EDGE), (9, 9, inti::ACTIVE_HIGH | inti::LEVEL)]
        );
        assert_eq!(overrides[1].2, 0x000D, "level, active high, as QEMU");
        let nmis: Vec<_> = entries
            .iter()
            .filter(|e| e.0 == TYPE_LOCAL_APIC_NMI)
            .collect();
        assert_eq!(nmis.len(), 1);
        assert_eq!(
            nmis[0].1,
            &[TYPE_LOCAL_APIC_NMI, 6, ALL_PROCESSORS, 0, 0, LINT1]
        );
        assert_eq!(nmis[0].1[2], 0xFF);
        assert_eq!(
            entries.len(),
            vcpus as usize + 4,
            "nothing else in the MADT"
        );
    }
}

#[test]
fn madt_without_an_io_apic_or_for_pvh_has_only_the_processors_and_nmi() {
    let no_ioapic = Tables::build(&PcAcpiConfig {
        io_apic: false,
        ..PcAcpiConfig::hvm(2)
    });
    assert_eq!(u32_at(no_ioapic.madt(), 40), PCAT_COMPAT);
    let kinds: Vec<u8> = madt_entries(no_ioapic.madt()).iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [TYPE_LOCAL_APIC, TYPE_LOCAL_APIC, TYPE_LOCAL_APIC_NMI]
    );
    let pvh = Tables::build(&PcAcpiConfig::pvh(2));
    assert_eq!(u32_at(pvh.madt(), 40), 0, "no PCAT_COMPAT: no 8259 pair");
    let kinds: Vec<u8> = madt_entries(pvh.madt()).iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [TYPE_LOCAL_APIC, TYPE_LOCAL_APIC, TYPE_LOCAL_APIC_NMI]
    );
}

#[test]
fn io_apic_ids_follow_the_local_apics_within_four_bits() {
    assert_eq!(io_apic_id(1), 1);
    assert_eq!(io_apic_id(14), 14);
    assert_eq!(io_apic_id(15), 15);
    assert_eq!(io_apic_id(MAX_VCPUS), 15);
}

#[test]
fn hpet_table_only_when_configured_and_matching_the_board() {
    let t = Tables::build(&PcAcpiConfig::hvm(1));
    assert!(!t.listed().contains_key(b"HPET"));
    assert!(!contains(t.dsdt(), b"PNP0103"));
    assert!(!contains(t.dsdt(), b"HPET"));
    let t = Tables::build(&PcAcpiConfig {
        hpet: true,
        ..PcAcpiConfig::hvm(1)
    });
    let h = t.listed()[b"HPET"];
    assert_eq!(h.len(), 56);
    assert_eq!(u32_at(h, 36), HPET_EVENT_TIMER_BLOCK_ID);
    assert_eq!(gas(h, 40), (0, 64, 0, 0, memory::HPET));
    assert_eq!(h[52], 0, "HPET number");
    assert!(contains(t.dsdt(), b"HPET"));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn dsdt_has_s5_and_the_pci_root_bridge_on_the_pc_only() {
    let hvm = Tables::build(&PcAcpiConfig::hvm(2));
    let d = hvm.dsdt();
    for name in [
        &b"_S5_"[..],
        b"PCI0",
        b"_PRT",
        b"_CRS",
        b"ISA_",
        b"RTC_",
        b"KBD_",
        b"MOU_",
        b"COM1",
        b"COM2",
        b"C000",
        b"C001",
        b"ACPI0007",
    ] {
        assert!(contains(d, name), "{}", core::str::from_utf8(name).unwrap());
    }
    assert!(!contains(d, b"C002"), "one device per vCPU");
    // Name (_S5_, Package (4) { 0, 0, 0, 0 }): NameOp, the name,
    // PackageOp, PkgLength 6, 4 elements, ZeroOp for S5_SLP_TYP = 0.
    assert_eq!(acpi::S5_SLP_TYP, 0);
    assert!(contains(
        d,
        &[0x08, b'_', b'S', b'5', b'_', 0x12, 6, 4, 0, 0, 0, 0]
    ));
    let pvh = Tables::build(&PcAcpiConfig::pvh(2));
    let d = pvh.dsdt();
    assert!(contains(d, b"_S5_"));
    assert!(contains(d, b"C001"));
    for name in [&b"PCI0"[..], b"_PRT", b"ISA_", b"COM1", b"PNP0"] {
        assert!(
            !contains(d, name),
            "{}",
            core::str::from_utf8(name).unwrap()
        );
    }
}

use pc_layout::acpi;

#[test]
fn pirqs_follow_the_i440fx_rotation() {
    // Slot 3's INTA# is PIRQC# (vmm-core's Xen platform wiring).
    assert_eq!(pirq_of(3, 0), 2);
    assert_eq!(pirq_of(1, 0), 0);
    assert_eq!(pirq_of(0, 0), 3);
    assert_eq!(pirq_of(2, 3), 0);
    for slot in 0..32 {
        let pirqs: std::collections::BTreeSet<_> = (0..4).map(|p| pirq_of(slot, p)).collect();
        assert_eq!(pirqs.len(), 4, "a slot's pins use all four PIRQs");
    }
}

/// `Package () { address, pin, 0, gsi }` as the `_PRT` encodes it.
fn prt_entry(slot: u32, pin: u8, gsi: u8) -> Vec<u8> {
    let mut e = vec![0x12, 0, 4];
    let address = slot << 16 | 0xFFFF;
    if address <= 0xFFFF {
        e.push(0x0B); // WordPrefix
        e.extend_from_slice(&(address as u16).to_le_bytes());
    } else {
        e.push(0x0C); // DWordPrefix
        e.extend_from_slice(&address.to_le_bytes());
    }
    e.extend(match pin {
        0 => vec![0x00],
        1 => vec![0x01],
        p => vec![0x0A, p],
    });
    e.push(0x00);
    e.extend([0x0A, gsi]);
    e[1] = (e.len() - 1) as u8;
    e
}

#[test]
fn prt_gives_each_routed_pirq_its_irq_as_the_gsi() {
    let mut config = PcAcpiConfig::hvm(1);
    config.pirq_routes[2] = Some(irqs::XEN_PLATFORM);
    let t = Tables::build(&config);
    let d = t.dsdt();
    // Slot 3 INTA# (the Xen platform device) → GSI 11.
    assert!(contains(d, &prt_entry(3, 0, 11)));
    assert!(contains(d, &prt_entry(2, 1, 11)));
    assert!(contains(d, &prt_entry(4, 3, 11)));
    assert!(!contains(d, &prt_entry(3, 1, 11)), "PIRQD# is not routed");
    // Every slot has exactly one pin on PIRQC#.
    let entries = (0..32)
        .flat_map(|s| (0..4).map(move |p| (s, p)))
        .filter(|&(s, p)| contains(d, &prt_entry(s, p, 11)))
        .count();
    assert_eq!(entries, 32);
    // With nothing routed, the `_PRT` is an empty package.
    let none = Tables::build(&PcAcpiConfig::hvm(1));
    assert!(contains(none.dsdt(), &[b'_', b'P', b'R', b'T', 0x12, 2, 0]));
}

#[test]
fn bad_configurations_are_refused() {
    let ok = PcAcpiConfig::hvm(1);
    assert_eq!(
        build(&PcAcpiConfig::hvm(0), BASE),
        Err(AcpiError::VcpuCount(0))
    );
    assert_eq!(
        build(&PcAcpiConfig::hvm(MAX_VCPUS + 1), BASE),
        Err(AcpiError::VcpuCount(256))
    );
    assert_eq!(build(&ok, BASE + 8), Err(AcpiError::TablesBase(BASE + 8)));
    let too_high = (1 << 32) - TABLES_MAX_SIZE + 64;
    assert_eq!(build(&ok, too_high), Err(AcpiError::TablesBase(too_high)));
    assert!(build(&ok, (1 << 32) - TABLES_MAX_SIZE).is_ok());
    for irq in [0, 1, 2, 8, 13, 16, 255] {
        let mut c = ok;
        c.pirq_routes[1] = Some(irq);
        assert_eq!(build(&c, BASE), Err(AcpiError::PirqRoute(irq)), "{irq}");
    }
    for irq in [3, 5, 9, 10, 11, 12, 14, 15] {
        let mut c = ok;
        c.pirq_routes[0] = Some(irq);
        assert!(build(&c, BASE).is_ok(), "{irq}");
    }
}

#[test]
fn the_largest_configuration_fits_the_reserved_region() {
    let t = Tables::build(&configs()[3]);
    assert!(t.image.tables.len() as u64 <= TABLES_MAX_SIZE);
    assert!(
        t.image.tables.len() < 16 << 10,
        "{} bytes",
        t.image.tables.len()
    );
}

#[test]
fn the_blob_goes_where_the_bios_reserves_it_as_acpi_memory() {
    use firmware::system::{
        acpi_tables_region, e820_map, BoardReservations, E820_TYPE_ACPI, E820_TYPE_RAM,
    };
    const MIB: u64 = 1 << 20;
    let board = BoardReservations {
        xen_special_pages: true,
        acpi_tables: TABLES_MAX_SIZE,
    };
    for ram in [
        MIB,
        MIB + TABLES_MAX_SIZE - 1,
        MIB + TABLES_MAX_SIZE,
        2 * MIB,
        16 * MIB,
        100 * MIB + 0x800,
        512 * MIB,
        3072 * MIB,
        4096 * MIB,
    ] {
        let region = acpi_tables_region(ram, TABLES_MAX_SIZE);
        assert_eq!(region.map(|r| r.0), tables_base(ram), "{ram:#x}");
        let Some(base) = tables_base(ram) else {
            continue;
        };
        let blob = build(&configs()[3], base).unwrap().tables;
        let map = e820_map(ram, board);
        let acpi: Vec<_> = map
            .as_slice()
            .iter()
            .filter(|e| e.kind == E820_TYPE_ACPI)
            .collect();
        assert_eq!(acpi.len(), 1);
        assert_eq!(acpi[0].base, base);
        assert!(base + blob.len() as u64 <= acpi[0].base + acpi[0].length);
        assert!(map
            .as_slice()
            .iter()
            .filter(|e| e.kind == E820_TYPE_RAM)
            .all(|e| e.base + e.length <= base || e.base >= base + TABLES_MAX_SIZE));
        assert!(base.is_multiple_of(4096));
    }
}
