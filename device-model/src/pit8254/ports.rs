//! The port-I/O front: which port reaches which part of the timer, and
//! [`PitPorts`], the device registered on the port bus.

use super::port_b::PORT_B;
use super::Pit;
use crate::bus::{all_ones, PortIoDevice};
use crate::Clock;
use alloc::rc::Rc;
use core::cell::RefCell;

/// First port of the 8254 (counter 0), where the board places it.
pub const PIT_BASE: u16 = pc_layout::ports::PIT;
/// Number of ports the 8254 occupies (counters 0-2 and the control word).
pub const PIT_PORT_COUNT: u16 = pc_layout::ports::PIT_COUNT;

/// Port of counter 0 (A1-A0 = 00).
const COUNTER0_PORT: u16 = PIT_BASE;
/// Port of counter 2 (A1-A0 = 10).
const COUNTER2_PORT: u16 = PIT_BASE + 2;
/// Port of the control word register (A1-A0 = 11).
const CONTROL_WORD_PORT: u16 = PIT_BASE + 3;

impl Pit {
    /// Reads the byte at absolute port `port` (0x40-0x43, 0x61; others 0xFF).
    pub fn read(&mut self, port: u16, now_ns: u64) -> u8 {
        let t = self.tick(now_ns);
        match port {
            COUNTER0_PORT..=COUNTER2_PORT => {
                let idx = usize::from(port - COUNTER0_PORT);
                self.with_channel(idx, t, |c| c.read_byte(t))
            }
            PORT_B => self.read_port_b(t),
            // CONTROL_WORD_PORT is write-only: the bus floats.
            _ => 0xFF,
        }
    }

    /// Writes `value` to absolute port `port` (0x40-0x43, 0x61; others ignored).
    pub fn write(&mut self, port: u16, value: u8, now_ns: u64) {
        let t = self.tick(now_ns);
        match port {
            COUNTER0_PORT..=COUNTER2_PORT => {
                let idx = usize::from(port - COUNTER0_PORT);
                let new_count = self.with_channel(idx, t, |c| c.write_byte(value, t));
                if idx == 0 && new_count {
                    self.irq0_reprogrammed();
                }
            }
            CONTROL_WORD_PORT => self.write_control_word(value, t),
            PORT_B => self.write_port_b(value, t),
            _ => {}
        }
    }
}

/// The timer on the port bus. Register one at [`PIT_BASE`] (length
/// [`PIT_PORT_COUNT`]) and one at [`PORT_B`] (length
/// [`PORT_B_PORT_COUNT`](super::PORT_B_PORT_COUNT)), sharing the same [`Pit`];
/// each reads time from `clock` on every access.
pub struct PitPorts {
    base: u16,
    pit: Rc<RefCell<Pit>>,
    clock: Rc<dyn Clock>,
}

impl PitPorts {
    /// A window onto `pit` whose offset 0 is absolute port `base`.
    pub fn new(base: u16, pit: Rc<RefCell<Pit>>, clock: Rc<dyn Clock>) -> Self {
        Self { base, pit, clock }
    }
}

impl PortIoDevice for PitPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        let now = self.clock.now_ns();
        let Ok(mut pit) = self.pit.try_borrow_mut() else {
            return all_ones(size);
        };
        // Wider accesses read consecutive ports, as the ISA bus splits them.
        let port = self.base.wrapping_add(offset);
        (0..u16::from(size.min(4))).fold(0, |acc, i| {
            acc | (u32::from(pit.read(port.wrapping_add(i), now)) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        let Ok(mut pit) = self.pit.try_borrow_mut() else {
            return;
        };
        let port = self.base.wrapping_add(offset);
        for (i, byte) in value
            .to_le_bytes()
            .iter()
            .take(usize::from(size))
            .enumerate()
        {
            pit.write(port.wrapping_add(i as u16), *byte, now);
        }
    }
}
