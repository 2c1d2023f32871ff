//! The guest's disk as a PV block device (`xvda`) beside the emulated IDE
//! disk, as `xl` gives an HVM guest both: the same medium, the vbd served
//! by the host-tested backend of `xen_services::blkback` through the
//! domain's [`xen_services::hvm::XenDomain`], with the medium's
//! asynchronous queue (the host virtio-blk disk's, several requests in
//! flight) or, for an in-memory medium (Bochs), the synchronous adapter.
//!
//! One medium, two devices, never both at once: the guest's blkfront only
//! loads after the guest unplugged the emulated disks (Linux's
//! `xen_has_pv_disk_devices()`), and the board detaches them when asked
//! because this vbd serves them. A vbd is served only once the emulated
//! disk is off the bus, so the two never share the medium's queue (whose
//! completions each would otherwise take from the other).

use super::guest_access::split;
use super::XenPlatform;
use crate::domain::Domain;
use alloc::vec::Vec;
use block_backend::{BlockQueue, Immediate, SharedBlock};
use xen_services::blkback::xenbus::VbdConfig;

/// Completions an in-memory medium's adapter holds (blkfront's ring size:
/// every request of a full ring completes before the next pass).
const MEMORY_DEPTH: usize = 32;

/// One PV disk's medium.
pub struct PvDisk {
    medium: SharedBlock,
    /// For a medium without a queue of its own.
    memory: Option<Immediate<SharedBlock>>,
}

impl PvDisk {
    fn new(medium: SharedBlock) -> Self {
        let queued = medium.0.borrow_mut().as_queue().is_some();
        let memory = (!queued).then(|| Immediate::new(medium.clone(), MEMORY_DEPTH));
        Self { medium, memory }
    }

    fn queue(&mut self) -> &mut dyn BlockQueue {
        match &mut self.memory {
            Some(m) => m,
            None => &mut self.medium,
        }
    }
}

/// Offers `medium` to the guest as the next PV disk (`xvda` first): its
/// XenStore nodes are written before the guest boots.
pub fn offer(platform: &mut XenPlatform, medium: SharedBlock) {
    let index = platform.disks.len() as u16;
    let config = {
        let m = medium.0.borrow();
        VbdConfig {
            vdev: xen_abi::xenbus::xvd_vdev(index),
            sectors: m.len() / 512,
            read_only: m.read_only(),
            flush: m.has_write_cache(),
            // This backend copies, so persistent grants would only add
            // the frontend's bounce copy (`VbdConfig::persistent`).
            persistent: false,
        }
    };
    platform.domain.add_vbd(config);
    log::info!(
        "xen: disk offered as PV xvd{} ({} sectors{})",
        char::from(b'a' + index as u8),
        config.sectors,
        if config.read_only { ", read-only" } else { "" }
    );
    platform.disks.push(PvDisk::new(medium));
}

/// Serves every vbd whose frontend kicked or whose disk holds requests
/// (on exits, the host tick, and while the vCPU waits in HLT). Nothing
/// while the emulated disk is still attached.
pub fn serve(dom: &mut Domain, tsc: u64) {
    let Some(xen) = dom.xen.as_mut() else {
        return;
    };
    if xen.disks.is_empty() || dom.board.has_ide_disk() {
        return;
    }
    let mut disks: Vec<PvDisk> = core::mem::take(&mut xen.disks);
    if let Some((domain, mut guest)) = split(dom, None, tsc) {
        for (i, disk) in disks.iter_mut().enumerate() {
            if domain.vbd_wants_service(i) {
                domain.serve_vbd(&mut guest, i, disk.queue());
            }
        }
    }
    if let Some(xen) = dom.xen.as_mut() {
        xen.disks = disks;
    }
}

/// True while a vbd waits for its disk or has a kick to serve: the run
/// loop keeps polling instead of sleeping until the next host tick.
pub fn busy(dom: &Domain) -> bool {
    dom.xen.as_ref().is_some_and(|x| {
        !x.disks.is_empty()
            && (0..x.disks.len()).any(|i| x.domain.vbd_wants_service(i))
            && !dom.board.has_ide_disk()
    })
}

/// The PV disks' counts for the statistics block.
pub fn write_stats(x: &XenPlatform, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    for i in 0..x.disks.len() {
        let Some((s, connections)) = x.domain.vbd_stats(i) else {
            continue;
        };
        writeln!(
            out,
            "xen vbd xvd{}: {connections} connection(s), {} reads ({} KiB), {} writes ({} KiB), \
             {} flushes, {} errors; {} responses, {} events to the guest, {} passes, \
             {} most in flight",
            char::from(b'a' + i as u8),
            s.reads,
            s.bytes_read >> 10,
            s.writes,
            s.bytes_written >> 10,
            s.flushes,
            s.errors,
            s.responses,
            s.events,
            s.services,
            s.max_in_flight
        )?;
    }
    Ok(())
}
