//! What the commands written to the control word register do: program a
//! counter (mode, access, format), the counter latch command, and the
//! read-back command latching count and status ("Counter Latch Command",
//! "Read-Back Command" and its status byte). The first latch holds until
//! read; later ones are ignored.

use super::channel::{Channel, State};
use super::control_word::{
    Access, CW_BCD, CW_M_MASK, CW_M_SHIFT, CW_RW_LATCH, CW_RW_LSB, CW_RW_MASK, CW_RW_MSB,
    CW_RW_SHIFT, CW_SC_READ_BACK, CW_SC_SHIFT, RB_CNT0, RB_COUNT, RB_STATUS, STATUS_NULL_COUNT,
    STATUS_OUTPUT,
};
use super::Pit;

impl Channel {
    /// The status byte: the control word bits as programmed, OUT and NULL
    /// COUNT.
    fn status(&self, t: u64) -> u8 {
        let mut s = (self.access.bits() << CW_RW_SHIFT) | (self.mode_bits << CW_M_SHIFT);
        if self.bcd {
            s |= CW_BCD;
        }
        if self.out_settled(t) {
            s |= STATUS_OUTPUT;
        }
        if self.null_count(t) {
            s |= STATUS_NULL_COUNT;
        }
        s
    }

    /// A control word selecting this counter (RW not 00).
    fn program(&mut self, cw: u8, t: u64) {
        let ce = self.ce_value(t);
        self.mode_bits = (cw >> CW_M_SHIFT) & CW_M_MASK;
        self.access = match (cw >> CW_RW_SHIFT) & CW_RW_MASK {
            CW_RW_LSB => Access::Lsb,
            CW_RW_MSB => Access::Msb,
            _ => Access::LsbMsb,
        };
        self.bcd = cw & CW_BCD != 0;
        self.state = State::Stopped {
            ce,
            armed: false,
            out: self.mode().initial_out(),
        };
        self.has_count = false;
        self.pending = None;
        self.null_until = None;
        self.latched_count = None;
        self.latched_status = None;
        self.write_msb_next = false;
        self.read_msb_next = false;
    }

    /// Counter latch command (or the COUNT part of read-back): the first
    /// latch holds until read; later ones are ignored.
    fn latch_count(&mut self, t: u64) {
        if self.latched_count.is_none() {
            self.latched_count = Some(self.ce_raw(t));
        }
    }

    /// STATUS part of read-back: the first latch holds until read.
    fn latch_status(&mut self, t: u64) {
        if self.latched_status.is_none() {
            self.latched_status = Some(self.status(t));
        }
    }
}

impl Pit {
    /// A byte written to the control word register: a read-back command, a
    /// counter latch command or a new mode for one counter.
    pub(super) fn write_control_word(&mut self, cw: u8, t: u64) {
        let sc = cw >> CW_SC_SHIFT;
        if sc == CW_SC_READ_BACK {
            for idx in 0..3 {
                if cw & (RB_CNT0 << idx) == 0 {
                    continue;
                }
                self.with_channel(idx, t, |c| {
                    if cw & RB_COUNT == 0 {
                        c.latch_count(t);
                    }
                    if cw & RB_STATUS == 0 {
                        c.latch_status(t);
                    }
                });
            }
            return;
        }
        let idx = usize::from(sc);
        if (cw >> CW_RW_SHIFT) & CW_RW_MASK == CW_RW_LATCH {
            self.with_channel(idx, t, |c| c.latch_count(t));
        } else {
            self.with_channel(idx, t, |c| c.program(cw, t));
            if idx == 0 {
                self.irq0_reprogrammed();
            }
        }
    }
}
