//! PCI bus 0 of an i440FX/PIIX3 PC, reached through configuration mechanism #1.
//!
//! Implements, from the PCI Local Bus Specification, Revision 3.0:
//! - §3.2.2.3.2 "Software Generation of Configuration Transactions": the
//!   32-bit CONFIG_ADDRESS register at 0xCF8 and the CONFIG_DATA window at
//!   0xCFC-0xCFF. Only a dword access to 0xCF8 reaches CONFIG_ADDRESS; bits
//!   30:24 and 1:0 read as 0. With the enable bit clear, or for a bus other
//!   than 0 (there are no PCI-to-PCI bridges), or for an absent device, a
//!   CONFIG_DATA read returns all ones and a write is dropped (master abort).
//! - §6.1 "Configuration Space Organization" and §6.2 "Configuration Space
//!   Functions": the type-0 header, as [`ConfigSpace`] with per-byte writable
//!   and write-1-to-clear masks.
//! - §6.2.5 "Base Addresses" and §6.2.5.1 "Address Maps": BAR sizing. Writing
//!   all ones reads back the size mask with the read-only type bits; sizes
//!   are powers of two (I/O at most 256 bytes); low address bits are
//!   hardwired to 0, so unaligned bases are masked.
//!
//! And the functions of a PC's bus 0, with IDs and register defaults from:
//! - Intel 82441FX PCI and Memory Controller (PMC) datasheet: device 00.0,
//!   8086:1237, host bridge; PCICMD, PCISTS, PAM0-PAM6, SMRAM.
//! - Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator
//!   datasheet: function 0 (PCI-to-ISA bridge, 8086:7000) configuration
//!   registers including PIRQRC[A:D]; function 1 (IDE, 8086:7010) with BMIBA
//!   and IDETIM/SIDETIM; and the RC Reset Control register at I/O 0CF9h.
//!
//! Deviation: the PIIX3 datasheet reserves BMIBA bits 31:16 (reading 0); here
//! every I/O BAR decodes 32 address bits, as §6.2.5.1 permits, so sizing the
//! bus-master BAR reads 0xFFFF_FFF1. Bases above 0xFFFF never decode on x86
//! port space, so [`PciBus::ide_bmide_base`] reports them as `None`.
//!
//! Other port behaviour in 0xCF8-0xCFF: a byte access to 0xCF9 is PIIX3's
//! RC register; every other byte or word access to 0xCF8-0xCFB is claimed by
//! nobody (reads all ones, writes dropped), which is what Linux's probe for
//! configuration mechanism #2 needs to see to reject it.

use crate::bus::{all_ones, PortIoDevice};
use crate::PciFunction;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

// ---------------------------------------------------------------------------
// Ports (§3.2.2.3.2; PIIX3 RC)
// ---------------------------------------------------------------------------

/// CONFIG_ADDRESS: the 32-bit configuration address register.
pub const CONFIG_ADDRESS_PORT: u16 = 0xCF8;
/// PIIX3 RC (Reset Control) register, a byte at 0CF9h.
pub const RESET_CONTROL_PORT: u16 = 0xCF9;
/// CONFIG_DATA: the first of the four configuration data ports 0xCFC-0xCFF.
pub const CONFIG_DATA_PORT: u16 = 0xCFC;
/// Ports the bus occupies: 0xCF8-0xCFF.
pub const PCI_PORT_COUNT: u16 = 8;

/// CONFIG_ADDRESS bit 31: Enable bit; CONFIG_DATA accesses become
/// configuration transactions only while it is set.
pub const CONFIG_ADDRESS_ENABLE: u32 = 1 << 31;
/// CONFIG_ADDRESS bits 23:16: Bus Number.
const CONFIG_ADDRESS_BUS_SHIFT: u32 = 16;
/// CONFIG_ADDRESS bits 15:11: Device Number.
const CONFIG_ADDRESS_DEVICE_SHIFT: u32 = 11;
/// CONFIG_ADDRESS bits 10:8: Function Number.
const CONFIG_ADDRESS_FUNCTION_SHIFT: u32 = 8;
/// CONFIG_ADDRESS bits 7:2: Register Number (a dword offset in bytes).
const CONFIG_ADDRESS_REGISTER: u32 = 0xFC;
/// The CONFIG_ADDRESS bits that hold state: 30:24 (Reserved) and 1:0 are
/// read-only and read as 0.
const CONFIG_ADDRESS_IMPLEMENTED: u32 = 0x80FF_FFFC;

/// Largest Device Number on a bus, plus one.
pub const DEVICES_PER_BUS: u8 = 32;
/// Largest Function Number of a device, plus one.
pub const FUNCTIONS_PER_DEVICE: u8 = 8;

/// RC bit 1: System Reset (SRST); selects a hard reset (1) or a soft reset,
/// INIT to the CPU only (0), for RCPU to start.
pub const RC_SRST: u8 = 1 << 1;
/// RC bit 2: Reset CPU (RCPU); setting it starts the reset SRST selects.
pub const RC_RCPU: u8 = 1 << 2;

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
const STATUS_W1C: u16 = STATUS_MASTER_DATA_PARITY_ERROR
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
fn bar_offset(index: usize) -> u8 {
    BAR0.wrapping_add((index as u8).wrapping_mul(4))
}

/// Access width in bytes: 1 and 2 as given, anything else a dword, as
/// [`all_ones`] reads it.
fn width(size: u8) -> u8 {
    match size {
        1 | 2 => size,
        _ => 4,
    }
}

// ---------------------------------------------------------------------------
// 82441FX PMC, function 00.0
// ---------------------------------------------------------------------------

/// Intel's PCI vendor ID.
pub const VENDOR_INTEL: u16 = 0x8086;
/// 82441FX PMC device ID.
pub const DEVICE_ID_82441FX: u16 = 0x1237;
/// 82441FX revision ID (the stepping PCs with this chipset commonly report).
const REVISION_82441FX: u8 = 0x02;
/// Class code 06/00/00: bridge, host bridge.
pub const CLASS_HOST_BRIDGE: u32 = 0x06_00_00;

/// PMC PAM0 (59h): Programmable Attribute Map for F0000h-FFFFFh (bits 5:4).
pub const PMC_PAM0: u8 = 0x59;
/// Number of PAM registers (PAM0-PAM6 at 59h-5Fh).
pub const PMC_PAM_COUNT: u8 = 7;
/// PAM bit 0 (and 4 for the high segment): RE, read enable to DRAM.
pub const PAM_RE: u8 = 1 << 0;
/// PAM bit 1 (and 5 for the high segment): WE, write enable to DRAM.
pub const PAM_WE: u8 = 1 << 1;
/// PAM0's writable bits: only the high nibble's RE/WE (low nibble reserved).
const PAM0_WRITABLE: u8 = (PAM_RE | PAM_WE) << 4;
/// PAM1-PAM6's writable bits: RE/WE of both segments.
const PAM_WRITABLE: u8 = PAM_RE | PAM_WE | ((PAM_RE | PAM_WE) << 4);
/// PMC SMRAM (72h): System Management RAM control.
pub const PMC_SMRAM: u8 = 0x72;
/// SMRAM default: C_BASE_SEG (bits 2:0) = 010b, SMRAM at A0000h.
const SMRAM_DEFAULT: u8 = 0x02;
/// SMRAM bits 6:3 (D_OPEN, D_CLS, D_LCK, G_SMRAME): writable.
const SMRAM_WRITABLE: u8 = 0x78;

/// The 82441FX PMC's configuration space (device 00.0): PCICMD reads 0006h
/// with Memory Access Enable and Bus Master Enable hardwired on (Parity
/// Error Response and SERR# Enable writable), PCISTS 0280h, PAM0-PAM6 and
/// SMRAM writable with their defaults. No BARs, no interrupt pin.
pub fn i440fx_host_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(
        VENDOR_INTEL,
        DEVICE_ID_82441FX,
        REVISION_82441FX,
        CLASS_HOST_BRIDGE,
    );
    cs.define_register(
        COMMAND,
        2,
        u32::from(COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER),
        u32::from(COMMAND_PARITY_ERROR_RESPONSE | COMMAND_SERR_ENABLE),
    );
    cs.define_register(
        STATUS,
        2,
        u32::from(STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK_TO_BACK),
        0,
    );
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    for i in 0..PMC_PAM_COUNT {
        let mask = if i == 0 { PAM0_WRITABLE } else { PAM_WRITABLE };
        cs.define_register(PMC_PAM0 + i, 1, 0, u32::from(mask));
    }
    cs.define_register(
        PMC_SMRAM,
        1,
        u32::from(SMRAM_DEFAULT),
        u32::from(SMRAM_WRITABLE),
    );
    cs
}

// ---------------------------------------------------------------------------
// 82371SB PIIX3 function 0: PCI-to-ISA bridge, 01.0
// ---------------------------------------------------------------------------

/// 82371SB PIIX3 PCI-to-ISA bridge device ID.
pub const DEVICE_ID_PIIX3_ISA: u16 = 0x7000;
/// Class code 06/01/00: bridge, PCI-to-ISA bridge.
pub const CLASS_ISA_BRIDGE: u32 = 0x06_01_00;

/// PIIX3 IORT (4Ch): ISA I/O Recovery Timer.
pub const PIIX3_IORT: u8 = 0x4C;
/// PIIX3 XBCS (4Eh-4Fh): X-Bus Chip Select.
pub const PIIX3_XBCS: u8 = 0x4E;
/// PIIX3 PIRQRCA (60h): PIRQA# route control; PIRQRCB-D follow at 61h-63h.
pub const PIIX3_PIRQRC: u8 = 0x60;
/// Number of PIRQ route control registers (PIRQA#-PIRQD#).
pub const PIIX3_PIRQ_COUNT: usize = 4;
/// PIRQRC bit 7: IRQROUTEN, 1 = routing disabled (the default 80h).
pub const PIRQRC_IRQROUTEN_DISABLE: u8 = 1 << 7;
/// PIRQRC bits 3:0: IRQ0-IRQ15 the PIRQ# is routed to.
pub const PIRQRC_IRQ_MASK: u8 = 0x0F;
/// PIRQRC bits 6:4 are reserved: the writable bits are 7 and 3:0.
const PIRQRC_WRITABLE: u8 = PIRQRC_IRQROUTEN_DISABLE | PIRQRC_IRQ_MASK;
/// PIIX3 TOM (69h): Top of Memory.
pub const PIIX3_TOM: u8 = 0x69;
/// PIIX3 MSTAT (6Ah-6Bh): Miscellaneous Status.
pub const PIIX3_MSTAT: u8 = 0x6A;
/// PIIX3 MBIRQ0 (70h): motherboard device IRQ route control 0; MBIRQ1 at 71h.
pub const PIIX3_MBIRQ0: u8 = 0x70;
/// PIIX3 MBDMA0 (76h): motherboard device DMA control 0; MBDMA1 at 77h.
pub const PIIX3_MBDMA0: u8 = 0x76;
/// PIIX3 PCSC (78h-79h): Programmable Chip Select Control.
pub const PIIX3_PCSC: u8 = 0x78;
/// PIIX3 APICBASE (80h): APIC base address relocation.
pub const PIIX3_APICBASE: u8 = 0x80;
/// PIIX3 DLC (82h): Deterministic Latency Control.
pub const PIIX3_DLC: u8 = 0x82;
/// PIIX3 SMICNTL (A0h): SMI Control.
pub const PIIX3_SMICNTL: u8 = 0xA0;
/// PIIX3 SMIEN (A2h-A3h): SMI Enable.
pub const PIIX3_SMIEN: u8 = 0xA2;
/// PIIX3 SEE (A4h-A7h): System Event Enable.
pub const PIIX3_SEE: u8 = 0xA4;
/// PIIX3 FTMR (A8h): Fast Off Timer.
pub const PIIX3_FTMR: u8 = 0xA8;
/// PIIX3 SMIREQ (AAh-ABh): SMI Request.
pub const PIIX3_SMIREQ: u8 = 0xAA;
/// PIIX3 CTLTMR (ACh): Clock Scale STPCLK# Low Timer.
pub const PIIX3_CTLTMR: u8 = 0xAC;
/// PIIX3 CTHTMR (AEh): Clock Scale STPCLK# High Timer.
pub const PIIX3_CTHTMR: u8 = 0xAE;

/// The PIIX3 PCI-to-ISA bridge's configuration space (function 01.0):
/// multi-function, PCICMD 0007h with I/O, memory and bus master hardwired on
/// (Special Cycles and SERR# Enable writable), PCISTS 0200h, PIRQRC[A:D]
/// 80h (disabled) with bits 7 and 3:0 writable, and the other registers at
/// their datasheet defaults, writable as whole bytes (their reserved bits
/// are not modelled).
pub fn piix3_isa_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(VENDOR_INTEL, DEVICE_ID_PIIX3_ISA, 0, CLASS_ISA_BRIDGE);
    cs.set_multi_function(true);
    cs.define_register(
        COMMAND,
        2,
        u32::from(COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER),
        u32::from(COMMAND_SPECIAL_CYCLES | COMMAND_SERR_ENABLE),
    );
    cs.define_register(STATUS, 2, u32::from(STATUS_DEVSEL_MEDIUM), 0);
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    // (offset, size, datasheet default)
    let defaults: [(u8, u8, u32); 18] = [
        (PIIX3_IORT, 1, 0x4D),
        (PIIX3_XBCS, 2, 0x0003),
        (PIIX3_TOM, 1, 0x02),
        (PIIX3_MSTAT, 2, 0x0000),
        (PIIX3_MBIRQ0, 1, 0x80),
        (PIIX3_MBIRQ0 + 1, 1, 0x80),
        (PIIX3_MBDMA0, 1, 0x0C),
        (PIIX3_MBDMA0 + 1, 1, 0x0C),
        (PIIX3_PCSC, 2, 0x0002),
        (PIIX3_APICBASE, 1, 0x00),
        (PIIX3_DLC, 1, 0x00),
        (PIIX3_SMICNTL, 1, 0x08),
        (PIIX3_SMIEN, 2, 0x0000),
        (PIIX3_SEE, 4, 0x0000_0000),
        (PIIX3_FTMR, 1, 0x0F),
        (PIIX3_SMIREQ, 2, 0x0000),
        (PIIX3_CTLTMR, 1, 0x00),
        (PIIX3_CTHTMR, 1, 0x00),
    ];
    for (offset, size, default) in defaults {
        cs.define_register(offset, size, default, u32::MAX);
    }
    for i in 0..PIIX3_PIRQ_COUNT as u8 {
        cs.define_register(
            PIIX3_PIRQRC + i,
            1,
            u32::from(PIRQRC_IRQROUTEN_DISABLE),
            u32::from(PIRQRC_WRITABLE),
        );
    }
    cs
}

// ---------------------------------------------------------------------------
// 82371SB PIIX3 function 1: IDE, 01.1
// ---------------------------------------------------------------------------

/// 82371SB PIIX3 IDE device ID.
pub const DEVICE_ID_PIIX3_IDE: u16 = 0x7010;
/// Class code 01/01/80: mass storage, IDE, bus-master capable with both
/// channels fixed in compatibility mode (0x1F0/0x3F6 IRQ 14, 0x170/0x376 IRQ 15).
pub const CLASS_IDE_COMPAT_BUS_MASTER: u32 = 0x01_01_80;
/// BMIBA (20h) is BAR 4: the 16-byte bus-master IDE I/O block.
pub const PIIX3_BMIBA_BAR: usize = 4;
/// Size of the bus-master IDE I/O block.
pub const BMIDE_PORT_COUNT: u16 = 16;
/// PIIX3 IDE MLT (0Dh) bits 7:4: the writable Master Latency Timer count.
const MLT_WRITABLE: u8 = 0xF0;
/// PIIX3 IDETIM primary channel (40h-41h); the secondary channel's is at 42h.
pub const PIIX3_IDETIM: u8 = 0x40;
/// PIIX3 SIDETIM (44h): Slave IDE Timing.
pub const PIIX3_SIDETIM: u8 = 0x44;
/// IDETIM bit 15: IDE Decode Enable for the channel's compatibility ports.
pub const IDETIM_IDE: u16 = 1 << 15;
/// IDETIM bits 11:10 are reserved; all others are read/write.
const IDETIM_WRITABLE: u16 = !(0x3 << 10);

/// The PIIX3 IDE function's configuration space (01.1): class 01/01/80,
/// PCICMD 0000h with I/O Space and Bus Master writable (memory space is not
/// supported), PCISTS 0280h, MLT bits 7:4 writable, BMIBA as a 16-byte I/O
/// BAR 4, IDETIM 0000h for both channels and SIDETIM 00h, interrupt pin 0.
pub fn piix3_ide_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(
        VENDOR_INTEL,
        DEVICE_ID_PIIX3_IDE,
        0,
        CLASS_IDE_COMPAT_BUS_MASTER,
    );
    cs.define_register(
        COMMAND,
        2,
        0,
        u32::from(COMMAND_IO_SPACE | COMMAND_BUS_MASTER),
    );
    cs.define_register(
        STATUS,
        2,
        u32::from(STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK_TO_BACK),
        0,
    );
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    cs.define_register(LATENCY_TIMER, 1, 0, u32::from(MLT_WRITABLE));
    cs.set_bar(
        PIIX3_BMIBA_BAR,
        Bar::Io {
            size: u32::from(BMIDE_PORT_COUNT),
        },
    );
    cs.define_register(PIIX3_IDETIM, 2, 0, u32::from(IDETIM_WRITABLE));
    cs.define_register(PIIX3_IDETIM + 2, 2, 0, u32::from(IDETIM_WRITABLE));
    cs.define_register(PIIX3_SIDETIM, 1, 0, 0xFF);
    cs.set_interrupt_pin(0);
    cs
}

// ---------------------------------------------------------------------------
// The bus
// ---------------------------------------------------------------------------

/// Device number of the 82441FX host bridge.
pub const HOST_BRIDGE_DEVICE: u8 = 0;
/// Device number of the PIIX3.
pub const PIIX3_DEVICE: u8 = 1;
/// PIIX3 function number of the PCI-to-ISA bridge.
pub const PIIX3_ISA_FUNCTION: u8 = 0;
/// PIIX3 function number of the IDE controller.
pub const PIIX3_IDE_FUNCTION: u8 = 1;

/// The reset a write to RC asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetKind {
    /// RCPU with SRST = 0: INIT to the CPU only (soft reset).
    Soft,
    /// RCPU with SRST = 1: a hard reset of CPU and system (PCIRST#).
    Hard,
}

/// Why [`PciBus::add`] refused a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciSlotError {
    /// Device number 32 or above, or function number 8 or above.
    NoSuchSlot { device: u8, function: u8 },
    /// Something already sits at that device and function.
    Taken { device: u8, function: u8 },
}

enum Function {
    /// A plain configuration space the bus can inspect (BARs, PIRQs).
    Config(Box<ConfigSpace>),
    /// Any other implementation.
    Custom(Box<dyn PciFunction>),
}

struct Slot {
    device: u8,
    function: u8,
    inner: Function,
}

impl Slot {
    fn as_function(&mut self) -> &mut dyn PciFunction {
        match &mut self.inner {
            Function::Config(cs) => cs.as_mut(),
            Function::Custom(f) => f.as_mut(),
        }
    }
}

/// PCI bus 0 behind configuration mechanism #1, plus PIIX3's RC register.
#[derive(Default)]
pub struct PciBus {
    config_address: u32,
    reset_control: u8,
    reset_request: Option<ResetKind>,
    slots: Vec<Slot>,
}

impl PciBus {
    /// An empty bus: CONFIG_ADDRESS 0, no functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bus 0 of an i440FX/PIIX3 PC: 00.0 82441FX host bridge, 01.0 PIIX3
    /// ISA bridge, 01.1 PIIX3 IDE.
    pub fn new_pc() -> Self {
        let mut bus = Self::new();
        let functions = [
            (HOST_BRIDGE_DEVICE, 0, i440fx_host_config()),
            (PIIX3_DEVICE, PIIX3_ISA_FUNCTION, piix3_isa_config()),
            (PIIX3_DEVICE, PIIX3_IDE_FUNCTION, piix3_ide_config()),
        ];
        for (device, function, cs) in functions {
            // Three distinct, in-range slots on an empty bus cannot clash.
            let _ = bus.add_config(device, function, cs);
        }
        bus
    }

    fn check_slot(&self, device: u8, function: u8) -> Result<(), PciSlotError> {
        if device >= DEVICES_PER_BUS || function >= FUNCTIONS_PER_DEVICE {
            return Err(PciSlotError::NoSuchSlot { device, function });
        }
        if self.slot(device, function).is_some() {
            return Err(PciSlotError::Taken { device, function });
        }
        Ok(())
    }

    /// Places a function implemented elsewhere at `device`.`function`.
    pub fn add(
        &mut self,
        device: u8,
        function: u8,
        f: Box<dyn PciFunction>,
    ) -> Result<(), PciSlotError> {
        self.check_slot(device, function)?;
        self.slots.push(Slot {
            device,
            function,
            inner: Function::Custom(f),
        });
        Ok(())
    }

    /// Places a plain [`ConfigSpace`] at `device`.`function`; unlike
    /// [`PciBus::add`], the bus can then show it through [`PciBus::config`].
    pub fn add_config(
        &mut self,
        device: u8,
        function: u8,
        cs: ConfigSpace,
    ) -> Result<(), PciSlotError> {
        self.check_slot(device, function)?;
        self.slots.push(Slot {
            device,
            function,
            inner: Function::Config(Box::new(cs)),
        });
        Ok(())
    }

    fn slot(&self, device: u8, function: u8) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| s.device == device && s.function == function)
    }

    fn slot_mut(&mut self, device: u8, function: u8) -> Option<&mut Slot> {
        self.slots
            .iter_mut()
            .find(|s| s.device == device && s.function == function)
    }

    /// The configuration space at `device`.`function`, if it was added with
    /// [`PciBus::add_config`].
    pub fn config(&self, device: u8, function: u8) -> Option<&ConfigSpace> {
        match &self.slot(device, function)?.inner {
            Function::Config(cs) => Some(cs),
            Function::Custom(_) => None,
        }
    }

    /// Mutable access to a configuration space added with
    /// [`PciBus::add_config`] (device-side changes, firmware set-up).
    pub fn config_mut(&mut self, device: u8, function: u8) -> Option<&mut ConfigSpace> {
        match &mut self.slot_mut(device, function)?.inner {
            Function::Config(cs) => Some(cs),
            Function::Custom(_) => None,
        }
    }

    /// Reads the dword at `offset & 0xFC` of bus 0 `device`.`function`, as a
    /// configuration read cycle would; all ones if nothing is there.
    pub fn config_read(&mut self, device: u8, function: u8, offset: u8) -> u32 {
        match self.slot_mut(device, function) {
            Some(s) => s.as_function().config_read(offset & 0xFC),
            None => all_ones(4),
        }
    }

    /// Writes the bytes of `value` chosen by `byte_mask` to the dword at
    /// `offset & 0xFC` of bus 0 `device`.`function`; dropped if nothing is there.
    pub fn config_write(
        &mut self,
        device: u8,
        function: u8,
        offset: u8,
        value: u32,
        byte_mask: u8,
    ) {
        if let Some(s) = self.slot_mut(device, function) {
            s.as_function()
                .config_write(offset & 0xFC, value, byte_mask & 0xF);
        }
    }

    /// The CONFIG_ADDRESS register as the guest last wrote it.
    pub fn config_address(&self) -> u32 {
        self.config_address
    }

    /// The (device, function, register) CONFIG_DATA currently reaches, or
    /// `None` while the enable bit is clear or the bus is not bus 0.
    fn data_target(&self) -> Option<(u8, u8, u8)> {
        let a = self.config_address;
        let bus = (a >> CONFIG_ADDRESS_BUS_SHIFT) as u8;
        if a & CONFIG_ADDRESS_ENABLE == 0 || bus != 0 {
            return None;
        }
        let device = ((a >> CONFIG_ADDRESS_DEVICE_SHIFT) & 0x1F) as u8;
        let function = ((a >> CONFIG_ADDRESS_FUNCTION_SHIFT) & 0x7) as u8;
        let register = (a & CONFIG_ADDRESS_REGISTER) as u8;
        Some((device, function, register))
    }

    /// A guest read of `size` bytes (1, 2 or 4) at absolute `port`
    /// (0xCF8-0xCFF; any other port reads all ones).
    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        let size = width(size);
        match port {
            CONFIG_ADDRESS_PORT if size == 4 => self.config_address,
            RESET_CONTROL_PORT if size == 1 => u32::from(self.reset_control),
            CONFIG_DATA_PORT..=0xCFF => self.data_read(port, size),
            _ => all_ones(size),
        }
    }

    /// A guest write of the low `size` bytes (1, 2 or 4) of `value` at
    /// absolute `port` (0xCF8-0xCFF; any other port is ignored).
    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        let size = width(size);
        match port {
            CONFIG_ADDRESS_PORT if size == 4 => {
                self.config_address = value & CONFIG_ADDRESS_IMPLEMENTED
            }
            RESET_CONTROL_PORT if size == 1 => self.write_reset_control(value as u8),
            CONFIG_DATA_PORT..=0xCFF => self.data_write(port, size, value),
            _ => {}
        }
    }

    fn data_read(&mut self, port: u16, size: u8) -> u32 {
        let Some((device, function, register)) = self.data_target() else {
            return all_ones(size);
        };
        let dword = self.config_read(device, function, register);
        let lane = u32::from(port & 3);
        (0..u32::from(size)).fold(0, |acc, i| {
            // Bytes that would spill past 0xCFF are not CONFIG_DATA: unclaimed.
            let byte = match lane + i {
                l @ 0..=3 => (dword >> (8 * l)) & 0xFF,
                _ => 0xFF,
            };
            acc | (byte << (8 * i))
        })
    }

    fn data_write(&mut self, port: u16, size: u8, value: u32) {
        let Some((device, function, register)) = self.data_target() else {
            return;
        };
        let lane = u32::from(port & 3);
        let mut data = 0u32;
        let mut byte_mask = 0u8;
        for i in 0..u32::from(size) {
            let l = lane + i;
            if l < 4 {
                data |= ((value >> (8 * i)) & 0xFF) << (8 * l);
                byte_mask |= 1 << l;
            }
        }
        self.config_write(device, function, register, data, byte_mask);
    }

    fn write_reset_control(&mut self, value: u8) {
        // RCPU's reset clears RC, so RCPU reads back 0 and every write with
        // it set is a fresh 0-to-1 transition.
        if value & RC_RCPU != 0 {
            self.reset_request = Some(if value & RC_SRST != 0 {
                ResetKind::Hard
            } else {
                ResetKind::Soft
            });
        }
        self.reset_control = value & RC_SRST;
    }

    /// The reset the guest requested through RC (0xCF9) since the last call,
    /// if any. The hypervisor should poll it after each write to 0xCF8-0xCFF.
    pub fn take_reset_request(&mut self) -> Option<ResetKind> {
        self.reset_request.take()
    }

    /// The I/O base of the bus-master IDE registers (PIIX3 IDE BAR 4), while
    /// the IDE function's I/O Space bit is set and the base is non-zero and
    /// below 0x10000; `None` otherwise (no IDE function, decoding off,
    /// unassigned).
    pub fn ide_bmide_base(&self) -> Option<u16> {
        let ide = self.config(PIIX3_DEVICE, PIIX3_IDE_FUNCTION)?;
        let base = ide.bar_address(PIIX3_BMIBA_BAR)?;
        u16::try_from(base).ok().filter(|&b| b != 0)
    }

    /// Firmware set-up: programs PIIX3 IDE BAR 4 to `base` (aligned down to
    /// 16 bytes, as the BAR's hardwired bits do) and sets I/O Space and Bus
    /// Master in its Command register. Does nothing without an IDE function.
    pub fn set_ide_bmide_base(&mut self, base: u16) {
        let Some(ide) = self.config_mut(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return;
        };
        ide.write_dword(bar_offset(PIIX3_BMIBA_BAR), u32::from(base), 0xF);
        let command = ide.command() | COMMAND_IO_SPACE | COMMAND_BUS_MASTER;
        ide.write_dword(COMMAND, u32::from(command), 0x3);
    }

    /// Whether the PIIX3 IDE's IDETIM for `channel` (0 primary, 1 secondary)
    /// has IDE Decode Enable set. The datasheet default is off; firmware
    /// turns it on (see [`PciBus::set_ide_decode`]).
    pub fn ide_decode_enabled(&self, channel: usize) -> bool {
        let Some(ide) = self.config(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return false;
        };
        if channel > 1 {
            return false;
        }
        let idetim = ide.read_u16(PIIX3_IDETIM + 2 * channel as u8);
        idetim & IDETIM_IDE != 0
    }

    /// Firmware set-up: sets or clears IDE Decode Enable in both channels'
    /// IDETIM, leaving their timing bits alone.
    pub fn set_ide_decode(&mut self, enabled: bool) {
        let Some(ide) = self.config_mut(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return;
        };
        for reg in [PIIX3_IDETIM, PIIX3_IDETIM + 2] {
            let old = ide.read_u16(reg);
            let new = if enabled {
                old | IDETIM_IDE
            } else {
                old & !IDETIM_IDE
            };
            let lane = reg & 3;
            ide.write_dword(reg, u32::from(new) << (8 * lane), 0x3 << lane);
        }
    }

    /// The ISA IRQ that PIIX3 routes PIRQ`pirq`# (0 = A .. 3 = D) to, or
    /// `None` when routing is disabled (IRQROUTEN set) or the IRQ field holds
    /// a reserved value (0-2, 8, 13).
    pub fn pirq_route(&self, pirq: usize) -> Option<u8> {
        if pirq >= PIIX3_PIRQ_COUNT {
            return None;
        }
        let isa = self.config(PIIX3_DEVICE, PIIX3_ISA_FUNCTION)?;
        let v = isa.read_u8(PIIX3_PIRQRC + pirq as u8);
        let irq = v & PIRQRC_IRQ_MASK;
        let usable = !matches!(irq, 0..=2 | 8 | 13);
        (v & PIRQRC_IRQROUTEN_DISABLE == 0 && usable).then_some(irq)
    }
}

/// The port-I/O face of a shared [`PciBus`]: register it at
/// [`CONFIG_ADDRESS_PORT`] with length [`PCI_PORT_COUNT`].
pub struct PciPorts {
    bus: Rc<RefCell<PciBus>>,
}

impl PciPorts {
    /// Ports 0xCF8-0xCFF of `bus`.
    pub fn new(bus: Rc<RefCell<PciBus>>) -> Self {
        Self { bus }
    }
}

impl PortIoDevice for PciPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.bus.try_borrow_mut() {
            Ok(mut bus) => bus.read(CONFIG_ADDRESS_PORT.wrapping_add(offset), size),
            // Re-entered while the hypervisor holds the bus: nobody answers.
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut bus) = self.bus.try_borrow_mut() {
            bus.write(CONFIG_ADDRESS_PORT.wrapping_add(offset), size, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::PortIoBus;
    use std::vec;

    /// CONFIG_ADDRESS for bus 0 `device`.`function`, register `reg`, enabled.
    fn addr(device: u8, function: u8, reg: u8) -> u32 {
        CONFIG_ADDRESS_ENABLE
            | (u32::from(device) << 11)
            | (u32::from(function) << 8)
            | u32::from(reg & 0xFC)
    }

    fn cfg_read(bus: &mut PciBus, device: u8, function: u8, reg: u8, size: u8) -> u32 {
        bus.write(CONFIG_ADDRESS_PORT, 4, addr(device, function, reg));
        bus.read(CONFIG_DATA_PORT + u16::from(reg & 3), size)
    }

    fn cfg_write(bus: &mut PciBus, device: u8, function: u8, reg: u8, size: u8, value: u32) {
        bus.write(CONFIG_ADDRESS_PORT, 4, addr(device, function, reg));
        bus.write(CONFIG_DATA_PORT + u16::from(reg & 3), size, value);
    }

    /// Scans bus 0 as an OS does: function 0 of each device, functions 1-7
    /// only of multi-function devices.
    fn scan(bus: &mut PciBus) -> Vec<(u8, u8, u32, u32, u8)> {
        let mut found = Vec::new();
        for device in 0..32 {
            for function in 0..8 {
                let id = cfg_read(bus, device, function, VENDOR_ID, 4);
                if id & 0xFFFF == 0xFFFF {
                    if function == 0 {
                        break;
                    }
                    continue;
                }
                let class = cfg_read(bus, device, function, REVISION_ID, 4) >> 8;
                let header = cfg_read(bus, device, function, HEADER_TYPE, 1) as u8;
                found.push((device, function, id, class, header));
                if function == 0 && header & HEADER_TYPE_MULTI_FUNCTION == 0 {
                    break;
                }
            }
        }
        found
    }

    #[test]
    fn scanning_bus_zero_finds_host_bridge_isa_bridge_and_ide() {
        let mut bus = PciBus::new_pc();
        assert_eq!(
            scan(&mut bus),
            vec![
                (0, 0, 0x1237_8086, 0x06_00_00, 0x00),
                (1, 0, 0x7000_8086, 0x06_01_00, 0x80),
                (1, 1, 0x7010_8086, 0x01_01_80, 0x00),
            ]
        );
        // A brute-force scan of every function agrees.
        let mut present = 0;
        for device in 0..32 {
            for function in 0..8 {
                if cfg_read(&mut bus, device, function, 0, 4) != 0xFFFF_FFFF {
                    present += 1;
                }
            }
        }
        assert_eq!(present, 3);
    }

    #[test]
    fn absent_devices_and_other_buses_read_all_ones_and_drop_writes() {
        let mut bus = PciBus::new_pc();
        assert_eq!(cfg_read(&mut bus, 2, 0, 0, 4), 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 0, 1, 0, 2), 0xFFFF);
        assert_eq!(cfg_read(&mut bus, 31, 7, 0x3C, 1), 0xFF);
        // Bus 1, device 0 function 0: nothing answers.
        bus.write(CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0) | (1 << 16));
        assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0xFFFF_FFFF);
        bus.write(CONFIG_DATA_PORT, 4, 0);
        assert_eq!(cfg_read(&mut bus, 0, 0, 0, 4), 0x1237_8086);
        cfg_write(&mut bus, 5, 0, 0x3C, 1, 0x0B);
        assert_eq!(cfg_read(&mut bus, 5, 0, 0x3C, 1), 0xFF);
    }

    #[test]
    fn disabled_config_address_reads_all_ones_and_drops_writes() {
        let mut bus = PciBus::new_pc();
        bus.write(
            CONFIG_ADDRESS_PORT,
            4,
            addr(1, 1, INTERRUPT_LINE) & !CONFIG_ADDRESS_ENABLE,
        );
        for port in CONFIG_DATA_PORT..=0xCFF {
            assert_eq!(bus.read(port, 1), 0xFF);
        }
        assert_eq!(bus.read(CONFIG_DATA_PORT, 2), 0xFFFF);
        assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0xFFFF_FFFF);
        bus.write(CONFIG_DATA_PORT, 1, 0x0E);
        assert_eq!(cfg_read(&mut bus, 1, 1, INTERRUPT_LINE, 1), 0);
    }

    #[test]
    fn config_address_reads_back_with_reserved_bits_zero() {
        let mut bus = PciBus::new();
        bus.write(CONFIG_ADDRESS_PORT, 4, 0xFFFF_FFFF);
        assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0x80FF_FFFC);
        bus.write(CONFIG_ADDRESS_PORT, 4, 0x8000_0804);
        assert_eq!(bus.config_address(), 0x8000_0804);
    }

    #[test]
    fn narrow_accesses_to_cf8_leave_config_address_alone() {
        let mut bus = PciBus::new_pc();
        bus.write(CONFIG_ADDRESS_PORT, 4, 0x8000_0800);
        bus.write(0xCF8, 1, 0x00);
        bus.write(0xCF8, 2, 0x0000);
        bus.write(0xCFA, 2, 0x1234);
        bus.write(0xCFB, 1, 0x01);
        bus.write(0xCF9, 4, 0); // unaligned dword: not CONFIG_ADDRESS
        assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0x8000_0800);
        assert_eq!(bus.read(0xCF8, 1), 0xFF);
        assert_eq!(bus.read(0xCF8, 2), 0xFFFF);
        assert_eq!(bus.read(0xCFA, 1), 0xFF);
        assert_eq!(bus.read(0xCFB, 1), 0xFF);
        assert_eq!(bus.take_reset_request(), None);
    }

    #[test]
    fn byte_and_word_reads_at_every_offset_match_the_dword() {
        let mut bus = PciBus::new_pc();
        bus.set_ide_bmide_base(0xC000);
        for (device, function) in [(0, 0), (1, 0), (1, 1)] {
            for reg in (0..=0xFCu8).step_by(4) {
                let dword = cfg_read(&mut bus, device, function, reg, 4);
                for lane in 0..4u8 {
                    let byte = cfg_read(&mut bus, device, function, reg + lane, 1);
                    assert_eq!(
                        byte,
                        (dword >> (8 * lane)) & 0xFF,
                        "{device}.{function} {reg:#x}+{lane}"
                    );
                }
                for lane in [0u8, 1, 2] {
                    let word = cfg_read(&mut bus, device, function, reg + lane, 2);
                    assert_eq!(word, (dword >> (8 * lane)) & 0xFFFF);
                }
            }
        }
    }

    #[test]
    fn accesses_spilling_past_cfff_read_ones_for_the_missing_lanes() {
        let mut bus = PciBus::new_pc();
        bus.write(CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0));
        assert_eq!(bus.read(0xCFF, 2), 0xFF12);
        assert_eq!(bus.read(0xCFE, 4), 0xFFFF_1237);
        assert_eq!(bus.read(0xCFD, 4), 0xFF12_3780);
        bus.write(0xCFF, 4, 0xFFFF_FFFF); // device ID byte: read-only anyway
        assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0x1237_8086);
        assert_eq!(bus.read(0xD00, 4), 0xFFFF_FFFF);
        assert_eq!(bus.read(0xCF7, 1), 0xFF);
    }

    #[test]
    fn sub_dword_writes_reach_only_their_byte_lanes() {
        let mut bus = PciBus::new_pc();
        // PIRQRCB (61h) by byte, PIRQRCC/D (62h-63h) by word at 0xCFE.
        cfg_write(&mut bus, 1, 0, 0x61, 1, 0x0B);
        cfg_write(&mut bus, 1, 0, 0x62, 2, 0x0A09);
        assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x0A09_0B80);
        assert_eq!(bus.pirq_route(0), None);
        assert_eq!(bus.pirq_route(1), Some(11));
        assert_eq!(bus.pirq_route(2), Some(9));
        assert_eq!(bus.pirq_route(3), Some(10));
        assert_eq!(bus.pirq_route(4), None);
    }

    #[test]
    fn pirq_route_registers_default_disabled_and_keep_reserved_bits_zero() {
        let mut bus = PciBus::new_pc();
        assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x8080_8080);
        cfg_write(&mut bus, 1, 0, 0x60, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x8F8F_8F8F);
        cfg_write(&mut bus, 1, 0, 0x60, 1, 0x08); // IRQ 8 is reserved
        cfg_write(&mut bus, 1, 0, 0x61, 1, 0x0D); // IRQ 13 is reserved
        assert_eq!(bus.pirq_route(0), None);
        assert_eq!(bus.pirq_route(1), None);
    }

    #[test]
    fn isa_bridge_reads_datasheet_defaults() {
        let mut bus = PciBus::new_pc();
        assert_eq!(cfg_read(&mut bus, 1, 0, COMMAND, 2), 0x0007);
        assert_eq!(cfg_read(&mut bus, 1, 0, STATUS, 2), 0x0200);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_IORT, 1), 0x4D);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_XBCS, 2), 0x0003);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_TOM, 1), 0x02);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_MBIRQ0, 2), 0x8080);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_MBDMA0, 2), 0x0C0C);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_PCSC, 2), 0x0002);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_SMICNTL, 1), 0x08);
        assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_FTMR, 1), 0x0F);
        // Hardwired command bits stay set.
        cfg_write(&mut bus, 1, 0, COMMAND, 2, 0);
        assert_eq!(cfg_read(&mut bus, 1, 0, COMMAND, 2), 0x0007);
    }

    #[test]
    fn host_bridge_pam_and_smram_keep_only_their_defined_bits() {
        let mut bus = PciBus::new_pc();
        assert_eq!(cfg_read(&mut bus, 0, 0, COMMAND, 4), 0x0280_0006);
        assert_eq!(cfg_read(&mut bus, 0, 0, PMC_SMRAM, 1), 0x02);
        cfg_write(&mut bus, 0, 0, 0x58, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 0, 0, 0x58, 4), 0x3333_3000);
        cfg_write(&mut bus, 0, 0, PMC_SMRAM, 1, 0xFF);
        assert_eq!(cfg_read(&mut bus, 0, 0, PMC_SMRAM, 1), 0x7A);
    }

    #[test]
    fn ide_bar4_sizing_reads_the_size_mask_then_takes_a_base() {
        let mut bus = PciBus::new_pc();
        let bar4 = BAR0 + 16;
        assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0x0000_0001);
        cfg_write(&mut bus, 1, 1, bar4, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xFFFF_FFF1);
        cfg_write(&mut bus, 1, 1, bar4, 4, 0xC001);
        assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xC001);
        // Unaligned bases lose their low bits; the I/O indicator stays.
        cfg_write(&mut bus, 1, 1, bar4, 4, 0xC00E);
        assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xC001);
        // BARs 0-3 and 5 are absent in compatibility mode.
        for bar in [0u8, 1, 2, 3, 5] {
            cfg_write(&mut bus, 1, 1, BAR0 + 4 * bar, 4, 0xFFFF_FFFF);
            assert_eq!(cfg_read(&mut bus, 1, 1, BAR0 + 4 * bar, 4), 0);
        }
    }

    #[test]
    fn bmide_base_follows_the_guest_only_while_io_decoding_is_on() {
        let mut bus = PciBus::new_pc();
        cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xD000);
        assert_eq!(bus.ide_bmide_base(), None, "I/O Space still off");
        cfg_write(&mut bus, 1, 1, COMMAND, 2, u32::from(COMMAND_IO_SPACE));
        assert_eq!(bus.ide_bmide_base(), Some(0xD000));
        cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xE041);
        assert_eq!(bus.ide_bmide_base(), Some(0xE040));
        // Mid-sizing, the BAR points above the port space: nothing decodes.
        cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xFFFF_FFFF);
        assert_eq!(bus.ide_bmide_base(), None);
        cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0);
        assert_eq!(bus.ide_bmide_base(), None, "base 0 is unassigned");
        cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xE040);
        cfg_write(&mut bus, 1, 1, COMMAND, 2, 0);
        assert_eq!(bus.ide_bmide_base(), None);
    }

    #[test]
    fn firmware_sets_bmide_base_with_io_and_bus_master_enabled() {
        let mut bus = PciBus::new_pc();
        bus.set_ide_bmide_base(0xC00F);
        assert_eq!(bus.ide_bmide_base(), Some(0xC000));
        assert_eq!(cfg_read(&mut bus, 1, 1, BAR0 + 16, 4), 0xC001);
        assert_eq!(
            cfg_read(&mut bus, 1, 1, COMMAND, 2) as u16,
            COMMAND_IO_SPACE | COMMAND_BUS_MASTER
        );
        let ide = bus.config(1, 1).unwrap();
        assert_eq!(ide.bar_address(PIIX3_BMIBA_BAR), Some(0xC000));
        assert_eq!(ide.bar_address(0), None);
        assert_eq!(ide.bar_address(6), None);
        assert_eq!(ide.bar(usize::MAX), Bar::None);
    }

    #[test]
    fn ide_command_memory_space_is_hardwired_off() {
        let mut bus = PciBus::new_pc();
        cfg_write(&mut bus, 1, 1, COMMAND, 2, 0xFFFF);
        assert_eq!(cfg_read(&mut bus, 1, 1, COMMAND, 2), 0x0005);
    }

    #[test]
    fn ide_timing_registers_are_writable_and_decode_enable_is_visible() {
        let mut bus = PciBus::new_pc();
        assert!(!bus.ide_decode_enabled(0));
        cfg_write(&mut bus, 1, 1, PIIX3_IDETIM, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0xF3FF_F3FF);
        assert!(bus.ide_decode_enabled(0) && bus.ide_decode_enabled(1));
        assert!(!bus.ide_decode_enabled(2));
        bus.set_ide_decode(false);
        assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0x73FF_73FF);
        bus.set_ide_decode(true);
        assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0xF3FF_F3FF);
        cfg_write(&mut bus, 1, 1, PIIX3_SIDETIM, 1, 0xA5);
        assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_SIDETIM, 1), 0xA5);
    }

    #[test]
    fn read_only_fields_ignore_writes() {
        let mut bus = PciBus::new_pc();
        for (d, f) in [(0, 0), (1, 0), (1, 1)] {
            let before: Vec<u32> = [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34]
                .iter()
                .map(|&r| cfg_read(&mut bus, d, f, r, 4))
                .collect();
            for r in [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34] {
                cfg_write(&mut bus, d, f, r, 4, 0xFFFF_FFFF);
                cfg_write(&mut bus, d, f, r, 4, 0);
            }
            let after: Vec<u32> = [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34]
                .iter()
                .map(|&r| cfg_read(&mut bus, d, f, r, 4))
                .collect();
            // Latency Timer bits 7:4 of the IDE function are writable (MLT).
            let mlt = if (d, f) == (1, 1) { 0 } else { 0xFFFF_FFFF };
            assert_eq!(before[0], after[0]);
            assert_eq!(before[1], after[1]);
            assert_eq!(before[2] & mlt, after[2] & mlt);
            assert_eq!(&before[3..], &after[3..]);
            assert_eq!(cfg_read(&mut bus, d, f, CAPABILITIES_POINTER, 1), 0);
            assert_eq!(
                cfg_read(&mut bus, d, f, STATUS, 2) as u16 & STATUS_CAPABILITIES_LIST,
                0
            );
        }
        // Interrupt Line is writable, Interrupt Pin (0 for IDE) is not.
        cfg_write(&mut bus, 1, 1, INTERRUPT_LINE, 2, 0xFF0E);
        assert_eq!(cfg_read(&mut bus, 1, 1, INTERRUPT_LINE, 2), 0x000E);
        assert_eq!(bus.config(1, 1).unwrap().interrupt_line(), 0x0E);
        cfg_write(&mut bus, 1, 1, LATENCY_TIMER, 1, 0xFF);
        assert_eq!(cfg_read(&mut bus, 1, 1, LATENCY_TIMER, 1), 0xF0);
    }

    #[test]
    fn status_error_bits_are_write_one_to_clear() {
        let mut bus = PciBus::new_pc();
        let errors = STATUS_RECEIVED_MASTER_ABORT | STATUS_RECEIVED_TARGET_ABORT;
        bus.config_mut(1, 1).unwrap().set_status_bits(errors);
        assert_eq!(cfg_read(&mut bus, 1, 1, STATUS, 2) as u16, 0x0280 | errors);
        // Writing 0s and read-only bits changes nothing.
        cfg_write(&mut bus, 1, 1, STATUS, 2, 0x06FF);
        assert_eq!(cfg_read(&mut bus, 1, 1, STATUS, 2) as u16, 0x0280 | errors);
        // Writing 1 clears only that bit.
        cfg_write(
            &mut bus,
            1,
            1,
            STATUS,
            2,
            u32::from(STATUS_RECEIVED_MASTER_ABORT),
        );
        assert_eq!(
            cfg_read(&mut bus, 1, 1, STATUS, 2) as u16,
            0x0280 | STATUS_RECEIVED_TARGET_ABORT
        );
        // A dword write to Command/Status clears status and sets command together.
        cfg_write(&mut bus, 1, 1, COMMAND, 4, 0xFFFF_0001);
        assert_eq!(cfg_read(&mut bus, 1, 1, COMMAND, 4), 0x0280_0001);
    }

    #[test]
    fn memory_bars_size_with_their_type_bits_and_sizes_round_to_powers_of_two() {
        let mut cs = ConfigSpace::new(0x1234, 0x5678, 1, 0x02_00_00);
        cs.set_bar(
            0,
            Bar::Memory32 {
                size: 0x1000,
                prefetchable: true,
            },
        );
        cs.set_bar(
            1,
            Bar::Memory32 {
                size: 3000,
                prefetchable: false,
            },
        );
        cs.set_bar(2, Bar::Io { size: 1 });
        cs.set_bar(3, Bar::Io { size: 4096 });
        cs.set_bar(
            5,
            Bar::Memory32 {
                size: u32::MAX,
                prefetchable: false,
            },
        );
        cs.set_bar(6, Bar::Io { size: 16 }); // no such BAR: ignored
        for i in 0..6u8 {
            cs.config_write(BAR0 + 4 * i, 0xFFFF_FFFF, 0xF);
        }
        assert_eq!(cs.config_read(0x10), 0xFFFF_F008);
        assert_eq!(cs.config_read(0x14), 0xFFFF_F000);
        assert_eq!(cs.config_read(0x18), 0xFFFF_FFFD);
        assert_eq!(cs.config_read(0x1C), 0xFFFF_FF01);
        assert_eq!(cs.config_read(0x20), 0);
        assert_eq!(cs.config_read(0x24), 0x8000_0000);
        assert_eq!(
            cs.bar(1),
            Bar::Memory32 {
                size: 4096,
                prefetchable: false
            }
        );
        cs.config_write(0x10, 0xFEBF_1234, 0xF);
        assert_eq!(cs.bar_address(0), None, "Memory Space off");
        cs.config_write(COMMAND, u32::from(COMMAND_MEMORY_SPACE), 0x3);
        assert_eq!(cs.bar_address(0), Some(0xFEBF_1000));
        assert_eq!(cs.bar_address(2), None, "I/O Space off");
        // Byte-wise sizing writes work too (each byte masked on its own).
        cs.config_write(0x10, 0x0000_00FF, 0x1);
        assert_eq!(cs.config_read(0x10), 0xFEBF_1008);
    }

    #[test]
    fn reset_control_hard_reset_after_srst_then_rcpu() {
        let mut bus = PciBus::new_pc();
        assert_eq!(bus.read(RESET_CONTROL_PORT, 1), 0);
        bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_SRST));
        assert_eq!(bus.take_reset_request(), None);
        assert_eq!(bus.read(RESET_CONTROL_PORT, 1), u32::from(RC_SRST));
        bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_SRST | RC_RCPU));
        assert_eq!(bus.take_reset_request(), Some(ResetKind::Hard));
        assert_eq!(bus.take_reset_request(), None, "taking clears it");
        assert_eq!(bus.read(RESET_CONTROL_PORT, 1), u32::from(RC_SRST));
        bus.write(RESET_CONTROL_PORT, 1, 0x06);
        assert_eq!(bus.take_reset_request(), Some(ResetKind::Hard));
        bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_RCPU));
        assert_eq!(bus.take_reset_request(), Some(ResetKind::Soft));
        // Only a byte access to 0xCF9 is RC.
        bus.write(0xCF8, 2, 0x0600);
        bus.write(0xCF9, 2, 0x0006);
        assert_eq!(bus.take_reset_request(), None);
        assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0);
    }

    #[test]
    fn linux_pci_direct_probe_finds_type1_and_rejects_type2() {
        let mut bus = PciBus::new_pc();
        // pci_check_type1()
        bus.write(0xCFB, 1, 0x01);
        let saved = bus.read(0xCF8, 4);
        bus.write(0xCF8, 4, 0x8000_0000);
        assert_eq!(bus.read(0xCF8, 4), 0x8000_0000);
        // pci_sanity_check(): class word at 0Ah or vendor word at 00h of bus 0.
        bus.write(0xCF8, 4, addr(0, 0, 0x08));
        assert_eq!(bus.read(0xCFE, 2), 0x0600);
        bus.write(0xCF8, 4, addr(0, 0, 0x00));
        assert_eq!(bus.read(0xCFC, 2), 0x8086);
        bus.write(0xCF8, 4, saved);
        assert_eq!(bus.read(0xCF8, 4), saved);
        // pci_check_type2() must fail: CSE/forward registers do not stick.
        bus.write(0xCFB, 1, 0x00);
        bus.write(0xCF8, 1, 0x00);
        bus.write(0xCFA, 1, 0x00);
        assert!(bus.read(0xCF8, 1) != 0 || bus.read(0xCFA, 1) != 0);
        assert_eq!(bus.take_reset_request(), None);
    }

    #[test]
    fn slots_reject_duplicates_and_out_of_range_numbers() {
        let mut bus = PciBus::new_pc();
        let cs = || Box::new(ConfigSpace::new(0x1AF4, 0x1000, 0, 0x02_00_00));
        assert_eq!(
            bus.add(1, 1, cs()),
            Err(PciSlotError::Taken {
                device: 1,
                function: 1
            })
        );
        assert_eq!(
            bus.add(32, 0, cs()),
            Err(PciSlotError::NoSuchSlot {
                device: 32,
                function: 0
            })
        );
        assert_eq!(
            bus.add(3, 8, cs()),
            Err(PciSlotError::NoSuchSlot {
                device: 3,
                function: 8
            })
        );
        assert_eq!(bus.add(3, 0, cs()), Ok(()));
        assert_eq!(cfg_read(&mut bus, 3, 0, 0, 4), 0x1000_1AF4);
        assert!(bus.config(3, 0).is_none(), "boxed functions stay opaque");
    }

    #[test]
    fn port_adapter_serves_cf8_to_cfff_through_the_port_bus() {
        let pci = Rc::new(RefCell::new(PciBus::new_pc()));
        let mut ports = PortIoBus::default();
        ports
            .register(
                CONFIG_ADDRESS_PORT,
                PCI_PORT_COUNT,
                Box::new(PciPorts::new(pci.clone())),
            )
            .unwrap();
        ports.write(0xCF8, 4, addr(1, 1, 0x08));
        assert_eq!(ports.read(0xCFC, 4), 0x0101_8000);
        ports.write(0xCF9, 1, 0x06);
        assert_eq!(pci.borrow_mut().take_reset_request(), Some(ResetKind::Hard));
        // While the hypervisor holds the bus, the adapter answers all ones.
        let held = pci.borrow_mut();
        assert_eq!(ports.read(0xCF8, 4), 0xFFFF_FFFF);
        ports.write(0xCF8, 4, 0);
        drop(held);
        assert_eq!(ports.read(0xCF8, 4), addr(1, 1, 0x08));
    }

    /// xorshift32 with a fixed seed.
    struct Rng(u32);
    impl Rng {
        fn next(&mut self) -> u32 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.0 = x;
            x
        }
    }

    #[test]
    fn random_register_traffic_never_panics_and_keeps_invariants() {
        let mut bus = PciBus::new_pc();
        let mut rng = Rng(0x1BAD_5EED);
        let sizes = [0u8, 1, 2, 3, 4, 8, 255];
        for _ in 0..50_000 {
            let r = rng.next();
            let size = sizes[(r as usize >> 8) % sizes.len()];
            let value = rng.next();
            match r % 4 {
                // Aim CONFIG_ADDRESS at a present function most of the time.
                0 => {
                    let (d, f) = [(0, 0), (1, 0), (1, 1), (2, 0), (0, 3)][(value % 5) as usize];
                    let reg = (value >> 8) as u8;
                    let mut a = addr(d, f, reg);
                    if value & (1 << 31) != 0 {
                        a ^= rng.next(); // sometimes anything at all
                    }
                    bus.write(CONFIG_ADDRESS_PORT, 4, a);
                }
                1 => {
                    let port = 0xCF0 + (value % 0x18) as u16;
                    let got = bus.read(port, size);
                    assert_eq!(got & !all_ones(size), 0, "read wider than its size");
                }
                _ => {
                    let port = 0xCF0 + (value % 0x18) as u16;
                    // Keep RC writes from requesting resets too often to notice.
                    bus.write(port, size, rng.next());
                    bus.take_reset_request();
                }
            }
            // Invariants: identity, header type, BAR type bit, reserved address bits.
            assert_eq!(bus.config_read(0, 0, 0), 0x1237_8086);
            assert_eq!(bus.config_read(1, 0, 0), 0x7000_8086);
            assert_eq!(bus.config_read(1, 1, 0), 0x7010_8086);
            assert_eq!(bus.config_read(1, 1, 0x08), 0x0101_8000);
            assert_eq!((bus.config_read(1, 0, 0x0C) >> 16) & 0xFF, 0x80);
            assert_eq!(bus.config_read(1, 1, 0x20) & 0xF, 0x1);
            assert_eq!((bus.config_read(1, 1, 0x3C) >> 8) & 0xFF, 0);
            assert_eq!(bus.config_address() & !CONFIG_ADDRESS_IMPLEMENTED, 0);
            assert_eq!(bus.config_read(1, 1, COMMAND) & 0x2, 0);
            assert_eq!(bus.read(RESET_CONTROL_PORT, 1) & !u32::from(RC_SRST), 0);
            if let Some(base) = bus.ide_bmide_base() {
                assert_eq!(base % 16, 0);
                assert_ne!(base, 0);
            }
        }
    }
}
