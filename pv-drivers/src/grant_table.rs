//! Grant table v1, granting side (`xen/include/public/grant_table.h`).
//!
//! The table is an array of 8-byte `grant_entry_v1 { flags, domid, frame }`
//! over grant frames the hypervisor owns; an HVM guest maps frame `i` at a
//! guest frame of its choice with `XENMEM_add_to_physmap(
//! XENMAPSPACE_grant_table, i)` (`xen/include/public/memory.h`).
//!
//! Granting writes `domid` and `frame`, then (barrier) `flags =
//! GTF_permit_access [| GTF_readonly]`. Revoking is a compare-and-exchange
//! of `flags` to 0 that is refused while the backend has set
//! `GTF_reading` or `GTF_writing` (it has the page mapped or is copying),
//! as Linux's `gnttab_end_foreign_access_ref_v1` does.

use crate::error::Error;
use crate::hypercall::{add_to_physmap, Hypercall};
use crate::memory::GuestPages;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use xen_abi::grant_table::{
    GrantEntryV1, GrantRef, GNTTAB_NR_RESERVED_ENTRIES, GRANT_ENTRIES_V1_PER_FRAME,
    GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING,
};
use xen_abi::memory::{DomId, XENMAPSPACE_GRANT_TABLE};

/// How often a revoke retries a compare-and-exchange the backend keeps
/// racing (each failure means the flags changed under it).
const MAX_CMPXCHG_RETRIES: u32 = 1000;

/// The guest's grant table: the frames where its grant frames are mapped
/// and the free references.
#[derive(Clone, Debug)]
pub struct GrantTable {
    frames: Vec<u64>,
    /// Free references, taken from the end.
    free: Vec<GrantRef>,
    /// `in_use[r]`: reference `r` is granted.
    in_use: Vec<bool>,
}

impl GrantTable {
    /// Maps grant frame `i` at `gfns[i]` for every `i` and starts with every
    /// reference free but the reserved ones (`GNTTAB_NR_RESERVED_ENTRIES`).
    pub fn setup(hc: &mut dyn Hypercall, gfns: &[u64]) -> Result<Self, Error> {
        if gfns.is_empty() {
            return Err(Error::InvalidArgument("no grant frames"));
        }
        for (i, &gfn) in gfns.iter().enumerate() {
            add_to_physmap(hc, XENMAPSPACE_GRANT_TABLE, i as u64, gfn)?;
        }
        Ok(Self::mapped(gfns))
    }

    /// A table whose frames are already mapped at `gfns`.
    pub fn mapped(gfns: &[u64]) -> Self {
        let entries = (gfns.len() * GRANT_ENTRIES_V1_PER_FRAME) as GrantRef;
        Self {
            frames: gfns.to_vec(),
            free: (GNTTAB_NR_RESERVED_ENTRIES..entries).rev().collect(),
            in_use: alloc::vec![false; entries as usize],
        }
    }

    /// Free references left.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    fn entry(&self, gref: GrantRef) -> Result<(u64, usize), Error> {
        let per = GRANT_ENTRIES_V1_PER_FRAME as GrantRef;
        let gfn = self
            .frames
            .get((gref / per) as usize)
            .ok_or(Error::InvalidArgument("grant reference beyond the table"))?;
        Ok((*gfn, (gref % per) as usize * size_of::<GrantEntryV1>()))
    }

    /// Lets domain `domid` access guest frame `frame` (read-only if
    /// `readonly`); the reference to hand it.
    pub fn grant_access(
        &mut self,
        mem: &mut dyn GuestPages,
        domid: DomId,
        frame: u64,
        readonly: bool,
    ) -> Result<GrantRef, Error> {
        let frame32 =
            u32::try_from(frame).map_err(|_| Error::InvalidArgument("frame above 32 bits"))?;
        let gref = self.free.pop().ok_or(Error::NoSpace)?;
        let (gfn, at) = match self.entry(gref) {
            Ok(e) => e,
            Err(e) => {
                self.free.push(gref);
                return Err(e);
            }
        };
        let r = (|| -> Result<(), Error> {
            mem.write_u16(gfn, at + offset_of!(GrantEntryV1, domid), domid)?;
            mem.write_u32(gfn, at + offset_of!(GrantEntryV1, frame), frame32)?;
            // domid and frame before flags (`grant_table.h`).
            mem.fence();
            let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
            mem.write_u16(gfn, at + offset_of!(GrantEntryV1, flags), flags)?;
            Ok(())
        })();
        match r {
            Ok(()) => {
                self.in_use[gref as usize] = true;
                Ok(gref)
            }
            Err(e) => {
                self.free.push(gref);
                Err(e)
            }
        }
    }

    /// Whether the backend has the grant mapped or in use now.
    pub fn backend_using(&self, mem: &mut dyn GuestPages, gref: GrantRef) -> Result<bool, Error> {
        let (gfn, at) = self.entry(gref)?;
        let flags = mem.read_u16(gfn, at + offset_of!(GrantEntryV1, flags))?;
        Ok(flags & (GTF_READING | GTF_WRITING) != 0)
    }

    /// Revokes the grant and frees its reference: [`Error::GrantInUse`]
    /// (and the grant stays) while the backend has it mapped or in use.
    pub fn end_access(&mut self, mem: &mut dyn GuestPages, gref: GrantRef) -> Result<(), Error> {
        if !self.in_use.get(gref as usize).copied().unwrap_or(false) {
            return Err(Error::InvalidArgument("grant reference not granted"));
        }
        let (gfn, at) = self.entry(gref)?;
        let flags_at = at + offset_of!(GrantEntryV1, flags);
        let mut flags = mem.read_u16(gfn, flags_at)?;
        for _ in 0..MAX_CMPXCHG_RETRIES {
            if flags & (GTF_READING | GTF_WRITING) != 0 {
                return Err(Error::GrantInUse);
            }
            let found = mem.compare_exchange_u16(gfn, flags_at, flags, 0)?;
            if found == flags {
                self.in_use[gref as usize] = false;
                self.free.push(gref);
                return Ok(());
            }
            flags = found;
        }
        Err(Error::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::HostPages;

    #[test]
    fn grants_come_from_the_free_list_and_go_back_on_revoke() {
        let mut m = HostPages::new();
        let mut t = GrantTable::mapped(&[100]);
        let n = t.free_count();
        assert_eq!(n, GRANT_ENTRIES_V1_PER_FRAME - 8);
        let r = t.grant_access(&mut m, 0, 0x1234, true).unwrap();
        assert_eq!(r, 8, "the first reference after the reserved ones");
        assert_eq!(
            m.read_u16(100, 64).unwrap(),
            GTF_PERMIT_ACCESS | GTF_READONLY
        );
        assert_eq!(m.read_u32(100, 68).unwrap(), 0x1234);
        assert_eq!(t.free_count(), n - 1);
        // The backend is copying: refused, the grant stays.
        m.write_u16(100, 64, GTF_PERMIT_ACCESS | GTF_READING)
            .unwrap();
        assert_eq!(t.end_access(&mut m, r), Err(Error::GrantInUse));
        assert!(t.backend_using(&mut m, r).unwrap());
        m.write_u16(100, 64, GTF_PERMIT_ACCESS).unwrap();
        t.end_access(&mut m, r).unwrap();
        assert_eq!(m.read_u16(100, 64).unwrap(), 0);
        assert_eq!(t.free_count(), n);
        assert!(t.end_access(&mut m, r).is_err(), "twice");
        assert!(t.grant_access(&mut m, 0, 1 << 32, false).is_err());
        assert_eq!(t.free_count(), n);
    }

    #[test]
    fn the_table_runs_out() {
        let mut m = HostPages::new();
        let mut t = GrantTable::mapped(&[1]);
        for _ in 0..t.free_count() {
            t.grant_access(&mut m, 0, 5, false).unwrap();
        }
        assert_eq!(t.grant_access(&mut m, 0, 5, false), Err(Error::NoSpace));
    }
}
