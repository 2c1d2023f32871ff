//! The clock and control registers of the "Address Map" (0x00-0x0D) and the
//! century byte: time, calendar and alarm bytes and registers A-D with their
//! bits ("Time, Calendar and Alarm Locations", "Registers").

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

// In the PC/AT CMOS RAM map, but produced by the running clock here.
/// Century (BCD or binary per DM), part of the clock here.
pub const CMOS_CENTURY: u8 = 0x32;

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

/// Time bytes the running clock produces: 0x00-0x09 except the alarms, and
/// the century.
pub(super) fn is_time_byte(index: u8) -> bool {
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
