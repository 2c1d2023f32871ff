//! The media a guest's drives hold: kept by its domain, so that a reset can
//! put the same media back in the rebuilt board's drives and in a fresh BIOS.

use alloc::vec::Vec;
use block_backend::SharedBlock;

/// A guest's media, each optional. Each is shared: the IDE controller, the
/// BIOS's INT 13h and the domain's own record see the same bytes, so what a
/// guest wrote to its disk is still there after a reset.
#[derive(Clone, Default)]
pub struct BiosMedia {
    /// The hard disks, first to last, on the IDE positions of
    /// `pc_layout::ide_drives::DISKS` (primary master, primary slave,
    /// secondary slave) and BIOS drives 80h, 81h, 82h. Beyond those
    /// positions a disk is left out.
    pub disks: Vec<SharedBlock>,
    /// The CD: ATAPI drive on the IDE secondary master, bootable through El Torito.
    pub cdrom: Option<SharedBlock>,
    /// The floppy: BIOS drive 00h (INT 13h only; there is no FDC).
    pub floppy: Option<SharedBlock>,
}
