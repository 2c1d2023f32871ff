//! Delivering the event-channel upcall: with the global callback vector
//! (`HVM_PARAM_CALLBACK_IRQ` type 2) the vector is injected as an external
//! interrupt, ahead of the 8259's, whenever vCPU 0's
//! `evtchn_upcall_pending` is set and the guest can take an interrupt
//! (Xen's `hvm_vcpu_has_pending_irq()` checks it first; no LAPIC, no EOI).
//! The flag is a level: after the handler's IRET, still set means deliver
//! again.

use super::guest_access::split;
use crate::domain::Domain;
use crate::interrupts::InterruptController;
use xen_services::hvm::Upcall;

/// Host-side Xen work before an entry (timers, console), then the
/// callback vector to deliver, if any.
pub fn poll(dom: &mut Domain, tsc: u64) -> Option<u8> {
    // An unplug request (ports 10h-1Fh) is answered before the guest's
    // drivers probe: the emulated disks go when PV disks serve them (else
    // the board keeps them and says so once).
    if let Some(mask) = dom.board.take_unplug_request() {
        let served = dom.xen.as_ref().is_some_and(|x| !x.disks.is_empty());
        let outcome = dom.board.honour_unplug(mask, served);
        if outcome.disks_detached > 0 {
            log::info!(
                "xen platform: {} emulated IDE disk(s) unplugged; the guest's blkfront takes over",
                outcome.disks_detached
            );
        }
    }
    super::pv_disks::serve(dom, tsc);
    let typed = dom.board.take_hvc_input();
    let (xen, mut guest) = split(dom, None, tsc)?;
    if !typed.is_empty() {
        xen.console_input(&typed);
    }
    xen.poll(&mut guest);
    xen.poll_console(&mut guest);
    let pending = xen.upcall_pending(&mut guest, 0);
    let upcall = xen.upcall();
    // The INTx fallback is a level that follows vCPU 0's flag.
    dom.board
        .set_xen_event_pending(upcall == Upcall::Line && pending);
    match upcall {
        Upcall::Vector(v) if pending => Some(v),
        _ => None,
    }
}

/// True when the Xen platform can wake a halted guest by itself (a
/// callback is set, so timers and backends reach it).
pub fn can_wake(dom: &Domain) -> bool {
    dom.xen
        .as_ref()
        .is_some_and(|x| x.domain.upcall() != Upcall::None)
}

/// The domain's interrupt sources in priority order: the upcall vector,
/// then the board's controller.
pub struct Sources<'a, C: InterruptController + ?Sized> {
    pub upcall: Option<u8>,
    pub board: &'a mut C,
}

impl<C: InterruptController + ?Sized> InterruptController for Sources<'_, C> {
    fn has_interrupt(&self) -> bool {
        self.upcall.is_some() || self.board.has_interrupt()
    }

    fn acknowledge(&mut self) -> u8 {
        match self.upcall.take() {
            Some(v) => v,
            None => self.board.acknowledge(),
        }
    }
}
