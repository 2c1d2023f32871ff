//! MMIO bus: dispatches 1/2/4/8-byte accesses by guest-physical range to
//! devices, which see only the offset into their range. As on a PC, a read of
//! an address nobody decodes returns all ones and a write is dropped.
//!
//! The hypervisor reaches it from nested page faults on addresses no RAM
//! backs, once the instruction emulator has decoded the access.

use crate::rate_limit::RateLimit;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A device on the MMIO bus.
pub trait MmioDevice {
    /// Reads `size` bytes (1, 2, 4 or 8) at `offset` into the device's range.
    fn read(&mut self, offset: u64, size: u8) -> u64;
    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: u8, value: u64);
}

/// Two devices asked for overlapping addresses, or the range was empty or wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioConflict {
    pub base: u64,
    pub len: u64,
}

struct MmioRange {
    base: u64,
    len: u64,
    device: Box<dyn MmioDevice>,
}

/// The value an unclaimed read of `size` bytes returns: all ones.
pub fn all_ones(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        4 => 0xFFFF_FFFF,
        _ => u64::MAX,
    }
}

/// The MMIO address space of one machine (outside guest RAM).
pub struct MmioBus {
    ranges: Vec<MmioRange>,
    unclaimed: RateLimit,
}

impl Default for MmioBus {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            unclaimed: RateLimit::new(16, 1000),
        }
    }
}

impl MmioBus {
    /// Places `device` at `[base, base+len)`.
    pub fn register(
        &mut self,
        base: u64,
        len: u64,
        device: Box<dyn MmioDevice>,
    ) -> Result<(), MmioConflict> {
        let conflict = MmioConflict { base, len };
        let end = base.checked_add(len).ok_or(conflict)?;
        if len == 0
            || self
                .ranges
                .iter()
                .any(|r| base < r.base + r.len && r.base < end)
        {
            return Err(conflict);
        }
        self.ranges.push(MmioRange { base, len, device });
        Ok(())
    }

    /// True if some device decodes `addr`.
    pub fn claims(&self, addr: u64) -> bool {
        self.ranges
            .iter()
            .any(|r| addr.wrapping_sub(r.base) < r.len && addr >= r.base)
    }

    fn find(&mut self, addr: u64) -> Option<(&mut MmioRange, u64)> {
        self.ranges.iter_mut().find_map(|r| {
            let off = addr.wrapping_sub(r.base);
            (addr >= r.base && off < r.len).then_some((r, off))
        })
    }

    /// A guest read of `size` bytes at `addr`.
    pub fn read(&mut self, addr: u64, size: u8) -> u64 {
        match self.find(addr) {
            Some((r, off)) => r.device.read(off, size) & all_ones(size),
            None => {
                if self.unclaimed.allow() {
                    log::debug!(
                        "unclaimed MMIO read {addr:#x}/{size} ({} so far)",
                        self.unclaimed.seen()
                    );
                }
                all_ones(size)
            }
        }
    }

    /// A guest write of the low `size` bytes of `value` at `addr`.
    pub fn write(&mut self, addr: u64, size: u8, value: u64) {
        match self.find(addr) {
            Some((r, off)) => r.device.write(off, size, value & all_ones(size)),
            None => {
                if self.unclaimed.allow() {
                    log::debug!(
                        "unclaimed MMIO write {addr:#x}/{size} = {value:#x} ({} so far)",
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

    /// Remembers the last write; reads return the offset.
    struct Regs(Rc<RefCell<Vec<(u64, u8, u64)>>>);
    impl MmioDevice for Regs {
        fn read(&mut self, offset: u64, _size: u8) -> u64 {
            0x1122_3344_5566_7700 | offset
        }
        fn write(&mut self, offset: u64, size: u8, value: u64) {
            self.0.borrow_mut().push((offset, size, value));
        }
    }

    #[test]
    fn devices_see_offsets_and_sized_values() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut bus = MmioBus::default();
        bus.register(0xFEE0_0000, 0x1000, Box::new(Regs(log.clone())))
            .unwrap();
        assert_eq!(bus.read(0xFEE0_0030, 4), 0x5566_7730);
        assert_eq!(bus.read(0xFEE0_0030, 8), 0x1122_3344_5566_7730);
        bus.write(0xFEE0_00B0, 2, 0xABCD_1234);
        assert_eq!(log.borrow()[0], (0xB0, 2, 0x1234));
        assert!(bus.claims(0xFEE0_0FFF));
        assert!(!bus.claims(0xFEE0_1000));
    }

    #[test]
    fn unclaimed_reads_float_high() {
        let mut bus = MmioBus::default();
        assert_eq!(bus.read(0xFED0_0000, 1), 0xFF);
        assert_eq!(bus.read(0xFED0_0000, 8), u64::MAX);
        bus.write(0xFED0_0000, 4, 0);
    }

    #[test]
    fn overlapping_empty_or_wrapping_ranges_are_refused() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut bus = MmioBus::default();
        bus.register(0x1000, 0x1000, Box::new(Regs(log.clone())))
            .unwrap();
        assert!(bus
            .register(0x1FFF, 2, Box::new(Regs(log.clone())))
            .is_err());
        assert!(bus
            .register(0x4000, 0, Box::new(Regs(log.clone())))
            .is_err());
        assert!(bus
            .register(u64::MAX, 2, Box::new(Regs(log.clone())))
            .is_err());
        bus.register(0x2000, 0x1000, Box::new(Regs(log))).unwrap();
    }
}
