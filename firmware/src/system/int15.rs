//! INT 15h, system services.
//!
//! - AX=E820h, the system address map: ACPI Specification 6.5, section 15.1
//!   "INT 15H, E820H - Query System Address Map" (the register interface, the
//!   20-byte Address Range Descriptor, types 1 AddressRangeMemory and 2
//!   AddressRangeReserved) and 15.2 "E820 Assumptions and Limitations".
//! - AX=E801h (memory sizes for more than 64 MiB), AH=88h (extended memory
//!   size), AX=2400h-2403h (A20 gate), AX=EC00h (the "target operating mode"
//!   hint Linux gives): Ralf Brown's Interrupt List. For AH=88h it notes that
//!   "the standard BIOS only returns memory between 1MB and 16MB" and that
//!   Windows 3.0 fails when more than 15 MB is reported; the AT's 24-bit bus
//!   never had more. So AH=88h reports at most 15 MiB (3C00h), the same as
//!   E801h's AX; larger machines are described by E801h and E820h.
//! - AH=C0h (system configuration parameters), AH=C1h (EBDA segment), AH=4Fh
//!   (keyboard intercept), AH=86h (wait), AH=90h/91h (device busy/interrupt
//!   complete): the IBM PS/2 and PC BIOS Interface Technical Reference, and
//!   the AT listing's `CASSETTE_IO`.
//!
//! Choices:
//! - AH=86h (wait) is served by [`super::TimedWait`], which keeps state
//!   between the stub's calls; [`int15`] never sees it.
//! - AH=87h (block move to extended memory) and AH=89h (switch to protected
//!   mode) are not provided: they answer AH=86h "unsupported" with CF set.
//!   Both need the BIOS to run guest code in protected mode; every operating
//!   system this hypervisor boots uses its own mode switch.
//! - A20: the emulated chipset ORs the 8042 output-port gate with port 92h
//!   bit 1 (see `device_model::i8042`), so disabling has to close both. The
//!   functions drive both gates together (port 92h, and the 8042's one-byte
//!   commands DDh/DFh, which put nothing in its output buffer) and report the
//!   state from port 92h; [`post_a20`] opens both at POST so they agree from
//!   the start.
//! - The configuration table says "second 8259, RTC, EBDA"; it does *not*
//!   claim that INT 09h calls INT 15h/4Fh, since this BIOS's keyboard
//!   interrupt runs in the hypervisor and does not.

mod a20;
mod config_table;
mod memory_map;
#[cfg(test)]
mod tests;

pub use a20::{post_a20, A20_SUPPORT_KBC, A20_SUPPORT_PORT_92};
pub use config_table::{
    SYSTEM_CONFIG_ADDR, SYSTEM_CONFIG_OFFSET, SYSTEM_CONFIG_SEGMENT, SYSTEM_CONFIG_TABLE,
};
pub use memory_map::{
    acpi_tables_region, e820_map, BoardReservations, E820Entry, E820Map, E820_ENTRY_SIZE,
    E820_MAX_ENTRIES, E820_TYPE_ACPI, E820_TYPE_RAM, E820_TYPE_RESERVED, HIGH_RAM_BASE,
    LOW_RAM_LIMIT, RAM_BELOW_4G_LIMIT, ROM_AREA_BASE, SMAP, XEN_SPECIAL_PAGES,
    XEN_SPECIAL_PAGES_SIZE,
};

use crate::bda;
use crate::{BiosPlatform, Next, RealMemory, Regs};
use a20::a20;
use memory_map::{e801, e820, kib_1m_to_16m};

/// Status: function not supported (AH on a CF-set return).
const STATUS_UNSUPPORTED: u8 = 0x86;

/// INT 15h, on a board with the Xen platform device when `xen_platform`
/// (its special pages are reserved in the E820h map) and no ACPI tables:
/// [`int15_on`] with [`BoardReservations::xen_platform`].
pub fn int15(
    regs: &mut Regs,
    mem: &mut dyn RealMemory,
    pf: &mut dyn BiosPlatform,
    xen_platform: bool,
) -> Next {
    int15_on(regs, mem, pf, BoardReservations::xen_platform(xen_platform))
}

/// INT 15h on a board with `board`'s reservations: the E820h map lists
/// them, and E801h and 88h leave the ACPI tables out of the sizes.
pub fn int15_on(
    regs: &mut Regs,
    mem: &mut dyn RealMemory,
    pf: &mut dyn BiosPlatform,
    board: BoardReservations,
) -> Next {
    match regs.ax() {
        0xE820 => e820(regs, mem, pf, board),
        0xE801 => e801(regs, pf.ram_size(), board),
        0xEC00 => regs.succeed(),
        0x2400..=0x24FF => a20(regs, pf),
        _ => match regs.ah() {
            // Keyboard intercept: CF set means "process the key in AL".
            0x4F => regs.set_cf(true),
            0x88 => {
                regs.set_ax(kib_1m_to_16m(pf.ram_size(), board));
                regs.set_cf(false);
            }
            // Device busy / interrupt complete: nothing to wait for.
            0x90 | 0x91 => regs.succeed(),
            0xC0 => {
                regs.es = SYSTEM_CONFIG_SEGMENT;
                regs.set_bx(SYSTEM_CONFIG_OFFSET);
                regs.succeed();
            }
            0xC1 => {
                regs.es = mem.read_u16(bda::EBDA_SEGMENT_PTR);
                regs.succeed();
            }
            // 53h APM (86h: "APM not present"), 87h block move, 89h protected
            // mode, and everything else.
            _ => regs.fail(STATUS_UNSUPPORTED),
        },
    }
    Next::Return
}
