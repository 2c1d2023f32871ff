//! INT 1Ah through its entry point, against the fake platform's emulated
//! MC146818A.

use super::cmos_clock::UIP_POLL_LIMIT;
use super::*;
use crate::memory::VecMemory;
use crate::system::irq0_tick;
use crate::system::test_platform::{regs_with_flags, FakePlatform};
use alloc::vec;
use device_model::cmos_rtc::{
    HOURS_PM, REG_A_UIP, REG_B_24_12, REG_B_DM, REG_B_SET, RTC_DAY_OF_WEEK, RTC_REGISTER_A,
    RTC_REGISTER_C, UIP_LEAD_NS,
};

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
