//! INT 1Ah, time of day: the BIOS tick count (AH=00h/01h) and the CMOS
//! real-time clock (AH=02h-05h), per the IBM PC/AT Technical Reference BIOS
//! listing (`TIME_OF_DAY`), and the day counter (AH=0Ah/0Bh) of the IBM PS/2
//! and PC BIOS Interface Technical Reference. The RTC is the emulated
//! MC146818A, reached through ports 70h/71h as a real BIOS reaches it
//! (`device_model::cmos_rtc`).
//!
//! Choices:
//! - Reads wait for register A's update-in-progress bit to clear, polling at
//!   most [`cmos_clock::UIP_POLL_LIMIT`] times; if it never clears the call
//!   fails with CF set, as the AT's does when the clock is not running.
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

mod cmos_clock;
#[cfg(test)]
mod tests;

use crate::bda;
use crate::{BiosPlatform, Next, RealMemory, Regs};
use cmos_clock::{
    cmos_read, cmos_write, from_bcd, read_date, to_bcd, wait_update_done, with_updates_held,
    write_date, Mode, RtcDate,
};
use device_model::cmos_rtc::{
    civil_from_days, days_from_civil, REG_B_DSE, RTC_HOURS, RTC_MINUTES, RTC_REGISTER_B,
    RTC_SECONDS,
};

/// The day AH=0Ah counts from: 1980-01-01.
const DAY_COUNT_EPOCH: (i64, i64, i64) = (1980, 1, 1);

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
