//! `hypercall`: `xen_services::hvm::XenDomain::hypercall`, the Xen
//! hypercall dispatcher, driven by a hostile HVM guest: any hypercall
//! number, sub-op and argument registers, from any privilege level and
//! mode, over guest memory of the input's choosing with a hole and a
//! read-only range in it; between calls the guest rewrites its memory,
//! time passes and the hypervisor polls, takes console input and asks for
//! a shutdown, as it does between guest entries.
//!
//! The guest is a minimal fake (`Guest`): 64 KiB of RAM from physical 0,
//! linear == physical, the hole and the read-only range fault, and a page
//! the domain maps (`map_page`) reads and writes as a page of its own at
//! that frame (the host address is only recorded, never dereferenced).
//!
//! The input: a header (vCPUs, TSC rate, memory map, hypercall instruction,
//! hole and read-only pages), then a script of steps (see [`run`]).
//!
//! Beyond not panicking: every result is 0, a small positive value or a
//! negative errno, a failure asks the hypervisor for nothing, the
//! statistics stay bounded, and the host pages mapped are page-aligned.

use crate::input::Input;
use std::collections::BTreeMap;
use std::ops::Range;
use xen_abi::errno::Errno;
use xen_abi::memory::{E820Entry, E820_RAM, E820_RESERVED};
use xen_services::hvm::stats::MAX_CALL_KEYS;
use xen_services::hvm::{Action, GuestAccess, HypercallArgs, HypercallInsn, XenConfig, XenDomain};

/// Most script steps one input runs.
const MAX_OPS: usize = 2048;
/// The guest's RAM.
const RAM: usize = 64 * 1024;
const PAGE: u64 = 4096;
/// The frames the hypervisor maps the store and console rings at (outside
/// RAM, as the board reserves them).
const STORE_GFN: u64 = 0xFEFF9;
const CONSOLE_GFN: u64 = 0xFEFF8;
/// The hypercalls a guest makes (and a few that are not served), picked
/// by the script more often than arbitrary numbers.
const NUMBERS: [u32; 14] = [12, 15, 17, 18, 20, 21, 24, 29, 32, 34, 33, 7, 23, 0];
/// The largest errno a failed hypercall may carry.
const MAX_ERRNO: u16 = 4095;

/// A guest over a byte vector (see the module documentation).
struct Guest {
    ram: Vec<u8>,
    hole: Range<u64>,
    read_only: Range<u64>,
    /// Pages mapped by the domain, by frame: the host address and what the
    /// guest sees there.
    mapped: BTreeMap<u64, (u64, Vec<u8>)>,
    tsc: u64,
    console: usize,
    log: usize,
}

impl Guest {
    /// Checks `[addr, addr + len)` and splits it at page boundaries:
    /// `(Some(frame), offset, n)` in a mapped page, `(None, index, n)` in
    /// RAM. Faults if any byte is in the hole, read-only (for a write) or
    /// outside RAM and the mapped pages.
    fn chunks(
        &self,
        addr: u64,
        len: usize,
        write: bool,
    ) -> Result<Vec<(Option<u64>, usize, usize)>, Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let overlaps = |r: &Range<u64>| r.start < end && addr < r.end;
        if overlaps(&self.hole) || (write && overlaps(&self.read_only)) {
            return Err(Errno::EFAULT);
        }
        let mut out = Vec::new();
        let mut a = addr;
        while a < end {
            let n = (PAGE - a % PAGE).min(end - a);
            if self.mapped.contains_key(&(a / PAGE)) {
                out.push((Some(a / PAGE), (a % PAGE) as usize, n as usize));
            } else if a + n <= self.ram.len() as u64 {
                out.push((None, a as usize, n as usize));
            } else {
                return Err(Errno::EFAULT);
            }
            a += n;
        }
        Ok(out)
    }

    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (frame, at, n) in self.chunks(addr, buf.len(), false)? {
            let src = match frame {
                Some(f) => &self.mapped[&f].1[at..at + n],
                None => &self.ram[at..at + n],
            };
            buf[done..done + n].copy_from_slice(src);
            done += n;
        }
        Ok(())
    }

    fn store(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        for (frame, at, n) in self.chunks(addr, data.len(), true)? {
            let dst = match frame {
                Some(f) => &mut self.mapped.get_mut(&f).expect("a mapped frame").1[at..at + n],
                None => &mut self.ram[at..at + n],
            };
            dst.copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }
}

impl GuestAccess for Guest {
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
        assert_eq!(host_page % PAGE, 0, "a host page that is not page-aligned");
        // Frames beyond a 52-bit physical address take nothing.
        if gfn >= 1 << 40 {
            return Err(Errno::EINVAL);
        }
        self.mapped.insert(gfn, (host_page, vec![0; PAGE as usize]));
        Ok(())
    }

    fn unmap_page(&mut self, gfn: u64) {
        self.mapped.remove(&gfn);
    }

    fn guest_tsc(&self) -> u64 {
        self.tsc
    }

    fn console_output(&mut self, bytes: &[u8]) {
        self.console += bytes.len();
    }

    fn log_output(&mut self, bytes: &[u8]) {
        self.log += bytes.len();
    }
}

/// A page range of the guest's address space from one byte: none, or up
/// to 4 pages somewhere in the first 80 KiB.
fn range(byte: u8) -> Range<u64> {
    if byte & 0x80 == 0 {
        return 0..0;
    }
    let start = u64::from(byte & 0x1F) * PAGE / 2;
    start..start + u64::from(byte >> 5 & 3) * PAGE + PAGE / 2
}

/// The domain and its guest from the input's header.
fn setup(input: &mut Input) -> (XenDomain, Guest) {
    let vcpus = u32::from(input.u8() % 5);
    let tsc_hz = match input.u8() % 4 {
        0 => 3_000_000_000,
        1 => 1_000_000_000,
        2 => u64::from(input.u32()),
        _ => input.u64(),
    };
    let flags = input.u8();
    let memory_map = if flags & 1 != 0 {
        vec![
            E820Entry {
                addr: 0,
                size: RAM as u64,
                kind: E820_RAM,
            },
            E820Entry {
                addr: 0xFEFF_8000,
                size: 0x8000,
                kind: E820_RESERVED,
            },
        ]
    } else {
        Vec::new()
    };
    let config = XenConfig {
        domid: 1,
        vcpus,
        tsc_hz,
        tsc_at_start: input.u32().into(),
        unix_ns_at_start: input.u64(),
        insn: if flags & 2 != 0 {
            HypercallInsn::Vmmcall
        } else {
            HypercallInsn::Vmcall
        },
        store_gfn: STORE_GFN,
        console_gfn: CONSOLE_GFN,
        memory_map,
    };
    let d = XenDomain::new(config);
    let mut g = Guest {
        ram: vec![0; RAM],
        hole: range(input.u8()),
        read_only: range(input.u8()),
        mapped: BTreeMap::new(),
        tsc: 0,
        console: 0,
        log: 0,
    };
    for (gfn, host) in d.ring_pages() {
        g.map_page(gfn, host).expect("the ring frames take a page");
    }
    (d, g)
}

/// One hypercall from the script: the number (mostly one of [`NUMBERS`]),
/// a flags byte (CPL, mode, vCPU), the sub-op and four more arguments.
fn hypercall(input: &mut Input, d: &mut XenDomain, g: &mut Guest) {
    let pick = input.u8();
    let nr = if pick < 0xF0 {
        u64::from(NUMBERS[usize::from(pick) % NUMBERS.len()])
    } else {
        input.mostly_small_u64()
    };
    let flags = input.u8();
    let mut args = [0u64; 5];
    for a in &mut args {
        *a = input.mostly_small_u64();
    }
    let a = HypercallArgs {
        nr,
        args,
        cpl: if flags & 0x30 == 0x30 { flags & 3 } else { 0 },
        long_mode: flags & 0x40 == 0,
        vcpu: u32::from(flags >> 2 & 3),
    };
    let before = d.stats.total_calls();
    let out = d.hypercall(g, a);
    let ret = out.ret as i64;
    if ret < 0 {
        assert!(ret >= -i64::from(MAX_ERRNO), "{a:?}: {ret}");
        assert_eq!(out.action, Action::None, "{a:?} failed and asked for more");
    } else {
        assert!(ret < 1 << 32, "{a:?}: {ret:#x}");
    }
    if let Action::Shutdown(reason) = out.action {
        assert!(reason <= xen_abi::sched::SHUTDOWN_MAX);
    }
    assert_eq!(d.stats.total_calls(), before + 1);
    assert!(d.stats.calls.len() <= MAX_CALL_KEYS + 1);
}

/// Runs one input. After the header, each step is an op byte (its low 3
/// bits pick the step) and its operands:
///
/// - 0-3: a hypercall ([`hypercall`]);
/// - 4: the guest writes bytes at an address (through its fake, so holes
///   and read-only ranges hold, and mapped pages take the bytes);
/// - 5: time passes (a 32-bit tick count) and the hypervisor polls, reads
///   the upcall state and drains early console output;
/// - 6: console input, or the hypercall-page MSR written;
/// - 7: the host asks for a shutdown.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (mut d, mut g) = setup(&mut input);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = input.u8();
        match op & 7 {
            0..=3 => hypercall(&mut input, &mut d, &mut g),
            4 => {
                let at = input.mostly_small_u64();
                let n = usize::from(input.u8());
                let bytes = input.bytes(n);
                let _ = g.store(at, bytes);
            }
            5 => {
                g.tsc = g.tsc.wrapping_add(input.u32().into());
                let _ = d.poll(&mut g);
                for v in 0..5 {
                    let _ = d.upcall_pending(&mut g, v);
                }
                let _ = (d.upcall(), d.next_timer_tsc(), d.system_time(&g));
                d.poll_console(&mut g);
            }
            6 if op & 8 == 0 => {
                let n = usize::from(input.u8());
                d.console_input(input.bytes(n));
            }
            6 => {
                let msr = xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE + u32::from(input.u8() & 1);
                let value = input.mostly_small_u64();
                let _ = d.write_hypercall_msr(&mut g, msr, value);
            }
            _ => d.request_shutdown(&mut g, if op & 8 == 0 { "poweroff" } else { "reboot" }),
        }
    }
    let mut stats = String::new();
    d.stats.write(&mut stats).expect("the statistics format");
}
