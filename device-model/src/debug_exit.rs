//! The test-exit port: a guest written for our tests ends its run by writing a
//! status byte here (the same idea as QEMU's `isa-debug-exit` device). Real
//! guests never touch it.

use crate::bus::PortIoDevice;
use alloc::rc::Rc;
use core::cell::Cell;

/// I/O port the guest writes its exit status to.
pub const DEBUG_EXIT_PORT: u16 = pc_layout::ports::TEST_EXIT;

/// The shared cell in which a write leaves the requested status.
pub type ExitRequest = Rc<Cell<Option<u8>>>;

/// The test-exit device.
pub struct DebugExit {
    request: ExitRequest,
}

impl DebugExit {
    /// A device that records a guest's request in `request`.
    pub fn new(request: ExitRequest) -> Self {
        Self { request }
    }
}

impl PortIoDevice for DebugExit {
    fn read(&mut self, _offset: u16, _size: u8) -> u32 {
        0xFFFF_FFFF
    }

    fn write(&mut self, _offset: u16, _size: u8, value: u32) {
        self.request.set(Some(value as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_records_the_status() {
        let cell: ExitRequest = Rc::new(Cell::new(None));
        let mut d = DebugExit::new(cell.clone());
        assert_eq!(cell.get(), None);
        d.write(0, 1, 0x142);
        assert_eq!(cell.get(), Some(0x42));
    }
}
