//! Where the host terminal's typed bytes go on the board: COM1's receiver,
//! the PS/2 keyboard, both, or the Xen PV console (hvc0, whose backend in the
//! hypervisor takes them from the board); and the board's end of the host
//! console, which outlives the COM1 of one power-on (a reset builds a new
//! one).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use device_model::ByteSink;

/// Where console input goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleInput {
    /// COM1's receiver (serial-console guests).
    Serial,
    /// The PS/2 keyboard (guests on the VGA text screen).
    Keyboard,
    /// Both: a BIOS guest may read either (DOS the keyboard, Linux ttyS0).
    Both,
    /// The Xen PV console, hvc0: the bytes wait on the board until the
    /// hypervisor's console backend takes them for the ring's `in[]`.
    Hvc0,
}

/// Where one typed byte goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleTargets {
    pub serial: bool,
    pub keyboard: bool,
    pub hvc: bool,
}

impl ConsoleInput {
    /// The destinations of a typed byte.
    pub fn targets(self) -> ConsoleTargets {
        let (serial, keyboard, hvc) = match self {
            ConsoleInput::Serial => (true, false, false),
            ConsoleInput::Keyboard => (false, true, false),
            ConsoleInput::Both => (true, true, false),
            ConsoleInput::Hvc0 => (false, false, true),
        };
        ConsoleTargets {
            serial,
            keyboard,
            hvc,
        }
    }
}

/// The host console COM1 transmits to, shared by every COM1 the board builds.
#[derive(Clone)]
pub struct SharedSink(Rc<RefCell<Box<dyn ByteSink>>>);

impl SharedSink {
    pub fn new(sink: Box<dyn ByteSink>) -> Self {
        Self(Rc::new(RefCell::new(sink)))
    }
}

impl ByteSink for SharedSink {
    fn write_byte(&mut self, byte: u8) {
        self.0.borrow_mut().write_byte(byte);
    }
}

/// Most typed bytes held back for COM1, or for the PV console.
const BACKLOG_LIMIT: usize = 64 * 1024;

/// Typed bytes waiting for room in COM1's receiver or for the PV console's
/// backend (a terminal line is paced; the host hands over whole lines at
/// once).
#[derive(Default)]
pub struct InputBacklog(VecDeque<u8>);

impl InputBacklog {
    /// Queues `byte`, dropping it when the backlog is full.
    pub fn push(&mut self, byte: u8) {
        if self.0.len() < BACKLOG_LIMIT {
            self.0.push_back(byte);
        }
    }

    /// The next byte to hand over.
    pub fn pop(&mut self) -> Option<u8> {
        self.0.pop_front()
    }

    /// Every byte waiting, oldest first; the backlog is empty after.
    pub fn take_all(&mut self) -> alloc::vec::Vec<u8> {
        core::mem::take(&mut self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_sends_typed_bytes_to_its_own_places() {
        let t = |c: ConsoleInput| {
            let t = c.targets();
            (t.serial, t.keyboard, t.hvc)
        };
        assert_eq!(t(ConsoleInput::Serial), (true, false, false));
        assert_eq!(t(ConsoleInput::Keyboard), (false, true, false));
        assert_eq!(t(ConsoleInput::Both), (true, true, false));
        assert_eq!(t(ConsoleInput::Hvc0), (false, false, true));
    }

    #[test]
    fn a_backlog_keeps_order_and_stops_growing_when_full() {
        let mut b = InputBacklog::default();
        for i in 0..BACKLOG_LIMIT + 10 {
            b.push(i as u8);
        }
        assert_eq!(b.pop(), Some(0));
        let rest = b.take_all();
        assert_eq!(rest.len(), BACKLOG_LIMIT - 1);
        assert_eq!(rest[0], 1);
        assert_eq!(b.pop(), None);
    }
}
