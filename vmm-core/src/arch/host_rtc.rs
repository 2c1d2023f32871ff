//! The host's wall-clock time, read from its MC146818-compatible CMOS RTC
//! (Motorola MC146818A datasheet, "Address Map" and register B's DM and 24/12
//! bits), so the guest's emulated RTC starts at the real date and time.

use super::port::{inb, outb};
use device_model::cmos_rtc::days_from_civil;

const INDEX: u16 = pc_layout::ports::CMOS_INDEX;
const DATA: u16 = pc_layout::ports::CMOS_DATA;
/// Register A bit 7: update in progress.
const REG_A_UIP: u8 = 0x80;
/// Register B bit 2: binary (else BCD); bit 1: 24-hour (else 12-hour).
const REG_B_DM: u8 = 0x04;
const REG_B_24H: u8 = 0x02;

fn read(index: u8) -> u8 {
    // Bit 7 of the index port is the NMI mask: keep NMIs enabled.
    outb(INDEX, index & 0x7F);
    inb(DATA)
}

/// Seconds since the Unix epoch (UTC as the host RTC keeps it), or 0 if the
/// RTC answers nonsense.
pub fn unix_time() -> u64 {
    // Wait (bounded) for an update to finish, then read the time twice until
    // two reads agree, so no field is read across an update.
    for _ in 0..100_000 {
        if read(0x0A) & REG_A_UIP == 0 {
            break;
        }
    }
    let mut last = [0u8; 7];
    for _ in 0..10 {
        let now = [
            read(0x00),
            read(0x02),
            read(0x04),
            read(0x07),
            read(0x08),
            read(0x09),
            read(0x32),
        ];
        if now == last {
            break;
        }
        last = now;
    }
    let b = read(0x0B);
    let bin = |v: u8| {
        if b & REG_B_DM != 0 {
            v
        } else {
            (v >> 4) * 10 + (v & 0x0F)
        }
    };
    let [sec, min, hour, day, month, year, century] = last;
    let pm = b & REG_B_24H == 0 && hour & 0x80 != 0;
    let mut hour = bin(hour & 0x7F);
    if b & REG_B_24H == 0 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = match bin(century) {
        19..=21 => i64::from(bin(century)),
        _ => 20,
    };
    let year = century * 100 + i64::from(bin(year));
    let (month, day) = (i64::from(bin(month)), i64::from(bin(day)));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 {
        return 0;
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(bin(min)) * 60 + i64::from(bin(sec));
    u64::try_from(secs).unwrap_or(0)
}
