//! Time keeping: the divider chain as an origin in host time, the second
//! boundaries where the update cycle happens ("Update Cycle", "Divider
//! Stages"), UIP ahead of each update, and the conversion between the running
//! count of seconds and the time bytes the guest sees.

use super::civil::{civil_from_days, days_from_civil, weekday_from_days};
use super::registers::{
    CMOS_CENTURY, REG_A_DV_RESET, REG_B_SET, RTC_DATE_OF_MONTH, RTC_DAY_OF_WEEK, RTC_HOURS,
    RTC_MINUTES, RTC_MONTH, RTC_REGISTER_A, RTC_REGISTER_B, RTC_SECONDS, RTC_YEAR,
};
use super::CmosRtc;

/// Nanoseconds in one second.
pub(super) const NS_PER_SEC: i128 = 1_000_000_000;
/// The time base the PC wires to the chip.
pub(super) const TIME_BASE_HZ: i128 = 32_768;
/// UIP rises this long before each update: 8 cycles of 32.768 kHz (244.14 us),
/// rounded up so a poller always sees at least 244 us.
pub const UIP_LEAD_NS: u64 = 244_141;
/// After the divider leaves reset the first update comes half a second later.
const DIVIDER_RELEASE_TO_UPDATE_NS: i128 = 500_000_000;
/// Seconds in one day.
pub(super) const SECS_PER_DAY: i64 = 86_400;
/// The latest time the clock is set to, from the host's base or from guest
/// bytes (century 99 and beyond fold to it): 9999-12-31 23:59:59.
pub(super) const MAX_START_SECS: i64 = 253_402_300_799;

impl CmosRtc {
    /// Writes registers A and B, freezing the time into the time bytes when
    /// updates stop and reading it back when they resume.
    pub(super) fn set_control(&mut self, a: u8, b: u8, now: u64) {
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

    pub(super) fn divider_running(&self) -> bool {
        self.reg(RTC_REGISTER_A) & REG_A_DV_RESET != REG_A_DV_RESET
    }

    /// True while the time advances: divider running and SET clear.
    pub(super) fn updating(&self) -> bool {
        self.divider_running() && self.reg(RTC_REGISTER_B) & REG_B_SET == 0
    }

    pub(super) fn elapsed_ns(&self, t: u64) -> i128 {
        (i128::from(t) - self.origin_ns).max(0)
    }

    /// How many second boundaries the divider has passed at `t`.
    pub(super) fn second_index(&self, t: u64) -> i128 {
        self.elapsed_ns(t) / NS_PER_SEC
    }

    pub(super) fn second_boundary_ns(&self, k: i128) -> i128 {
        self.origin_ns + k * NS_PER_SEC
    }

    /// RTC seconds since 1970 at host time `t`, while updating.
    pub(super) fn secs_at(&self, t: u64) -> i64 {
        let k = i64::try_from(self.second_index(t)).unwrap_or(i64::MAX);
        self.secs_at_origin.saturating_add(k)
    }

    /// UIP: updating, and the next update is at most 244 us away.
    pub(super) fn update_imminent(&self, now: u64) -> bool {
        if !self.updating() {
            return false;
        }
        let next = self.second_boundary_ns(self.second_index(now) + 1);
        next - i128::from(now) <= i128::from(UIP_LEAD_NS)
    }

    /// Writes the time at `now` into the time bytes in the current mode.
    pub(super) fn store_time(&mut self, now: u64) {
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
    pub(super) fn load_time(&mut self, now: u64) {
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
}
