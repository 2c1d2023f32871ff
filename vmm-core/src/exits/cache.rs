//! INVD and WBINVD: cache flushes the guest asks for.
//!
//! INVD invalidates the processor's caches *without* writing modified lines
//! back (Intel SDM vol. 2A, "INVD—Invalidate Internal Caches"; AMD APM vol. 3,
//! "INVD"). Run natively, a guest's INVD would throw away the hypervisor's
//! own dirty lines too, so the backends make it exit: VT-x always does
//! (Intel SDM vol. 3C, 26.1.2 "Instructions That Cause VM Exits
//! Unconditionally") and SVM does with the INVD intercept (AMD APM vol. 2,
//! 15.9 "Instruction Intercepts"; `svm::intercepts::default_misc1`).
//!
//! Both instructions are completed here as WBINVD, by stepping over them
//! (the processor has already checked CPL 0 before the exit: SDM vol. 3C,
//! 26.1.1 "Relative Priority of Faults and VM Exits"). Doing so for INVD is
//! what the manuals allow: INVD only promises that modified data *may* be
//! lost, never that it is, so a write-back in its place is a correct
//! implementation. Nothing needs to be flushed in the hypervisor either: guest
//! RAM is ordinary write-back memory, mapped write-back in the second-level
//! tables, and the caches are coherent with every device the guest reaches
//! (its DMA is emulated by the hypervisor through the same caches), so no
//! later access can observe a difference between a flushed and an unflushed
//! cache. A WBINVD executed here would only cost time on every processor.

use super::flow::Flow;
use super::instruction::complete;
use crate::domain::Domain;
use crate::vcpu::Vcpu;

/// INVD, WBINVD or WBNOINVD: nothing to write back, step over the instruction.
pub(super) fn handle_cache_flush(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Flow {
    complete(vcpu, dom, None)
}

#[cfg(test)]
mod tests {
    use super::super::{handle_exit, Flow};
    use crate::domain::Domain;
    use crate::guest_config::GuestConfig;
    use crate::guest_memory::test_memory;
    use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
    use crate::vcpu::VmExit;
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use core::cell::Cell;

    /// A console that drops what it is sent.
    use crate::test_support::Discard;

    /// A domain with 1 MiB of RAM and no console.
    fn domain() -> Domain {
        Domain::new(
            1,
            GuestConfig::default(),
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            Rc::new(FakeClock(Rc::new(Cell::new(0)))),
            0,
        )
        .unwrap()
    }

    fn run(bytes: &[u8], exit: VmExit) -> (Flow, FakeVcpu) {
        let mut dom = domain();
        dom.memory.write(0x7C00, bytes).unwrap();
        let mut v = FakeVcpu::at(0, 0x7C00);
        let flow = handle_exit(&mut v, &mut dom, exit, &FakeHost::default());
        (flow, v)
    }

    #[test]
    fn invd_is_completed_as_wbinvd_and_the_guest_goes_on() {
        let (flow, v) = run(&[0x0F, 0x08], VmExit::Invd); // invd
        assert_eq!(flow, Flow::Continue);
        assert_eq!(v.rip, 0x7C02);
        assert!(v.injected.is_empty());
    }

    #[test]
    fn an_intercepted_wbinvd_is_skipped() {
        let (flow, v) = run(&[0x0F, 0x09], VmExit::Wbinvd); // wbinvd
        assert_eq!(flow, Flow::Continue);
        assert_eq!(v.rip, 0x7C02);
        assert!(v.injected.is_empty());
    }

    #[test]
    fn a_wbnoinvd_is_skipped_past_its_prefix() {
        let (flow, v) = run(&[0xF3, 0x0F, 0x09], VmExit::Wbinvd); // wbnoinvd
        assert_eq!(flow, Flow::Continue);
        assert_eq!(v.rip, 0x7C03);
    }
}
