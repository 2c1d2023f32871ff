//! Port-I/O bus: dispatches 1/2/4-byte accesses by port range to devices, which
//! see only the offset into their range. As on a PC, a read nobody claims returns
//! all ones and a write nobody claims is dropped.

use crate::rate_limit::RateLimit;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A device on the port-I/O bus.
pub trait PortIoDevice {
    /// Reads `size` bytes (1, 2 or 4) at `offset` into the device's range.
    fn read(&mut self, offset: u16, size: u8) -> u32;
    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u16, size: u8, value: u32);
}

/// A device shared with the rest of the platform (which polls its interrupt
/// output or feeds it input) sits on the bus through its `Rc<RefCell<_>>`.
impl<T: PortIoDevice> PortIoDevice for alloc::rc::Rc<core::cell::RefCell<T>> {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        self.borrow_mut().read(offset, size)
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        self.borrow_mut().write(offset, size, value)
    }
}

/// Two devices asked for overlapping ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConflict {
    pub base: u16,
    pub len: u16,
}

struct PortRange {
    base: u16,
    len: u16,
    device: Box<dyn PortIoDevice>,
}

impl PortRange {
    fn offset_of(&self, port: u16) -> Option<u16> {
        let off = port.wrapping_sub(self.base);
        (port >= self.base && off < self.len).then_some(off)
    }
}

/// The value an unclaimed read of `size` bytes returns: all ones.
pub fn all_ones(size: u8) -> u32 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

/// The port-I/O address space of one machine.
pub struct PortIoBus {
    ranges: Vec<PortRange>,
    unclaimed: RateLimit,
}

impl Default for PortIoBus {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            unclaimed: RateLimit::new(16, 1000),
        }
    }
}

impl PortIoBus {
    /// Places `device` at ports `base..base+len`.
    pub fn register(
        &mut self,
        base: u16,
        len: u16,
        device: Box<dyn PortIoDevice>,
    ) -> Result<(), PortConflict> {
        let end = u32::from(base) + u32::from(len);
        let overlaps = self.ranges.iter().any(|r| {
            let r_end = u32::from(r.base) + u32::from(r.len);
            u32::from(base) < r_end && u32::from(r.base) < end
        });
        if len == 0 || end > 0x1_0000 || overlaps {
            return Err(PortConflict { base, len });
        }
        self.ranges.push(PortRange { base, len, device });
        Ok(())
    }

    /// Removes the device registered at exactly `base` (to move it elsewhere,
    /// as when a guest reprograms a PCI I/O BAR).
    pub fn unregister(&mut self, base: u16) -> Option<Box<dyn PortIoDevice>> {
        let i = self.ranges.iter().position(|r| r.base == base)?;
        Some(self.ranges.remove(i).device)
    }

    fn find(&mut self, port: u16) -> Option<(&mut PortRange, u16)> {
        self.ranges
            .iter_mut()
            .find_map(|r| r.offset_of(port).map(|off| (r, off)))
    }

    /// A guest read of `size` bytes from `port`.
    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        match self.find(port) {
            Some((r, off)) => r.device.read(off, size) & all_ones(size),
            None => {
                if self.unclaimed.allow() {
                    log::debug!(
                        "unclaimed port read {port:#06x}/{size} ({} so far)",
                        self.unclaimed.seen()
                    );
                }
                all_ones(size)
            }
        }
    }

    /// A guest write of the low `size` bytes of `value` to `port`.
    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        match self.find(port) {
            Some((r, off)) => r.device.write(off, size, value & all_ones(size)),
            None => {
                if self.unclaimed.allow() {
                    log::debug!(
                        "unclaimed port write {port:#06x}/{size} = {value:#x} ({} so far)",
                        self.unclaimed.seen()
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::RefCell;
    use std::vec;

    /// Records what it saw; reads return the offset.
    struct Probe(Rc<RefCell<Vec<(u16, u8, u32)>>>);

    impl PortIoDevice for Probe {
        fn read(&mut self, offset: u16, _size: u8) -> u32 {
            0xABCD_0000 | u32::from(offset)
        }
        fn write(&mut self, offset: u16, size: u8, value: u32) {
            self.0.borrow_mut().push((offset, size, value));
        }
    }

    #[test]
    fn devices_see_offsets_and_sized_values() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut bus = PortIoBus::default();
        bus.register(0x3F8, 8, Box::new(Probe(log.clone())))
            .unwrap();
        assert_eq!(bus.read(0x3FD, 1), 0x05);
        assert_eq!(bus.read(0x3FD, 2), 0x0005);
        assert_eq!(bus.read(0x3FD, 4), 0xABCD_0005);
        bus.write(0x3F8, 1, 0x1234_5641);
        assert_eq!(*log.borrow(), vec![(0, 1, 0x41)]);
    }

    #[test]
    fn unclaimed_reads_float_high_and_writes_vanish() {
        let mut bus = PortIoBus::default();
        assert_eq!(bus.read(0x1234, 1), 0xFF);
        assert_eq!(bus.read(0x1234, 2), 0xFFFF);
        assert_eq!(bus.read(0x1234, 4), 0xFFFF_FFFF);
        bus.write(0x1234, 4, 0xDEAD_BEEF);
    }

    #[test]
    fn a_device_can_be_moved() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut bus = PortIoBus::default();
        bus.register(0xC000, 16, Box::new(Probe(log.clone())))
            .unwrap();
        let dev = bus.unregister(0xC000).unwrap();
        assert!(bus.unregister(0xC000).is_none());
        assert_eq!(bus.read(0xC000, 1), 0xFF);
        bus.register(0xD000, 16, dev).unwrap();
        assert_eq!(bus.read(0xD002, 1), 0x02);
    }

    #[test]
    fn overlapping_or_empty_ranges_are_refused() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut bus = PortIoBus::default();
        bus.register(0x60, 1, Box::new(Probe(log.clone()))).unwrap();
        assert!(bus.register(0x5F, 2, Box::new(Probe(log.clone()))).is_err());
        assert!(bus.register(0x70, 0, Box::new(Probe(log.clone()))).is_err());
        assert!(bus
            .register(0xFFFF, 2, Box::new(Probe(log.clone())))
            .is_err());
        bus.register(0x61, 1, Box::new(Probe(log))).unwrap();
    }
}
