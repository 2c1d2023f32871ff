//! Delivering external interrupts from the emulated interrupt controller to
//! the vCPU: inject when the guest can take one, otherwise ask the hardware
//! for an exit as soon as it can (Intel SDM vol. 3A, 7.8.1 "Masking Maskable
//! Hardware Interrupts"; AMD APM vol. 2, 15.20 "Event Injection" and 15.21
//! "Interrupt and Local APIC Support").

use crate::vcpu::Vcpu;

/// The guest's interrupt controller as the vCPU loop sees it (the 8259 pair
/// today; an I/O APIC later).
pub trait InterruptController {
    /// True while the controller asserts INTR to the processor.
    fn has_interrupt(&self) -> bool;
    /// The INTA cycle: the vector to deliver (acknowledging it in the controller).
    fn acknowledge(&mut self) -> u8;
}

/// What [`deliver`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing was pending.
    Idle,
    /// This vector was injected.
    Injected(u8),
    /// An interrupt is pending but the guest cannot take it yet: an
    /// interrupt-window exit was requested.
    WindowRequested,
}

/// Injects the controller's pending interrupt if the guest can take it now;
/// otherwise asks for an interrupt-window exit. The vector is only
/// acknowledged when it is really injected, so a masked guest loses nothing.
pub fn deliver(vcpu: &mut dyn Vcpu, pic: &mut dyn InterruptController) -> Delivery {
    if !pic.has_interrupt() {
        vcpu.set_interrupt_window_exiting(false);
        return Delivery::Idle;
    }
    if vcpu.interrupt_window_open() {
        vcpu.set_interrupt_window_exiting(false);
        let vector = pic.acknowledge();
        vcpu.inject_interrupt(vector);
        Delivery::Injected(vector)
    } else {
        vcpu.set_interrupt_window_exiting(true);
        Delivery::WindowRequested
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::FakeVcpu;
    use crate::vcpu::RFLAGS_IF;

    struct OneShot(Option<u8>);
    impl InterruptController for OneShot {
        fn has_interrupt(&self) -> bool {
            self.0.is_some()
        }
        fn acknowledge(&mut self) -> u8 {
            self.0.take().unwrap_or(0x0F)
        }
    }

    #[test]
    fn an_interruptible_guest_gets_the_vector_at_once() {
        let mut v = FakeVcpu {
            rflags: RFLAGS_IF | 2,
            ..Default::default()
        };
        let mut pic = OneShot(Some(0x08));
        assert_eq!(deliver(&mut v, &mut pic), Delivery::Injected(0x08));
        assert_eq!(v.interrupts, [0x08]);
        assert!(!v.window_exiting);
        assert_eq!(deliver(&mut v, &mut pic), Delivery::Idle);
    }

    #[test]
    fn with_interrupts_off_the_vector_waits_and_a_window_is_requested() {
        let mut v = FakeVcpu {
            rflags: 2,
            ..Default::default()
        };
        let mut pic = OneShot(Some(0x09));
        assert_eq!(deliver(&mut v, &mut pic), Delivery::WindowRequested);
        assert!(v.window_exiting);
        assert!(v.interrupts.is_empty());
        assert!(
            pic.has_interrupt(),
            "not acknowledged while it could not be delivered"
        );
        v.rflags |= RFLAGS_IF;
        assert_eq!(deliver(&mut v, &mut pic), Delivery::Injected(0x09));
        assert!(!v.window_exiting);
    }

    #[test]
    fn an_interrupt_shadow_or_queued_event_also_defers_delivery() {
        let mut v = FakeVcpu {
            rflags: RFLAGS_IF | 2,
            interruptible: false,
            ..Default::default()
        };
        let mut pic = OneShot(Some(0x20));
        assert_eq!(deliver(&mut v, &mut pic), Delivery::WindowRequested);
    }
}
