//! Guest linear to guest-physical translation for the vCPU's current paging
//! state, through [`crate::page_walk`].

use crate::guest_memory::GuestMemory;
use crate::page_walk::{self, Access, PagingState, WalkError};
use crate::vcpu::{vector, Exception, Vcpu};

/// Physical-address width the guest is told about when the host says nothing.
pub const DEFAULT_MAX_PHYS_BITS: u8 = 40;

/// Why a linear address has no guest-physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The guest must take a #PF (see [`raise_page_fault`]).
    PageFault { error_code: u32, linear: u64 },
    /// The guest's page tables lie outside its RAM.
    TableOutsideRam { gpa: u64 },
}

/// The paging state of `vcpu`.
pub fn paging_state(vcpu: &dyn Vcpu, max_phys_bits: u8) -> PagingState {
    let cr = vcpu.control_regs();
    PagingState {
        cr0: cr.cr0,
        cr3: cr.cr3,
        cr4: cr.cr4,
        efer: cr.efer,
        rflags: vcpu.rflags(),
        max_phys_bits,
    }
}

/// The guest-physical address of `linear` for a data access at the vCPU's CPL.
pub fn translate(
    vcpu: &dyn Vcpu,
    mem: &mut GuestMemory,
    max_phys_bits: u8,
    linear: u64,
    access: Access,
) -> Result<u64, TranslateError> {
    page_walk::translate(mem, paging_state(vcpu, max_phys_bits), linear, access)
        .map(|t| t.gpa)
        .map_err(|e| match e {
            WalkError::PageFault { error_code, linear } => {
                TranslateError::PageFault { error_code, linear }
            }
            WalkError::TableOutsideRam { gpa } => TranslateError::TableOutsideRam { gpa },
        })
}

/// Access kind of a data access by `vcpu`.
pub fn data_access(vcpu: &dyn Vcpu, write: bool) -> Access {
    Access {
        write,
        user: vcpu.cpl() == 3,
        fetch: false,
    }
}

/// Delivers the #PF a failed walk calls for: CR2 = the linear address.
pub fn raise_page_fault(vcpu: &mut dyn Vcpu, error_code: u32, linear: u64) {
    vcpu.set_cr2(linear);
    vcpu.inject_exception(Exception {
        vector: vector::PF,
        error_code: Some(error_code),
    });
}
