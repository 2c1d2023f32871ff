//! The machine's memory as INT 15h reports it: the E820h address map (ACPI
//! 6.5, 15.1 and 15.2), which describes all of it, and the older E801h and
//! 88h sizes, which count only what lies below 4 GiB and 16 MiB.
//!
//! On a board with the Xen platform device the map also reserves the Xen
//! special pages ([`XEN_SPECIAL_PAGES`]): the XenStore and console rings
//! live there, backed by the hypervisor's own frames, and Linux `memremap`s
//! them, so they must be E820-reserved, not RAM (notes/xen-abi.md §4 step
//! 10 and §12 item 8; QEMU reserves the same PFNs FEFF8h-FEFFFh).
//!
//! On a board with ACPI tables the top of RAM below 4 GiB holds them
//! ([`acpi_tables_region`]): the map gives that range as type 3,
//! AddressRangeACPI (ACPI 6.5, 15.1, the address range types), and the RAM
//! entry, E801h and 88h stop below it, so no OS takes it for free memory.
//! Which reservations a board has is a [`BoardReservations`]; without any
//! the map is the PC/AT's alone.

use super::STATUS_UNSUPPORTED;
use crate::bda;
use crate::regs::linear;
use crate::{BiosPlatform, RealMemory, Regs};
use pc_layout::memory::{FOUR_GIB, VGA_WINDOW};
/// The Xen special pages, reserved when the Xen platform is on.
pub use pc_layout::memory::{XEN_SPECIAL_PAGES, XEN_SPECIAL_PAGES_SIZE};

// ---- E820h ----

/// 'SMAP', the signature in EDX on entry and EAX on return.
pub const SMAP: u32 = 0x534D_4150;
/// Bytes of an Address Range Descriptor (base, length, type), the minimum
/// buffer the caller must offer and what this BIOS returns.
pub const E820_ENTRY_SIZE: u32 = 20;
/// Address range type 1: AddressRangeMemory, available to the OS.
pub const E820_TYPE_RAM: u32 = 1;
/// Address range type 2: AddressRangeReserved, not to be used by the OS.
pub const E820_TYPE_RESERVED: u32 = 2;
/// Address range type 3: AddressRangeACPI, ACPI reclaim memory (the
/// tables; the OS may use it once it has read them).
pub const E820_TYPE_ACPI: u32 = 3;
/// End of usable conventional memory: the EBDA starts here.
pub const LOW_RAM_LIMIT: u64 = bda::EBDA_BASE as u64;
/// End of the EBDA and start of the VGA window.
const EBDA_END: u64 = VGA_WINDOW;
/// Extended memory starts at 1 MiB.
pub use pc_layout::memory::HIGH_MEMORY as HIGH_RAM_BASE;
/// RAM below 4 GiB ends here at most; the rest is placed from 4 GiB
/// ([`FOUR_GIB`]), as the CMOS memory bytes describe it
/// (`device_model::cmos_rtc`).
pub use pc_layout::memory::RAM_BELOW_4G_LIMIT;
/// The BIOS ROM area, reserved up to 1 MiB.
pub use pc_layout::memory::ROM_AREA as ROM_AREA_BASE;
/// The most ranges the map has: conventional memory, the EBDA, the ROM
/// area, extended memory, the ACPI tables, the Xen special pages, RAM above
/// 4 GiB.
pub const E820_MAX_ENTRIES: usize = 7;

/// What a board reserves in the map besides the PC/AT's ranges. The
/// default, nothing, is the PC/AT map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoardReservations {
    /// The board has the Xen platform device: its special pages
    /// ([`XEN_SPECIAL_PAGES`]) are reserved.
    pub xen_special_pages: bool,
    /// Bytes of ACPI tables at the top of RAM below 4 GiB
    /// ([`acpi_tables_region`]; `pc_acpi::TABLES_MAX_SIZE` on a board with
    /// the tables), 0 for none.
    pub acpi_tables: u64,
}

impl BoardReservations {
    /// The reservations of a board with (`on`) or without the Xen platform
    /// device and no ACPI tables: what `xen_platform` meant before the
    /// tables existed.
    pub fn xen_platform(on: bool) -> Self {
        Self {
            xen_special_pages: on,
            acpi_tables: 0,
        }
    }
}

/// Where the ACPI tables are in a machine of `ram_size` bytes whose board
/// has `size` bytes of them: `[base, end)`, the top `size` bytes of RAM
/// below 4 GiB with the base rounded down to a page, so `end` is the end of
/// that RAM. `None` when `size` is 0 or the range would not lie above 1 MiB
/// (the hypervisor then writes no tables: `pc_acpi::tables_base` makes the
/// same choice).
pub fn acpi_tables_region(ram_size: u64, size: u64) -> Option<(u64, u64)> {
    if size == 0 {
        return None;
    }
    let end = ram_size.min(RAM_BELOW_4G_LIMIT);
    let base = end.checked_sub(size)? & !0xFFF;
    (base >= HIGH_RAM_BASE).then_some((base, end))
}

/// Where usable RAM below 4 GiB ends: at the ACPI tables if the board has
/// them, else at the end of that RAM.
fn usable_below_4g(ram_size: u64, board: BoardReservations) -> u64 {
    acpi_tables_region(ram_size, board.acpi_tables)
        .map_or(ram_size.min(RAM_BELOW_4G_LIMIT), |(base, _)| base)
}

/// One Address Range Descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct E820Entry {
    pub base: u64,
    pub length: u64,
    pub kind: u32,
}

impl E820Entry {
    /// The descriptor as the caller's buffer receives it: BaseAddrLow/High,
    /// LengthLow/High, Type, little-endian.
    pub fn to_bytes(&self) -> [u8; E820_ENTRY_SIZE as usize] {
        let mut b = [0u8; E820_ENTRY_SIZE as usize];
        b[0..8].copy_from_slice(&self.base.to_le_bytes());
        b[8..16].copy_from_slice(&self.length.to_le_bytes());
        b[16..20].copy_from_slice(&self.kind.to_le_bytes());
        b
    }
}

/// The machine's address map, in ascending address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E820Map {
    entries: [E820Entry; E820_MAX_ENTRIES],
    len: usize,
}

impl E820Map {
    pub fn as_slice(&self) -> &[E820Entry] {
        &self.entries[..self.len]
    }

    fn push(&mut self, base: u64, end: u64, kind: u32) {
        if end > base && self.len < E820_MAX_ENTRIES {
            self.entries[self.len] = E820Entry {
                base,
                length: end - base,
                kind,
            };
            self.len += 1;
        }
    }
}

/// The address map for `ram_size` bytes of RAM from address 0, in
/// ascending order: conventional memory below the EBDA, the EBDA and the
/// BIOS ROM area reserved, extended memory from 1 MiB up to at most
/// [`RAM_BELOW_4G_LIMIT`] (less the ACPI tables at its top, type 3, when
/// `board` has them), the Xen special pages reserved when `board` has them,
/// and the rest of RAM from 4 GiB. The VGA window (A0000h-BFFFFh) and the
/// option ROM space (C0000h-DFFFFh) are left out, as are the APICs' and the
/// HPET's register pages.
pub fn e820_map(ram_size: u64, board: BoardReservations) -> E820Map {
    let mut map = E820Map {
        entries: [E820Entry::default(); E820_MAX_ENTRIES],
        len: 0,
    };
    let below_4g = ram_size.min(RAM_BELOW_4G_LIMIT);
    map.push(0, below_4g.min(LOW_RAM_LIMIT), E820_TYPE_RAM);
    map.push(LOW_RAM_LIMIT, EBDA_END, E820_TYPE_RESERVED);
    map.push(ROM_AREA_BASE, HIGH_RAM_BASE, E820_TYPE_RESERVED);
    map.push(
        HIGH_RAM_BASE,
        usable_below_4g(ram_size, board),
        E820_TYPE_RAM,
    );
    if let Some((base, end)) = acpi_tables_region(ram_size, board.acpi_tables) {
        map.push(base, end, E820_TYPE_ACPI);
    }
    if board.xen_special_pages {
        map.push(
            XEN_SPECIAL_PAGES,
            XEN_SPECIAL_PAGES + XEN_SPECIAL_PAGES_SIZE,
            E820_TYPE_RESERVED,
        );
    }
    let above_4g = ram_size - below_4g;
    map.push(FOUR_GIB, FOUR_GIB.saturating_add(above_4g), E820_TYPE_RAM);
    map
}

/// AX=E820h: EBX the index of the descriptor to return (0 first), ECX the
/// buffer size, EDX 'SMAP', ES:DI the buffer. Returns the descriptor, EAX
/// 'SMAP', ECX 20, and EBX the next index, or 0 after the last one. The map
/// is [`e820_map`]'s for `board`.
pub(super) fn e820(
    regs: &mut Regs,
    mem: &mut dyn RealMemory,
    pf: &mut dyn BiosPlatform,
    board: BoardReservations,
) {
    if regs.edx != SMAP || regs.ecx < E820_ENTRY_SIZE {
        return regs.fail(STATUS_UNSUPPORTED);
    }
    let map = e820_map(pf.ram_size(), board);
    let entries = map.as_slice();
    let Some(entry) = usize::try_from(regs.ebx).ok().and_then(|i| entries.get(i)) else {
        return regs.fail(STATUS_UNSUPPORTED);
    };
    if !mem.write(linear(regs.es, regs.di()), &entry.to_bytes()) {
        return regs.fail(STATUS_UNSUPPORTED);
    }
    let next = regs.ebx + 1;
    regs.ebx = if (next as usize) < entries.len() {
        next
    } else {
        0
    };
    regs.eax = SMAP;
    regs.ecx = E820_ENTRY_SIZE;
    regs.set_cf(false);
}

// ---- E801h and 88h ----

const KIB: u64 = 1024;
pub(super) const SIXTEEN_MIB: u64 = 16 << 20;
pub(super) const BLOCK_64K: u64 = 64 * KIB;

/// KiB of usable RAM between 1 MiB and 16 MiB (at most 3C00h): the ACPI
/// tables of `board` are not counted.
pub(super) fn kib_1m_to_16m(ram_size: u64, board: BoardReservations) -> u16 {
    let usable = usable_below_4g(ram_size, board);
    let kib = (usable.min(SIXTEEN_MIB).saturating_sub(HIGH_RAM_BASE)) / KIB;
    kib as u16 // at most 15360
}

/// AX=E801h: AX = CX = KiB between 1 MiB and 16 MiB, BX = DX = 64 KiB blocks
/// from 16 MiB to the end of usable RAM below 4 GiB (the ACPI tables of
/// `board` are not counted).
pub(super) fn e801(regs: &mut Regs, ram_size: u64, board: BoardReservations) {
    let usable = usable_below_4g(ram_size, board);
    let low = kib_1m_to_16m(ram_size, board);
    let blocks = (usable.saturating_sub(SIXTEEN_MIB) / BLOCK_64K).min(0xFFFF) as u16;
    regs.set_ax(low);
    regs.set_cx(low);
    regs.set_bx(blocks);
    regs.set_dx(blocks);
    regs.set_cf(false);
}
