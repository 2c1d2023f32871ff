//! The domain's PV disks (`xvda`, `xvdb`, ...): each a vbd whose XenStore
//! nodes the domain gets at creation, whose handshake follows the
//! frontend's `state` after every XenStore request the guest makes, and
//! whose ring is served with the disk's asynchronous queue when the
//! frontend kicks and while completions are awaited.
//!
//! The disk itself is not the domain's: the caller (the hypervisor's run
//! loop) owns it and hands it to [`XenDomain::serve_vbd`], since the same
//! host disk backs the emulated IDE disk before the guest unplugs it.
//!
//! A frontend that closed (its driver unbound or unloaded, or the guest
//! shutting down) leaves its xenbus device at Closed, and Linux's xenbus
//! never takes a device back from Closed: only a device the toolstack
//! creates anew starts again (`xenbus_probe_node` wants Initialising). So
//! the hypervisor does what `xl block-detach` then `xl block-attach` would:
//! it removes the vbd's nodes (the guest's xenbus deletes the device) and,
//! once the guest has had [`RECREATE_DELAY_NS`] to act on that, writes
//! them again; a loaded or reloaded blkfront then connects as at boot.
//!
//! The ring's grants are checked on every pass rather than pinned for the
//! connection's life: a copying backend needs no mapping, the in-use flags
//! never stay set, and a frontend that revokes its ring has the vbd closed
//! (`Closing`, with the error node written as `xenbus_dev_fatal` does)
//! instead of the backend writing into a page the guest took back.

use super::domain::XenDomain;
use super::guest::GuestAccess;
use crate::blkback::engine::{GuestFrames, Io, VbdEngine, VbdStats};
use crate::blkback::xenbus::{self, Dom0Store, Step, VbdConfig};
use crate::event_channel::DOM0;
use crate::grant_table::GrantTable;
use alloc::string::String;
use alloc::vec::Vec;
use block_backend::BlockQueue;
use xen_abi::event_channel::EvtchnPort;
use xen_abi::grant_table::GrantRef;
use xen_abi::xenbus::XenbusState;
use xen_abi::XEN_PAGE_SIZE;

/// Guest time between removing a closed vbd's nodes and writing them
/// again: the guest's xenwatch thread must have seen the removal first,
/// or it keeps its Closed device (`xenbus_dev_changed` finds the node
/// back and the device still there).
pub const RECREATE_DELAY_NS: u64 = 500_000_000;

/// One vbd.
pub(super) struct VbdSlot {
    config: VbdConfig,
    /// The backend's published state.
    state: XenbusState,
    live: Option<Live>,
    /// Statistics of earlier connections plus the live one's at its end.
    stats: VbdStats,
    /// Connections made.
    connections: u32,
    /// The nodes are gone and come back at this system time.
    recreate_at: Option<u64>,
}

/// A connected vbd.
struct Live {
    engine: VbdEngine,
    refs: Vec<GrantRef>,
    /// Domain 0's end of the vbd's event channel.
    port: EvtchnPort,
    /// The frontend kicked since the last pass.
    kicked: bool,
}

/// The guest's RAM by frame, through its physical address space.
struct Frames<'a>(&'a mut dyn GuestAccess);

impl GuestFrames for Frames<'_> {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> bool {
        offset + buf.len() <= XEN_PAGE_SIZE
            && self
                .0
                .read_phys(gfn * XEN_PAGE_SIZE as u64 + offset as u64, buf)
                .is_ok()
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> bool {
        offset + data.len() <= XEN_PAGE_SIZE
            && self
                .0
                .write_phys(gfn * XEN_PAGE_SIZE as u64 + offset as u64, data)
                .is_ok()
    }
}

/// The frames the ring's grants name now, each checked as a writable
/// grant to domain 0 (the backend writes responses); `None` if any is not.
fn ring_frames(grants: &mut GrantTable, refs: &[GrantRef]) -> Option<Vec<u64>> {
    refs.iter()
        .map(|r| {
            grants
                .copy(DOM0, *r, true, 0, 0, |gfn, _| u64::from(gfn))
                .ok()
        })
        .collect()
}

impl XenDomain {
    /// Offers a disk to the guest as a PV block device: its nodes in the
    /// store, the backend waiting (InitWait). Returns its index.
    pub fn add_vbd(&mut self, config: VbdConfig) -> usize {
        let domid = self.config.domid;
        let mut s = Dom0Store::new(&mut self.store);
        xenbus::create(&mut s, domid, &config);
        self.vbds.push(VbdSlot {
            config,
            state: XenbusState::InitWait,
            live: None,
            stats: VbdStats::default(),
            connections: 0,
            recreate_at: None,
        });
        self.vbds.len() - 1
    }

    /// The vbds offered.
    pub fn vbd_count(&self) -> usize {
        self.vbds.len()
    }

    /// Whether vbd `i` has a connected frontend.
    pub fn vbd_connected(&self, i: usize) -> bool {
        self.vbds.get(i).is_some_and(|v| v.live.is_some())
    }

    /// Whether vbd `i` needs [`Self::serve_vbd`]: the frontend kicked, or
    /// the disk holds its requests.
    pub fn vbd_wants_service(&self, i: usize) -> bool {
        self.vbds
            .get(i)
            .and_then(|v| v.live.as_ref())
            .is_some_and(|l| l.kicked || l.engine.busy())
    }

    /// Vbd `i`'s statistics over all its connections, and how many.
    pub fn vbd_stats(&self, i: usize) -> Option<(VbdStats, u32)> {
        let v = self.vbds.get(i)?;
        let mut s = v.stats;
        if let Some(l) = &v.live {
            add_stats(&mut s, &l.engine.stats);
        }
        Some((s, v.connections))
    }

    /// A kick on domain 0's `port`: true if it was a vbd's (marked for
    /// service).
    pub(super) fn kick_vbd(&mut self, port: EvtchnPort) -> bool {
        for v in &mut self.vbds {
            if let Some(l) = v.live.as_mut().filter(|l| l.port == port) {
                l.kicked = true;
                return true;
            }
        }
        false
    }

    /// Follows every frontend's state (after the guest's XenStore requests,
    /// the only way it changes).
    pub(super) fn follow_vbds(&mut self, g: &mut dyn GuestAccess) {
        for i in 0..self.vbds.len() {
            let domid = self.config.domid;
            let cfg = self.vbds[i].config;
            let frontend = {
                let mut s = Dom0Store::new(&mut self.store);
                xenbus::frontend_state(&mut s, domid, &cfg)
            };
            match xenbus::next_step(self.vbds[i].state, frontend) {
                Step::Stay => {}
                Step::Connect => {
                    if let Err(e) = self.connect_vbd(g, i) {
                        self.fail_vbd(g, i, &e);
                    }
                }
                Step::Disconnect(XenbusState::Closed) => {
                    self.disconnect_vbd(g, i, XenbusState::Closed);
                    self.remove_vbd_nodes(g, i);
                }
                Step::Disconnect(to) => self.disconnect_vbd(g, i, to),
                Step::Restart => self.set_vbd_state(g, i, XenbusState::InitWait),
            }
        }
    }

    /// Step one of a re-plug: the nodes go (the guest's xenbus deletes
    /// its device), to come back after [`RECREATE_DELAY_NS`].
    fn remove_vbd_nodes(&mut self, g: &mut dyn GuestAccess, i: usize) {
        let domid = self.config.domid;
        let cfg = self.vbds[i].config;
        let mut s = Dom0Store::new(&mut self.store);
        xenbus::destroy(&mut s, domid, &cfg);
        let events = s.events;
        self.vbds[i].recreate_at = Some(self.system_time(g).saturating_add(RECREATE_DELAY_NS));
        self.deliver_store_events(g, events);
    }

    /// Step two: the nodes of every vbd whose time has come are written
    /// again, the backend waiting (InitWait) for a new frontend. True if
    /// any were.
    pub(super) fn recreate_due_vbds(&mut self, g: &mut dyn GuestAccess) -> bool {
        let now = self.system_time(g);
        let mut any = false;
        for i in 0..self.vbds.len() {
            if self.vbds[i].recreate_at.is_none_or(|t| now < t) {
                continue;
            }
            self.vbds[i].recreate_at = None;
            let domid = self.config.domid;
            let cfg = self.vbds[i].config;
            let mut s = Dom0Store::new(&mut self.store);
            xenbus::create(&mut s, domid, &cfg);
            let events = s.events;
            self.vbds[i].state = XenbusState::InitWait;
            self.deliver_store_events(g, events);
            any = true;
        }
        any
    }

    fn set_vbd_state(&mut self, g: &mut dyn GuestAccess, i: usize, state: XenbusState) {
        let domid = self.config.domid;
        let cfg = self.vbds[i].config;
        let mut s = Dom0Store::new(&mut self.store);
        xenbus::set_state(&mut s, domid, &cfg, state);
        let events = s.events;
        self.vbds[i].state = state;
        self.deliver_store_events(g, events);
    }

    /// Step 2 of the handshake: the ring's grants checked, the channel
    /// bound, the disk's properties published, Connected.
    fn connect_vbd(&mut self, g: &mut dyn GuestAccess, i: usize) -> Result<(), String> {
        let domid = self.config.domid;
        let cfg = self.vbds[i].config;
        let ring = {
            let mut s = Dom0Store::new(&mut self.store);
            xenbus::read_ring(&mut s, domid, &cfg)?
        };
        if ring_frames(&mut self.grants, &ring.refs).is_none() {
            return Err(alloc::format!("ring grants {:?} not usable", ring.refs));
        }
        let notify = self
            .backend_ports
            .bind_interdomain(Some(&mut self.ports), domid, ring.port)
            .map_err(|e| alloc::format!("event channel {}: {e:?}", ring.port))?;
        let v = &mut self.vbds[i];
        v.connections += 1;
        v.live = Some(Live {
            engine: VbdEngine::new(ring.order, cfg.limits(), DOM0),
            refs: ring.refs,
            port: notify.port,
            // Requests published before the channel was bound had nobody
            // to kick: look once.
            kicked: true,
        });
        let mut s = Dom0Store::new(&mut self.store);
        xenbus::publish_connected(&mut s, domid, &cfg);
        let events = s.events;
        self.vbds[i].state = XenbusState::Connected;
        self.deliver_store_events(g, events);
        log::info!(
            "dom{domid}: vbd {} connected ({} ring page(s), {} sectors{})",
            cfg.vdev,
            1u32 << ring.order.min(31),
            cfg.sectors,
            if cfg.read_only { ", read-only" } else { "" }
        );
        Ok(())
    }

    /// Drops the connection (the disk may still complete its requests:
    /// their completions are dropped) and publishes `to`.
    fn disconnect_vbd(&mut self, g: &mut dyn GuestAccess, i: usize, to: XenbusState) {
        if let Some(live) = self.vbds[i].live.take() {
            add_stats(&mut self.vbds[i].stats, &live.engine.stats);
            let _ = self.backend_ports.close(Some(&mut self.ports), live.port);
        }
        self.set_vbd_state(g, i, to);
    }

    /// A broken frontend: the error in the store, the vbd closing.
    fn fail_vbd(&mut self, g: &mut dyn GuestAccess, i: usize, why: &str) {
        let domid = self.config.domid;
        let cfg = self.vbds[i].config;
        self.stats.vbd_failures += 1;
        if self.stats.vbd_failures <= 8 {
            log::warn!("dom{domid}: vbd {}: {why}; closing it", cfg.vdev);
        }
        let mut s = Dom0Store::new(&mut self.store);
        xenbus::report_error(&mut s, domid, &cfg, why);
        let events = s.events;
        self.deliver_store_events(g, events);
        self.disconnect_vbd(g, i, XenbusState::Closing);
    }

    /// Serves vbd `i`'s ring with its disk: completions answered, new
    /// requests taken, the frontend notified if it asked.
    pub fn serve_vbd(&mut self, g: &mut dyn GuestAccess, i: usize, disk: &mut dyn BlockQueue) {
        let Some(live) = self.vbds.get_mut(i).and_then(|v| v.live.as_mut()) else {
            return;
        };
        live.kicked = false;
        let Some(gfns) = ring_frames(&mut self.grants, &live.refs) else {
            self.fail_vbd(g, i, "ring grant revoked while connected");
            return;
        };
        let result = live.engine.service(&mut Io {
            ring: &gfns,
            grants: &mut self.grants,
            guest: &mut Frames(&mut *g),
            disk,
        });
        let port = live.port;
        match result {
            Ok(true) => {
                self.notify_guest(g, port);
            }
            Ok(false) => {}
            Err(e) => self.fail_vbd(g, i, &alloc::format!("ring unusable: {e:?}")),
        }
    }
}

fn add_stats(total: &mut VbdStats, s: &VbdStats) {
    total.reads += s.reads;
    total.writes += s.writes;
    total.flushes += s.flushes;
    total.bytes_read += s.bytes_read;
    total.bytes_written += s.bytes_written;
    total.errors += s.errors;
    total.responses += s.responses;
    total.events += s.events;
    total.services += s.services;
    total.max_in_flight = total.max_in_flight.max(s.max_in_flight);
}
