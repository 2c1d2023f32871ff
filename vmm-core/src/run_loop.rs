//! The vCPU run loop: sample the devices, deliver a pending interrupt, enter
//! the guest, handle the exit, count it, act on a reset the guest asked for,
//! repeat until the guest stops. The runner's control channel
//! ([`crate::control`]) is read between entries and while the guest
//! sleeps. Generic over the backend, so the hot path has no dynamic
//! dispatch into the hardware layer.

use crate::control::ControlPoll;
use crate::domain::Domain;
use crate::exits::{handle_exit, Flow, StopReason};
use crate::heartbeat::Heartbeat;
use crate::host_env::HostEnv;
use crate::interrupts::{deliver, InterruptController};
use crate::reset::handle_reset_request;
use crate::vcpu::Vcpu;

/// Runs `vcpu` in `dom` until the guest stops; returns why.
pub fn run_vcpu<V: Vcpu>(vcpu: &mut V, dom: &mut Domain, host: &dyn HostEnv) -> StopReason {
    let mut control = ControlPoll::default();
    loop {
        prepare_entry(vcpu, dom, host, &mut control);
        let entered = host.tsc();
        let exit = vcpu.run();
        let exited = host.tsc();
        dom.stats.guest_cycles = dom
            .stats
            .guest_cycles
            .saturating_add(exited.saturating_sub(entered));
        let mut flow = handle_exit(vcpu, dom, exit, host);
        dom.stats
            .record(exit.reason(), host.tsc().saturating_sub(exited));
        // A reset request (an OUT to 64h, 92h or CF9h, the BIOS's or the
        // guest's own) takes effect before the guest runs on.
        if flow == Flow::Continue {
            if let Some(source) = dom.board.take_reset_request() {
                flow = handle_reset_request(vcpu, dom, source, host.now_ns());
            } else if dom.board.take_power_off() {
                flow = Flow::Stop(StopReason::AcpiPowerOff);
            }
        }
        match flow {
            Flow::Continue => {}
            Flow::Halt => {
                if let Some(reason) = sleep_until_interrupt(dom, host, &*vcpu, &mut control) {
                    return reason;
                }
            }
            Flow::Stop(reason) => {
                if let (Some(screen), Some(vga)) = (dom.screen.as_mut(), dom.board.vga()) {
                    screen.flush(&dom.memory, &vga);
                }
                return reason;
            }
        }
    }
}

/// Brings the devices up to date and injects what the guest can take.
fn prepare_entry(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    host: &dyn HostEnv,
    control: &mut ControlPoll,
) {
    while let Some(byte) = host.console_input() {
        dom.board.console_byte(byte);
    }
    crate::control::poll(control, dom, host);
    dom.board.service(&mut dom.io, &mut dom.memory);
    let now = host.now_ns();
    dom.board.poll(now);
    if let (Some(screen), Some(vga)) = (dom.screen.as_mut(), dom.board.vga()) {
        screen.tick(now, &dom.memory, &vga);
    }
    snapshot_stats(dom, now, vcpu.backend_name());
    heartbeat(&*vcpu, dom, now, false);
    if dom.second_level.take_flush() {
        vcpu.flush_guest_physical_translations();
    }
    let upcall = crate::xen::upcall::poll(dom, host.tsc());
    deliver(
        vcpu,
        &mut crate::xen::upcall::Sources {
            upcall,
            board: &mut dom.board,
        },
    );
    // The guest stops running at the next device deadline, not at the host
    // tick after it: a Linux whose tick is a one-shot APIC timer loses every
    // nanosecond its handler runs late while jiffies are its clock.
    let deadline = near_deadline(dom, now)
        .map(|deadline| tsc_at(deadline, host.now_ns(), host.tsc(), dom.tsc_hz));
    vcpu.set_exit_deadline(deadline);
}

/// The period of the host's timer tick (1 kHz; `arch::host_timer::TICK_HZ`
/// is derived from it): the longest a guest runs, or a halted guest sleeps,
/// before the hypervisor polls its devices again.
pub const HOST_TICK_NS: u64 = 1_000_000;

/// The device deadline (host ns) the next host tick could come too late for,
/// with the board polled at `now`: the earliest after `now` and less than a
/// tick away. A later one is left to a later tick, which comes before it is
/// that close (and the keyboard's pacing deadline, a tick away at every
/// poll, never ends a run early). One at or before `now` waits on the guest,
/// not on time (a PIT tick owed behind an unacknowledged IRQ 0 reads as
/// `now`): an exit for it would come before the guest's next instruction,
/// every time. Each device group's deadline is looked at on its own
/// ([`crate::pc_board::PcBoard::deadlines`]), so one standing at `now`
/// does not hide the other's.
fn near_deadline(dom: &Domain, now: u64) -> Option<u64> {
    dom.board
        .deadlines(now)
        .into_iter()
        .flatten()
        .filter(|&deadline| deadline > now && deadline - now < HOST_TICK_NS)
        .min()
}

/// The host TSC value at host time `deadline_ns`, from a TSC of `now_tsc` at
/// `now_ns` and the TSC's rate (rounded up: not before the deadline).
fn tsc_at(deadline_ns: u64, now_ns: u64, now_tsc: u64, tsc_hz: u64) -> u64 {
    let ns = u128::from(deadline_ns.saturating_sub(now_ns));
    let ticks = (ns * u128::from(tsc_hz)).div_ceil(1_000_000_000);
    now_tsc.saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX))
}

/// Clock reads a halted guest's spin toward a near deadline makes before
/// the wait looks at the console, the control channel and the board again.
const DEADLINE_SPIN_PASSES: u32 = 1000;

/// Spins on the host clock toward `deadline_ns` (less than a host tick
/// away, [`near_deadline`]) for up to [`DEADLINE_SPIN_PASSES`] reads: the
/// halted guest wakes at its timer's deadline, not at the next host tick
/// after it.
fn spin_toward(host: &dyn HostEnv, deadline_ns: u64) {
    for _ in 0..DEADLINE_SPIN_PASSES {
        if host.now_ns() >= deadline_ns {
            return;
        }
        core::hint::spin_loop();
    }
}

/// With `stats_every_ms`, logs the exit statistics so far once per period.
fn snapshot_stats(dom: &mut Domain, now: u64, backend: &str) {
    let every_ns = dom.config.stats_every_ms.saturating_mul(1_000_000);
    if every_ns == 0 || now < dom.next_stats_ns {
        return;
    }
    dom.next_stats_ns = now.saturating_add(every_ns);
    let mut text = alloc::string::String::new();
    let _ = dom
        .stats
        .write_block(&mut text, dom.id, backend, now, &|out| {
            crate::xen::write_stats(dom, out)
        });
    log::info!("statistics snapshot\n{text}");
}

/// With `heartbeat_ms`, logs where the guest is once per period (see
/// [`crate::heartbeat`]); `halted` says it sleeps until an interrupt.
fn heartbeat(vcpu: &dyn Vcpu, dom: &mut Domain, now: u64, halted: bool) {
    let period_ms = dom.config.heartbeat_ms;
    if !dom.heartbeat.due(now, period_ms) {
        return;
    }
    let pic = dom.board.pic_registers();
    let beat = Heartbeat::capture(vcpu, pic, halted, now, &dom.heartbeat, &dom.stats);
    dom.heartbeat.beat(now, period_ms, &dom.stats);
    log::info!("dom{}: {beat}", dom.id);
}

/// Disk polls a halted guest's wait makes before it looks at the console,
/// the control channel and the clock again.
const IDE_SPIN_PASSES: u32 = 1000;

/// Polls only the IDE controller's DMA on the host disk, until it is done or
/// for [`IDE_SPIN_PASSES`]: the console and control-channel polls of the
/// outer wait are host port I/O, which on every pass would compete with the
/// host's emulation of the very device the guest waits for.
fn spin_on_ide_dma(dom: &mut Domain) {
    for _ in 0..IDE_SPIN_PASSES {
        dom.stats.disk_polls_halted = dom.stats.disk_polls_halted.saturating_add(1);
        dom.board.service(&mut dom.io, &mut dom.memory);
        if !dom.board.dma_in_flight() {
            return;
        }
        core::hint::spin_loop();
    }
}

/// A guest halted with interrupts enabled: wait, a host tick at a time, until
/// a device interrupts it (or the user types); a device deadline closer than
/// the next tick is waited for by spinning on the clock. A wait for a device
/// or a key may last forever; a wait while the controller masks every input
/// cannot end, and after `halt_watchdog_ms` of it the guest is stopped and
/// reported.
fn sleep_until_interrupt(
    dom: &mut Domain,
    host: &dyn HostEnv,
    vcpu: &dyn Vcpu,
    control: &mut ControlPoll,
) -> Option<StopReason> {
    let mut masked_since: Option<u64> = None;
    loop {
        while let Some(byte) = host.console_input() {
            dom.board.console_byte(byte);
        }
        // A shutdown request raises the XenStore event: the upcall below
        // wakes the guest to take it.
        crate::control::poll(control, dom, host);
        // A guest halted until its disk interrupts: the host disk's
        // completions are polled here too (they raise IRQ14 through `poll`).
        dom.board.service(&mut dom.io, &mut dom.memory);
        let now = host.now_ns();
        dom.board.poll(now);
        if let (Some(screen), Some(vga)) = (dom.screen.as_mut(), dom.board.vga()) {
            screen.tick(now, &dom.memory, &vga);
        }
        snapshot_stats(dom, now, vcpu.backend_name());
        heartbeat(vcpu, dom, now, true);
        if dom.board.has_interrupt() || crate::xen::upcall::poll(dom, host.tsc()).is_some() {
            return None;
        }
        let watchdog_ms = dom.config.halt_watchdog_ms;
        if watchdog_ms > 0 && !dom.board.interrupts_possible() && !crate::xen::upcall::can_wake(dom)
        {
            let since = *masked_since.get_or_insert(now);
            if now.saturating_sub(since) >= watchdog_ms.saturating_mul(1_000_000) {
                return Some(StopReason::HaltedWithEveryInterruptMasked { watchdog_ms });
            }
        } else {
            masked_since = None;
        }
        // While a disk transfer is on the host (an IDE DMA command, or a
        // PV disk's requests), poll again at once rather than sleep up to a
        // host tick: its completion is what the guest waits for (the
        // device's interrupts are off, `crate::host_disk`).
        if crate::xen::pv_disks::busy(dom) {
            dom.stats.disk_polls_halted = dom.stats.disk_polls_halted.saturating_add(1);
            core::hint::spin_loop();
        } else if dom.board.dma_in_flight() {
            spin_on_ide_dma(dom);
        } else if let Some(deadline) = near_deadline(dom, now) {
            spin_toward(host, deadline);
        } else {
            host.wait_for_event();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::guest_memory::test_memory;
    use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
    use crate::vcpu::ExitReason;
    use alloc::boxed::Box;
    use alloc::rc::Rc;

    use crate::test_support::Discard;

    #[test]
    fn a_second_level_change_is_flushed_before_the_next_entry_once() {
        let clock = Rc::new(FakeClock(Rc::new(core::cell::Cell::new(0))));
        let mut dom = Domain::new(
            1,
            GuestConfig::default(),
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            clock,
            0,
        )
        .unwrap();
        dom.second_level.protect(0, 0x1000, false).unwrap();
        let mut vcpu = FakeVcpu::default();
        vcpu.exits = alloc::vec![crate::vcpu::VmExit::Nmi, crate::vcpu::VmExit::Nmi];
        let reason = run_vcpu(&mut vcpu, &mut dom, &FakeHost::default());
        assert_eq!(reason, StopReason::TripleFault);
        assert_eq!(vcpu.flushes, 1);
    }

    #[test]
    fn a_shutdown_request_on_the_control_channel_reaches_the_guests_xenstore() {
        let mut dom = crate::control::tests::domain(true);
        let host = FakeHost::default();
        host.control.borrow_mut().push_back(b'S');
        let mut vcpu = FakeVcpu::default();
        vcpu.exits = alloc::vec![crate::vcpu::VmExit::Nmi];
        run_vcpu(&mut vcpu, &mut dom, &host);
        assert!(host.control.borrow().is_empty());
        assert_eq!(
            crate::control::tests::shutdown_node(&dom).as_deref(),
            Some(&b"poweroff"[..])
        );
    }

    fn halting_domain(watchdog_ms: u64) -> (Domain, FakeVcpu) {
        let clock = Rc::new(FakeClock(Rc::new(core::cell::Cell::new(0))));
        let config = GuestConfig {
            halt_watchdog_ms: watchdog_ms,
            ..GuestConfig::default()
        };
        let mut dom = Domain::new(
            1,
            config,
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            clock,
            0,
        )
        .unwrap();
        dom.memory.write(0x1000, &[0xF4, 0xF4]).unwrap(); // hlt; hlt
        let vcpu = FakeVcpu {
            rip: 0x1000,
            rflags: 0x2 | crate::vcpu::RFLAGS_IF,
            exits: alloc::vec![crate::vcpu::VmExit::Hlt],
            ..FakeVcpu::default()
        };
        (dom, vcpu)
    }

    /// A domain on `host`'s clock whose local APIC is software-enabled with
    /// its timer one-shot (vector 40h, divide by 1: 1 ns a count), armed
    /// to expire `after_ns` from now when given.
    fn apic_timer_domain(host: &FakeHost, after_ns: Option<u32>) -> Domain {
        let clock = Rc::new(FakeClock(host.tsc.clone()));
        let mut dom = Domain::new(
            1,
            GuestConfig::default(),
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            clock,
            0,
        )
        .unwrap();
        dom.memory.write(0x1000, &[0xF4, 0xF4]).unwrap(); // hlt; hlt
        let apic = dom.board.apic.as_ref().expect("the modern PC's APIC");
        let mut lapic = apic.lapic.borrow_mut();
        for (offset, value) in [(0xF0u64, 0x1FFu64), (0x320, 0x40), (0x3E0, 0xB)] {
            lapic.mmio_write(offset, 4, value);
        }
        if let Some(count) = after_ns {
            lapic.mmio_write(0x380, 4, u64::from(count));
        }
        drop(lapic);
        dom
    }

    fn halted_vcpu() -> FakeVcpu {
        FakeVcpu {
            rip: 0x1000,
            rflags: 0x2 | crate::vcpu::RFLAGS_IF,
            exits: alloc::vec![crate::vcpu::VmExit::Hlt],
            ..FakeVcpu::default()
        }
    }

    #[test]
    fn a_halted_guest_spins_to_a_deadline_closer_than_a_host_tick_instead_of_sleeping_past_it() {
        let host = FakeHost::default();
        host.now_step.set(100);
        host.tsc.set(10_000_000);
        // 2.345678 ms: two sleeps of a (fake) host tick's 100 us each would
        // overshoot it by up to 100 us.
        let deadline = 10_000_000 + 2_345_678;
        let mut dom = apic_timer_domain(&host, Some(2_345_678));
        let mut vcpu = halted_vcpu();
        let reason = run_vcpu(&mut vcpu, &mut dom, &host);
        assert_eq!(reason, StopReason::TripleFault);
        assert_eq!(vcpu.interrupts, [0x40], "woken by the APIC timer");
        assert!(host.waits.get() > 0, "slept while the deadline was far");
        let late = host.tsc.get() - deadline;
        assert!(late < 5_000, "woke {late} ns after the deadline");
    }

    #[test]
    fn a_halted_guest_sleeps_a_host_tick_at_a_time_while_its_deadline_is_far() {
        let host = FakeHost::default();
        host.now_step.set(100);
        let mut dom = apic_timer_domain(&host, Some(5_000_000));
        let mut vcpu = halted_vcpu();
        let reason = run_vcpu(&mut vcpu, &mut dom, &host);
        assert_eq!(reason, StopReason::TripleFault);
        assert_eq!(vcpu.interrupts, [0x40]);
        // 5 ms in 100 us sleeps, then at most a tick's spin.
        assert!(host.waits.get() >= 40, "{} sleeps", host.waits.get());
    }

    #[test]
    fn the_run_loop_asks_the_vcpu_to_exit_at_the_next_device_deadline() {
        let host = FakeHost::default();
        host.tsc.set(1_000_000);
        let deadline = 1_000_000 + 300_000;
        let mut dom = apic_timer_domain(&host, Some(300_000));
        let mut vcpu = FakeVcpu::default();
        vcpu.exits = alloc::vec![crate::vcpu::VmExit::PreemptionTimer];
        run_vcpu(&mut vcpu, &mut dom, &host);
        assert_eq!(vcpu.exit_deadlines.len(), 2, "{:?}", vcpu.exit_deadlines);
        // The TSC runs at the domain's 1 GHz, the fake host's clock.
        let asked = vcpu.exit_deadlines[0].expect("the APIC timer's deadline");
        assert!(
            (deadline..deadline + 1_000).contains(&asked),
            "{asked} for {deadline}"
        );
        assert_eq!(dom.stats.get(ExitReason::PreemptionTimer).count, 1);
    }

    #[test]
    fn no_exit_deadline_without_a_timer_or_with_one_beyond_the_host_tick() {
        for after in [None, Some(1_200_000), Some(3_000_000)] {
            let host = FakeHost::default();
            let mut dom = apic_timer_domain(&host, after);
            let mut vcpu = FakeVcpu::default();
            vcpu.exits = alloc::vec![crate::vcpu::VmExit::Nmi];
            run_vcpu(&mut vcpu, &mut dom, &host);
            assert_eq!(vcpu.exit_deadlines, [None, None], "APIC timer {after:?}");
        }
    }

    #[test]
    fn a_pit_tick_owed_behind_irq0_does_not_hide_the_apic_deadline() {
        let host = FakeHost::default();
        let mut dom = apic_timer_domain(&host, None);
        // PIT channel 0 in mode 2 every 100 us; IRQ 0 raised at 100 us
        // and never acknowledged, so the ticks after it are owed.
        let count = 119u32;
        for (port, value) in [(0x43u16, 0x34u32), (0x40, count & 0xFF), (0x40, count >> 8)] {
            dom.io.write(port, 1, value);
        }
        let now = 1_000_000;
        host.tsc.set(now);
        dom.board.poll(now);
        assert_eq!(dom.board.next_deadline(now), Some(now), "a tick is owed");
        assert_eq!(near_deadline(&dom, now), None);
        let lapic = &dom.board.apic.as_ref().unwrap().lapic;
        lapic.borrow_mut().mmio_write(0x380, 4, 400_000);
        assert_eq!(near_deadline(&dom, now), Some(now + 400_000));
    }

    #[test]
    fn a_deadline_converts_to_the_tsc_at_its_rate_rounded_up() {
        assert_eq!(tsc_at(1_500, 1_000, 7_000, 1_000_000_000), 7_500);
        assert_eq!(tsc_at(1_500, 1_000, 7_000, 3_000_000_000), 8_500);
        assert_eq!(tsc_at(1_001, 1_000, 0, 2_500_000_000), 3);
        assert_eq!(tsc_at(900, 1_000, 7_000, 3_000_000_000), 7_000);
        assert_eq!(tsc_at(u64::MAX, 0, 5, 3_000_000_000), u64::MAX);
    }

    #[test]
    fn sti_hlt_with_every_line_masked_is_stopped_by_the_watchdog() {
        let (mut dom, mut vcpu) = halting_domain(50);
        let host = FakeHost::default();
        let reason = run_vcpu(&mut vcpu, &mut dom, &host);
        assert_eq!(
            reason,
            StopReason::HaltedWithEveryInterruptMasked { watchdog_ms: 50 }
        );
        assert!(
            host.tsc.get() >= 50_000_000,
            "after the watchdog, not at once"
        );
    }

    #[test]
    fn a_halt_with_a_line_open_waits_for_its_interrupt_not_the_watchdog() {
        let (mut dom, mut vcpu) = halting_domain(50);
        // The BIOS's PIC set-up with IRQ0 open, and the PIT at 100 ms.
        for (port, value) in [
            (0x20u16, 0x11u32),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0x21, 0xFE),
        ] {
            dom.io.write(port, 1, value);
        }
        let count = 119_318u32; // 100 ms
        for (port, value) in [(0x43u16, 0x34u32), (0x40, count & 0xFF), (0x40, count >> 8)] {
            dom.io.write(port, 1, value);
        }
        dom.board.poll(0);
        let _ = dom.board.acknowledge();
        dom.io.write(0x20, 1, 0x20);
        let reason = run_vcpu(&mut vcpu, &mut dom, &FakeHost::default());
        // Woken by IRQ0 (past the 50 ms watchdog), the script then ends.
        assert_eq!(reason, StopReason::TripleFault);
        assert_eq!(vcpu.interrupts, [0x08]);
    }
}
