//! Tests of `lapic`: registers, priorities, timer modes, virtual wire, the
//! x2APIC interface and IPIs, each against the SDM section it follows.

use super::*;
use crate::Clock;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::Cell;

struct FakeClock(Cell<u64>);

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

impl FakeClock {
    fn set(&self, ns: u64) {
        self.0.set(ns);
    }
}

fn apic_with_id(id: u32, bsp: bool) -> (LocalApic, Rc<FakeClock>) {
    let clock = Rc::new(FakeClock(Cell::new(0)));
    (LocalApic::new(id, bsp, clock.clone()), clock)
}

/// The BSP's APIC (ID 0) at time 0, xAPIC mode, as after reset.
fn apic() -> (LocalApic, Rc<FakeClock>) {
    apic_with_id(0, true)
}

/// The BSP's APIC, software-enabled with spurious vector FFh.
fn enabled_apic() -> (LocalApic, Rc<FakeClock>) {
    let (mut a, c) = apic();
    wr(&mut a, APIC_SVR, SVR_APIC_ENABLED | 0xFF);
    (a, c)
}

fn rd(a: &mut LocalApic, offset: u32) -> u32 {
    a.mmio_read(u64::from(offset), 4) as u32
}

fn wr(a: &mut LocalApic, offset: u32, value: u32) {
    a.mmio_write(u64::from(offset), 4, u64::from(value));
}

fn irr_has(a: &mut LocalApic, vector: u8) -> bool {
    let word = rd(a, APIC_IRR + u32::from(vector / 32) * 0x10);
    word & (1 << (vector % 32)) != 0
}

fn isr_has(a: &mut LocalApic, vector: u8) -> bool {
    let word = rd(a, APIC_ISR + u32::from(vector / 32) * 0x10);
    word & (1 << (vector % 32)) != 0
}

fn tmr_has(a: &mut LocalApic, vector: u8) -> bool {
    let word = rd(a, APIC_TMR + u32::from(vector / 32) * 0x10);
    word & (1 << (vector % 32)) != 0
}

fn ipis(a: &mut LocalApic) -> Vec<Ipi> {
    core::iter::from_fn(|| a.take_ipi()).collect()
}

fn to_x2apic(a: &mut LocalApic) {
    a.write_msr(
        IA32_APIC_BASE,
        APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD,
    )
    .unwrap();
}

// ---- Power-on state (11.4.7.1) ----

#[test]
fn power_on_state_is_enabled_xapic_with_everything_masked() {
    let (mut a, _) = apic_with_id(5, true);
    assert_eq!(a.apic_base(), 0xFEE0_0000 | APIC_BASE_EN | APIC_BASE_BSP);
    assert!(a.is_enabled() && !a.is_x2apic() && !a.is_software_enabled());
    assert_eq!(a.id(), 5);
    assert_eq!(rd(&mut a, APIC_ID), 5 << 24);
    assert_eq!(rd(&mut a, APIC_VERSION), 0x0005_0014);
    assert_eq!(rd(&mut a, APIC_SVR), 0xFF);
    assert_eq!(rd(&mut a, APIC_DFR), 0xFFFF_FFFF);
    assert_eq!(rd(&mut a, APIC_LDR), 0);
    assert_eq!(rd(&mut a, APIC_TPR), 0);
    assert_eq!(rd(&mut a, APIC_PPR), 0);
    for offset in (APIC_LVT_TIMER..=APIC_LVT_ERROR).step_by(0x10) {
        assert_eq!(rd(&mut a, offset), LVT_MASKED, "LVT at {offset:#x}");
    }
    for i in 0..8 {
        assert_eq!(rd(&mut a, APIC_IRR + i * 0x10), 0);
        assert_eq!(rd(&mut a, APIC_ISR + i * 0x10), 0);
        assert_eq!(rd(&mut a, APIC_TMR + i * 0x10), 0);
    }
    assert_eq!(a.next_deadline_ns(), None);

    let (ap, _) = apic_with_id(1, false);
    assert_eq!(ap.apic_base(), 0xFEE0_0000 | APIC_BASE_EN);
}

#[test]
fn reset_returns_to_power_on_state_from_x2apic_mode() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_TPR, 0x30);
    a.deliver(0x40, false);
    to_x2apic(&mut a);
    a.reset();
    assert!(!a.is_x2apic());
    assert_eq!(rd(&mut a, APIC_TPR), 0);
    assert_eq!(rd(&mut a, APIC_SVR), 0xFF);
    assert!(!a.has_interrupt());
}

// ---- Register masks (11.4.1, Table 11-1 and each register's figure) ----

#[test]
fn writes_keep_only_writable_bits() {
    let (mut a, _) = enabled_apic();
    let cases = [
        (APIC_TPR, 0xFF),
        (APIC_LDR, 0xFF00_0000),
        (APIC_DFR, 0xFFFF_FFFF),
        (APIC_SVR, 0x3FF),
        (APIC_ICR_HIGH, 0xFF00_0000),
        (APIC_LVT_TIMER, 0x0007_00FF),
        (APIC_LVT_THERMAL, 0x0001_07FF),
        (APIC_LVT_PERF, 0x0001_07FF),
        (APIC_LVT_LINT0, 0x0001_A7FF),
        (APIC_LVT_LINT1, 0x0001_A7FF),
        (APIC_LVT_ERROR, 0x0001_00FF),
        (APIC_TIMER_DIVIDE, 0xB),
        (APIC_TIMER_INITIAL_COUNT, 0xFFFF_FFFF),
    ];
    for (offset, expected) in cases {
        wr(&mut a, offset, 0xFFFF_FFFF);
        assert_eq!(rd(&mut a, offset), expected, "register {offset:#x}");
        if offset != APIC_SVR {
            wr(&mut a, offset, 0);
        }
    }
    // DFR bits 27:0 always read as ones.
    wr(&mut a, APIC_DFR, 0);
    assert_eq!(rd(&mut a, APIC_DFR), 0x0FFF_FFFF);
    // ICR low: delivery status (bit 12) and reserved bits read 0. ExtINT
    // sends nothing.
    wr(&mut a, APIC_ICR_LOW, 0xFFFF_FFFF);
    assert_eq!(rd(&mut a, APIC_ICR_LOW), 0x000C_CFFF);
    assert!(a.take_ipi().is_none());
}

#[test]
fn read_only_registers_ignore_writes() {
    let (mut a, _) = enabled_apic();
    a.deliver(0x40, true);
    for offset in [
        APIC_ID,
        APIC_VERSION,
        APIC_PPR,
        APIC_APR,
        APIC_RRD,
        APIC_TIMER_CURRENT_COUNT,
    ] {
        let before = rd(&mut a, offset);
        wr(&mut a, offset, 0xFFFF_FFFF);
        assert_eq!(rd(&mut a, offset), before, "register {offset:#x}");
    }
    for bank in [APIC_ISR, APIC_TMR, APIC_IRR] {
        wr(&mut a, bank + 0x20, 0);
        wr(&mut a, bank + 0x30, 0xFFFF_FFFF);
    }
    assert!(irr_has(&mut a, 0x40) && tmr_has(&mut a, 0x40) && !isr_has(&mut a, 0x60));
}

#[test]
fn offsets_without_a_register_read_zero() {
    let (mut a, _) = enabled_apic();
    for offset in [
        0x000, 0x010, 0x040, 0x070, 0x290, 0x2F0, 0x3A0, 0x3F0, 0x400, 0xFF0,
    ] {
        wr(&mut a, offset, 0xFFFF_FFFF);
        assert_eq!(rd(&mut a, offset), 0, "offset {offset:#x}");
    }
    // EOI is write-only: it reads 0.
    assert_eq!(rd(&mut a, APIC_EOI), 0);
}

#[test]
fn narrow_and_misaligned_reads_see_the_containing_register() {
    let (mut a, _) = apic();
    assert_eq!(a.mmio_read(0x30, 1), 0x14);
    assert_eq!(a.mmio_read(0x32, 1), 0x05);
    assert_eq!(a.mmio_read(0x30, 2), 0x0014);
    assert_eq!(a.mmio_read(0x31, 2), 0x0500);
    assert_eq!(a.mmio_read(0x30, 8), 0x0005_0014);
    assert_eq!(a.mmio_read(0x34, 4), 0);
    assert_eq!(a.mmio_read(0x3C, 8), 0);
}

#[test]
fn narrow_and_misaligned_writes_are_dropped() {
    let (mut a, _) = apic();
    a.mmio_write(u64::from(APIC_TPR), 1, 0x20);
    a.mmio_write(u64::from(APIC_TPR), 2, 0x20);
    a.mmio_write(u64::from(APIC_TPR), 8, 0x20);
    a.mmio_write(u64::from(APIC_TPR) + 1, 4, 0x20);
    a.mmio_write(u64::from(APIC_TPR) + 4, 4, 0x20);
    assert_eq!(rd(&mut a, APIC_TPR), 0);
    a.mmio_write(u64::from(APIC_TPR), 4, 0x20);
    assert_eq!(rd(&mut a, APIC_TPR), 0x20);
}

#[test]
fn software_disable_masks_every_lvt_and_keeps_them_masked() {
    let (mut a, _) = apic();
    wr(&mut a, APIC_LVT_LINT0, 0x700);
    assert_eq!(rd(&mut a, APIC_LVT_LINT0), 0x10700, "disabled: mask stays");
    wr(&mut a, APIC_SVR, 0x1FF);
    wr(&mut a, APIC_LVT_LINT0, 0x700);
    wr(&mut a, APIC_LVT_ERROR, 0xFE);
    assert_eq!(rd(&mut a, APIC_LVT_LINT0), 0x700);
    wr(&mut a, APIC_SVR, 0xFF);
    assert_eq!(rd(&mut a, APIC_LVT_LINT0), 0x10700);
    assert_eq!(rd(&mut a, APIC_LVT_ERROR), 0x100FE);
}

#[test]
fn esr_latches_errors_on_write() {
    let (mut a, _) = enabled_apic();
    a.deliver(3, false);
    assert_eq!(rd(&mut a, APIC_ESR), 0, "not latched before a write");
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_RECEIVED_ILLEGAL_VECTOR);
    assert_eq!(
        rd(&mut a, APIC_ESR),
        ESR_RECEIVED_ILLEGAL_VECTOR,
        "reads do not clear"
    );
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), 0);
}

// ---- Acceptance, priority and EOI (11.8) ----

#[test]
fn illegal_vectors_set_esr_and_raise_the_error_lvt() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_LVT_ERROR, 0xFE);
    for v in 0..16 {
        a.deliver(v, false);
        assert!(!irr_has(&mut a, v));
    }
    assert!(irr_has(&mut a, 0xFE));
    assert_eq!(a.acknowledge(), Some(0xFE));
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_RECEIVED_ILLEGAL_VECTOR);
    // Sending one: "send illegal vector", nothing sent.
    wr(&mut a, APIC_ICR_LOW, 0x0004_0005);
    wr(&mut a, APIC_ICR_HIGH, 1 << 24);
    wr(&mut a, APIC_ICR_LOW, 0x0000_0007);
    assert!(a.take_ipi().is_none());
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_SEND_ILLEGAL_VECTOR);
}

#[test]
fn illegal_error_vector_does_not_recurse() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_LVT_ERROR, 0x02);
    a.deliver(1, false);
    assert!(!a.has_interrupt());
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_RECEIVED_ILLEGAL_VECTOR);
}

#[test]
fn tpr_gates_interrupts_by_priority_class() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_TPR, 0x50);
    a.deliver(0x5F, false);
    assert!(!a.has_interrupt(), "class 5 is not above TPR class 5");
    assert_eq!(a.acknowledge(), None);
    a.deliver(0x60, false);
    assert!(a.has_interrupt());
    assert_eq!(a.acknowledge(), Some(0x60));
    wr(&mut a, APIC_TPR, 0x4F);
    assert_eq!(
        rd(&mut a, APIC_PPR),
        0x60,
        "ISR class wins over a lower TPR"
    );
    assert!(!a.has_interrupt(), "0x5F below the in-service 0x60");
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(rd(&mut a, APIC_PPR), 0x4F);
    assert_eq!(a.acknowledge(), Some(0x5F));
}

#[test]
fn nested_vectors_go_irr_to_isr_and_eoi_ends_the_highest() {
    let (mut a, _) = enabled_apic();
    a.deliver(0x40, false);
    assert_eq!(a.acknowledge(), Some(0x40));
    assert!(isr_has(&mut a, 0x40) && !irr_has(&mut a, 0x40));
    a.deliver(0x41, false);
    assert!(!a.has_interrupt(), "same class as the one in service");
    a.deliver(0x80, false);
    assert_eq!(a.acknowledge(), Some(0x80), "higher class nests");
    assert_eq!(rd(&mut a, APIC_PPR), 0x80);
    a.deliver(0x90, false);
    a.deliver(0x70, false);
    assert_eq!(a.acknowledge(), Some(0x90));
    wr(&mut a, APIC_EOI, 0);
    assert!(!isr_has(&mut a, 0x90) && isr_has(&mut a, 0x80));
    assert!(!a.has_interrupt(), "0x70 is below 0x80 in service");
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.acknowledge(), Some(0x70));
    wr(&mut a, APIC_EOI, 0);
    assert!(!a.has_interrupt(), "0x41 same class as 0x40 in service");
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.acknowledge(), Some(0x41));
    wr(&mut a, APIC_EOI, 0);
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(rd(&mut a, APIC_PPR), 0);
    assert_eq!(a.take_eoi_broadcast(), None, "all edge-triggered");
}

#[test]
fn level_triggered_eoi_is_broadcast_once() {
    let (mut a, _) = enabled_apic();
    a.deliver(0x30, true);
    a.deliver(0x31, false);
    assert!(tmr_has(&mut a, 0x30) && !tmr_has(&mut a, 0x31));
    assert_eq!(a.acknowledge(), Some(0x31));
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.take_eoi_broadcast(), None);
    assert_eq!(a.acknowledge(), Some(0x30));
    wr(&mut a, APIC_EOI, 0);
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.take_eoi_broadcast(), Some(0x30));
    assert_eq!(a.take_eoi_broadcast(), None);
    // An edge delivery of the same vector clears its TMR bit.
    a.deliver(0x30, false);
    assert!(!tmr_has(&mut a, 0x30));
}

#[test]
fn eoi_broadcast_suppression_only_when_supported() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_SVR, 0x11FF);
    assert_eq!(rd(&mut a, APIC_SVR), 0x1FF, "bit 12 reserved");
    a.set_eoi_broadcast_suppression_supported(true);
    assert_eq!(rd(&mut a, APIC_VERSION), 0x0105_0014);
    wr(&mut a, APIC_SVR, 0x11FF);
    assert_eq!(rd(&mut a, APIC_SVR), 0x11FF);
    a.deliver(0x30, true);
    assert_eq!(a.acknowledge(), Some(0x30));
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.take_eoi_broadcast(), None, "suppressed");
    a.set_eoi_broadcast_suppression_supported(false);
    assert_eq!(rd(&mut a, APIC_SVR), 0x1FF);
}

#[test]
fn software_disabled_apic_holds_pending_but_accepts_no_new_fixed() {
    let (mut a, _) = enabled_apic();
    a.deliver(0x50, false);
    wr(&mut a, APIC_SVR, 0xFF);
    a.deliver(0x60, false);
    assert!(!irr_has(&mut a, 0x60));
    assert_eq!(a.acknowledge(), Some(0x50));
    a.deliver_nmi();
    assert!(a.take_nmi(), "NMIs still accepted");
}

#[test]
fn globally_disabled_apic_is_not_decoded_and_lets_the_pic_through() {
    let (mut a, _) = enabled_apic();
    a.deliver(0x50, false);
    a.write_msr(IA32_APIC_BASE, APIC_DEFAULT_BASE).unwrap();
    assert!(!a.is_enabled());
    assert_eq!(a.mmio_read(u64::from(APIC_VERSION), 4), 0xFFFF_FFFF);
    assert_eq!(a.mmio_read(u64::from(APIC_VERSION), 1), 0xFF);
    assert_eq!(a.mmio_read(u64::from(APIC_VERSION), 8), u64::MAX);
    wr(&mut a, APIC_TPR, 0x20);
    assert!(!a.has_interrupt());
    assert!(a.pic_interrupts_pass());
    a.deliver(0x60, false);
    a.deliver_nmi();
    assert!(!a.take_nmi());
    assert!(!a.matches(0xFF, false));
    // Re-enabled: the reset state, nothing held.
    a.write_msr(IA32_APIC_BASE, APIC_DEFAULT_BASE | APIC_BASE_EN)
        .unwrap();
    assert_eq!(rd(&mut a, APIC_TPR), 0);
    assert_eq!(rd(&mut a, APIC_SVR), 0xFF);
    assert!(!a.has_interrupt());
}

// ---- Timer (11.5.4) ----

/// Programs the LVT timer (mode, vector 0x40) and the divide configuration.
fn timer(a: &mut LocalApic, mode: u32, divide: u32) {
    wr(a, APIC_LVT_TIMER, (mode << LVT_TIMER_MODE_SHIFT) | 0x40);
    wr(a, APIC_TIMER_DIVIDE, divide);
}

#[test]
fn one_shot_counts_down_and_fires_once() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    clock.set(1_000);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 1_000);
    assert_eq!(a.next_deadline_ns(), Some(2_000));
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 1_000);
    clock.set(1_250);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 750);
    clock.set(1_999);
    a.poll();
    assert!(!a.has_interrupt());
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 1);
    clock.set(2_000);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 0);
    a.poll();
    assert_eq!(a.acknowledge(), Some(0x40));
    assert_eq!(a.next_deadline_ns(), None);
    clock.set(1_000_000);
    a.poll();
    assert!(!a.has_interrupt(), "one-shot fires once");
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 0);
    assert_eq!(rd(&mut a, APIC_TIMER_INITIAL_COUNT), 1_000);
}

#[test]
fn writing_initial_count_restarts_and_zero_stops() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    clock.set(50);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    assert_eq!(a.next_deadline_ns(), Some(150));
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 0);
    assert_eq!(a.next_deadline_ns(), None);
    clock.set(1_000);
    a.poll();
    assert!(!a.has_interrupt());
}

#[test]
fn periodic_rearms_keeps_phase_and_owes_missed_periods() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_PERIODIC, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    assert_eq!(a.next_deadline_ns(), Some(100));
    clock.set(100);
    a.poll();
    assert_eq!(a.acknowledge(), Some(0x40));
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.next_deadline_ns(), Some(200));
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 100, "reloaded");
    clock.set(1_050);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 50);
    // Nine periods ended (200 ... 1000): one goes to the IRR, eight are owed.
    a.poll();
    assert_eq!(a.timer_backlog(), 8);
    assert_eq!(a.next_deadline_ns(), Some(1_100), "phase kept");
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 50, "count unaffected");
    a.poll();
    assert_eq!(a.timer_backlog(), 8, "nothing new while the IRR holds one");
    assert_eq!(a.acknowledge(), Some(0x40));
    assert_eq!(
        a.next_deadline_ns(),
        Some(1_050),
        "an owed period can go out: poll now"
    );
    a.poll();
    assert_eq!(a.timer_backlog(), 7);
    assert!(irr_has(&mut a, 0x40), "the next one waits in the IRR");
    assert!(!a.has_interrupt(), "behind the one in service");
    assert_eq!(a.next_deadline_ns(), Some(1_100));
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.acknowledge(), Some(0x40));
}

#[test]
fn divide_configuration_selects_the_divisor() {
    let (mut a, _) = enabled_apic();
    let table = [
        (0x0, 2),
        (0x1, 4),
        (0x2, 8),
        (0x3, 16),
        (0x8, 32),
        (0x9, 64),
        (0xA, 128),
        (0xB, 1),
    ];
    for (config, divisor) in table {
        timer(&mut a, TIMER_MODE_ONE_SHOT, config);
        wr(&mut a, APIC_TIMER_INITIAL_COUNT, 1_000);
        assert_eq!(
            a.next_deadline_ns(),
            Some(1_000 * divisor),
            "config {config:#x}"
        );
    }
    // Bit 2 is reserved.
    wr(&mut a, APIC_TIMER_DIVIDE, 0x4);
    assert_eq!(rd(&mut a, APIC_TIMER_DIVIDE), 0);
}

#[test]
fn divide_change_while_counting_keeps_the_count() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 1_000);
    clock.set(400);
    wr(&mut a, APIC_TIMER_DIVIDE, 0x0);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 600);
    assert_eq!(a.next_deadline_ns(), Some(400 + 600 * 2));
    clock.set(600);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 500);
}

#[test]
fn an_expiry_due_before_a_timer_write_still_fires() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_PERIODIC, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    clock.set(150);
    wr(&mut a, APIC_TIMER_DIVIDE, 0x0);
    assert_eq!(a.acknowledge(), Some(0x40), "the expiry at 100");
    assert_eq!(a.next_deadline_ns(), Some(150 + 50 * 2));
    wr(&mut a, APIC_EOI, 0);
    clock.set(250);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    assert_eq!(a.acknowledge(), Some(0x40), "the expiry at 250");
    wr(&mut a, APIC_EOI, 0);
    assert_eq!(a.next_deadline_ns(), Some(250 + 100 * 2));
    clock.set(450);
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x41,
    );
    assert_eq!(a.acknowledge(), Some(0x40), "fired with the old vector");
    assert_eq!(a.next_deadline_ns(), Some(650), "same mode: still running");
    wr(&mut a, APIC_EOI, 0);
    clock.set(650);
    a.poll();
    assert_eq!(a.acknowledge(), Some(0x41));
}

#[test]
fn tpr_follows_cr8_writes() {
    let (mut a, _) = enabled_apic();
    a.set_tpr(0x70);
    assert_eq!(rd(&mut a, APIC_TPR), 0x70);
    assert_eq!(a.tpr(), 0x70);
    a.deliver(0x75, false);
    assert!(!a.has_interrupt());
}

#[test]
fn masked_timer_counts_but_raises_nothing() {
    let (mut a, clock) = enabled_apic();
    wr(&mut a, APIC_LVT_TIMER, LVT_MASKED | 0x40);
    wr(&mut a, APIC_TIMER_DIVIDE, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    clock.set(30);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 70);
    clock.set(100);
    a.poll();
    assert!(!a.has_interrupt());
    assert_eq!(a.next_deadline_ns(), None);
}

#[test]
fn timer_vector_below_16_is_an_illegal_vector_error() {
    let (mut a, clock) = enabled_apic();
    wr(&mut a, APIC_LVT_TIMER, 0x05);
    wr(&mut a, APIC_TIMER_DIVIDE, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 10);
    clock.set(10);
    a.poll();
    assert!(!a.has_interrupt());
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_RECEIVED_ILLEGAL_VECTOR);
}

#[test]
fn tsc_deadline_converts_guest_tsc_to_host_time_and_clears_on_fire() {
    let (mut a, clock) = enabled_apic();
    clock.set(5_000);
    timer(&mut a, TIMER_MODE_TSC_DEADLINE, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    assert_eq!(
        rd(&mut a, APIC_TIMER_INITIAL_COUNT),
        0,
        "ignored in TSC-deadline mode"
    );
    assert_eq!(a.next_deadline_ns(), None);
    // 3 GHz TSC: 3000 ticks ahead is 1000 ns.
    a.set_tsc_deadline(1_003_000, 1_000_000, 3_000_000_000);
    assert_eq!(a.tsc_deadline(), 1_003_000);
    assert_eq!(a.next_deadline_ns(), Some(6_000));
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 0);
    clock.set(5_999);
    a.poll();
    assert!(!a.has_interrupt());
    clock.set(6_000);
    a.poll();
    assert_eq!(a.acknowledge(), Some(0x40));
    assert_eq!(a.tsc_deadline(), 0);
    assert_eq!(a.next_deadline_ns(), None);
    // Partial nanoseconds round up: the guest TSC has reached the deadline.
    a.set_tsc_deadline(1_000_001, 1_000_000, 3_000_000_000);
    assert_eq!(a.next_deadline_ns(), Some(6_001));
    // A deadline already passed fires at once; 0 disarms.
    a.set_tsc_deadline(5, 1_000_000, 3_000_000_000);
    assert_eq!(a.next_deadline_ns(), Some(6_000));
    a.set_tsc_deadline(0, 1_000_000, 3_000_000_000);
    assert_eq!(a.next_deadline_ns(), None);
    assert_eq!(a.tsc_deadline(), 0);
}

#[test]
fn tsc_deadline_writes_are_ignored_in_other_modes() {
    let (mut a, _) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    a.set_tsc_deadline(1_000, 0, 1_000_000_000);
    assert_eq!(a.tsc_deadline(), 0);
    assert_eq!(a.next_deadline_ns(), None);
}

#[test]
fn changing_the_timer_mode_disarms_it() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    // Masking without a mode change keeps it running.
    wr(&mut a, APIC_LVT_TIMER, LVT_MASKED | 0x40);
    assert_eq!(a.next_deadline_ns(), Some(100));
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x40,
    );
    assert_eq!(a.next_deadline_ns(), None);
    assert_eq!(rd(&mut a, APIC_TIMER_INITIAL_COUNT), 0);
    assert_eq!(rd(&mut a, APIC_TIMER_CURRENT_COUNT), 0);
    clock.set(1_000);
    a.poll();
    assert!(!a.has_interrupt());

    timer(&mut a, TIMER_MODE_TSC_DEADLINE, 0xB);
    a.set_tsc_deadline(10_000, 0, 1_000_000_000);
    assert!(a.next_deadline_ns().is_some());
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    assert_eq!(a.next_deadline_ns(), None);
    timer(&mut a, TIMER_MODE_TSC_DEADLINE, 0xB);
    assert_eq!(a.tsc_deadline(), 0, "cleared by the mode change");
}

// ---- LINT0/LINT1 and the PIC (11.5.1, virtual wire) ----

#[test]
fn virtual_wire_lets_the_pic_through_lint0() {
    let (mut a, _) = apic();
    assert!(!a.pic_interrupts_pass(), "LINT0 masked after reset");
    a.program_virtual_wire();
    assert!(a.pic_interrupts_pass());
    assert_eq!(rd(&mut a, APIC_SVR), 0x1FF);
    assert_eq!(rd(&mut a, APIC_LVT_LINT0), 0x8700);
    assert_eq!(rd(&mut a, APIC_LVT_LINT1), 0x8400);
    wr(&mut a, APIC_LVT_LINT0, LVT_MASKED | 0x700);
    assert!(!a.pic_interrupts_pass(), "masked");
    wr(&mut a, APIC_LVT_LINT0, 0x0030);
    assert!(!a.pic_interrupts_pass(), "fixed mode");
    wr(&mut a, APIC_LVT_LINT0, 0x0700);
    wr(&mut a, APIC_SVR, 0xFF);
    assert!(!a.pic_interrupts_pass(), "software disable masks LINT0");
}

#[test]
fn lint1_rising_edge_makes_one_nmi() {
    let (mut a, _) = apic();
    a.set_lint1(true);
    a.set_lint1(false);
    assert!(!a.take_nmi(), "masked after reset");
    a.program_virtual_wire();
    a.set_lint1(true);
    assert!(a.take_nmi());
    assert!(!a.take_nmi());
    a.set_lint1(true);
    assert!(!a.take_nmi(), "no new edge");
    a.set_lint1(false);
    a.set_lint1(true);
    assert!(a.take_nmi());
    wr(&mut a, APIC_LVT_LINT1, LVT_MASKED | 0x400);
    a.set_lint1(false);
    a.set_lint1(true);
    assert!(!a.take_nmi(), "masked");
    a.write_msr(IA32_APIC_BASE, APIC_DEFAULT_BASE).unwrap();
    a.set_lint1(false);
    a.set_lint1(true);
    assert!(a.take_nmi(), "globally disabled: LINT1 is the NMI pin");
}

// ---- x2APIC (11.12) ----

#[test]
fn apic_base_transitions_follow_the_state_diagram() {
    let (mut a, _) = apic();
    let xapic = APIC_DEFAULT_BASE | APIC_BASE_EN;
    let x2apic = xapic | APIC_BASE_EXTD;
    let disabled = APIC_DEFAULT_BASE;
    assert_eq!(
        a.write_msr(IA32_APIC_BASE, APIC_DEFAULT_BASE | APIC_BASE_EXTD),
        Err(ApicFault::IllegalTransition),
        "EXTD without EN"
    );
    a.write_msr(IA32_APIC_BASE, x2apic).unwrap();
    assert!(a.is_x2apic());
    assert_eq!(a.read_msr(IA32_APIC_BASE), Ok(x2apic | APIC_BASE_BSP));
    assert_eq!(
        a.write_msr(IA32_APIC_BASE, xapic),
        Err(ApicFault::IllegalTransition)
    );
    a.write_msr(IA32_APIC_BASE, disabled).unwrap();
    assert!(!a.is_enabled());
    assert_eq!(
        a.write_msr(IA32_APIC_BASE, x2apic),
        Err(ApicFault::IllegalTransition)
    );
    a.write_msr(IA32_APIC_BASE, xapic).unwrap();
    assert!(a.is_enabled() && !a.is_x2apic());
    for reserved in [1, 1 << 9, 1 << 52, 1 << 63] {
        assert_eq!(
            a.write_msr(IA32_APIC_BASE, xapic | reserved),
            Err(ApicFault::ReservedBits)
        );
    }
    // The BSP flag is read-only; the base address is stored.
    a.write_msr(IA32_APIC_BASE, 0xFED0_0000 | APIC_BASE_EN)
        .unwrap();
    assert_eq!(a.apic_base(), 0xFED0_0000 | APIC_BASE_EN | APIC_BASE_BSP);
}

#[test]
fn x2apic_mode_keeps_registers_and_shows_32_bit_id_and_derived_ldr() {
    let (mut a, _) = apic_with_id(0x23, false);
    wr(&mut a, APIC_SVR, 0x1FF);
    wr(&mut a, APIC_TPR, 0x20);
    wr(&mut a, APIC_LVT_LINT0, 0x700);
    to_x2apic(&mut a);
    assert_eq!(
        a.mmio_read(u64::from(APIC_TPR), 4),
        0xFFFF_FFFF,
        "MMIO not decoded"
    );
    wr(&mut a, APIC_TPR, 0x30);
    assert_eq!(a.read_msr(0x808), Ok(0x20));
    assert_eq!(a.read_msr(0x80F), Ok(0x1FF));
    assert_eq!(a.read_msr(0x835), Ok(0x700));
    assert_eq!(a.read_msr(0x802), Ok(0x23));
    assert_eq!(a.read_msr(0x803), Ok(0x0005_0014));
    assert_eq!(a.read_msr(0x80D), Ok((2 << 16) | (1 << 3)));
    assert!(a.pic_interrupts_pass());
}

#[test]
fn x2apic_msrs_fault_outside_x2apic_mode() {
    let (mut a, _) = apic();
    for msr in X2APIC_MSR_FIRST..=X2APIC_MSR_LAST {
        assert_eq!(a.read_msr(msr), Err(ApicFault::NotX2apic));
        assert_eq!(a.write_msr(msr, 0), Err(ApicFault::NotX2apic));
    }
    assert_eq!(a.read_msr(0x6E0), Err(ApicFault::NoSuchRegister));
}

#[test]
fn x2apic_msr_faults() {
    let (mut a, _) = apic();
    to_x2apic(&mut a);
    use ApicFault::*;
    assert_eq!(a.read_msr(0x80B), Err(WriteOnly), "EOI");
    assert_eq!(a.read_msr(0x83F), Err(WriteOnly), "SELF IPI");
    for msr in [
        0x809, 0x80C, 0x80E, 0x831, 0x82F, 0x800, 0x801, 0x83A, 0x840, 0x8FF,
    ] {
        assert_eq!(a.read_msr(msr), Err(NoSuchRegister), "read {msr:#x}");
        assert_eq!(a.write_msr(msr, 0), Err(NoSuchRegister), "write {msr:#x}");
    }
    for msr in [
        0x802, 0x803, 0x80A, 0x80D, 0x810, 0x817, 0x818, 0x820, 0x827, 0x839,
    ] {
        assert!(a.read_msr(msr).is_ok(), "read {msr:#x}");
        assert_eq!(a.write_msr(msr, 0), Err(ReadOnly), "write {msr:#x}");
    }
    assert_eq!(a.write_msr(0x808, 0x100), Err(ReservedBits), "TPR bit 8");
    assert_eq!(a.write_msr(0x808, 1 << 32), Err(ReservedBits), "high dword");
    assert_eq!(a.write_msr(0x80B, 1), Err(ReservedBits), "EOI non-zero");
    assert_eq!(a.write_msr(0x828, 1), Err(ReservedBits), "ESR non-zero");
    assert_eq!(a.write_msr(0x83F, 0x100), Err(ReservedBits), "SELF IPI");
    assert_eq!(a.write_msr(0x83E, 0x4), Err(ReservedBits), "divide bit 2");
    assert_eq!(
        a.write_msr(0x80F, 1 << 12),
        Err(ReservedBits),
        "SVR bit 12 unsupported"
    );
    assert_eq!(a.write_msr(0x832, 1 << 19), Err(ReservedBits), "LVT timer");
    assert_eq!(a.write_msr(0x830, 1 << 13), Err(ReservedBits), "ICR bit 13");
    assert_eq!(
        a.write_msr(0x837, 1 << 8),
        Err(ReservedBits),
        "LVT error mode"
    );
    // Read-only bits that exist may be written back.
    assert_eq!(
        a.write_msr(
            0x835,
            u64::from(LVT_REMOTE_IRR | LVT_DELIVERY_STATUS | 0x700)
        ),
        Ok(())
    );
    assert_eq!(a.write_msr(0x828, 0), Ok(()));
    assert_eq!(a.write_msr(0x80B, 0), Ok(()));
    a.set_eoi_broadcast_suppression_supported(true);
    assert_eq!(a.write_msr(0x80F, 0x11FF), Ok(()));
}

#[test]
fn x2apic_icr_is_one_64_bit_msr_and_self_ipi_works() {
    let (mut a, _) = apic_with_id(2, false);
    to_x2apic(&mut a);
    a.write_msr(0x80F, 0x1FF).unwrap();
    let icr = (0x1_0005u64 << 32) | 0x4041 | u64::from(ICR_DESTINATION_LOGICAL);
    a.write_msr(0x830, icr).unwrap();
    assert_eq!(a.read_msr(0x830), Ok(icr));
    assert_eq!(
        ipis(&mut a),
        [Ipi {
            destination: 0x1_0005,
            logical: true,
            shorthand: Shorthand::Destination,
            mode: DeliveryMode::Fixed,
            vector: 0x41,
            level: false,
        }]
    );
    a.write_msr(0x83F, 0x55).unwrap();
    assert!(ipis(&mut a).is_empty());
    assert_eq!(a.acknowledge(), Some(0x55));
    a.write_msr(0x80B, 0).unwrap();
    assert_eq!(a.read_msr(0x810 + 2), Ok(0), "ISR cleared by EOI");
}

#[test]
fn init_keeps_the_mode_and_resets_registers() {
    let (mut a, _) = apic();
    a.write_msr(
        IA32_APIC_BASE,
        APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD,
    )
    .unwrap();
    a.write_msr(0x80F, 0x1FF).unwrap();
    a.write_msr(0x808, 0x40).unwrap();
    a.deliver(0x80, false);
    a.init();
    assert!(a.is_x2apic());
    assert_eq!(a.read_msr(0x808), Ok(0));
    assert_eq!(a.read_msr(0x80F), Ok(0xFF));
    assert!(!a.has_interrupt());
}

// ---- IPIs (11.6) ----

#[test]
fn self_ipis_are_delivered_internally() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_ICR_LOW, 0x0004_0040);
    assert_eq!(rd(&mut a, APIC_ICR_LOW) & ICR_DELIVERY_STATUS, 0, "idle");
    assert!(ipis(&mut a).is_empty());
    assert_eq!(a.acknowledge(), Some(0x40));
    wr(&mut a, APIC_ICR_LOW, 0x0004_0400);
    assert!(a.take_nmi(), "self NMI");
    // INIT, SIPI and SMI to self are invalid: nothing happens.
    for low in [0x0004_0500, 0x0004_0608, 0x0004_0200] {
        wr(&mut a, APIC_ICR_LOW, low);
    }
    assert!(ipis(&mut a).is_empty() && !a.take_nmi() && !a.has_interrupt());
}

#[test]
fn init_and_sipi_are_queued_for_the_router() {
    let (mut a, _) = enabled_apic();
    // Linux's wakeup_secondary_cpu_via_init: INIT assert, INIT de-assert, SIPI.
    wr(&mut a, APIC_ICR_HIGH, 3 << 24);
    wr(&mut a, APIC_ICR_LOW, 0xC500);
    wr(&mut a, APIC_ICR_LOW, 0x8500);
    wr(&mut a, APIC_ICR_LOW, 0x0608);
    let init = Ipi {
        destination: 3,
        logical: false,
        shorthand: Shorthand::Destination,
        mode: DeliveryMode::Init,
        vector: 0,
        level: false,
    };
    let sipi = Ipi {
        mode: DeliveryMode::StartUp,
        vector: 0x08,
        ..init
    };
    assert_eq!(ipis(&mut a), [init, sipi]);
    // SeaBIOS: INIT then SIPI to all excluding self.
    wr(&mut a, APIC_ICR_LOW, 0x000C_4500);
    wr(&mut a, APIC_ICR_LOW, 0x000C_4600 | 0x9F);
    let queued = ipis(&mut a);
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].shorthand, Shorthand::AllExcludingSelf);
    assert_eq!(queued[0].mode, DeliveryMode::Init);
    assert_eq!(queued[1].mode, DeliveryMode::StartUp);
    assert_eq!(queued[1].vector, 0x9F);
}

#[test]
fn ipi_targets_follow_shorthand_and_destination() {
    let (mut sender, _) = apic_with_id(0, true);
    let (mut other, _) = apic_with_id(1, false);
    let ipi = |shorthand, destination| Ipi {
        destination,
        logical: false,
        shorthand,
        mode: DeliveryMode::Fixed,
        vector: 0x40,
        level: false,
    };
    let all_but = ipi(Shorthand::AllExcludingSelf, 0);
    assert!(!all_but.is_target(&sender, true) && all_but.is_target(&other, false));
    let all = ipi(Shorthand::AllIncludingSelf, 0);
    assert!(all.is_target(&sender, true) && all.is_target(&other, false));
    let to_1 = ipi(Shorthand::Destination, 1);
    assert!(!to_1.is_target(&sender, true) && to_1.is_target(&other, false));
    let broadcast = ipi(Shorthand::Destination, 0xFF);
    assert!(broadcast.is_target(&sender, true) && broadcast.is_target(&other, false));
    other.write_msr(IA32_APIC_BASE, APIC_DEFAULT_BASE).unwrap();
    assert!(!all.is_target(&other, false), "globally disabled");
    sender.reset();
}

#[test]
fn ipi_queue_is_bounded() {
    let (mut a, _) = enabled_apic();
    wr(&mut a, APIC_ICR_HIGH, 1 << 24);
    for _ in 0..MAX_QUEUED_IPIS + 10 {
        wr(&mut a, APIC_ICR_LOW, 0x40);
    }
    assert_eq!(ipis(&mut a).len(), MAX_QUEUED_IPIS);
    assert_eq!(a.ipis_dropped(), 10);
}

// ---- Destinations (11.6.2, 11.12.10) ----

#[test]
fn xapic_physical_and_logical_destinations() {
    let (mut a, _) = apic_with_id(3, false);
    assert!(a.matches(3, false) && a.matches(0xFF, false) && a.matches(u32::MAX, false));
    assert!(!a.matches(4, false) && !a.matches(0x103, false));
    // Flat model: LDR bit 1.
    wr(&mut a, APIC_LDR, 0x0200_0000);
    assert!(a.matches(0x02, true) && a.matches(0x03, true) && a.matches(0xFF, true));
    assert!(!a.matches(0x01, true) && !a.matches(0x00, true));
    // Cluster model: cluster 2, member bit 0.
    wr(&mut a, APIC_DFR, 0x0FFF_FFFF);
    wr(&mut a, APIC_LDR, 0x2100_0000);
    assert!(a.matches(0x21, true) && a.matches(0x23, true) && a.matches(0xF1, true));
    assert!(!a.matches(0x11, true) && !a.matches(0x22, true));
    // A reserved model matches nothing logically.
    wr(&mut a, APIC_DFR, 0x5FFF_FFFF);
    assert!(!a.matches(0x21, true));
}

#[test]
fn x2apic_physical_and_cluster_destinations() {
    let (mut a, _) = apic_with_id(0x23, false);
    to_x2apic(&mut a);
    assert!(a.matches(0x23, false) && a.matches(u32::MAX, false));
    assert!(!a.matches(0xFF, false) && !a.matches(0x123, false));
    assert!(a.matches(0x2_0008, true) && a.matches(0x2_000C, true) && a.matches(u32::MAX, true));
    assert!(!a.matches(0x1_0008, true) && !a.matches(0x2_0004, true));
}

// ---- Periodic timer: missed periods are delayed, not lost (see `timer`) ----

/// A periodic timer on vector 40h with divide-by-1 and `period` ns, started
/// at time 0.
fn periodic(period: u32) -> (LocalApic, Rc<FakeClock>) {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_PERIODIC, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, period);
    (a, clock)
}

/// The guest takes and finishes every timer interrupt it can without time
/// moving (acknowledge, EOI, then the run loop polls before the next entry);
/// returns how many it took.
fn drain(a: &mut LocalApic) -> u64 {
    let mut taken = 0;
    a.poll();
    while let Some(vector) = a.acknowledge() {
        assert_eq!(vector, 0x40);
        taken += 1;
        wr(a, APIC_EOI, 0);
        a.poll();
        assert!(taken <= 1_000_000, "no end to the interrupts");
    }
    taken
}

#[test]
fn a_late_poll_delivers_every_elapsed_period_one_per_acknowledge() {
    // Linux's HZ=1000 tick: 1 ms.
    let (mut a, clock) = periodic(1_000_000);
    clock.set(10_500_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 9, "ten periods: one in the IRR");
    // However often the run loop polls, one waits in the IRR at a time.
    for _ in 0..5 {
        a.poll();
    }
    assert_eq!(a.timer_backlog(), 9);
    let mut taken = 0;
    while let Some(vector) = a.acknowledge() {
        assert_eq!(vector, 0x40);
        taken += 1;
        assert!(!irr_has(&mut a, 0x40), "acknowledged");
        assert!(a.acknowledge().is_none(), "one at a time");
        a.poll();
        wr(&mut a, APIC_EOI, 0);
    }
    assert_eq!(taken, 10, "every period delivered");
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(a.next_deadline_ns(), Some(11_000_000), "phase kept");
    clock.set(11_000_000);
    assert_eq!(drain(&mut a), 1);
}

#[test]
fn periods_ending_while_the_previous_interrupt_waits_in_irr_are_not_lost() {
    // A guest too slow for its tick: polled at every expiry, it takes an
    // interrupt only at every third, for 30 periods, then keeps up again.
    let (mut a, clock) = periodic(4_000_000);
    let mut taken = 0;
    for n in 1..=30u64 {
        clock.set(n * 4_000_000);
        a.poll();
        if n % 3 == 0 && a.acknowledge().is_some() {
            taken += 1;
            wr(&mut a, APIC_EOI, 0);
        }
    }
    assert_eq!(taken, 10);
    assert!(a.timer_backlog() > 0);
    taken += drain(&mut a);
    assert_eq!(taken, 30, "every period, some late");
}

#[test]
fn owed_periods_are_bounded_to_one_second() {
    // HZ=250 (4 ms): at most 250 owed; a 5 s stall replays only 1 s.
    let (mut a, clock) = periodic(4_000_000);
    clock.set(5_000_000_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 249, "250 with the one in the IRR");
    assert_eq!(drain(&mut a), 250);
    // The bound is in time: 1 ms periods owe up to 1000.
    let (mut a, clock) = periodic(1_000_000);
    clock.set(60_000_000_000);
    assert_eq!(drain(&mut a), 1_000);
    // With periods longer than a second only the one in the IRR is left, as
    // on hardware.
    let (mut a, clock) = periodic(3_000_000_000);
    clock.set(30_000_000_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(drain(&mut a), 1);
}

/// A 1 ms periodic timer 10.5 ms on, polled late once: one interrupt in the
/// IRR and nine owed.
fn owing() -> (LocalApic, Rc<FakeClock>) {
    let (mut a, clock) = periodic(1_000_000);
    clock.set(10_500_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 9);
    (a, clock)
}

#[test]
fn a_new_initial_count_drops_the_owed_periods() {
    let (mut a, clock) = owing();
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 1_000_000);
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(drain(&mut a), 1, "only the one already in the IRR");
    assert_eq!(a.next_deadline_ns(), Some(11_500_000), "restarted");
    clock.set(11_500_000);
    assert_eq!(drain(&mut a), 1);
    // Zero stops the timer, and it owes nothing.
    let (mut a, _) = owing();
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 0);
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(a.next_deadline_ns(), None);
    assert_eq!(drain(&mut a), 1);
}

#[test]
fn a_mode_change_drops_the_owed_periods() {
    for mode in [TIMER_MODE_ONE_SHOT, TIMER_MODE_TSC_DEADLINE] {
        let (mut a, _) = owing();
        wr(
            &mut a,
            APIC_LVT_TIMER,
            (mode << LVT_TIMER_MODE_SHIFT) | 0x40,
        );
        assert_eq!(a.timer_backlog(), 0, "mode {mode}");
        assert_eq!(drain(&mut a), 1);
    }
}

#[test]
fn a_divide_change_keeps_the_owed_periods_within_the_new_bound() {
    let (mut a, _) = owing();
    wr(&mut a, APIC_TIMER_DIVIDE, 0x0);
    assert_eq!(a.timer_backlog(), 9, "the periods did end");
    assert_eq!(drain(&mut a), 10);
    // 1 ms periods owing 999, then divide by 128: 128 ms periods, at most 7.
    let (mut a, clock) = periodic(1_000_000);
    clock.set(5_000_000_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 999);
    wr(&mut a, APIC_TIMER_DIVIDE, 0xA);
    assert_eq!(a.timer_backlog(), 7);
}

#[test]
fn masking_the_timer_drops_the_owed_periods_and_masked_periods_are_not_owed() {
    let (mut a, clock) = owing();
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | LVT_MASKED | 0x40,
    );
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(drain(&mut a), 1, "the one already in the IRR stays");
    clock.set(2_000_000_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 0, "masked periods are not owed");
    assert!(!irr_has(&mut a, 0x40));
    assert_eq!(
        rd(&mut a, APIC_TIMER_CURRENT_COUNT),
        1_000_000,
        "still counting"
    );
    // Unmasked: no storm, the next period's interrupt only.
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x40,
    );
    assert_eq!(drain(&mut a), 0);
    assert_eq!(a.next_deadline_ns(), Some(2_001_000_000));
    clock.set(2_001_000_000);
    assert_eq!(drain(&mut a), 1);
}

#[test]
fn software_disabling_the_apic_drops_the_owed_periods() {
    let (mut a, clock) = owing();
    wr(&mut a, APIC_SVR, 0xFF);
    assert_eq!(a.timer_backlog(), 0);
    wr(&mut a, APIC_SVR, SVR_APIC_ENABLED | 0xFF);
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x40,
    );
    clock.set(10_900_000);
    assert_eq!(drain(&mut a), 1, "the one held in the IRR (11.4.7.2)");
    assert_eq!(a.timer_backlog(), 0);
}

#[test]
fn a_vector_changed_while_owing_carries_the_owed_periods() {
    let (mut a, _) = owing();
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x50,
    );
    a.poll();
    assert_eq!(a.timer_backlog(), 8, "0x50 is free: one goes out");
    assert_eq!(a.acknowledge(), Some(0x50));
    assert!(irr_has(&mut a, 0x40));
}

#[test]
fn an_illegal_periodic_vector_owes_nothing() {
    let (mut a, clock) = enabled_apic();
    wr(
        &mut a,
        APIC_LVT_TIMER,
        (TIMER_MODE_PERIODIC << LVT_TIMER_MODE_SHIFT) | 0x05,
    );
    wr(&mut a, APIC_TIMER_DIVIDE, 0xB);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 10);
    clock.set(105);
    a.poll();
    assert_eq!(a.timer_backlog(), 0);
    assert!(!a.has_interrupt());
    assert_eq!(a.next_deadline_ns(), Some(110));
    wr(&mut a, APIC_ESR, 0);
    assert_eq!(rd(&mut a, APIC_ESR), ESR_RECEIVED_ILLEGAL_VECTOR);
}

#[test]
fn one_shot_and_tsc_deadline_owe_nothing() {
    let (mut a, clock) = enabled_apic();
    timer(&mut a, TIMER_MODE_ONE_SHOT, 0xB);
    a.deliver(0x40, false);
    wr(&mut a, APIC_TIMER_INITIAL_COUNT, 100);
    clock.set(1_000);
    a.poll();
    assert_eq!(
        a.timer_backlog(),
        0,
        "expiry behind a pending vector is lost"
    );
    assert_eq!(drain(&mut a), 1);
    assert_eq!(a.next_deadline_ns(), None);
    timer(&mut a, TIMER_MODE_TSC_DEADLINE, 0xB);
    a.deliver(0x40, false);
    a.set_tsc_deadline(2_000, 1_000, 1_000_000_000);
    clock.set(5_000);
    a.poll();
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(drain(&mut a), 1);
    assert_eq!(a.next_deadline_ns(), None);
}

#[test]
fn init_drops_the_owed_periods() {
    let (mut a, _) = owing();
    a.init();
    assert_eq!(a.timer_backlog(), 0);
    assert_eq!(a.next_deadline_ns(), None);
}
