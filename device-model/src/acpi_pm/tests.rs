//! Tests of `acpi_pm`.

use super::timer::{ns_of_tick, ticks};
use super::*;
use crate::bus::PortIoBus;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// A clock the test moves by hand.
pub(super) struct FakeClock(pub Cell<u64>);

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

/// An SCI line that records every level it is driven to.
#[derive(Clone, Default)]
pub(super) struct Sci(pub Rc<RefCell<Vec<bool>>>);

impl IrqLine for Sci {
    fn set_level(&self, high: bool) {
        self.0.borrow_mut().push(high);
    }
}

impl Sci {
    /// The level last driven (low if never driven).
    fn level(&self) -> bool {
        self.0.borrow().last().copied().unwrap_or(false)
    }

    fn changes(&self) -> usize {
        self.0.borrow().len()
    }
}

/// A device whose clock started at `start_ns`, its clock and SCI.
pub(super) fn device_at(start_ns: u64) -> (AcpiPm, Rc<FakeClock>, Sci) {
    let clock = Rc::new(FakeClock(Cell::new(start_ns)));
    let sci = Sci::default();
    let pm = AcpiPm::new(clock.clone(), Box::new(sci.clone()));
    (pm, clock, sci)
}

fn device() -> (AcpiPm, Rc<FakeClock>, Sci) {
    device_at(1_000_000_007)
}

/// Nanoseconds from the start at which the timer reads `tick` ticks.
fn at_tick(clock: &FakeClock, start: u64, tick: u64) {
    clock.0.set(start + ns_of_tick(tick));
}

const START: u64 = 1_000_000_007;
/// Ticks between two changes of the timer's top bit.
const HALF_PERIOD: u64 = 1 << 23;

#[test]
fn offsets_follow_pc_layout() {
    assert_eq!(ACPI_PM_BASE + PM1_STS, pc_layout::ports::ACPI_PM1A_EVT);
    assert_eq!(ACPI_PM_BASE + PM1_EN, pc_layout::ports::ACPI_PM1A_EVT + 2);
    assert_eq!(ACPI_PM_BASE + PM1_CNT, pc_layout::ports::ACPI_PM1A_CNT);
    assert_eq!(ACPI_PM_BASE + PM_TMR, pc_layout::ports::ACPI_PM_TIMER);
    assert_eq!((PM1_STS, PM1_EN, PM1_CNT, PM_TMR), (0, 2, 4, 8));
    assert_eq!(ACPI_PM_LEN, 0x10);
}

#[test]
fn reset_values() {
    let (mut pm, _, sci) = device();
    assert_eq!(pm.read(PM1_STS, 2), 0);
    assert_eq!(pm.read(PM1_EN, 2), 0);
    assert_eq!(
        pm.read(PM1_CNT, 2),
        u32::from(SCI_EN),
        "always in ACPI mode"
    );
    assert_eq!(pm.read(PM_TMR, 4), 0);
    assert_eq!(pm.read(6, 2), 0xFFFF, "nothing at 6-7");
    assert_eq!(pm.read(0xC, 4), 0xFFFF_FFFF, "nothing at C-F");
    assert_eq!(sci.changes(), 0, "the SCI is not driven until it changes");
    assert_eq!(pm.next_deadline_ns(), None);
}

#[test]
fn the_timer_counts_at_3_579545_mhz_exactly() {
    let (mut pm, clock, _) = device();
    // (ns since start, expected ticks = floor(ns × 3579545 / 10^9))
    let cases = [
        (0u64, 0u32),
        (279, 0), // 1 tick is 279.365... ns
        (280, 1),
        (1_000, 3),
        (1_000_000, 3_579),
        (1_000_000_000, 3_579_545),
        (2_000_000_000, 7_159_090),
        (2_343_000_000, 8_386_873),
        // 2^24 ticks = 4.686...s: the counter wraps.
        (4_686_000_000, 16_773_747),
        (4_687_000_000, 111),
        (10_000_000_000, 2_241_018),
        (3_600_000_000_000, 1_460_112),
    ];
    for (ns, expected) in cases {
        clock.0.set(START + ns);
        assert_eq!(pm.read(PM_TMR, 4), expected, "{ns} ns");
        assert_eq!(pm.timer_count(), pm.read(PM_TMR, 4));
    }
}

#[test]
fn the_timer_wraps_at_24_bits_with_no_drift() {
    let (mut pm, clock, _) = device();
    for wrap in [1u64, 2, 1000, 1_000_000] {
        let last = wrap * (1 << 24) - 1;
        at_tick(&clock, START, last);
        assert_eq!(pm.read(PM_TMR, 4), 0xFF_FFFF, "wrap {wrap}");
        at_tick(&clock, START, last + 1);
        assert_eq!(pm.read(PM_TMR, 4), 0, "wrap {wrap}");
        // One nanosecond before the tick, still the previous count.
        clock.0.set(clock.0.get() - 1);
        assert_eq!(pm.read(PM_TMR, 4), 0xFF_FFFF, "wrap {wrap}");
    }
    // A day of nanoseconds later, still exact.
    let day = 86_400_000_000_000u64;
    clock.0.set(START + day);
    assert_eq!(
        u64::from(pm.read(PM_TMR, 4)),
        (day / 1_000_000_000 * 3_579_545) % (1 << 24)
    );
}

#[test]
fn timer_reads_of_every_width_see_one_sample() {
    let (mut pm, clock, _) = device();
    at_tick(&clock, START, 0x12_3456);
    assert_eq!(pm.read(PM_TMR, 4), 0x0012_3456);
    assert_eq!(pm.read(PM_TMR, 2), 0x3456);
    assert_eq!(pm.read(PM_TMR + 1, 2), 0x1234);
    assert_eq!(pm.read(PM_TMR + 2, 1), 0x12);
    assert_eq!(pm.read(PM_TMR + 3, 1), 0x00, "bits 31:24 read 0");
    // Writes are ignored.
    pm.write(PM_TMR, 4, 0);
    assert_eq!(pm.read(PM_TMR, 4), 0x0012_3456);
}

#[test]
fn tmr_sts_is_set_each_time_bit_23_changes() {
    let (mut pm, clock, sci) = device();
    at_tick(&clock, START, HALF_PERIOD - 1);
    assert_eq!(pm.read(PM1_STS, 2), 0);
    at_tick(&clock, START, HALF_PERIOD);
    assert_eq!(pm.read(PM1_STS, 2), u32::from(TMR_STS), "bit 23 set");
    pm.write(PM1_STS, 2, u32::from(TMR_STS));
    assert_eq!(pm.read(PM1_STS, 2), 0, "write 1 to clear");
    at_tick(&clock, START, 2 * HALF_PERIOD - 1);
    assert_eq!(pm.read(PM1_STS, 2), 0);
    at_tick(&clock, START, 2 * HALF_PERIOD);
    assert_eq!(
        pm.read(PM1_STS, 2),
        u32::from(TMR_STS),
        "bit 23 cleared: wrap"
    );
    // Not enabled: no SCI.
    assert_eq!(sci.changes(), 0);
    // Several periods at once are one status bit.
    pm.write(PM1_STS, 2, 0xFFFF);
    at_tick(&clock, START, 10 * HALF_PERIOD + 5);
    assert_eq!(pm.read(PM1_STS, 2), u32::from(TMR_STS));
}

#[test]
fn a_change_before_the_clear_is_cleared_by_it() {
    let (mut pm, clock, _) = device();
    // The guest clears TMR_STS after the change without having read it.
    at_tick(&clock, START, HALF_PERIOD + 3);
    pm.write(PM1_STS, 2, u32::from(TMR_STS));
    assert_eq!(pm.read(PM1_STS, 2), 0);
}

#[test]
fn tmr_en_raises_the_sci_and_the_clear_lowers_it() {
    let (mut pm, clock, sci) = device();
    pm.write(PM1_EN, 2, u32::from(TMR_EN));
    assert_eq!(pm.read(PM1_EN, 2), u32::from(TMR_EN));
    let deadline = pm.next_deadline_ns().unwrap();
    // 2^23 ticks of 279.365... ns: 2.343484437... s, rounded up.
    assert_eq!(deadline, START + 2_343_484_438);
    assert_eq!(ticks(deadline - START), HALF_PERIOD);
    assert_eq!(ticks(deadline - START - 1), HALF_PERIOD - 1);

    clock.0.set(deadline - 1);
    pm.poll();
    assert!(!sci.level());
    clock.0.set(deadline);
    pm.poll();
    assert!(sci.level() && pm.sci_asserted());
    assert_eq!(*sci.0.borrow(), [true]);
    // Polling again, or a read, drives nothing new.
    pm.poll();
    let _ = pm.read(PM1_STS, 2);
    assert_eq!(sci.changes(), 1);
    // The next deadline is the following change.
    assert_eq!(
        pm.next_deadline_ns(),
        Some(START + ns_of_tick(2 * HALF_PERIOD))
    );
    pm.write(PM1_STS, 2, u32::from(TMR_STS));
    assert_eq!(*sci.0.borrow(), [true, false]);
    // Disabling the timer event: no deadline.
    pm.write(PM1_EN, 2, 0);
    assert_eq!(pm.next_deadline_ns(), None);
}

#[test]
fn a_deadline_missed_is_in_the_past() {
    let (mut pm, clock, sci) = device();
    pm.write(PM1_EN, 2, u32::from(TMR_EN));
    at_tick(&clock, START, 3 * HALF_PERIOD + 7);
    // Not yet polled: the first change not taken into account is due.
    assert_eq!(pm.next_deadline_ns(), Some(START + ns_of_tick(HALF_PERIOD)));
    pm.poll();
    assert!(sci.level());
    assert_eq!(
        pm.next_deadline_ns(),
        Some(START + ns_of_tick(4 * HALF_PERIOD))
    );
}

#[test]
fn enabling_with_the_status_already_set_raises_the_sci() {
    let (mut pm, clock, sci) = device();
    at_tick(&clock, START, HALF_PERIOD);
    pm.poll();
    assert!(!sci.level());
    pm.write(PM1_EN, 2, u32::from(TMR_EN));
    assert!(sci.level());
    pm.write(PM1_EN, 2, 0);
    assert!(!sci.level());
}

#[test]
fn the_power_button_raises_the_sci_until_cleared() {
    let (mut pm, _, sci) = device();
    pm.write(PM1_EN, 2, u32::from(PWRBTN_EN));
    pm.power_button();
    assert_eq!(pm.read(PM1_STS, 2), u32::from(PWRBTN_STS));
    assert!(sci.level());
    // Writing 0s or other bits clears nothing.
    pm.write(PM1_STS, 2, u32::from(TMR_STS));
    pm.write(PM1_STS, 1, 0xFF);
    assert_eq!(pm.read(PM1_STS, 2), u32::from(PWRBTN_STS));
    assert!(sci.level());
    // A second press while pending changes nothing.
    pm.power_button();
    assert_eq!(*sci.0.borrow(), [true]);
    // Byte write of 1 to bit 8 (byte 1, bit 0) clears it.
    pm.write(PM1_STS + 1, 1, 0x01);
    assert_eq!(pm.read(PM1_STS, 2), 0);
    assert_eq!(*sci.0.borrow(), [true, false]);
}

#[test]
fn a_press_while_disabled_waits_for_the_enable() {
    let (mut pm, _, sci) = device();
    pm.power_button();
    assert!(!sci.level());
    assert_eq!(pm.read(PM1_STS, 2), u32::from(PWRBTN_STS));
    pm.write(PM1_EN + 1, 1, 0x01);
    assert_eq!(pm.read(PM1_EN, 2), u32::from(PWRBTN_EN));
    assert!(sci.level());
}

#[test]
fn sci_en_gates_the_sci() {
    let (mut pm, _, sci) = device();
    pm.write(PM1_EN, 2, u32::from(PWRBTN_EN | TMR_EN));
    pm.write(PM1_CNT, 2, 0);
    assert_eq!(pm.read(PM1_CNT, 2), 0);
    pm.power_button();
    assert!(!sci.level(), "SCI_EN clear: no SCI");
    pm.write(PM1_CNT, 2, u32::from(SCI_EN));
    assert!(sci.level());
    pm.write(PM1_CNT, 1, 0);
    assert!(!sci.level());
    assert_eq!(*sci.0.borrow(), [true, false]);
}

#[test]
fn registers_keep_only_their_bits() {
    let (mut pm, _, _) = device();
    pm.write(PM1_EN, 2, 0xFFFF);
    assert_eq!(
        pm.read(PM1_EN, 2),
        u32::from(TMR_EN | PWRBTN_EN | GBL_EN | RTC_EN)
    );
    pm.write(PM1_CNT, 2, 0xFFFF & !u32::from(SLP_EN));
    assert_eq!(pm.read(PM1_CNT, 2), u32::from(SCI_EN | SLP_TYP_MASK));
    pm.write(PM1_CNT, 2, 0);
    assert_eq!(pm.read(PM1_CNT, 2), 0);
    assert_eq!(pm.take_sleep_request(), None);
}

#[test]
fn dword_access_at_0_reaches_status_and_enable() {
    let (mut pm, _, sci) = device();
    pm.power_button();
    pm.write(PM1_STS, 4, u32::from(PWRBTN_EN) << 16);
    assert_eq!(
        pm.read(PM1_STS, 4),
        (u32::from(PWRBTN_EN) << 16) | u32::from(PWRBTN_STS)
    );
    assert!(sci.level());
    // Clear the status and keep the enable in one write.
    pm.write(
        PM1_STS,
        4,
        (u32::from(PWRBTN_EN) << 16) | u32::from(PWRBTN_STS),
    );
    assert_eq!(pm.read(PM1_STS, 4), u32::from(PWRBTN_EN) << 16);
    assert!(!sci.level());
}

#[test]
fn slp_en_with_the_s5_type_asks_for_soft_off() {
    let (mut pm, _, _) = device();
    let typ = u32::from(pc_layout::acpi::S5_SLP_TYP) << SLP_TYP_SHIFT;
    // ACPICA: SLP_TYP first, then SLP_TYP | SLP_EN, SCI_EN preserved.
    pm.write(PM1_CNT, 2, typ | u32::from(SCI_EN));
    assert_eq!(pm.take_sleep_request(), None);
    pm.write(PM1_CNT, 2, typ | u32::from(SCI_EN | SLP_EN));
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::SoftOff));
    assert_eq!(pm.take_sleep_request(), None, "taken once");
    assert_eq!(
        pm.read(PM1_CNT, 2),
        typ | u32::from(SCI_EN),
        "SLP_EN reads 0"
    );
    assert_eq!(pm.read(PM1_STS, 2) & u32::from(WAK_STS), 0);
    // A byte write of the high half carries SLP_TYP and SLP_EN together.
    pm.write(PM1_CNT + 1, 1, (typ | u32::from(SLP_EN)) >> 8);
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::SoftOff));
    // A byte write of the low half has no SLP_EN.
    pm.write(PM1_CNT, 1, 0xFF);
    assert_eq!(pm.take_sleep_request(), None);
}

#[test]
fn other_sleep_types_are_unsupported_and_wake_at_once() {
    let (mut pm, _, sci) = device();
    pm.write(PM1_EN, 2, u32::from(TMR_EN | PWRBTN_EN));
    for typ in 0u8..8 {
        if typ == pc_layout::acpi::S5_SLP_TYP {
            continue;
        }
        pm.write(PM1_STS, 2, u32::from(WAK_STS));
        pm.write(
            PM1_CNT,
            2,
            (u32::from(typ) << SLP_TYP_SHIFT) | u32::from(SCI_EN | SLP_EN),
        );
        assert_eq!(
            pm.take_sleep_request(),
            Some(SleepRequest::Unsupported(typ))
        );
        assert_eq!(pm.read(PM1_STS, 2), u32::from(WAK_STS), "woken: typ {typ}");
        // WAK_STS has no enable: no SCI.
        assert!(!sci.level());
        pm.write(PM1_STS, 2, u32::from(WAK_STS));
        assert_eq!(pm.read(PM1_STS, 2), 0);
    }
}

#[test]
fn soft_off_is_not_overwritten_by_a_later_request() {
    let (mut pm, _, _) = device();
    pm.write(PM1_CNT, 2, u32::from(SLP_EN));
    pm.write(PM1_CNT, 2, (3 << SLP_TYP_SHIFT) | u32::from(SLP_EN));
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::SoftOff));
    pm.write(PM1_CNT, 2, (3 << SLP_TYP_SHIFT) | u32::from(SLP_EN));
    pm.write(PM1_CNT, 2, (5 << SLP_TYP_SHIFT) | u32::from(SLP_EN));
    assert_eq!(pm.take_sleep_request(), Some(SleepRequest::Unsupported(5)));
}

#[test]
fn reset_clears_the_registers_not_the_timer() {
    let (mut pm, clock, sci) = device();
    pm.write(PM1_EN, 2, u32::from(TMR_EN | PWRBTN_EN));
    pm.power_button();
    pm.write(
        PM1_CNT,
        2,
        (3 << SLP_TYP_SHIFT) | u32::from(SCI_EN | SLP_EN),
    );
    at_tick(&clock, START, HALF_PERIOD + 100);
    assert!(sci.level());
    pm.reset();
    assert!(!sci.level());
    assert_eq!(
        pm.read(PM1_STS, 2),
        0,
        "the change before reset is forgotten"
    );
    assert_eq!(pm.read(PM1_EN, 2), 0);
    assert_eq!(pm.read(PM1_CNT, 2), u32::from(SCI_EN));
    assert_eq!(pm.take_sleep_request(), None);
    assert_eq!(pm.read(PM_TMR, 4), (HALF_PERIOD + 100) as u32);
    at_tick(&clock, START, 2 * HALF_PERIOD);
    assert_eq!(pm.read(PM1_STS, 2), u32::from(TMR_STS));
}

#[test]
fn on_the_port_bus_at_0x600() {
    let (pm, clock, sci) = device();
    let pm = Rc::new(RefCell::new(pm));
    let mut bus = PortIoBus::default();
    bus.register(ACPI_PM_BASE, ACPI_PM_LEN, Box::new(pm.clone()))
        .unwrap();
    at_tick(&clock, START, 0xAB_CDEF);
    assert_eq!(bus.read(pc_layout::ports::ACPI_PM_TIMER, 4), 0x00AB_CDEF);
    bus.write(pc_layout::ports::ACPI_PM1A_EVT + 2, 2, u32::from(PWRBTN_EN));
    pm.borrow_mut().power_button();
    assert!(sci.level());
    bus.write(pc_layout::ports::ACPI_PM1A_EVT, 2, u32::from(PWRBTN_STS));
    assert!(!sci.level());
    bus.write(
        pc_layout::ports::ACPI_PM1A_CNT,
        2,
        u32::from(SCI_EN | SLP_EN),
    );
    assert_eq!(
        pm.borrow_mut().take_sleep_request(),
        Some(SleepRequest::SoftOff)
    );
}

#[test]
fn a_clock_starting_anywhere_works() {
    for start in [0u64, 1, u64::MAX / 2, u64::MAX - 10_000_000_000] {
        let (mut pm, clock, _) = device_at(start);
        clock.0.set(start + 1_000_000_000);
        assert_eq!(pm.read(PM_TMR, 4), 3_579_545, "start {start}");
        pm.write(PM1_EN, 2, u32::from(TMR_EN));
        assert_eq!(pm.next_deadline_ns(), Some(start + ns_of_tick(HALF_PERIOD)));
    }
}

#[test]
fn the_global_lock_and_rtc_enables_read_back_as_an_os_checks_them() {
    let (mut pm, _, _) = device();
    pm.write(PM1_EN, 2, u32::from(GBL_EN | RTC_EN | 0x0200));
    assert_eq!(pm.read(PM1_EN, 2), u32::from(GBL_EN | RTC_EN));
}
