//! Domain ids (`xen.h`) and the `memory_op` argument structures a guest
//! uses (`memory.h`; sub-operation numbers in [`crate::hypercall`]):
//! placing hypervisor pages in its physical address space, reading its
//! memory map, ballooning.

/// A domain id (`domid_t`).
pub type DomId = u16;

/// First id that names no real domain; 0x7FF0 and up are special.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;
/// The calling domain: what a guest passes wherever a domid is asked for.
pub const DOMID_SELF: DomId = 0x7FF0;
/// I/O memory, as the foreign domain of PV page-table updates.
pub const DOMID_IO: DomId = 0x7FF1;
/// The hypervisor's own heap, for privileged mappings of it.
pub const DOMID_XEN: DomId = 0x7FF2;
/// Owner of shareable pages.
pub const DOMID_COW: DomId = 0x7FF3;
/// Owner of pages whose owner is unknown.
pub const DOMID_INVALID: DomId = 0x7FF4;
/// No particular domain: the handler picks one or treats it as a
/// wildcard.
pub const DOMID_ANY: DomId = 0x7FF5;
/// The idle domain.
pub const DOMID_IDLE: DomId = 0x7FFF;
/// Bits a domid may use.
pub const DOMID_MASK: DomId = 0x7FFF;

// `XenAddToPhysmap::space` values (`XENMAPSPACE_*`).

/// The shared-info page (`idx` 0).
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// Grant-table frame `idx` (see [`XENMAPIDX_GRANT_TABLE_STATUS`]).
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// Move the domain's own page at GFN `idx`.
pub const XENMAPSPACE_GMFN: u32 = 2;
/// Move `size` pages from GFN `idx` on.
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
/// A page of another domain (batch form only).
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
/// Device MMIO (Arm only).
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;

/// In `idx` with [`XENMAPSPACE_GRANT_TABLE`]: map v2 status frame
/// `idx & !XENMAPIDX_GRANT_TABLE_STATUS` instead of a table frame.
pub const XENMAPIDX_GRANT_TABLE_STATUS: u64 = 0x8000_0000;

/// `XENMEM_add_to_physmap` (`struct xen_add_to_physmap`): make the page
/// `space`/`idx` appear at guest frame `gpfn`, replacing what was there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenAddToPhysmap {
    /// The domain whose physical map changes (`DOMID_SELF`).
    pub domid: DomId,
    /// Page count for [`XENMAPSPACE_GMFN_RANGE`].
    pub size: u16,
    /// A `XENMAPSPACE_*` value.
    pub space: u32,
    /// The page within `space`.
    pub idx: u64,
    /// The guest frame to map it at.
    pub gpfn: u64,
}

layout!(XenAddToPhysmap, size 24,
    domid @ 0, size @ 2, space @ 4, idx @ 8, gpfn @ 16);

/// `XENMEM_memory_map` (`struct xen_memory_map`): the domain's memory map
/// as an array of [`E820Entry`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenMemoryMap {
    /// In: how many entries `buffer` holds; out: how many were written.
    pub nr_entries: u32,
    /// Always zero.
    pub pad0: u32,
    /// Guest-virtual address of the entry array.
    pub buffer: u64,
}

layout!(XenMemoryMap, size 16, nr_entries @ 0, pad0 @ 4, buffer @ 8);

/// One entry of a [`XenMemoryMap`] buffer: the BIOS INT 15h AX=E820h
/// format the header refers to (`memory.h`; types from the ACPI
/// specification's address range types), 20 bytes without padding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, packed)]
pub struct E820Entry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// An `E820_*` type (`type` in the BIOS interface).
    pub kind: u32,
}

layout!(E820Entry, size 20, addr @ 0, size @ 8, kind @ 16);

/// Usable RAM.
pub const E820_RAM: u32 = 1;
/// Reserved; where the XenStore and console pages belong.
pub const E820_RESERVED: u32 = 2;
/// ACPI tables, reclaimable after reading.
pub const E820_ACPI: u32 = 3;
/// ACPI non-volatile storage.
pub const E820_NVS: u32 = 4;
/// Unusable (memory with errors).
pub const E820_UNUSABLE: u32 = 5;

/// `XENMEM_{increase,decrease}_reservation` and `XENMEM_populate_physmap`
/// (`struct xen_memory_reservation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenMemoryReservation {
    /// Guest-virtual address of an array of `nr_extents` u64 frame numbers
    /// (GFNs in for decrease and populate).
    pub extent_start: u64,
    /// Number of extents.
    pub nr_extents: u64,
    /// Each extent is 2^`extent_order` pages.
    pub extent_order: u32,
    /// `XENMEMF_*` flags (address bits, NUMA node).
    pub mem_flags: u32,
    /// The domain (`DOMID_SELF`).
    pub domid: DomId,
    /// Always zero.
    pub pad0: [u16; 3],
}

layout!(XenMemoryReservation, size 32,
    extent_start @ 0, nr_extents @ 8, extent_order @ 16, mem_flags @ 20,
    domid @ 24, pad0 @ 26);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e820_entries_are_packed() {
        assert_eq!(core::mem::align_of::<E820Entry>(), 1);
        let e = E820Entry {
            addr: 0x9_FC00,
            size: 0x400,
            kind: E820_RESERVED,
        };
        let (addr, size, kind) = (e.addr, e.size, e.kind);
        assert_eq!((addr, size, kind), (0x9_FC00, 0x400, 2));
    }

    #[test]
    fn grant_status_frames_are_flagged_in_idx() {
        let idx = XENMAPIDX_GRANT_TABLE_STATUS | 3;
        assert_eq!(idx & !XENMAPIDX_GRANT_TABLE_STATUS, 3);
        assert_eq!(DOMID_SELF, DOMID_FIRST_RESERVED);
    }
}
