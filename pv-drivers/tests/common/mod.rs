//! The frontends linked against the hypervisor's own backends in one
//! process: a guest whose RAM is a host vector and whose mapped frames are
//! the hypervisor's own pages (shared info, the store and console rings,
//! the grant frames — reached through the raw addresses the dispatcher
//! maps, as the hypervisor's second-level tables do), and a [`Hypercall`]
//! that calls `xen-services`' dispatcher directly and then lets the block
//! backend serve its disks, as the run loop does between guest entries.
#![allow(dead_code)]

use block_backend::{Immediate, MemoryBlock};
use pv_drivers::event_channel::EventChannels;
use pv_drivers::grant_table::GrantTable;
use pv_drivers::memory::{check_range, GuestPages, MemError};
use pv_drivers::raw::MappedPage;
use pv_drivers::shared_info::SharedInfoPage;
use pv_drivers::xenstore::XenStoreClient;
use pv_drivers::Hypercall;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use xen_abi::errno::Errno;
use xen_abi::XEN_PAGE_SIZE;
use xen_services::hvm::{GuestAccess, HypercallArgs, HypercallInsn, XenConfig, XenDomain};

pub const PAGE: u64 = XEN_PAGE_SIZE as u64;
/// Guest RAM: 4 MiB from physical 0.
pub const RAM: usize = 4 << 20;
/// Where hypercall argument structures are put for the dispatcher.
pub const ARG_GPA: u64 = 0x1000;
/// The frames the tests place things at.
pub const SHARED_GFN: u64 = 0x80;
pub const GRANT_GFNS: [u64; 2] = [0x90, 0x91];
pub const RING_GFN: u64 = 0x100;
pub const DATA_GFN0: u64 = 0x200;
pub const INDIRECT_GFN: u64 = 0x300;
pub const DOMID: u16 = 1;
pub const TSC_HZ: u64 = 3_000_000_000;
pub const TSC_AT_START: u64 = 1_000_000;
pub const UNIX_NS_AT_START: u64 = 1_700_000_000_123_456_789;

struct Inner {
    ram: Vec<u8>,
    mapped: BTreeMap<u64, MappedPage>,
    tsc: u64,
    console: Vec<u8>,
    log: Vec<u8>,
}

/// The guest's memory, shared by the frontends ([`GuestPages`]) and the
/// dispatcher ([`GuestAccess`]).
#[derive(Clone)]
pub struct Mem(Rc<RefCell<Inner>>);

impl Mem {
    fn new() -> Self {
        Self(Rc::new(RefCell::new(Inner {
            ram: vec![0; RAM],
            mapped: BTreeMap::new(),
            tsc: TSC_AT_START + TSC_HZ,
            console: Vec::new(),
            log: Vec::new(),
        })))
    }

    pub fn set_tsc(&self, tsc: u64) {
        self.0.borrow_mut().tsc = tsc;
    }

    pub fn tsc(&self) -> u64 {
        self.0.borrow().tsc
    }

    /// What the console backend handed to the terminal.
    pub fn console_output(&self) -> Vec<u8> {
        self.0.borrow().console.clone()
    }

    pub fn is_mapped(&self, gfn: u64) -> bool {
        self.0.borrow().mapped.contains_key(&gfn)
    }

    /// Splits `[gpa, gpa + len)` into per-page pieces.
    fn pieces(gpa: u64, len: usize) -> Vec<(u64, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut done = 0;
        while done < len {
            let a = gpa + done as u64;
            let off = (a % PAGE) as usize;
            let n = (len - done).min(XEN_PAGE_SIZE - off);
            out.push((a / PAGE, off, done, n));
            done += n;
        }
        out
    }
}

impl GuestPages for Mem {
    fn read(&mut self, gfn: u64, offset: usize, buf: &mut [u8]) -> Result<(), MemError> {
        check_range(gfn, offset, buf.len())?;
        let inner = self.0.borrow();
        if let Some(p) = inner.mapped.get(&gfn) {
            return p.read(offset, buf).map_err(|_| MemError { gfn, offset });
        }
        let at = (gfn * PAGE) as usize + offset;
        let src = inner
            .ram
            .get(at..at + buf.len())
            .ok_or(MemError { gfn, offset })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, gfn: u64, offset: usize, data: &[u8]) -> Result<(), MemError> {
        check_range(gfn, offset, data.len())?;
        let mut inner = self.0.borrow_mut();
        if let Some(p) = inner.mapped.get(&gfn) {
            return p.write(offset, data).map_err(|_| MemError { gfn, offset });
        }
        let at = (gfn * PAGE) as usize + offset;
        let dst = inner
            .ram
            .get_mut(at..at + data.len())
            .ok_or(MemError { gfn, offset })?;
        dst.copy_from_slice(data);
        Ok(())
    }

    fn fetch_or_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        let p = self.0.borrow().mapped.get(&gfn).copied();
        match p {
            Some(p) => p.fetch_or_u64(offset, bits),
            None => {
                let old = self.read_u64(gfn, offset)?;
                self.write_u64(gfn, offset, old | bits)?;
                Ok(old)
            }
        }
    }

    fn fetch_and_u64(&mut self, gfn: u64, offset: usize, bits: u64) -> Result<u64, MemError> {
        let p = self.0.borrow().mapped.get(&gfn).copied();
        match p {
            Some(p) => p.fetch_and_u64(offset, bits),
            None => {
                let old = self.read_u64(gfn, offset)?;
                self.write_u64(gfn, offset, old & bits)?;
                Ok(old)
            }
        }
    }

    fn swap_u64(&mut self, gfn: u64, offset: usize, value: u64) -> Result<u64, MemError> {
        let p = self.0.borrow().mapped.get(&gfn).copied();
        match p {
            Some(p) => p.swap_u64(offset, value),
            None => {
                let old = self.read_u64(gfn, offset)?;
                self.write_u64(gfn, offset, value)?;
                Ok(old)
            }
        }
    }

    fn compare_exchange_u16(
        &mut self,
        gfn: u64,
        offset: usize,
        current: u16,
        new: u16,
    ) -> Result<u16, MemError> {
        let p = self.0.borrow().mapped.get(&gfn).copied();
        match p {
            Some(p) => p.compare_exchange_u16(offset, current, new),
            None => {
                let old = self.read_u16(gfn, offset)?;
                if old == current {
                    self.write_u16(gfn, offset, new)?;
                }
                Ok(old)
            }
        }
    }
}

impl GuestAccess for Mem {
    // The linear map is the identity: the tests put arguments at ARG_GPA.
    fn read_linear(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.read_phys(addr, buf)
    }

    fn write_linear(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.write_phys(addr, data)
    }

    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), Errno> {
        for (gfn, off, at, n) in Self::pieces(gpa, buf.len()) {
            GuestPages::read(self, gfn, off, &mut buf[at..at + n]).map_err(|_| Errno::EFAULT)?;
        }
        Ok(())
    }

    fn write_phys(&mut self, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        for (gfn, off, at, n) in Self::pieces(gpa, data.len()) {
            GuestPages::write(self, gfn, off, &data[at..at + n]).map_err(|_| Errno::EFAULT)?;
        }
        Ok(())
    }

    fn map_page(&mut self, gfn: u64, host_page: u64) -> Result<(), Errno> {
        // SAFETY: `host_page` is the address of one of the domain's own
        // page-sized, page-aligned boxes (shared info, a ring, a grant
        // frame), which live as long as the `XenDomain` in the same
        // `Xen`; single-threaded, and no Rust reference to the page is
        // held while the guest side touches it (the dispatcher borrows
        // its pages only inside a hypercall, and the guest side's
        // accesses are volatile or atomic).
        let page =
            unsafe { MappedPage::new(host_page as usize as *mut u8) }.ok_or(Errno::EINVAL)?;
        self.0.borrow_mut().mapped.insert(gfn, page);
        Ok(())
    }

    fn unmap_page(&mut self, gfn: u64) {
        self.0.borrow_mut().mapped.remove(&gfn);
    }

    fn guest_tsc(&self) -> u64 {
        self.0.borrow().tsc
    }

    fn console_output(&mut self, bytes: &[u8]) {
        self.0.borrow_mut().console.extend_from_slice(bytes);
    }

    fn log_output(&mut self, bytes: &[u8]) {
        self.0.borrow_mut().log.extend_from_slice(bytes);
    }
}

/// The hypervisor: the domain's dispatcher and, when the test offers a
/// disk, the block backend's service after every hypercall.
pub struct Xen {
    pub dom: XenDomain,
    pub mem: Mem,
    pub disk: Option<Immediate<MemoryBlock>>,
    /// Hypercalls made, by number.
    pub calls: Vec<u64>,
}

impl Hypercall for Xen {
    fn hypercall(&mut self, op: u64, args: [u64; 5]) -> i64 {
        self.calls.push(op);
        let out = self.dom.hypercall(
            &mut self.mem,
            HypercallArgs {
                nr: op,
                args,
                cpl: 0,
                long_mode: true,
                vcpu: 0,
            },
        );
        self.serve_disks();
        out.ret as i64
    }

    fn hypercall_with_arg(
        &mut self,
        op: u64,
        mut args: [u64; 5],
        at: usize,
        arg: &mut [u8],
    ) -> i64 {
        GuestAccess::write_phys(&mut self.mem, ARG_GPA, arg).expect("argument area");
        args[at] = ARG_GPA;
        let r = self.hypercall(op, args);
        GuestAccess::read_phys(&mut self.mem, ARG_GPA, arg).expect("argument area");
        r
    }
}

impl Xen {
    /// Serves every vbd that wants it, as the run loop's polls do.
    pub fn serve_disks(&mut self) {
        if let Some(disk) = self.disk.as_mut() {
            for i in 0..self.dom.vbd_count() {
                while self.dom.vbd_wants_service(i) {
                    self.dom.serve_vbd(&mut self.mem, i, disk);
                }
            }
        }
    }

    /// Host-side work between guest entries (timers, console input).
    pub fn poll(&mut self) -> bool {
        self.dom.poll(&mut self.mem)
    }
}

/// A domain as `xl` creates it, its rings mapped where the HVM params say.
pub fn boot() -> (Xen, Mem) {
    let dom = XenDomain::new(XenConfig {
        domid: DOMID,
        vcpus: 1,
        tsc_hz: TSC_HZ,
        tsc_at_start: TSC_AT_START,
        unix_ns_at_start: UNIX_NS_AT_START,
        insn: HypercallInsn::Vmcall,
        store_gfn: 0xFEFF9,
        console_gfn: 0xFEFF8,
        memory_map: Vec::new(),
    });
    let mut mem = Mem::new();
    for (gfn, host) in dom.ring_pages() {
        mem.map_page(gfn, host).expect("ring frame");
    }
    (
        Xen {
            dom,
            mem: mem.clone(),
            disk: None,
            calls: Vec::new(),
        },
        mem,
    )
}

/// The frontends' shared state as a guest kernel sets it up: shared info
/// mapped, grant frames mapped, the XenStore client.
pub struct Guest {
    pub xen: Xen,
    pub mem: Mem,
    pub shared: SharedInfoPage,
    pub events: EventChannels,
    pub grants: GrantTable,
    pub store: XenStoreClient,
}

pub fn guest() -> Guest {
    let (mut xen, mem) = boot();
    let shared = SharedInfoPage::map(&mut xen, SHARED_GFN).expect("shared info");
    let grants = GrantTable::setup(&mut xen, &GRANT_GFNS).expect("grant frames");
    let store = XenStoreClient::from_hvm_params(&mut xen).expect("store params");
    Guest {
        xen,
        mem,
        shared,
        events: EventChannels::new(shared),
        grants,
        store,
    }
}
