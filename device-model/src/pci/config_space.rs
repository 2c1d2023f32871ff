//! One function's 256-byte configuration space with a type-0 header, from
//! the PCI Local Bus Specification, Revision 3.0, §6.1 "Configuration Space
//! Organization" and §6.2 "Configuration Space Functions": the header's
//! register offsets and bits, and [`ConfigSpace`] with per-byte writable and
//! write-1-to-clear masks. BARs are sized as §6.2.5 "Base Addresses" and
//! §6.2.5.1 "Address Maps" describe, through [`Bar`].

use crate::PciFunction;

// ---------------------------------------------------------------------------
// Type-0 header (§6.1, §6.2)
// ---------------------------------------------------------------------------

/// Size of one function's configuration space in bytes.
pub const CONFIG_SPACE_SIZE: usize = 256;

/// Header offset 00h: Vendor ID.
pub const VENDOR_ID: u8 = 0x00;
/// Header offset 02h: Device ID.
pub const DEVICE_ID: u8 = 0x02;
/// Header offset 04h: Command.
pub const COMMAND: u8 = 0x04;
/// Header offset 06h: Status.
pub const STATUS: u8 = 0x06;
/// Header offset 08h: Revision ID.
pub const REVISION_ID: u8 = 0x08;
/// Header offset 09h: Class Code, programming interface byte.
pub const PROG_IF: u8 = 0x09;
/// Header offset 0Ah: Class Code, sub-class byte.
pub const SUB_CLASS: u8 = 0x0A;
/// Header offset 0Bh: Class Code, base class byte.
pub const BASE_CLASS: u8 = 0x0B;
/// Header offset 0Ch: Cacheline Size.
pub const CACHE_LINE_SIZE: u8 = 0x0C;
/// Header offset 0Dh: Latency Timer.
pub const LATENCY_TIMER: u8 = 0x0D;
/// Header offset 0Eh: Header Type.
pub const HEADER_TYPE: u8 = 0x0E;
/// Header offset 0Fh: BIST.
pub const BIST: u8 = 0x0F;
/// Header offset 10h: Base Address register 0 (BARs 0-5 follow at 4-byte steps).
pub const BAR0: u8 = 0x10;
/// Header offset 28h: CardBus CIS Pointer.
pub const CARDBUS_CIS_POINTER: u8 = 0x28;
/// Header offset 2Ch: Subsystem Vendor ID.
pub const SUBSYSTEM_VENDOR_ID: u8 = 0x2C;
/// Header offset 2Eh: Subsystem ID.
pub const SUBSYSTEM_ID: u8 = 0x2E;
/// Header offset 30h: Expansion ROM Base Address.
pub const EXPANSION_ROM_BASE: u8 = 0x30;
/// Header offset 34h: Capabilities Pointer.
pub const CAPABILITIES_POINTER: u8 = 0x34;
/// Header offset 3Ch: Interrupt Line.
pub const INTERRUPT_LINE: u8 = 0x3C;
/// Header offset 3Dh: Interrupt Pin.
pub const INTERRUPT_PIN: u8 = 0x3D;
/// Header offset 3Eh: Min_Gnt.
pub const MIN_GNT: u8 = 0x3E;
/// Header offset 3Fh: Max_Lat.
pub const MAX_LAT: u8 = 0x3F;

/// Number of Base Address registers in a type-0 header.
pub const BAR_COUNT: usize = 6;

/// Command bit 0: I/O Space; the function decodes its I/O BARs.
pub const COMMAND_IO_SPACE: u16 = 1 << 0;
/// Command bit 1: Memory Space; the function decodes its memory BARs.
pub const COMMAND_MEMORY_SPACE: u16 = 1 << 1;
/// Command bit 2: Bus Master; the function may start transactions (DMA).
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
/// Command bit 3: Special Cycles; the function monitors Special Cycles.
pub const COMMAND_SPECIAL_CYCLES: u16 = 1 << 3;
/// Command bit 6: Parity Error Response.
pub const COMMAND_PARITY_ERROR_RESPONSE: u16 = 1 << 6;
/// Command bit 8: SERR# Enable.
pub const COMMAND_SERR_ENABLE: u16 = 1 << 8;
/// Command bit 10: Interrupt Disable; set, the function may not assert INTx#.
pub const COMMAND_INTERRUPT_DISABLE: u16 = 1 << 10;

/// Status bit 4: Capabilities List; 0 here, no function has capabilities.
pub const STATUS_CAPABILITIES_LIST: u16 = 1 << 4;
/// Status bit 7: Fast Back-to-Back Capable.
pub const STATUS_FAST_BACK_TO_BACK: u16 = 1 << 7;
/// Status bit 8: Master Data Parity Error (write 1 to clear).
pub const STATUS_MASTER_DATA_PARITY_ERROR: u16 = 1 << 8;
/// Status bits 10:9: DEVSEL timing, 01b = medium.
pub const STATUS_DEVSEL_MEDIUM: u16 = 1 << 9;
/// Status bit 11: Signaled Target Abort (write 1 to clear).
pub const STATUS_SIGNALED_TARGET_ABORT: u16 = 1 << 11;
/// Status bit 12: Received Target Abort (write 1 to clear).
pub const STATUS_RECEIVED_TARGET_ABORT: u16 = 1 << 12;
/// Status bit 13: Received Master Abort (write 1 to clear).
pub const STATUS_RECEIVED_MASTER_ABORT: u16 = 1 << 13;
/// Status bit 14: Signaled System Error (write 1 to clear).
pub const STATUS_SIGNALED_SYSTEM_ERROR: u16 = 1 << 14;
/// Status bit 15: Detected Parity Error (write 1 to clear).
pub const STATUS_DETECTED_PARITY_ERROR: u16 = 1 << 15;
/// The Status bits that are write-1-to-clear.
pub(super) const STATUS_W1C: u16 = STATUS_MASTER_DATA_PARITY_ERROR
    | STATUS_SIGNALED_TARGET_ABORT
    | STATUS_RECEIVED_TARGET_ABORT
    | STATUS_RECEIVED_MASTER_ABORT
    | STATUS_SIGNALED_SYSTEM_ERROR
    | STATUS_DETECTED_PARITY_ERROR;

/// Header Type bit 7: multi-function device.
pub const HEADER_TYPE_MULTI_FUNCTION: u8 = 1 << 7;

/// BAR bit 0: Memory Space Indicator; 1 for an I/O BAR.
pub const BAR_IO_SPACE: u32 = 1 << 0;
/// I/O BAR bits 1:0: the read-only indicator and reserved bit.
const BAR_IO_FLAGS: u32 = 0x3;
/// Memory BAR bits 2:1: Type; 00b = anywhere in 32-bit space.
pub const BAR_MEMORY_TYPE_32: u32 = 0 << 1;
/// Memory BAR bit 3: Prefetchable.
pub const BAR_MEMORY_PREFETCHABLE: u32 = 1 << 3;
/// Memory BAR bits 3:0: the read-only type bits.
const BAR_MEMORY_FLAGS: u32 = 0xF;
/// Smallest I/O BAR: 4 bytes (bits 1:0 are flags).
const IO_BAR_MIN: u32 = 4;
/// Largest I/O BAR: 256 bytes (§6.2.5.1).
const IO_BAR_MAX: u32 = 256;
/// Smallest memory BAR: 16 bytes (bits 3:0 are flags).
const MEMORY_BAR_MIN: u32 = 16;
/// Largest 32-bit memory BAR: 2 GiB.
const MEMORY_BAR_MAX: u32 = 1 << 31;

/// One Base Address register as the device designer fixes it (§6.2.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// An I/O range of `size` bytes (a power of two, 4..=256).
    Io { size: u32 },
    /// A 32-bit memory range of `size` bytes (a power of two, at least 16).
    Memory32 { size: u32, prefetchable: bool },
    /// No BAR: reads 0, writes ignored.
    None,
}

impl Bar {
    /// The same BAR with its size made a power of two within the bounds of
    /// its kind (rounded up, then clamped); a size of 0 means no BAR.
    fn normalized(self) -> Bar {
        match self {
            Bar::Io { size: 0 } | Bar::Memory32 { size: 0, .. } | Bar::None => Bar::None,
            Bar::Io { size } => Bar::Io {
                size: power_of_two_within(size, IO_BAR_MIN, IO_BAR_MAX),
            },
            Bar::Memory32 { size, prefetchable } => Bar::Memory32 {
                size: power_of_two_within(size, MEMORY_BAR_MIN, MEMORY_BAR_MAX),
                prefetchable,
            },
        }
    }

    /// The read-only low bits of the register.
    fn type_bits(self) -> u32 {
        match self {
            Bar::Io { .. } => BAR_IO_SPACE,
            Bar::Memory32 { prefetchable, .. } => {
                BAR_MEMORY_TYPE_32
                    | if prefetchable {
                        BAR_MEMORY_PREFETCHABLE
                    } else {
                        0
                    }
            }
            Bar::None => 0,
        }
    }

    /// The writable address bits: everything above the size and the flags.
    fn address_mask(self) -> u32 {
        match self {
            Bar::Io { size } => !size.wrapping_sub(1) & !BAR_IO_FLAGS,
            Bar::Memory32 { size, .. } => !size.wrapping_sub(1) & !BAR_MEMORY_FLAGS,
            Bar::None => 0,
        }
    }
}

/// `size` rounded up to a power of two, then kept within `min..=max` (both
/// powers of two).
fn power_of_two_within(size: u32, min: u32, max: u32) -> u32 {
    size.clamp(min, max)
        .checked_next_power_of_two()
        .unwrap_or(max)
        .min(max)
}

/// One function's 256-byte configuration space with a type-0 header.
///
/// Each byte has a writable mask (bits a configuration write may change) and
/// a write-1-to-clear mask (bits a configuration write of 1 clears); every
/// other bit is read-only. Build one with [`ConfigSpace::new`] and the
/// `define_*`/`set_*` methods, which belong to the device side: the guest
/// reaches only [`PciFunction`]'s masked reads and writes.
#[derive(Clone)]
pub struct ConfigSpace {
    bytes: [u8; CONFIG_SPACE_SIZE],
    writable: [u8; CONFIG_SPACE_SIZE],
    write_one_to_clear: [u8; CONFIG_SPACE_SIZE],
    bars: [Bar; BAR_COUNT],
}

impl ConfigSpace {
    /// A single-function type-0 header with the given identity. `class_code`
    /// is the 24-bit Class Code: base class in bits 23:16, sub-class in 15:8,
    /// programming interface in 7:0. Command bits I/O Space, Memory Space and
    /// Bus Master and the Interrupt Line are writable; the Status error bits
    /// are write-1-to-clear; everything else reads 0 and is read-only, which
    /// includes the Capabilities Pointer (no capabilities), BIST, the
    /// Expansion ROM and all six BARs until [`ConfigSpace::set_bar`].
    pub fn new(vendor_id: u16, device_id: u16, revision_id: u8, class_code: u32) -> Self {
        let mut cs = Self {
            bytes: [0; CONFIG_SPACE_SIZE],
            writable: [0; CONFIG_SPACE_SIZE],
            write_one_to_clear: [0; CONFIG_SPACE_SIZE],
            bars: [Bar::None; BAR_COUNT],
        };
        cs.define_register(VENDOR_ID, 2, u32::from(vendor_id), 0);
        cs.define_register(DEVICE_ID, 2, u32::from(device_id), 0);
        cs.define_register(
            COMMAND,
            2,
            0,
            u32::from(COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER),
        );
        cs.define_register(STATUS, 2, 0, 0);
        cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
        cs.define_register(REVISION_ID, 1, u32::from(revision_id), 0);
        cs.define_register(PROG_IF, 1, class_code & 0xFF, 0);
        cs.define_register(SUB_CLASS, 1, (class_code >> 8) & 0xFF, 0);
        cs.define_register(BASE_CLASS, 1, (class_code >> 16) & 0xFF, 0);
        cs.define_register(INTERRUPT_LINE, 1, 0, 0xFF);
        cs
    }

    /// Sets `size` bytes (1, 2 or 4; other sizes act as 4) at `offset` to the
    /// power-on value `default`, with `writable` naming the bits a
    /// configuration write may change. Bytes past offset 0xFF are ignored.
    pub fn define_register(&mut self, offset: u8, size: u8, default: u32, writable: u32) {
        for i in 0..usize::from(width(size)) {
            let at = usize::from(offset) + i;
            if let (Some(b), Some(w), Some(c)) = (
                self.bytes.get_mut(at),
                self.writable.get_mut(at),
                self.write_one_to_clear.get_mut(at),
            ) {
                *b = (default >> (8 * i)) as u8;
                *w = (writable >> (8 * i)) as u8;
                *c = 0;
            }
        }
    }

    /// Makes the `bits` of the `size`-byte register at `offset`
    /// write-1-to-clear (and no longer plainly writable).
    pub fn define_w1c(&mut self, offset: u8, size: u8, bits: u32) {
        for i in 0..usize::from(width(size)) {
            let at = usize::from(offset) + i;
            let mask = (bits >> (8 * i)) as u8;
            if let (Some(w), Some(c)) = (
                self.writable.get_mut(at),
                self.write_one_to_clear.get_mut(at),
            ) {
                *w &= !mask;
                *c |= mask;
            }
        }
    }

    /// Sets or clears Header Type bit 7 (multi-function device).
    pub fn set_multi_function(&mut self, multi_function: bool) {
        let b = &mut self.bytes[usize::from(HEADER_TYPE)];
        if multi_function {
            *b |= HEADER_TYPE_MULTI_FUNCTION;
        } else {
            *b &= !HEADER_TYPE_MULTI_FUNCTION;
        }
    }

    /// Sets the read-only Interrupt Pin: 0 = none, 1-4 = INTA#-INTD#. Other
    /// values are stored as 0.
    pub fn set_interrupt_pin(&mut self, pin: u8) {
        self.bytes[usize::from(INTERRUPT_PIN)] = if pin <= 4 { pin } else { 0 };
    }

    /// Describes BAR `index` (0-5; others are ignored). The size is rounded
    /// up to a power of two and kept within §6.2.5.1's bounds; the base
    /// address starts at 0.
    pub fn set_bar(&mut self, index: usize, bar: Bar) {
        let Some(slot) = self.bars.get_mut(index) else {
            return;
        };
        let bar = bar.normalized();
        *slot = bar;
        self.define_register(bar_offset(index), 4, bar.type_bits(), bar.address_mask());
    }

    /// The description of BAR `index`, [`Bar::None`] past BAR 5.
    pub fn bar(&self, index: usize) -> Bar {
        self.bars.get(index).copied().unwrap_or(Bar::None)
    }

    /// The programmed base of BAR `index` while the Command register enables
    /// its decoding (I/O Space for I/O BARs, Memory Space for memory BARs);
    /// `None` while decoding is off, for an absent BAR, or past BAR 5.
    pub fn bar_address(&self, index: usize) -> Option<u32> {
        let bar = self.bar(index);
        let enable = match bar {
            Bar::Io { .. } => COMMAND_IO_SPACE,
            Bar::Memory32 { .. } => COMMAND_MEMORY_SPACE,
            Bar::None => return None,
        };
        (self.command() & enable != 0)
            .then(|| self.read_u32(bar_offset(index)) & bar.address_mask())
    }

    /// The byte at `offset`.
    pub fn read_u8(&self, offset: u8) -> u8 {
        self.bytes[usize::from(offset)]
    }

    /// The little-endian word at `offset`; bytes past 0xFF read as 0.
    pub fn read_u16(&self, offset: u8) -> u16 {
        self.read_le(offset, 2) as u16
    }

    /// The little-endian dword at `offset`; bytes past 0xFF read as 0.
    pub fn read_u32(&self, offset: u8) -> u32 {
        self.read_le(offset, 4)
    }

    fn read_le(&self, offset: u8, len: usize) -> u32 {
        (0..len).fold(0, |acc, i| {
            let b = self
                .bytes
                .get(usize::from(offset) + i)
                .copied()
                .unwrap_or(0);
            acc | (u32::from(b) << (8 * i))
        })
    }

    /// The Command register.
    pub fn command(&self) -> u16 {
        self.read_u16(COMMAND)
    }

    /// The Status register.
    pub fn status(&self) -> u16 {
        self.read_u16(STATUS)
    }

    /// The Interrupt Line register, as firmware programmed it.
    pub fn interrupt_line(&self) -> u8 {
        self.read_u8(INTERRUPT_LINE)
    }

    /// Sets Status bits from the device side (e.g. Received Master Abort
    /// when a bus-master transfer hits nothing).
    pub fn set_status_bits(&mut self, bits: u16) {
        let status = self.status() | bits;
        self.bytes[usize::from(STATUS)] = status as u8;
        self.bytes[usize::from(STATUS) + 1] = (status >> 8) as u8;
    }

    /// A configuration write of the bytes of `value` selected by `byte_mask`
    /// (bit i = byte i) to the dword at `offset & 0xFC`, through the masks.
    pub fn write_dword(&mut self, offset: u8, value: u32, byte_mask: u8) {
        let base = usize::from(offset & 0xFC);
        for i in 0..4 {
            if byte_mask & (1 << i) != 0 {
                self.write_byte(base + i, (value >> (8 * i)) as u8);
            }
        }
    }

    fn write_byte(&mut self, at: usize, value: u8) {
        if let (Some(b), Some(&w), Some(&c)) = (
            self.bytes.get_mut(at),
            self.writable.get(at),
            self.write_one_to_clear.get(at),
        ) {
            *b = ((*b & !w) | (value & w)) & !(value & c);
        }
    }
}

impl PciFunction for ConfigSpace {
    fn config_read(&mut self, offset: u8) -> u32 {
        self.read_u32(offset & 0xFC)
    }

    fn config_write(&mut self, offset: u8, value: u32, byte_mask: u8) {
        self.write_dword(offset, value, byte_mask);
    }
}

/// Header offset of BAR `index` (callers keep `index` below 6).
pub(super) fn bar_offset(index: usize) -> u8 {
    BAR0.wrapping_add((index as u8).wrapping_mul(4))
}

/// Access width in bytes: 1 and 2 as given, anything else a dword, as
/// [`all_ones`] reads it.
///
/// [`all_ones`]: crate::bus::all_ones
pub(super) fn width(size: u8) -> u8 {
    match size {
        1 | 2 => size,
        _ => 4,
    }
}
