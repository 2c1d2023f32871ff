//! The guest page walker: linear to guest-physical translation through the
//! guest's own page tables, with the access checks and accessed/dirty updates
//! the processor performs (Intel SDM vol. 3A, chapter 4 "Paging": 4.3 "32-Bit
//! Paging", 4.4 "PAE Paging", 4.5 "4-Level Paging", 4.6 "Access Rights", 4.7
//! "Page-Fault Exceptions", 4.8 "Accessed and Dirty Flags"; AMD APM vol. 2,
//! 5.3 "Long-Mode Page Translation").

use crate::guest_memory::GuestMemory;

/// Entry bit 0: present.
const P: u64 = 1 << 0;
/// Entry bit 1: read/write.
const RW: u64 = 1 << 1;
/// Entry bit 2: user/supervisor.
const US: u64 = 1 << 2;
/// Entry bit 5: accessed.
const A: u64 = 1 << 5;
/// Entry bit 6: dirty (leaf entries).
const D: u64 = 1 << 6;
/// Entry bit 7: page size (PDE/PDPTE), or PAT in a PTE.
const PS: u64 = 1 << 7;
/// Entry bit 63: execute-disable (PAE and 4-level with EFER.NXE).
const XD: u64 = 1 << 63;

/// CR0.WP: supervisor writes honour read-only pages.
pub const CR0_WP: u64 = 1 << 16;
/// CR4.PSE: 4 MiB pages in 32-bit paging.
pub const CR4_PSE: u64 = 1 << 4;
/// CR4.PAE.
pub const CR4_PAE: u64 = 1 << 5;
/// CR4.SMEP: supervisor may not execute user pages.
pub const CR4_SMEP: u64 = 1 << 20;
/// CR4.SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC.
pub const CR4_SMAP: u64 = 1 << 21;
/// EFER.NXE.
pub const EFER_NXE: u64 = 1 << 11;
/// EFER.LMA.
pub const EFER_LMA: u64 = 1 << 10;
/// RFLAGS.AC.
pub const RFLAGS_AC: u64 = 1 << 18;

/// #PF error code bits (SDM vol. 3A, 4.7, figure 4-12).
pub mod pf {
    /// The fault was a protection violation (else a not-present page).
    pub const P: u32 = 1 << 0;
    /// The access was a write.
    pub const W: u32 = 1 << 1;
    /// The access was a user-mode access.
    pub const U: u32 = 1 << 2;
    /// A reserved bit was set in a paging-structure entry.
    pub const RSVD: u32 = 1 << 3;
    /// The access was an instruction fetch.
    pub const ID: u32 = 1 << 4;
}

/// The paging state a walk needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagingState {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
    pub rflags: u64,
    /// Physical-address width (CPUID 8000_0008h EAX bits 7:0).
    pub max_phys_bits: u8,
}

/// What kind of access is being translated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub write: bool,
    /// CPL 3 (and not an implicit supervisor access).
    pub user: bool,
    pub fetch: bool,
}

/// Why a translation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// The guest takes a #PF with this error code; CR2 = the linear address.
    PageFault { error_code: u32, linear: u64 },
    /// A paging structure lies outside guest RAM (on hardware: a machine
    /// check or garbage); the caller stops the guest.
    TableOutsideRam { gpa: u64 },
}

/// A translated address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub gpa: u64,
    /// Size of the page that maps it.
    pub page_size: u64,
}

struct Walk<'a> {
    mem: &'a mut GuestMemory,
    state: PagingState,
    access: Access,
    linear: u64,
    /// Conjunction of R/W and U/S over the levels, disjunction of XD.
    writable: bool,
    user: bool,
    no_execute: bool,
}

impl Walk<'_> {
    fn fault(&self, present: bool, rsvd: bool) -> WalkError {
        let mut code = 0;
        if present {
            code |= pf::P;
        }
        if self.access.write {
            code |= pf::W;
        }
        if self.access.user {
            code |= pf::U;
        }
        if rsvd {
            code |= pf::RSVD | pf::P;
        }
        let nx_paging = self.state.cr4 & CR4_PAE != 0 && self.state.efer & EFER_NXE != 0;
        if self.access.fetch && (nx_paging || self.state.cr4 & CR4_SMEP != 0) {
            code |= pf::ID;
        }
        WalkError::PageFault {
            error_code: code,
            linear: self.linear,
        }
    }

    fn read_entry(&self, gpa: u64, wide: bool) -> Result<u64, WalkError> {
        if wide {
            self.mem.read_bytes::<8>(gpa).map(u64::from_le_bytes)
        } else {
            self.mem
                .read_bytes::<4>(gpa)
                .map(|b| u64::from(u32::from_le_bytes(b)))
        }
        .map_err(|_| WalkError::TableOutsideRam { gpa })
    }

    fn write_entry(&mut self, gpa: u64, value: u64, wide: bool) -> Result<(), WalkError> {
        let r = if wide {
            self.mem.write(gpa, &value.to_le_bytes())
        } else {
            self.mem.write(gpa, &(value as u32).to_le_bytes())
        };
        r.map_err(|_| WalkError::TableOutsideRam { gpa })
    }

    /// Reserved physical-address bits of a wide entry.
    fn address_reserved(&self, entry: u64) -> bool {
        let bits = self.state.max_phys_bits.clamp(32, 52);
        let mask = ((1u64 << 52) - 1) & !((1u64 << bits) - 1);
        entry & mask != 0 || (entry & XD != 0 && self.state.efer & EFER_NXE == 0)
    }

    /// Accumulates rights of a present entry.
    fn accumulate(&mut self, entry: u64) {
        self.writable &= entry & RW != 0;
        self.user &= entry & US != 0;
        self.no_execute |= entry & XD != 0 && self.state.efer & EFER_NXE != 0;
    }

    /// The access-rights check on the final rights (SDM vol. 3A, 4.6).
    fn check_rights(&self) -> Result<(), WalkError> {
        let a = self.access;
        let s = self.state;
        let denied = if a.user {
            !self.user || (a.write && !self.writable) || (a.fetch && self.no_execute)
        } else {
            let smap = s.cr4 & CR4_SMAP != 0 && s.rflags & RFLAGS_AC == 0;
            (a.write && !self.writable && s.cr0 & CR0_WP != 0)
                || (a.fetch && self.no_execute)
                || (a.fetch && self.user && s.cr4 & CR4_SMEP != 0)
                || (!a.fetch && self.user && smap)
        };
        if denied {
            Err(self.fault(true, false))
        } else {
            Ok(())
        }
    }
}

/// Translates `linear` for `access`, setting accessed (and, for writes, dirty)
/// bits as the processor does. With CR0.PG clear the address is physical.
pub fn translate(
    mem: &mut GuestMemory,
    state: PagingState,
    linear: u64,
    access: Access,
) -> Result<Translation, WalkError> {
    const CR0_PG: u64 = 1 << 31;
    if state.cr0 & CR0_PG == 0 {
        return Ok(Translation {
            gpa: linear & 0xFFFF_FFFF,
            page_size: 4096,
        });
    }
    let mut w = Walk {
        mem,
        state,
        access,
        linear,
        writable: true,
        user: true,
        no_execute: false,
    };
    if state.efer & EFER_LMA != 0 {
        walk_wide(&mut w, state.cr3 & 0x000F_FFFF_FFFF_F000, 4)
    } else if state.cr4 & CR4_PAE != 0 {
        walk_pae(&mut w)
    } else {
        walk_32(&mut w)
    }
}

/// Walks wide (8-byte) tables from `table` at `levels` levels (4 for 4-level
/// paging, 2 below a PAE PDPTE), shared by 4-level and PAE paging.
fn walk_wide(w: &mut Walk, mut table: u64, levels: u32) -> Result<Translation, WalkError> {
    let lin = if levels == 4 {
        w.linear
    } else {
        w.linear & 0xFFFF_FFFF
    };
    let mut visited: [(u64, u64); 4] = [(0, 0); 4];
    for level in (0..levels).rev() {
        let shift = 12 + 9 * level;
        let gpa = table + ((lin >> shift) & 0x1FF) * 8;
        let entry = w.read_entry(gpa, true)?;
        if entry & P == 0 {
            return Err(w.fault(false, false));
        }
        let large = entry & PS != 0;
        // PS is reserved in a PML4E (and in a PDPTE without 1 GiB pages, which we allow).
        let ps_reserved = large && level == 3;
        let large_reserved = large && level > 0 && {
            // address bits below the page size, above the PAT bit 12, must be zero
            let low_mask = ((1u64 << shift) - 1) & !0x1FFF;
            entry & low_mask & 0x000F_FFFF_FFFF_F000 != 0
        };
        if w.address_reserved(entry) || ps_reserved || large_reserved {
            return Err(w.fault(true, true));
        }
        w.accumulate(entry);
        visited[level as usize] = (gpa, entry);
        if level == 0 || large {
            w.check_rights()?;
            set_accessed_dirty(w, &visited[level as usize..levels as usize], true)?;
            let page_size = 1u64 << shift;
            let base = entry & 0x000F_FFFF_FFFF_F000 & !(page_size - 1);
            return Ok(Translation {
                gpa: base | (lin & (page_size - 1)),
                page_size,
            });
        }
        table = entry & 0x000F_FFFF_FFFF_F000;
    }
    unreachable!("level 0 always returns")
}

/// PAE paging: a PDPTE from the 32-byte-aligned table at CR3, then 2 levels.
fn walk_pae(w: &mut Walk) -> Result<Translation, WalkError> {
    let pdpt = w.state.cr3 & 0xFFFF_FFE0;
    let gpa = pdpt + ((w.linear >> 30) & 3) * 8;
    let pdpte = w.read_entry(gpa, true)?;
    if pdpte & P == 0 {
        return Err(w.fault(false, false));
    }
    // PDPTE bits 1-2 and 5-8 are reserved; so is XD (SDM vol. 3A, table 4-8).
    if pdpte & 0x1E6 != 0 || pdpte & XD != 0 || w.address_reserved(pdpte) {
        return Err(w.fault(true, true));
    }
    walk_wide(w, pdpte & 0x000F_FFFF_FFFF_F000, 2)
}

/// 32-bit paging: 4-byte entries, 4 MiB pages with CR4.PSE.
fn walk_32(w: &mut Walk) -> Result<Translation, WalkError> {
    let lin = w.linear & 0xFFFF_FFFF;
    let pde_gpa = (w.state.cr3 & 0xFFFF_F000) + ((lin >> 22) & 0x3FF) * 4;
    let pde = w.read_entry(pde_gpa, false)?;
    if pde & P == 0 {
        return Err(w.fault(false, false));
    }
    w.accumulate(pde);
    if pde & PS != 0 && w.state.cr4 & CR4_PSE != 0 {
        w.check_rights()?;
        set_accessed_dirty(w, &[(pde_gpa, pde)], false)?;
        return Ok(Translation {
            gpa: (pde & 0xFFC0_0000) | (lin & 0x3F_FFFF),
            page_size: 4 << 20,
        });
    }
    let pte_gpa = (pde & 0xFFFF_F000) + ((lin >> 12) & 0x3FF) * 4;
    let pte = w.read_entry(pte_gpa, false)?;
    if pte & P == 0 {
        return Err(w.fault(false, false));
    }
    w.accumulate(pte);
    w.check_rights()?;
    set_accessed_dirty(w, &[(pte_gpa, pte), (pde_gpa, pde)], false)?;
    Ok(Translation {
        gpa: (pte & 0xFFFF_F000) | (lin & 0xFFF),
        page_size: 4096,
    })
}

/// Sets A in every entry of the walk (leaf first) and D in the leaf on writes.
fn set_accessed_dirty(w: &mut Walk, entries: &[(u64, u64)], wide: bool) -> Result<(), WalkError> {
    for (i, &(gpa, entry)) in entries.iter().enumerate() {
        let mut new = entry | A;
        if i == 0 && w.access.write {
            new |= D;
        }
        if new != entry {
            w.write_entry(gpa, new, wide)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
