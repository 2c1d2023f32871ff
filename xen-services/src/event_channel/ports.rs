//! One domain's event-channel port table (`xen/common/event_channel.c`,
//! operations of `xen/include/public/event_channel.h`).
//!
//! Ports are allocated lowest-free-first like Xen's `get_free_port()`; the
//! table grows lazily (a port above the highest ever allocated is not valid,
//! as Xen's `port_is_valid()` refuses ports outside the allocated buckets)
//! and never beyond the per-domain cap, itself at most
//! [`EVTCHN_2L_NR_CHANNELS`]. Port 0 is reserved (`ECS_RESERVED` in Xen):
//! valid, never allocated, and `close`/`send`/`bind_vcpu` on it fail with
//! `-EINVAL`.
//!
//! Error returns, as `event_channel.c` gives them: a port that is not valid
//! or not in a state the operation accepts → `EINVAL`; a vCPU that does not
//! exist → `ENOENT`; a VIRQ already bound on that vCPU → `EEXIST`; a full
//! table → `ENOSPC`; a remote domain that does not exist → `ESRCH`; a guest
//! acting on another domain's table → `EPERM`.

use alloc::vec::Vec;
use xen_abi::errno::Errno;
use xen_abi::event_channel::{
    EvtchnPort, EvtchnStatus, EVTCHNSTAT_CLOSED, EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI,
    EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ, EVTCHN_2L_NR_CHANNELS, NR_VIRQS,
};
use xen_abi::memory::{DomId, DOMID_FIRST_RESERVED, DOMID_SELF};

use super::state::{virq_is_global, Notify, PortState, DOM0};

#[derive(Clone, Copy, Debug)]
struct Port {
    state: PortState,
    vcpu: u32,
}

/// A domain's port table.
#[derive(Clone, Debug)]
pub struct EventChannels {
    domid: DomId,
    nr_vcpus: u32,
    max_ports: u32,
    ports: Vec<Port>,
    /// Per vCPU, per VIRQ: the bound port or 0 (Xen's `v->virq_to_evtchn`).
    virqs: Vec<[EvtchnPort; NR_VIRQS as usize]>,
}

impl EventChannels {
    /// An empty table for domain `domid` with `nr_vcpus` vCPUs and room for
    /// ports `1..max_ports` (capped at [`EVTCHN_2L_NR_CHANNELS`]).
    pub fn new(domid: DomId, nr_vcpus: u32, max_ports: u32) -> Self {
        let max_ports = max_ports.clamp(1, EVTCHN_2L_NR_CHANNELS);
        let ports = alloc::vec![Port {
            state: PortState::Reserved,
            vcpu: 0
        }];
        Self {
            domid,
            nr_vcpus,
            max_ports,
            ports,
            virqs: (0..nr_vcpus).map(|_| [0; NR_VIRQS as usize]).collect(),
        }
    }

    /// The domain this table belongs to.
    pub const fn domid(&self) -> DomId {
        self.domid
    }

    /// Ports currently valid (allocated at least once), port 0 included.
    pub fn valid_ports(&self) -> u32 {
        self.ports.len() as u32
    }

    /// The state of `port`, `None` if it is not valid.
    pub fn state(&self, port: EvtchnPort) -> Option<PortState> {
        self.ports.get(port as usize).map(|p| p.state)
    }

    /// The vCPU `port` is delivered to, `None` if it is not valid.
    pub fn vcpu_of(&self, port: EvtchnPort) -> Option<u32> {
        self.ports.get(port as usize).map(|p| p.vcpu)
    }

    /// The port bound to `virq` on `vcpu`, if any.
    pub fn virq_port(&self, vcpu: u32, virq: u32) -> Option<EvtchnPort> {
        let port = *self.virqs.get(vcpu as usize)?.get(virq as usize)?;
        (port != 0).then_some(port)
    }

    fn port(&self, port: EvtchnPort) -> Result<Port, Errno> {
        self.ports.get(port as usize).copied().ok_or(Errno::EINVAL)
    }

    fn set(&mut self, port: EvtchnPort, state: PortState, vcpu: u32) {
        self.ports[port as usize] = Port { state, vcpu };
    }

    /// `get_free_port()`: the lowest free port, growing the table by one
    /// when every valid port is in use; `ENOSPC` at the cap.
    fn get_free_port(&mut self) -> Result<EvtchnPort, Errno> {
        if let Some(i) = self.ports.iter().position(|p| p.state == PortState::Free) {
            return Ok(i as EvtchnPort);
        }
        if self.valid_ports() >= self.max_ports {
            return Err(Errno::ENOSPC);
        }
        self.ports.push(Port {
            state: PortState::Free,
            vcpu: 0,
        });
        Ok(self.valid_ports() - 1)
    }

    /// Resolves `DOMID_SELF` and checks that the table may talk to `dom`: a
    /// guest only to itself and domain 0; domain 0 (the hypervisor) to any
    /// ordinary domain.
    fn remote_domain(&self, dom: DomId) -> Result<DomId, Errno> {
        let dom = if dom == DOMID_SELF { self.domid } else { dom };
        let allowed = if self.domid == DOM0 {
            dom < DOMID_FIRST_RESERVED
        } else {
            dom == self.domid || dom == DOM0
        };
        if allowed {
            Ok(dom)
        } else {
            Err(Errno::ESRCH)
        }
    }

    /// `EVTCHNOP_alloc_unbound` in this domain (`dom` must be `DOMID_SELF`
    /// or this domain: `EPERM` otherwise, as XSM refuses an unprivileged
    /// caller): a new port `remote_dom` may bind to.
    pub fn alloc_unbound(&mut self, dom: DomId, remote_dom: DomId) -> Result<EvtchnPort, Errno> {
        if dom != DOMID_SELF && dom != self.domid {
            return Err(Errno::EPERM);
        }
        let remote = self.remote_domain(remote_dom)?;
        let port = self.get_free_port()?;
        self.set(port, PortState::Unbound { remote }, 0);
        Ok(port)
    }

    /// `EVTCHNOP_bind_interdomain` to `remote_port` of `remote_dom`, which
    /// must be unbound and reserved for this domain (`EINVAL` otherwise; a
    /// full local table is `ENOSPC` first, as `evtchn_bind_interdomain()`
    /// takes the local port before it looks at the remote one). `remote` is
    /// the other domain's table (the hypervisor's domain 0), or `None` when
    /// binding to this domain itself (a loopback). The new local port is
    /// bound to vCPU 0 and the remote one keeps its vCPU.
    ///
    /// Returns the new local port as a [`Notify`]: like Xen, the caller
    /// raises it once at once ([`super::set_pending`]), since notifications
    /// sent to the remote port while it was unbound were dropped.
    pub fn bind_interdomain(
        &mut self,
        remote: Option<&mut EventChannels>,
        remote_dom: DomId,
        remote_port: EvtchnPort,
    ) -> Result<Notify, Errno> {
        let rdom = self.remote_domain(remote_dom)?;
        let me = self.domid;
        let other = match remote {
            _ if rdom == me => None,
            Some(t) if t.domid == rdom => Some(t),
            _ => return Err(Errno::ESRCH),
        };
        let lport = self.get_free_port()?;
        let r = match &other {
            Some(t) => t.port(remote_port)?,
            None => self.port(remote_port)?,
        };
        if r.state != (PortState::Unbound { remote: me }) {
            return Err(Errno::EINVAL);
        }
        let local = PortState::Interdomain {
            remote: rdom,
            remote_port,
        };
        self.set(lport, local, 0);
        let back = PortState::Interdomain {
            remote: me,
            remote_port: lport,
        };
        match other {
            Some(t) => t.set(remote_port, back, r.vcpu),
            None => self.set(remote_port, back, r.vcpu),
        }
        Ok(Notify {
            dom: me,
            port: lport,
            vcpu: 0,
        })
    }

    /// `EVTCHNOP_bind_virq`: `EINVAL` for an unknown VIRQ or a global one
    /// on a vCPU other than 0, `ENOENT` for a missing vCPU, `EEXIST` if the
    /// VIRQ is already bound on that vCPU.
    pub fn bind_virq(&mut self, virq: u32, vcpu: u32) -> Result<EvtchnPort, Errno> {
        if virq >= NR_VIRQS || (virq_is_global(virq) && vcpu != 0) {
            return Err(Errno::EINVAL);
        }
        if vcpu >= self.nr_vcpus {
            return Err(Errno::ENOENT);
        }
        if self.virq_port(vcpu, virq).is_some() {
            return Err(Errno::EEXIST);
        }
        let port = self.get_free_port()?;
        self.set(port, PortState::Virq(virq), vcpu);
        self.virqs[vcpu as usize][virq as usize] = port;
        Ok(port)
    }

    /// `EVTCHNOP_bind_ipi`: `ENOENT` for a missing vCPU.
    pub fn bind_ipi(&mut self, vcpu: u32) -> Result<EvtchnPort, Errno> {
        if vcpu >= self.nr_vcpus {
            return Err(Errno::ENOENT);
        }
        let port = self.get_free_port()?;
        self.set(port, PortState::Ipi, vcpu);
        Ok(port)
    }

    /// `EVTCHNOP_close`: frees `port`. An interdomain port's other end goes
    /// back to unbound, reserved for this domain, as `evtchn_close()` does;
    /// `remote` is the other end's table (`None` for a loopback, or when
    /// that domain is gone). `EINVAL` for an invalid, free or reserved port.
    /// The port's vCPU goes back to 0; the caller then clears its pending
    /// bit with [`super::delivery::clear_pending`], as `evtchn_free()` does.
    pub fn close(
        &mut self,
        remote: Option<&mut EventChannels>,
        port: EvtchnPort,
    ) -> Result<(), Errno> {
        let p = self.port(port)?;
        match p.state {
            PortState::Free | PortState::Reserved => return Err(Errno::EINVAL),
            PortState::Virq(virq) => {
                let owner = if virq_is_global(virq) { 0 } else { p.vcpu };
                let slot = &mut self.virqs[owner as usize][virq as usize];
                if *slot == port {
                    *slot = 0;
                }
            }
            PortState::Interdomain {
                remote: rdom,
                remote_port,
            } => {
                let me = self.domid;
                let back = PortState::Unbound { remote: me };
                let peer = (
                    PortState::Interdomain {
                        remote: me,
                        remote_port: port,
                    },
                    back,
                );
                if rdom == me {
                    if self.state(remote_port) == Some(peer.0) {
                        let vcpu = self.ports[remote_port as usize].vcpu;
                        self.set(remote_port, back, vcpu);
                    }
                } else if let Some(other) = remote.filter(|t| t.domid == rdom) {
                    if other.state(remote_port) == Some(peer.0) {
                        let vcpu = other.ports[remote_port as usize].vcpu;
                        other.set(remote_port, back, vcpu);
                    }
                }
            }
            PortState::Unbound { .. } | PortState::Ipi => {}
        }
        self.set(port, PortState::Free, 0);
        Ok(())
    }

    /// `EVTCHNOP_send` on `port`: where the event must be raised. An
    /// unbound port drops it silently (`Ok(None)`, as `evtchn_send()`
    /// does); an interdomain port raises the other end, whose vCPU is read
    /// from `remote` (the other domain's table; `None` for a loopback, and a
    /// missing peer drops the event); an IPI port raises itself; anything
    /// else (free, reserved, VIRQ) is `EINVAL`.
    pub fn send(
        &self,
        remote: Option<&EventChannels>,
        port: EvtchnPort,
    ) -> Result<Option<Notify>, Errno> {
        let p = self.port(port)?;
        match p.state {
            PortState::Unbound { .. } => Ok(None),
            PortState::Ipi => Ok(Some(Notify {
                dom: self.domid,
                port,
                vcpu: p.vcpu,
            })),
            PortState::Interdomain {
                remote: rdom,
                remote_port,
            } => {
                let peer = if rdom == self.domid {
                    Some(self)
                } else {
                    remote.filter(|t| t.domid == rdom)
                };
                Ok(peer
                    .and_then(|t| t.vcpu_of(remote_port))
                    .map(|vcpu| Notify {
                        dom: rdom,
                        port: remote_port,
                        vcpu,
                    }))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `EVTCHNOP_status` of `port` in `dom` (`DOMID_SELF` or this domain,
    /// `EPERM` otherwise): `EINVAL` for an invalid port; free and reserved
    /// ports read as closed.
    pub fn status(&self, dom: DomId, port: EvtchnPort) -> Result<EvtchnStatus, Errno> {
        if dom != DOMID_SELF && dom != self.domid {
            return Err(Errno::EPERM);
        }
        let p = self.port(port)?;
        let mut s = EvtchnStatus {
            dom,
            port,
            vcpu: p.vcpu,
            ..EvtchnStatus::default()
        };
        match p.state {
            PortState::Free | PortState::Reserved => s.status = EVTCHNSTAT_CLOSED,
            PortState::Unbound { remote } => {
                s.status = EVTCHNSTAT_UNBOUND;
                s.set_remote(remote, 0);
            }
            PortState::Interdomain {
                remote,
                remote_port,
            } => {
                s.status = EVTCHNSTAT_INTERDOMAIN;
                s.set_remote(remote, remote_port);
            }
            PortState::Virq(virq) => {
                s.status = EVTCHNSTAT_VIRQ;
                s.set_irq(virq);
            }
            PortState::Ipi => s.status = EVTCHNSTAT_IPI,
        }
        Ok(s)
    }

    /// `EVTCHNOP_bind_vcpu`: deliver `port` to `vcpu` from now on. `ENOENT`
    /// for a missing vCPU; `EINVAL` for an invalid port, a per-vCPU VIRQ, an
    /// IPI, or a free or reserved port (Xen moves only unbound, interdomain,
    /// PIRQ and global-VIRQ ports).
    pub fn bind_vcpu(&mut self, port: EvtchnPort, vcpu: u32) -> Result<(), Errno> {
        if vcpu >= self.nr_vcpus {
            return Err(Errno::ENOENT);
        }
        let p = self.port(port)?;
        match p.state {
            // A global VIRQ stays in vCPU 0's VIRQ table (Xen's
            // `send_global_virq()` looks there) and only its notified vCPU
            // moves.
            PortState::Virq(virq) if virq_is_global(virq) => {}
            PortState::Unbound { .. } | PortState::Interdomain { .. } => {}
            _ => return Err(Errno::EINVAL),
        }
        self.set(port, p.state, vcpu);
        Ok(())
    }

    /// `EVTCHNOP_unmask`'s validity check: `EINVAL` for an invalid port
    /// (the bitmap work is [`super::unmask`]).
    pub fn check_unmask(&self, port: EvtchnPort) -> Result<(), Errno> {
        self.port(port).map(|_| ())
    }

    /// Whether `port` is bound to something that can be raised (used by
    /// invariants: a pending bit the hypervisor sets is only ever for such
    /// a port).
    pub fn is_bound(&self, port: EvtchnPort) -> bool {
        matches!(
            self.state(port),
            Some(PortState::Unbound { .. } | PortState::Interdomain { .. })
                | Some(PortState::Virq(_) | PortState::Ipi)
        )
    }
}
