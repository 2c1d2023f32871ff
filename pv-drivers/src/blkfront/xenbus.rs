//! The frontend's side of the XenBus handshake (`xen/include/public/io/blkif.h`,
//! "Feature and Parameter Negotiation"; states in `io/xenbus.h`):
//!
//! 1. Read `backend` and `backend-id` from the frontend's node; wait for
//!    the backend at InitWait.
//! 2. Initialise and grant the ring page, allocate an event channel to the
//!    backend, and publish `ring-ref`, `event-channel` and `protocol` in
//!    one transaction; then `state` = Initialised.
//! 3. Wait for the backend at Connected; read `sectors`, `sector-size`,
//!    `info`, `feature-flush-cache`, `feature-max-indirect-segments`.
//! 4. `state` = Connected.

use super::ring::FrontRing;
use super::{Blkfront, BlkfrontConfig, DiskInfo};
use crate::error::Error;
use crate::event_channel::EventChannels;
use crate::grant_table::GrantTable;
use crate::hypercall::{sched_yield, Hypercall};
use crate::memory::GuestPages;
use crate::xenstore::{Tx, XenStoreClient, XsError};
use alloc::format;
use alloc::string::String;
use xen_abi::blkif::BLKIF_SECTOR_SIZE;
use xen_abi::memory::DomId;
use xen_abi::xenbus::XenbusState;

pub use xen_abi::blkif::XEN_IO_PROTO_ABI_X86_64;

/// Everything a handshake needs of the guest's other frontends.
pub struct Bus<'a> {
    /// The hypercall entry.
    pub hc: &'a mut dyn Hypercall,
    /// Guest memory.
    pub mem: &'a mut dyn GuestPages,
    /// The XenStore client.
    pub store: &'a mut XenStoreClient,
    /// The grant table.
    pub grants: &'a mut GrantTable,
    /// The event channels.
    pub events: &'a mut EventChannels,
}

fn state(bus: &mut Bus, path: &str) -> Result<XenbusState, Error> {
    match bus.store.read(bus.hc, bus.mem, Tx::NONE, path) {
        Ok(v) => Ok(XenbusState::parse(&v)),
        Err(Error::Store(XsError::NotFound)) => Ok(XenbusState::Unknown),
        Err(e) => Err(e),
    }
}

/// Waits until the node `path` reads `want`; a backend at Closing, Closed
/// or gone is [`Error::NotConnected`].
fn wait_for(bus: &mut Bus, path: &str, want: XenbusState, max_polls: u32) -> Result<(), Error> {
    for _ in 0..=max_polls {
        match state(bus, path)? {
            s if s == want => return Ok(()),
            XenbusState::Closing | XenbusState::Closed | XenbusState::Unknown => {
                return Err(Error::NotConnected)
            }
            _ => sched_yield(bus.hc)?,
        }
    }
    Err(Error::Timeout)
}

/// An optional number (absent: `default`).
fn optional(bus: &mut Bus, path: &str, default: u64) -> Result<u64, Error> {
    match bus.store.read_u64(bus.hc, bus.mem, Tx::NONE, path) {
        Err(Error::Store(XsError::NotFound)) => Ok(default),
        r => r,
    }
}

/// Runs the handshake for the device at `cfg.nodename`.
pub fn connect(bus: &mut Bus, cfg: BlkfrontConfig) -> Result<Blkfront, Error> {
    let fe = cfg.nodename.clone();
    let backend: String =
        bus.store
            .read_string(bus.hc, bus.mem, Tx::NONE, &format!("{fe}/backend"))?;
    let backend_id = bus
        .store
        .read_u64(bus.hc, bus.mem, Tx::NONE, &format!("{fe}/backend-id"))?;
    let backend_id =
        DomId::try_from(backend_id).map_err(|_| Error::Protocol("backend-id out of range"))?;
    let vdev = bus
        .store
        .read_u64(bus.hc, bus.mem, Tx::NONE, &format!("{fe}/virtual-device"))?;
    let vdev = u16::try_from(vdev).map_err(|_| Error::Protocol("virtual-device out of range"))?;
    wait_for(
        bus,
        &format!("{backend}/state"),
        XenbusState::InitWait,
        cfg.max_polls,
    )?;

    let ring = FrontRing::init(bus.mem, cfg.ring_gfn)?;
    let ring_ref = bus
        .grants
        .grant_access(bus.mem, backend_id, cfg.ring_gfn, false)?;
    let port = bus.events.alloc_unbound(bus.hc, backend_id)?;
    let published = bus.store.transaction(bus.hc, bus.mem, |s, hc, mem, tx| {
        s.write(
            hc,
            mem,
            tx,
            &format!("{fe}/ring-ref"),
            format!("{ring_ref}").as_bytes(),
        )?;
        s.write(
            hc,
            mem,
            tx,
            &format!("{fe}/event-channel"),
            format!("{port}").as_bytes(),
        )?;
        s.write(
            hc,
            mem,
            tx,
            &format!("{fe}/protocol"),
            XEN_IO_PROTO_ABI_X86_64.as_bytes(),
        )
    });
    let switched = published.and_then(|()| {
        let v = format!("{}", XenbusState::Initialised.value());
        bus.store.write(
            bus.hc,
            bus.mem,
            Tx::NONE,
            &format!("{fe}/state"),
            v.as_bytes(),
        )
    });
    let connected = switched.and_then(|()| {
        wait_for(
            bus,
            &format!("{backend}/state"),
            XenbusState::Connected,
            cfg.max_polls,
        )
    });
    let info = connected.and_then(|()| {
        let sectors =
            bus.store
                .read_u64(bus.hc, bus.mem, Tx::NONE, &format!("{backend}/sectors"))?;
        let sector_size = optional(
            bus,
            &format!("{backend}/sector-size"),
            BLKIF_SECTOR_SIZE as u64,
        )?;
        let info = optional(bus, &format!("{backend}/info"), 0)?;
        let flush = optional(bus, &format!("{backend}/feature-flush-cache"), 0)? != 0;
        let max_indirect = optional(bus, &format!("{backend}/feature-max-indirect-segments"), 0)?;
        if sector_size != BLKIF_SECTOR_SIZE as u64 {
            return Err(Error::Protocol(
                "sector-size other than 512 is not supported",
            ));
        }
        Ok(DiskInfo {
            sectors,
            sector_size: sector_size as u32,
            info: u32::try_from(info).map_err(|_| Error::Protocol("info out of range"))?,
            flush,
            max_indirect_segments: u32::try_from(max_indirect).unwrap_or(u32::MAX),
            backend_id,
            backend: backend.clone(),
        })
    });
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            // Take back what the backend was offered (it may have mapped
            // nothing yet; a refused revoke leaves the grant in place).
            let _ = bus.events.close(bus.hc, port);
            let _ = bus.grants.end_access(bus.mem, ring_ref);
            return Err(e);
        }
    };
    let v = format!("{}", XenbusState::Connected.value());
    bus.store.write(
        bus.hc,
        bus.mem,
        Tx::NONE,
        &format!("{fe}/state"),
        v.as_bytes(),
    )?;
    Ok(Blkfront::from_parts(cfg, info, ring, ring_ref, port, vdev))
}
