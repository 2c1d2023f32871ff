//! The ACPI tables of the modern PC (issue 15): built by `pc_acpi` for the
//! board as it is, written where the BIOS's E820h map says they are (the
//! top of RAM below 4 GiB, type 3) with the RSDP in the BIOS area at
//! E0000h (ACPI 6.5, 5.2.5.1 "Finding the RSDP on IA-PC Systems"). Written
//! again at every reset: the OS may reclaim type 3 memory once it has read
//! the tables.

use crate::domain::Domain;
use alloc::string::String;
use pc_acpi::PcAcpiConfig;

/// The PIIX3 PIRQ routes the board's firmware set (PIRQRCA-D), for `_PRT`.
fn pirq_routes(dom: &Domain) -> [Option<u8>; 4] {
    let Some(legacy) = dom.board.legacy.as_ref() else {
        return [None; 4];
    };
    let pci = legacy.pci.borrow();
    core::array::from_fn(|i| pci.pirq_route(i))
}

/// Writes the tables for `dom`'s board; returns the bytes the BIOS must
/// keep out of RAM ([`pc_acpi::TABLES_MAX_SIZE`]), or 0 when the board has
/// no tables (`acpi = off`, or too little RAM to hold them above 1 MiB).
pub fn write_tables(dom: &mut Domain) -> Result<u64, String> {
    if dom.board.apic.is_none() {
        return Ok(0);
    }
    let Some(base) = pc_acpi::tables_base(dom.memory.ram_size()) else {
        log::warn!("ACPI: too little RAM for the tables above 1 MiB; the guest gets none");
        return Ok(0);
    };
    let config = PcAcpiConfig {
        pirq_routes: pirq_routes(dom),
        ..PcAcpiConfig::hvm(dom.cpu.vcpus.max(1))
    };
    let image = pc_acpi::build(&config, base)
        .map_err(|e| alloc::format!("cannot build the ACPI tables: {e:?}"))?;
    dom.memory
        .write(base, &image.tables)
        .and_then(|()| dom.memory.write(pc_acpi::RSDP_ADDRESS, &image.rsdp))
        .map_err(|e| alloc::format!("cannot write the ACPI tables: {e:?}"))?;
    Ok(pc_acpi::TABLES_MAX_SIZE)
}
