//! What the demo does, in safe code over pv-drivers: every line it prints
//! starts with `pv-demo: ` and goes to the PV console ring (hvc0) and to
//! the hypervisor's log (`CONSOLEIO_write`, `xen/include/public/xen.h`).
//!
//! 1. Finds the Xen CPUID leaves (`xen/include/public/arch-x86/cpuid.h`:
//!    signature "XenVMMXenVMM" at 0x40000000 + n * 0x100, version next).
//! 2. Connects the console (`HVM_PARAM_CONSOLE_PFN`/`_EVTCHN`,
//!    `xen/include/public/hvm/params.h`) and checks `hvm_start_info`'s magic
//!    (`xen/include/public/arch-x86/hvm/start_info.h`).
//! 3. Maps shared info onto its own page (`XENMAPSPACE_shared_info`,
//!    `xen/include/public/memory.h`) and prints the pvclock time
//!    (`struct vcpu_time_info`, `xen/include/public/xen.h`).
//! 4. Reads its XenStore tree (`domid`, `name`, `device/vbd`) and watches
//!    `control/shutdown`; a watch fires once when set
//!    (`xen/include/public/io/xs_wire.h`, `XS_WATCH`).
//! 5. Maps its grant frames (`XENMAPSPACE_grant_table`,
//!    `xen/include/public/grant_table.h`), connects blkfront to xvda
//!    (`device/vbd/51712`, `xen/include/public/io/blkif.h`), checksums the
//!    first megabytes, writes, flushes and reads back a pattern sector,
//!    and times a sequential read by the pvclock.
//! 6. Shuts down with `SCHEDOP_shutdown` (`xen/include/public/sched.h`):
//!    `SHUTDOWN_poweroff` when all went well, `SHUTDOWN_crash` after
//!    printing `pv-demo: error <what>` otherwise.
//!
//! Nothing takes interrupts: every wait polls and yields
//! (`SCHEDOP_yield`), and the hypervisor serves its backends on each exit.

use crate::arch;
use crate::checksum::Fnv1a64;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};
use pv_drivers::blkfront::{connect, Blkfront, BlkfrontConfig, Bus};
use pv_drivers::console::Console;
use pv_drivers::event_channel::EventChannels;
use pv_drivers::grant_table::GrantTable;
use pv_drivers::hypercall::{self as hcall, Hypercall};
use pv_drivers::memory::GuestPages;
use pv_drivers::shared_info::{tsc_khz, SharedInfoPage};
use pv_drivers::xenstore::{Tx, XenStoreClient, XsError};
use pv_drivers::Error;
use xen_abi::cpuid::{
    LEAF_VERSION, XEN_CPUID_BASE_STEP, XEN_CPUID_FIRST_LEAF, XEN_CPUID_SIGNATURE_EBX,
    XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX,
};
use xen_abi::hvm::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, XEN_HVM_START_MAGIC_VALUE};
use xen_abi::hypercall::{
    CONSOLEIO_WRITE, HYPERVISOR_CONSOLE_IO, HYPERVISOR_SCHED_OP, SCHEDOP_SHUTDOWN,
};
use xen_abi::sched::{SHUTDOWN_CRASH, SHUTDOWN_POWEROFF};

/// The disk: xvda (`device/vbd/51712`, the Linux `xvd` numbering of
/// `xen/include/public/io/blkif.h`, "Virtual device" / `docs/misc/vbd-interface`).
const VBD: &str = "device/vbd/51712";
/// At most this much of the disk is checksummed and timed.
const MAX_READ_BYTES: u64 = 8 << 20;
/// Where the pattern goes (1 MiB in).
const PATTERN_SECTOR: u64 = 2048;
/// What the pattern sector starts with (the rest is zeros).
const PATTERN: &[u8] = b"pv-demo-pattern";
/// Yields a frontend waits for an answer. Generous: under Bochs one yield
/// is little emulated time.
const MAX_POLLS: u32 = 50_000_000;

/// The console ring's frame and port once known, for the panic handler
/// (0: not yet).
static CONSOLE_GFN: AtomicU64 = AtomicU64::new(0);
static CONSOLE_PORT: AtomicU64 = AtomicU64::new(0);

/// A failed step: what was being done, and the frontend's error.
struct Failure {
    what: String,
    err: Option<Error>,
}

trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, Failure>;
}

impl<T> Context<T> for Result<T, Error> {
    fn ctx(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            what: what.into(),
            err: Some(e),
        })
    }
}

fn fail(what: &str) -> Failure {
    Failure {
        what: what.into(),
        err: None,
    }
}

/// The output: the PV console once connected, and always the hypervisor log.
struct Out {
    console: Option<Console>,
}

impl Out {
    fn line(&self, hc: &mut dyn Hypercall, mem: &mut dyn GuestPages, text: &str) {
        let mut line = String::with_capacity(text.len() + 10);
        line.push_str("pv-demo: ");
        line.push_str(text);
        line.push('\n');
        console_io_write(hc, line.as_bytes());
        if let Some(c) = &self.console {
            // Nothing better to do if the console itself fails: the log
            // has the line.
            let _ = c.write_all(hc, mem, line.as_bytes());
        }
    }
}

/// `CONSOLEIO_write` (`xen/include/public/xen.h`): to the hypervisor's log.
fn console_io_write(hc: &mut dyn Hypercall, bytes: &[u8]) {
    let mut buf = bytes.to_vec();
    let args = [u64::from(CONSOLEIO_WRITE), buf.len() as u64, 0, 0, 0];
    let _ = hc.hypercall_with_arg(u64::from(HYPERVISOR_CONSOLE_IO), args, 2, &mut buf);
}

/// `SCHEDOP_shutdown` with `reason` (`struct sched_shutdown`,
/// `xen/include/public/sched.h`); does not return.
fn shutdown(hc: &mut dyn Hypercall, reason: u32) -> ! {
    let mut b = reason.to_le_bytes();
    let _ = hcall::with_arg(hc, HYPERVISOR_SCHED_OP, SCHEDOP_SHUTDOWN, &mut b);
    arch::halt()
}

/// The Xen CPUID base leaf and the version leaf's `major << 16 | minor`.
fn xen_cpuid() -> Option<(u32, u32)> {
    (0..0x100).find_map(|i| {
        let base = XEN_CPUID_FIRST_LEAF + i * XEN_CPUID_BASE_STEP;
        let (_, b, c, d) = arch::cpuid(base);
        if (b, c, d)
            == (
                XEN_CPUID_SIGNATURE_EBX,
                XEN_CPUID_SIGNATURE_ECX,
                XEN_CPUID_SIGNATURE_EDX,
            )
        {
            Some((base, arch::cpuid(base + LEAF_VERSION).0))
        } else {
            None
        }
    })
}

/// Called by the stub with `hvm_start_info`'s physical address.
pub fn main(start_info: u64) -> ! {
    arch::init_heap();
    let mut hc = arch::hypercall();
    let mut mem = arch::direct_map();
    let Some((base, version)) = xen_cpuid() else {
        // No Xen interface: no way to say so or to shut down.
        arch::halt()
    };
    let mut out = Out { console: None };
    match run(&mut hc, &mut mem, &mut out, start_info, base, version) {
        Ok(()) => {
            out.line(&mut hc, &mut mem, "done");
            shutdown(&mut hc, SHUTDOWN_POWEROFF)
        }
        Err(f) => {
            let text = match f.err {
                Some(e) => format!("error {}: {e:?}", f.what),
                None => format!("error {}", f.what),
            };
            out.line(&mut hc, &mut mem, &text);
            shutdown(&mut hc, SHUTDOWN_CRASH)
        }
    }
}

/// Prints a formatted line.
macro_rules! say {
    ($out:expr, $hc:expr, $mem:expr, $($arg:tt)*) => {
        $out.line($hc, $mem, &format!($($arg)*))
    };
}

fn run(
    hc: &mut dyn Hypercall,
    mem: &mut dyn GuestPages,
    out: &mut Out,
    start_info: u64,
    base: u32,
    version: u32,
) -> Result<(), Failure> {
    let mut console = Console::from_hvm_params(hc).ctx("console params")?;
    console.max_polls = MAX_POLLS;
    // The same numbers again, for the panic handler.
    CONSOLE_GFN.store(
        hcall::hvm_get_param(hc, HVM_PARAM_CONSOLE_PFN).ctx("console params")?,
        Ordering::SeqCst,
    );
    CONSOLE_PORT.store(
        hcall::hvm_get_param(hc, HVM_PARAM_CONSOLE_EVTCHN).ctx("console params")?,
        Ordering::SeqCst,
    );
    out.console = Some(console);
    say!(
        out,
        hc,
        mem,
        "hello from a Rust PVH guest: Xen CPUID base {base:#x}, version {}.{}, insn {:?}",
        version >> 16,
        version & 0xffff,
        arch::hypercall().insn()
    );
    let magic = mem
        .read_u32(start_info >> 12, (start_info & 0xfff) as usize)
        .map_err(Error::from)
        .ctx("reading hvm_start_info")?;
    if magic != XEN_HVM_START_MAGIC_VALUE {
        return Err(fail("hvm_start_info magic"));
    }
    say!(out, hc, mem, "start info at {start_info:#x}, magic ok");

    // Shared info and the pvclock.
    let frames = arch::frames();
    let shared = SharedInfoPage::map(hc, frames.shared_info).ctx("mapping shared info")?;
    let t = shared.time_info(mem, 0).ctx("pvclock record")?;
    let now = shared
        .system_time(mem, 0, pv_drivers::arch::rdtsc())
        .ctx("pvclock")?;
    let wall = shared
        .wallclock(mem, 0, pv_drivers::arch::rdtsc())
        .ctx("wallclock")?;
    say!(
        out,
        hc,
        mem,
        "shared info at frame {:#x}, pvclock {now} ns, tsc {} kHz, wallclock {} s",
        frames.shared_info,
        tsc_khz(&t).unwrap_or(0),
        wall.sec
    );

    // XenStore.
    let mut store = XenStoreClient::from_hvm_params(hc).ctx("store params")?;
    store.max_polls = MAX_POLLS;
    let domid = store
        .read_string(hc, mem, Tx::NONE, "domid")
        .ctx("reading domid")?;
    say!(out, hc, mem, "domid {domid}");
    match store.read_string(hc, mem, Tx::NONE, "name") {
        Ok(name) => say!(out, hc, mem, "name {name}"),
        Err(Error::Store(XsError::NotFound)) => say!(out, hc, mem, "name (none)"),
        Err(e) => return Err(e).ctx("reading name"),
    }
    let vbds = store
        .directory(hc, mem, Tx::NONE, "device/vbd")
        .ctx("listing device/vbd")?;
    say!(out, hc, mem, "device/vbd: {}", vbds.join(" "));
    store
        .watch(hc, mem, "control/shutdown", "pv-demo")
        .ctx("watching control/shutdown")?;
    let ev = store
        .wait_watch_event(hc, mem)
        .ctx("the first control/shutdown watch event")?;
    say!(out, hc, mem, "watch event {} token {}", ev.path, ev.token);

    // Grant tables, event channels, blkfront.
    let (nr, max) = hcall::grant_query_size(hc).ctx("grant table size")?;
    if max < arch::GRANT_FRAMES as u32 {
        return Err(fail("too few grant frames"));
    }
    let mut grants = GrantTable::setup(hc, &frames.grant).ctx("mapping grant frames")?;
    say!(
        out,
        hc,
        mem,
        "grant table: {} frames mapped (had {nr}, max {max}), {} free entries",
        arch::GRANT_FRAMES,
        grants.free_count()
    );
    let mut events = EventChannels::new(shared);
    let cfg = BlkfrontConfig {
        nodename: VBD.into(),
        ring_gfn: frames.blk_ring,
        data_gfns: frames.blk_data.to_vec(),
        indirect_gfns: vec![frames.blk_indirect],
        max_polls: MAX_POLLS,
    };
    let mut disk = connect(
        &mut Bus {
            hc: &mut *hc,
            mem: &mut *mem,
            store: &mut store,
            grants: &mut grants,
            events: &mut events,
        },
        cfg,
    )
    .ctx("connecting xvda")?;
    let info = disk.info().clone();
    let (segs, indirect) = disk.max_segments();
    say!(
        out,
        hc,
        mem,
        "xvda connected: {} sectors, flush {}, read-only {}, {segs} segments per request{}",
        info.sectors,
        info.flush,
        info.read_only(),
        if indirect { " (indirect)" } else { "" }
    );

    let len = (info.sectors * 512).min(MAX_READ_BYTES) & !((1 << 20) - 1);
    if len == 0 {
        return Err(fail("xvda is smaller than 1 MiB"));
    }
    let chunk = segs * 4096;
    let mut buf = vec![0u8; chunk];
    let mut sum = Fnv1a64::new();
    read_all(hc, mem, &mut grants, &mut disk, len, &mut buf, |b| {
        sum.update(b)
    })
    .ctx("reading xvda")?;
    say!(
        out,
        hc,
        mem,
        "xvda sum {:016x} over {len} bytes",
        sum.finish()
    );

    if info.read_only() {
        return Err(fail("xvda is read-only"));
    }
    let mut sector = vec![0u8; 512];
    sector[..PATTERN.len()].copy_from_slice(PATTERN);
    disk.write(hc, mem, &mut grants, PATTERN_SECTOR, &sector)
        .ctx("writing the pattern")?;
    if info.flush {
        disk.flush(hc, mem).ctx("flushing")?;
        say!(
            out,
            hc,
            mem,
            "pattern written at sector {PATTERN_SECTOR}, flushed"
        );
    } else {
        say!(
            out,
            hc,
            mem,
            "pattern written at sector {PATTERN_SECTOR}, no cache to flush"
        );
    }
    let mut back = vec![0u8; 512];
    disk.read(hc, mem, &mut grants, PATTERN_SECTOR, &mut back)
        .ctx("reading the pattern back")?;
    if back != sector {
        return Err(fail("the pattern read back differs"));
    }
    say!(out, hc, mem, "readback ok");

    let t0 = shared
        .system_time(mem, 0, pv_drivers::arch::rdtsc())
        .ctx("pvclock")?;
    read_all(hc, mem, &mut grants, &mut disk, len, &mut buf, |_| {}).ctx("timed read")?;
    let t1 = shared
        .system_time(mem, 0, pv_drivers::arch::rdtsc())
        .ctx("pvclock")?;
    say!(
        out,
        hc,
        mem,
        "read {len} bytes in {} ns",
        t1.saturating_sub(t0)
    );
    Ok(())
}

/// Reads `len` bytes from sector 0 on in `buf`-sized requests, handing
/// each piece to `each`.
fn read_all(
    hc: &mut dyn Hypercall,
    mem: &mut dyn GuestPages,
    grants: &mut GrantTable,
    disk: &mut Blkfront,
    len: u64,
    buf: &mut [u8],
    mut each: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let mut at = 0u64;
    while at < len {
        let n = (buf.len() as u64).min(len - at) as usize;
        disk.read(hc, mem, grants, at / 512, &mut buf[..n])?;
        each(&buf[..n]);
        at += n as u64;
    }
    Ok(())
}

/// The panic handler's end: one error line, then `SHUTDOWN_crash`.
pub fn panicked(info: &core::panic::PanicInfo) -> ! {
    let mut hc = arch::hypercall();
    let mut mem = arch::direct_map();
    let mut text = String::new();
    let _ = writeln!(text, "pv-demo: error panic: {}", info.message());
    console_io_write(&mut hc, text.as_bytes());
    let gfn = CONSOLE_GFN.load(Ordering::SeqCst);
    let port = CONSOLE_PORT.load(Ordering::SeqCst);
    if gfn != 0 {
        let _ = Console::new(gfn, port as u32).write_all(&mut hc, &mut mem, text.as_bytes());
    }
    shutdown(&mut hc, SHUTDOWN_CRASH)
}
