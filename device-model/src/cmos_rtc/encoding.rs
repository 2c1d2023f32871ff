//! The time bytes' formats selected by register B ("Time, Calendar and
//! Alarm Locations"): BCD or binary (DM) and 12- or 24-hour (24/12, with the
//! PM flag in bit 7 of the hours byte).

use super::registers::{HOURS_PM, REG_B_24_12, REG_B_DM, RTC_REGISTER_B};
use super::CmosRtc;

impl CmosRtc {
    fn binary_mode(&self) -> bool {
        self.reg(RTC_REGISTER_B) & REG_B_DM != 0
    }

    fn hours_24(&self) -> bool {
        self.reg(RTC_REGISTER_B) & REG_B_24_12 != 0
    }

    /// `value` modulo 100 in the current data mode.
    pub(super) fn encode(&self, value: i64) -> u8 {
        let v = value.rem_euclid(100) as u8;
        if self.binary_mode() {
            v
        } else {
            ((v / 10) << 4) | (v % 10)
        }
    }

    /// A byte in the current data mode; invalid BCD digits count at face value.
    pub(super) fn decode(&self, byte: u8) -> i64 {
        if self.binary_mode() {
            i64::from(byte)
        } else {
            i64::from(byte >> 4) * 10 + i64::from(byte & 0x0F)
        }
    }

    /// An hour 0-23 in the current data and hours modes.
    pub(super) fn encode_hours(&self, hour: i64) -> u8 {
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

    pub(super) fn decode_hours(&self, byte: u8) -> i64 {
        if self.hours_24() {
            return self.decode(byte);
        }
        let hour_12 = self.decode(byte & !HOURS_PM);
        let hour = if hour_12 == 12 { 0 } else { hour_12 };
        hour + if byte & HOURS_PM != 0 { 12 } else { 0 }
    }
}
