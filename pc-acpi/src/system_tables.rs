//! The fixed-layout tables: RSDP, RSDT, XSDT, FADT, FACS and HPET.

use crate::{PcAcpiConfig, OEM_ID, OEM_REVISION, OEM_TABLE_ID, RSDP_SIZE};
use acpi_tables::facs::FACS;
use acpi_tables::fadt::{FADTBuilder, Flags};
use acpi_tables::gas::{AccessSize, AddressSpace, GAS};
use acpi_tables::sdt::Sdt;
use acpi_tables::xsdt::XSDT;
use acpi_tables::Aml;
use alloc::vec::Vec;
use pc_layout::{irqs, memory, ports};

/// The serialised form of an [`Aml`] object or table.
pub(crate) fn bytes_of(aml: &dyn Aml) -> Vec<u8> {
    let mut v = Vec::new();
    aml.to_aml_bytes(&mut v);
    v
}

/// The byte that makes `bytes` sum to 0 (ACPI 6.5, 5.2.5.3 and 5.2.6).
pub(crate) fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b)))
}

/// RSDP revision 2 (ACPI 6.5, 5.2.5.3, table 5.3): signature, checksum of
/// the first 20 bytes, OEM ID, revision 2, RSDT address, length 36, XSDT
/// address, extended checksum of all 36 bytes, 3 reserved bytes.
pub(crate) fn rsdp(rsdt: u64, xsdt: u64) -> [u8; RSDP_SIZE] {
    let mut r = [0u8; RSDP_SIZE];
    r[0..8].copy_from_slice(b"RSD PTR ");
    r[9..15].copy_from_slice(&OEM_ID);
    r[15] = 2;
    // The blob ends below 4 GiB (`build` checks), so the RSDT address fits.
    r[16..20].copy_from_slice(&(rsdt as u32).to_le_bytes());
    r[20..24].copy_from_slice(&(RSDP_SIZE as u32).to_le_bytes());
    r[24..32].copy_from_slice(&xsdt.to_le_bytes());
    r[8] = checksum(&r[..20]);
    r[32] = checksum(&r);
    r
}

/// RSDT (5.2.7): 32-bit pointers to `tables`.
pub(crate) fn rsdt(tables: &[u64]) -> Vec<u8> {
    let mut sdt = Sdt::new(*b"RSDT", 36, 1, OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    let entries: Vec<u8> = tables
        .iter()
        .flat_map(|t| (*t as u32).to_le_bytes())
        .collect();
    sdt.append_slice(&entries);
    sdt.as_slice().to_vec()
}

/// XSDT (5.2.8): 64-bit pointers to `tables`.
pub(crate) fn xsdt(tables: &[u64]) -> Vec<u8> {
    let mut xsdt = XSDT::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    for t in tables {
        xsdt.add_entry(*t);
    }
    bytes_of(&xsdt)
}

/// FACS (5.2.10, table 5.14): 64 bytes, version 2 (the ACPI 4.0+ layout
/// with X_Firmware_Waking_Vector), no hardware signature, no flags: no S4BIOS,
/// no 64-bit wake. Nothing wakes from sleep on this board (no `\_S3`).
pub(crate) fn facs() -> Vec<u8> {
    let mut facs = FACS::new();
    facs.version = 2;
    bytes_of(&facs)
}

/// FADT flags (5.2.9, table 5.10) of every board: WBINVD works; C1 on all
/// processors; no sleep button (SLP_BUTTON set); the reset register works.
/// The power button is the fixed-hardware one (PWR_BUTTON clear), the PM
/// timer is 24 bits (TMR_VAL_EXT clear).
const FADT_FLAGS: [Flags; 4] = [
    Flags::Wbinvd,
    Flags::ProcC1,
    Flags::SlpButton,
    Flags::ResetRegSup,
];

/// IAPC_BOOT_ARCH (5.2.9.3, table 5.11) bits.
pub(crate) mod boot_arch {
    /// LEGACY_DEVICES: the motherboard has user-visible ISA/LPC devices.
    pub const LEGACY_DEVICES: u16 = 1 << 0;
    /// 8042: the motherboard has an 8042 or equivalent.
    pub const I8042: u16 = 1 << 1;
    /// VGA Not Present.
    pub const NO_VGA: u16 = 1 << 2;
    /// CMOS RTC Not Present.
    pub const NO_CMOS_RTC: u16 = 1 << 5;
}

/// The FADT's IAPC_BOOT_ARCH for `config`: the PC has legacy devices and an
/// 8042 (and VGA and the CMOS RTC: never both "not present" bits on an HVM
/// guest, module documentation of the crate); a PVH guest has none of them.
pub(crate) fn iapc_boot_arch(config: &PcAcpiConfig) -> u16 {
    if config.pvh {
        boot_arch::NO_VGA | boot_arch::NO_CMOS_RTC
    } else {
        boot_arch::LEGACY_DEVICES | boot_arch::I8042
    }
}

/// The CMOS RAM index of the century (the MC146818's RAM byte 32h, as the
/// board's RTC keeps it, `device_model::cmos_rtc`).
pub(crate) const CMOS_CENTURY_INDEX: u8 = 0x32;
/// P_LVL2_LAT above 100: C2 not supported (5.2.9).
const NO_C2: u16 = 0x0FFF;
/// P_LVL3_LAT above 1000: C3 not supported.
const NO_C3: u16 = 0x0FFF;
/// The reset register's value: PIIX3 RC bits 2 (reset CPU) and 1 (system
/// reset, a hard reset), as QEMU's FADT.
pub(crate) const RESET_VALUE: u8 = 0x06;

/// A system I/O register block of `len` bytes at `port`, accessed `access`
/// bytes at a time, as a generic address structure (5.2.3.2).
fn io_gas(port: u16, len: u16, access: AccessSize) -> GAS {
    GAS::new(
        AddressSpace::SystemIo,
        (len * 8) as u8,
        0,
        access,
        u64::from(port),
    )
}

/// FADT revision 6.5 (5.2.9, table 5.9), pointing at the FACS and the DSDT.
///
/// The FACS address is in FIRMWARE_CTRL and X_FIRMWARE_CTRL is 0, as the
/// table requires when the 32-bit one is used; the DSDT is in both DSDT and
/// X_DSDT (the same value: ACPICA warns only when they differ). No SMI
/// command port, so ACPI_ENABLE/ACPI_DISABLE are 0 (ACPI mode is always
/// on); no GPE blocks; preferred PM profile "unspecified".
pub(crate) fn fadt(config: &PcAcpiConfig, facs: u64, dsdt: u64) -> Vec<u8> {
    let mut f = FADTBuilder::new(OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    for flag in FADT_FLAGS {
        f = f.flag(flag);
    }
    // `build` keeps the blob below 4 GiB.
    f.firmware_ctrl = (facs as u32).into();
    f.x_firmware_ctrl = 0.into();
    f.dsdt = (dsdt as u32).into();
    f.x_dsdt = dsdt.into();
    f.sci_int = u16::from(irqs::ACPI_SCI).into();
    f.smi_cmd = 0.into();
    f.pm1a_evt_blk = u32::from(ports::ACPI_PM1A_EVT).into();
    f.pm1a_cnt_blk = u32::from(ports::ACPI_PM1A_CNT).into();
    f.pm_tmr_blk = u32::from(ports::ACPI_PM_TIMER).into();
    f.pm1_evt_len = ports::ACPI_PM1A_EVT_LEN as u8;
    f.pm1_cnt_len = ports::ACPI_PM1A_CNT_LEN as u8;
    f.pm_tmr_len = ports::ACPI_PM_TIMER_LEN as u8;
    // PM1_STS and PM1_EN are 16-bit registers, PM1_CNT too; the timer is
    // read as a dword (4.8.3).
    f.x_pm1a_evt_blk = io_gas(
        ports::ACPI_PM1A_EVT,
        ports::ACPI_PM1A_EVT_LEN,
        AccessSize::WordAccess,
    );
    f.x_pm1a_cnt_blk = io_gas(
        ports::ACPI_PM1A_CNT,
        ports::ACPI_PM1A_CNT_LEN,
        AccessSize::WordAccess,
    );
    f.x_pm_tmr_blk = io_gas(
        ports::ACPI_PM_TIMER,
        ports::ACPI_PM_TIMER_LEN,
        AccessSize::DwordAccess,
    );
    f.p_lvl2_lat = NO_C2.into();
    f.p_lvl3_lat = NO_C3.into();
    f.century = if config.pvh { 0 } else { CMOS_CENTURY_INDEX };
    f.iapc_boot_arch = iapc_boot_arch(config).into();
    f.reset_reg = io_gas(ports::RESET_CONTROL, 1, AccessSize::ByteAccess);
    f.reset_value = RESET_VALUE;
    bytes_of(&f.finalize())
}

/// HPET table (IA-PC HPET 1.0a, 3.2.4, table 3): the Event Timer Block ID,
/// the register block's address (system memory, 64-bit), HPET number 0, a
/// minimum periodic tick of 0 and no page protection.
pub(crate) fn hpet() -> Vec<u8> {
    let mut sdt = Sdt::new(*b"HPET", 36, 1, OEM_ID, OEM_TABLE_ID, OEM_REVISION);
    let mut body = Vec::new();
    body.extend_from_slice(&crate::HPET_EVENT_TIMER_BLOCK_ID.to_le_bytes());
    GAS::new(
        AddressSpace::SystemMemory,
        64,
        0,
        AccessSize::Undefined,
        memory::HPET,
    )
    .to_aml_bytes(&mut body);
    body.push(0); // HPET number
    body.extend_from_slice(&0u16.to_le_bytes()); // main counter minimum clock tick
    body.push(0); // page protection and OEM attribute
    sdt.append_slice(&body);
    sdt.as_slice().to_vec()
}
