//! Randomised hostile sequences against a guest's table and domain 0's:
//! no panic, and the invariants hold after every step.

use super::DOM0;
use super::*;
use alloc::vec;
use alloc::vec::Vec;
use test_rng::XorShift;
use xen_abi::event_channel::{EvtchnPort, EVTCHN_2L_NR_CHANNELS, NR_VIRQS};
use xen_abi::memory::DOMID_SELF;

const GUEST: u16 = 3;

/// A port number a hostile guest might pass: mostly small, sometimes huge.
fn any_port(rng: &mut XorShift) -> EvtchnPort {
    match rng.below(8) {
        0 => rng.next() as u32,
        1 => 4090 + rng.below(10) as u32,
        _ => rng.below(40) as u32,
    }
}

fn any_dom(rng: &mut XorShift) -> u16 {
    [DOM0, GUEST, DOMID_SELF, 7, 0x7FF1, rng.next() as u16][rng.below(6) as usize]
}

/// Every table is self-consistent and interdomain ends mirror each other.
fn check(t: &EventChannels, peer: &EventChannels, nr_vcpus: u32) {
    let mut virq_ports = Vec::new();
    for port in 0..t.valid_ports() {
        let state = t.state(port).unwrap();
        assert_eq!(
            state == PortState::Reserved,
            port == 0,
            "only port 0 is reserved"
        );
        let vcpu = t.vcpu_of(port).unwrap();
        assert!(vcpu < nr_vcpus);
        match state {
            PortState::Interdomain {
                remote,
                remote_port,
            } => {
                let other = if remote == t.domid() { t } else { peer };
                assert_eq!(other.domid(), remote);
                let back = PortState::Interdomain {
                    remote: t.domid(),
                    remote_port: port,
                };
                assert_eq!(other.state(remote_port), Some(back), "ends mirror");
            }
            PortState::Virq(virq) => {
                assert!(virq < NR_VIRQS);
                virq_ports.push(port);
            }
            _ => {}
        }
    }
    // The VIRQ lookup names each VIRQ port exactly once, and nothing else.
    let mut named = Vec::new();
    for vcpu in 0..nr_vcpus {
        for virq in 0..NR_VIRQS {
            if let Some(p) = t.virq_port(vcpu, virq) {
                assert_eq!(t.state(p), Some(PortState::Virq(virq)));
                named.push(p);
            }
        }
    }
    named.sort_unstable();
    assert_eq!(named, virq_ports);
}

#[test]
fn hostile_event_channel_sequences() {
    let mut rng = XorShift::per_run("hostile_event_channel_sequences", 0xE7C4);
    let mut raised = 0;
    for _ in 0..40 {
        let (gv, dv) = (1 + rng.below(3) as u32, 1);
        let mut g = EventChannels::new(GUEST, gv, 1 + rng.below(70) as u32);
        let mut d = EventChannels::new(DOM0, dv, 1 + rng.below(70) as u32);
        let mut gpage = vec![0u8; 4096];
        let mut dpage = vec![0u8; 4096];
        for _ in 0..400 {
            let on_guest = rng.below(4) != 0;
            let (me, other, page) = if on_guest {
                (&mut g, &mut d, &mut gpage)
            } else {
                (&mut d, &mut g, &mut dpage)
            };
            let port = any_port(&mut rng);
            let vcpu = rng.below(4) as u32;
            match rng.below(10) {
                0 => {
                    let _ = me.alloc_unbound(any_dom(&mut rng), any_dom(&mut rng));
                }
                1 => {
                    let dom = any_dom(&mut rng);
                    let peer = rng.below(2) == 0;
                    if let Ok(n) = me.bind_interdomain(peer.then_some(&mut *other), dom, port) {
                        assert!(me.is_bound(n.port) && n.dom == me.domid());
                        set_pending(page, n.port, n.vcpu).unwrap();
                    }
                }
                2 => {
                    let _ = me.bind_virq(rng.below(NR_VIRQS as u64 + 2) as u32, vcpu);
                }
                3 => {
                    let _ = me.bind_ipi(vcpu);
                }
                4 => {
                    if me.close(Some(&mut *other), port).is_ok() {
                        clear_pending(page, port).unwrap();
                    }
                }
                5 => {
                    let _ = me.bind_vcpu(port, vcpu);
                }
                6 => {
                    let _ = me.status(any_dom(&mut rng), port);
                }
                7 => {
                    // The guest scribbles on its mask bits.
                    let i = 0xA00 + rng.below(0x200) as usize;
                    page[i] ^= rng.byte();
                }
                8 => {
                    if me.check_unmask(port).is_ok() {
                        let v = me.vcpu_of(port).unwrap();
                        let _ = unmask(page, port, v);
                    }
                }
                _ => {
                    if let Ok(Some(n)) = me.send(Some(&*other), port) {
                        let (target, tpage) = if n.dom == me.domid() {
                            (&*me, &mut *page)
                        } else {
                            let tp = if on_guest { &mut dpage } else { &mut gpage };
                            (&*other, tp)
                        };
                        assert!(target.is_bound(n.port), "raise only bound ports");
                        assert_eq!(target.vcpu_of(n.port), Some(n.vcpu));
                        let injected = set_pending(tpage, n.port, n.vcpu).unwrap();
                        raised += 1;
                        assert!(is_pending(tpage, n.port));
                        if injected {
                            assert_eq!(vcpu_pending(tpage, n.vcpu).1, 1);
                        }
                    }
                }
            }
            check(&g, &d, gv);
            check(&d, &g, dv);
            // Pending bits only for bound ports: close clears them.
            for port in 0..EVTCHN_2L_NR_CHANNELS {
                assert!(
                    !is_pending(&gpage, port) || g.is_bound(port),
                    "guest port {port}"
                );
                assert!(
                    !is_pending(&dpage, port) || d.is_bound(port),
                    "dom0 port {port}"
                );
            }
        }
    }
    assert!(raised > 50, "the sequences raise events ({raised})");
}
