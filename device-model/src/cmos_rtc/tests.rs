//! Tests of `cmos_rtc`.

use super::nvram::MIB;
use super::*;
use crate::bus::PortIoBus;
use crate::Clock;
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// Unix seconds of a UTC date and time.
fn unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> u64 {
    (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) as u64
}

fn get(rtc: &mut CmosRtc, index: u8, now: u64) -> u8 {
    rtc.write(CMOS_INDEX_PORT, index, now);
    rtc.read(CMOS_DATA_PORT, now)
}

fn put(rtc: &mut CmosRtc, index: u8, value: u8, now: u64) {
    rtc.write(CMOS_INDEX_PORT, index, now);
    rtc.write(CMOS_DATA_PORT, value, now);
}

/// Seconds, minutes, hours, day of week, date, month, year, century.
fn time(rtc: &mut CmosRtc, now: u64) -> [u8; 8] {
    [
        RTC_SECONDS,
        RTC_MINUTES,
        RTC_HOURS,
        RTC_DAY_OF_WEEK,
        RTC_DATE_OF_MONTH,
        RTC_MONTH,
        RTC_YEAR,
        CMOS_CENTURY,
    ]
    .map(|i| get(rtc, i, now))
}

/// Saturday 2024-03-09 13:45:56, at host time 0.
fn saturday_afternoon() -> CmosRtc {
    CmosRtc::new(unix(2024, 3, 9, 13, 45, 56), 0)
}

fn is_bcd(b: u8) -> bool {
    b >> 4 <= 9 && b & 0x0F <= 9
}

#[test]
fn time_reads_in_bcd_24_hour_after_power_on() {
    let mut rtc = saturday_afternoon();
    assert_eq!(
        time(&mut rtc, 0),
        [0x56, 0x45, 0x13, 0x07, 0x09, 0x03, 0x24, 0x20]
    );
    assert_eq!(get(&mut rtc, RTC_REGISTER_A, 0), 0x26);
    assert_eq!(get(&mut rtc, RTC_REGISTER_B, 0), REG_B_24_12);
}

#[test]
fn binary_mode_reads_plain_numbers() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, REG_B_DM | REG_B_24_12, 0);
    assert_eq!(time(&mut rtc, 0), [56, 45, 13, 7, 9, 3, 24, 20]);
}

#[test]
fn twelve_hour_mode_sets_bit_7_for_pm_and_shows_12_for_midnight_and_noon() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, 0, 0);
    assert_eq!(get(&mut rtc, RTC_HOURS, 0), HOURS_PM | 0x01);
    put(&mut rtc, RTC_REGISTER_B, REG_B_DM, 0);
    assert_eq!(get(&mut rtc, RTC_HOURS, 0), HOURS_PM | 1);

    let mut midnight = CmosRtc::new(unix(2024, 1, 1, 0, 0, 0), 0);
    put(&mut midnight, RTC_REGISTER_B, 0, 0);
    assert_eq!(get(&mut midnight, RTC_HOURS, 0), 0x12);
    let mut noon = CmosRtc::new(unix(2024, 1, 1, 12, 0, 0), 0);
    put(&mut noon, RTC_REGISTER_B, 0, 0);
    assert_eq!(get(&mut noon, RTC_HOURS, 0), HOURS_PM | 0x12);
    put(&mut noon, RTC_REGISTER_B, REG_B_DM, 0);
    assert_eq!(get(&mut noon, RTC_HOURS, 0), HOURS_PM | 12);
}

#[test]
fn clock_advances_with_host_time_across_century_boundary() {
    let mut rtc = CmosRtc::new(unix(1999, 12, 31, 23, 59, 58), 0);
    assert_eq!(get(&mut rtc, RTC_SECONDS, SEC - 1), 0x58);
    assert_eq!(get(&mut rtc, RTC_SECONDS, SEC), 0x59);
    // 2000-01-01 was a Saturday.
    assert_eq!(
        time(&mut rtc, 2 * SEC + 500 * MS),
        [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]
    );
}

#[test]
fn dates_past_2038_and_2100_read_correctly() {
    let mut rtc = CmosRtc::new(unix(2038, 1, 19, 3, 14, 8), 0);
    assert_eq!(
        time(&mut rtc, 0),
        [0x08, 0x14, 0x03, 0x03, 0x19, 0x01, 0x38, 0x20]
    );
    // 2100 is not a leap year: 28 February is followed by 1 March.
    let mut rtc = CmosRtc::new(unix(2100, 2, 28, 23, 59, 59), 0);
    assert_eq!(
        time(&mut rtc, SEC),
        [0x00, 0x00, 0x00, 0x02, 0x01, 0x03, 0x00, 0x21]
    );
    // 2000 is: 28 February is followed by 29 February.
    let mut rtc = CmosRtc::new(unix(2000, 2, 28, 23, 59, 59), 0);
    assert_eq!(get(&mut rtc, RTC_DATE_OF_MONTH, SEC), 0x29);
}

#[test]
fn uip_is_set_only_in_the_244_us_before_each_update() {
    let mut rtc = saturday_afternoon();
    let uip = |rtc: &mut CmosRtc, t| get(rtc, RTC_REGISTER_A, t) & REG_A_UIP != 0;
    assert!(!uip(&mut rtc, 0));
    assert!(!uip(&mut rtc, SEC - UIP_LEAD_NS - 1));
    assert!(uip(&mut rtc, SEC - UIP_LEAD_NS));
    // Time bytes still hold the old second while UIP is set.
    assert_eq!(get(&mut rtc, RTC_SECONDS, SEC - 1), 0x56);
    assert!(uip(&mut rtc, SEC - 1));
    assert!(!uip(&mut rtc, SEC));
    assert_eq!(get(&mut rtc, RTC_SECONDS, SEC), 0x57);
    assert!(uip(&mut rtc, 2 * SEC - 100_000));
    // The rest of register A is as written.
    assert_eq!(get(&mut rtc, RTC_REGISTER_A, 2 * SEC - 100_000), 0xA6);
}

#[test]
fn set_bit_freezes_time_and_clears_uip_and_uie() {
    let mut rtc = saturday_afternoon();
    put(
        &mut rtc,
        RTC_REGISTER_B,
        REG_B_SET | REG_B_UIE | REG_B_24_12,
        500 * MS,
    );
    assert_eq!(get(&mut rtc, RTC_REGISTER_B, 0), REG_B_SET | REG_B_24_12);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 10 * SEC), 0x56);
    assert_eq!(get(&mut rtc, RTC_REGISTER_A, 11 * SEC - 1) & REG_A_UIP, 0);
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_C, 12 * SEC) & REG_C_UF,
        0,
        "no update, so no update-ended flag"
    );
}

#[test]
fn guest_set_time_continues_from_what_it_set() {
    let mut rtc = saturday_afternoon();
    let t = 700 * MS;
    put(&mut rtc, RTC_REGISTER_B, REG_B_SET | REG_B_24_12, t);
    // 2030-06-15 08:30:00, a Saturday, but written with day of week 2.
    for (i, v) in [
        (RTC_SECONDS, 0x00),
        (RTC_MINUTES, 0x30),
        (RTC_HOURS, 0x08),
        (RTC_DAY_OF_WEEK, 0x02),
        (RTC_DATE_OF_MONTH, 0x15),
        (RTC_MONTH, 0x06),
        (RTC_YEAR, 0x30),
        (CMOS_CENTURY, 0x20),
    ] {
        put(&mut rtc, i, v, t);
    }
    assert_eq!(get(&mut rtc, RTC_MINUTES, 5 * SEC), 0x30);
    put(&mut rtc, RTC_REGISTER_B, REG_B_24_12, 5 * SEC + t);
    assert_eq!(
        time(&mut rtc, 5 * SEC + t),
        [0x00, 0x30, 0x08, 0x02, 0x15, 0x06, 0x30, 0x20]
    );
    // The divider kept its phase through SET: the next update is at 6 s.
    assert_eq!(get(&mut rtc, RTC_SECONDS, 6 * SEC - 1), 0x00);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 6 * SEC), 0x01);
    // A day later the guest's day of week has advanced by one.
    let next_day = 6 * SEC + 86_400 * SEC;
    assert_eq!(
        time(&mut rtc, next_day),
        [0x01, 0x30, 0x08, 0x03, 0x16, 0x06, 0x30, 0x20]
    );
}

#[test]
fn writing_a_time_byte_while_running_counts_on_from_it() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_MINUTES, 0x00, 500 * MS);
    assert_eq!(get(&mut rtc, RTC_MINUTES, 500 * MS), 0x00);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 500 * MS), 0x56);
    assert_eq!(time(&mut rtc, 4 * SEC)[..3], [0x00, 0x01, 0x13]);
}

#[test]
fn invalid_bcd_written_while_set_reads_back_raw_then_folds_to_a_valid_time() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, REG_B_SET | REG_B_24_12, 0);
    let junk = [
        (RTC_SECONDS, 0xFF),
        (RTC_MINUTES, 0xAB),
        (RTC_HOURS, 0x99),
        (RTC_DAY_OF_WEEK, 0x00),
        (RTC_DATE_OF_MONTH, 0x00),
        (RTC_MONTH, 0x1F),
        (RTC_YEAR, 0xFA),
        (CMOS_CENTURY, 0xFF),
    ];
    for (i, v) in junk {
        put(&mut rtc, i, v, 0);
    }
    for (i, v) in junk {
        assert_eq!(get(&mut rtc, i, 0), v);
    }
    put(&mut rtc, RTC_REGISTER_B, REG_B_24_12, 0);
    for t in [0, SEC, 100 * SEC] {
        let [s, m, h, dow, dom, mo, y, c] = time(&mut rtc, t);
        assert!([s, m, h, dow, dom, mo, y, c].iter().all(|b| is_bcd(*b)));
        assert!(s <= 0x59 && m <= 0x59 && h <= 0x23);
        assert!((0x01..=0x07).contains(&dow));
        assert!((0x01..=0x31).contains(&dom) && (0x01..=0x12).contains(&mo));
    }
}

#[test]
fn toggling_dm_and_24_12_while_running_reformats_the_same_time() {
    let mut rtc = saturday_afternoon();
    assert_eq!(get(&mut rtc, RTC_SECONDS, 0), 0x56);
    put(&mut rtc, RTC_REGISTER_B, REG_B_DM | REG_B_24_12, 0);
    assert_eq!(time(&mut rtc, SEC), [57, 45, 13, 7, 9, 3, 24, 20]);
    put(&mut rtc, RTC_REGISTER_B, REG_B_DM, SEC);
    assert_eq!(get(&mut rtc, RTC_HOURS, SEC), HOURS_PM | 1);
    put(&mut rtc, RTC_REGISTER_B, REG_B_24_12, SEC);
    assert_eq!(time(&mut rtc, 2 * SEC)[..3], [0x58, 0x45, 0x13]);
}

#[test]
fn periodic_interrupt_at_rate_6_fires_every_976_5625_us() {
    let mut rtc = saturday_afternoon();
    assert_eq!(rtc.next_event_ns(0), None, "nothing enabled");
    put(&mut rtc, RTC_REGISTER_B, REG_B_PIE | REG_B_24_12, 0);
    // 1024 Hz: edges at 976 562.5 ns multiples.
    assert_eq!(rtc.next_event_ns(0), Some(976_563));
    assert!(!rtc.irq_level(976_562));
    assert!(rtc.irq_level(976_563));
    assert_eq!(rtc.next_event_ns(976_563), None, "IRQ8 already high");
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_C, 976_563),
        REG_C_IRQF | REG_C_PF
    );
    assert!(!rtc.irq_level(976_563), "reading C lowers IRQ8");
    assert_eq!(rtc.next_event_ns(976_563), Some(1_953_125));
    assert!(rtc.irq_level(1_953_125));
    // Left unread, C keeps one PF however many periods pass.
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_C, 100 * MS),
        REG_C_IRQF | REG_C_PF
    );
    // 100 ms = 102.4 periods: the next edge is the 103rd.
    assert_eq!(rtc.next_event_ns(100 * MS), Some(100_585_938));
    assert_eq!(rtc.next_event_ns(200 * MS), Some(200 * MS), "already due");
}

#[test]
fn periodic_flag_sets_without_pie_and_enabling_pie_then_raises_irq() {
    let mut rtc = saturday_afternoon();
    assert!(!rtc.irq_level(5 * MS));
    put(&mut rtc, RTC_REGISTER_B, REG_B_PIE | REG_B_24_12, 5 * MS);
    assert!(rtc.irq_level(5 * MS));
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, 5 * MS), REG_C_IRQF | REG_C_PF);
    // Disabling the source lowers IRQF: it is PF·PIE + AF·AIE + UF·UIE.
    assert!(rtc.irq_level(6 * MS));
    put(&mut rtc, RTC_REGISTER_B, REG_B_24_12, 6 * MS);
    assert!(!rtc.irq_level(6 * MS));
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, 6 * MS), REG_C_PF);
}

#[test]
fn rate_select_table_including_rates_0_1_2_and_15() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, REG_B_PIE | REG_B_24_12, 0);
    for (rs, first_edge) in [
        (1, 3_906_250),
        (2, 7_812_500),
        (3, 122_071),
        (8, 3_906_250),
        (9, 7_812_500),
        (15, 500 * MS),
    ] {
        put(&mut rtc, RTC_REGISTER_A, REG_A_DV_32768_HZ | rs, 0);
        assert_eq!(rtc.next_event_ns(0), Some(first_edge), "rate {rs}");
    }
    put(&mut rtc, RTC_REGISTER_A, REG_A_DV_32768_HZ, 0);
    assert_eq!(rtc.next_event_ns(0), None);
    assert!(!rtc.irq_level(10 * SEC));
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, 10 * SEC) & REG_C_PF, 0);
}

#[test]
fn update_ended_interrupt_fires_once_per_second() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_A, REG_A_DV_32768_HZ, 0);
    put(&mut rtc, RTC_REGISTER_B, REG_B_UIE | REG_B_24_12, 0);
    assert_eq!(rtc.next_event_ns(0), Some(SEC));
    assert!(!rtc.irq_level(SEC - 1));
    assert!(rtc.irq_level(SEC));
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, SEC), REG_C_IRQF | REG_C_UF);
    assert!(!rtc.irq_level(SEC + 500 * MS));
    assert_eq!(rtc.next_event_ns(SEC + 500 * MS), Some(2 * SEC));
    assert!(!rtc.irq_level(2 * SEC - 1));
    assert!(rtc.irq_level(2 * SEC));
    assert_eq!(get(&mut rtc, RTC_SECONDS, 2 * SEC), 0x58);
}

#[test]
fn alarm_with_dont_care_hours_and_minutes_fires_every_minute() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_SECONDS_ALARM, 0x30, 0);
    put(&mut rtc, RTC_MINUTES_ALARM, 0xC0, 0);
    put(&mut rtc, RTC_HOURS_ALARM, 0xFF, 0);
    put(&mut rtc, RTC_REGISTER_B, REG_B_AIE | REG_B_24_12, 0);
    // 13:45:56 -> 13:46:30 is 34 s away.
    assert_eq!(rtc.next_event_ns(0), Some(34 * SEC));
    assert!(!rtc.irq_level(34 * SEC - 1));
    assert!(rtc.irq_level(34 * SEC));
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_C, 34 * SEC),
        // PF and UF are set too: flags rise whether or not enabled.
        REG_C_IRQF | REG_C_PF | REG_C_AF | REG_C_UF
    );
    assert_eq!(rtc.next_event_ns(34 * SEC), Some(94 * SEC));
    // Sleeping through several matches leaves one AF.
    assert!(rtc.irq_level(300 * SEC));
}

#[test]
fn alarm_with_all_fields_dont_care_fires_every_second() {
    let mut rtc = saturday_afternoon();
    for i in [RTC_SECONDS_ALARM, RTC_MINUTES_ALARM, RTC_HOURS_ALARM] {
        put(&mut rtc, i, 0xC0, 0);
    }
    put(&mut rtc, RTC_REGISTER_B, REG_B_AIE | REG_B_24_12, 0);
    assert_eq!(rtc.next_event_ns(0), Some(SEC));
    assert!(rtc.irq_level(SEC));
}

#[test]
fn exact_alarm_fires_once_a_day_and_compares_in_the_current_format() {
    let mut rtc = saturday_afternoon();
    // 12-hour BCD: 1:46:00 PM.
    put(&mut rtc, RTC_REGISTER_B, REG_B_AIE, 0);
    put(&mut rtc, RTC_SECONDS_ALARM, 0x00, 0);
    put(&mut rtc, RTC_MINUTES_ALARM, 0x46, 0);
    put(&mut rtc, RTC_HOURS_ALARM, HOURS_PM | 0x01, 0);
    assert_eq!(rtc.next_event_ns(0), Some(4 * SEC));
    assert!(rtc.irq_level(4 * SEC));
    get(&mut rtc, RTC_REGISTER_C, 4 * SEC);
    assert_eq!(rtc.next_event_ns(4 * SEC), Some((4 + 86_400) * SEC));
    assert!(!rtc.irq_level(86_400 * SEC));
    assert!(rtc.irq_level((4 + 86_400) * SEC));
}

#[test]
fn alarm_with_an_impossible_value_never_fires() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_SECONDS_ALARM, 0x75, 0);
    put(&mut rtc, RTC_MINUTES_ALARM, 0xC0, 0);
    put(&mut rtc, RTC_HOURS_ALARM, 0xC0, 0);
    put(&mut rtc, RTC_REGISTER_B, REG_B_AIE | REG_B_24_12, 0);
    assert_eq!(rtc.next_event_ns(0), None);
    assert!(!rtc.irq_level(200 * SEC));
}

#[test]
fn reading_c_repeatedly_returns_zero_after_the_first_read() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, REG_B_UIE | REG_B_24_12, 0);
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, SEC) & REG_C_UF, REG_C_UF);
    for _ in 0..5 {
        assert_eq!(get(&mut rtc, RTC_REGISTER_C, SEC), 0);
        assert!(!rtc.irq_level(SEC));
    }
}

#[test]
fn registers_c_and_d_ignore_writes_and_d_reports_a_good_battery() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_C, 0xFF, 0);
    put(&mut rtc, RTC_REGISTER_D, 0x00, 0);
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, 0), 0);
    assert_eq!(get(&mut rtc, RTC_REGISTER_D, 0), REG_D_VRT);
    assert!(!rtc.irq_level(0));
}

#[test]
fn divider_reset_stops_the_clock_and_the_first_update_follows_half_a_second_after_release() {
    let mut rtc = saturday_afternoon();
    put(&mut rtc, RTC_REGISTER_B, REG_B_PIE | REG_B_24_12, 0);
    get(&mut rtc, RTC_REGISTER_C, 300 * MS);
    put(&mut rtc, RTC_REGISTER_A, REG_A_DV | 0x06, 300 * MS);
    assert_eq!(rtc.next_event_ns(300 * MS), None);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 5 * SEC), 0x56);
    assert_eq!(get(&mut rtc, RTC_REGISTER_A, 5 * SEC), REG_A_DV | 0x06);
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_C, 5 * SEC),
        0,
        "no periodic edges"
    );
    put(&mut rtc, RTC_REGISTER_A, 0x26, 5 * SEC);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 5 * SEC + 500 * MS - 1), 0x56);
    assert_eq!(get(&mut rtc, RTC_SECONDS, 5 * SEC + 500 * MS), 0x57);
}

#[test]
fn nmi_bit_is_recorded_but_not_part_of_the_index() {
    let mut rtc = saturday_afternoon();
    assert!(!rtc.nmi_disabled());
    rtc.write(CMOS_INDEX_PORT, NMI_DISABLE | RTC_REGISTER_D, 0);
    assert!(rtc.nmi_disabled());
    assert_eq!(rtc.read(CMOS_DATA_PORT, 0), REG_D_VRT);
    rtc.write(CMOS_INDEX_PORT, NMI_DISABLE | 0x40, 0);
    rtc.write(CMOS_DATA_PORT, 0x5A, 0);
    rtc.write(CMOS_INDEX_PORT, 0x40, 0);
    assert!(!rtc.nmi_disabled());
    assert_eq!(rtc.read(CMOS_DATA_PORT, 0), 0x5A);
    assert_eq!(rtc.nvram(0x40), 0x5A);
}

#[test]
fn index_port_reads_all_ones_and_other_ports_are_ignored() {
    let mut rtc = saturday_afternoon();
    rtc.write(CMOS_INDEX_PORT, 0x20, 0);
    assert_eq!(rtc.read(CMOS_INDEX_PORT, 0), 0xFF);
    assert_eq!(rtc.read(0x72, 0), 0xFF);
    rtc.write(0x72, 0x12, 0);
    assert_eq!(rtc.read(CMOS_DATA_PORT, 0), 0);
}

#[test]
fn memory_size_bytes_follow_the_bochs_and_seabios_layout() {
    let mut rtc = saturday_afternoon();
    rtc.set_memory_size(512 * MIB);
    let b = |rtc: &CmosRtc, i| rtc.nvram(i);
    assert_eq!((b(&rtc, 0x15), b(&rtc, 0x16)), (0x80, 0x02), "640 KiB");
    assert_eq!((b(&rtc, 0x17), b(&rtc, 0x18)), (0xFF, 0xFF), "capped");
    assert_eq!((b(&rtc, 0x30), b(&rtc, 0x31)), (0xFF, 0xFF));
    assert_eq!((b(&rtc, 0x34), b(&rtc, 0x35)), (0x00, 0x1F), "496 MiB");
    assert_eq!([b(&rtc, 0x5B), b(&rtc, 0x5C), b(&rtc, 0x5D)], [0; 3]);
    // 0x80 + 0x02 + 0xFF + 0xFF = 0x280, high byte first.
    assert_eq!((b(&rtc, 0x2E), b(&rtc, 0x2F)), (0x02, 0x80));

    rtc.set_memory_size(16 * MIB);
    assert_eq!((b(&rtc, 0x17), b(&rtc, 0x18)), (0x00, 0x3C), "15 MiB");
    assert_eq!((b(&rtc, 0x34), b(&rtc, 0x35)), (0, 0));

    rtc.set_memory_size(8 * 1024 * MIB);
    assert_eq!((b(&rtc, 0x34), b(&rtc, 0x35)), (0x00, 0xDF));
    // 4.5 GiB above 4 GiB = 0x12000 units of 64 KiB.
    assert_eq!(
        [b(&rtc, 0x5B), b(&rtc, 0x5C), b(&rtc, 0x5D)],
        [0x00, 0x20, 0x01]
    );

    rtc.set_memory_size(u64::MAX);
    assert_eq!([b(&rtc, 0x5B), b(&rtc, 0x5C), b(&rtc, 0x5D)], [0xFF; 3]);

    // The guest sees the same bytes through the ports.
    assert_eq!(get(&mut rtc, 0x35, 0), 0xDF);
}

#[test]
fn checksum_covers_0x10_to_0x2d_only() {
    let mut rtc = saturday_afternoon();
    rtc.set_nvram(CMOS_FLOPPY_TYPES, 0x40);
    rtc.set_nvram(CMOS_EQUIPMENT, 0x41);
    rtc.set_nvram(0x2D, 0xFF);
    rtc.set_nvram(0x0F, 0x77);
    rtc.set_nvram(CMOS_BOOT_FLAGS_2, 0x32);
    rtc.update_checksum();
    let sum = 0x40u16 + 0x41 + 0xFF;
    assert_eq!(rtc.nvram(CMOS_CHECKSUM_HIGH), (sum >> 8) as u8);
    assert_eq!(rtc.nvram(CMOS_CHECKSUM_LOW), sum as u8);
}

#[test]
fn nvram_accessors_leave_the_clock_registers_alone() {
    let mut rtc = saturday_afternoon();
    for i in [0x00, 0x05, 0x0A, 0x0B, 0x0C, 0x0D, 0x80, 0xFF] {
        rtc.set_nvram(i, 0xEE);
        assert_eq!(rtc.nvram(i), 0xFF);
    }
    rtc.set_nvram(CMOS_CENTURY, 0x19);
    assert_eq!(rtc.nvram(CMOS_CENTURY), 0x20);
    assert_eq!(
        time(&mut rtc, 0),
        [0x56, 0x45, 0x13, 0x07, 0x09, 0x03, 0x24, 0x20]
    );
    assert_eq!(get(&mut rtc, RTC_REGISTER_B, 0), REG_B_24_12);
    rtc.set_nvram(0x7F, 0x12);
    assert_eq!(rtc.nvram(0x7F), 0x12);
}

#[test]
fn absurd_host_times_and_base_times_do_not_panic() {
    for (base, t0) in [(0, 0), (u64::MAX, 0), (0, u64::MAX), (u64::MAX, u64::MAX)] {
        let mut rtc = CmosRtc::new(base, t0);
        put(
            &mut rtc,
            RTC_REGISTER_B,
            REG_B_PIE | REG_B_AIE | REG_B_UIE,
            t0,
        );
        for t in [0, t0, u64::MAX / 2, u64::MAX] {
            let _ = time(&mut rtc, t);
            let _ = rtc.irq_level(t);
            let _ = rtc.next_event_ns(t);
            let _ = get(&mut rtc, RTC_REGISTER_A, t);
        }
    }
}

#[test]
fn host_time_going_backwards_is_taken_as_no_time_passing() {
    let mut rtc = saturday_afternoon();
    assert_eq!(get(&mut rtc, RTC_SECONDS, 3 * SEC), 0x59);
    assert_eq!(get(&mut rtc, RTC_SECONDS, SEC), 0x59);
}

struct FakeClock(Cell<u64>);
impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

#[test]
fn port_adapter_maps_offsets_0_and_1_and_splits_wide_accesses() {
    let rtc = Rc::new(RefCell::new(saturday_afternoon()));
    let clock = Rc::new(FakeClock(Cell::new(0)));
    let mut bus = PortIoBus::default();
    bus.register(
        CMOS_INDEX_PORT,
        CMOS_PORT_COUNT,
        Box::new(CmosPorts::new(rtc.clone(), clock.clone())),
    )
    .unwrap();
    bus.write(0x70, 1, u32::from(RTC_SECONDS));
    assert_eq!(bus.read(0x71, 1), 0x56);
    clock.0.set(2 * SEC);
    assert_eq!(bus.read(0x71, 1), 0x58);
    // A 16-bit write sets the index and then writes the data byte.
    bus.write(0x70, 2, 0x5A40);
    assert_eq!(rtc.borrow().nvram(0x40), 0x5A);
    assert_eq!(bus.read(0x70, 2), 0x5AFF);
    assert_eq!(bus.read(0x71, 4), 0xFFFF_FF5A);
    bus.write(0x70, 1, u32::from(NMI_DISABLE));
    assert!(rtc.borrow().nmi_disabled());
}

/// Checks that time bytes hold a valid time in the current mode.
fn assert_valid_time(rtc: &mut CmosRtc, now: u64) {
    let b = get(rtc, RTC_REGISTER_B, now);
    let dec = |v: u8| {
        if b & REG_B_DM != 0 {
            v
        } else {
            assert!(is_bcd(v), "bad BCD {v:#x}");
            (v >> 4) * 10 + (v & 0xF)
        }
    };
    let [s, m, h, dow, dom, mo, y, c] = time(rtc, now);
    assert!(dec(s) < 60 && dec(m) < 60);
    if b & REG_B_24_12 != 0 {
        assert!(dec(h) < 24);
    } else {
        assert!((1..=12).contains(&dec(h & !HOURS_PM)));
    }
    assert!((1..=7).contains(&dec(dow)));
    assert!((1..=31).contains(&dec(dom)) && (1..=12).contains(&dec(mo)));
    assert!(dec(y) < 100 && dec(c) < 100);
}

#[test]
fn random_register_traffic_never_panics_and_keeps_invariants() {
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut rtc = saturday_afternoon();
    let mut now: u64 = 0;
    for _ in 0..20_000 {
        let r = next();
        now = match r % 16 {
            0 => now.saturating_add(next() % (3 * SEC)),
            1 => now.saturating_sub(next() % SEC), // backwards: ignored
            2 => now.saturating_add(next() % (100_000 * SEC)),
            _ => now.saturating_add(next() % (2 * MS)),
        };
        let value = (r >> 8) as u8;
        // Favour the clock registers.
        let index = if r & 0x10000 != 0 {
            (r >> 24) as u8 % 0x0E
        } else {
            (r >> 24) as u8
        };
        match (r >> 32) % 6 {
            0 => rtc.write(CMOS_INDEX_PORT, index, now),
            1 => {
                rtc.write(CMOS_INDEX_PORT, index, now);
                rtc.write(CMOS_DATA_PORT, value, now);
            }
            2 => {
                rtc.write(CMOS_INDEX_PORT, index, now);
                let _ = rtc.read(CMOS_DATA_PORT, now);
            }
            3 => rtc.set_nvram(index, value),
            4 => rtc.set_memory_size(next()),
            _ => {
                let _ = rtc.read((r >> 40) as u16, now);
            }
        }
        // Invariants.
        assert_eq!(get(&mut rtc, RTC_REGISTER_D, now), REG_D_VRT);
        if let Some(t) = rtc.next_event_ns(now) {
            assert!(t >= now);
        }
        let level = rtc.irq_level(now);
        let b = get(&mut rtc, RTC_REGISTER_B, now);
        if next() % 4 == 0 {
            let c = get(&mut rtc, RTC_REGISTER_C, now);
            assert_eq!(c & 0x0F, 0);
            assert_eq!(c & REG_C_IRQF != 0, level);
            assert_eq!(level, c & b & (REG_C_PF | REG_C_AF | REG_C_UF) != 0);
            assert!(!rtc.irq_level(now));
        }
        if b & REG_B_SET == 0
            && get(&mut rtc, RTC_REGISTER_A, now) & REG_A_DV_RESET != REG_A_DV_RESET
        {
            assert_valid_time(&mut rtc, now);
        }
    }
}

#[test]
fn reset_pin_clears_interrupt_enables_and_flags_and_keeps_time_and_ram() {
    let mut rtc = saturday_afternoon();
    let b = REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE | REG_B_DM | REG_B_24_12;
    put(&mut rtc, RTC_REGISTER_B, b, 0);
    put(&mut rtc, 0x40, 0x5A, 0);
    assert!(rtc.irq_level(2 * SEC), "periodic and update-ended pending");
    rtc.reset(2 * SEC);
    assert!(!rtc.irq_level(2 * SEC), "IRQ8 low after RESET");
    assert_eq!(
        get(&mut rtc, RTC_REGISTER_B, 2 * SEC),
        REG_B_DM | REG_B_24_12
    );
    assert_eq!(get(&mut rtc, RTC_REGISTER_C, 2 * SEC), 0);
    assert_eq!(get(&mut rtc, RTC_REGISTER_A, 2 * SEC), 0x26);
    assert_eq!(get(&mut rtc, 0x40, 2 * SEC), 0x5A, "RAM kept");
    // The clock ran on through the reset, in the mode the guest chose.
    assert_eq!(get(&mut rtc, RTC_SECONDS, 2 * SEC), 58);
    assert_eq!(rtc.next_event_ns(2 * SEC), None, "no source enabled");
    assert!(!rtc.irq_level(10 * SEC));
}
