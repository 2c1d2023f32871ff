//! The battery-backed RAM past the clock registers: the PC/AT CMOS map
//! (IBM PC/AT Technical Reference, "Real-Time Clock/CMOS RAM Information"),
//! its checksum, and the memory-size and boot bytes of the Bochs BIOS /
//! SeaBIOS conventions, as the firmware side fills and reads them.

use super::civil::civil_from_days;
use super::clock::SECS_PER_DAY;
use super::registers::CMOS_CENTURY;
use super::CmosRtc;
use super::INDEX_MASK;

// PC/AT CMOS RAM map (IBM PC/AT Technical Reference) and the Bochs BIOS /
// SeaBIOS extensions.
/// First byte of general-purpose RAM.
pub const NVRAM_START: u8 = 0x0E;
/// Diagnostic status byte.
pub const CMOS_DIAGNOSTIC_STATUS: u8 = 0x0E;
/// Shutdown status byte (reason for the last CPU reset).
pub const CMOS_SHUTDOWN_STATUS: u8 = 0x0F;
/// Diskette drive types: bits 7-4 drive A, 3-0 drive B (4 = 1.44 MB).
pub const CMOS_FLOPPY_TYPES: u8 = 0x10;
/// Fixed disk types: bits 7-4 drive C, 3-0 drive D (0xF = see 0x19/0x1A).
pub const CMOS_DISK_TYPES: u8 = 0x12;
/// Equipment byte: diskette count, display type, coprocessor.
pub const CMOS_EQUIPMENT: u8 = 0x14;
/// Base memory in KiB, low byte.
pub const CMOS_BASE_MEM_LOW: u8 = 0x15;
/// Base memory in KiB, high byte.
pub const CMOS_BASE_MEM_HIGH: u8 = 0x16;
/// Memory above 1 MiB in KiB (at most 0xFFFF), low byte.
pub const CMOS_EXT_MEM_LOW: u8 = 0x17;
/// Memory above 1 MiB in KiB, high byte.
pub const CMOS_EXT_MEM_HIGH: u8 = 0x18;
/// First byte the checksum covers.
pub const CMOS_CHECKSUM_FIRST: u8 = 0x10;
/// Last byte the checksum covers.
pub const CMOS_CHECKSUM_LAST: u8 = 0x2D;
/// Checksum of 0x10-0x2D, high byte.
pub const CMOS_CHECKSUM_HIGH: u8 = 0x2E;
/// Checksum of 0x10-0x2D, low byte.
pub const CMOS_CHECKSUM_LOW: u8 = 0x2F;
/// Memory above 1 MiB in KiB as found by POST, low byte.
pub const CMOS_POST_EXT_MEM_LOW: u8 = 0x30;
/// Memory above 1 MiB in KiB as found by POST, high byte.
pub const CMOS_POST_EXT_MEM_HIGH: u8 = 0x31;
/// Memory between 16 MiB and 4 GiB in 64 KiB units, low byte.
pub const CMOS_MEM_ABOVE_16M_LOW: u8 = 0x34;
/// Memory between 16 MiB and 4 GiB in 64 KiB units, high byte.
pub const CMOS_MEM_ABOVE_16M_HIGH: u8 = 0x35;
/// Boot flags: bits 7-4 third boot device, bit 0 skip the floppy boot signature check.
pub const CMOS_BOOT_FLAGS_1: u8 = 0x38;
/// Boot order: bits 3-0 first boot device, bits 7-4 second.
pub const CMOS_BOOT_FLAGS_2: u8 = 0x3D;
/// Memory above 4 GiB in 64 KiB units, bits 7-0.
pub const CMOS_MEM_ABOVE_4G_LOW: u8 = 0x5B;
/// Memory above 4 GiB in 64 KiB units, bits 15-8.
pub const CMOS_MEM_ABOVE_4G_MID: u8 = 0x5C;
/// Memory above 4 GiB in 64 KiB units, bits 23-16.
pub const CMOS_MEM_ABOVE_4G_HIGH: u8 = 0x5D;
/// Number of CPUs minus one (SeaBIOS).
pub const CMOS_SMP_COUNT: u8 = 0x5F;

/// Boot device code in the boot-order nibbles: floppy.
pub const BOOT_DEVICE_FLOPPY: u8 = 1;
/// Boot device code in the boot-order nibbles: first hard disk.
pub const BOOT_DEVICE_HARD_DISK: u8 = 2;
/// Boot device code in the boot-order nibbles: CD-ROM.
pub const BOOT_DEVICE_CDROM: u8 = 3;
/// Boot device code in the boot-order nibbles: option ROM boot entry (network).
pub const BOOT_DEVICE_BEV: u8 = 4;

/// Where RAM stops below 4 GiB in [`CmosRtc::set_memory_size`]: the rest of the
/// 32-bit space is left for PCI, APIC and firmware; RAM beyond moves above 4 GiB
/// (the board's split, which the BIOS's E820h map follows too).
pub const RAM_BELOW_4G_LIMIT: u64 = pc_layout::memory::RAM_BELOW_4G_LIMIT;

/// One KiB.
const KIB: u64 = 1024;
/// One MiB.
pub(super) const MIB: u64 = 1024 * KIB;
/// Base (conventional) memory the PC reports: 640 KiB.
const BASE_MEMORY_KIB: u64 = 640;

impl CmosRtc {
    /// A general-purpose RAM byte (`index` 0x0E-0x7F), for the firmware side.
    /// The century byte reads as the clock's century; other indices read 0xFF.
    pub fn nvram(&self, index: u8) -> u8 {
        match index {
            CMOS_CENTURY if self.updating() => {
                let date = civil_from_days(self.secs_at(self.last_ns).div_euclid(SECS_PER_DAY));
                self.encode(date.year.div_euclid(100))
            }
            NVRAM_START..=INDEX_MASK => self.reg(index),
            _ => 0xFF,
        }
    }

    /// Sets a general-purpose RAM byte (`index` 0x0E-0x7F). Clock registers
    /// and the century byte, which belongs to the clock here, are ignored:
    /// the time comes from the base given to [`Self::new`].
    pub fn set_nvram(&mut self, index: u8, value: u8) {
        if (NVRAM_START..=INDEX_MASK).contains(&index) && index != CMOS_CENTURY {
            self.ram[usize::from(index)] = value;
        }
    }

    /// Fills the memory-size bytes for `ram_bytes` of guest RAM starting at
    /// address 0, of which at most [`RAM_BELOW_4G_LIMIT`] lies below 4 GiB and
    /// the rest from 4 GiB up, then updates the checksum.
    pub fn set_memory_size(&mut self, ram_bytes: u64) {
        let below = ram_bytes.min(RAM_BELOW_4G_LIMIT);
        self.set_memory_layout(below, ram_bytes - below);
    }

    /// Fills the memory-size bytes for `below_4g` bytes of RAM from address 0
    /// and `above_4g` bytes from 4 GiB, as the Bochs BIOS and SeaBIOS read
    /// them, then updates the checksum. Each field saturates at its width.
    pub fn set_memory_layout(&mut self, below_4g: u64, above_4g: u64) {
        let base_kib = (below_4g / KIB).min(BASE_MEMORY_KIB);
        let ext_kib = (below_4g.saturating_sub(MIB) / KIB).min(0xFFFF);
        let above_16m = (below_4g.saturating_sub(16 * MIB) / (64 * KIB)).min(0xFFFF);
        let above_4g = (above_4g / (64 * KIB)).min(0xFF_FFFF);
        let bytes = |v: u64| v.to_le_bytes();
        let [lo, hi, ..] = bytes(base_kib);
        self.set_pair(CMOS_BASE_MEM_LOW, CMOS_BASE_MEM_HIGH, lo, hi);
        let [lo, hi, ..] = bytes(ext_kib);
        self.set_pair(CMOS_EXT_MEM_LOW, CMOS_EXT_MEM_HIGH, lo, hi);
        self.set_pair(CMOS_POST_EXT_MEM_LOW, CMOS_POST_EXT_MEM_HIGH, lo, hi);
        let [lo, hi, ..] = bytes(above_16m);
        self.set_pair(CMOS_MEM_ABOVE_16M_LOW, CMOS_MEM_ABOVE_16M_HIGH, lo, hi);
        let [lo, mid, hi, ..] = bytes(above_4g);
        self.set_pair(CMOS_MEM_ABOVE_4G_LOW, CMOS_MEM_ABOVE_4G_MID, lo, mid);
        self.set_nvram(CMOS_MEM_ABOVE_4G_HIGH, hi);
        self.update_checksum();
    }

    /// Recomputes the PC/AT checksum: the 16-bit sum of bytes 0x10-0x2D,
    /// stored high byte at 0x2E, low byte at 0x2F.
    pub fn update_checksum(&mut self) {
        let sum = (CMOS_CHECKSUM_FIRST..=CMOS_CHECKSUM_LAST)
            .fold(0u16, |acc, i| acc.wrapping_add(u16::from(self.reg(i))));
        let [hi, lo] = sum.to_be_bytes();
        self.set_pair(CMOS_CHECKSUM_LOW, CMOS_CHECKSUM_HIGH, lo, hi);
    }

    fn set_pair(&mut self, low_index: u8, high_index: u8, low: u8, high: u8) {
        self.set_nvram(low_index, low);
        self.set_nvram(high_index, high);
    }
}
