//! A guest that writes anything anywhere: every MMIO offset with every size
//! and random values, every x2APIC MSR, random IA32_APIC_BASE values, extreme
//! timer settings and clock values. Nothing may panic (the profile has
//! overflow checks on), and the invariants the hypervisor relies on hold.

use super::*;
use crate::Clock;
use alloc::rc::Rc;
use core::cell::Cell;
use test_rng::XorShift;

struct FakeClock(Cell<u64>);

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

const SIZES: [u8; 4] = [1, 2, 4, 8];

fn apic(now: u64) -> (LocalApic, Rc<FakeClock>) {
    let clock = Rc::new(FakeClock(Cell::new(now)));
    (LocalApic::new(7, true, clock.clone()), clock)
}

/// The invariants every step keeps.
fn check(a: &mut LocalApic) {
    let has = a.has_interrupt();
    if !a.is_enabled() {
        assert!(!has && a.pic_interrupts_pass());
    }
    assert!(a
        .take_ipi()
        .is_none_or(|ipi| ipi.shorthand != Shorthand::SelfOnly));
    while a.take_eoi_broadcast().is_some() {}
    let _ = a.take_nmi();
}

/// Random values biased towards the interesting ones.
fn value(rng: &mut XorShift) -> u64 {
    match rng.below(6) {
        0 => 0,
        1 => u64::MAX,
        2 => rng.next() & 0xFFFF_FFFF,
        3 => 1 << rng.below(64),
        _ => rng.next(),
    }
}

#[test]
fn every_mmio_offset_and_size_with_random_values_never_panics() {
    let mut rng = XorShift::per_run(
        "every_mmio_offset_and_size_with_random_values_never_panics",
        0x1A71C,
    );
    let (mut a, clock) = apic(0);
    a.program_virtual_wire();
    for round in 0..4u64 {
        for offset in 0..0x1000u64 {
            for size in SIZES {
                let read = a.mmio_read(offset, size);
                if size < 8 {
                    assert_eq!(read >> (u32::from(size) * 8), 0, "read {offset:#x}/{size}");
                }
                a.mmio_write(offset, size, value(&mut rng));
                // Keep the APIC software-enabled most of the time so the
                // LVTs and timer paths run.
                if rng.below(8) == 0 {
                    a.mmio_write(u64::from(APIC_SVR), 4, 0x1FF);
                }
                clock.0.set(
                    clock
                        .0
                        .get()
                        .saturating_add(rng.below(1 << (round * 12 + 4))),
                );
                a.poll();
                a.deliver(rng.byte(), rng.below(2) == 0);
                if rng.below(4) == 0 {
                    if let Some(v) = a.acknowledge() {
                        assert!(v >= 16);
                    }
                }
                check(&mut a);
            }
        }
    }
}

#[test]
fn every_x2apic_msr_read_and_write_never_panics() {
    let mut rng = XorShift::per_run("every_x2apic_msr_read_and_write_never_panics", 0x2A71C);
    let (mut a, clock) = apic(1_000);
    a.write_msr(
        IA32_APIC_BASE,
        APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD,
    )
    .unwrap();
    for _ in 0..16 {
        for msr in X2APIC_MSR_FIRST..=X2APIC_MSR_LAST + 1 {
            let _ = a.read_msr(msr);
            let _ = a.write_msr(msr, value(&mut rng));
            // Narrow values get past the reserved-bit checks.
            let _ = a.write_msr(msr, rng.next() & 0xFFFF_FFFF & !(1 << 13));
            let _ = a.write_msr(msr, rng.next() & 0xFF);
            a.write_msr(0x80F, 0x1FF).unwrap();
            clock.0.set(clock.0.get().saturating_add(rng.below(10_000)));
            a.poll();
            a.set_tsc_deadline(value(&mut rng), value(&mut rng), value(&mut rng));
            let _ = a.tsc_deadline();
            a.deliver(rng.byte(), rng.below(2) == 0);
            let _ = a.acknowledge();
            check(&mut a);
        }
        assert!(a.is_x2apic(), "no x2APIC register leaves x2APIC mode");
    }
}

#[test]
fn random_apic_base_writes_only_make_legal_transitions() {
    let mut rng = XorShift::per_run(
        "random_apic_base_writes_only_make_legal_transitions",
        0x3A71C,
    );
    let (mut a, _) = apic(0);
    let mut ok = 0;
    for _ in 0..20_000 {
        let before = a.apic_base();
        let bits = match rng.below(3) {
            0 => value(&mut rng),
            _ => APIC_DEFAULT_BASE | ((rng.next() & 3) << 10),
        };
        let result = a.write_msr(IA32_APIC_BASE, bits);
        let after = a.apic_base();
        let en = |b: u64| b & APIC_BASE_EN != 0;
        let extd = |b: u64| b & APIC_BASE_EXTD != 0;
        if result.is_ok() {
            ok += 1;
            assert!(en(after) || !extd(after), "invalid state {after:#x}");
            assert!(
                !(extd(before) && en(after) && !extd(after)),
                "x2APIC → xAPIC"
            );
            assert!(en(before) || !extd(after), "disabled → x2APIC");
            assert_eq!(after & APIC_BASE_BSP, APIC_BASE_BSP);
        } else {
            assert_eq!(after, before, "a faulting write changes nothing");
        }
        let _ = a.mmio_read(u64::from(APIC_VERSION), 4);
        let _ = a.read_msr(0x802);
        check(&mut a);
    }
    assert!(ok > 1000);
}

#[test]
fn extreme_timer_settings_and_clock_values_never_panic() {
    for start in [0, 1, u64::MAX / 2, u64::MAX - 1_000_000, u64::MAX] {
        let (mut a, clock) = apic(start);
        a.mmio_write(u64::from(APIC_SVR), 4, 0x1FF);
        for mode in 0..4u64 {
            for divide in [0x0, 0xA, 0xB] {
                a.mmio_write(u64::from(APIC_LVT_TIMER), 4, (mode << 17) | 0x40);
                a.mmio_write(u64::from(APIC_TIMER_DIVIDE), 4, divide);
                a.mmio_write(u64::from(APIC_TIMER_INITIAL_COUNT), 4, 0xFFFF_FFFF);
                a.set_tsc_deadline(u64::MAX, 0, 1);
                a.set_tsc_deadline(u64::MAX, 0, 0);
                a.set_tsc_deadline(1, u64::MAX, u64::MAX);
                for step in [0, 1, 1 << 20, 1 << 40, u64::MAX] {
                    clock.0.set(clock.0.get().saturating_add(step));
                    let _ = a.mmio_read(u64::from(APIC_TIMER_CURRENT_COUNT), 4);
                    a.mmio_write(u64::from(APIC_TIMER_DIVIDE), 4, 0xB ^ divide);
                    a.poll();
                    if let Some(d) = a.next_deadline_ns() {
                        if clock.0.get() < u64::MAX {
                            assert!(d > clock.0.get() || mode == 2, "a polled timer is not due");
                        }
                    }
                    let _ = a.acknowledge();
                    check(&mut a);
                }
                clock.0.set(start);
            }
        }
    }
}

#[test]
fn icr_flood_with_random_commands_stays_bounded() {
    let mut rng = XorShift::per_run("icr_flood_with_random_commands_stays_bounded", 0x4A71C);
    let (mut a, _) = apic(0);
    a.mmio_write(u64::from(APIC_SVR), 4, 0x1FF);
    for _ in 0..10_000 {
        a.mmio_write(u64::from(APIC_ICR_HIGH), 4, rng.next());
        a.mmio_write(u64::from(APIC_ICR_LOW), 4, rng.next());
    }
    let mut n = 0;
    while let Some(ipi) = a.take_ipi() {
        n += 1;
        assert_ne!(ipi.shorthand, Shorthand::SelfOnly);
        assert_ne!(ipi.mode, DeliveryMode::ExtInt);
        if matches!(ipi.mode, DeliveryMode::Fixed | DeliveryMode::LowestPriority) {
            assert!(ipi.vector >= 16);
        }
        assert!(ipi.destination <= 0xFF, "xAPIC destinations are 8 bits");
    }
    assert!(n <= MAX_QUEUED_IPIS);
}
