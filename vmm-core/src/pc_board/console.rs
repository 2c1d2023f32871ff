//! Where the host terminal's typed bytes go on the board: COM1's receiver,
//! the PS/2 keyboard, or both; and the board's end of the host console, which
//! outlives the COM1 of one power-on (a reset builds a new one).

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
}

impl ConsoleInput {
    /// (to the serial port, to the keyboard).
    pub fn targets(self) -> (bool, bool) {
        match self {
            ConsoleInput::Serial => (true, false),
            ConsoleInput::Keyboard => (false, true),
            ConsoleInput::Both => (true, true),
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

/// Most typed bytes held back for COM1.
const SERIAL_BACKLOG_LIMIT: usize = 64 * 1024;

/// Typed bytes waiting for room in COM1's receiver (a terminal line is
/// paced; the host hands over whole lines at once).
#[derive(Default)]
pub struct SerialBacklog(VecDeque<u8>);

impl SerialBacklog {
    /// Queues `byte`, dropping it when the backlog is full.
    pub fn push(&mut self, byte: u8) {
        if self.0.len() < SERIAL_BACKLOG_LIMIT {
            self.0.push_back(byte);
        }
    }

    /// The next byte to hand over.
    pub fn pop(&mut self) -> Option<u8> {
        self.0.pop_front()
    }
}
