//! The interrupt-routing layer: devices raise global system interrupts
//! (GSIs); the board decides which controller input each GSI drives. Today
//! every ISA line goes to the 8259 pair; an I/O APIC connects its pins here
//! (and the 8259 pair reaches the local APIC through LINT0) without a device
//! changing.

use alloc::boxed::Box;
use device_model::IrqLine;

/// Inputs an I/O APIC has (82093AA: 24 pins); ISA IRQs are GSIs 0-15.
pub const GSI_COUNT: usize = 24;

/// Where each GSI goes.
#[derive(Default)]
pub struct IrqRouter {
    lines: [Option<Box<dyn IrqLine>>; GSI_COUNT],
}

impl IrqRouter {
    /// Connects `gsi` to `line` (replacing what it drove before).
    pub fn connect(&mut self, gsi: u8, line: Box<dyn IrqLine>) {
        if let Some(slot) = self.lines.get_mut(usize::from(gsi)) {
            *slot = Some(line);
        }
    }

    /// True if `gsi` drives anything.
    pub fn is_connected(&self, gsi: u8) -> bool {
        self.lines
            .get(usize::from(gsi))
            .is_some_and(Option::is_some)
    }

    /// Drives `gsi` to `high`; a GSI connected to nothing is dropped, as a
    /// line with no controller input behind it.
    pub fn set_level(&self, gsi: u8, high: bool) {
        if let Some(Some(line)) = self.lines.get(usize::from(gsi)) {
            line.set_level(high);
        }
    }

    /// An edge on `gsi`: raised and dropped again.
    pub fn pulse(&self, gsi: u8) {
        self.set_level(gsi, true);
        self.set_level(gsi, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    struct Recorder(Rc<RefCell<Vec<(u8, bool)>>>, u8);
    impl IrqLine for Recorder {
        fn set_level(&self, high: bool) {
            self.0.borrow_mut().push((self.1, high));
        }
    }

    #[test]
    fn levels_reach_the_connected_line_and_pulses_are_edges() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut router = IrqRouter::default();
        router.connect(4, Box::new(Recorder(log.clone(), 4)));
        router.set_level(4, true);
        router.pulse(4);
        router.set_level(5, true);
        router.set_level(200, true);
        assert!(router.is_connected(4) && !router.is_connected(5));
        assert_eq!(*log.borrow(), [(4, true), (4, true), (4, false)]);
    }
}
