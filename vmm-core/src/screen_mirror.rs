//! Mirrors the guest's 80x25 VGA text screen to the host: the page at B8000h
//! (guest RAM) is rendered to text lines at most every
//! [`MIRROR_INTERVAL_NS`] and, when it changed, sent as one frame:
//! STX (02h), the 25 lines joined by LF, ETX (03h). The runner shows the
//! latest frame and matches `--expect` against it.

use crate::guest_memory::GuestMemory;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use device_model::vga_text::{render_lines, VgaText, TEXT_PAGE_ADDR, TEXT_PAGE_SIZE};
use device_model::ByteSink;

/// Frame delimiters.
pub const FRAME_START: u8 = 0x02;
pub const FRAME_END: u8 = 0x03;
/// How often the screen is looked at.
pub const MIRROR_INTERVAL_NS: u64 = 100_000_000;

/// The mirror of one domain's screen.
pub struct ScreenMirror {
    sink: Box<dyn ByteSink>,
    last: Vec<String>,
    next_check: u64,
}

impl ScreenMirror {
    /// A mirror sending frames to `sink`.
    pub fn new(sink: Box<dyn ByteSink>) -> Self {
        Self {
            sink,
            last: Vec::new(),
            next_check: 0,
        }
    }

    /// Sends the screen as it is now if it changed (when the domain stops, so
    /// its last words are seen).
    pub fn flush(&mut self, memory: &GuestMemory, vga: &VgaText) {
        self.next_check = 0;
        self.tick(0, memory, vga);
    }

    /// Sends a frame if the interval passed and the screen changed.
    pub fn tick(&mut self, now_ns: u64, memory: &GuestMemory, vga: &VgaText) {
        if now_ns < self.next_check {
            return;
        }
        self.next_check = now_ns.saturating_add(MIRROR_INTERVAL_NS);
        let mut page = alloc::vec![0u8; TEXT_PAGE_SIZE];
        if memory.read(TEXT_PAGE_ADDR, &mut page).is_err() {
            return;
        }
        let lines = render_lines(&page, vga.start_address());
        if lines == self.last {
            return;
        }
        self.sink.write_byte(FRAME_START);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.sink.write_byte(b'\n');
            }
            for b in line.bytes() {
                self.sink.write_byte(b);
            }
        }
        self.sink.write_byte(FRAME_END);
        self.last = lines;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_memory::test_memory;
    use alloc::rc::Rc;
    use core::cell::RefCell;

    struct Capture(Rc<RefCell<Vec<u8>>>);
    impl ByteSink for Capture {
        fn write_byte(&mut self, b: u8) {
            self.0.borrow_mut().push(b);
        }
    }

    #[test]
    fn sends_a_frame_only_when_the_screen_changes_and_the_interval_passed() {
        let out = Rc::new(RefCell::new(Vec::new()));
        let mut m = ScreenMirror::new(Box::new(Capture(out.clone())));
        let mut mem = test_memory(0x10_0000);
        let vga = VgaText::new();
        mem.write(TEXT_PAGE_ADDR, &[b'A', 7, b':', 7, b'\\', 7, b'>', 7])
            .unwrap();
        m.tick(0, &mem, &vga);
        let frame = out.borrow().clone();
        assert_eq!(frame.first(), Some(&FRAME_START));
        assert_eq!(frame.last(), Some(&FRAME_END));
        assert!(String::from_utf8_lossy(&frame).contains("A:\\>"));
        m.tick(MIRROR_INTERVAL_NS, &mem, &vga);
        assert_eq!(
            out.borrow().len(),
            frame.len(),
            "unchanged: no second frame"
        );
        mem.write(TEXT_PAGE_ADDR + 160, &[b'x', 7]).unwrap();
        m.tick(MIRROR_INTERVAL_NS + 1, &mem, &vga);
        assert_eq!(out.borrow().len(), frame.len(), "too soon");
        m.tick(2 * MIRROR_INTERVAL_NS, &mem, &vga);
        assert!(out.borrow().len() > frame.len());
    }
}
