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
pub const MASTER_COMMAND: u16 = 0x20;
/// Master data port (A0 = 1): ICW2-ICW4 during initialization, then OCW1 (IMR).
pub const MASTER_DATA: u16 = 0x21;
/// Slave command port.
pub const SLAVE_COMMAND: u16 = 0xA0;
/// Slave data port.
pub const SLAVE_DATA: u16 = 0xA1;
/// ELCR1: trigger mode of IRQ0-7 (bit set = level).
pub const ELCR1: u16 = 0x4D0;
/// ELCR2: trigger mode of IRQ8-15 (bit set = level).
pub const ELCR2: u16 = 0x4D1;
/// The port ranges (base, length) of one [`PicPair`]: register a [`PicPorts`]
/// with each base, all sharing the pair.
pub const PIC_PORT_RANGES: [(u16, u16); 3] = [(MASTER_COMMAND, 2), (SLAVE_COMMAND, 2), (ELCR1, 2)];

/// The master input the slave's INT output drives.
const CASCADE_IR: u8 = 2;
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
mod tests {
    use super::*;
    use crate::bus::PortIoBus;
    use alloc::boxed::Box;

    /// OCW2 non-specific EOI as guests write it.
    const EOI: u8 = 0x20;
    /// OCW3: read IRR on the next command-port read.
    const READ_IRR: u8 = 0x0A;
    /// OCW3: read ISR on the next command-port read.
    const READ_ISR: u8 = 0x0B;
    /// OCW3: poll command.
    const POLL: u8 = 0x0C;

    /// ICW1-ICW4 for both chips, as Linux and SeaBIOS write them.
    fn init(pic: &mut PicPair, master_base: u8, slave_base: u8, icw4: u8) {
        pic.write_port(MASTER_COMMAND, 0x11);
        pic.write_port(MASTER_DATA, master_base);
        pic.write_port(MASTER_DATA, 0x04);
        pic.write_port(MASTER_DATA, icw4);
        pic.write_port(SLAVE_COMMAND, 0x11);
        pic.write_port(SLAVE_DATA, slave_base);
        pic.write_port(SLAVE_DATA, 0x02);
        pic.write_port(SLAVE_DATA, icw4);
    }

    /// A pair initialized with vectors 20h/28h, everything unmasked.
    fn linux() -> PicPair {
        let mut pic = PicPair::new();
        init(&mut pic, 0x20, 0x28, 0x01);
        pic
    }

    fn pulse(pic: &mut PicPair, irq: u8) {
        pic.set_irq(irq, true);
        pic.set_irq(irq, false);
    }

    fn isr(pic: &mut PicPair, command: u16) -> u8 {
        pic.write_port(command, READ_ISR);
        pic.read_port(command)
    }

    fn irr(pic: &mut PicPair, command: u16) -> u8 {
        pic.write_port(command, READ_IRR);
        pic.read_port(command)
    }

    #[test]
    fn power_on_state_is_masked_and_quiet() {
        let mut pic = PicPair::default();
        pulse(&mut pic, 0);
        pulse(&mut pic, 12);
        assert!(!pic.has_interrupt());
        assert_eq!(pic.read_port(MASTER_DATA), 0xFF);
        assert_eq!(pic.read_port(SLAVE_DATA), 0xFF);
        assert_eq!(pic.read_port(ELCR1), 0);
        assert_eq!(pic.read_port(ELCR2), 0);
    }

    #[test]
    fn linux_init_sequence_delivers_vectors_from_20h_and_28h() {
        let mut pic = PicPair::new();
        // Linux: probe by masking all and reading the mask back, then init.
        pic.write_port(MASTER_DATA, 0xFF);
        pic.write_port(SLAVE_DATA, 0xFF);
        assert_eq!(pic.read_port(MASTER_DATA), 0xFF);
        init(&mut pic, 0x20, 0x28, 0x01);
        assert_eq!(pic.read_port(MASTER_DATA), 0x00, "ICW1 clears the IMR");
        pic.write_port(MASTER_DATA, 0xFB);
        pic.write_port(SLAVE_DATA, 0xFF);
        pic.write_port(MASTER_DATA, 0xFA); // unmask the timer

        pulse(&mut pic, 0);
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), 0x20);
        assert!(!pic.has_interrupt());
        pic.write_port(MASTER_COMMAND, EOI);

        pic.write_port(SLAVE_DATA, 0xFE); // unmask the RTC
        pulse(&mut pic, 8);
        assert_eq!(pic.acknowledge(), 0x28);
        pic.write_port(SLAVE_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, EOI);
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn seabios_init_sequence_delivers_vectors_from_08h_and_70h() {
        let mut pic = PicPair::new();
        init(&mut pic, 0x08, 0x70, 0x01);
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x08);
        pic.write_port(MASTER_COMMAND, EOI);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x09);
        pic.write_port(MASTER_COMMAND, EOI);
        pulse(&mut pic, 14);
        assert_eq!(pic.acknowledge(), 0x76);
        pic.write_port(SLAVE_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, EOI);
        pulse(&mut pic, 15);
        assert_eq!(pic.acknowledge(), 0x77);
    }

    #[test]
    fn icw2_low_three_bits_are_ignored() {
        let mut pic = PicPair::new();
        init(&mut pic, 0x27, 0x2F, 0x01);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x21);
    }

    #[test]
    fn lower_number_wins_between_simultaneous_requests() {
        let mut pic = linux();
        pic.set_irq(5, true);
        pic.set_irq(3, true);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x21);
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x23);
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x25);
    }

    #[test]
    fn masked_request_waits_in_irr_until_unmasked() {
        let mut pic = linux();
        pic.write_port(MASTER_DATA, 1 << 4);
        pulse(&mut pic, 4);
        assert!(!pic.has_interrupt());
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 4);
        pic.write_port(MASTER_DATA, 0);
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), 0x24);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 0);
    }

    #[test]
    fn eoi_gates_same_and_lower_priority_while_higher_nests() {
        let mut pic = linux();
        pulse(&mut pic, 3);
        assert_eq!(pic.acknowledge(), 0x23);
        pulse(&mut pic, 3);
        pulse(&mut pic, 5);
        assert!(!pic.has_interrupt(), "IR3 in service blocks IR3 and IR5");
        pulse(&mut pic, 1);
        assert!(pic.has_interrupt(), "IR1 nests");
        assert_eq!(pic.acknowledge(), 0x21);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0000_1010);
        pic.write_port(MASTER_COMMAND, EOI); // ends IR1
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0000_1000);
        assert!(!pic.has_interrupt());
        pic.write_port(MASTER_COMMAND, EOI); // ends IR3
        assert_eq!(pic.acknowledge(), 0x23);
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x25);
    }

    #[test]
    fn specific_eoi_ends_the_named_level() {
        let mut pic = linux();
        pulse(&mut pic, 3);
        assert_eq!(pic.acknowledge(), 0x23);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x21);
        pic.write_port(MASTER_COMMAND, OCW2_SPECIFIC_EOI | 3);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 1);
        pic.write_port(MASTER_COMMAND, OCW2_SPECIFIC_EOI | 1);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
    }

    #[test]
    fn rotate_on_nonspecific_eoi_makes_the_ended_level_lowest() {
        let mut pic = linux();
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x20);
        pic.write_port(MASTER_COMMAND, OCW2_ROTATE_NONSPECIFIC_EOI);
        pulse(&mut pic, 0);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x21, "IR0 is now lowest, IR1 highest");
        pic.write_port(MASTER_COMMAND, OCW2_ROTATE_NONSPECIFIC_EOI);
        // IR1 lowest: IR2..IR7, IR0 outrank it.
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x20);
    }

    #[test]
    fn set_priority_and_rotate_on_specific_eoi() {
        let mut pic = linux();
        pic.write_port(MASTER_COMMAND, OCW2_SET_PRIORITY | 4);
        pulse(&mut pic, 3);
        pulse(&mut pic, 6);
        assert_eq!(pic.acknowledge(), 0x26, "IR5 highest, so IR6 beats IR3");
        pic.write_port(MASTER_COMMAND, OCW2_ROTATE_SPECIFIC_EOI | 6);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
        pulse(&mut pic, 6);
        assert_eq!(pic.acknowledge(), 0x23, "IR6 is now lowest");
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x26);
    }

    #[test]
    fn nonspecific_eoi_follows_the_rotated_priority() {
        let mut pic = linux();
        pic.write_port(MASTER_COMMAND, OCW2_SET_PRIORITY | 4); // IR5 highest
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x21);
        pulse(&mut pic, 6);
        assert_eq!(pic.acknowledge(), 0x26, "IR6 outranks IR1 now");
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 1);
    }

    #[test]
    fn aeoi_leaves_isr_clear_and_allows_immediate_redelivery() {
        let mut pic = PicPair::new();
        init(&mut pic, 0x20, 0x28, 0x03);
        pulse(&mut pic, 3);
        assert_eq!(pic.acknowledge(), 0x23);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
        pulse(&mut pic, 3);
        assert_eq!(pic.acknowledge(), 0x23);
        pulse(&mut pic, 12);
        assert_eq!(pic.acknowledge(), 0x2C);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
        assert_eq!(isr(&mut pic, SLAVE_COMMAND), 0);
    }

    #[test]
    fn rotate_in_aeoi_mode_rotates_on_each_acknowledge() {
        let mut pic = PicPair::new();
        init(&mut pic, 0x20, 0x28, 0x03);
        pic.write_port(MASTER_COMMAND, OCW2_ROTATE_AEOI_SET);
        pulse(&mut pic, 0);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x20);
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x21, "IR0 became lowest");
        assert_eq!(pic.acknowledge(), 0x20);
        pic.write_port(MASTER_COMMAND, OCW2_ROTATE_AEOI_CLEAR);
        pulse(&mut pic, 0);
        pulse(&mut pic, 1);
        // IR0 lowest since the last rotation; without rotation it stays so.
        assert_eq!(pic.acknowledge(), 0x21);
        pulse(&mut pic, 1);
        assert_eq!(pic.acknowledge(), 0x21);
        assert_eq!(pic.acknowledge(), 0x20);
    }

    #[test]
    fn slave_in_aeoi_delivers_its_next_request_through_the_cascade() {
        let mut pic = linux();
        pic.write_port(SLAVE_COMMAND, 0x11);
        pic.write_port(SLAVE_DATA, 0x28);
        pic.write_port(SLAVE_DATA, 0x02);
        pic.write_port(SLAVE_DATA, 0x03);
        pic.set_irq(8, true);
        pic.set_irq(12, true);
        assert_eq!(pic.acknowledge(), 0x28);
        pic.write_port(MASTER_COMMAND, EOI);
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), 0x2C);
    }

    #[test]
    fn poll_command_acknowledges_on_the_next_read() {
        let mut pic = linux();
        pulse(&mut pic, 5);
        pulse(&mut pic, 6);
        pic.write_port(MASTER_COMMAND, POLL);
        assert_eq!(pic.read_port(MASTER_COMMAND), 0x80 | 5);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 5);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
        pic.write_port(MASTER_COMMAND, POLL);
        assert_eq!(pic.read_port(MASTER_DATA), 0, "IR6 is below IR5 in service");
        assert_eq!(pic.read_port(MASTER_DATA), 0, "only one read is the poll");
        pic.write_port(MASTER_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, POLL);
        assert_eq!(pic.read_port(MASTER_DATA), 0x80 | 6);
    }

    #[test]
    fn poll_of_the_slave_acknowledges_its_request() {
        let mut pic = linux();
        pulse(&mut pic, 14);
        pic.write_port(MASTER_COMMAND, POLL);
        assert_eq!(pic.read_port(MASTER_COMMAND), 0x80 | 2);
        pic.write_port(SLAVE_COMMAND, POLL);
        assert_eq!(pic.read_port(SLAVE_COMMAND), 0x80 | 6);
        assert_eq!(isr(&mut pic, SLAVE_COMMAND), 1 << 6);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 2);
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn special_mask_mode_lets_lower_levels_through() {
        let mut pic = linux();
        pulse(&mut pic, 3);
        assert_eq!(pic.acknowledge(), 0x23);
        pulse(&mut pic, 5);
        assert!(!pic.has_interrupt());
        pic.write_port(MASTER_DATA, 1 << 3);
        pic.write_port(MASTER_COMMAND, 0x68); // ESMM | SMM: set special mask
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), 0x25);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0b0010_1000);
        // The masked IR3 is not ended by a non-specific EOI.
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 3);
        pic.write_port(MASTER_COMMAND, 0x48); // ESMM: reset special mask
        pic.write_port(MASTER_DATA, 0);
        pulse(&mut pic, 5);
        assert!(!pic.has_interrupt(), "normal nesting again");
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x25);
    }

    #[test]
    fn slave_irq14_goes_through_the_cascade_and_needs_two_eois() {
        let mut pic = linux();
        pulse(&mut pic, 14);
        assert!(pic.has_interrupt());
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 2);
        assert_eq!(pic.acknowledge(), 0x2E);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1 << 2);
        assert_eq!(isr(&mut pic, SLAVE_COMMAND), 1 << 6);
        pulse(&mut pic, 15);
        pulse(&mut pic, 3);
        assert!(
            !pic.has_interrupt(),
            "IR2 in service blocks IR3 and the slave"
        );
        pic.write_port(SLAVE_COMMAND, EOI);
        assert!(!pic.has_interrupt());
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x2F, "IR2 outranks IR3");
        pic.write_port(SLAVE_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x23);
    }

    #[test]
    fn higher_slave_level_nests_only_in_special_fully_nested_mode() {
        for sfnm in [false, true] {
            let mut pic = PicPair::new();
            init(&mut pic, 0x20, 0x28, 0x01);
            if sfnm {
                pic.write_port(MASTER_COMMAND, 0x11);
                pic.write_port(MASTER_DATA, 0x20);
                pic.write_port(MASTER_DATA, 0x04);
                pic.write_port(MASTER_DATA, 0x11);
            }
            pulse(&mut pic, 14);
            assert_eq!(pic.acknowledge(), 0x2E);
            pulse(&mut pic, 9);
            assert_eq!(pic.has_interrupt(), sfnm);
            if sfnm {
                assert_eq!(pic.acknowledge(), 0x29);
            }
            pulse(&mut pic, 4);
            assert!(!pic.has_interrupt(), "IR2 in service still blocks IR4");
        }
    }

    #[test]
    fn edge_line_latches_once_per_rising_edge() {
        let mut pic = linux();
        pic.set_irq(4, true);
        assert_eq!(pic.acknowledge(), 0x24);
        pic.write_port(MASTER_COMMAND, EOI);
        pic.set_irq(4, true);
        assert!(!pic.has_interrupt(), "still high: no new edge");
        pic.set_irq(4, false);
        assert!(!pic.has_interrupt());
        pic.set_irq(4, true);
        assert_eq!(pic.acknowledge(), 0x24);
    }

    #[test]
    fn edge_request_stays_latched_after_the_line_falls() {
        let mut pic = linux();
        pulse(&mut pic, 6);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
        assert_eq!(pic.acknowledge(), 0x26);
    }

    #[test]
    fn level_line_irr_follows_the_line_and_redelivers_after_eoi() {
        let mut pic = linux();
        pic.write_port(ELCR2, 1 << 2); // IRQ10 level
        pic.set_irq(10, true);
        assert_eq!(pic.acknowledge(), 0x2A);
        assert_eq!(irr(&mut pic, SLAVE_COMMAND), 1 << 2, "IRR stays while high");
        pic.write_port(SLAVE_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(pic.acknowledge(), 0x2A, "still high: delivered again");
        pic.set_irq(10, false);
        assert_eq!(irr(&mut pic, SLAVE_COMMAND), 0);
        pic.write_port(SLAVE_COMMAND, EOI);
        pic.write_port(MASTER_COMMAND, EOI);
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn elcr_change_applies_to_a_line_already_high() {
        let mut pic = linux();
        pic.write_port(MASTER_DATA, 1 << 5);
        pic.set_irq(5, true);
        pic.write_port(ELCR1, 1 << 5);
        pic.set_irq(5, false);
        assert_eq!(
            irr(&mut pic, MASTER_COMMAND),
            0,
            "level: IRR dropped with the line"
        );
        pic.set_irq(5, true);
        pic.write_port(ELCR1, 0);
        pic.set_irq(5, false);
        assert_eq!(
            irr(&mut pic, MASTER_COMMAND),
            1 << 5,
            "edge: IRR stays latched"
        );
    }

    #[test]
    fn switching_to_level_requests_for_a_line_already_high() {
        let mut pic = linux();
        pic.set_irq(6, true);
        assert_eq!(pic.acknowledge(), 0x26);
        pic.write_port(MASTER_COMMAND, EOI);
        assert!(!pic.has_interrupt(), "edge: served, no new edge");
        pic.write_port(ELCR1, 1 << 6);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 6);
        assert_eq!(pic.acknowledge(), 0x26);
    }

    #[test]
    fn icw1_ltim_makes_every_line_level_triggered() {
        let mut pic = PicPair::new();
        pic.write_port(MASTER_COMMAND, 0x19);
        pic.write_port(MASTER_DATA, 0x20);
        pic.write_port(MASTER_DATA, 0x04);
        pic.write_port(MASTER_DATA, 0x01);
        pic.set_irq(3, true);
        assert_eq!(pic.acknowledge(), 0x23);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 1 << 3);
        pic.set_irq(3, false);
        assert_eq!(irr(&mut pic, MASTER_COMMAND), 0);
        assert_eq!(pic.read_port(ELCR1), 0, "LTIM does not show in the ELCR");
    }

    #[test]
    fn icw1_resets_the_edge_sense_circuit() {
        let mut pic = linux();
        pic.write_port(MASTER_DATA, 0xFF);
        pic.set_irq(6, true);
        init(&mut pic, 0x20, 0x28, 0x01);
        assert!(!pic.has_interrupt(), "the latched edge is gone");
        pic.set_irq(6, true);
        assert!(!pic.has_interrupt(), "a line held high needs a new edge");
        pulse(&mut pic, 6);
        pic.set_irq(6, true);
        assert_eq!(pic.acknowledge(), 0x26);
    }

    #[test]
    fn level_drop_before_acknowledge_gives_spurious_irq7() {
        let mut pic = linux();
        pic.write_port(ELCR1, 1 << 5);
        pic.set_irq(5, true);
        assert!(pic.has_interrupt());
        pic.set_irq(5, false);
        assert_eq!(pic.acknowledge(), 0x27);
        assert_eq!(
            isr(&mut pic, MASTER_COMMAND),
            0,
            "spurious IR7 sets no ISR bit"
        );
        assert_eq!(pic.acknowledge(), 0x27, "nothing pending at all");
    }

    #[test]
    fn slave_request_gone_before_acknowledge_gives_spurious_irq15() {
        let mut pic = linux();
        pic.write_port(ELCR2, 1 << 3); // IRQ11 level
        pic.set_irq(11, true);
        assert!(pic.has_interrupt());
        pic.set_irq(11, false);
        assert!(pic.has_interrupt(), "IR2's edge is latched at the master");
        assert_eq!(pic.acknowledge(), 0x2F);
        assert_eq!(isr(&mut pic, SLAVE_COMMAND), 0);
        assert_eq!(
            isr(&mut pic, MASTER_COMMAND),
            1 << 2,
            "the master did take IR2"
        );
        pic.write_port(MASTER_COMMAND, EOI);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0);
    }

    #[test]
    fn ocw3_selects_irr_or_isr_until_changed() {
        let mut pic = linux();
        pulse(&mut pic, 1);
        pulse(&mut pic, 4);
        assert_eq!(pic.read_port(MASTER_COMMAND), 0b0001_0010, "IRR after init");
        assert_eq!(pic.acknowledge(), 0x21);
        pic.write_port(MASTER_COMMAND, READ_ISR);
        assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 1);
        pic.write_port(MASTER_COMMAND, 0x09); // RR = 0: selection unchanged
        assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 1);
        pic.write_port(MASTER_COMMAND, READ_IRR);
        assert_eq!(pic.read_port(MASTER_COMMAND), 1 << 4);
        assert_eq!(pic.read_port(MASTER_DATA), 0, "data port reads the IMR");
    }

    #[test]
    fn elcr_bits_for_irq_0_1_2_8_13_read_zero() {
        let mut pic = PicPair::new();
        pic.write_port(ELCR1, 0xFF);
        pic.write_port(ELCR2, 0xFF);
        assert_eq!(pic.read_port(ELCR1), 0xF8);
        assert_eq!(pic.read_port(ELCR2), 0xDE);
        init(&mut pic, 0x20, 0x28, 0x01);
        assert_eq!(pic.read_port(ELCR1), 0xF8, "ICW1 leaves the ELCR alone");
    }

    #[test]
    fn single_mode_and_no_icw4_shorten_the_sequence() {
        let mut pic = PicPair::new();
        pic.write_port(MASTER_COMMAND, 0x13); // SNGL, IC4
        pic.write_port(MASTER_DATA, 0x40);
        pic.write_port(MASTER_DATA, 0x03); // ICW4: 8086, AEOI
        pic.write_port(MASTER_DATA, 0xFE); // OCW1
        assert_eq!(pic.read_port(MASTER_DATA), 0xFE);
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x40);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 0, "AEOI from ICW4");

        pic.write_port(MASTER_COMMAND, 0x10); // cascade, no ICW4
        pic.write_port(MASTER_DATA, 0x50);
        pic.write_port(MASTER_DATA, 0x04);
        pic.write_port(MASTER_DATA, 0x02); // OCW1
        assert_eq!(pic.read_port(MASTER_DATA), 0x02);
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x50);
        assert_eq!(isr(&mut pic, MASTER_COMMAND), 1, "no ICW4: AEOI off");
    }

    #[test]
    fn irq2_and_out_of_range_lines_are_ignored() {
        let mut pic = linux();
        pulse(&mut pic, 2);
        pulse(&mut pic, 16);
        pulse(&mut pic, 255);
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn other_ports_read_all_ones_and_drop_writes() {
        let mut pic = linux();
        for port in [0x22, 0x9F, 0xA2, 0x4CF, 0x4D2] {
            pic.write_port(port, 0x11);
            assert_eq!(pic.read_port(port), 0xFF);
        }
        pulse(&mut pic, 0);
        assert_eq!(pic.acknowledge(), 0x20);
    }

    #[test]
    fn port_ranges_share_one_pair_on_the_bus() {
        let pic = Rc::new(RefCell::new(PicPair::new()));
        let mut bus = PortIoBus::default();
        for (base, len) in PIC_PORT_RANGES {
            bus.register(base, len, Box::new(PicPorts::new(base, pic.clone())))
                .unwrap();
        }
        for (port, value) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] {
            bus.write(port, 1, value);
        }
        for (port, value) in [(0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01)] {
            bus.write(port, 1, value);
        }
        bus.write(0x4D0, 2, 0xFFFF);
        assert_eq!(bus.read(0x4D0, 2), 0xDEF8);
        bus.write(0x4D0, 2, 0);
        bus.write(0x20, 2, 0xFB0A); // OCW3 read IRR, then IMR = FBh
        assert_eq!(bus.read(0x20, 2), 0xFB00);

        let line = PicIrqLine::new(pic.clone(), 9);
        bus.write(0xA1, 1, 0);
        line.set_level(true);
        line.set_level(false);
        assert!(pic.borrow().has_interrupt());
        assert_eq!(pic.borrow_mut().acknowledge(), 0x71);
        assert_eq!(bus.read(0xA0, 1), 0);
        bus.write(0xA0, 1, 0x0B);
        assert_eq!(bus.read(0xA0, 1), 1 << 1);
    }

    /// xorshift64: deterministic noise for the stress test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    /// Random line changes, acknowledges, EOIs, masks, ELCR writes, polls
    /// and re-initializations, checked against what the guest can observe:
    /// vectors come from the programmed bases, masked levels are never
    /// delivered, an acknowledge without INT is the spurious IR7, non-AEOI
    /// deliveries show in ISR, level-triggered IRR equals the line, and the
    /// hard-wired ELCR bits stay zero.
    #[test]
    fn random_access_keeps_the_observable_invariants() {
        let mut rng = Rng(0x8259_8259_DEAD_BEEF);
        let mut pic = PicPair::new();
        let (mut mbase, mut sbase, mut aeoi) = (0x20u8, 0x28u8, false);
        init(&mut pic, mbase, sbase, 0x01);
        let mut lines = 0u16;
        let mut imr = [0u8; 2];
        let mut elcr = [0u8; 2];

        for step in 0..200_000 {
            match rng.below(16) {
                0..=4 => {
                    let irq = rng.below(20) as u8;
                    let high = rng.below(2) == 0;
                    pic.set_irq(irq, high);
                    if irq < 16 && irq != 2 {
                        lines = (lines & !(1 << irq)) | (u16::from(high) << irq);
                    }
                }
                5..=7 => {
                    let int = pic.has_interrupt();
                    let isr_before = [isr(&mut pic, MASTER_COMMAND), isr(&mut pic, SLAVE_COMMAND)];
                    let vector = pic.acknowledge();
                    let isr_after = [isr(&mut pic, MASTER_COMMAND), isr(&mut pic, SLAVE_COMMAND)];
                    let ir = vector & 7;
                    if !int {
                        assert_eq!(vector, mbase | 7, "step {step}");
                        assert_eq!(isr_before, isr_after, "step {step}");
                    } else if vector & 0xF8 == mbase && ir != 2 {
                        assert_eq!(imr[0] & (1 << ir), 0, "step {step}: masked IR delivered");
                        assert_eq!(isr_after[0] & (1 << ir) != 0, !aeoi, "step {step}");
                    } else {
                        assert_eq!(vector & 0xF8, sbase, "step {step}");
                        assert_eq!(imr[0] & (1 << 2), 0, "step {step}: masked cascade");
                        assert_eq!(isr_after[0] & (1 << 2) != 0, !aeoi, "step {step}");
                        let taken = isr_after[1] & !isr_before[1] & (1 << ir) != 0;
                        if ir != 7 || taken {
                            // A real delivery, not the slave's spurious IR7.
                            assert_eq!(imr[1] & (1 << ir), 0, "step {step}: masked slave IR");
                            assert_eq!(taken, !aeoi, "step {step}");
                        }
                    }
                }
                8 | 9 => {
                    let command = [MASTER_COMMAND, SLAVE_COMMAND][rng.below(2) as usize];
                    let ocw2 = [EOI, 0x60 | (rng.byte() & 7), 0xA0, 0xC0 | (rng.byte() & 7)];
                    pic.write_port(command, ocw2[rng.below(4) as usize]);
                }
                10 => {
                    let chip = rng.below(2) as usize;
                    imr[chip] = rng.byte() & rng.byte();
                    pic.write_port([MASTER_DATA, SLAVE_DATA][chip], imr[chip]);
                }
                11 => {
                    let chip = rng.below(2) as usize;
                    pic.write_port([ELCR1, ELCR2][chip], rng.byte());
                    elcr[chip] = pic.read_port([ELCR1, ELCR2][chip]);
                }
                12 => {
                    let chip = rng.below(2) as usize;
                    let (command, data) =
                        [(MASTER_COMMAND, MASTER_DATA), (SLAVE_COMMAND, SLAVE_DATA)][chip];
                    pic.write_port(command, POLL);
                    let word = pic.read_port(data);
                    assert_eq!(word & 0x78, 0, "step {step}: poll word {word:#x}");
                }
                13 => {
                    let chip = rng.below(2) as usize;
                    let command = [MASTER_COMMAND, SLAVE_COMMAND][chip];
                    let smm = [0x48, 0x68][rng.below(2) as usize];
                    pic.write_port(command, smm);
                }
                14 => {
                    if rng.below(50) == 0 {
                        mbase = rng.byte() & 0xF8;
                        sbase = mbase.wrapping_add(8);
                        aeoi = rng.below(2) == 0;
                        init(&mut pic, mbase, sbase, if aeoi { 0x03 } else { 0x01 });
                        imr = [0; 2];
                    }
                }
                _ => {
                    let command = [MASTER_COMMAND, SLAVE_COMMAND][rng.below(2) as usize];
                    let _ = pic.read_port(command);
                }
            }

            let levels = [
                irr(&mut pic, MASTER_COMMAND) & elcr[0],
                irr(&mut pic, SLAVE_COMMAND) & elcr[1],
            ];
            assert_eq!(levels[0], (lines as u8) & elcr[0], "step {step}");
            assert_eq!(levels[1], (lines >> 8) as u8 & elcr[1], "step {step}");
            assert_eq!(pic.read_port(ELCR1) & !ELCR1_WRITABLE, 0);
            assert_eq!(pic.read_port(ELCR2) & !ELCR2_WRITABLE, 0);
        }
    }

    /// Any byte to any of the pair's ports, interleaved with line changes and
    /// acknowledges, never panics and only yields vectors from a base.
    #[test]
    fn random_port_garbage_never_panics() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut pic = PicPair::new();
        let ports = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x22, 0xFFFF];
        for _ in 0..200_000 {
            match rng.below(4) {
                0 => pic.write_port(ports[rng.below(8) as usize], rng.byte()),
                1 => {
                    let _ = pic.read_port(ports[rng.below(8) as usize]);
                }
                2 => pic.set_irq(rng.byte() & 0x1F, rng.below(2) == 0),
                _ => {
                    let _ = pic.has_interrupt();
                    let _ = pic.acknowledge();
                }
            }
        }
    }
}
