//! Grant table v1 as the backend (the hypervisor, playing domain 0) sees a
//! guest's table.
//!
//! Layouts and flags are those of `xen/include/public/grant_table.h`
//! (`struct grant_entry_v1`, `GTF_*`, `GNTST_*`, `GNTTABOP_query_size` and
//! `GNTTABOP_setup_table`); the semantics follow `xen/common/grant_table.c`
//! (`gnttab_setup_table()`, `gnttab_query_size()`, `gnttab_map_frame()` for
//! `XENMAPSPACE_grant_table`, `_set_status_v1()` for the pin, and the
//! `gnttab_clear_flags()` calls of the unmap and copy paths). The code is
//! ours.
//!
//! - [`table`]: the grant frames (zeroed host frames the guest maps at GFNs
//!   of its choice), their count and limit, and the entries' bytes.
//! - [`access`]: the backend's map, copy and release, with the in-use flags
//!   set on the guest-visible entry while a grant is used.

pub mod access;
pub mod table;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;

pub use access::Mapping;
pub use table::{GrantFrame, GrantTable, DEFAULT_MAX_FRAMES, INITIAL_FRAMES};
