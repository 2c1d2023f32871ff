//! `event_channel_op` (`xen/include/public/event_channel.h`) over the
//! guest's port table, with domain 0 (the hypervisor's backends) as the
//! only other domain. `EVTCHNOP_init_control` must fail so the guest keeps
//! the 2-level ABI; FIFO, PIRQs and reset are not offered.

use core::mem::offset_of;
use xen_abi::errno::Errno;
use xen_abi::event_channel::*;
use xen_abi::hypercall::*;

use super::dispatch::{done, HcResult};
use super::domain::XenDomain;
use super::guest::{read_arg, u16_at, u32_at, GuestAccess};
use crate::event_channel::DOM0;

impl XenDomain {
    pub(super) fn event_channel_op(
        &mut self,
        g: &mut dyn GuestAccess,
        cmd: u32,
        arg: u64,
    ) -> HcResult {
        match cmd {
            EVTCHNOP_ALLOC_UNBOUND => {
                let b = read_arg(g, arg, 8)?;
                let dom = u16_at(&b, offset_of!(EvtchnAllocUnbound, dom));
                let remote = u16_at(&b, offset_of!(EvtchnAllocUnbound, remote_dom));
                let port = self.ports.alloc_unbound(dom, remote)?;
                self.write_port(g, arg + offset_of!(EvtchnAllocUnbound, port) as u64, port)
            }
            EVTCHNOP_BIND_INTERDOMAIN => {
                let b = read_arg(g, arg, 12)?;
                let remote_dom = u16_at(&b, offset_of!(EvtchnBindInterdomain, remote_dom));
                let remote_port = u32_at(&b, offset_of!(EvtchnBindInterdomain, remote_port));
                let backends = (remote_dom == DOM0).then_some(&mut self.backend_ports);
                let notify = self
                    .ports
                    .bind_interdomain(backends, remote_dom, remote_port)?;
                self.write_port(
                    g,
                    arg + offset_of!(EvtchnBindInterdomain, local_port) as u64,
                    notify.port,
                )?;
                // Sends to the remote end while it was unbound were dropped:
                // raise the new port once (`evtchn_bind_interdomain()`),
                // once the guest has it (a port taken back leaves no bit).
                self.raise(g, notify);
                done(0)
            }
            EVTCHNOP_BIND_VIRQ => {
                let b = read_arg(g, arg, 12)?;
                let virq = u32_at(&b, offset_of!(EvtchnBindVirq, virq));
                let vcpu = u32_at(&b, offset_of!(EvtchnBindVirq, vcpu));
                let port = self.ports.bind_virq(virq, vcpu)?;
                self.write_port(g, arg + offset_of!(EvtchnBindVirq, port) as u64, port)
            }
            EVTCHNOP_BIND_IPI => {
                let b = read_arg(g, arg, 8)?;
                let port = self
                    .ports
                    .bind_ipi(u32_at(&b, offset_of!(EvtchnBindIpi, vcpu)))?;
                self.write_port(g, arg + offset_of!(EvtchnBindIpi, port) as u64, port)
            }
            EVTCHNOP_CLOSE => {
                let port = u32_at(&read_arg(g, arg, 4)?, 0);
                self.ports.close(Some(&mut self.backend_ports), port)?;
                self.clear_pending(port);
                done(0)
            }
            EVTCHNOP_SEND => {
                let port = u32_at(&read_arg(g, arg, 4)?, 0);
                self.send(g, port)?;
                done(0)
            }
            EVTCHNOP_STATUS => {
                let b = read_arg(g, arg, 24)?;
                let dom = u16_at(&b, offset_of!(EvtchnStatus, dom));
                let port = u32_at(&b, offset_of!(EvtchnStatus, port));
                let s = self.ports.status(dom, port)?;
                let mut out = [0u8; 16];
                out[0..4].copy_from_slice(&s.status.to_le_bytes());
                out[4..8].copy_from_slice(&s.vcpu.to_le_bytes());
                out[8..12].copy_from_slice(&s.u[0].to_le_bytes());
                out[12..16].copy_from_slice(&s.u[1].to_le_bytes());
                g.write_linear(arg + offset_of!(EvtchnStatus, status) as u64, &out)?;
                done(0)
            }
            EVTCHNOP_BIND_VCPU => {
                let b = read_arg(g, arg, 8)?;
                let port = u32_at(&b, offset_of!(EvtchnBindVcpu, port));
                let vcpu = u32_at(&b, offset_of!(EvtchnBindVcpu, vcpu));
                self.ports.bind_vcpu(port, vcpu)?;
                done(0)
            }
            EVTCHNOP_UNMASK => {
                let port = u32_at(&read_arg(g, arg, 4)?, 0);
                self.unmask(g, port)?;
                done(0)
            }
            _ => Err(Errno::ENOSYS),
        }
    }

    fn write_port(&mut self, g: &mut dyn GuestAccess, at: u64, port: EvtchnPort) -> HcResult {
        if let Err(e) = g.write_linear(at, &port.to_le_bytes()) {
            // The guest cannot learn the port: take it back.
            let _ = self.ports.close(Some(&mut self.backend_ports), port);
            return Err(e);
        }
        done(0)
    }

    /// `EVTCHNOP_send`: raises the other end; a kick to one of our backends
    /// serves it at once.
    pub(super) fn send(&mut self, g: &mut dyn GuestAccess, port: EvtchnPort) -> Result<(), Errno> {
        self.stats.sends += 1;
        let Some(notify) = self.ports.send(Some(&self.backend_ports), port)? else {
            return Ok(());
        };
        if notify.dom == self.config.domid {
            self.raise(g, notify);
        } else if notify.dom == DOM0 {
            if notify.port == self.store_backend_port {
                self.serve_store(g);
            } else if notify.port == self.console_backend_port {
                self.serve_console(g);
            } else if self.kick_vbd(notify.port) {
                // Served by the run loop, which has the disk.
                self.stats.vbd_kicks += 1;
            }
        }
        Ok(())
    }
}
