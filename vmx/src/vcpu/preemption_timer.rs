//! The VMX-preemption timer as the end of a guest's time slice: the run loop
//! names the host TSC at which the guest must stop running (the next device
//! deadline, a local APIC timer say) and the guest exits then, not at the
//! host's next timer tick.
//!
//! Cited manual: Intel SDM (order no. 325462) vol. 3C, numbered as in
//! [`crate::controls`] (older editions number each chapter one lower):
//! - 25.6.1 "Pin-Based VM-Execution Controls", bit 6 "activate
//!   VMX-preemption timer";
//! - 25.4.2 "Guest Non-Register State": the 32-bit "VMX-preemption timer
//!   value" field (encoding 482Eh, appendix B.3.3);
//! - 26.5.1 "VMX-Preemption Timer": in VMX non-root operation the timer
//!   counts down by 1 each time bit X of the TSC changes, X being
//!   IA32_VMX_MISC[4:0] (appendix A.6); at 0 it causes a VM exit with basic
//!   reason 52, "VMX-preemption timer expired" (appendix C);
//! - 27.7.4 "VMX-Preemption Timer": VM entry starts the timer from the
//!   field; a value of 0 makes the VM exit happen after any event injection
//!   and before the guest's first instruction.
//!
//! The value is written before every entry from the deadline and the TSC
//! read just then, so the exit control "save VMX-preemption timer value"
//! (25.7.1, bit 22) is not needed. Whether the processor offers the timer
//! is in IA32_VMX_PINBASED_CTLS (or its TRUE form), allowed-1 bit 6 (A.3.1).

use super::{write, SetupError, VmxVcpu};
use crate::capabilities::{MissingControls, VmxCapabilities};
use crate::controls::PinBasedControls;
use crate::fields::w32;

/// The processor's VMX-preemption timer, where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptionTimer {
    /// IA32_VMX_MISC[4:0]: the timer counts once per 2^shift TSC ticks.
    pub shift: u8,
    /// The pin-based control must be 1 (its allowed-0 setting): the timer
    /// cannot be turned off, only given its largest value.
    pub always_on: bool,
}

/// The pin-based controls the vCPU enters with (`required`, the bits the
/// processor forces) and its preemption timer, if the processor can
/// activate one. The timer starts off unless it cannot be.
pub fn pin_based_controls(
    caps: &VmxCapabilities,
    required: PinBasedControls,
) -> Result<(PinBasedControls, Option<PreemptionTimer>), MissingControls> {
    let timer = PinBasedControls::ACTIVATE_PREEMPTION_TIMER;
    let mut pin = caps.pin_based_controls(required, timer)?;
    let offered = pin.contains(timer).then(|| PreemptionTimer {
        shift: caps.misc.preemption_timer_shift,
        always_on: caps.pin.must_be_one & timer.bits() != 0,
    });
    if offered.is_some_and(|t| !t.always_on) {
        pin.remove(timer);
    }
    Ok((pin, offered))
}

/// The timer value that ends the guest's run when the TSC reaches
/// `deadline_tsc`, entering at `now_tsc`: the TSC ticks left, counted in
/// units of 2^`shift` and rounded up (the exit comes no earlier than the
/// timer's granularity allows), saturated to the 32-bit field; 0 (an exit
/// before the guest's first instruction) for a deadline already reached.
pub fn timer_value(deadline_tsc: u64, now_tsc: u64, shift: u8) -> u32 {
    let ticks = deadline_tsc.saturating_sub(now_tsc);
    let shift = u32::from(shift.min(31));
    let units = (ticks >> shift) + u64::from(ticks & ((1u64 << shift) - 1) != 0);
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// What to load before an entry for `deadline_tsc` at `now_tsc`: whether
/// the timer control is on, and the value to write when it is.
pub fn entry_setting(
    timer: PreemptionTimer,
    deadline_tsc: Option<u64>,
    now_tsc: u64,
) -> (bool, Option<u32>) {
    match deadline_tsc {
        Some(deadline) => (true, Some(timer_value(deadline, now_tsc, timer.shift))),
        None if timer.always_on => (true, Some(u32::MAX)),
        None => (false, None),
    }
}

impl VmxVcpu {
    /// The processor's VMX-preemption timer, if this vCPU can use one.
    pub fn preemption_timer(&self) -> Option<PreemptionTimer> {
        self.preemption_timer
    }

    /// Asks for a VM exit once the TSC reaches `deadline_tsc` (None: no
    /// such exit), from the next entry on. Without a preemption timer
    /// nothing changes: the host's timer interrupt remains the bound.
    pub fn set_exit_deadline(&mut self, deadline_tsc: Option<u64>) {
        self.exit_deadline_tsc = deadline_tsc;
    }

    /// Loads the control and the timer value for the entry about to happen
    /// (one VMWRITE of the value while a deadline is set, one of the
    /// pin-based controls when the timer turns on or off).
    pub(super) fn arm_preemption_timer(&mut self, now_tsc: u64) -> Result<(), SetupError> {
        let Some(timer) = self.preemption_timer else {
            return Ok(());
        };
        let (on, value) = entry_setting(timer, self.exit_deadline_tsc, now_tsc);
        if let Some(value) = value {
            write(w32::VMX_PREEMPTION_TIMER_VALUE, u64::from(value))?;
        }
        let flag = PinBasedControls::ACTIVATE_PREEMPTION_TIMER;
        if self.pin.contains(flag) != on {
            self.pin.set(flag, on);
            write(w32::PIN_BASED_CONTROLS, u64::from(self.pin.bits()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::fixtures::{
        MsrDump, BOCHS_SKYLAKE_X, CORE_I7_6700K_SKYLAKE, XEON_X5482_PENRYN,
    };

    const REQUIRED: PinBasedControls =
        PinBasedControls::EXTERNAL_INTERRUPT_EXITING.union(PinBasedControls::NMI_EXITING);

    fn controls(dump: &MsrDump) -> (PinBasedControls, Option<PreemptionTimer>) {
        let caps = VmxCapabilities::from_msrs(|m| dump.read(m)).unwrap();
        pin_based_controls(&caps, REQUIRED).unwrap()
    }

    #[test]
    fn the_timer_is_offered_where_pin_based_bit_6_may_be_one_and_starts_off() {
        // Bochs' TRUE_PINBASED_CTLS 7F_00000016h allows bit 6; MISC[4:0] = 0.
        let (pin, timer) = controls(&BOCHS_SKYLAKE_X);
        assert_eq!(
            timer,
            Some(PreemptionTimer {
                shift: 0,
                always_on: false
            })
        );
        assert!(!pin.contains(PinBasedControls::ACTIVATE_PREEMPTION_TIMER));
        assert!(pin.contains(REQUIRED));
        // Skylake counts once per 2^7 TSC ticks.
        let (_, timer) = controls(&CORE_I7_6700K_SKYLAKE);
        assert_eq!(timer.map(|t| t.shift), Some(7));
    }

    #[test]
    fn without_the_capability_there_is_no_timer_and_the_control_stays_clear() {
        // Penryn's PINBASED_CTLS 3F_00000016h: bits 0-5 only.
        let (pin, timer) = controls(&XEON_X5482_PENRYN);
        assert_eq!(timer, None);
        assert!(!pin.contains(PinBasedControls::ACTIVATE_PREEMPTION_TIMER));
        assert!(pin.contains(REQUIRED));
    }

    #[test]
    fn a_timer_the_processor_forces_on_stays_on() {
        let mut caps = VmxCapabilities::from_msrs(|m| BOCHS_SKYLAKE_X.read(m)).unwrap();
        caps.pin.must_be_one |= PinBasedControls::ACTIVATE_PREEMPTION_TIMER.bits();
        let (pin, timer) = pin_based_controls(&caps, REQUIRED).unwrap();
        assert!(pin.contains(PinBasedControls::ACTIVATE_PREEMPTION_TIMER));
        let timer = timer.unwrap();
        assert!(timer.always_on);
        assert_eq!(entry_setting(timer, None, 5), (true, Some(u32::MAX)));
    }

    #[test]
    fn the_value_counts_tsc_ticks_in_units_of_two_to_the_shift_rounded_up() {
        assert_eq!(timer_value(1_000_500, 500, 0), 1_000_000);
        assert_eq!(timer_value(1_000 + 128 * 10, 1_000, 7), 10);
        assert_eq!(timer_value(1_000 + 128 * 10 + 1, 1_000, 7), 11);
        assert_eq!(timer_value(1_000 + 127, 1_000, 7), 1);
        // The largest shift IA32_VMX_MISC[4:0] can name.
        assert_eq!(timer_value(1 << 40, 0, 31), 1 << 9);
    }

    #[test]
    fn the_value_saturates_at_the_32_bit_field() {
        assert_eq!(timer_value(u64::MAX, 0, 0), u32::MAX);
        assert_eq!(timer_value(1 << 32, 0, 0), u32::MAX);
        assert_eq!(timer_value((1 << 32) - 1, 0, 0), u32::MAX);
        assert_eq!(timer_value(1 << 37, 0, 5), u32::MAX);
        assert_eq!(timer_value(1 << 36, 0, 5), 1 << 31);
    }

    #[test]
    fn a_deadline_reached_or_past_is_value_0() {
        assert_eq!(timer_value(1_000, 1_000, 0), 0);
        assert_eq!(timer_value(999, 1_000, 5), 0);
        assert_eq!(timer_value(0, u64::MAX, 0), 0);
    }

    #[test]
    fn a_deadline_turns_the_timer_on_and_none_turns_it_off() {
        let timer = PreemptionTimer {
            shift: 5,
            always_on: false,
        };
        assert_eq!(
            entry_setting(timer, Some(10_000 + 3_200), 10_000),
            (true, Some(100))
        );
        assert_eq!(entry_setting(timer, Some(5), 10_000), (true, Some(0)));
        assert_eq!(entry_setting(timer, None, 10_000), (false, None));
    }
}
