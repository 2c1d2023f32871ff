//! [`XenDomain`]: one guest's Xen state, and the two things every other
//! part needs of it — raising an event channel port (with the upcall that
//! follows) and publishing pvclock.
//!
//! The shared-info page, the XenStore ring and the console ring are the
//! hypervisor's own pages ([`HostPage`]), mapped into the guest where it
//! asks (shared info, `XENMEM_add_to_physmap`) or where the board reserves
//! room for them (the rings, `HVM_PARAM_STORE_PFN`/`CONSOLE_PFN`), as Xen
//! backs them with its own frames. A `vcpu_info` the guest registers
//! elsewhere (`VCPUOP_register_vcpu_info`) lives in guest RAM.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::offset_of;
use xen_abi::errno::Errno;
use xen_abi::event_channel::EvtchnPort;
use xen_abi::hvm::{
    callback_payload, callback_type, HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ,
    HVM_PARAM_CALLBACK_TYPE_GSI, HVM_PARAM_CALLBACK_TYPE_PCI_INTX, HVM_PARAM_CALLBACK_TYPE_VECTOR,
    HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};
use xen_abi::memory::E820Entry;
use xen_abi::shared_info::{SharedInfo, VcpuInfo, XEN_LEGACY_MAX_VCPUS};
use xen_abi::XEN_PAGE_SIZE;

use super::guest::GuestAccess;
use super::platform::HypercallInsn;
use super::pvclock::{time_info_bytes, TscScale};
use super::stats::XenStats;
use crate::event_channel::{self, EventChannels, Notify, DOM0};
use crate::grant_table::{GrantFrame, GrantTable, DEFAULT_MAX_FRAMES};
use crate::xenstore::ring::XenStoreConnection;
use crate::xenstore::XenStore;

/// A hypervisor-owned 4 KiB page the guest sees mapped at a frame.
pub type HostPage = GrantFrame;

fn zeroed_page() -> Box<HostPage> {
    Box::new(GrantFrame([0; XEN_PAGE_SIZE]))
}

/// The host address of a page, for mapping it into the guest.
pub fn page_address(page: &HostPage) -> u64 {
    page.0.as_ptr() as usize as u64
}

/// How a domain is set up.
#[derive(Clone, Debug)]
pub struct XenConfig {
    /// The guest's domid (the hypervisor's backends are domain 0).
    pub domid: u16,
    /// Its vCPUs.
    pub vcpus: u32,
    /// Guest TSC ticks per second.
    pub tsc_hz: u64,
    /// The guest TSC when the domain started: system time 0.
    pub tsc_at_start: u64,
    /// Unix time in nanoseconds at system time 0 (the wallclock).
    pub unix_ns_at_start: u64,
    /// The hypercall instruction of this processor (for the hypercall page).
    pub insn: HypercallInsn,
    /// The guest frames of the XenStore and console rings (E820-reserved).
    pub store_gfn: u64,
    pub console_gfn: u64,
    /// The memory map `XENMEM_memory_map` returns (empty: `-ENOSYS`, as
    /// for an HVM guest whose map comes from its firmware).
    pub memory_map: Vec<E820Entry>,
}

/// Where a vCPU's `vcpu_info` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InfoAt {
    /// Its slot in the shared-info page.
    Shared,
    /// Registered at this guest-physical address.
    Guest(u64),
}

/// Per-vCPU state.
#[derive(Clone, Debug)]
pub(super) struct VcpuState {
    pub(super) info: InfoAt,
    /// The one-shot timer's deadline in system-time ns.
    pub(super) timer_ns: Option<u64>,
    /// The periodic timer: next deadline and period, in system-time ns.
    pub(super) periodic: Option<(u64, u64)>,
    /// `pvclock` record version (kept even between updates).
    pub(super) time_version: u32,
}

/// Which hardware interrupt the hypervisor delivers the upcall through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upcall {
    /// No callback set: events stay pending until the guest looks.
    None,
    /// The global callback vector, injected directly (`HVMOP_set_param`
    /// `CALLBACK_IRQ` type 2).
    Vector(u8),
    /// The platform device's INTx or a GSI (types 0 and 1): a level the
    /// board asserts while vCPU 0's `evtchn_upcall_pending` is set.
    Line,
}

/// One domain's Xen state.
pub struct XenDomain {
    pub(super) config: XenConfig,
    pub(super) scale: TscScale,
    pub(super) shared_info: Box<HostPage>,
    /// Where the guest mapped the shared-info page.
    pub(super) shared_info_gfn: Option<u64>,
    pub(super) vcpus: Vec<VcpuState>,
    pub(super) params: [u64; HVM_NR_PARAMS as usize],
    /// The guest's ports.
    pub ports: EventChannels,
    /// The hypervisor's own (domain 0) ports: the backends' ends.
    pub(super) backend_ports: EventChannels,
    /// Domain 0's ends of the store and console channels.
    pub(super) store_backend_port: EvtchnPort,
    pub(super) console_backend_port: EvtchnPort,
    /// The guest's grant table.
    pub grants: GrantTable,
    /// The XenStore (one per hypervisor; a single guest for now).
    pub store: XenStore,
    pub(super) store_connection: XenStoreConnection,
    pub(super) store_page: Box<HostPage>,
    pub(super) console_page: Box<HostPage>,
    /// Console input not yet taken by the ring (it was full).
    pub(super) console_input: Vec<u8>,
    /// The guest asked for the hypercall page here.
    pub(super) hypercall_page_gpa: Option<u64>,
    /// Where the guest placed each grant frame (frame index to GFN).
    pub(super) grant_gfns: alloc::collections::BTreeMap<u32, u64>,
    /// The PV disks offered to the guest.
    pub(super) vbds: Vec<super::vbd::VbdSlot>,
    pub stats: XenStats,
}

impl XenDomain {
    /// A domain as `xl` creates an HVM guest: its XenStore home, the store
    /// and console channels allocated (unbound on the guest's side, bound by
    /// the backends), the HVM params that name them, zeroed rings, and the
    /// wallclock in the shared-info page. The caller maps the rings at
    /// [`XenConfig::store_gfn`] and `console_gfn` with [`Self::ring_pages`].
    pub fn new(config: XenConfig) -> Self {
        let domid = config.domid;
        let vcpus = config.vcpus.max(1);
        let mut ports =
            EventChannels::new(domid, vcpus, xen_abi::event_channel::EVTCHN_2L_NR_CHANNELS);
        let mut backend_ports =
            EventChannels::new(DOM0, 1, xen_abi::event_channel::EVTCHN_2L_NR_CHANNELS);
        let mut channel = || -> (EvtchnPort, EvtchnPort) {
            let Ok(guest) = ports.alloc_unbound(domid, DOM0) else {
                return (0, 0);
            };
            match backend_ports.bind_interdomain(Some(&mut ports), domid, guest) {
                Ok(n) => (guest, n.port),
                Err(_) => (guest, 0),
            }
        };
        let (store_port, store_backend_port) = channel();
        let (console_port, console_backend_port) = channel();
        let mut params = [0u64; HVM_NR_PARAMS as usize];
        params[HVM_PARAM_STORE_PFN as usize] = config.store_gfn;
        params[HVM_PARAM_STORE_EVTCHN as usize] = u64::from(store_port);
        params[HVM_PARAM_CONSOLE_PFN as usize] = config.console_gfn;
        params[HVM_PARAM_CONSOLE_EVTCHN as usize] = u64::from(console_port);
        let mut store = XenStore::new();
        let _ = store.introduce_domain(domid);
        // The name `xl` gives the domain (`libxl__domain_make`), readable
        // by it.
        let name = alloc::format!("/local/domain/{domid}/name\0vmm-guest-{domid}");
        let _ = store.request(DOM0, xen_abi::xenstore::XS_WRITE, 0, 0, name.as_bytes());
        let perms = alloc::format!("/local/domain/{domid}/name\0n0\0r{domid}\0");
        let _ = store.request(
            DOM0,
            xen_abi::xenstore::XS_SET_PERMS,
            0,
            0,
            perms.as_bytes(),
        );
        let mut d = Self {
            scale: TscScale::for_frequency(config.tsc_hz),
            shared_info: zeroed_page(),
            shared_info_gfn: None,
            vcpus: (0..vcpus)
                .map(|_| VcpuState {
                    info: InfoAt::Shared,
                    timer_ns: None,
                    periodic: None,
                    time_version: 0,
                })
                .collect(),
            params,
            ports,
            backend_ports,
            store_backend_port,
            console_backend_port,
            grants: GrantTable::new(DEFAULT_MAX_FRAMES),
            store_connection: XenStoreConnection::new(domid),
            store,
            store_page: zeroed_page(),
            console_page: zeroed_page(),
            console_input: Vec::new(),
            hypercall_page_gpa: None,
            grant_gfns: alloc::collections::BTreeMap::new(),
            vbds: Vec::new(),
            stats: XenStats::default(),
            config,
        };
        d.write_wallclock();
        d
    }

    /// Sets the memory map `XENMEM_memory_map` returns (a PVH guest's,
    /// the same as its start info's).
    pub fn set_memory_map(&mut self, map: Vec<E820Entry>) {
        self.config.memory_map = map;
    }

    /// The memory map `XENMEM_memory_map` returns.
    pub fn memory_map_entries(&self) -> &[E820Entry] {
        &self.config.memory_map
    }

    /// The TSC rate in kHz the guest reads from pvclock.
    pub fn pvclock_khz(&self) -> u64 {
        self.scale.guest_khz()
    }

    /// The guest's domid.
    pub fn domid(&self) -> u16 {
        self.config.domid
    }

    /// The ring pages to map: `(gfn, host address)` for the store and the
    /// console.
    pub fn ring_pages(&self) -> [(u64, u64); 2] {
        [
            (self.config.store_gfn, page_address(&self.store_page)),
            (self.config.console_gfn, page_address(&self.console_page)),
        ]
    }

    /// System time now: nanoseconds since the domain started.
    pub fn system_time(&self, g: &dyn GuestAccess) -> u64 {
        self.scale
            .ticks_to_ns(g.guest_tsc().wrapping_sub(self.config.tsc_at_start))
    }

    /// The guest TSC value at system time `ns`.
    pub fn tsc_at(&self, ns: u64) -> u64 {
        self.config
            .tsc_at_start
            .wrapping_add(self.scale.ns_to_ticks(ns))
    }

    /// The wallclock (`wc_*`, with the odd/even `wc_version` protocol of
    /// `xen.h`): Unix time at system time 0.
    fn write_wallclock(&mut self) {
        let ns = self.config.unix_ns_at_start;
        let secs = ns / 1_000_000_000;
        let page = &mut self.shared_info.0;
        let at = offset_of!(SharedInfo, wc_version);
        let version = u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
        // Odd while the fields change, even once they are whole (a barrier
        // between each step on a live page).
        page[at..at + 4].copy_from_slice(&(version.wrapping_add(1) | 1).to_le_bytes());
        let sec = offset_of!(SharedInfo, wc_sec);
        page[sec..sec + 4].copy_from_slice(&(secs as u32).to_le_bytes());
        let nsec = offset_of!(SharedInfo, wc_nsec);
        page[nsec..nsec + 4].copy_from_slice(&((ns % 1_000_000_000) as u32).to_le_bytes());
        let hi = offset_of!(SharedInfo, wc_sec_hi);
        page[hi..hi + 4].copy_from_slice(&((secs >> 32) as u32).to_le_bytes());
        page[at..at + 4].copy_from_slice(&(version.wrapping_add(2) & !1).to_le_bytes());
    }

    /// Publishes vCPU `v`'s pvclock record where its `vcpu_info` is now.
    pub(super) fn publish_time(&mut self, g: &mut dyn GuestAccess, v: u32) {
        let tsc = g.guest_tsc();
        let system_time = self
            .scale
            .ticks_to_ns(tsc.wrapping_sub(self.config.tsc_at_start));
        let Some(state) = self.vcpus.get_mut(v as usize) else {
            return;
        };
        // Odd, then the record, then even (the version protocol of
        // `struct vcpu_time_info`; a write barrier between each on a live
        // page — here the guest is not running while we write).
        state.time_version = state.time_version.wrapping_add(2) & !1;
        let odd = time_info_bytes(
            state.time_version.wrapping_sub(1),
            tsc,
            system_time,
            self.scale,
        );
        let even = time_info_bytes(state.time_version, tsc, system_time, self.scale);
        let at = offset_of!(VcpuInfo, time);
        let info = state.info;
        let _ = self.write_vcpu_info(g, v, info, at, &odd);
        let _ = self.write_vcpu_info(g, v, info, at, &even);
    }

    fn shared_slot(v: u32) -> Option<usize> {
        ((v as usize) < XEN_LEGACY_MAX_VCPUS).then(|| {
            offset_of!(SharedInfo, vcpu_info) + v as usize * core::mem::size_of::<VcpuInfo>()
        })
    }

    pub(super) fn write_vcpu_info(
        &mut self,
        g: &mut dyn GuestAccess,
        v: u32,
        info: InfoAt,
        at: usize,
        bytes: &[u8],
    ) -> Result<(), Errno> {
        match info {
            InfoAt::Shared => {
                let slot = Self::shared_slot(v).ok_or(Errno::EINVAL)?;
                self.shared_info.0[slot + at..slot + at + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
            InfoAt::Guest(gpa) => g.write_phys(gpa + at as u64, bytes),
        }
    }

    pub(super) fn read_vcpu_info(
        &self,
        g: &mut dyn GuestAccess,
        v: u32,
        info: InfoAt,
    ) -> Result<[u8; 64], Errno> {
        let mut b = [0u8; 64];
        match info {
            InfoAt::Shared => {
                let slot = Self::shared_slot(v).ok_or(Errno::EINVAL)?;
                b.copy_from_slice(&self.shared_info.0[slot..slot + 64]);
            }
            InfoAt::Guest(gpa) => g.read_phys(gpa, &mut b)?,
        }
        Ok(b)
    }

    /// Runs one of the 2-level delivery steps for vCPU `v` on the
    /// shared-info page, with the vCPU's registered `vcpu_info` standing in
    /// its legacy slot while the step runs (the steps read and write the
    /// selector and `evtchn_upcall_pending` there); returns the step's
    /// answer (whether the upcall must be kicked).
    fn with_vcpu_info(
        &mut self,
        g: &mut dyn GuestAccess,
        v: u32,
        step: impl FnOnce(&mut [u8]) -> Result<bool, Errno>,
    ) -> Result<bool, Errno> {
        let state = self.vcpus.get(v as usize).ok_or(Errno::ENOENT)?;
        let slot = Self::shared_slot(v).ok_or(Errno::EINVAL)?;
        match state.info {
            InfoAt::Shared => step(&mut self.shared_info.0),
            InfoAt::Guest(gpa) => {
                let mut saved = [0u8; 64];
                saved.copy_from_slice(&self.shared_info.0[slot..slot + 64]);
                let mut live = [0u8; 64];
                g.read_phys(gpa, &mut live)?;
                self.shared_info.0[slot..slot + 64].copy_from_slice(&live);
                let r = step(&mut self.shared_info.0);
                live.copy_from_slice(&self.shared_info.0[slot..slot + 64]);
                self.shared_info.0[slot..slot + 64].copy_from_slice(&saved);
                // Only the first 16 bytes (pending, mask, selector) change.
                g.write_phys(gpa, &live[..16])?;
                r
            }
        }
    }

    /// Raises `notify.port` of the guest on `notify.vcpu` (Xen's
    /// `evtchn_2l_set_pending()`); whether the vCPU's upcall became pending.
    pub(super) fn raise(&mut self, g: &mut dyn GuestAccess, notify: Notify) -> bool {
        if notify.dom != self.config.domid {
            return false;
        }
        self.stats.events_raised += 1;
        self.with_vcpu_info(g, notify.vcpu, |page| {
            event_channel::set_pending(page, notify.port, notify.vcpu)
        })
        .unwrap_or(false)
    }

    /// Raises the guest's own `port` on the vCPU it is bound to.
    pub(super) fn raise_port(&mut self, g: &mut dyn GuestAccess, port: EvtchnPort) -> bool {
        let Some(vcpu) = self.ports.vcpu_of(port) else {
            return false;
        };
        self.raise(
            g,
            Notify {
                dom: self.config.domid,
                port,
                vcpu,
            },
        )
    }

    /// `EVTCHNOP_unmask` on the page (`evtchn_2l_unmask()`).
    pub(super) fn unmask(
        &mut self,
        g: &mut dyn GuestAccess,
        port: EvtchnPort,
    ) -> Result<bool, Errno> {
        self.ports.check_unmask(port)?;
        let vcpu = self.ports.vcpu_of(port).unwrap_or(0);
        self.with_vcpu_info(g, vcpu, |page| event_channel::unmask(page, port, vcpu))
    }

    /// Clears a closed port's pending bit (`evtchn_free()`).
    pub(super) fn clear_pending(&mut self, port: EvtchnPort) {
        let _ = event_channel::clear_pending(&mut self.shared_info.0, port);
    }

    /// How the upcall reaches the guest (`HVM_PARAM_CALLBACK_IRQ`).
    pub fn upcall(&self) -> Upcall {
        let via = self.params[HVM_PARAM_CALLBACK_IRQ as usize];
        if via == 0 {
            return Upcall::None;
        }
        match callback_type(via) {
            HVM_PARAM_CALLBACK_TYPE_VECTOR => Upcall::Vector(callback_payload(via) as u8),
            HVM_PARAM_CALLBACK_TYPE_GSI | HVM_PARAM_CALLBACK_TYPE_PCI_INTX => Upcall::Line,
            _ => Upcall::None,
        }
    }

    /// vCPU `v`'s `evtchn_upcall_pending` (a level: while it is set and the
    /// guest can take interrupts, the callback is delivered again).
    pub fn upcall_pending(&self, g: &mut dyn GuestAccess, v: u32) -> bool {
        let Some(state) = self.vcpus.get(v as usize) else {
            return false;
        };
        let at = offset_of!(VcpuInfo, evtchn_upcall_pending);
        match state.info {
            InfoAt::Shared => Self::shared_slot(v).is_some_and(|s| self.shared_info.0[s + at] != 0),
            InfoAt::Guest(gpa) => {
                let mut b = [0u8; 1];
                g.read_phys(gpa + at as u64, &mut b).is_ok() && b[0] != 0
            }
        }
    }

    /// Host-side work between guest entries: fires expired timers
    /// (`VIRQ_TIMER` of their vCPU) and moves pending console input into
    /// the ring. Returns whether an event was raised.
    pub fn poll(&mut self, g: &mut dyn GuestAccess) -> bool {
        let mut raised = self.fire_timers(g);
        raised |= self.push_console_input(g);
        // The store events of re-plugged vbds raise the store port.
        raised |= self.recreate_due_vbds(g);
        raised
    }
}

/// What the tests read of the hypervisor's pages (the guest sees them
/// through the mappings; a test cannot dereference a host address).
#[cfg(test)]
impl XenDomain {
    /// The shared-info page as the guest sees it wherever it is mapped.
    pub(crate) fn shared_info_bytes(&self) -> &[u8] {
        &self.shared_info.0
    }

    /// The hypervisor's page at host address `host` (shared info, a ring or
    /// a grant frame), for writing.
    pub(crate) fn host_page_mut(&mut self, host: u64) -> Option<&mut [u8]> {
        for page in [
            &mut self.shared_info,
            &mut self.store_page,
            &mut self.console_page,
        ] {
            if page_address(page) == host {
                return Some(&mut page.0[..]);
            }
        }
        let frame =
            (0..self.grants.nr_frames()).find(|&i| self.grants.frame_address(i) == Some(host))?;
        self.grants.frame_mut(frame)
    }
}
