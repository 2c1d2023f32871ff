//! The MC146818A clock as the BIOS reaches it (`device_model::cmos_rtc`):
//! indexed reads and writes through ports 70h/71h, waiting out the update
//! cycle, holding updates off while writing, and the encodings of the time
//! and date bytes (BCD or binary, 12- or 24-hour) that register B selects.
//! INT 1Ah's functions are built on these and never touch the ports
//! themselves.

use crate::BiosPlatform;
use device_model::cmos_rtc::{
    days_from_civil, days_in_month, weekday_from_days, CMOS_CENTURY, HOURS_PM, REG_A_UIP,
    REG_B_24_12, REG_B_DM, REG_B_SET, RTC_DATE_OF_MONTH, RTC_DAY_OF_WEEK, RTC_MONTH,
    RTC_REGISTER_A, RTC_REGISTER_B, RTC_YEAR,
};
use pc_layout::ports::{CMOS_DATA, CMOS_INDEX};

/// Register A reads made waiting for UIP to clear. UIP stays set for 244 us
/// before an update; each read is a trapped or emulated port access of well
/// over 3 ns, so this outlasts any real update and still bounds the loop.
pub const UIP_POLL_LIMIT: u32 = 100_000;

pub(super) fn cmos_read(pf: &mut dyn BiosPlatform, index: u8) -> u8 {
    pf.port_out(CMOS_INDEX, index);
    pf.port_in(CMOS_DATA)
}

pub(super) fn cmos_write(pf: &mut dyn BiosPlatform, index: u8, value: u8) {
    pf.port_out(CMOS_INDEX, index);
    pf.port_out(CMOS_DATA, value);
}

/// Polls register A until UIP is clear; false if it never clears.
pub(super) fn wait_update_done(pf: &mut dyn BiosPlatform) -> bool {
    (0..UIP_POLL_LIMIT).any(|_| cmos_read(pf, RTC_REGISTER_A) & REG_A_UIP == 0)
}

/// `v` (taken modulo 100) as two BCD digits.
pub(super) fn to_bcd(v: u8) -> u8 {
    let v = v % 100;
    ((v / 10) << 4) | (v % 10)
}

/// Two BCD digits as a number; `None` if either digit is above 9.
pub(super) fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// How the RTC holds its time bytes, from register B.
#[derive(Clone, Copy)]
pub(super) struct Mode {
    binary: bool,
    hours_24: bool,
}

impl Mode {
    pub(super) fn of(reg_b: u8) -> Self {
        Self {
            binary: reg_b & REG_B_DM != 0,
            hours_24: reg_b & REG_B_24_12 != 0,
        }
    }

    /// A time byte as a number (invalid BCD digits count at face value).
    pub(super) fn decode(self, byte: u8) -> u8 {
        if self.binary {
            byte
        } else {
            (byte >> 4).wrapping_mul(10).wrapping_add(byte & 0x0F)
        }
    }

    pub(super) fn encode(self, v: u8) -> u8 {
        if self.binary {
            v
        } else {
            to_bcd(v)
        }
    }

    /// The hours byte as 0-23.
    pub(super) fn decode_hours(self, byte: u8) -> u8 {
        if self.hours_24 {
            return self.decode(byte);
        }
        let h12 = self.decode(byte & !HOURS_PM) % 12;
        if byte & HOURS_PM != 0 {
            h12 + 12
        } else {
            h12
        }
    }

    /// An hour 0-23 as the hours byte.
    pub(super) fn encode_hours(self, hour: u8) -> u8 {
        if self.hours_24 {
            return self.encode(hour);
        }
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        let pm = if hour >= 12 { HOURS_PM } else { 0 };
        self.encode(h12) | pm
    }
}

/// A date as the RTC holds it.
pub(super) struct RtcDate {
    pub(super) century: u8,
    pub(super) year: u8,
    pub(super) month: u8,
    pub(super) day: u8,
}

impl RtcDate {
    fn full_year(&self) -> i64 {
        i64::from(self.century) * 100 + i64::from(self.year)
    }

    /// Days since 1970-01-01.
    pub(super) fn days(&self) -> i64 {
        days_from_civil(self.full_year(), i64::from(self.month), i64::from(self.day))
    }

    pub(super) fn valid(&self) -> bool {
        self.century <= 99
            && self.year <= 99
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.full_year(), self.month)
    }
}

pub(super) fn read_date(pf: &mut dyn BiosPlatform, mode: Mode) -> RtcDate {
    RtcDate {
        century: mode.decode(cmos_read(pf, CMOS_CENTURY)),
        year: mode.decode(cmos_read(pf, RTC_YEAR)),
        month: mode.decode(cmos_read(pf, RTC_MONTH)),
        day: mode.decode(cmos_read(pf, RTC_DATE_OF_MONTH)),
    }
}

/// Runs `write` with register B's SET bit on, so the clock does not update
/// midway, then restores register B as `finish` makes it from the old value.
pub(super) fn with_updates_held(
    pf: &mut dyn BiosPlatform,
    write: impl FnOnce(&mut dyn BiosPlatform, Mode),
    finish: impl FnOnce(u8) -> u8,
) {
    // If UIP never clears the clock is stopped; SET makes the write safe anyway.
    wait_update_done(pf);
    let b = cmos_read(pf, RTC_REGISTER_B);
    cmos_write(pf, RTC_REGISTER_B, b | REG_B_SET);
    write(pf, Mode::of(b));
    cmos_write(pf, RTC_REGISTER_B, finish(b) & !REG_B_SET);
}

/// Stores a valid date, with the day of the week that goes with it.
pub(super) fn write_date(pf: &mut dyn BiosPlatform, date: &RtcDate) {
    let weekday = weekday_from_days(date.days()) + 1; // Sunday = 1
    with_updates_held(
        pf,
        |pf, mode| {
            cmos_write(pf, RTC_DAY_OF_WEEK, mode.encode(weekday));
            cmos_write(pf, RTC_DATE_OF_MONTH, mode.encode(date.day));
            cmos_write(pf, RTC_MONTH, mode.encode(date.month));
            cmos_write(pf, RTC_YEAR, mode.encode(date.year));
            cmos_write(pf, CMOS_CENTURY, mode.encode(date.century));
        },
        |b| b,
    );
}
