//! The Virtual Machine Control Block (AMD APM vol. 2, appendix B "Layout of
//! VMCB"): a 4 KiB page holding the control area (offset 0) and the state save
//! area (offset 0x400).

pub mod control;
mod save;

pub use control::ControlArea;
pub use save::{SaveArea, VmcbSegment};

use core::mem::{offset_of, size_of};

/// Offset of the state save area in the VMCB.
pub const SAVE_AREA_OFFSET: usize = 0x400;

/// One VMCB, page-aligned as VMRUN requires (APM vol. 2, 15.5.1).
#[repr(C, align(4096))]
pub struct Vmcb {
    pub control: ControlArea,
    pub save: SaveArea,
    _reserved: [u8; 4096 - SAVE_AREA_OFFSET - size_of::<SaveArea>()],
}

const _: () = assert!(size_of::<Vmcb>() == 4096);
const _: () = assert!(offset_of!(Vmcb, save) == SAVE_AREA_OFFSET);

impl Vmcb {
    /// An all-zero VMCB on the heap.
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        alloc::boxed::Box::new(Self {
            control: ControlArea::default(),
            save: SaveArea::default(),
            _reserved: [0; 4096 - SAVE_AREA_OFFSET - size_of::<SaveArea>()],
        })
    }
}

/// A page the processor uses as the host state-save area (VM_HSAVE_PA) or as the
/// target of VMSAVE/VMLOAD for host state: its layout belongs to the processor.
#[repr(C, align(4096))]
pub struct OpaquePage(pub [u8; 4096]);

impl OpaquePage {
    /// A zeroed page on the heap.
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        alloc::boxed::Box::new(Self([0; 4096]))
    }
}
