//! The PC board's ACPI tables (issue 15), built at domain creation: the RSDP
//! the guest finds in the BIOS area, and one blob of tables the hypervisor
//! copies to the top of RAM below 4 GiB.
//!
//! What the tables say, and where each value comes from (every port,
//! interrupt and address is `pc_layout`'s):
//! - **RSDP** revision 2 (ACPI 6.5, 5.2.5.3), both checksums, pointing at
//!   the RSDT and the XSDT; the guest finds it at [`RSDP_ADDRESS`] (5.2.5.1).
//! - **RSDT** and **XSDT** (5.2.7, 5.2.8): the FADT, the MADT and, when
//!   configured, the HPET table.
//! - **FADT** revision 6.5 (5.2.9): the PM1a event and control blocks and
//!   the PM timer as system I/O ports, in the 32-bit fields and the `X_`
//!   generic address structures alike; SCI on IRQ 9; no SMI command port
//!   (ACPI mode is always on, so the PM1 control register's SCI_EN must read
//!   1 from reset); the reset register (5.2.9, "RESET_REG"), CF9h value 06h;
//!   IAPC_BOOT_ARCH (5.2.9.3) saying "legacy devices and an 8042" on the PC
//!   and "no VGA, no CMOS RTC" for a PVH guest — never both NO_VGA and
//!   NO_CMOS_RTC on the PC: Linux's `xen_hvm_guest_late_init` takes a guest
//!   with both for PVH (notes/xen-abi.md §11, item 6).
//! - **FACS** (5.2.10), 64-byte aligned at the start of the blob.
//! - **MADT** (5.2.12): the local APIC address, PCAT_COMPAT on the PC (the
//!   8259 pair is there), one enabled Processor Local APIC structure per vCPU
//!   (APIC ID = ACPI processor UID = vCPU index), the I/O APIC when the board
//!   has one (ID [`io_apic_id`], GSI base 0), the interrupt source overrides
//!   ISA IRQ 0 → GSI 2 (edge, the bus's polarity) and IRQ 9 → GSI 9 (the SCI:
//!   level, active high, as QEMU declares it), and the local APIC NMI on
//!   LINT1 for all processors.
//! - **HPET** (IA-PC HPET specification 1.0a, 3.2.4), only when configured.
//! - **DSDT** (5.2.11.1): processor devices (`ACPI0007`, `_UID` = the MADT
//!   UIDs), and on the PC the PCI root bridge `\_SB.PCI0` (its bus, I/O and
//!   memory windows, and a `_PRT`, see below), the PIIX3 ISA bridge with the
//!   PC's own devices (RTC, keyboard, mouse, COM1, COM2) and, when
//!   configured, the HPET device; always `\_S5` with
//!   [`pc_layout::acpi::S5_SLP_TYP`] (7.4.2).
//!
//! **PCI interrupt routing** (`_PRT`, 6.2.13): static entries (source 0,
//! the GSI in the last field) rather than PCI interrupt link devices. The
//! board's firmware routes the PIIX3 PIRQ lines once, at creation (today
//! only PIRQC# → IRQ 11 for the Xen platform device), the guest never needs
//! to move them, and every ISA IRQ is wired to the I/O APIC pin of the same
//! number, so a static table says the same thing in PIC and APIC mode and
//! needs no AML methods reading the PIIX3's registers. Slot `s`, pin `p`
//! (INTA# = 0) reaches PIRQ `(s + p - 1) mod 4`, the i440FX board's rotating
//! wiring (QEMU's `pci_slot_get_pirq`); entries are made for the PIRQs
//! [`PcAcpiConfig::pirq_routes`] names, with that IRQ as the GSI. Linux takes
//! a static entry as level-triggered, active low, which the I/O APIC model
//! honours by treating polarity as "asserted" (`device_model::ioapic`).
//!
//! **Why rust-vmm's `acpi_tables`.** Encoding AML by hand (package lengths,
//! name strings, the integer encodings, EISA IDs, resource descriptors) is
//! the error-prone part of ACPI, and this crate (0.2.1, what Cloud
//! Hypervisor uses) does it, is `no_std` with `alloc`, has one dependency
//! (`zerocopy`, already in the workspace) and builds on stable Rust 1.95 for
//! `x86_64-unknown-none`. It is used for all the AML (`aml`), the generic
//! table builder (`sdt::Sdt`: header, length and checksum kept up to date),
//! the FADT (`fadt::FADTBuilder`, every field of revision 6.5), the FACS,
//! the XSDT, and the MADT's processor and I/O APIC structures. What it lacks
//! is written here, small and tested: the RSDP (its `Rsdp` cannot carry the
//! RSDT address), the RSDT, the MADT header flags, interrupt source override
//! and local APIC NMI structures, the HPET table, and the `IRQNoFlags`
//! resource descriptor. Every table is checked by the tests, and by `iasl
//! -d` (Debian's `acpica-tools`) in `src/tests/iasl.rs`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod dsdt;
mod madt;
mod system_tables;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use pc_layout::memory::{HIGH_MEMORY, RAM_BELOW_4G_LIMIT, ROM_AREA};

/// OEM ID of every table and the RSDP (ACPI 6.5, 5.2.6): the project, "vmm"
/// in Rust.
pub const OEM_ID: [u8; 6] = *b"VMM-RS";
/// OEM table ID of every table: the emulated PC board.
pub const OEM_TABLE_ID: [u8; 8] = *b"VMM-PC  ";
/// OEM revision of every table.
pub const OEM_REVISION: u32 = 1;

/// Bytes reserved for the tables blob: the top 64 KiB of RAM below 4 GiB
/// ([`tables_base`]). The largest configuration (255 vCPUs, I/O APIC, HPET,
/// every PIRQ routed) needs about 12 KiB.
pub const TABLES_MAX_SIZE: u64 = 64 << 10;

/// Where the RSDP goes: E0000h, the first paragraph of the BIOS area.
///
/// ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems": on a 16-byte
/// boundary in the first KiB of the EBDA or in E0000h-FFFFFh. The emulated
/// BIOS's ROM is 64 KiB at F0000h-FFFFFh (`firmware::rom`), so
/// E0000h-EFFFFh holds no image: it is plain guest RAM that the BIOS's E820h
/// map already reserves (with the ROM, `ROM_AREA`..1 MiB) and nothing else
/// uses. The hypervisor writes the 36 bytes there at domain creation (and
/// may map that page read-only to the guest, as the ROM is). The EBDA is
/// not used: the POST zeroes it.
pub const RSDP_ADDRESS: u64 = ROM_AREA;
/// Bytes of the RSDP (revision 2).
pub const RSDP_SIZE: usize = 36;
const _: () = assert!(RSDP_ADDRESS.is_multiple_of(16) && RSDP_ADDRESS >= 0xE_0000);
const _: () = assert!(RSDP_ADDRESS + RSDP_SIZE as u64 <= 0xF_0000);

/// Most vCPUs the tables describe: the MADT's Processor Local APIC
/// structures hold 8-bit APIC IDs and UIDs, and FFh is the xAPIC broadcast
/// ID (and the local APIC NMI structure's "all processors" UID), so IDs
/// 0-254. More would need x2APIC structures.
pub const MAX_VCPUS: u32 = 255;

/// The I/O APIC's ID (MADT I/O APIC structure, and what the board's I/O
/// APIC model should reset its ID register to): the first ID after the
/// local APICs' (0..vcpus), as long as the 82093AA's 4-bit ID register can
/// hold it, else 15. ID uniqueness against local APIC IDs only mattered on
/// the serial APIC bus; Linux x86-64 only keeps I/O APIC IDs unique among
/// I/O APICs.
pub const fn io_apic_id(vcpus: u32) -> u8 {
    if vcpus < 15 {
        vcpus as u8
    } else {
        15
    }
}

/// The HPET's Event Timer Block ID (the HPET table's copy of the HPET's
/// General Capabilities and ID register, bits 31:0; IA-PC HPET 1.0a,
/// 2.3.4): vendor 8086h, LegacyReplacement capable, 64-bit counter, 3
/// comparators, revision 1 — QEMU's HPET. The HPET model must report the
/// same.
pub const HPET_EVENT_TIMER_BLOCK_ID: u32 = 0x8086_A201;

/// Where the tables blob goes in a guest with `ram_size` bytes of RAM from
/// address 0: the top [`TABLES_MAX_SIZE`] bytes of RAM below 4 GiB (RAM
/// ends at [`RAM_BELOW_4G_LIMIT`] at most), rounded down to a page. `None`
/// when that would not lie above 1 MiB (a guest of less than 1 MiB + 64 KiB
/// gets no tables). The BIOS's E820h map reserves the same range as ACPI
/// reclaim memory (`firmware::system::acpi_tables_region`).
pub fn tables_base(ram_size: u64) -> Option<u64> {
    let below_4g = ram_size.min(RAM_BELOW_4G_LIMIT);
    let base = below_4g.checked_sub(TABLES_MAX_SIZE)? & !0xFFF;
    (base >= HIGH_MEMORY).then_some(base)
}

/// What the board has, as the tables describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcAcpiConfig {
    /// vCPUs, 1..=[`MAX_VCPUS`]: local APIC IDs 0..vcpus, ACPI processor
    /// UID = index.
    pub vcpus: u32,
    /// The board has the I/O APIC at [`pc_layout::memory::IO_APIC`] (GSIs
    /// 0-23, ID [`io_apic_id`]). Without it the MADT lists only the local
    /// APICs (Linux then runs in virtual-wire mode).
    pub io_apic: bool,
    /// The board has an HPET at [`pc_layout::memory::HPET`]: the HPET table
    /// and DSDT device are emitted only then.
    pub hpet: bool,
    /// A PVH guest (notes/xen-abi.md §11): no 8259, no PCI and no legacy
    /// devices. FADT IAPC_BOOT_ARCH says no VGA and no CMOS RTC and has
    /// neither the legacy-devices nor the 8042 bit; MADT PCAT_COMPAT is
    /// clear (no 8259 pair: with unclaimed ports reading all ones, Linux's
    /// PIC probe then takes the null legacy PIC, notes §11 item 4); the
    /// DSDT has only the processors and `\_S5`. The PM1 fixed hardware is still described
    /// (not HW_REDUCED_ACPI), so `poweroff` through `\_S5` works where the
    /// board decodes the PM ports.
    pub pvh: bool,
    /// The ISA IRQ the firmware routed each PIIX3 PIRQA#-PIRQD# to (PIRQRCA
    /// -PIRQRCD; `None`: routing disabled), as the board leaves them at
    /// creation: `device_model::pci::PciBus::pirq_route(0..4)`. The `_PRT`
    /// gives each slot's INTx# the IRQ of its PIRQ as its GSI. Ignored for
    /// PVH.
    pub pirq_routes: [Option<u8>; 4],
}

impl PcAcpiConfig {
    /// The PC board (HVM) with `vcpus` processors, an I/O APIC, no HPET and
    /// no PIRQ routed.
    pub fn hvm(vcpus: u32) -> Self {
        Self {
            vcpus,
            io_apic: true,
            hpet: false,
            pvh: false,
            pirq_routes: [None; 4],
        }
    }

    /// A PVH guest with `vcpus` processors: no I/O APIC (virtual-wire mode,
    /// as Xen's PVH tables), no HPET.
    pub fn pvh(vcpus: u32) -> Self {
        Self {
            io_apic: false,
            pvh: true,
            ..Self::hvm(vcpus)
        }
    }
}

impl Default for PcAcpiConfig {
    /// One vCPU on the PC board.
    fn default() -> Self {
        Self::hvm(1)
    }
}

/// Why [`build`] refused a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// `vcpus` is 0 or above [`MAX_VCPUS`].
    VcpuCount(u32),
    /// `tables_base` is not 64-byte aligned (the FACS must be, ACPI 6.5,
    /// 5.2.10), or the blob would not end below 4 GiB (the RSDT and the
    /// FADT's 32-bit fields point into it).
    TablesBase(u64),
    /// A PIRQ routed to an IRQ the PIIX3 cannot route to (0-2, 8, 13 and
    /// above 15 are reserved in PIRQRC).
    PirqRoute(u8),
}

/// The tables, ready to be copied into guest memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcpiImage {
    /// The RSDP, for [`RSDP_ADDRESS`].
    pub rsdp: [u8; RSDP_SIZE],
    /// Every other table, for the `tables_base` given to [`build`]; at most
    /// [`TABLES_MAX_SIZE`] bytes.
    pub tables: Vec<u8>,
}

/// Builds the RSDP and the tables blob for a board `config` whose blob the
/// hypervisor copies to guest-physical `tables_base` (normally
/// [`tables_base`]`(ram_size)`).
pub fn build(config: &PcAcpiConfig, tables_base: u64) -> Result<AcpiImage, AcpiError> {
    if config.vcpus == 0 || config.vcpus > MAX_VCPUS {
        return Err(AcpiError::VcpuCount(config.vcpus));
    }
    if !tables_base.is_multiple_of(64) || tables_base.saturating_add(TABLES_MAX_SIZE) > 1 << 32 {
        return Err(AcpiError::TablesBase(tables_base));
    }
    if !config.pvh {
        for irq in config.pirq_routes.into_iter().flatten() {
            if !matches!(irq, 3..=7 | 9..=12 | 14 | 15) {
                return Err(AcpiError::PirqRoute(irq));
            }
        }
    }
    let mut blob = Blob {
        base: tables_base,
        bytes: Vec::new(),
    };
    // The FACS first: the blob's base is 64-byte aligned, so it is too.
    let facs = blob.add(&system_tables::facs(), 64);
    let dsdt = blob.add(&dsdt::dsdt(config), 16);
    let fadt = blob.add(&system_tables::fadt(config, facs, dsdt), 16);
    let mut listed = alloc::vec![fadt, blob.add(&madt::madt(config), 16)];
    if config.hpet {
        listed.push(blob.add(&system_tables::hpet(), 16));
    }
    let rsdt = blob.add(&system_tables::rsdt(&listed), 16);
    let xsdt = blob.add(&system_tables::xsdt(&listed), 16);
    debug_assert!(blob.bytes.len() as u64 <= TABLES_MAX_SIZE);
    Ok(AcpiImage {
        rsdp: system_tables::rsdp(rsdt, xsdt),
        tables: blob.bytes,
    })
}

/// The tables blob being laid out.
struct Blob {
    base: u64,
    bytes: Vec<u8>,
}

impl Blob {
    /// Appends `table` at the next `align`-byte boundary; returns its
    /// guest-physical address.
    fn add(&mut self, table: &[u8], align: usize) -> u64 {
        let at = self.bytes.len().next_multiple_of(align);
        self.bytes.resize(at, 0);
        self.bytes.extend_from_slice(table);
        self.base + at as u64
    }
}
