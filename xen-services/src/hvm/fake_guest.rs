//! [`FakeGuest`]: a [`GuestAccess`] over a byte vector, for the dispatcher's
//! tests.
//!
//! - Guest RAM is `ram`, from guest-physical 0; the linear map is the
//!   identity (linear == physical), so a pointer argument is an offset into
//!   `ram`. Past the end of `ram` is `EFAULT`.
//! - `hole`: addresses where every access faults (`EFAULT`), as an unmapped
//!   page of the guest's page tables would; `read_only`: writes fault there.
//!   An access is all or nothing: a fault anywhere in it changes no byte.
//! - `map_page`/`unmap_page` are recorded in `map_calls`. A mapped page is
//!   visible at its GFN for accesses through the fake (the dispatcher's
//!   reads and writes, and the test's own `write_phys`/`peek`): the fake
//!   holds a view of the host page, and [`FakeGuest::sync`] applies the
//!   writes made to the view to the domain's page and reloads the view from
//!   it (the crate forbids `unsafe`, so the host address cannot be read
//!   directly; [`XenDomain::host_page_mut`] finds the page by its address).
//!   [`call`] syncs around each hypercall, so the guest's view and the
//!   hypervisor's page agree between hypercalls as they do on the real
//!   machine. (Within one hypercall the view is a snapshot: a page the
//!   domain writes directly *and* through the fake in the same call is
//!   merged by applying the fake's writes last.)
//! - The TSC is `tsc` (settable); console and log output are captured.
//!
//! Below the fake: the domain the tests boot, argument builders and the
//! calls the tests make often, a snapshot of everything a hypercall may
//! change, and the pending-bit invariant.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;
use xen_abi::errno::Errno;
use xen_abi::event_channel::EVTCHN_2L_NR_CHANNELS;
use xen_abi::hypercall::*;
use xen_abi::memory::DOMID_SELF;
use xen_abi::XEN_PAGE_SIZE;

use super::dispatch::{HypercallArgs, Outcome};
use super::domain::{XenConfig, XenDomain};
use super::guest::GuestAccess;
use crate::event_channel::{is_pending, EventChannels, PortState};

const PAGE: u64 = XEN_PAGE_SIZE as u64;

/// A `map_page` or `unmap_page` call, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapCall {
    Map { gfn: u64, host: u64 },
    Unmap { gfn: u64 },
}

/// A host page mapped at a GFN, as the guest sees it.
#[derive(Clone, Debug)]
struct View {
    host: u64,
    bytes: Box<[u8; XEN_PAGE_SIZE]>,
    /// Bytes written through the fake since the last sync: (offset, byte).
    writes: Vec<(usize, u8)>,
}

/// A guest over a byte vector (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct FakeGuest {
    pub(crate) ram: Vec<u8>,
    pub(crate) hole: Range<u64>,
    pub(crate) read_only: Range<u64>,
    /// GFNs at or above this cannot take a mapped page (`EINVAL`).
    pub(crate) map_limit_gfn: u64,
    pub(crate) map_calls: Vec<MapCall>,
    views: BTreeMap<u64, View>,
    pub(crate) tsc: u64,
    pub(crate) console: Vec<u8>,
    pub(crate) log: Vec<u8>,
}

/// Where one byte of an access lands.
enum Place {
    Ram(usize),
    View(u64, usize),
}

impl FakeGuest {
    /// `ram_len` bytes of zeroed RAM, no hole, nothing read-only.
    pub(crate) fn new(ram_len: usize) -> Self {
        Self {
            ram: vec![0; ram_len],
            hole: 0..0,
            read_only: 0..0,
            map_limit_gfn: 1 << 40,
            map_calls: Vec::new(),
            views: BTreeMap::new(),
            tsc: 0,
            console: Vec::new(),
            log: Vec::new(),
        }
    }

    /// The GFNs mapped now, with the host page at each.
    pub(crate) fn mapped(&self) -> BTreeMap<u64, u64> {
        self.views.iter().map(|(&g, v)| (g, v.host)).collect()
    }

    /// Where the byte at `addr` is, for a read (`write` false) or a write.
    fn place(&self, addr: u64, write: bool) -> Result<Place, Errno> {
        if self.hole.contains(&addr) || (write && self.read_only.contains(&addr)) {
            return Err(Errno::EFAULT);
        }
        if self.views.contains_key(&(addr / PAGE)) {
            return Ok(Place::View(addr / PAGE, (addr % PAGE) as usize));
        }
        match usize::try_from(addr) {
            Ok(i) if i < self.ram.len() => Ok(Place::Ram(i)),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Every byte of `[addr, addr + len)`, or the fault.
    fn places(&self, addr: u64, len: usize, write: bool) -> Result<Vec<Place>, Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        (addr..end).map(|a| self.place(a, write)).collect()
    }

    fn load(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let places = self.places(addr, buf.len(), false)?;
        for (b, p) in buf.iter_mut().zip(places) {
            *b = match p {
                Place::Ram(i) => self.ram[i],
                Place::View(gfn, off) => self.views[&gfn].bytes[off],
            };
        }
        Ok(())
    }

    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let places = self.places(addr, data.len(), true)?;
        for (&b, p) in data.iter().zip(places) {
            match p {
                Place::Ram(i) => self.ram[i] = b,
                Place::View(gfn, off) => {
                    let v = self.views.get_mut(&gfn).expect("a mapped view");
                    v.bytes[off] = b;
                    v.writes.push((off, b));
                }
            }
        }
        Ok(())
    }

    /// What the guest reads at `addr` (test side; faults panic).
    pub(crate) fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut b = vec![0; len];
        self.load(addr, &mut b).expect("peek at readable memory");
        b
    }

    pub(crate) fn peek_u32(&self, addr: u64) -> u32 {
        u32::from_le_bytes(self.peek(addr, 4).try_into().unwrap())
    }

    pub(crate) fn peek_u64(&self, addr: u64) -> u64 {
        u64::from_le_bytes(self.peek(addr, 8).try_into().unwrap())
    }

    /// A guest store at `addr` (test side; faults panic).
    pub(crate) fn poke(&mut self, addr: u64, data: &[u8]) {
        self.store(addr, data).expect("poke at writable memory");
    }

    /// Applies the writes made through the fake to the domain's pages, then
    /// reloads every view from them.
    pub(crate) fn sync(&mut self, d: &mut XenDomain) {
        for v in self.views.values_mut() {
            let writes = core::mem::take(&mut v.writes);
            let Some(page) = d.host_page_mut(v.host) else {
                continue;
            };
            for (off, b) in writes {
                page[off] = b;
            }
            v.bytes.copy_from_slice(page);
        }
    }
}

/// One hypercall with the views synced before and after it.
pub(crate) fn call(d: &mut XenDomain, g: &mut FakeGuest, a: HypercallArgs) -> Outcome {
    g.sync(d);
    let out = d.hypercall(g, a);
    g.sync(d);
    out
}

/// [`XenDomain::poll`] with the views synced before and after it.
pub(crate) fn poll(d: &mut XenDomain, g: &mut FakeGuest) -> bool {
    g.sync(d);
    let raised = d.poll(g);
    g.sync(d);
    raised
}

/// Maps the domain's ring pages where it says, as the hypervisor does.
pub(crate) fn map_rings(d: &mut XenDomain, g: &mut FakeGuest) {
    for (gfn, host) in d.ring_pages() {
        g.map_page(gfn, host).expect("the ring frames take a page");
    }
    g.sync(d);
}

impl GuestAccess for FakeGuest {
    fn read_linear(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.load(addr, buf)
    }

    fn write_linear(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(addr, data)
    }

    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.load(gpa, buf)
    }

    fn write_phys(&mut self, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(gpa, data)
    }

    fn map_page(&mut self, gfn: u64, host_page: u64) -> Result<(), Errno> {
        if gfn >= self.map_limit_gfn {
            return Err(Errno::EINVAL);
        }
        self.map_calls.push(MapCall::Map {
            gfn,
            host: host_page,
        });
        // The contents arrive at the next sync.
        self.views.insert(
            gfn,
            View {
                host: host_page,
                bytes: Box::new([0; XEN_PAGE_SIZE]),
                writes: Vec::new(),
            },
        );
        Ok(())
    }

    fn unmap_page(&mut self, gfn: u64) {
        self.map_calls.push(MapCall::Unmap { gfn });
        self.views.remove(&gfn);
    }

    fn guest_tsc(&self) -> u64 {
        self.tsc
    }

    fn console_output(&mut self, bytes: &[u8]) {
        self.console.extend_from_slice(bytes);
    }

    fn log_output(&mut self, bytes: &[u8]) {
        self.log.extend_from_slice(bytes);
    }
}

/// The domain the tests boot: domid 1, one vCPU, a 3 GHz TSC that starts
/// at 1 000 000 ticks, the rings at QEMU's frames, no memory map.
pub(crate) fn config() -> XenConfig {
    XenConfig {
        domid: 1,
        vcpus: 1,
        tsc_hz: 3_000_000_000,
        tsc_at_start: 1_000_000,
        unix_ns_at_start: 1_700_000_000_123_456_789,
        insn: super::HypercallInsn::Vmcall,
        store_gfn: 0xFEFF9,
        console_gfn: 0xFEFF8,
        memory_map: Vec::new(),
    }
}

/// A hypercall from CPL 0 in 64-bit mode on vCPU 0.
pub(crate) fn hc(nr: u32, args: &[u64]) -> HypercallArgs {
    let mut a = [0u64; 5];
    a[..args.len()].copy_from_slice(args);
    HypercallArgs {
        nr: u64::from(nr),
        args: a,
        cpl: 0,
        long_mode: true,
        vcpu: 0,
    }
}

/// The RAX of a failed hypercall.
pub(crate) fn err(e: Errno) -> u64 {
    e.to_return_value()
}

/// Where the tests put hypercall arguments in guest RAM.
pub(crate) const ARG: u64 = 0x1000;
/// A second argument area (buffers the first one points at).
pub(crate) const BUF: u64 = 0x2000;
/// The guest frame the tests map shared info at (RAM, as Linux picks).
pub(crate) const SHARED_GFN: u64 = 0x80;

pub(crate) fn u16b(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

pub(crate) fn u32b(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

pub(crate) fn u64b(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

/// Concatenates argument fields.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `xen_add_to_physmap` for this domain.
pub(crate) fn physmap(space: u32, idx: u64, gpfn: u64) -> Vec<u8> {
    cat(&[
        &u16b(DOMID_SELF),
        &u16b(0),
        &u32b(space),
        &u64b(idx),
        &u64b(gpfn),
    ])
}

/// `xen_hvm_param`.
pub(crate) fn param(domid: u16, index: u32, value: u64) -> Vec<u8> {
    cat(&[&u16b(domid), &u16b(0), &u32b(index), &u64b(value)])
}

/// A fresh domain with its rings mapped and a 1 MiB guest whose TSC is one
/// second past the domain's start.
pub(crate) fn boot() -> (XenDomain, FakeGuest) {
    let mut d = XenDomain::new(config());
    let mut g = FakeGuest::new(1 << 20);
    g.tsc = config().tsc_at_start + config().tsc_hz;
    map_rings(&mut d, &mut g);
    (d, g)
}

/// Writes `arg` at [`ARG`] and makes the hypercall with `ARG` as the
/// argument after `leading` ones.
pub(crate) fn with_arg(
    d: &mut XenDomain,
    g: &mut FakeGuest,
    nr: u32,
    leading: &[u64],
    arg: &[u8],
) -> Outcome {
    g.poke(ARG, arg);
    let mut args = leading.to_vec();
    args.push(ARG);
    call(d, g, hc(nr, &args))
}

/// `event_channel_op`, `hvm_op`, `memory_op` with their argument at [`ARG`].
pub(crate) fn evtchn(d: &mut XenDomain, g: &mut FakeGuest, sub: u32, arg: &[u8]) -> Outcome {
    with_arg(d, g, HYPERVISOR_EVENT_CHANNEL_OP, &[sub.into()], arg)
}

pub(crate) fn hvmop(d: &mut XenDomain, g: &mut FakeGuest, sub: u32, arg: &[u8]) -> Outcome {
    with_arg(d, g, HYPERVISOR_HVM_OP, &[sub.into()], arg)
}

pub(crate) fn memop(d: &mut XenDomain, g: &mut FakeGuest, sub: u32, arg: &[u8]) -> Outcome {
    with_arg(d, g, HYPERVISOR_MEMORY_OP, &[sub.into()], arg)
}

/// `vcpu_op` on vCPU 0 with its argument at [`ARG`].
pub(crate) fn vcpuop(d: &mut XenDomain, g: &mut FakeGuest, sub: u32, arg: &[u8]) -> Outcome {
    with_arg(d, g, HYPERVISOR_VCPU_OP, &[sub.into(), 0], arg)
}

/// `HVMOP_get_param(index)`: (RAX, value).
pub(crate) fn get_param(d: &mut XenDomain, g: &mut FakeGuest, index: u32) -> (u64, u64) {
    let o = hvmop(d, g, HVMOP_GET_PARAM, &param(DOMID_SELF, index, 0));
    (o.ret, g.peek_u64(ARG + 8))
}

/// `EVTCHNOP_bind_virq` / `bind_ipi` / `send`.
pub(crate) fn bind_virq(d: &mut XenDomain, g: &mut FakeGuest, virq: u32, vcpu: u32) -> (u64, u32) {
    let arg = cat(&[&u32b(virq), &u32b(vcpu), &u32b(0)]);
    let o = evtchn(d, g, EVTCHNOP_BIND_VIRQ, &arg);
    (o.ret, g.peek_u32(ARG + 8))
}

pub(crate) fn send(d: &mut XenDomain, g: &mut FakeGuest, port: u32) -> u64 {
    evtchn(d, g, EVTCHNOP_SEND, &u32b(port)).ret
}

/// `grant_table_op(sub, ARG, 1)` and `sched_op(sub, ARG)`.
pub(crate) fn gnttab(d: &mut XenDomain, g: &mut FakeGuest, sub: u32) -> Outcome {
    call(d, g, hc(HYPERVISOR_GRANT_TABLE_OP, &[sub.into(), ARG, 1]))
}

pub(crate) fn sched(d: &mut XenDomain, g: &mut FakeGuest, sub: u32, arg: &[u8]) -> Outcome {
    with_arg(d, g, HYPERVISOR_SCHED_OP, &[sub.into()], arg)
}

/// A hypercall that failed with `e` and asks nothing more.
pub(crate) fn failed(e: Errno) -> Outcome {
    Outcome {
        ret: err(e),
        action: super::Action::None,
    }
}

/// Everything a hypercall may change, for "nothing changed" checks
/// (the statistics excepted: every call is counted).
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    shared_info: Vec<u8>,
    pub(crate) domain: String,
    store: Vec<u8>,
    console: Vec<u8>,
    pub(crate) guest: FakeView,
}

#[derive(Debug, PartialEq)]
pub(crate) struct FakeView {
    pub(crate) ram: Vec<u8>,
    map_calls: String,
    console: Vec<u8>,
    log: Vec<u8>,
}

pub(crate) fn snapshot(d: &mut XenDomain, g: &FakeGuest) -> Snapshot {
    let [(_, store), (_, console)] = d.ring_pages();
    Snapshot {
        shared_info: d.shared_info_bytes().to_vec(),
        domain: format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            d.vcpus,
            d.params,
            ports(&d.ports),
            ports(&d.backend_ports),
            grant_frames(d),
            d.shared_info_gfn,
            d.hypercall_page_gpa,
            d.console_input,
            d.next_timer_tsc(),
        ),
        store: d.host_page_mut(store).unwrap().to_vec(),
        console: d.host_page_mut(console).unwrap().to_vec(),
        guest: FakeView {
            ram: g.ram.clone(),
            map_calls: format!("{:?} {:?}", g.map_calls, g.mapped()),
            console: g.console.clone(),
            log: g.log.clone(),
        },
    }
}

/// The ports in use (a table that grew by a free port is the same table).
fn ports(t: &EventChannels) -> Vec<(u32, String)> {
    (0..t.valid_ports())
        .filter(|&p| t.state(p) != Some(PortState::Free))
        .map(|p| (p, format!("{:?} on {:?}", t.state(p), t.vcpu_of(p))))
        .collect()
}

/// The grant frames' contents.
fn grant_frames(d: &XenDomain) -> Vec<u8> {
    (0..d.grants.nr_frames())
        .flat_map(|i| d.grants.frame(i).unwrap().to_vec())
        .collect()
}

/// The invariant of delivery: a pending bit only for a port in use.
pub(crate) fn check_pending_only_for_bound_ports(d: &XenDomain) {
    for port in 0..EVTCHN_2L_NR_CHANNELS {
        if is_pending(d.shared_info_bytes(), port) {
            assert!(
                d.ports.is_bound(port),
                "port {port} pending but {:?}",
                d.ports.state(port)
            );
        }
    }
}
