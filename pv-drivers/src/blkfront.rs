//! The block frontend (`xen/include/public/io/blkif.h`): the XenBus
//! handshake with its backend ([`xenbus`]), the shared ring ([`ring`]),
//! request slots ([`request`]), and synchronous reads, writes and flushes
//! here.
//!
//! Data moves through frames the caller lends the frontend
//! ([`BlkfrontConfig::data_gfns`]): each request grants them to the
//! backend, copies the caller's bytes in (writes) or out (reads), and
//! revokes the grants when the response is in. A transfer longer than one
//! request can carry is split: up to 11 segments of one page each in a
//! direct request (`BLKIF_MAX_SEGMENTS_PER_REQUEST`), or, when the backend
//! offers `feature-max-indirect-segments` and the caller lent indirect
//! pages, up to that many in a `BLKIF_OP_INDIRECT` request.
//!
//! Every response is checked: its id must be the request's and its
//! operation the request's; anything else is [`Error::Protocol`].

pub mod request;
pub mod ring;
pub mod xenbus;

use crate::error::Error;
use crate::event_channel::EventChannels;
use crate::grant_table::GrantTable;
use crate::hypercall::{sched_yield, Hypercall};
use crate::memory::GuestPages;
use alloc::string::String;
use alloc::vec::Vec;
use ring::FrontRing;
use xen_abi::blkif::{
    BlkifRequestSegment, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_SEGMENTS_PER_REQUEST,
    BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_OKAY,
    BLKIF_SECTOR_SIZE, BLKIF_SEGMENTS_PER_INDIRECT_PAGE, VDISK_READONLY,
};
use xen_abi::event_channel::EvtchnPort;
use xen_abi::grant_table::GrantRef;
use xen_abi::memory::DomId;
use xen_abi::XEN_PAGE_SIZE;

pub use xenbus::{connect, Bus};

const SECTORS_PER_PAGE: usize = XEN_PAGE_SIZE / BLKIF_SECTOR_SIZE;

/// What the frontend is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlkfrontConfig {
    /// The device's XenStore node, e.g. `device/vbd/51712`.
    pub nodename: String,
    /// A free frame for the ring page.
    pub ring_gfn: u64,
    /// Frames for the data of one request (one page per segment).
    pub data_gfns: Vec<u64>,
    /// Frames for indirect segment lists (none: direct requests only).
    pub indirect_gfns: Vec<u64>,
    /// Yields a wait for the backend takes before giving up.
    pub max_polls: u32,
}

/// The disk as the backend describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskInfo {
    /// Size in 512-byte sectors (`sectors`).
    pub sectors: u64,
    /// `sector-size`.
    pub sector_size: u32,
    /// `info`: `VDISK_*` bits.
    pub info: u32,
    /// `feature-flush-cache`.
    pub flush: bool,
    /// `feature-max-indirect-segments` (0: none).
    pub max_indirect_segments: u32,
    /// `backend-id`.
    pub backend_id: DomId,
    /// The backend's node.
    pub backend: String,
}

impl DiskInfo {
    /// Whether the disk refuses writes (`VDISK_READONLY`).
    pub fn read_only(&self) -> bool {
        self.info & VDISK_READONLY != 0
    }
}

/// A connected block frontend.
#[derive(Debug)]
pub struct Blkfront {
    cfg: BlkfrontConfig,
    info: DiskInfo,
    ring: FrontRing,
    ring_ref: GrantRef,
    port: EvtchnPort,
    vdev: u16,
    next_id: u64,
}

/// What a request is doing, for the cleanup that follows it.
struct InFlight {
    id: u64,
    operation: u8,
    grants: Vec<GrantRef>,
}

impl Blkfront {
    /// A frontend whose handshake is done: its ring (initialised, granted
    /// as `ring_ref`), its channel `port`, the backend's description.
    pub fn from_parts(
        cfg: BlkfrontConfig,
        info: DiskInfo,
        ring: FrontRing,
        ring_ref: GrantRef,
        port: EvtchnPort,
        vdev: u16,
    ) -> Self {
        Self {
            cfg,
            info,
            ring,
            ring_ref,
            port,
            vdev,
            next_id: 1,
        }
    }

    /// The disk.
    pub fn info(&self) -> &DiskInfo {
        &self.info
    }

    /// The ring's grant and the event channel.
    pub fn ring_ref_and_port(&self) -> (GrantRef, EvtchnPort) {
        (self.ring_ref, self.port)
    }

    /// Segments one request may carry, and whether that is indirect.
    pub fn max_segments(&self) -> (usize, bool) {
        let data = self.cfg.data_gfns.len();
        let indirect_room = (self.cfg.indirect_gfns.len() * BLKIF_SEGMENTS_PER_INDIRECT_PAGE)
            .min(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKIF_SEGMENTS_PER_INDIRECT_PAGE);
        let indirect = (self.info.max_indirect_segments as usize)
            .min(indirect_room)
            .min(data)
            .min(u16::MAX as usize);
        if indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST {
            (indirect, true)
        } else {
            (data.min(BLKIF_MAX_SEGMENTS_PER_REQUEST), false)
        }
    }

    fn check_range(&self, sector: u64, len: usize) -> Result<(), Error> {
        if !len.is_multiple_of(BLKIF_SECTOR_SIZE) {
            return Err(Error::InvalidArgument("length not a multiple of 512"));
        }
        let end = sector
            .checked_add((len / BLKIF_SECTOR_SIZE) as u64)
            .ok_or(Error::InvalidArgument("sector overflow"))?;
        if end > self.info.sectors {
            return Err(Error::InvalidArgument("beyond the end of the disk"));
        }
        if self.cfg.data_gfns.is_empty() && len > 0 {
            return Err(Error::InvalidArgument("no data frames"));
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes (a multiple of 512) from `sector` on.
    pub fn read(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        grants: &mut GrantTable,
        sector: u64,
        buf: &mut [u8],
    ) -> Result<(), Error> {
        self.check_range(sector, buf.len())?;
        let chunk = self.max_segments().0 * XEN_PAGE_SIZE;
        for (i, part) in buf.chunks_mut(chunk).enumerate() {
            let s = sector + (i * chunk / BLKIF_SECTOR_SIZE) as u64;
            self.transfer(hc, mem, grants, BLKIF_OP_READ, s, part.len())?;
            for (j, page) in part.chunks_mut(XEN_PAGE_SIZE).enumerate() {
                mem.read(self.cfg.data_gfns[j], 0, page)?;
            }
        }
        Ok(())
    }

    /// Writes `data` (a multiple of 512 bytes) from `sector` on.
    pub fn write(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        grants: &mut GrantTable,
        sector: u64,
        data: &[u8],
    ) -> Result<(), Error> {
        self.check_range(sector, data.len())?;
        let chunk = self.max_segments().0 * XEN_PAGE_SIZE;
        for (i, part) in data.chunks(chunk).enumerate() {
            for (j, page) in part.chunks(XEN_PAGE_SIZE).enumerate() {
                mem.write(self.cfg.data_gfns[j], 0, page)?;
            }
            let s = sector + (i * chunk / BLKIF_SECTOR_SIZE) as u64;
            self.transfer(hc, mem, grants, BLKIF_OP_WRITE, s, part.len())?;
        }
        Ok(())
    }

    /// Flushes the disk's cache (`BLKIF_OP_FLUSH_DISKCACHE`); a backend
    /// without `feature-flush-cache` gets no request and the answer is
    /// `BLKIF_RSP_EOPNOTSUPP`.
    pub fn flush(&mut self, hc: &mut dyn Hypercall, mem: &mut dyn GuestPages) -> Result<(), Error> {
        if !self.info.flush {
            return Err(Error::Io(BLKIF_RSP_EOPNOTSUPP));
        }
        let id = self.take_id();
        let slot = request::direct(BLKIF_OP_FLUSH_DISKCACHE, self.vdev, id, 0, &[]);
        self.submit_and_wait(
            hc,
            mem,
            &slot,
            InFlight {
                id,
                operation: BLKIF_OP_FLUSH_DISKCACHE,
                grants: Vec::new(),
            },
            None,
        )
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// One request moving `len` bytes (at most one request's worth) between
    /// the data frames and the disk at `sector`.
    fn transfer(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        grants: &mut GrantTable,
        operation: u8,
        sector: u64,
        len: usize,
    ) -> Result<(), Error> {
        let (max, use_indirect) = self.max_segments();
        let sectors = len / BLKIF_SECTOR_SIZE;
        let nsegs = sectors.div_ceil(SECTORS_PER_PAGE);
        if nsegs == 0 || nsegs > max {
            return Err(Error::InvalidArgument("transfer size"));
        }
        let id = self.take_id();
        let mut flight = InFlight {
            id,
            operation,
            grants: Vec::new(),
        };
        let backend = self.info.backend_id;
        // The backend only reads the pages of a write.
        let readonly = operation == BLKIF_OP_WRITE;
        let mut segs = Vec::with_capacity(nsegs);
        for i in 0..nsegs {
            let gref = match grants.grant_access(mem, backend, self.cfg.data_gfns[i], readonly) {
                Ok(g) => g,
                Err(e) => {
                    let _ = release(mem, grants, &flight.grants);
                    return Err(e);
                }
            };
            flight.grants.push(gref);
            let in_page = (sectors - i * SECTORS_PER_PAGE).min(SECTORS_PER_PAGE);
            segs.push(BlkifRequestSegment {
                gref,
                first_sect: 0,
                last_sect: (in_page - 1) as u8,
                pad: [0; 2],
            });
        }
        let slot = if use_indirect && nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST {
            let mut pages = Vec::new();
            for (p, list) in segs.chunks(BLKIF_SEGMENTS_PER_INDIRECT_PAGE).enumerate() {
                let gfn = self.cfg.indirect_gfns[p];
                let mut bytes = Vec::with_capacity(list.len() * 8);
                for s in list {
                    bytes.extend_from_slice(&request::segment_bytes(s));
                }
                let r = mem
                    .write(gfn, 0, &bytes)
                    .map_err(Error::from)
                    .and_then(|()| grants.grant_access(mem, backend, gfn, true));
                match r {
                    Ok(g) => {
                        flight.grants.push(g);
                        pages.push(g);
                    }
                    Err(e) => {
                        let _ = release(mem, grants, &flight.grants);
                        return Err(e);
                    }
                }
            }
            request::indirect(operation, self.vdev, id, sector, nsegs as u16, &pages)
        } else {
            request::direct(operation, self.vdev, id, sector, &segs)
        };
        self.submit_and_wait(hc, mem, &slot, flight, Some(grants))
    }

    fn submit_and_wait(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        slot: &[u8],
        flight: InFlight,
        grants: Option<&mut GrantTable>,
    ) -> Result<(), Error> {
        let result = self.submit_and_wait_inner(hc, mem, slot, &flight);
        if let Some(g) = grants {
            // Revoked whatever the outcome; one the backend still uses is
            // reported (it stays granted: its page must not be reused).
            let released = release(mem, g, &flight.grants);
            return result.and(released);
        }
        result
    }

    fn submit_and_wait_inner(
        &mut self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        slot: &[u8],
        flight: &InFlight,
    ) -> Result<(), Error> {
        self.ring.put_request(mem, slot)?;
        if self.ring.push(mem)? {
            let mut b = self.port.to_le_bytes();
            crate::hypercall::event_channel_op(hc, xen_abi::hypercall::EVTCHNOP_SEND, &mut b)?;
        }
        let mut polls = 0;
        loop {
            if let Some(rsp) = self.ring.take_response(mem)? {
                let rsp = request::response(&rsp);
                if rsp.id != flight.id {
                    return Err(Error::Protocol("blkif response to a request not made"));
                }
                if rsp.operation != flight.operation {
                    return Err(Error::Protocol("blkif response of another operation"));
                }
                return match rsp.status {
                    BLKIF_RSP_OKAY => Ok(()),
                    s => Err(Error::Io(s)),
                };
            }
            polls += 1;
            if polls > self.cfg.max_polls {
                return Err(Error::Timeout);
            }
            sched_yield(hc)?;
        }
    }

    /// Closes the channel and revokes the ring (for a frontend going
    /// away; the store's `state` is the caller's business).
    pub fn disconnect(
        self,
        hc: &mut dyn Hypercall,
        mem: &mut dyn GuestPages,
        grants: &mut GrantTable,
        events: &mut EventChannels,
    ) -> Result<(), Error> {
        events.close(hc, self.port)?;
        grants.end_access(mem, self.ring_ref)
    }
}

/// Revokes `refs`; the first failure (the others are still tried).
fn release(
    mem: &mut dyn GuestPages,
    grants: &mut GrantTable,
    refs: &[GrantRef],
) -> Result<(), Error> {
    let mut first = Ok(());
    for &r in refs {
        if let Err(e) = grants.end_access(mem, r) {
            if first.is_ok() {
                first = Err(e);
            }
        }
    }
    first
}
