//! Proleptic Gregorian calendar arithmetic for the RTC: days since
//! 1970-01-01 to and from year/month/day, day of the week and leap years.
//!
//! Rules (Gregorian calendar, as the MC146818A datasheet's "Time, Calendar
//! and Alarm Locations" assumes for its month lengths and leap years): a year
//! divisible by 4 is a leap year, except a year divisible by 100, except a year
//! divisible by 400. The rules repeat every 400 years, which hold exactly
//! 146 097 days; the arithmetic below works within one such era and counts
//! eras separately, so any `i64` day in the supported range converts without
//! loops over years.

/// Days in one 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;
/// Days in a 100-year span that does not end on a 400-year boundary.
const DAYS_PER_CENTURY: i64 = 36_524;
/// Days in a 4-year span that contains one leap day.
const DAYS_PER_QUAD: i64 = 1_461;
/// Days from 0000-03-01 (the start of era 0, counted from March so the leap
/// day is the last day of the counting year) to 1970-01-01.
const EPOCH_FROM_MARCH_0000: i64 = 719_468;

/// Lengths of the months of a counting year that starts in March; February is
/// last and gets its leap day from the year arithmetic, not from this table.
const MONTH_DAYS_FROM_MARCH: [i64; 12] = [31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29];

/// Days before each month of a counting year that starts in March.
const DAYS_BEFORE_MONTH_FROM_MARCH: [i64; 12] =
    [0, 31, 61, 92, 122, 153, 184, 214, 245, 275, 306, 337];

/// Days since 1970-01-01 are kept within this bound (about 25 million years
/// either way) so no intermediate product can overflow an `i64`.
pub const MAX_ABS_DAYS: i64 = 1 << 43;

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
}

/// True if `year` has a 29 February.
pub fn is_leap_year(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

/// The number of days in `month` (1..=12) of `year`; 0 for any other month.
pub fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of the given date. Out-of-range months and days are
/// folded arithmetically: month 13 is January of the next year, day 0 is the
/// last day of the previous month, day 32 of January is 1 February.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Fold the month into 0..12 counted from January, carrying whole years.
    let month0 = month.saturating_sub(1);
    let year = year.saturating_add(month0.div_euclid(12));
    let month0 = month0.rem_euclid(12);
    // Count years from March: January and February belong to the year before.
    let (count_year, month_from_march) = if month0 < 2 {
        (year.saturating_sub(1), month0 + 10)
    } else {
        (year, month0 - 2)
    };
    let era = count_year.div_euclid(400);
    let year_of_era = count_year.rem_euclid(400);
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100
        + DAYS_BEFORE_MONTH_FROM_MARCH[month_from_march as usize];
    era.saturating_mul(DAYS_PER_ERA)
        .saturating_add(day_of_era)
        .saturating_add(day.saturating_sub(1))
        .saturating_sub(EPOCH_FROM_MARCH_0000)
}

/// The date `days` days after 1970-01-01 (before it, if negative). `days` is
/// clamped to `±MAX_ABS_DAYS`.
pub fn civil_from_days(days: i64) -> Date {
    let from_march_0000 = days.clamp(-MAX_ABS_DAYS, MAX_ABS_DAYS) + EPOCH_FROM_MARCH_0000;
    let era = from_march_0000.div_euclid(DAYS_PER_ERA);
    let mut rest = from_march_0000.rem_euclid(DAYS_PER_ERA);
    // The era's last century is one day longer (its final year is a 400th).
    let centuries = (rest / DAYS_PER_CENTURY).min(3);
    rest -= centuries * DAYS_PER_CENTURY;
    let quads = rest / DAYS_PER_QUAD;
    rest -= quads * DAYS_PER_QUAD;
    // Likewise the last year of a quad holds the leap day.
    let years = (rest / 365).min(3);
    rest -= years * 365;
    let count_year = era * 400 + centuries * 100 + quads * 4 + years;
    let mut month_from_march = 0;
    for (i, len) in MONTH_DAYS_FROM_MARCH.iter().enumerate() {
        month_from_march = i;
        if rest < *len {
            break;
        }
        rest -= len;
    }
    // March..December are months 3..12 of the counting year; January and
    // February are months 1..2 of the following calendar year.
    let (year, month) = if month_from_march < 10 {
        (count_year, month_from_march as u8 + 3)
    } else {
        (count_year + 1, month_from_march as u8 - 9)
    };
    Date {
        year,
        month,
        day: rest as u8 + 1,
    }
}

/// Day of the week of `days` days since 1970-01-01: 0 = Sunday .. 6 = Saturday.
pub fn weekday_from_days(days: i64) -> u8 {
    // 1970-01-01 was a Thursday (4).
    (days.rem_euclid(7) as u8 + 4) % 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_thursday_first_of_january_1970() {
        assert_eq!(
            civil_from_days(0),
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(weekday_from_days(0), 4);
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap_year(2000));
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2100));
        assert!(!is_leap_year(2023));
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2100, 13), 0);
    }

    #[test]
    fn february_29_2000_exists_and_is_followed_by_march_1() {
        let d = days_from_civil(2000, 2, 29);
        assert_eq!(d, 11_016);
        assert_eq!(
            civil_from_days(d),
            Date {
                year: 2000,
                month: 2,
                day: 29
            }
        );
        assert_eq!(
            civil_from_days(d + 1),
            Date {
                year: 2000,
                month: 3,
                day: 1
            }
        );
        // A Tuesday.
        assert_eq!(weekday_from_days(d), 2);
    }

    #[test]
    fn year_2100_skips_february_29() {
        let feb28 = days_from_civil(2100, 2, 28);
        assert_eq!(
            civil_from_days(feb28 + 1),
            Date {
                year: 2100,
                month: 3,
                day: 1
            }
        );
    }

    #[test]
    fn dates_past_2038_convert_both_ways() {
        // 2^31 seconds after the epoch: 2038-01-19 03:14:08, a Tuesday.
        let days = (1i64 << 31).div_euclid(86_400);
        assert_eq!(
            civil_from_days(days),
            Date {
                year: 2038,
                month: 1,
                day: 19
            }
        );
        assert_eq!(weekday_from_days(days), 2);
        assert_eq!(days_from_civil(2038, 1, 19), days);
        assert_eq!(days_from_civil(2106, 2, 7), 49_710);
        assert_eq!(days_from_civil(9999, 12, 31), 2_932_896);
    }

    #[test]
    fn out_of_range_months_and_days_fold_into_neighbours() {
        assert_eq!(days_from_civil(1999, 13, 1), days_from_civil(2000, 1, 1));
        assert_eq!(days_from_civil(2000, 0, 1), days_from_civil(1999, 12, 1));
        assert_eq!(days_from_civil(2000, 3, 0), days_from_civil(2000, 2, 29));
        assert_eq!(days_from_civil(2000, 1, 32), days_from_civil(2000, 2, 1));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = days_from_civil(1900, 1, 1);
        let mut expect = Date {
            year: 1900,
            month: 1,
            day: 1,
        };
        for days in start..start + DAYS_PER_ERA + 400 {
            assert_eq!(civil_from_days(days), expect, "day {days}");
            assert_eq!(
                days_from_civil(expect.year, i64::from(expect.month), i64::from(expect.day)),
                days
            );
            // Step the expected date by hand.
            if expect.day < days_in_month(expect.year, expect.month) {
                expect.day += 1;
            } else if expect.month < 12 {
                expect.month += 1;
                expect.day = 1;
            } else {
                expect = Date {
                    year: expect.year + 1,
                    month: 1,
                    day: 1,
                };
            }
        }
    }

    #[test]
    fn extreme_day_counts_do_not_overflow() {
        let _ = civil_from_days(i64::MAX);
        let _ = civil_from_days(i64::MIN);
        let _ = days_from_civil(i64::MAX, i64::MAX, i64::MAX);
        let _ = days_from_civil(i64::MIN, i64::MIN, i64::MIN);
        assert_eq!(weekday_from_days(-1), 3);
        assert_eq!(
            civil_from_days(-1),
            Date {
                year: 1969,
                month: 12,
                day: 31
            }
        );
    }
}
