//! A nested page fault the processor took while it delivered an event:
//! reading the IDT gate (or the GDT descriptor it names) or pushing the
//! frame onto the stack touched guest-physical memory the second-level
//! tables do not map (AMD APM vol. 2, 15.7.2 "Intercepts During IDT Interrupt
//! Delivery"; Intel SDM vol. 3C, 25.9.3 "Information for VM Exits That Occur
//! During Event Delivery").
//!
//! The instruction at RIP did not make this access and must not be emulated:
//! doing so (and injecting #UD for an instruction the emulator does not
//! know, such as the INT3 whose delivery faulted) replaced the re-queued
//! event and the guest looped forever. Instead:
//!
//! - Nothing backs the address (no RAM, no device): the IDT or stack is
//!   unreadable, and whatever the processor raised for it would be
//!   undeliverable the same way, so delivery ends in a double fault (SDM
//!   vol. 3A, 7.15 "Interrupt 8—Double Fault Exception (#DF)", table 7-5;
//!   AMD APM vol. 2, 8.2.9). #DF is injected at once, with error code 0 (none
//!   in real mode, where exceptions push no error code), in place of the
//!   event the backend queued again. A #DF handler on a stack of its own
//!   (an IST entry, a task gate) still runs, as on hardware.
//! - The event being delivered was that #DF: a fault while delivering a
//!   double fault is a triple fault, and the processor shuts down (SDM vol.
//!   3A, 7.15; AMD APM vol. 2, 8.2.9): the guest is stopped and reported,
//!   [`StopReason::TripleFault`].
//! - A device or ROM backs the address (an IDT or a stack in MMIO, a frame
//!   pushed onto ROM): the processor would have completed the delivery
//!   through the device, which the hypervisor cannot do on its behalf, so
//!   the guest is stopped and reported, [`StopReason::UnemulatedEventDelivery`].

use super::flow::Flow;
use super::instruction::inject;
use super::stop::StopReason;
use crate::domain::Domain;
use crate::vcpu::{vector, DeliveredEvent, Exception, Vcpu, CR0_PE};

/// Handles a nested page fault at `gpa` (a write if `write`) taken while
/// delivering `event`.
pub(super) fn handle_fault_during_delivery(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    gpa: u64,
    write: bool,
    event: DeliveredEvent,
) -> Flow {
    let backed = dom.memory.read(gpa, &mut [0]).is_ok() || dom.mmio.claims(gpa);
    if backed {
        return Flow::Stop(StopReason::UnemulatedEventDelivery {
            gpa,
            write,
            vector: event.vector,
        });
    }
    if event.is_double_fault() {
        return Flow::Stop(StopReason::TripleFault);
    }
    let protected = vcpu.control_regs().cr0 & CR0_PE != 0;
    let double_fault = Exception {
        vector: vector::DF,
        error_code: protected.then_some(0),
    };
    inject(
        vcpu,
        dom,
        double_fault,
        "delivering an event through guest-physical memory nothing backs",
    );
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::super::{handle_exit, Flow, StopReason};
    use crate::domain::Domain;
    use crate::guest_config::GuestConfig;
    use crate::guest_memory::test_memory;
    use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
    use crate::vcpu::{vector, DeliveredEvent, EventKind, Exception, VmExit, CR0_PE};
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use alloc::vec;
    use core::cell::Cell;
    use device_model::mmio_bus::MmioDevice;

    /// Where the tests' guests put their IDT: above the 1 MiB of RAM.
    const IDT_BASE: u64 = 0xC000_0000;

    /// A console that drops what it is sent.
    use crate::test_support::Discard;

    /// A device that reads zeros and drops writes.
    struct Zeros;
    impl MmioDevice for Zeros {
        fn read(&mut self, _: u64, _: u8) -> u64 {
            0
        }
        fn write(&mut self, _: u64, _: u8, _: u64) {}
    }

    /// A domain with 1 MiB of RAM and `int3` at 0000:7C00.
    fn domain() -> Domain {
        let mut dom = Domain::new(
            1,
            GuestConfig::default(),
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            Rc::new(FakeClock(Rc::new(Cell::new(0)))),
            0,
        )
        .unwrap();
        dom.memory.write(0x7C00, &[0xCC]).unwrap(); // int3
        dom
    }

    /// A protected-mode guest at the `int3`.
    fn protected_mode_guest() -> FakeVcpu {
        let mut v = FakeVcpu::at(0, 0x7C00);
        v.cr.cr0 |= CR0_PE;
        v
    }

    fn fault_delivering(gpa: u64, write: bool, vector: u8, kind: EventKind) -> VmExit {
        VmExit::NestedPageFaultDuringDelivery {
            gpa,
            write,
            event: DeliveredEvent { vector, kind },
        }
    }

    #[test]
    fn an_idt_nothing_backs_turns_the_event_into_a_double_fault() {
        let mut dom = domain();
        let mut v = protected_mode_guest();
        // INT3's gate is read at IDT_BASE + 3 * 8.
        let exit = fault_delivering(IDT_BASE + 0x18, false, 3, EventKind::Software);
        let flow = handle_exit(&mut v, &mut dom, exit, &FakeHost::default());
        assert_eq!(flow, Flow::Continue);
        assert_eq!(
            v.injected,
            vec![Exception {
                vector: vector::DF,
                error_code: Some(0)
            }]
        );
        assert_eq!(v.rip, 0x7C00, "the instruction at RIP is not emulated");
    }

    #[test]
    fn a_fault_while_delivering_the_double_fault_is_a_triple_fault() {
        let mut dom = domain();
        let mut v = protected_mode_guest();
        let exit = fault_delivering(IDT_BASE + 0x40, false, vector::DF, EventKind::Exception);
        let flow = handle_exit(&mut v, &mut dom, exit, &FakeHost::default());
        assert_eq!(flow, Flow::Stop(StopReason::TripleFault));
        assert!(v.injected.is_empty());
        assert_eq!(v.rip, 0x7C00);
    }

    #[test]
    fn the_double_fault_after_the_whole_livelock_sequence_ends_in_a_triple_fault() {
        // INT3 faults, its #DF faults too: the guest stops instead of looping.
        let mut dom = domain();
        let mut v = protected_mode_guest();
        let host = FakeHost::default();
        let int3 = fault_delivering(IDT_BASE + 0x18, false, 3, EventKind::Software);
        assert_eq!(handle_exit(&mut v, &mut dom, int3, &host), Flow::Continue);
        let injected = v.injected[0];
        let df = fault_delivering(
            IDT_BASE + 0x40,
            false,
            injected.vector,
            EventKind::Exception,
        );
        assert_eq!(
            handle_exit(&mut v, &mut dom, df, &host),
            Flow::Stop(StopReason::TripleFault)
        );
    }

    #[test]
    fn a_real_mode_interrupt_on_vector_8_is_no_double_fault_and_its_df_has_no_error_code() {
        // IRQ0 through a real-mode PIC is vector 8; its frame push to a
        // stack above RAM faults.
        let mut dom = domain();
        let mut v = FakeVcpu::at(0, 0x7C00);
        let exit = fault_delivering(0x10_FFFE, true, 8, EventKind::ExternalInterrupt);
        let flow = handle_exit(&mut v, &mut dom, exit, &FakeHost::default());
        assert_eq!(flow, Flow::Continue);
        assert_eq!(
            v.injected,
            vec![Exception {
                vector: vector::DF,
                error_code: None
            }]
        );
        assert_eq!(v.rip, 0x7C00);
    }

    #[test]
    fn delivery_through_a_device_stops_the_guest_and_says_so() {
        let mut dom = domain();
        dom.mmio
            .register(IDT_BASE, 0x1000, Box::new(Zeros))
            .unwrap();
        let mut v = protected_mode_guest();
        let exit = fault_delivering(IDT_BASE + 0x18, false, 3, EventKind::Software);
        let flow = handle_exit(&mut v, &mut dom, exit, &FakeHost::default());
        assert_eq!(
            flow,
            Flow::Stop(StopReason::UnemulatedEventDelivery {
                gpa: IDT_BASE + 0x18,
                write: false,
                vector: 3
            })
        );
        assert!(v.injected.is_empty());
        assert_eq!(v.rip, 0x7C00);
    }
}
