//! Guest linear to guest-physical translation.
//!
//! With CR0.PG clear a linear address is physical (Intel SDM vol. 3A, 4.1.1
//! "Four Paging Modes"). Walking the guest's own page tables is the
//! instruction-emulator issue's page walker; until then a paged guest's
//! linear addresses are refused, and the caller stops the guest with a report.

use crate::vcpu::{Vcpu, CR0_PG};

/// Why a linear address has no guest-physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The guest has paging enabled and its tables are not walked yet.
    PagingNotSupported { linear: u64 },
}

/// The guest-physical address of `linear` for an access (`write` or read).
pub fn translate(vcpu: &dyn Vcpu, linear: u64, _write: bool) -> Result<u64, TranslateError> {
    if vcpu.control_regs().cr0 & CR0_PG != 0 {
        return Err(TranslateError::PagingNotSupported { linear });
    }
    Ok(linear & 0xFFFF_FFFF)
}
