//! The alarm ("Time, Calendar and Alarm Locations", "Interrupts"): when the
//! seconds, minutes and hours bytes next match the alarm bytes, an alarm byte
//! of "11xxxxxx" matching any value.

use super::clock::SECS_PER_DAY;
use super::registers::{ALARM_DONT_CARE, RTC_HOURS_ALARM, RTC_MINUTES_ALARM, RTC_SECONDS_ALARM};
use super::CmosRtc;

impl CmosRtc {
    /// The first RTC second after `secs` whose seconds, minutes and hours
    /// bytes match the alarm bytes; `None` if no time of day can match.
    pub(super) fn next_alarm_after(&self, secs: i64) -> Option<i64> {
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
