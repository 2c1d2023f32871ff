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
//!
//! # Layout
//!
//! - `civil`: calendar arithmetic (days since 1970 to and from dates).
//! - `registers`: the layout of the clock and control registers; `encoding`:
//!   the BCD/binary and 12/24-hour formats of the time bytes.
//! - `clock`: the divider chain, the update cycle and the time bytes.
//! - `interrupts` and `alarm`: the periodic, alarm and update-ended flags and
//!   IRQ8.
//! - `nvram`: the CMOS RAM map, its checksum and the memory-size bytes.
//! - `ports`: the index and data ports, what reading and writing each
//!   register through them does, and [`CmosPorts`].

mod alarm;
mod civil;
mod clock;
mod encoding;
mod interrupts;
mod nvram;
mod ports;
mod registers;

pub use civil::{
    civil_from_days, days_from_civil, days_in_month, is_leap_year, weekday_from_days, Date,
};
pub use clock::UIP_LEAD_NS;
pub use interrupts::RTC_IRQ;
pub use nvram::{
    BOOT_DEVICE_BEV, BOOT_DEVICE_CDROM, BOOT_DEVICE_FLOPPY, BOOT_DEVICE_HARD_DISK,
    CMOS_BASE_MEM_HIGH, CMOS_BASE_MEM_LOW, CMOS_BOOT_FLAGS_1, CMOS_BOOT_FLAGS_2,
    CMOS_CHECKSUM_FIRST, CMOS_CHECKSUM_HIGH, CMOS_CHECKSUM_LAST, CMOS_CHECKSUM_LOW,
    CMOS_DIAGNOSTIC_STATUS, CMOS_DISK_TYPES, CMOS_EQUIPMENT, CMOS_EXT_MEM_HIGH, CMOS_EXT_MEM_LOW,
    CMOS_FLOPPY_TYPES, CMOS_MEM_ABOVE_16M_HIGH, CMOS_MEM_ABOVE_16M_LOW, CMOS_MEM_ABOVE_4G_HIGH,
    CMOS_MEM_ABOVE_4G_LOW, CMOS_MEM_ABOVE_4G_MID, CMOS_POST_EXT_MEM_HIGH, CMOS_POST_EXT_MEM_LOW,
    CMOS_SHUTDOWN_STATUS, CMOS_SMP_COUNT, NVRAM_START, RAM_BELOW_4G_LIMIT,
};
pub use ports::{CmosPorts, CMOS_DATA_PORT, CMOS_INDEX_PORT, CMOS_PORT_COUNT, NMI_DISABLE};
pub use registers::{
    ALARM_DONT_CARE, CMOS_CENTURY, HOURS_PM, REG_A_DV, REG_A_DV_32768_HZ, REG_A_DV_RESET, REG_A_RS,
    REG_A_RS_1024_HZ, REG_A_UIP, REG_B_24_12, REG_B_AIE, REG_B_DM, REG_B_DSE, REG_B_PIE, REG_B_SET,
    REG_B_SQWE, REG_B_UIE, REG_C_AF, REG_C_IRQF, REG_C_PF, REG_C_UF, REG_D_VRT, RTC_DATE_OF_MONTH,
    RTC_DAY_OF_WEEK, RTC_HOURS, RTC_HOURS_ALARM, RTC_MINUTES, RTC_MINUTES_ALARM, RTC_MONTH,
    RTC_REGISTER_A, RTC_REGISTER_B, RTC_REGISTER_C, RTC_REGISTER_D, RTC_SECONDS, RTC_SECONDS_ALARM,
    RTC_YEAR,
};

use clock::MAX_START_SECS;

/// Bytes of clock registers plus RAM.
pub const CMOS_SIZE: usize = 128;
/// Port 0x70 bits 6-0: index of the byte port 0x71 accesses.
pub const INDEX_MASK: u8 = 0x7F;

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

    /// The stored byte at `index` (bits 6-0 used, so never out of bounds).
    fn reg(&self, index: u8) -> u8 {
        self.ram[usize::from(index & INDEX_MASK)]
    }

    fn set_reg(&mut self, index: u8, value: u8) {
        self.ram[usize::from(index & INDEX_MASK)] = value;
    }
}

#[cfg(test)]
mod tests;
