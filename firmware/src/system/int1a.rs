//! INT 1Ah, time of day: the BIOS tick count (AH=00h/01h) and the CMOS
//! real-time clock (AH=02h-05h), per the IBM PC/AT Technical Reference BIOS
//! listing (`TIME_OF_DAY`), and the day counter (AH=0Ah/0Bh) of the IBM PS/2
//! and PC BIOS Interface Technical Reference. The RTC is the emulated
//! MC146818A, reached through ports 70h/71h as a real BIOS reaches it
//! (`device_model::cmos_rtc`).
//!
//! Choices:
//! - Reads wait for register A's update-in-progress bit to clear, polling at
//!   most [`UIP_POLL_LIMIT`] times; if it never clears the call fails with CF
//!   set, as the AT's does when the clock is not running.
//! - Values are returned in BCD and 24-hour form whatever mode the guest has
//!   put the RTC in (register B's DM and 24/12 bits), and written in the
//!   RTC's current mode. The AT's BIOS assumed the BCD, 24-hour mode its POST
//!   set.
//! - AH=03h/05h check their BCD input (valid digits, a real time and date)
//!   and fail with CF set rather than store an invalid value. AH=05h also
//!   sets the day of the week from the date.
//! - The PS/2 keeps its day counter in the BDA; here it is the RTC date
//!   counted in days from 1980-01-01, so AH=0Ah and AH=0Bh read and set the
//!   RTC's date (AH=0Bh keeps the time of day).
//! - Index writes to port 70h leave bit 7 (NMI disable) clear: the guest's
//!   NMI mask cannot be read back, and nothing on this platform raises NMI.
//! - The alarm (AH=06h/07h) is not provided: CF set.

use crate::bda;
use crate::{BiosPlatform, Next, RealMemory, Regs};
use device_model::cmos_rtc::{
    civil_from_days, days_from_civil, days_in_month, weekday_from_days, CMOS_CENTURY,
    CMOS_DATA_PORT, CMOS_INDEX_PORT, HOURS_PM, REG_A_UIP, REG_B_24_12, REG_B_DM, REG_B_DSE,
    REG_B_SET, RTC_DATE_OF_MONTH, RTC_DAY_OF_WEEK, RTC_HOURS, RTC_MINUTES, RTC_MONTH,
    RTC_REGISTER_A, RTC_REGISTER_B, RTC_SECONDS, RTC_YEAR,
};

/// Register A reads made waiting for UIP to clear. UIP stays set for 244 us
/// before an update; each read is a trapped or emulated port access of well
/// over 3 ns, so this outlasts any real update and still bounds the loop.
pub const UIP_POLL_LIMIT: u32 = 100_000;

/// The day AH=0Ah counts from: 1980-01-01.
const DAY_COUNT_EPOCH: (i64, i64, i64) = (1980, 1, 1);

fn cmos_read(pf: &mut dyn BiosPlatform, index: u8) -> u8 {
    pf.port_out(CMOS_INDEX_PORT, index);
    pf.port_in(CMOS_DATA_PORT)
}

fn cmos_write(pf: &mut dyn BiosPlatform, index: u8, value: u8) {
    pf.port_out(CMOS_INDEX_PORT, index);
    pf.port_out(CMOS_DATA_PORT, value);
}

/// Polls register A until UIP is clear; false if it never clears.
fn wait_update_done(pf: &mut dyn BiosPlatform) -> bool {
    (0..UIP_POLL_LIMIT).any(|_| cmos_read(pf, RTC_REGISTER_A) & REG_A_UIP == 0)
}

/// `v` (taken modulo 100) as two BCD digits.
fn to_bcd(v: u8) -> u8 {
    let v = v % 100;
    ((v / 10) << 4) | (v % 10)
}

/// Two BCD digits as a number; `None` if either digit is above 9.
fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// How the RTC holds its time bytes, from register B.
#[derive(Clone, Copy)]
struct Mode {
    binary: bool,
    hours_24: bool,
}

impl Mode {
    fn of(reg_b: u8) -> Self {
        Self {
            binary: reg_b & REG_B_DM != 0,
            hours_24: reg_b & REG_B_24_12 != 0,
        }
    }

    /// A time byte as a number (invalid BCD digits count at face value).
    fn decode(self, byte: u8) -> u8 {
        if self.binary {
            byte
        } else {
            (byte >> 4).wrapping_mul(10).wrapping_add(byte & 0x0F)
        }
    }

    fn encode(self, v: u8) -> u8 {
        if self.binary {
            v
        } else {
            to_bcd(v)
        }
    }

    /// The hours byte as 0-23.
    fn decode_hours(self, byte: u8) -> u8 {
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
    fn encode_hours(self, hour: u8) -> u8 {
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
struct RtcDate {
    century: u8,
    year: u8,
    month: u8,
    day: u8,
}

impl RtcDate {
    fn full_year(&self) -> i64 {
        i64::from(self.century) * 100 + i64::from(self.year)
    }

    /// Days since 1970-01-01.
    fn days(&self) -> i64 {
        days_from_civil(self.full_year(), i64::from(self.month), i64::from(self.day))
    }

    fn valid(&self) -> bool {
        self.century <= 99
            && self.year <= 99
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.full_year(), self.month)
    }
}

fn read_date(pf: &mut dyn BiosPlatform, mode: Mode) -> RtcDate {
    RtcDate {
        century: mode.decode(cmos_read(pf, CMOS_CENTURY)),
        year: mode.decode(cmos_read(pf, RTC_YEAR)),
        month: mode.decode(cmos_read(pf, RTC_MONTH)),
        day: mode.decode(cmos_read(pf, RTC_DATE_OF_MONTH)),
    }
}

/// Runs `write` with register B's SET bit on, so the clock does not update
/// midway, then restores register B as `finish` makes it from the old value.
fn with_updates_held(
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
fn write_date(pf: &mut dyn BiosPlatform, date: &RtcDate) {
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

/// AH=02h: CH hours, CL minutes, DH seconds (BCD), DL 1 if daylight saving.
fn read_time(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    if !wait_update_done(pf) {
        return regs.set_cf(true);
    }
    let b = cmos_read(pf, RTC_REGISTER_B);
    let mode = Mode::of(b);
    let seconds = mode.decode(cmos_read(pf, RTC_SECONDS));
    let minutes = mode.decode(cmos_read(pf, RTC_MINUTES));
    let hours = mode.decode_hours(cmos_read(pf, RTC_HOURS));
    regs.set_ch(to_bcd(hours));
    regs.set_cl(to_bcd(minutes));
    regs.set_dh(to_bcd(seconds));
    regs.set_dl(u8::from(b & REG_B_DSE != 0));
    regs.succeed();
}

/// AH=03h: CH hours, CL minutes, DH seconds (BCD), DL bit 0 daylight saving.
fn set_time(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    let (Some(hours), Some(minutes), Some(seconds)) = (
        from_bcd(regs.ch()),
        from_bcd(regs.cl()),
        from_bcd(regs.dh()),
    ) else {
        return regs.set_cf(true);
    };
    if hours > 23 || minutes > 59 || seconds > 59 {
        return regs.set_cf(true);
    }
    let dse = if regs.dl() & 1 != 0 { REG_B_DSE } else { 0 };
    with_updates_held(
        pf,
        |pf, mode| {
            cmos_write(pf, RTC_SECONDS, mode.encode(seconds));
            cmos_write(pf, RTC_MINUTES, mode.encode(minutes));
            cmos_write(pf, RTC_HOURS, mode.encode_hours(hours));
        },
        |b| (b & !REG_B_DSE) | dse,
    );
    regs.succeed();
}

/// AH=04h: CH century, CL year, DH month, DL day (BCD).
fn read_date_service(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    if !wait_update_done(pf) {
        return regs.set_cf(true);
    }
    let mode = Mode::of(cmos_read(pf, RTC_REGISTER_B));
    let date = read_date(pf, mode);
    regs.set_ch(to_bcd(date.century));
    regs.set_cl(to_bcd(date.year));
    regs.set_dh(to_bcd(date.month));
    regs.set_dl(to_bcd(date.day));
    regs.succeed();
}

/// AH=05h: CH century, CL year, DH month, DL day (BCD).
fn set_date(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    let digits = [regs.ch(), regs.cl(), regs.dh(), regs.dl()].map(from_bcd);
    let [Some(century), Some(year), Some(month), Some(day)] = digits else {
        return regs.set_cf(true);
    };
    let date = RtcDate {
        century,
        year,
        month,
        day,
    };
    if !date.valid() {
        return regs.set_cf(true);
    }
    write_date(pf, &date);
    regs.succeed();
}

fn epoch_days() -> i64 {
    let (y, m, d) = DAY_COUNT_EPOCH;
    days_from_civil(y, m, d)
}

/// AH=0Ah: CX = days since 1980-01-01 by the RTC's date.
fn read_day_count(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    if !wait_update_done(pf) {
        return regs.set_cf(true);
    }
    let mode = Mode::of(cmos_read(pf, RTC_REGISTER_B));
    let count = read_date(pf, mode).days() - epoch_days();
    match u16::try_from(count) {
        Ok(c) => {
            regs.set_cx(c);
            regs.succeed();
        }
        Err(_) => regs.set_cf(true),
    }
}

/// AH=0Bh: sets the RTC's date to 1980-01-01 plus CX days.
fn set_day_count(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    let d = civil_from_days(epoch_days() + i64::from(regs.cx()));
    // 1980 + 65535 days is in 2159: the century fits two digits.
    let date = RtcDate {
        century: (d.year / 100) as u8,
        year: (d.year % 100) as u8,
        month: d.month,
        day: d.day,
    };
    write_date(pf, &date);
    regs.succeed();
}

/// INT 1Ah.
pub fn int1a(regs: &mut Regs, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
    match regs.ah() {
        0x00 => {
            let ticks = mem.read_u32(bda::TIMER_COUNT);
            regs.set_cx((ticks >> 16) as u16);
            regs.set_dx(ticks as u16);
            regs.set_al(mem.read_u8(bda::TIMER_OFL));
            mem.write_u8(bda::TIMER_OFL, 0);
            regs.set_cf(false);
        }
        0x01 => {
            let ticks = (u32::from(regs.cx()) << 16) | u32::from(regs.dx());
            mem.write_u32(bda::TIMER_COUNT, ticks);
            mem.write_u8(bda::TIMER_OFL, 0);
            regs.set_cf(false);
        }
        0x02 => read_time(regs, pf),
        0x03 => set_time(regs, pf),
        0x04 => read_date_service(regs, pf),
        0x05 => set_date(regs, pf),
        0x0A => read_day_count(regs, pf),
        0x0B => set_day_count(regs, pf),
        _ => regs.set_cf(true),
    }
    Next::Return
}

#[cfg(test)]
mod tests {
    use super::super::irq0_tick;
    use super::super::test_platform::{regs_with_flags, FakePlatform};
    use super::*;
    use crate::memory::VecMemory;
    use alloc::vec;
    use device_model::cmos_rtc::{RTC_REGISTER_C, UIP_LEAD_NS};

    fn mem() -> VecMemory {
        VecMemory(vec![0; 0x10_0000])
    }

    fn call(regs: Regs, m: &mut VecMemory, pf: &mut FakePlatform) -> Regs {
        let mut r = regs;
        assert_eq!(int1a(&mut r, m, pf), Next::Return);
        r
    }

    fn ah(ah: u8) -> Regs {
        Regs {
            eax: u32::from(ah) << 8,
            ..regs_with_flags()
        }
    }

    #[test]
    fn tick_count_reads_as_cx_dx_and_clears_the_midnight_flag() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        m.write_u32(0x46C, 0x0012_3456);
        m.write_u8(0x470, 1);
        let r = call(ah(0x00), &mut m, &mut pf);
        assert_eq!((r.cx(), r.dx(), r.al(), r.cf()), (0x0012, 0x3456, 1, false));
        assert_eq!(m.read_u8(0x470), 0);
        let r = call(ah(0x00), &mut m, &mut pf);
        assert_eq!(r.al(), 0, "flag reported once");
    }

    #[test]
    fn tick_count_set_then_midnight_rollover_is_reported() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        m.write_u8(0x470, 1);
        let set = Regs {
            ecx: 0x0018,
            edx: 0x00AE,
            ..ah(0x01)
        };
        assert!(!call(set, &mut m, &mut pf).cf());
        assert_eq!(m.read_u32(0x46C), 0x18_00AE);
        assert_eq!(m.read_u8(0x470), 0, "setting clears the flag");
        irq0_tick(&mut m);
        let r = call(ah(0x00), &mut m, &mut pf);
        assert_eq!((r.cx(), r.dx(), r.al()), (0x0018, 0x00AF, 0));
        irq0_tick(&mut m);
        let r = call(ah(0x00), &mut m, &mut pf);
        assert_eq!((r.cx(), r.dx(), r.al()), (0, 0, 1));
    }

    #[test]
    fn rtc_time_and_date_read_in_bcd_from_a_binary_mode_cmos() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        // Binary, 24-hour, daylight saving flag on.
        pf.cmos_write(RTC_REGISTER_B, REG_B_DM | REG_B_24_12 | REG_B_DSE);
        assert_eq!(pf.cmos_read(RTC_HOURS), 13, "the CMOS really is binary");
        let r = call(ah(0x02), &mut m, &mut pf);
        assert!(!r.cf());
        assert_eq!((r.ch(), r.cl(), r.dh(), r.dl()), (0x13, 0x45, 0x30, 1));
        let r = call(ah(0x04), &mut m, &mut pf);
        assert!(!r.cf());
        assert_eq!((r.ch(), r.cl(), r.dh(), r.dl()), (0x20, 0x24, 0x02, 0x29));
    }

    #[test]
    fn rtc_time_reads_in_24_hour_bcd_from_a_12_hour_cmos() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        pf.cmos_write(RTC_REGISTER_B, 0); // BCD, 12-hour
        assert_eq!(pf.cmos_read(RTC_HOURS), HOURS_PM | 0x01);
        let r = call(ah(0x02), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl(), r.dh(), r.dl()), (0x13, 0x45, 0x30, 0));
    }

    #[test]
    fn rtc_read_waits_out_update_in_progress_and_gives_up_if_stuck() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        // 100 us before the next second boundary: UIP is set, and the fake
        // clock never moves, so it stays set.
        pf.now_ns = super::super::test_platform::START_NS + 1_000_000_000 - UIP_LEAD_NS / 2;
        assert_ne!(pf.cmos_read(RTC_REGISTER_A) & REG_A_UIP, 0);
        pf.port_accesses = 0;
        let r = call(ah(0x02), &mut m, &mut pf);
        assert!(r.cf());
        assert!(pf.port_accesses <= 2 * u64::from(UIP_POLL_LIMIT) + 8);
        let r = call(ah(0x04), &mut m, &mut pf);
        assert!(r.cf());
        // Past the update the read works and sees the new second.
        pf.now_ns += UIP_LEAD_NS;
        let r = call(ah(0x02), &mut m, &mut pf);
        assert!(!r.cf());
        assert_eq!(r.dh(), 0x31);
    }

    #[test]
    fn rtc_time_set_in_bcd_lands_in_a_binary_cmos_and_keeps_running() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        pf.cmos_write(RTC_REGISTER_B, REG_B_DM | REG_B_24_12 | REG_B_DSE);
        let set = Regs {
            ecx: 0x2359,
            edx: 0x5800,
            ..ah(0x03)
        };
        let r = call(set, &mut m, &mut pf);
        assert!(!r.cf());
        assert_eq!(pf.cmos_read(RTC_HOURS), 23);
        assert_eq!(pf.cmos_read(RTC_MINUTES), 59);
        assert_eq!(pf.cmos_read(RTC_SECONDS), 58);
        let b = pf.cmos_read(RTC_REGISTER_B);
        assert_eq!(b & (REG_B_SET | REG_B_DSE), 0, "SET released, DSE from DL");
        assert_ne!(b & REG_B_DM, 0, "mode kept");
        pf.now_ns += 3_000_000_000;
        let r = call(ah(0x02), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl(), r.dh()), (0x00, 0x00, 0x01));
        let r = call(ah(0x04), &mut m, &mut pf);
        assert_eq!((r.dh(), r.dl()), (0x03, 0x01), "29 Feb rolled to 1 Mar");
    }

    #[test]
    fn rtc_date_set_writes_the_weekday_and_rejects_invalid_dates() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        let set = |ch_cl: u32, dh_dl: u32| Regs {
            ecx: ch_cl,
            edx: dh_dl,
            ..ah(0x05)
        };
        let r = call(set(0x1999, 0x1231), &mut m, &mut pf);
        assert!(!r.cf());
        let r = call(ah(0x04), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl(), r.dh(), r.dl()), (0x19, 0x99, 0x12, 0x31));
        assert_eq!(pf.cmos_read(RTC_DAY_OF_WEEK), 0x06, "a Friday");
        for (cx, dx) in [
            (0x2023, 0x0229),
            (0x2024, 0x1301),
            (0x2024, 0x0100),
            (0x20A4, 0x0101),
        ] {
            let r = call(set(cx, dx), &mut m, &mut pf);
            assert!(r.cf(), "{cx:#x} {dx:#x}");
        }
        let r = call(ah(0x04), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl()), (0x19, 0x99), "unchanged");
        let bad_time = Regs {
            ecx: 0x2400,
            edx: 0,
            ..ah(0x03)
        };
        assert!(call(bad_time, &mut m, &mut pf).cf());
    }

    #[test]
    fn day_count_reads_and_sets_the_rtc_date() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        let r = call(ah(0x0A), &mut m, &mut pf);
        assert!(!r.cf());
        // 1980-01-01 to 2024-02-29.
        assert_eq!(r.cx(), 16130);
        let set = Regs {
            ecx: 366,
            ..ah(0x0B)
        };
        assert!(!call(set, &mut m, &mut pf).cf());
        let r = call(ah(0x04), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl(), r.dh(), r.dl()), (0x19, 0x81, 0x01, 0x01));
        let r = call(ah(0x02), &mut m, &mut pf);
        assert_eq!((r.ch(), r.cl()), (0x13, 0x45), "time of day kept");
        assert_eq!(call(ah(0x0A), &mut m, &mut pf).cx(), 366);
    }

    #[test]
    fn unknown_functions_set_cf_and_touch_no_cmos_state() {
        let mut m = mem();
        let mut pf = FakePlatform::new(1 << 20);
        for f in [0x06, 0x07, 0x0C, 0xB1, 0xFF] {
            let r = call(ah(f), &mut m, &mut pf);
            assert!(r.cf(), "{f:#x}");
        }
        assert_eq!(pf.cmos_read(RTC_REGISTER_C), 0);
    }
}
