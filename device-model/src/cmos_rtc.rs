//! MC146818A-compatible CMOS real-time clock and battery-backed RAM at ports
//! 0x70 (index) and 0x71 (data).
//!
//! Implements, from the Motorola MC146818A datasheet (its sections are
//! unnumbered and cited here by title): "Address Map" (14 clock and control
//! bytes, then RAM; the chip has 64 bytes, PC chipsets 128, as here), "Time,
//! Calendar and Alarm Locations" (BCD or binary, 12- or 24-hour, alarm "don't
//! care" codes 0xC0-0xFF), "Update Cycle", "Interrupts" (periodic, alarm,
//! update-ended), "Divider Stages", "Periodic Interrupt Selection" (the rate
//! table for the 32.768 kHz time base) and "Registers" A, B, C and D. From
//! the IBM PC/AT Technical Reference (System Board section, "Real-Time
//! Clock/CMOS RAM Information"): bit 7 of port 0x70 masks NMI, and the CMOS
//! RAM map (0x0E diagnostic status .. 0x32 century, checksum of 0x10-0x2D at
//! 0x2E/0x2F). The memory and boot bytes past 0x32 follow the Bochs BIOS /
//! SeaBIOS conventions (SeaBIOS `src/hw/rtc.h`, `src/fw/paravirt.c`).
//!
//! # Model
//!
//! The device holds no clock: every time-dependent call takes `now_ns`, the
//! host's monotonic nanoseconds (a value smaller than one already seen is taken
//! as the one already seen). The divider chain is an origin in host time:
//! second boundaries fall at `origin + k s` and periodic-interrupt edges at
//! multiples of the selected period from the same origin, as both come from one
//! 32.768 kHz chain. While the clock updates (SET clear and the divider not in
//! reset) the time is a count of seconds since 1970-01-01 in the RTC's own
//! frame (the hypervisor chooses UTC or local time by the base it passes), and
//! the time bytes are produced from it on every read in the mode register B
//! selects; while it does not update, the time bytes are plain RAM that the
//! guest may write, and they are read back into a count of seconds when
//! updates resume. Events (PF, UF, AF) are worked out lazily for the interval
//! since the last call, in closed form: no loop depends on elapsed time.
//!
//! # Choices where the datasheet leaves room
//!
//! - Port 0x70 is write-only on the PC/AT; reading it returns 0xFF, as on many
//!   chipsets (the NMI mask is available through [`CmosRtc::nmi_disabled`]).
//! - The update is instantaneous at the second boundary: UIP reads set during
//!   the 244 us (8 cycles of 32.768 kHz, "tBUC") before it and clear after, so
//!   the time bytes are never mid-update when UIP reads clear.
//! - Time bytes that are not valid values (invalid BCD, hour 25, month 13...)
//!   read back as written while SET is 1. When updates resume they are taken
//!   digit by digit (a BCD byte is `high nibble * 10 + low nibble`) and folded
//!   arithmetically (70 seconds is 1 minute 10 seconds, month 13 is January of
//!   the next year, day 0 the last day of the month before), so the clock
//!   always continues from a valid date. The datasheet calls the result of
//!   invalid data undefined.
//! - Day of week is its own counter, as on the chip: a guest-written value
//!   keeps advancing at midnight from what was written (folded into 1..=7).
//! - Toggling DM or 24/12 while the clock updates re-presents the same time in
//!   the new format (the chip would reinterpret the stored bytes; the
//!   datasheet says to set the mode before initialising the time). Alarm bytes
//!   are stored as written and compared in the current format, as on the chip.
//! - Writing register B with SET = 1 clears UIE ("the SET bit going high
//!   clears UIE"), whatever UIE value the same write carries.
//! - DV2-DV0 = 11x holds the divider in reset: time stands still, no periodic
//!   interrupts, and the first update follows 500 ms after release. Every other
//!   DV value runs from the 32.768 kHz time base the PC wires to the chip.
//! - IRQF is the datasheet's equation PF·PIE + AF·AIE + UF·UIE, so enabling a
//!   source whose flag is already set raises IRQ8 at once.
//! - DSE is stored but daylight-saving jumps are not made (PC operating systems
//!   keep DSE clear); SQWE is stored, there being no SQW pin.

mod civil;

pub use civil::{
    civil_from_days, days_from_civil, days_in_month, is_leap_year, weekday_from_days, Date,
};

use crate::bus::PortIoDevice;
use crate::Clock;
use alloc::rc::Rc;
use core::cell::RefCell;

/// Index port (write-only on the PC/AT; bit 7 masks NMI).
pub const CMOS_INDEX_PORT: u16 = 0x70;
/// Data port: reads and writes the byte the index selects.
pub const CMOS_DATA_PORT: u16 = 0x71;
/// Ports the device occupies from [`CMOS_INDEX_PORT`].
pub const CMOS_PORT_COUNT: u16 = 2;
/// The ISA interrupt the RTC drives (slave 8259, input 0).
pub const RTC_IRQ: u8 = 8;
/// Bytes of clock registers plus RAM.
pub const CMOS_SIZE: usize = 128;

/// Port 0x70 bit 7: NMI disable (masks the NMI line; not part of the index).
pub const NMI_DISABLE: u8 = 1 << 7;
/// Port 0x70 bits 6-0: index of the byte port 0x71 accesses.
pub const INDEX_MASK: u8 = 0x7F;

// "Address Map": time, calendar and alarm bytes.
/// Seconds, 0-59.
pub const RTC_SECONDS: u8 = 0x00;
/// Seconds alarm.
pub const RTC_SECONDS_ALARM: u8 = 0x01;
/// Minutes, 0-59.
pub const RTC_MINUTES: u8 = 0x02;
/// Minutes alarm.
pub const RTC_MINUTES_ALARM: u8 = 0x03;
/// Hours, 0-23 or 1-12 with [`HOURS_PM`].
pub const RTC_HOURS: u8 = 0x04;
/// Hours alarm.
pub const RTC_HOURS_ALARM: u8 = 0x05;
/// Day of the week, 1-7, Sunday = 1.
pub const RTC_DAY_OF_WEEK: u8 = 0x06;
/// Date of the month, 1-31.
pub const RTC_DATE_OF_MONTH: u8 = 0x07;
/// Month, 1-12.
pub const RTC_MONTH: u8 = 0x08;
/// Year within the century, 0-99.
pub const RTC_YEAR: u8 = 0x09;
/// Register A: UIP, divider and rate select.
pub const RTC_REGISTER_A: u8 = 0x0A;
/// Register B: control.
pub const RTC_REGISTER_B: u8 = 0x0B;
/// Register C: interrupt flags (read-only, cleared by reading).
pub const RTC_REGISTER_C: u8 = 0x0C;
/// Register D: valid RAM and time (read-only).
pub const RTC_REGISTER_D: u8 = 0x0D;

/// Hours bit 7 in 12-hour mode: PM.
pub const HOURS_PM: u8 = 1 << 7;
/// An alarm byte with both top bits set ("11xxxxxx") matches any value.
pub const ALARM_DONT_CARE: u8 = 0xC0;

/// Register A bit 7: update in progress (read-only).
pub const REG_A_UIP: u8 = 1 << 7;
/// Register A bits 6-4: DV2-DV0, divider control.
pub const REG_A_DV: u8 = 0x70;
/// DV2-DV0 = 010: 32.768 kHz time base, normal operation.
pub const REG_A_DV_32768_HZ: u8 = 0x20;
/// DV2-DV1 = 11: divider chain held in reset.
pub const REG_A_DV_RESET: u8 = 0x60;
/// Register A bits 3-0: RS3-RS0, periodic interrupt rate select.
pub const REG_A_RS: u8 = 0x0F;
/// RS3-RS0 = 0110: 1024 Hz, the rate the PC/AT BIOS programs.
pub const REG_A_RS_1024_HZ: u8 = 0x06;

/// Register B bit 7: SET, inhibit updates so the time can be set.
pub const REG_B_SET: u8 = 1 << 7;
/// Register B bit 6: PIE, periodic interrupt enable.
pub const REG_B_PIE: u8 = 1 << 6;
/// Register B bit 5: AIE, alarm interrupt enable.
pub const REG_B_AIE: u8 = 1 << 5;
/// Register B bit 4: UIE, update-ended interrupt enable.
pub const REG_B_UIE: u8 = 1 << 4;
/// Register B bit 3: SQWE, square-wave output enable.
pub const REG_B_SQWE: u8 = 1 << 3;
/// Register B bit 2: DM, data mode (1 = binary, 0 = BCD).
pub const REG_B_DM: u8 = 1 << 2;
/// Register B bit 1: 24/12, hours format (1 = 24-hour, 0 = 12-hour).
pub const REG_B_24_12: u8 = 1 << 1;
/// Register B bit 0: DSE, daylight savings enable.
pub const REG_B_DSE: u8 = 1 << 0;

/// Register C bit 7: IRQF, interrupt request flag (IRQ asserted).
pub const REG_C_IRQF: u8 = 1 << 7;
/// Register C bit 6: PF, periodic interrupt flag.
pub const REG_C_PF: u8 = 1 << 6;
/// Register C bit 5: AF, alarm interrupt flag.
pub const REG_C_AF: u8 = 1 << 5;
/// Register C bit 4: UF, update-ended interrupt flag.
pub const REG_C_UF: u8 = 1 << 4;

/// Register D bit 7: VRT, valid RAM and time (battery good).
pub const REG_D_VRT: u8 = 1 << 7;

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
/// Century (BCD or binary per DM), part of the clock here.
pub const CMOS_CENTURY: u8 = 0x32;
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
/// 32-bit space is left for PCI, APIC and firmware; RAM beyond moves above 4 GiB.
pub const RAM_BELOW_4G_LIMIT: u64 = 0xE000_0000;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// Base (conventional) memory the PC reports: 640 KiB.
const BASE_MEMORY_KIB: u64 = 640;

const NS_PER_SEC: i128 = 1_000_000_000;
/// The time base the PC wires to the chip.
const TIME_BASE_HZ: i128 = 32_768;
/// UIP rises this long before each update: 8 cycles of 32.768 kHz (244.14 us),
/// rounded up so a poller always sees at least 244 us.
pub const UIP_LEAD_NS: u64 = 244_141;
/// After the divider leaves reset the first update comes half a second later.
const DIVIDER_RELEASE_TO_UPDATE_NS: i128 = 500_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// The latest time the clock is set to, from the host's base or from guest
/// bytes (century 99 and beyond fold to it): 9999-12-31 23:59:59.
const MAX_START_SECS: i64 = 253_402_300_799;

/// One MC146818A with 128 bytes of CMOS RAM.
pub struct CmosRtc {
    ram: [u8; CMOS_SIZE],
    /// The index last written to port 0x70, bits 6-0.
    index: u8,
    nmi_disabled: bool,
    /// Host time up to which flags have been worked out.
    last_ns: u64,
    /// Host time at which the divider chain counted from zero.
    origin_ns: i128,
    /// RTC seconds since 1970-01-01 at `origin_ns`; valid while updating.
    secs_at_origin: i64,
    /// Added to the computed weekday so a guest-set day of week keeps counting.
    weekday_offset: u8,
}

impl CmosRtc {
    /// An RTC reading `unix_seconds_at_start` at host time `now_ns`, in 24-hour
    /// BCD mode with the 32.768 kHz divider and rate 6 (1024 Hz) selected, no
    /// interrupt enabled, and RAM zeroed (checksum valid).
    pub fn new(unix_seconds_at_start: u64, now_ns: u64) -> Self {
        let start = i64::try_from(unix_seconds_at_start)
            .unwrap_or(i64::MAX)
            .min(MAX_START_SECS);
        let mut rtc = Self {
            ram: [0; CMOS_SIZE],
            index: 0,
            nmi_disabled: false,
            last_ns: now_ns,
            origin_ns: i128::from(now_ns),
            secs_at_origin: start,
            weekday_offset: 0,
        };
        rtc.ram[usize::from(RTC_REGISTER_A)] = REG_A_DV_32768_HZ | REG_A_RS_1024_HZ;
        rtc.ram[usize::from(RTC_REGISTER_B)] = REG_B_24_12;
        rtc.ram[usize::from(RTC_REGISTER_D)] = REG_D_VRT;
        rtc.store_time(now_ns);
        rtc
    }

    /// A guest read of `port` (0x70 or 0x71). Port 0x70 reads 0xFF.
    pub fn read(&mut self, port: u16, now_ns: u64) -> u8 {
        match port {
            CMOS_DATA_PORT => self.read_register(self.index, now_ns),
            _ => 0xFF,
        }
    }

    /// A guest write of `value` to `port` (0x70 or 0x71).
    pub fn write(&mut self, port: u16, value: u8, now_ns: u64) {
        match port {
            CMOS_INDEX_PORT => {
                self.index = value & INDEX_MASK;
                self.nmi_disabled = value & NMI_DISABLE != 0;
            }
            CMOS_DATA_PORT => self.write_register(self.index, value, now_ns),
            _ => {}
        }
    }

    /// The IRQ8 output at `now_ns`: high while register C's IRQF is set.
    pub fn irq_level(&mut self, now_ns: u64) -> bool {
        self.advance(now_ns);
        self.reg(RTC_REGISTER_C) & REG_C_IRQF != 0
    }

    /// When the next enabled interrupt source can raise IRQ8, for a halted
    /// guest to sleep until; `now_ns` if one is already due (call
    /// [`Self::irq_level`]). `None` if no enabled source will fire, or if IRQ8
    /// is already high: it cannot rise again before the guest reads register C.
    pub fn next_event_ns(&self, now_ns: u64) -> Option<u64> {
        if self.reg(RTC_REGISTER_C) & REG_C_IRQF != 0 || !self.divider_running() {
            return None;
        }
        let b = self.reg(RTC_REGISTER_B);
        let mut next: Option<i128> = None;
        let mut consider = |t: i128| next = Some(next.map_or(t, |n| n.min(t)));
        if b & REG_B_PIE != 0 {
            if let Some(ticks) = self.period_ticks() {
                let edge = self.periodic_index(self.last_ns, ticks) + 1;
                consider(self.origin_ns + ceil_div(edge * ticks * NS_PER_SEC, TIME_BASE_HZ));
            }
        }
        if b & REG_B_SET == 0 {
            let k = self.second_index(self.last_ns);
            if b & REG_B_UIE != 0 {
                consider(self.second_boundary_ns(k + 1));
            }
            if b & REG_B_AIE != 0 {
                let secs = self.secs_at(self.last_ns);
                if let Some(alarm) = self.next_alarm_after(secs) {
                    let k_alarm = k + i128::from(alarm.saturating_sub(secs));
                    consider(self.second_boundary_ns(k_alarm));
                }
            }
        }
        next.map(|t| t.max(i128::from(now_ns)))
            .and_then(|t| u64::try_from(t).ok())
    }

    /// True while the guest has NMIs masked through port 0x70 bit 7.
    pub fn nmi_disabled(&self) -> bool {
        self.nmi_disabled
    }

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

    // ---- registers ----

    /// The stored byte at `index` (bits 6-0 used, so never out of bounds).
    fn reg(&self, index: u8) -> u8 {
        self.ram[usize::from(index & INDEX_MASK)]
    }

    fn set_reg(&mut self, index: u8, value: u8) {
        self.ram[usize::from(index & INDEX_MASK)] = value;
    }

    fn read_register(&mut self, index: u8, now_ns: u64) -> u8 {
        let now = self.advance(now_ns);
        match index {
            RTC_REGISTER_A => {
                let uip = if self.update_imminent(now) {
                    REG_A_UIP
                } else {
                    0
                };
                (self.reg(RTC_REGISTER_A) & !REG_A_UIP) | uip
            }
            RTC_REGISTER_C => {
                // "All flag bits are cleared after Register C is read."
                let value = self.reg(RTC_REGISTER_C);
                self.set_reg(RTC_REGISTER_C, 0);
                value
            }
            RTC_REGISTER_D => REG_D_VRT,
            i if is_time_byte(i) && self.updating() => {
                self.store_time(now);
                self.reg(i)
            }
            i => self.reg(i),
        }
    }

    fn write_register(&mut self, index: u8, value: u8, now_ns: u64) {
        let now = self.advance(now_ns);
        match index {
            RTC_REGISTER_A => {
                // UIP is read-only.
                self.set_control(value & !REG_A_UIP, self.reg(RTC_REGISTER_B), now);
            }
            RTC_REGISTER_B => {
                let value = if value & REG_B_SET != 0 {
                    value & !REG_B_UIE
                } else {
                    value
                };
                self.set_control(self.reg(RTC_REGISTER_A), value, now);
            }
            RTC_REGISTER_C | RTC_REGISTER_D => {} // read-only
            i if is_time_byte(i) && self.updating() => {
                // A running clock takes the new byte and counts on from it.
                self.store_time(now);
                self.set_reg(i, value);
                self.load_time(now);
            }
            i => self.set_reg(i, value),
        }
        self.update_irqf();
    }

    /// Writes registers A and B, freezing the time into the time bytes when
    /// updates stop and reading it back when they resume.
    fn set_control(&mut self, a: u8, b: u8, now: u64) {
        let was_updating = self.updating();
        let divider_was_running = self.divider_running();
        if was_updating {
            // In the old format, as the chip's bytes would hold it.
            self.store_time(now);
        }
        self.set_reg(RTC_REGISTER_A, a);
        self.set_reg(RTC_REGISTER_B, b);
        if !divider_was_running && self.divider_running() {
            // "The first update cycle begins one-half second later."
            self.origin_ns = i128::from(now) + DIVIDER_RELEASE_TO_UPDATE_NS - NS_PER_SEC;
        }
        if !was_updating && self.updating() {
            self.load_time(now);
        }
    }

    fn update_irqf(&mut self) {
        let b = self.reg(RTC_REGISTER_B);
        let flags = self.reg(RTC_REGISTER_C) & (REG_C_PF | REG_C_AF | REG_C_UF);
        let pending = (flags & REG_C_PF != 0 && b & REG_B_PIE != 0)
            || (flags & REG_C_AF != 0 && b & REG_B_AIE != 0)
            || (flags & REG_C_UF != 0 && b & REG_B_UIE != 0);
        let irqf = if pending { REG_C_IRQF } else { 0 };
        self.set_reg(RTC_REGISTER_C, flags | irqf);
    }

    // ---- time base ----

    fn divider_running(&self) -> bool {
        self.reg(RTC_REGISTER_A) & REG_A_DV_RESET != REG_A_DV_RESET
    }

    /// True while the time advances: divider running and SET clear.
    fn updating(&self) -> bool {
        self.divider_running() && self.reg(RTC_REGISTER_B) & REG_B_SET == 0
    }

    /// The periodic interrupt period in 32.768 kHz cycles; `None` for rate 0.
    /// Rates 1 and 2 give 256 Hz and 128 Hz with this time base (table 3).
    fn period_ticks(&self) -> Option<i128> {
        match self.reg(RTC_REGISTER_A) & REG_A_RS {
            0 => None,
            1 => Some(128),
            2 => Some(256),
            rs => Some(1 << (rs - 1)),
        }
    }

    fn elapsed_ns(&self, t: u64) -> i128 {
        (i128::from(t) - self.origin_ns).max(0)
    }

    /// How many second boundaries the divider has passed at `t`.
    fn second_index(&self, t: u64) -> i128 {
        self.elapsed_ns(t) / NS_PER_SEC
    }

    fn second_boundary_ns(&self, k: i128) -> i128 {
        self.origin_ns + k * NS_PER_SEC
    }

    /// How many periodic edges of `ticks` cycles the divider has passed at `t`.
    fn periodic_index(&self, t: u64, ticks: i128) -> i128 {
        self.elapsed_ns(t) * TIME_BASE_HZ / (NS_PER_SEC * ticks)
    }

    /// RTC seconds since 1970 at host time `t`, while updating.
    fn secs_at(&self, t: u64) -> i64 {
        let k = i64::try_from(self.second_index(t)).unwrap_or(i64::MAX);
        self.secs_at_origin.saturating_add(k)
    }

    /// UIP: updating, and the next update is at most 244 us away.
    fn update_imminent(&self, now: u64) -> bool {
        if !self.updating() {
            return false;
        }
        let next = self.second_boundary_ns(self.second_index(now) + 1);
        next - i128::from(now) <= i128::from(UIP_LEAD_NS)
    }

    /// Sets PF, UF and AF for what happened between the last call and
    /// `now_ns`; returns the effective now (never before the last one).
    fn advance(&mut self, now_ns: u64) -> u64 {
        let now = now_ns.max(self.last_ns);
        let last = self.last_ns;
        let mut flags = 0;
        if self.divider_running() {
            if let Some(ticks) = self.period_ticks() {
                // "PF is set to one independent of the state of the PIE bit."
                if self.periodic_index(now, ticks) > self.periodic_index(last, ticks) {
                    flags |= REG_C_PF;
                }
            }
            if self.updating() && self.second_index(now) > self.second_index(last) {
                flags |= REG_C_UF;
                let (from, to) = (self.secs_at(last), self.secs_at(now));
                if self.next_alarm_after(from).is_some_and(|a| a <= to) {
                    flags |= REG_C_AF;
                }
            }
        }
        let c = self.reg(RTC_REGISTER_C);
        self.set_reg(RTC_REGISTER_C, c | flags);
        self.last_ns = now;
        self.update_irqf();
        now
    }

    // ---- time bytes ----

    fn binary_mode(&self) -> bool {
        self.reg(RTC_REGISTER_B) & REG_B_DM != 0
    }

    fn hours_24(&self) -> bool {
        self.reg(RTC_REGISTER_B) & REG_B_24_12 != 0
    }

    /// `value` modulo 100 in the current data mode.
    fn encode(&self, value: i64) -> u8 {
        let v = value.rem_euclid(100) as u8;
        if self.binary_mode() {
            v
        } else {
            ((v / 10) << 4) | (v % 10)
        }
    }

    /// A byte in the current data mode; invalid BCD digits count at face value.
    fn decode(&self, byte: u8) -> i64 {
        if self.binary_mode() {
            i64::from(byte)
        } else {
            i64::from(byte >> 4) * 10 + i64::from(byte & 0x0F)
        }
    }

    /// An hour 0-23 in the current data and hours modes.
    fn encode_hours(&self, hour: i64) -> u8 {
        if self.hours_24() {
            return self.encode(hour);
        }
        let pm = if hour.rem_euclid(24) >= 12 {
            HOURS_PM
        } else {
            0
        };
        let hour_12 = match hour.rem_euclid(12) {
            0 => 12,
            h => h,
        };
        self.encode(hour_12) | pm
    }

    fn decode_hours(&self, byte: u8) -> i64 {
        if self.hours_24() {
            return self.decode(byte);
        }
        let hour_12 = self.decode(byte & !HOURS_PM);
        let hour = if hour_12 == 12 { 0 } else { hour_12 };
        hour + if byte & HOURS_PM != 0 { 12 } else { 0 }
    }

    /// Writes the time at `now` into the time bytes in the current mode.
    fn store_time(&mut self, now: u64) {
        let secs = self.secs_at(now);
        let days = secs.div_euclid(SECS_PER_DAY);
        let of_day = secs.rem_euclid(SECS_PER_DAY);
        let date = civil_from_days(days);
        let weekday = (weekday_from_days(days) + self.weekday_offset) % 7;
        let bytes = [
            (RTC_SECONDS, self.encode(of_day % 60)),
            (RTC_MINUTES, self.encode(of_day / 60 % 60)),
            (RTC_HOURS, self.encode_hours(of_day / 3600)),
            (RTC_DAY_OF_WEEK, self.encode(i64::from(weekday) + 1)),
            (RTC_DATE_OF_MONTH, self.encode(i64::from(date.day))),
            (RTC_MONTH, self.encode(i64::from(date.month))),
            (RTC_YEAR, self.encode(date.year)),
            (CMOS_CENTURY, self.encode(date.year.div_euclid(100))),
        ];
        for (index, value) in bytes {
            self.set_reg(index, value);
        }
    }

    /// Reads the time bytes back into the running clock, so the next update
    /// (at the divider's next second boundary) counts on from them.
    fn load_time(&mut self, now: u64) {
        let year = self
            .decode(self.reg(CMOS_CENTURY))
            .saturating_mul(100)
            .saturating_add(self.decode(self.reg(RTC_YEAR)));
        let days = days_from_civil(
            year,
            self.decode(self.reg(RTC_MONTH)),
            self.decode(self.reg(RTC_DATE_OF_MONTH)),
        );
        let of_day = self.decode_hours(self.reg(RTC_HOURS)) * 3600
            + self.decode(self.reg(RTC_MINUTES)) * 60
            + self.decode(self.reg(RTC_SECONDS));
        let secs = days
            .saturating_mul(SECS_PER_DAY)
            .saturating_add(of_day)
            .min(MAX_START_SECS);
        let k = i64::try_from(self.second_index(now)).unwrap_or(i64::MAX);
        self.secs_at_origin = secs.saturating_sub(k);
        let true_weekday = i64::from(weekday_from_days(secs.div_euclid(SECS_PER_DAY)));
        let written = self.decode(self.reg(RTC_DAY_OF_WEEK)) - 1;
        self.weekday_offset = (written - true_weekday).rem_euclid(7) as u8;
    }

    /// The first RTC second after `secs` whose seconds, minutes and hours
    /// bytes match the alarm bytes; `None` if no time of day can match.
    fn next_alarm_after(&self, secs: i64) -> Option<i64> {
        let matches =
            |alarm: u8, value: u8| alarm & ALARM_DONT_CARE == ALARM_DONT_CARE || alarm == value;
        let (sec_alarm, min_alarm, hour_alarm) = (
            self.reg(RTC_SECONDS_ALARM),
            self.reg(RTC_MINUTES_ALARM),
            self.reg(RTC_HOURS_ALARM),
        );
        let sec_ok: [bool; 60] =
            core::array::from_fn(|s| matches(sec_alarm, self.encode(s as i64)));
        let min_ok: [bool; 60] =
            core::array::from_fn(|m| matches(min_alarm, self.encode(m as i64)));
        let hour_ok: [bool; 24] =
            core::array::from_fn(|h| matches(hour_alarm, self.encode_hours(h as i64)));
        if !sec_ok.contains(&true) || !min_ok.contains(&true) || !hour_ok.contains(&true) {
            return None;
        }
        let start = secs.checked_add(1)?;
        let day_start = start.div_euclid(SECS_PER_DAY) * SECS_PER_DAY;
        let of_day = start.rem_euclid(SECS_PER_DAY);
        // Some time of day matches, so if none is left today the first one
        // tomorrow (searched from midnight) is the answer.
        first_match_in_day(of_day, &hour_ok, &min_ok, &sec_ok)
            .map(|t| day_start + t)
            .or_else(|| {
                first_match_in_day(0, &hour_ok, &min_ok, &sec_ok)
                    .map(|t| day_start + SECS_PER_DAY + t)
            })
    }
}

/// Time bytes the running clock produces: 0x00-0x09 except the alarms, and
/// the century.
fn is_time_byte(index: u8) -> bool {
    matches!(
        index,
        RTC_SECONDS
            | RTC_MINUTES
            | RTC_HOURS
            | RTC_DAY_OF_WEEK
            | RTC_DATE_OF_MONTH
            | RTC_MONTH
            | RTC_YEAR
            | CMOS_CENTURY
    )
}

/// The first second of the day at or after `from` (seconds since midnight)
/// whose hour, minute and second are all allowed. At most 24 x 60 x 60 steps,
/// and far fewer in practice: only the first hour and minute start mid-range.
fn first_match_in_day(
    from: i64,
    hour_ok: &[bool; 24],
    min_ok: &[bool; 60],
    sec_ok: &[bool; 60],
) -> Option<i64> {
    let (h0, m0, s0) = (
        (from / 3600) as usize,
        (from / 60 % 60) as usize,
        (from % 60) as usize,
    );
    for (h, _) in hour_ok.iter().enumerate().skip(h0).filter(|(_, ok)| **ok) {
        let m_from = if h == h0 { m0 } else { 0 };
        for (m, _) in min_ok
            .iter()
            .enumerate()
            .skip(m_from)
            .filter(|(_, ok)| **ok)
        {
            let s_from = if h == h0 && m == m0 { s0 } else { 0 };
            if let Some(s) = sec_ok.iter().skip(s_from).position(|ok| *ok) {
                return Some((h * 3600 + m * 60 + s_from + s) as i64);
            }
        }
    }
    None
}

fn ceil_div(n: i128, d: i128) -> i128 {
    (n + d - 1) / d
}

/// The RTC on the port-I/O bus at 0x70-0x71: offset 0 is the index port,
/// offset 1 the data port; time comes from `clock`.
pub struct CmosPorts {
    rtc: Rc<RefCell<CmosRtc>>,
    clock: Rc<dyn Clock>,
}

impl CmosPorts {
    /// Puts `rtc` on the bus, reading time from `clock`. Keep another handle
    /// on `rtc` to poll [`CmosRtc::irq_level`] and [`CmosRtc::next_event_ns`].
    pub fn new(rtc: Rc<RefCell<CmosRtc>>, clock: Rc<dyn Clock>) -> Self {
        Self { rtc, clock }
    }
}

impl PortIoDevice for CmosPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        // Wider accesses read consecutive ports, as the ISA bus splits them;
        // bytes past 0x71 are not ours and float high.
        let now = self.clock.now_ns();
        let mut rtc = self.rtc.borrow_mut();
        (0..u16::from(size.min(4))).fold(0, |acc, i| {
            let port = CMOS_INDEX_PORT.wrapping_add(offset.wrapping_add(i));
            let byte = if offset.wrapping_add(i) < CMOS_PORT_COUNT {
                rtc.read(port, now)
            } else {
                0xFF
            };
            acc | (u32::from(byte) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        let mut rtc = self.rtc.borrow_mut();
        for i in 0..u16::from(size.min(4)) {
            let off = offset.wrapping_add(i);
            if off < CMOS_PORT_COUNT {
                rtc.write(CMOS_INDEX_PORT + off, (value >> (8 * i)) as u8, now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
