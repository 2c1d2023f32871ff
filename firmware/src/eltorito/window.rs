//! A byte range of a shared medium, seen as a medium of its own: the
//! floppy or hard disk an El Torito image emulates (El Torito 1.0, 3.0: the
//! emulated drive's sector 0 is the first 512 bytes at the image's Load RBA).

use alloc::rc::Rc;
use core::cell::RefCell;

use block_backend::{BlockBackend, BlockError};

use super::BootImage;

/// How a [`CdWindow`] reaches the medium it shares with the CD drive.
pub trait SharedMedium {
    /// Reads `buf.len()` bytes of the whole medium at `offset`.
    fn read_medium(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError>;
}

/// A medium shared by reference counting, as the hypervisor's single-threaded
/// BIOS holds the CD: the drive emulation and the window both keep an `Rc`.
///
/// # Panics
/// If the medium is mutably borrowed during the call: a hypervisor bug (a
/// BIOS service never holds the CD while it reads through the window).
impl<T: BlockBackend + ?Sized> SharedMedium for Rc<RefCell<T>> {
    fn read_medium(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.borrow().read_at(offset, buf)
    }
}

/// `len` bytes of a shared medium from byte `start`, read-only.
///
/// Reads past `len` fail with [`BlockError::OutOfRange`], as do reads of the
/// part of the window (if any) that lies past the end of the medium; every
/// write fails with [`BlockError::ReadOnly`].
pub struct CdWindow<M = Rc<RefCell<dyn BlockBackend>>> {
    medium: M,
    start: u64,
    len: u64,
}

impl<M: SharedMedium> CdWindow<M> {
    /// The window of `len` bytes at byte `start` of `medium`.
    pub fn new(medium: M, start: u64, len: u64) -> Self {
        Self { medium, start, len }
    }

    /// The drive `image` emulates on `cd`: its emulated size from its Load
    /// RBA. `None` for a no-emulation image, which emulates no drive.
    pub fn for_image(cd: M, image: &BootImage) -> Option<Self> {
        let len = image.media.emulated_size()?;
        Some(Self::new(cd, image.image_offset(), len))
    }

    /// Byte offset of the window in the medium.
    pub fn start(&self) -> u64 {
        self.start
    }
}

impl<M: SharedMedium> BlockBackend for CdWindow<M> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_only(&self) -> bool {
        true
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or(BlockError::OutOfRange)?;
        if end > self.len {
            return Err(BlockError::OutOfRange);
        }
        let at = self
            .start
            .checked_add(offset)
            .ok_or(BlockError::OutOfRange)?;
        self.medium.read_medium(at, buf)
    }

    fn write_at(&mut self, _offset: u64, _data: &[u8]) -> Result<(), BlockError> {
        Err(BlockError::ReadOnly)
    }
}
