//! Unit tests of every operation and error of the port table and delivery.

use super::*;
use super::{virq_is_global, DOM0};
use alloc::vec;
use xen_abi::errno::Errno;
use xen_abi::event_channel::*;
use xen_abi::memory::DOMID_SELF;

const GUEST: u16 = 1;

fn guest() -> EventChannels {
    EventChannels::new(GUEST, 2, 64)
}

fn dom0() -> EventChannels {
    EventChannels::new(DOM0, 1, 4096)
}

#[test]
fn port_0_is_reserved_and_ports_start_at_1() {
    let mut g = guest();
    assert_eq!(g.state(0), Some(PortState::Reserved));
    assert_eq!(g.alloc_unbound(DOMID_SELF, DOM0), Ok(1));
    assert_eq!(g.alloc_unbound(GUEST, DOMID_SELF), Ok(2));
    assert_eq!(g.close(None, 0), Err(Errno::EINVAL));
    assert_eq!(g.send(None, 0), Err(Errno::EINVAL));
    assert_eq!(g.bind_vcpu(0, 0), Err(Errno::EINVAL));
    assert_eq!(g.status(DOMID_SELF, 0).unwrap().status, EVTCHNSTAT_CLOSED);
}

#[test]
fn alloc_unbound_checks_domains() {
    let mut g = guest();
    assert_eq!(g.alloc_unbound(7, DOM0), Err(Errno::EPERM));
    assert_eq!(g.alloc_unbound(DOMID_SELF, 5), Err(Errno::ESRCH));
    assert_eq!(g.alloc_unbound(DOMID_SELF, 0x7FF1), Err(Errno::ESRCH));
    let p = g.alloc_unbound(DOMID_SELF, DOM0).unwrap();
    let s = g.status(DOMID_SELF, p).unwrap();
    assert_eq!((s.status, s.remote_dom()), (EVTCHNSTAT_UNBOUND, DOM0));
    // Domain 0 (the hypervisor) may reserve ports for any guest.
    let mut d = dom0();
    assert_eq!(d.alloc_unbound(DOMID_SELF, 42), Ok(1));
    assert_eq!(d.alloc_unbound(DOMID_SELF, 0x7FF0 + 4), Err(Errno::ESRCH));
}

#[test]
fn ports_are_lazy_capped_and_reused() {
    let mut g = EventChannels::new(GUEST, 1, 4);
    assert_eq!(g.valid_ports(), 1);
    assert_eq!(g.state(1), None);
    assert_eq!(g.status(DOMID_SELF, 1), Err(Errno::EINVAL));
    for want in 1..4 {
        assert_eq!(g.bind_ipi(0), Ok(want));
    }
    assert_eq!(g.bind_ipi(0), Err(Errno::ENOSPC));
    assert_eq!(g.alloc_unbound(DOMID_SELF, DOM0), Err(Errno::ENOSPC));
    // The local port is taken first: a full table is ENOSPC, not EINVAL.
    let mut d = dom0();
    assert_eq!(
        g.bind_interdomain(Some(&mut d), DOM0, 99),
        Err(Errno::ENOSPC)
    );
    g.close(None, 2).unwrap();
    assert_eq!(g.close(None, 2), Err(Errno::EINVAL));
    assert_eq!(g.bind_ipi(0), Ok(2));
    // The cap never exceeds the 2-level limit.
    let big = EventChannels::new(GUEST, 1, u32::MAX);
    assert_eq!(big.valid_ports(), 1);
    let mut full = EventChannels::new(GUEST, 1, u32::MAX);
    for _ in 1..EVTCHN_2L_NR_CHANNELS {
        full.bind_ipi(0).unwrap();
    }
    assert_eq!(full.bind_ipi(0), Err(Errno::ENOSPC));
    assert_eq!(full.valid_ports(), EVTCHN_2L_NR_CHANNELS);
}

#[test]
fn interdomain_with_dom0_both_ways() {
    let (mut g, mut d) = (guest(), dom0());
    // The backend reserves a port for the guest; the guest binds to it.
    let dport = d.alloc_unbound(DOMID_SELF, GUEST).unwrap();
    let bound = g.bind_interdomain(Some(&mut d), DOM0, dport).unwrap();
    assert_eq!(
        (bound.dom, bound.vcpu),
        (GUEST, 0),
        "raise the new port once"
    );
    let gport = bound.port;
    assert_eq!(
        g.state(gport),
        Some(PortState::Interdomain {
            remote: DOM0,
            remote_port: dport
        })
    );
    assert_eq!(
        d.state(dport),
        Some(PortState::Interdomain {
            remote: GUEST,
            remote_port: gport
        })
    );
    let s = g.status(DOMID_SELF, gport).unwrap();
    assert_eq!(
        (s.status, s.remote_dom(), s.remote_port()),
        (EVTCHNSTAT_INTERDOMAIN, 0, dport)
    );
    // Binding again to a bound port, or without the peer's table, fails.
    assert_eq!(
        g.bind_interdomain(Some(&mut d), DOM0, dport),
        Err(Errno::EINVAL)
    );
    assert_eq!(g.bind_interdomain(None, DOM0, dport), Err(Errno::ESRCH));
    assert_eq!(
        g.bind_interdomain(Some(&mut d), DOM0, 999),
        Err(Errno::EINVAL)
    );
    assert_eq!(g.bind_interdomain(Some(&mut d), 3, 1), Err(Errno::ESRCH));
    // Sends go to the other end, on its vCPU.
    d.bind_vcpu(dport, 0).unwrap();
    assert_eq!(
        g.send(Some(&d), gport),
        Ok(Some(Notify {
            dom: DOM0,
            port: dport,
            vcpu: 0
        }))
    );
    g.bind_vcpu(gport, 1).unwrap();
    assert_eq!(
        d.send(Some(&g), dport),
        Ok(Some(Notify {
            dom: GUEST,
            port: gport,
            vcpu: 1
        }))
    );
    assert_eq!(d.send(None, dport), Ok(None));
    // Closing one end leaves the other unbound, reserved for the closer.
    g.close(Some(&mut d), gport).unwrap();
    assert_eq!(d.state(dport), Some(PortState::Unbound { remote: GUEST }));
    assert_eq!(g.state(gport), Some(PortState::Free));
    assert_eq!(d.send(Some(&g), dport), Ok(None));
}

#[test]
fn a_port_reserved_for_another_domain_cannot_be_bound() {
    let (mut g, mut d) = (guest(), dom0());
    let dport = d.alloc_unbound(DOMID_SELF, 9).unwrap();
    assert_eq!(
        g.bind_interdomain(Some(&mut d), DOM0, dport),
        Err(Errno::EINVAL)
    );
    assert_eq!(d.state(dport), Some(PortState::Unbound { remote: 9 }));
}

#[test]
fn loopback_interdomain() {
    let mut g = guest();
    let a = g.alloc_unbound(DOMID_SELF, DOMID_SELF).unwrap();
    let b = g.bind_interdomain(None, DOMID_SELF, a).unwrap().port;
    assert_eq!(
        g.send(None, a),
        Ok(Some(Notify {
            dom: GUEST,
            port: b,
            vcpu: 0
        }))
    );
    assert_eq!(
        g.send(None, b),
        Ok(Some(Notify {
            dom: GUEST,
            port: a,
            vcpu: 0
        }))
    );
    g.close(None, b).unwrap();
    assert_eq!(g.state(a), Some(PortState::Unbound { remote: GUEST }));
    assert_eq!(g.send(None, a), Ok(None));
}

#[test]
fn bind_virq_rules() {
    let mut g = guest();
    let t0 = g.bind_virq(VIRQ_TIMER, 0).unwrap();
    let t1 = g.bind_virq(VIRQ_TIMER, 1).unwrap();
    assert_ne!(t0, t1);
    assert_eq!(g.bind_virq(VIRQ_TIMER, 0), Err(Errno::EEXIST));
    assert_eq!(g.bind_virq(VIRQ_TIMER, 2), Err(Errno::ENOENT));
    assert_eq!(g.bind_virq(NR_VIRQS, 0), Err(Errno::EINVAL));
    assert_eq!(g.bind_virq(VIRQ_CONSOLE, 1), Err(Errno::EINVAL));
    assert!(virq_is_global(VIRQ_CONSOLE) && !virq_is_global(VIRQ_TIMER));
    assert_eq!(g.virq_port(1, VIRQ_TIMER), Some(t1));
    let s = g.status(DOMID_SELF, t1).unwrap();
    assert_eq!(
        (s.status, s.vcpu, s.irq()),
        (EVTCHNSTAT_VIRQ, 1, VIRQ_TIMER)
    );
    // A VIRQ port cannot be sent on, and a per-vCPU one cannot move.
    assert_eq!(g.send(None, t0), Err(Errno::EINVAL));
    assert_eq!(g.bind_vcpu(t0, 1), Err(Errno::EINVAL));
    g.close(None, t0).unwrap();
    assert_eq!(g.virq_port(0, VIRQ_TIMER), None);
    assert_eq!(g.bind_virq(VIRQ_TIMER, 0), Ok(t0));
    // A global VIRQ moves, stays bound once, and closes cleanly.
    let c = g.bind_virq(VIRQ_CONSOLE, 0).unwrap();
    g.bind_vcpu(c, 1).unwrap();
    assert_eq!(g.vcpu_of(c), Some(1));
    assert_eq!(g.bind_virq(VIRQ_CONSOLE, 0), Err(Errno::EEXIST));
    g.close(None, c).unwrap();
    assert_eq!(g.virq_port(0, VIRQ_CONSOLE), None);
}

#[test]
fn bind_ipi_send_and_bind_vcpu() {
    let mut g = guest();
    assert_eq!(g.bind_ipi(2), Err(Errno::ENOENT));
    let p = g.bind_ipi(1).unwrap();
    assert_eq!(
        g.send(None, p),
        Ok(Some(Notify {
            dom: GUEST,
            port: p,
            vcpu: 1
        }))
    );
    assert_eq!(g.status(DOMID_SELF, p).unwrap().status, EVTCHNSTAT_IPI);
    assert_eq!(g.bind_vcpu(p, 0), Err(Errno::EINVAL));
    assert_eq!(g.bind_vcpu(p, 5), Err(Errno::ENOENT));
    assert_eq!(g.bind_vcpu(77, 0), Err(Errno::EINVAL));
    let u = g.alloc_unbound(DOMID_SELF, DOM0).unwrap();
    assert_eq!(g.send(None, u), Ok(None));
    g.bind_vcpu(u, 1).unwrap();
    assert_eq!(g.status(DOMID_SELF, u).unwrap().vcpu, 1);
    assert_eq!(g.status(3, u), Err(Errno::EPERM));
    assert_eq!(g.check_unmask(u), Ok(()));
    assert_eq!(g.check_unmask(4096), Err(Errno::EINVAL));
    assert_eq!(g.send(None, u32::MAX), Err(Errno::EINVAL));
    assert_eq!(g.close(None, u32::MAX), Err(Errno::EINVAL));
}

fn page() -> vec::Vec<u8> {
    vec![0u8; 4096]
}

#[test]
fn raise_sets_pending_selector_and_upcall_once() {
    let mut si = page();
    assert_eq!(set_pending(&mut si, 65, 1), Ok(true));
    assert!(is_pending(&si, 65));
    assert_eq!(vcpu_pending(&si, 1), (1 << 1, 1));
    assert_eq!(vcpu_pending(&si, 0), (0, 0));
    // Coalesced while pending; another word sets its selector only.
    assert_eq!(set_pending(&mut si, 65, 1), Ok(false));
    assert_eq!(set_pending(&mut si, 3, 1), Ok(false));
    assert_eq!(vcpu_pending(&si, 1), (0b11, 1));
    // Byte-level layout: word 1 of evtchn_pending at 0x808, bit 1.
    assert_eq!(si[0x808], 0b10);
    assert_eq!(si[64 + 8], 0b11);
    assert_eq!(si[64], 1);
}

#[test]
fn masked_ports_stay_quiet_until_unmasked() {
    let mut si = page();
    si[0xA00] = 1 << 5; // mask port 5
    assert_eq!(set_pending(&mut si, 5, 0), Ok(false));
    assert!(is_pending(&si, 5) && is_masked(&si, 5));
    assert_eq!(vcpu_pending(&si, 0), (0, 0));
    assert_eq!(unmask(&mut si, 5, 0), Ok(true));
    assert!(!is_masked(&si, 5));
    assert_eq!(vcpu_pending(&si, 0), (1, 1));
    // Closing a port clears its pending bit (evtchn_free()).
    assert_eq!(clear_pending(&mut si, 5), Ok(()));
    assert!(!is_pending(&si, 5));
    assert_eq!(clear_pending(&mut si, 4096), Err(Errno::EINVAL));
    assert_eq!(vcpu_pending(&si, 0), (1, 1), "the selector is the guest's");
    assert_eq!(set_pending(&mut si, 5, 0), Ok(false));
    // Unmasking an unmasked or non-pending port does nothing.
    assert_eq!(unmask(&mut si, 5, 0), Ok(false));
    si[0xA00] = 1 << 6;
    assert_eq!(unmask(&mut si, 6, 0), Ok(false));
    assert_eq!(vcpu_pending(&si, 0), (1, 1));
}

#[test]
fn upcall_already_pending_is_not_injected_again() {
    let mut si = page();
    si[0] = 1;
    assert_eq!(set_pending(&mut si, 1, 0), Ok(false));
    assert_eq!(vcpu_pending(&si, 0), (1, 1));
}

#[test]
fn delivery_rejects_bad_input() {
    let mut short = vec![0u8; SHARED_INFO_LEN - 1];
    assert_eq!(set_pending(&mut short, 1, 0), Err(Errno::EFAULT));
    assert_eq!(unmask(&mut short, 1, 0), Err(Errno::EFAULT));
    let mut si = page();
    assert_eq!(set_pending(&mut si, 4096, 0), Err(Errno::EINVAL));
    assert_eq!(set_pending(&mut si, 1, 32), Err(Errno::EINVAL));
    assert_eq!(unmask(&mut si, u32::MAX, 0), Err(Errno::EINVAL));
    assert!(!is_pending(&short, 1) && !is_masked(&si, 9999));
    assert_eq!(vcpu_pending(&si, 99), (0, 0));
    assert!(si.iter().all(|&b| b == 0));
    // The last port lands in the last word's top bit.
    assert_eq!(set_pending(&mut si, 4095, 31), Ok(true));
    assert_eq!(si[0x9FF], 0x80);
    assert_eq!(vcpu_pending(&si, 31), (1 << 63, 1));
}
