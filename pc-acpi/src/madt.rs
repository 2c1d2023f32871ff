//! The MADT (ACPI 6.5, 5.2.12): the local APICs, the I/O APIC, how the ISA
//! IRQs reach it, and where NMI comes in.

use crate::system_tables::bytes_of;
use crate::{io_apic_id, PcAcpiConfig, OEM_ID, OEM_REVISION, OEM_TABLE_ID};
use acpi_tables::madt::{EnabledStatus, IoApic, ProcessorLocalApic};
use acpi_tables::sdt::Sdt;
use alloc::vec::Vec;
use pc_layout::{irqs, memory};

/// MADT revision: 5, the ACPI 6.2-6.4 value; the structures used here are
/// the same in 6.5.
const MADT_REVISION: u8 = 5;
/// Bytes of the MADT before its structures (header, local APIC address,
/// flags).
pub(crate) const MADT_HEADER_SIZE: usize = 44;
/// Multiple APIC Flags bit 0 (table 5.20): the system also has a PC/AT
/// 8259 pair, which the OS must mask before using the I/O APIC.
pub(crate) const PCAT_COMPAT: u32 = 1;

/// Structure types (table 5.21).
#[cfg(test)]
pub(crate) const TYPE_LOCAL_APIC: u8 = 0;
#[cfg(test)]
pub(crate) const TYPE_IO_APIC: u8 = 1;
pub(crate) const TYPE_INTERRUPT_SOURCE_OVERRIDE: u8 = 2;
pub(crate) const TYPE_LOCAL_APIC_NMI: u8 = 4;

/// MPS INTI flags (table 5.26): polarity in bits 1:0, trigger mode in 3:2.
pub(crate) mod inti {
    /// Polarity "conforms to the bus" (ISA: active high).
    pub const POLARITY_BUS: u16 = 0b00;
    pub const ACTIVE_HIGH: u16 = 0b01;
    /// Trigger mode "conforms to the bus".
    pub const TRIGGER_BUS: u16 = 0b00 << 2;
    pub const EDGE: u16 = 0b01 << 2;
    pub const LEVEL: u16 = 0b11 << 2;
}

/// The ISA bus, the only source bus of an override (5.2.12.5).
const BUS_ISA: u8 = 0;
/// The ACPI processor UID meaning "all processors" in a local APIC NMI
/// structure (5.2.12.7).
pub(crate) const ALL_PROCESSORS: u8 = 0xFF;
/// The local APIC input NMI arrives on.
pub(crate) const LINT1: u8 = 1;

/// The interrupt source overrides (5.2.12.5), as (ISA IRQ, GSI, flags): the
/// PIT's IRQ 0 reaches I/O APIC pin 2 (edge, as ISA), and the SCI is
/// level-triggered, active high (QEMU's declaration; the board's ACPI PM
/// device raises it high).
pub(crate) const OVERRIDES: [(u8, u32, u16); 2] = [
    (irqs::PIT, 2, inti::POLARITY_BUS | inti::EDGE),
    (
        irqs::ACPI_SCI,
        irqs::ACPI_SCI as u32,
        inti::ACTIVE_HIGH | inti::LEVEL,
    ),
];

/// Interrupt Source Override structure (5.2.12.5, table 5.25).
fn interrupt_source_override(source: u8, gsi: u32, flags: u16) -> [u8; 10] {
    let mut s = [0u8; 10];
    s[0] = TYPE_INTERRUPT_SOURCE_OVERRIDE;
    s[1] = 10;
    s[2] = BUS_ISA;
    s[3] = source;
    s[4..8].copy_from_slice(&gsi.to_le_bytes());
    s[8..10].copy_from_slice(&flags.to_le_bytes());
    s
}

/// Local APIC NMI structure (5.2.12.7, table 5.28).
fn local_apic_nmi(uid: u8, flags: u16, lint: u8) -> [u8; 6] {
    let [f0, f1] = flags.to_le_bytes();
    [TYPE_LOCAL_APIC_NMI, 6, uid, f0, f1, lint]
}

/// The MADT for `config`.
pub(crate) fn madt(config: &PcAcpiConfig) -> Vec<u8> {
    let mut sdt = Sdt::new(
        *b"APIC",
        MADT_HEADER_SIZE as u32,
        MADT_REVISION,
        OEM_ID,
        OEM_TABLE_ID,
        OEM_REVISION,
    );
    sdt.write_u32(36, memory::LOCAL_APIC as u32);
    sdt.write_u32(40, if config.pvh { 0 } else { PCAT_COMPAT });
    let mut body = Vec::new();
    for i in 0..config.vcpus {
        // `build` keeps vcpus at most MAX_VCPUS (255): the index is a byte.
        let id = i as u8;
        body.extend(bytes_of(&ProcessorLocalApic::new(
            id,
            id,
            EnabledStatus::Enabled,
        )));
    }
    if config.io_apic {
        body.extend(bytes_of(&IoApic::new(
            io_apic_id(config.vcpus),
            memory::IO_APIC as u32,
            0,
        )));
        for (irq, gsi, flags) in OVERRIDES {
            body.extend(interrupt_source_override(irq, gsi, flags));
        }
    }
    body.extend(local_apic_nmi(
        ALL_PROCESSORS,
        inti::POLARITY_BUS | inti::TRIGGER_BUS,
        LINT1,
    ));
    sdt.append_slice(&body);
    sdt.as_slice().to_vec()
}
