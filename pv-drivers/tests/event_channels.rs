//! Event channels bound, sent, masked and unmasked against the
//! hypervisor's event-channel state and shared-info page.

mod common;
use common::*;
use pv_drivers::Error;
use std::cell::RefCell;
use std::rc::Rc;
use xen_abi::errno::Errno;
use xen_abi::event_channel::VIRQ_TIMER;

type Seen = Rc<RefCell<Vec<u32>>>;

fn recorder() -> (Seen, pv_drivers::event_channel::Handler) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    (seen, Box::new(move |p| s.borrow_mut().push(p)))
}

#[test]
fn a_loopback_channel_delivers_through_the_upcall() {
    let mut g = guest();
    let a = g.events.alloc_unbound(&mut g.xen, DOMID).unwrap();
    let b = g.events.bind_interdomain(&mut g.xen, DOMID, a).unwrap();
    assert_ne!(a, b);
    let (seen, h) = recorder();
    g.events.set_handler(a, h).unwrap();
    // Binding raised `b` once (sends to an unbound end are lost): handled
    // and dropped, it has no handler.
    g.events.handle_upcall(&mut g.mem, 0).unwrap();
    g.events.send(&mut g.xen, b).unwrap();
    assert!(g.events.is_pending(&mut g.mem, a).unwrap());
    assert!(g.xen.dom.upcall_pending(&mut g.mem, 0));
    assert_eq!(g.events.handle_upcall(&mut g.mem, 0).unwrap(), 1);
    assert_eq!(*seen.borrow(), [a]);
    assert!(!g.events.is_pending(&mut g.mem, a).unwrap());
    assert!(
        !g.xen.dom.upcall_pending(&mut g.mem, 0),
        "cleared by the handler"
    );
    // Nothing more to do.
    assert_eq!(g.events.handle_upcall(&mut g.mem, 0).unwrap(), 0);
}

#[test]
fn a_masked_port_stays_pending_and_unmask_re_raises_it() {
    let mut g = guest();
    let a = g.events.alloc_unbound(&mut g.xen, DOMID).unwrap();
    let b = g.events.bind_interdomain(&mut g.xen, DOMID, a).unwrap();
    g.events.handle_upcall(&mut g.mem, 0).unwrap();
    let (seen, h) = recorder();
    g.events.set_handler(a, h).unwrap();
    g.events.mask(&mut g.mem, a).unwrap();
    g.events.send(&mut g.xen, b).unwrap();
    assert!(g.events.is_pending(&mut g.mem, a).unwrap());
    assert!(
        !g.xen.dom.upcall_pending(&mut g.mem, 0),
        "masked: no upcall"
    );
    assert_eq!(g.events.handle_upcall(&mut g.mem, 0).unwrap(), 0);
    // Unmasking a pending port: EVTCHNOP_unmask, the hypervisor re-raises.
    g.events.unmask(&mut g.xen, &mut g.mem, a).unwrap();
    assert!(!g.events.is_masked(&mut g.mem, a).unwrap());
    assert!(g.xen.dom.upcall_pending(&mut g.mem, 0));
    assert_eq!(g.events.handle_upcall(&mut g.mem, 0).unwrap(), 1);
    assert_eq!(*seen.borrow(), [a]);
    // Unmasking with nothing pending needs no hypercall.
    g.events.mask(&mut g.mem, a).unwrap();
    let before = g.xen.calls.len();
    g.events.unmask(&mut g.xen, &mut g.mem, a).unwrap();
    assert_eq!(g.xen.calls.len(), before);
    assert!(!g.events.is_masked(&mut g.mem, a).unwrap());
}

#[test]
fn virqs_bind_once_and_closed_ports_are_refused() {
    let mut g = guest();
    let t = g.events.bind_virq(&mut g.xen, VIRQ_TIMER, 0).unwrap();
    assert_eq!(
        g.events.bind_virq(&mut g.xen, VIRQ_TIMER, 0),
        Err(Error::Hypercall(Errno::EEXIST))
    );
    let ipi = g.events.bind_ipi(&mut g.xen, 0).unwrap();
    let (seen, h) = recorder();
    g.events.set_handler(ipi, h).unwrap();
    g.events.send(&mut g.xen, ipi).unwrap();
    g.events.handle_upcall(&mut g.mem, 0).unwrap();
    assert_eq!(*seen.borrow(), [ipi]);
    g.events.close(&mut g.xen, t).unwrap();
    assert!(matches!(
        g.events.close(&mut g.xen, t),
        Err(Error::Hypercall(_))
    ));
    assert!(matches!(
        g.events.send(&mut g.xen, 4000),
        Err(Error::Hypercall(_))
    ));
    // And the VIRQ can be bound again.
    g.events.bind_virq(&mut g.xen, VIRQ_TIMER, 0).unwrap();
}

#[test]
fn the_store_port_is_raised_by_the_store_backend() {
    let mut g = guest();
    let port = g.store.port();
    g.store
        .write(
            &mut g.xen,
            &mut g.mem,
            pv_drivers::xenstore::Tx::NONE,
            "data/k",
            b"v",
        )
        .unwrap();
    // The reply raised the store port; a polling client acknowledges it.
    assert!(g.events.is_pending(&mut g.mem, port).unwrap());
    assert!(g.store.ack_event(&mut g.events, &mut g.mem).unwrap());
    assert!(!g.events.is_pending(&mut g.mem, port).unwrap());
}

#[test]
fn a_timer_virq_fired_by_the_hypervisor_reaches_a_registered_vcpu_info() {
    let mut g = guest();
    // vcpu_info moved into guest RAM, as Linux does at boot.
    let at = pv_drivers::event_channel::VcpuInfoAt {
        gfn: 0x60,
        offset: 128,
    };
    g.events.register_vcpu_info(&mut g.xen, 0, at).unwrap();
    let t = g.events.bind_virq(&mut g.xen, VIRQ_TIMER, 0).unwrap();
    let (seen, h) = recorder();
    g.events.set_handler(t, h).unwrap();
    // Registration marks everything pending ("nothing lost"): drain it.
    g.events.handle_upcall(&mut g.mem, 0).unwrap();
    // A one-shot timer 1 ms ahead (set_timer_op, system time in ns).
    let now = g.xen.dom.system_time(&g.mem);
    let r = pv_drivers::Hypercall::hypercall(
        &mut g.xen,
        u64::from(xen_abi::hypercall::HYPERVISOR_SET_TIMER_OP),
        [now + 1_000_000, 0, 0, 0, 0],
    );
    assert_eq!(r, 0);
    g.xen.poll();
    assert!(seen.borrow().is_empty());
    g.mem.set_tsc(g.mem.tsc() + TSC_HZ / 100);
    g.xen.poll();
    // The upcall flag is in the registered copy, in guest RAM.
    let mut flag = [0u8];
    pv_drivers::GuestPages::read(&mut g.mem, 0x60, 128, &mut flag).unwrap();
    assert_eq!(flag, [1]);
    assert_eq!(g.events.handle_upcall(&mut g.mem, 0).unwrap(), 1);
    assert_eq!(*seen.borrow(), [t]);
    pv_drivers::GuestPages::read(&mut g.mem, 0x60, 128, &mut flag).unwrap();
    assert_eq!(flag, [0]);
    assert!(g
        .events
        .register_vcpu_info(
            &mut g.xen,
            0,
            pv_drivers::event_channel::VcpuInfoAt {
                gfn: 0x60,
                offset: 4090
            }
        )
        .is_err());
}
