//! INT 15h AH=86h, "wait": return after CX:DX microseconds.
//!
//! As the PS/2 BIOS does (IBM PS/2 and PC BIOS Interface Technical Reference,
//! INT 15h function 86h), the wait runs on the RTC's periodic interrupt: the
//! BIOS sets PIE in register B (the divider in register A already gives
//! 1024 Hz) and unmasks IRQ8, so the caller's processor is woken about once a
//! millisecond; when the time is up, PIE is cleared again (IRQ8 stays
//! unmasked, as on the PS/2). A second wait while one runs gets AH=83h with CF
//! set, the documented "wait already in progress".
//!
//! The service cannot sleep inside the trap, so it returns
//! [`Next::WaitAndRetry`]: the ROM stub halts with interrupts enabled and
//! calls again after each interrupt, until the deadline (host time) passes.

use crate::{BiosPlatform, Next, Regs};
use device_model::cmos_rtc::{REG_B_PIE, RTC_REGISTER_B};
use pc_layout::irqs;
use pc_layout::ports::{CMOS_DATA, CMOS_INDEX, PIC_SLAVE};

/// The slave 8259's mask register (OCW1).
const PIC2_DATA: u16 = PIC_SLAVE + 1;
/// The RTC's bit in that mask: IRQ8 is the slave's input 0.
const RTC_MASK_BIT: u8 = 1 << (irqs::RTC - 8);
/// AH on a refused call: a wait is already in progress.
const STATUS_WAIT_BUSY: u8 = 0x83;

/// The state of a running INT 15h AH=86h wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimedWait {
    /// Host time the running wait ends at, and the CX:DX it was asked with.
    running: Option<(u64, u32)>,
}

impl TimedWait {
    /// INT 15h AH=86h.
    pub fn int15_86(&mut self, regs: &mut Regs, pf: &mut dyn BiosPlatform) -> Next {
        let micros = (u32::from(regs.cx()) << 16) | u32::from(regs.dx());
        let now = pf.now_ns();
        let deadline = match self.running {
            // The stub calling again after an interrupt, with the same CX:DX.
            Some((deadline, asked)) if asked == micros => deadline,
            Some(_) => {
                regs.fail(STATUS_WAIT_BUSY);
                return Next::Return;
            }
            None => {
                let deadline = now.saturating_add(u64::from(micros) * 1000);
                self.running = Some((deadline, micros));
                set_periodic_interrupt(pf, true);
                let mask = pf.port_in(PIC2_DATA);
                pf.port_out(PIC2_DATA, mask & !RTC_MASK_BIT);
                deadline
            }
        };
        if now < deadline {
            return Next::WaitAndRetry;
        }
        self.running = None;
        set_periodic_interrupt(pf, false);
        regs.succeed();
        Next::Return
    }
}

fn set_periodic_interrupt(pf: &mut dyn BiosPlatform, on: bool) {
    pf.port_out(CMOS_INDEX, RTC_REGISTER_B);
    let b = pf.port_in(CMOS_DATA);
    let b = if on { b | REG_B_PIE } else { b & !REG_B_PIE };
    pf.port_out(CMOS_INDEX, RTC_REGISTER_B);
    pf.port_out(CMOS_DATA, b);
}

#[cfg(test)]
mod tests {
    use super::super::test_platform::{regs_with_flags, FakePlatform};
    use super::*;

    fn wait_call(w: &mut TimedWait, pf: &mut FakePlatform, cx: u16, dx: u16) -> (Next, Regs) {
        let mut r = regs_with_flags();
        r.set_ah(0x86);
        r.set_cx(cx);
        r.set_dx(dx);
        (w.int15_86(&mut r, pf), r)
    }

    #[test]
    fn waits_until_the_time_has_passed_on_the_rtc_periodic_interrupt() {
        let mut pf = FakePlatform::new(64 << 20);
        let mut w = TimedWait::default();
        // 0001:86A0h = 100 000 us.
        let (next, _) = wait_call(&mut w, &mut pf, 0x0001, 0x86A0);
        assert_eq!(next, Next::WaitAndRetry);
        assert_ne!(pf.cmos_read(RTC_REGISTER_B) & REG_B_PIE, 0);
        pf.now_ns += 99_000_000;
        assert_eq!(
            wait_call(&mut w, &mut pf, 0x0001, 0x86A0).0,
            Next::WaitAndRetry
        );
        pf.now_ns += 1_000_000;
        let (next, r) = wait_call(&mut w, &mut pf, 0x0001, 0x86A0);
        assert_eq!(next, Next::Return);
        assert!(!r.cf());
        assert_eq!(pf.cmos_read(RTC_REGISTER_B) & REG_B_PIE, 0);
        // The next wait starts afresh.
        assert_eq!(wait_call(&mut w, &mut pf, 0, 1).0, Next::WaitAndRetry);
    }

    #[test]
    fn a_zero_wait_returns_at_once() {
        let mut pf = FakePlatform::new(64 << 20);
        let mut w = TimedWait::default();
        let (next, r) = wait_call(&mut w, &mut pf, 0, 0);
        assert_eq!(next, Next::Return);
        assert!(!r.cf());
        assert_eq!(w, TimedWait::default());
    }

    #[test]
    fn a_second_wait_while_one_runs_is_refused() {
        let mut pf = FakePlatform::new(64 << 20);
        let mut w = TimedWait::default();
        wait_call(&mut w, &mut pf, 0, 1000);
        let (next, r) = wait_call(&mut w, &mut pf, 0, 2000);
        assert_eq!(next, Next::Return);
        assert!(r.cf());
        assert_eq!(r.ah(), STATUS_WAIT_BUSY);
    }

    #[test]
    fn the_longest_wait_does_not_overflow() {
        let mut pf = FakePlatform::new(64 << 20);
        let mut w = TimedWait::default();
        assert_eq!(
            wait_call(&mut w, &mut pf, 0xFFFF, 0xFFFF).0,
            Next::WaitAndRetry
        );
        pf.now_ns += 4_294_967_295_000;
        assert_eq!(wait_call(&mut w, &mut pf, 0xFFFF, 0xFFFF).0, Next::Return);
    }
}
