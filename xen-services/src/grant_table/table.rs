//! A domain's v1 grant frames and their count (`gnttab_setup_table()`,
//! `gnttab_query_size()`, `gnttab_grow_table()` and `gnttab_map_frame()` in
//! `xen/common/grant_table.c`).
//!
//! For an auto-translated (HVM) guest the hypervisor owns the frames: zeroed
//! host pages that the guest maps at GFNs it chooses with
//! `XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx, gfn)`. Here each
//! frame is a page-aligned [`GrantFrame`] the hypervisor maps into the
//! guest's physical address space ([`GrantTable::frame_address`]); the
//! guest writes entries into it and the backend reads and updates them in
//! place. A frame never moves while the table lives.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use xen_abi::errno::Errno;
use xen_abi::grant_table::{
    GnttabQuerySize, GrantRef, GNTST_GENERAL_ERROR, GNTST_OKAY, GRANT_ENTRIES_V1_PER_FRAME,
};
use xen_abi::XEN_PAGE_SIZE;

/// Frames a table may grow to unless configured otherwise (Xen's default
/// `max_grant_frames`, 32 frames of 512 v1 entries).
pub const DEFAULT_MAX_FRAMES: u32 = 32;
/// Frames a table starts with (Xen grows a new domain's table to one).
pub const INITIAL_FRAMES: u32 = 1;

/// The backend's record of a grant in use (Xen's `struct
/// active_grant_entry`): the pins and the frame read at the first one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pin {
    pub(super) domid: u16,
    pub(super) readers: u32,
    pub(super) writers: u32,
    pub(super) gfn: u32,
}

/// One grant frame: a 4 KiB page, aligned so it can be mapped into a
/// guest's second-level tables as it is.
#[derive(Clone, Debug)]
#[repr(C, align(4096))]
pub struct GrantFrame(pub [u8; XEN_PAGE_SIZE]);

/// A guest's v1 grant table.
#[derive(Clone, Debug)]
pub struct GrantTable {
    pub(super) frames: Vec<Box<GrantFrame>>,
    max_frames: u32,
    pub(super) pins: BTreeMap<GrantRef, Pin>,
}

impl GrantTable {
    /// A table of [`INITIAL_FRAMES`] zeroed frames that may grow to
    /// `max_frames` (at least 1).
    pub fn new(max_frames: u32) -> Self {
        let max_frames = max_frames.max(INITIAL_FRAMES);
        let mut t = Self {
            frames: Vec::new(),
            max_frames,
            pins: BTreeMap::new(),
        };
        t.grow(INITIAL_FRAMES);
        t
    }

    fn grow(&mut self, nr_frames: u32) {
        while (self.frames.len() as u32) < nr_frames {
            self.frames.push(Box::new(GrantFrame([0; XEN_PAGE_SIZE])));
        }
    }

    /// Frames in use.
    pub fn nr_frames(&self) -> u32 {
        self.frames.len() as u32
    }

    /// The most frames the table may have.
    pub const fn max_frames(&self) -> u32 {
        self.max_frames
    }

    /// Valid grant references: `0..entries()` (refs 0-7 included: they are
    /// reserved for the toolstack's console and XenStore grants, but a guest
    /// may grant them and a backend may then use them).
    pub fn entries(&self) -> u32 {
        self.nr_frames() * GRANT_ENTRIES_V1_PER_FRAME as u32
    }

    /// `GNTTABOP_query_size` for this domain.
    pub fn query_size(&self) -> GnttabQuerySize {
        GnttabQuerySize {
            nr_frames: self.nr_frames(),
            max_nr_frames: self.max_frames,
            status: GNTST_OKAY,
            ..GnttabQuerySize::default()
        }
    }

    /// `GNTTABOP_setup_table`: grows the table to `nr_frames` (never
    /// shrinks it); `GNTST_general_error` above the limit, as
    /// `gnttab_setup_table()` answers. An auto-translated guest then maps
    /// the frames with [`Self::add_to_physmap`]; the frame list Xen also
    /// writes is the hypercall layer's business.
    pub fn setup_table(&mut self, nr_frames: u32) -> i16 {
        if nr_frames > self.max_frames {
            return GNTST_GENERAL_ERROR;
        }
        self.grow(nr_frames);
        GNTST_OKAY
    }

    /// `XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx)`: frame `idx`
    /// exists afterwards (the table grows to it, as `gnttab_map_frame()`
    /// does); `EINVAL` past the limit. Bit 31 of `idx`
    /// (`XENMAPIDX_grant_table_status`) names v2 status frames, which a v1
    /// table has none of: `EINVAL` too.
    pub fn add_to_physmap(&mut self, idx: u64) -> Result<(), Errno> {
        if idx >= u64::from(self.max_frames) {
            return Err(Errno::EINVAL);
        }
        self.grow(idx as u32 + 1);
        Ok(())
    }

    /// Frame `i`'s bytes, as the guest sees its mapped page.
    pub fn frame(&self, i: u32) -> Option<&[u8]> {
        self.frames.get(i as usize).map(|f| &f.0[..])
    }

    /// Where frame `i` lives in the hypervisor's (identity-mapped) memory:
    /// the host page to map at the GFN the guest chose.
    pub fn frame_address(&self, i: u32) -> Option<u64> {
        self.frames
            .get(i as usize)
            .map(|f| f.0.as_ptr() as usize as u64)
    }

    /// Frame `i`'s bytes for writing (the guest's own stores).
    pub fn frame_mut(&mut self, i: u32) -> Option<&mut [u8]> {
        self.frames.get_mut(i as usize).map(|f| &mut f.0[..])
    }

    /// The frame and byte offset of entry `gref`, if it is a valid ref.
    pub(super) fn locate(&self, gref: GrantRef) -> Option<(usize, usize)> {
        if gref >= self.entries() {
            return None;
        }
        let per = GRANT_ENTRIES_V1_PER_FRAME as u32;
        Some(((gref / per) as usize, (gref % per) as usize * 8))
    }

    /// The 32-bit word `flags | domid << 16` of entry `gref` (the unit of
    /// Xen's compare-and-exchange on the entry header).
    pub fn header(&self, gref: GrantRef) -> Option<u32> {
        let (f, off) = self.locate(gref)?;
        let b = &self.frames[f].0[off..off + 4];
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Entry `gref`'s `frame` field.
    pub fn entry_frame(&self, gref: GrantRef) -> Option<u32> {
        let (f, off) = self.locate(gref)?;
        let b = &self.frames[f].0[off + 4..off + 8];
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Compare-and-exchange of entry `gref`'s header: writes `new` if the
    /// header is `old`; returns the header found. On the live page this is
    /// a `lock cmpxchg` on the 32-bit word.
    pub fn cmpxchg_header(&mut self, gref: GrantRef, old: u32, new: u32) -> Option<u32> {
        let (f, off) = self.locate(gref)?;
        let found = self.header(gref)?;
        if found == old {
            self.frames[f].0[off..off + 4].copy_from_slice(&new.to_le_bytes());
        }
        Some(found)
    }

    /// Atomically clears `bits` of entry `gref`'s flags (`gnttab_clear_flags`,
    /// a `lock and` on the live page).
    pub(super) fn clear_flags(&mut self, gref: GrantRef, bits: u16) {
        if let Some((f, off)) = self.locate(gref) {
            let flags = u16::from_le_bytes([self.frames[f].0[off], self.frames[f].0[off + 1]]);
            self.frames[f].0[off..off + 2].copy_from_slice(&(flags & !bits).to_le_bytes());
        }
    }

    /// Whether the backend holds `gref` (mapped or being copied), and its
    /// read and write pin counts.
    pub fn pins(&self, gref: GrantRef) -> Option<(u32, u32)> {
        self.pins.get(&gref).map(|p| (p.readers, p.writers))
    }
}
