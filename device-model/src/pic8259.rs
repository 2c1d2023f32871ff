//! The PC/AT pair of Intel 8259A programmable interrupt controllers, with the
//! edge/level control registers of the PIIX3 south bridge.
//!
//! References:
//! - Intel 8259A Programmable Interrupt Controller datasheet (order number
//!   231468-003, December 1988): "Interrupt Sequence", "Programming the
//!   8259A", "Initialization Command Words", "Operation Command Words",
//!   "Fully Nested Mode", "End of Interrupt (EOI)", "Automatic End of
//!   Interrupt (AEOI) Mode", "Automatic Rotation", "Specific Rotation",
//!   "Special Mask Mode", "Poll Command", "Reading the 8259A Status", "Edge
//!   and Level Triggered Modes", "The Special Fully Nested Mode", "Cascade
//!   Mode".
//! - Intel 82371SB PCI ISA IDE Xcelerator (PIIX3) datasheet, "ELCR1—Edge/Level
//!   Control Register 1" (port 4D0h) and "ELCR2—Edge/Level Control Register 2"
//!   (port 4D1h).
//!
//! The wiring is the AT's: the master answers ports 20h-21h and delivers
//! IRQ0-7, the slave answers A0h-A1h and delivers IRQ8-15, and the slave's INT
//! output drives the master's IR2. As in the PIIX3 the cascade is fixed: ICW3
//! and SNGL are stored and steer the initialization sequence, but the slave
//! always answers for the master's IR2.
//!
//! What is modelled and how:
//! - A line is level-triggered when its ELCR bit or its chip's ICW1 LTIM is
//!   set (the PIIX3 ignores LTIM; a lone 8259A honours it). Edge: a rising
//!   edge latches IRR, which stays set until the request is acknowledged.
//!   Level: IRR follows the line. ICW1 resets the edge sense circuit: an
//!   input that is high must fall and rise again to request.
//! - The INTA cycle is [`PicPair::acknowledge`]; it always yields an 8086
//!   vector (the ICW4 µPM bit is stored, the 8080 CALL sequence is not
//!   modelled). With nothing to deliver a chip answers with its IR7 vector
//!   and sets no ISR bit: the spurious interrupt.
//! - The slave's INT output falls during its acknowledge and rises again if
//!   it still has a request to deliver (for instance in AEOI mode), so the
//!   master's edge-triggered IR2 latches the next slave request.
//! - An edge request that goes away before the acknowledge is not withdrawn
//!   (the datasheet's "must remain high until after the first INTA"): once
//!   latched it is delivered.

use crate::bus::PortIoDevice;
use crate::IrqLine;
use alloc::rc::Rc;
use core::cell::RefCell;

/// Master command port (A0 = 0): ICW1, OCW2 and OCW3; reads IRR, ISR or the poll word.
pub const MASTER_COMMAND: u16 = pc_layout::ports::PIC_MASTER;
/// Master data port (A0 = 1): ICW2-ICW4 during initialization, then OCW1 (IMR).
pub const MASTER_DATA: u16 = MASTER_COMMAND + 1;
/// Slave command port.
pub const SLAVE_COMMAND: u16 = pc_layout::ports::PIC_SLAVE;
/// Slave data port.
pub const SLAVE_DATA: u16 = SLAVE_COMMAND + 1;
/// ELCR1: trigger mode of IRQ0-7 (bit set = level).
pub const ELCR1: u16 = pc_layout::ports::PIC_ELCR;
/// ELCR2: trigger mode of IRQ8-15 (bit set = level).
pub const ELCR2: u16 = ELCR1 + 1;
/// The port ranges (base, length) of one [`PicPair`]: register a [`PicPorts`]
/// with each base, all sharing the pair.
pub const PIC_PORT_RANGES: [(u16, u16); 3] = [(MASTER_COMMAND, 2), (SLAVE_COMMAND, 2), (ELCR1, 2)];

/// The master input the slave's INT output drives: the board's cascade line.
const CASCADE_IR: u8 = pc_layout::irqs::CASCADE;
/// The level whose vector a chip answers with when nothing is to be delivered.
const SPURIOUS_IR: u8 = 7;

/// ICW1 D0 (IC4): ICW4 will be written.
const ICW1_IC4: u8 = 1 << 0;
/// ICW1 D1 (SNGL): single 8259A, no ICW3.
const ICW1_SNGL: u8 = 1 << 1;
/// ICW1 D3 (LTIM): all inputs level-triggered.
const ICW1_LTIM: u8 = 1 << 3;
/// A0 = 0 and D4 = 1: the byte is ICW1 and starts the initialization sequence.
const ICW1_SELECT: u8 = 1 << 4;

/// ICW2 T7-T3: the vector base; the chip supplies the low three bits itself.
const ICW2_T7_T3: u8 = 0xF8;

/// ICW4 D1 (AEOI): automatic end of interrupt.
const ICW4_AEOI: u8 = 1 << 1;
/// ICW4 D4 (SFNM): special fully nested mode.
const ICW4_SFNM: u8 = 1 << 4;

/// OCW2 L2-L0: the interrupt level a specific command acts on.
const OCW2_LEVEL: u8 = 0x07;
/// OCW2 R, SL and EOI (D7-D5): the command.
const OCW2_COMMAND: u8 = 0xE0;
/// OCW2 000: rotate in automatic EOI mode (clear).
const OCW2_ROTATE_AEOI_CLEAR: u8 = 0x00;
/// OCW2 001: non-specific EOI.
const OCW2_NONSPECIFIC_EOI: u8 = 0x20;
/// OCW2 011: specific EOI.
const OCW2_SPECIFIC_EOI: u8 = 0x60;
/// OCW2 100: rotate in automatic EOI mode (set).
const OCW2_ROTATE_AEOI_SET: u8 = 0x80;
/// OCW2 101: rotate on non-specific EOI.
const OCW2_ROTATE_NONSPECIFIC_EOI: u8 = 0xA0;
/// OCW2 110: set priority (L2-L0 becomes the lowest).
const OCW2_SET_PRIORITY: u8 = 0xC0;
/// OCW2 111: rotate on specific EOI.
const OCW2_ROTATE_SPECIFIC_EOI: u8 = 0xE0;

/// A0 = 0, D4 = 0 and D3 = 1: the byte is OCW3 (D3 = 0: OCW2).
const OCW3_SELECT: u8 = 1 << 3;
/// OCW3 D0 (RIS): read the ISR (1) or the IRR (0) ...
const OCW3_RIS: u8 = 1 << 0;
/// OCW3 D1 (RR): ... when this is set.
const OCW3_RR: u8 = 1 << 1;
/// OCW3 D2 (P): poll command.
const OCW3_P: u8 = 1 << 2;
/// OCW3 D5 (SMM): special mask mode set (1) or reset (0) ...
const OCW3_SMM: u8 = 1 << 5;
/// OCW3 D6 (ESMM): ... when this is set.
const OCW3_ESMM: u8 = 1 << 6;

/// Poll word D7 (I): an interrupt was pending; W2-W0 hold its level.
const POLL_I: u8 = 1 << 7;

/// ELCR1 bits the guest may set: IRQ0, IRQ1 and IRQ2 are always edge.
const ELCR1_WRITABLE: u8 = 0xF8;
/// ELCR2 bits the guest may set: IRQ8 (bit 0) and IRQ13 (bit 5) are always edge.
const ELCR2_WRITABLE: u8 = 0xDE;

/// Where a chip is in its initialization sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InitStep {
    /// Initialized: data-port writes are OCW1.
    Ready,
    /// ICW1 seen; the next data-port write is ICW2.
    Icw2,
    Icw3,
    Icw4,
}

/// One 8259A and its ELCR.
#[derive(Clone, Debug)]
struct Pic8259 {
    /// Interrupt request register.
    irr: u8,
    /// In-service register.
    isr: u8,
    /// Interrupt mask register (OCW1).
    imr: u8,
    /// Current level of each IR input.
    lines: u8,
    /// Edge/level control register.
    elcr: u8,
    /// The ELCR bits that are not hard-wired to edge.
    elcr_writable: u8,
    /// The master of the cascade: special fully nested mode applies to it.
    is_master: bool,
    step: InitStep,
    /// ICW1 bits this chip keeps (IC4, SNGL, LTIM).
    icw1: u8,
    /// ICW2 with the low three bits cleared.
    vector_base: u8,
    /// ICW3 as written (master: slave bitmap; slave: its ID).
    icw3: u8,
    /// ICW4 as written; zero when ICW1 said none follows.
    icw4: u8,
    /// OCW2 "rotate in automatic EOI mode".
    rotate_in_aeoi: bool,
    /// The level with the lowest priority; the next one round has the highest.
    lowest: u8,
    /// OCW3 RIS as last selected: command-port reads return ISR, not IRR.
    read_isr: bool,
    /// OCW3 P: the next read is the poll.
    poll: bool,
    /// OCW3 special mask mode.
    special_mask: bool,
}

impl Pic8259 {
    fn new(is_master: bool, elcr_writable: u8) -> Self {
        Self {
            irr: 0,
            isr: 0,
            // Undefined until programmed; masked, so nothing is delivered
            // through a vector base nobody has set.
            imr: 0xFF,
            lines: 0,
            elcr: 0,
            elcr_writable,
            is_master,
            step: InitStep::Ready,
            icw1: 0,
            vector_base: 0,
            icw3: 0,
            icw4: 0,
            rotate_in_aeoi: false,
            lowest: 7,
            read_isr: false,
            poll: false,
            special_mask: false,
        }
    }

    /// The inputs whose IRR follows the level.
    fn level_triggered(&self) -> u8 {
        if self.icw1 & ICW1_LTIM != 0 {
            0xFF
        } else {
            self.elcr
        }
    }

    /// Makes the IRR bits of level-triggered inputs equal to their lines.
    fn sync_levels(&mut self) {
        let level = self.level_triggered();
        self.irr = (self.irr & !level) | (self.lines & level);
    }

    /// Drives IR input `ir` to `high`.
    fn set_line(&mut self, ir: u8, high: bool) {
        let bit = 1 << ir;
        let rising = high && self.lines & bit == 0;
        if high {
            self.lines |= bit;
        } else {
            self.lines &= !bit;
        }
        if self.level_triggered() & bit != 0 {
            self.sync_levels();
        } else if rising {
            self.irr |= bit;
        }
    }

    /// Priority of `ir`: 0 is the highest, 7 the lowest.
    fn rank(&self, ir: u8) -> u8 {
        ir.wrapping_sub(self.lowest).wrapping_sub(1) & 7
    }

    /// The highest-priority level set in `bits`.
    fn highest(&self, bits: u8) -> Option<u8> {
        (1..=8)
            .map(|i| (self.lowest + i) & 7)
            .find(|&ir| bits & (1 << ir) != 0)
    }

    fn special_fully_nested(&self) -> bool {
        self.is_master && self.icw4 & ICW4_SFNM != 0
    }

    /// The level this chip would deliver now; `Some` is its INT output.
    fn pending(&self) -> Option<u8> {
        let requests = self.irr & !self.imr;
        if self.special_mask {
            // "Special Mask Mode": every unmasked level that is not itself in
            // service may interrupt, lower as well as higher.
            return self.highest(requests & !self.isr);
        }
        let request = self.highest(requests)?;
        match self.highest(self.isr) {
            None => Some(request),
            Some(current) if self.rank(request) < self.rank(current) => Some(request),
            // "The Special Fully Nested Mode": a slave request is let through
            // while the cascade input is already in service.
            Some(current)
                if request == CASCADE_IR
                    && current == CASCADE_IR
                    && self.special_fully_nested() =>
            {
                Some(request)
            }
            Some(_) => None,
        }
    }

    /// The acknowledge of level `ir` (an INTA cycle or a poll).
    fn acknowledge(&mut self, ir: u8) {
        let bit = 1 << ir;
        if self.icw4 & ICW4_AEOI != 0 {
            // The automatic non-specific EOI ends the level just set in service.
            if self.rotate_in_aeoi {
                self.lowest = ir;
            }
        } else {
            self.isr |= bit;
        }
        if self.level_triggered() & bit == 0 {
            self.irr &= !bit;
        }
    }

    fn vector(&self, ir: u8) -> u8 {
        self.vector_base | ir
    }

    /// A read of the command (`a0` false) or data port.
    fn read(&mut self, a0: bool) -> u8 {
        if self.poll {
            // "Poll Command": the read is the acknowledge.
            self.poll = false;
            return match self.pending() {
                Some(ir) => {
                    self.acknowledge(ir);
                    POLL_I | ir
                }
                None => 0,
            };
        }
        if a0 {
            self.imr
        } else if self.read_isr {
            self.isr
        } else {
            self.irr
        }
    }

    fn write_command(&mut self, value: u8) {
        if value & ICW1_SELECT != 0 {
            self.icw1(value);
        } else if value & OCW3_SELECT != 0 {
            self.ocw3(value);
        } else {
            self.ocw2(value);
        }
    }

    fn write_data(&mut self, value: u8) {
        match self.step {
            InitStep::Ready => self.imr = value,
            InitStep::Icw2 => {
                self.vector_base = value & ICW2_T7_T3;
                self.step = if self.icw1 & ICW1_SNGL == 0 {
                    InitStep::Icw3
                } else {
                    self.after_icw3()
                };
            }
            InitStep::Icw3 => {
                self.icw3 = value;
                self.step = self.after_icw3();
            }
            InitStep::Icw4 => {
                self.icw4 = value;
                self.step = InitStep::Ready;
            }
        }
    }

    fn after_icw3(&self) -> InitStep {
        if self.icw1 & ICW1_IC4 != 0 {
            InitStep::Icw4
        } else {
            InitStep::Ready
        }
    }

    /// "Initialization Command Words": ICW1 resets the edge sense circuit,
    /// clears the IMR, gives IR7 the lowest priority, clears special mask
    /// mode, selects the IRR for reading, and zeroes the ICW4 functions when
    /// no ICW4 follows.
    fn icw1(&mut self, value: u8) {
        self.icw1 = value & (ICW1_IC4 | ICW1_SNGL | ICW1_LTIM);
        self.step = InitStep::Icw2;
        self.irr = 0;
        self.isr = 0;
        self.imr = 0;
        self.lowest = 7;
        self.special_mask = false;
        self.read_isr = false;
        self.poll = false;
        self.rotate_in_aeoi = false;
        if self.icw1 & ICW1_IC4 == 0 {
            self.icw4 = 0;
        }
        self.sync_levels();
    }

    /// "Operation Command Words", OCW2: end of interrupt and rotation.
    fn ocw2(&mut self, value: u8) {
        let level = value & OCW2_LEVEL;
        let command = value & OCW2_COMMAND;
        match command {
            OCW2_ROTATE_AEOI_CLEAR => self.rotate_in_aeoi = false,
            OCW2_ROTATE_AEOI_SET => self.rotate_in_aeoi = true,
            OCW2_NONSPECIFIC_EOI | OCW2_ROTATE_NONSPECIFIC_EOI => {
                // In special mask mode an in-service level that is masked is
                // not ended by a non-specific EOI.
                let candidates = if self.special_mask {
                    self.isr & !self.imr
                } else {
                    self.isr
                };
                if let Some(ir) = self.highest(candidates) {
                    self.isr &= !(1 << ir);
                    if command == OCW2_ROTATE_NONSPECIFIC_EOI {
                        self.lowest = ir;
                    }
                }
            }
            OCW2_SPECIFIC_EOI => self.isr &= !(1 << level),
            OCW2_ROTATE_SPECIFIC_EOI => {
                self.isr &= !(1 << level);
                self.lowest = level;
            }
            OCW2_SET_PRIORITY => self.lowest = level,
            // 010: no operation.
            _ => {}
        }
    }

    /// OCW3: register read select, poll, special mask mode.
    fn ocw3(&mut self, value: u8) {
        if value & OCW3_ESMM != 0 {
            self.special_mask = value & OCW3_SMM != 0;
        }
        if value & OCW3_RR != 0 {
            self.read_isr = value & OCW3_RIS != 0;
        }
        self.poll = value & OCW3_P != 0;
    }

    fn write_elcr(&mut self, value: u8) {
        self.elcr = value & self.elcr_writable;
        self.sync_levels();
    }
}

/// One chip's request, mask and in-service registers, as a report shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PicRegisters {
    pub irr: u8,
    pub imr: u8,
    pub isr: u8,
}

/// The master and slave 8259A of a PC with their ELCRs.
#[derive(Clone, Debug)]
pub struct PicPair {
    master: Pic8259,
    slave: Pic8259,
}

impl Default for PicPair {
    fn default() -> Self {
        Self::new()
    }
}

impl PicPair {
    /// The pair at power-on: uninitialized, all inputs masked, all edge-triggered.
    pub fn new() -> Self {
        Self {
            master: Pic8259::new(true, ELCR1_WRITABLE),
            slave: Pic8259::new(false, ELCR2_WRITABLE),
        }
    }

    /// Drives ISA interrupt line `irq` (0-15) to `level`. Other numbers are
    /// ignored, and so is 2: the master's IR2 carries the cascade (the ISA
    /// bus's IRQ2 pin is wired to IRQ9 on an AT).
    pub fn set_irq(&mut self, irq: u8, level: bool) {
        match irq {
            CASCADE_IR => {}
            0..=7 => self.master.set_line(irq, level),
            8..=15 => {
                self.slave.set_line(irq - 8, level);
                self.sync_cascade();
            }
            _ => {}
        }
    }

    /// True when no input of the pair can ever raise INT: every master input
    /// is masked, or every one but the cascade with every slave input masked
    /// too. A processor halted with only this controller to wake it then
    /// sleeps forever (IMR, "Operation Command Word 1" in the 8259A datasheet).
    pub fn every_input_masked(&self) -> bool {
        let cascade = 1u8 << CASCADE_IR;
        self.master.imr == 0xFF || (self.master.imr | cascade == 0xFF && self.slave.imr == 0xFF)
    }

    /// The master's and the slave's IRR, IMR and ISR, read without the side
    /// effects of a guest's OCW3 read or poll (for reports).
    pub fn registers(&self) -> [PicRegisters; 2] {
        [&self.master, &self.slave].map(|chip| PicRegisters {
            irr: chip.irr,
            imr: chip.imr,
            isr: chip.isr,
        })
    }

    /// The master's INT output: an interrupt waits for the CPU's acknowledge.
    pub fn has_interrupt(&self) -> bool {
        self.master.pending().is_some()
    }

    /// The INTA cycle: the vector the CPU receives. Sets the ISR bit (none in
    /// AEOI mode) and clears the edge-triggered IRR bit on the master and, for
    /// a slave interrupt, on the slave. With nothing to deliver a chip answers
    /// with its IR7 vector without setting ISR ("Interrupt Sequence").
    pub fn acknowledge(&mut self) -> u8 {
        let Some(ir) = self.master.pending() else {
            return self.master.vector(SPURIOUS_IR);
        };
        self.master.acknowledge(ir);
        if ir != CASCADE_IR {
            return self.master.vector(ir);
        }
        let vector = match self.slave.pending() {
            Some(slave_ir) => {
                self.slave.acknowledge(slave_ir);
                self.slave.vector(slave_ir)
            }
            None => self.slave.vector(SPURIOUS_IR),
        };
        self.slave_acknowledged();
        vector
    }

    /// A guest read of `port`.
    pub fn read_port(&mut self, port: u16) -> u8 {
        match port {
            MASTER_COMMAND | MASTER_DATA => self.master.read(port == MASTER_DATA),
            SLAVE_COMMAND | SLAVE_DATA => {
                let polled = self.slave.poll;
                let value = self.slave.read(port == SLAVE_DATA);
                if polled {
                    self.slave_acknowledged();
                }
                value
            }
            ELCR1 => self.master.elcr,
            ELCR2 => self.slave.elcr,
            _ => 0xFF,
        }
    }

    /// A guest write of `value` to `port`.
    pub fn write_port(&mut self, port: u16, value: u8) {
        match port {
            MASTER_COMMAND => self.master.write_command(value),
            MASTER_DATA => self.master.write_data(value),
            SLAVE_COMMAND => self.slave.write_command(value),
            SLAVE_DATA => self.slave.write_data(value),
            ELCR1 => self.master.write_elcr(value),
            ELCR2 => self.slave.write_elcr(value),
            _ => return,
        }
        self.sync_cascade();
    }

    /// Drives the master's IR2 from the slave's INT output.
    fn sync_cascade(&mut self) {
        let slave_int = self.slave.pending().is_some();
        self.master.set_line(CASCADE_IR, slave_int);
    }

    /// The slave's INT falls during its acknowledge and rises again if it has
    /// another request to deliver: a fresh edge at the master's IR2.
    fn slave_acknowledged(&mut self) {
        self.master.set_line(CASCADE_IR, false);
        self.sync_cascade();
    }
}

/// One of the pair's port ranges on the port-I/O bus (see [`PIC_PORT_RANGES`]):
/// offset plus `base` is the port. Wider accesses are split into byte accesses
/// at consecutive ports, as the ISA bus does.
pub struct PicPorts {
    base: u16,
    pic: Rc<RefCell<PicPair>>,
}

impl PicPorts {
    /// The range starting at port `base` of `pic`.
    pub fn new(base: u16, pic: Rc<RefCell<PicPair>>) -> Self {
        Self { base, pic }
    }

    fn port(&self, offset: u16, byte: u8) -> u16 {
        self.base.wrapping_add(offset).wrapping_add(u16::from(byte))
    }
}

impl PortIoDevice for PicPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        let mut pic = self.pic.borrow_mut();
        (0..size.min(4)).fold(0, |value, i| {
            value | u32::from(pic.read_port(self.port(offset, i))) << (8 * i)
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let mut pic = self.pic.borrow_mut();
        for (i, byte) in value
            .to_le_bytes()
            .into_iter()
            .take(usize::from(size.min(4)))
            .enumerate()
        {
            pic.write_port(self.port(offset, i as u8), byte);
        }
    }
}

/// ISA interrupt line `irq` of a shared [`PicPair`].
pub struct PicIrqLine {
    pic: Rc<RefCell<PicPair>>,
    irq: u8,
}

impl PicIrqLine {
    /// Line `irq` (0-15) of `pic`.
    pub fn new(pic: Rc<RefCell<PicPair>>, irq: u8) -> Self {
        Self { pic, irq }
    }
}

impl IrqLine for PicIrqLine {
    fn set_level(&self, high: bool) {
        self.pic.borrow_mut().set_irq(self.irq, high);
    }
}

#[cfg(test)]
mod tests;
