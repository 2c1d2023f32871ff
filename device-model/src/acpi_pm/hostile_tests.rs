//! A guest doing anything it likes to the power-management ports: every
//! offset, size and value, with time jumping around. Nothing panics, the
//! registers keep only their bits, the timer stays 24 bits, and the SCI
//! line always matches the registers.

use super::tests::device_at;
use super::*;
use test_rng::XorShift;

/// What the SCI must be, read back through the registers.
fn expected_sci(pm: &mut AcpiPm) -> bool {
    let sts = pm.read(PM1_STS, 2) as u16;
    let en = pm.read(PM1_EN, 2) as u16;
    let cnt = pm.read(PM1_CNT, 2) as u16;
    cnt & SCI_EN != 0 && sts & en & (TMR_STS | PWRBTN_STS) != 0
}

fn check_well_formed(pm: &mut AcpiPm, what: &str) {
    assert_eq!(
        pm.read(PM1_STS, 2) as u16 & !(TMR_STS | PWRBTN_STS | WAK_STS),
        0,
        "{what}"
    );
    assert_eq!(
        pm.read(PM1_EN, 2) as u16 & !(TMR_EN | PWRBTN_EN | GBL_EN | RTC_EN),
        0,
        "{what}"
    );
    assert_eq!(
        pm.read(PM1_CNT, 2) as u16 & !(SCI_EN | SLP_TYP_MASK),
        0,
        "{what}"
    );
    assert_eq!(pm.read(PM_TMR, 4) >> 24, 0, "{what}");
    let expected = expected_sci(pm);
    assert_eq!(pm.sci_asserted(), expected, "{what}");
}

/// Every offset (and beyond the range), every size (even ones the bus never
/// sends), a spread of values.
#[test]
fn every_offset_size_and_value_never_panics() {
    let (mut pm, clock, sci) = device_at(5);
    let values = [
        0u32,
        1,
        0xFF,
        0x100,
        0x2000,
        0x3C00,
        0xFFFF,
        0x0001_0000,
        0xFFFF_FFFF,
        0xDEAD_BEEF,
    ];
    for offset in 0..=0x20u16 {
        for size in [0u8, 1, 2, 3, 4, 5, 8, 255] {
            for value in values {
                let _ = pm.read(offset, size);
                pm.write(offset, size, value);
                let _ = pm.take_sleep_request();
                clock.0.set(clock.0.get() + 1_234_567);
                pm.poll();
                check_well_formed(&mut pm, &alloc::format!("{offset:#x}/{size} = {value:#x}"));
                assert_eq!(
                    sci.0.borrow().last().copied().unwrap_or(false),
                    pm.sci_asserted()
                );
            }
        }
    }
    for offset in [0xFFF0u16, 0xFFFC, 0xFFFE, 0xFFFF] {
        for size in [1u8, 2, 4] {
            assert_eq!(pm.read(offset, size), crate::bus::all_ones(size));
            pm.write(offset, size, 0xFFFF_FFFF);
        }
    }
}

/// Every 16-bit value to each register, in both byte orders of writing.
#[test]
fn every_word_to_every_register() {
    let (mut pm, clock, _) = device_at(0);
    for register in [PM1_STS, PM1_EN, PM1_CNT, PM_TMR] {
        for value in 0..=0xFFFFu32 {
            pm.write(register, 2, value);
            pm.write(register + 1, 1, value >> 8);
            pm.write(register, 1, value);
            if value % 4096 == 0 {
                clock.0.set(clock.0.get() + 987_654_321);
                check_well_formed(&mut pm, &alloc::format!("{register:#x} = {value:#x}"));
            }
            if let Some(SleepRequest::Unsupported(typ)) = pm.take_sleep_request() {
                assert!(typ < 8 && typ != pc_layout::acpi::S5_SLP_TYP);
            }
        }
    }
}

/// Random traffic with time going forward in steps small and huge: the
/// timer never goes backwards (modulo its wrap), the SCI line matches the
/// registers after every step, and the line is only driven on changes.
#[test]
fn random_traffic_keeps_the_invariants() {
    let mut rng = XorShift::per_run(
        "acpi_pm_random_traffic_keeps_the_invariants",
        0x0600_3579_545A_C919,
    );
    let (mut pm, clock, sci) = device_at(rng.next() >> 2);
    let mut last_ticks = 0u64;
    for step in 0..200_000 {
        match rng.below(8) {
            0 => clock
                .0
                .set(clock.0.get().saturating_add(rng.below(1 << 20))),
            1 => clock
                .0
                .set(clock.0.get().saturating_add(rng.below(10_000_000_000))),
            2 => pm.power_button(),
            3 => pm.poll(),
            4 => {
                let _ = pm.read(rng.below(0x12) as u16, [1u8, 2, 4][rng.below(3) as usize]);
            }
            5 => {
                // Enables and SCI_EN mostly, sometimes anything.
                let (offset, value) = match rng.below(3) {
                    0 => (PM1_EN, rng.next() as u32 & 0x0101),
                    1 => (PM1_STS, rng.next() as u32),
                    _ => (rng.below(0x12) as u16, rng.next() as u32),
                };
                pm.write(offset, [1u8, 2, 4][rng.below(3) as usize], value);
            }
            6 => {
                let _ = pm.take_sleep_request();
            }
            _ => {
                if rng.below(100) == 0 {
                    pm.reset();
                }
            }
        }
        let count = u64::from(pm.timer_count());
        let now_ticks = timer::ticks(clock.0.get() - pm.start_ns);
        assert_eq!(count, now_ticks & 0xFF_FFFF, "step {step}");
        assert!(now_ticks >= last_ticks, "step {step}");
        last_ticks = now_ticks;
        assert_eq!(
            sci.0.borrow().last().copied().unwrap_or(false),
            pm.sci_asserted(),
            "step {step}"
        );
        let driven = sci.0.borrow();
        if driven.len() >= 2 {
            assert_ne!(
                driven[driven.len() - 1],
                driven[driven.len() - 2],
                "step {step}"
            );
        }
        drop(driven);
        if let Some(deadline) = pm.next_deadline_ns() {
            assert!(deadline > pm.start_ns, "step {step}");
        }
    }
    check_well_formed(&mut pm, "end");
}
