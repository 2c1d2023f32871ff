//! The port-I/O front: the index port 0x70 (with the NMI mask in bit 7), the
//! data port 0x71 and what a read or write of each byte through it does, and
//! [`CmosPorts`], the device registered on the port bus.

use super::registers::{
    is_time_byte, REG_A_UIP, REG_B_SET, REG_B_UIE, REG_D_VRT, RTC_REGISTER_A, RTC_REGISTER_B,
    RTC_REGISTER_C, RTC_REGISTER_D,
};
use super::{CmosRtc, INDEX_MASK};
use crate::bus::PortIoDevice;
use crate::Clock;
use alloc::rc::Rc;
use core::cell::RefCell;

/// Index port (write-only on the PC/AT; bit 7 masks NMI).
pub const CMOS_INDEX_PORT: u16 = pc_layout::ports::CMOS_INDEX;
/// Data port: reads and writes the byte the index selects.
pub const CMOS_DATA_PORT: u16 = pc_layout::ports::CMOS_DATA;
/// Ports the device occupies from [`CMOS_INDEX_PORT`].
pub const CMOS_PORT_COUNT: u16 = 2;

/// Port 0x70 bit 7: NMI disable (masks the NMI line; not part of the index).
pub const NMI_DISABLE: u8 = 1 << 7;

impl CmosRtc {
    /// A guest read of `port` (0x70 or 0x71). Port 0x70 reads 0xFF.
    pub fn read(&mut self, port: u16, now_ns: u64) -> u8 {
        match port {
            CMOS_DATA_PORT => self.read_register(self.index, now_ns),
            _ => 0xFF,
        }
    }

    /// A guest write of `value` to `port` (0x70 or 0x71).
    pub fn write(&mut self, port: u16, value: u8, now_ns: u64) {
        match port {
            CMOS_INDEX_PORT => {
                self.index = value & INDEX_MASK;
                self.nmi_disabled = value & NMI_DISABLE != 0;
            }
            CMOS_DATA_PORT => self.write_register(self.index, value, now_ns),
            _ => {}
        }
    }

    /// True while the guest has NMIs masked through port 0x70 bit 7.
    pub fn nmi_disabled(&self) -> bool {
        self.nmi_disabled
    }

    /// A guest read of the byte `index` selects: UIP is live in register A,
    /// register C clears on read, register D always reports valid RAM and
    /// time, and the time bytes of a running clock are produced at `now_ns`.
    fn read_register(&mut self, index: u8, now_ns: u64) -> u8 {
        let now = self.advance(now_ns);
        match index {
            RTC_REGISTER_A => {
                let uip = if self.update_imminent(now) {
                    REG_A_UIP
                } else {
                    0
                };
                (self.reg(RTC_REGISTER_A) & !REG_A_UIP) | uip
            }
            RTC_REGISTER_C => {
                // "All flag bits are cleared after Register C is read."
                let value = self.reg(RTC_REGISTER_C);
                self.set_reg(RTC_REGISTER_C, 0);
                value
            }
            RTC_REGISTER_D => REG_D_VRT,
            i if is_time_byte(i) && self.updating() => {
                self.store_time(now);
                self.reg(i)
            }
            i => self.reg(i),
        }
    }

    /// A guest write of the byte `index` selects: UIP and registers C and D
    /// are read-only, SET = 1 clears UIE, and a time byte written to a
    /// running clock is counted on from.
    fn write_register(&mut self, index: u8, value: u8, now_ns: u64) {
        let now = self.advance(now_ns);
        match index {
            RTC_REGISTER_A => {
                // UIP is read-only.
                self.set_control(value & !REG_A_UIP, self.reg(RTC_REGISTER_B), now);
            }
            RTC_REGISTER_B => {
                let value = if value & REG_B_SET != 0 {
                    value & !REG_B_UIE
                } else {
                    value
                };
                self.set_control(self.reg(RTC_REGISTER_A), value, now);
            }
            RTC_REGISTER_C | RTC_REGISTER_D => {} // read-only
            i if is_time_byte(i) && self.updating() => {
                // A running clock takes the new byte and counts on from it.
                self.store_time(now);
                self.set_reg(i, value);
                self.load_time(now);
            }
            i => self.set_reg(i, value),
        }
        self.update_irqf();
    }
}

/// The RTC on the port-I/O bus at 0x70-0x71: offset 0 is the index port,
/// offset 1 the data port; time comes from `clock`.
pub struct CmosPorts {
    rtc: Rc<RefCell<CmosRtc>>,
    clock: Rc<dyn Clock>,
}

impl CmosPorts {
    /// Puts `rtc` on the bus, reading time from `clock`. Keep another handle
    /// on `rtc` to poll [`CmosRtc::irq_level`] and [`CmosRtc::next_event_ns`].
    pub fn new(rtc: Rc<RefCell<CmosRtc>>, clock: Rc<dyn Clock>) -> Self {
        Self { rtc, clock }
    }
}

impl PortIoDevice for CmosPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        // Wider accesses read consecutive ports, as the ISA bus splits them;
        // bytes past 0x71 are not ours and float high.
        let now = self.clock.now_ns();
        let mut rtc = self.rtc.borrow_mut();
        (0..u16::from(size.min(4))).fold(0, |acc, i| {
            let port = CMOS_INDEX_PORT.wrapping_add(offset.wrapping_add(i));
            let byte = if offset.wrapping_add(i) < CMOS_PORT_COUNT {
                rtc.read(port, now)
            } else {
                0xFF
            };
            acc | (u32::from(byte) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        let mut rtc = self.rtc.borrow_mut();
        for i in 0..u16::from(size.min(4)) {
            let off = offset.wrapping_add(i);
            if off < CMOS_PORT_COUNT {
                rtc.write(CMOS_INDEX_PORT + off, (value >> (8 * i)) as u8, now);
            }
        }
    }
}
