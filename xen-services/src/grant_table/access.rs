//! The backend's use of a grant: map (pin until released) and copy (pin for
//! one transfer), validated as `_set_status_v1()` in
//! `xen/common/grant_table.c` validates them, with the result as a `GNTST_*`
//! status of `xen/include/public/grant_table.h`.
//!
//! **Ordering.** The guest writes `domid` and `frame`, a store barrier, then
//! `flags`. The backend reads the 32-bit header (`flags | domid << 16`)
//! once, checks it, and publishes `GTF_reading` (and `GTF_writing` for a
//! writable use) with a compare-and-exchange *against the header it
//! checked*, retried a few times if the guest changed it meanwhile; only
//! after that succeeds does it read `frame` and touch the page. The guest
//! revokes with a compare-and-exchange of `flags` to 0 that fails while
//! `GTF_reading`/`GTF_writing` is set, so a grant in use cannot be revoked
//! behind the backend's back; the bits are cleared (a locked `and`) when
//! the last use ends.
//!
//! As in `map_grant_ref()` and `acquire_grant_for_copy()`, the flags are
//! checked and the bits set only for the first pin and for the first
//! writable one; later pins share the backend's record (Xen's active entry:
//! the frame read at the first pin, the backend it serves, 8-bit pin
//! counts).

use super::table::{GrantTable, Pin};
use core::ops::Range;
use xen_abi::grant_table::{
    GrantRef, GNTST_BAD_COPY_ARG, GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_GENERAL_ERROR,
    GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_SUB_PAGE, GTF_TYPE_MASK, GTF_WRITING,
};
use xen_abi::memory::DomId;
use xen_abi::XEN_PAGE_SIZE;

/// How many times a pin retries when the guest changes the header under it
/// (Xen gives up after the fifth attempt: "Shared grant entry is unstable").
const PIN_RETRIES: u32 = 4;

/// Pins of one kind (read or write) a grant may have at once: Xen keeps
/// each count in 8 bits of `act->pin` and refuses a pin that would overflow
/// it.
const MAX_PINS: u32 = 0xFF;

/// A mapped grant, held until [`GrantTable::unmap`] (Xen's map handle). Not
/// `Clone`: a mapping is released exactly once.
#[derive(Debug, PartialEq, Eq)]
pub struct Mapping {
    gref: GrantRef,
    gfn: u32,
    writable: bool,
}

impl Mapping {
    /// The grant reference.
    pub const fn gref(&self) -> GrantRef {
        self.gref
    }

    /// The granting guest's frame (a GFN, to translate and map).
    pub const fn gfn(&self) -> u32 {
        self.gfn
    }

    /// Whether the backend may write the page.
    pub const fn writable(&self) -> bool {
        self.writable
    }
}

impl GrantTable {
    /// Pins `gref` for `backend`, reading or writing; returns the frame.
    /// `race` runs between reading the header and the compare-and-exchange,
    /// standing for the guest's concurrent stores (tests use it).
    pub(super) fn pin_racing(
        &mut self,
        backend: DomId,
        gref: GrantRef,
        write: bool,
        map: bool,
        mut race: impl FnMut(&mut GrantTable),
    ) -> Result<u32, i16> {
        let mut seen = self.header(gref).ok_or(GNTST_BAD_GNTREF)?;
        let pinned = self.pins.get(&gref).copied();
        if let Some(p) = pinned {
            // Pinned by another backend, or a count at its limit.
            let count = if write { p.writers } else { p.readers };
            if p.domid != backend || count >= MAX_PINS {
                return Err(GNTST_GENERAL_ERROR);
            }
        }
        // The flags are (re)checked and the in-use bits set only for a first
        // pin or a first writable one; otherwise the bits are already set.
        if pinned.is_none_or(|p| write && p.writers == 0) {
            self.set_status(
                backend,
                gref,
                &mut seen,
                write,
                map,
                pinned.is_some(),
                &mut race,
            )?;
        }
        // The frame is read only after the in-use bits are published.
        let gfn = match pinned {
            Some(p) => p.gfn,
            None => self.entry_frame(gref).ok_or(GNTST_BAD_GNTREF)?,
        };
        let pin = self.pins.entry(gref).or_insert(Pin {
            domid: backend,
            readers: 0,
            writers: 0,
            gfn,
        });
        if write {
            pin.writers += 1;
        } else {
            pin.readers += 1;
        }
        Ok(gfn)
    }

    /// `_set_status_v1()`: checks the header `seen` (type and domid unless
    /// already pinned; not read-only for a write) and sets the in-use bits
    /// with a compare-and-exchange against it, retrying with the header
    /// found up to [`PIN_RETRIES`] times.
    #[allow(clippy::too_many_arguments)]
    fn set_status(
        &mut self,
        backend: DomId,
        gref: GrantRef,
        seen: &mut u32,
        write: bool,
        map: bool,
        pinned: bool,
        race: &mut impl FnMut(&mut GrantTable),
    ) -> Result<(), i16> {
        // A mapping must not take a sub-page grant (v2 only in practice).
        let mask = GTF_TYPE_MASK | if map { GTF_SUB_PAGE } else { 0 };
        let mut attempt = 0;
        loop {
            let (flags, domid) = (*seen as u16, (*seen >> 16) as u16);
            if !pinned && (flags & mask != GTF_PERMIT_ACCESS || domid != backend) {
                return Err(GNTST_GENERAL_ERROR);
            }
            let mut new = flags | GTF_READING;
            if write {
                if flags & GTF_READONLY != 0 {
                    return Err(GNTST_GENERAL_ERROR);
                }
                new |= GTF_WRITING;
            }
            race(self);
            let new = u32::from(new) | *seen & 0xFFFF_0000;
            let found = self
                .cmpxchg_header(gref, *seen, new)
                .ok_or(GNTST_BAD_GNTREF)?;
            if found == *seen {
                return Ok(());
            }
            if attempt == PIN_RETRIES {
                return Err(GNTST_GENERAL_ERROR);
            }
            attempt += 1;
            *seen = found;
        }
    }

    /// Drops one pin of `gref`; clears `GTF_writing` with the last writable
    /// pin and `GTF_reading` with the last pin. `GNTST_bad_handle` if there
    /// is no such pin.
    fn unpin(&mut self, gref: GrantRef, write: bool) -> Result<(), i16> {
        let pin = self.pins.get_mut(&gref).ok_or(GNTST_BAD_HANDLE)?;
        let count = if write {
            &mut pin.writers
        } else {
            &mut pin.readers
        };
        *count = count.checked_sub(1).ok_or(GNTST_BAD_HANDLE)?;
        let (readers, writers) = (pin.readers, pin.writers);
        if write && writers == 0 {
            self.clear_flags(gref, GTF_WRITING);
        }
        if readers + writers == 0 {
            self.pins.remove(&gref);
            self.clear_flags(gref, GTF_READING);
        }
        Ok(())
    }

    /// `GNTTABOP_map_grant_ref` as the backend `backend` uses it: checks
    /// the ref (`GNTST_bad_gntref` past the table), the entry
    /// (`GNTST_general_error` unless it permits access to `backend`, and for
    /// `write` unless it is writable) and pins it until [`Self::unmap`].
    pub fn map(&mut self, backend: DomId, gref: GrantRef, write: bool) -> Result<Mapping, i16> {
        let gfn = self.pin_racing(backend, gref, write, true, |_| {})?;
        Ok(Mapping {
            gref,
            gfn,
            writable: write,
        })
    }

    /// `GNTTABOP_unmap_grant_ref`: releases `mapping`. `GNTST_bad_handle`
    /// for a mapping this table does not hold.
    pub fn unmap(&mut self, mapping: Mapping) -> Result<(), i16> {
        self.unpin(mapping.gref, mapping.writable)
    }

    /// `GNTTABOP_copy` with the guest's side at `gref`: checks `offset` and
    /// `len` (`GNTST_bad_copy_arg` if the range leaves the page), pins the
    /// grant as [`Self::map`] does (`write`: the copy goes into the guest's
    /// page), runs `transfer` with the guest's frame and the byte range, and
    /// releases the pin.
    pub fn copy<R>(
        &mut self,
        backend: DomId,
        gref: GrantRef,
        write: bool,
        offset: u16,
        len: u16,
        transfer: impl FnOnce(u32, Range<usize>) -> R,
    ) -> Result<R, i16> {
        let (start, end) = (usize::from(offset), usize::from(offset) + usize::from(len));
        if end > XEN_PAGE_SIZE {
            return Err(GNTST_BAD_COPY_ARG);
        }
        let gfn = self.pin_racing(backend, gref, write, false, |_| {})?;
        let result = transfer(gfn, start..end);
        self.unpin(gref, write)?;
        Ok(result)
    }
}
