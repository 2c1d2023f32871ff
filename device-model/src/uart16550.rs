//! 16550A UART (National Semiconductor PC16550D datasheet, "Register
//! Description", table II "Summary of Registers").
//!
//! The transmitter is infinitely fast: a byte written to THR leaves at once
//! through the [`ByteSink`], so THRE and TEMT always read set. Received bytes
//! queue in a FIFO that the host side fills with [`Uart16550::receive`]. The
//! character timer is infinitely fast too: data below the FIFO trigger level
//! shows as the character-timeout indication at once, instead of four
//! character times later.

use crate::bus::PortIoDevice;
use crate::ByteSink;
use alloc::boxed::Box;
use alloc::collections::VecDeque;

/// Standard base ports of COM1..COM4.
pub const COM_PORTS: [u16; 4] = pc_layout::ports::COM;
/// Number of ports a UART occupies.
pub const UART_PORT_COUNT: u16 = pc_layout::ports::UART_COUNT;

// Register offsets.
const RBR_THR_DLL: u16 = 0;
const IER_DLM: u16 = 1;
const IIR_FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const MSR: u16 = 6;
const SCR: u16 = 7;

/// IER bit 0: received data available interrupt.
const IER_ERBFI: u8 = 1 << 0;
/// IER bit 1: transmitter holding register empty interrupt.
const IER_ETBEI: u8 = 1 << 1;
/// IER bit 2: receiver line status interrupt.
const IER_ELSI: u8 = 1 << 2;
/// The IER bits a 16550A implements.
const IER_MASK: u8 = 0x0F;

/// IIR: no interrupt pending.
const IIR_NONE: u8 = 0x01;
/// IIR: transmitter holding register empty (priority 3).
const IIR_THRE: u8 = 0x02;
/// IIR: received data available (priority 2).
const IIR_RDA: u8 = 0x04;
/// IIR: receiver line status (priority 1, highest).
const IIR_RLS: u8 = 0x06;
/// IIR: character timeout (priority 2): data below the trigger level.
const IIR_CTI: u8 = 0x0C;
/// IIR bits 6-7: FIFOs enabled.
const IIR_FIFO_ENABLED: u8 = 0xC0;

/// FCR bit 0: enable FIFOs.
const FCR_ENABLE: u8 = 1 << 0;
/// FCR bit 1: clear the receive FIFO.
const FCR_CLEAR_RX: u8 = 1 << 1;
/// FCR bits 6-7: receiver trigger level (1, 4, 8 or 14 bytes).
const FCR_TRIGGER_SHIFT: u8 = 6;

/// LCR bit 7: divisor latch access.
const LCR_DLAB: u8 = 1 << 7;

/// MCR bit 4: loopback.
const MCR_LOOP: u8 = 1 << 4;
/// The MCR bits a 16550A implements.
const MCR_MASK: u8 = 0x1F;

/// LSR bit 0: data ready.
const LSR_DR: u8 = 1 << 0;
/// LSR bit 1: overrun error.
const LSR_OE: u8 = 1 << 1;
/// LSR bit 5: transmitter holding register empty.
const LSR_THRE: u8 = 1 << 5;
/// LSR bit 6: transmitter empty.
const LSR_TEMT: u8 = 1 << 6;

/// MSR bits 4-7 (CTS, DSR, RI, DCD) that mirror MCR bits 1,0,2,3 in loopback.
const MSR_CTS: u8 = 1 << 4;
const MSR_DSR: u8 = 1 << 5;
const MSR_RI: u8 = 1 << 6;
const MSR_DCD: u8 = 1 << 7;

/// Depth of the receive FIFO.
pub const RX_FIFO_DEPTH: usize = 16;

/// One 16550A.
pub struct Uart16550 {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    fcr: u8,
    lsr_errors: u8,
    divisor: u16,
    rx: VecDeque<u8>,
    /// A THRE interrupt is owed (set by a transmit, cleared by reading IIR or writing THR).
    thre_pending: bool,
    out: Box<dyn ByteSink>,
}

impl Uart16550 {
    /// A UART in its power-on state whose output goes to `out`.
    pub fn new(out: Box<dyn ByteSink>) -> Self {
        Self {
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            fcr: 0,
            lsr_errors: 0,
            divisor: 12, // 9600 baud from the 1.8432 MHz clock
            rx: VecDeque::new(),
            thre_pending: false,
            out,
        }
    }

    /// A byte arriving on the serial line. Returns false (and sets the overrun
    /// error) if the receive FIFO was full.
    pub fn receive(&mut self, byte: u8) -> bool {
        if self.rx.len() >= self.rx_capacity() {
            self.lsr_errors |= LSR_OE;
            return false;
        }
        self.rx.push_back(byte);
        true
    }

    /// Bytes the receiver can take now without overrunning.
    pub fn rx_room(&self) -> usize {
        self.rx_capacity().saturating_sub(self.rx.len())
    }

    fn rx_capacity(&self) -> usize {
        if self.fcr & FCR_ENABLE != 0 {
            RX_FIFO_DEPTH
        } else {
            1
        }
    }

    /// Bytes in the receive FIFO that raise the data-available interrupt.
    fn trigger_level(&self) -> usize {
        if self.fcr & FCR_ENABLE == 0 {
            return 1;
        }
        [1, 4, 8, 14][usize::from(self.fcr >> FCR_TRIGGER_SHIFT) & 3]
    }

    /// The divisor latch value (baud = 115200 / divisor).
    pub fn divisor(&self) -> u16 {
        self.divisor
    }

    /// True while the UART asserts its interrupt line.
    pub fn interrupt_pending(&self) -> bool {
        self.iir() & IIR_NONE == 0
    }

    fn dlab(&self) -> bool {
        self.lcr & LCR_DLAB != 0
    }

    fn iir(&self) -> u8 {
        let fifo = if self.fcr & FCR_ENABLE != 0 {
            IIR_FIFO_ENABLED
        } else {
            0
        };
        let id = if self.ier & IER_ELSI != 0 && self.lsr_errors != 0 {
            IIR_RLS
        } else if self.ier & IER_ERBFI != 0 && !self.rx.is_empty() {
            if self.rx.len() >= self.trigger_level() {
                IIR_RDA
            } else {
                IIR_CTI
            }
        } else if self.ier & IER_ETBEI != 0 && self.thre_pending {
            IIR_THRE
        } else {
            IIR_NONE
        };
        fifo | id
    }

    fn lsr(&self) -> u8 {
        let dr = if self.rx.is_empty() { 0 } else { LSR_DR };
        dr | self.lsr_errors | LSR_THRE | LSR_TEMT
    }

    fn msr(&self) -> u8 {
        if self.mcr & MCR_LOOP == 0 {
            // Nothing is connected: the modem lines a terminal would raise are up.
            return MSR_CTS | MSR_DSR | MSR_DCD;
        }
        let m = self.mcr;
        let mut v = 0;
        if m & 0x02 != 0 {
            v |= MSR_CTS;
        }
        if m & 0x01 != 0 {
            v |= MSR_DSR;
        }
        if m & 0x04 != 0 {
            v |= MSR_RI;
        }
        if m & 0x08 != 0 {
            v |= MSR_DCD;
        }
        v
    }

    fn transmit(&mut self, byte: u8) {
        if self.mcr & MCR_LOOP != 0 {
            self.receive(byte);
        } else {
            self.out.write_byte(byte);
        }
        self.thre_pending = true;
    }

    /// Reads one register.
    pub fn read_register(&mut self, offset: u16) -> u8 {
        match offset {
            RBR_THR_DLL if self.dlab() => self.divisor as u8,
            RBR_THR_DLL => self.rx.pop_front().unwrap_or(0),
            IER_DLM if self.dlab() => (self.divisor >> 8) as u8,
            IER_DLM => self.ier,
            IIR_FCR => {
                let v = self.iir();
                if v & 0x0F == IIR_THRE {
                    self.thre_pending = false;
                }
                v
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                let v = self.lsr();
                self.lsr_errors = 0;
                v
            }
            MSR => self.msr(),
            SCR => self.scr,
            _ => 0xFF,
        }
    }

    /// Writes one register.
    pub fn write_register(&mut self, offset: u16, value: u8) {
        match offset {
            RBR_THR_DLL if self.dlab() => self.divisor = (self.divisor & 0xFF00) | u16::from(value),
            RBR_THR_DLL => self.transmit(value),
            IER_DLM if self.dlab() => {
                self.divisor = (self.divisor & 0x00FF) | (u16::from(value) << 8)
            }
            IER_DLM => {
                let enabling_thre = value & IER_ETBEI != 0 && self.ier & IER_ETBEI == 0;
                self.ier = value & IER_MASK;
                // The transmitter is always empty: enabling ETBEI raises THRE at once.
                if enabling_thre {
                    self.thre_pending = true;
                }
            }
            IIR_FCR => {
                if value & FCR_CLEAR_RX != 0 {
                    self.rx.clear();
                }
                self.fcr = value & (FCR_ENABLE | 0xC0);
            }
            LCR => self.lcr = value,
            MCR => self.mcr = value & MCR_MASK,
            SCR => self.scr = value,
            _ => {} // LSR and MSR are read-only
        }
    }
}

impl PortIoDevice for Uart16550 {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        // Wider accesses read consecutive registers, as the ISA bus splits them.
        (0..u16::from(size)).fold(0, |acc, i| {
            acc | (u32::from(self.read_register(offset + i)) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        for i in 0..u16::from(size) {
            self.write_register(offset + i, (value >> (8 * i)) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    struct Capture(Rc<RefCell<Vec<u8>>>);
    impl ByteSink for Capture {
        fn write_byte(&mut self, b: u8) {
            self.0.borrow_mut().push(b);
        }
    }

    fn uart() -> (Uart16550, Rc<RefCell<Vec<u8>>>) {
        let out = Rc::new(RefCell::new(Vec::new()));
        (Uart16550::new(Box::new(Capture(out.clone()))), out)
    }

    #[test]
    fn transmitted_bytes_reach_the_sink_and_lsr_says_empty() {
        let (mut u, out) = uart();
        assert_eq!(
            u.read_register(LSR) & (LSR_THRE | LSR_TEMT),
            LSR_THRE | LSR_TEMT
        );
        for b in b"hi\n" {
            u.write_register(RBR_THR_DLL, *b);
        }
        assert_eq!(&*out.borrow(), b"hi\n");
    }

    #[test]
    fn divisor_latch_shadows_thr_and_ier() {
        let (mut u, out) = uart();
        u.write_register(LCR, LCR_DLAB | 0x03);
        u.write_register(RBR_THR_DLL, 0x01);
        u.write_register(IER_DLM, 0x00);
        assert_eq!(u.divisor(), 1);
        u.write_register(LCR, 0x03);
        assert_eq!(u.read_register(IER_DLM), 0);
        assert!(out.borrow().is_empty(), "divisor writes must not transmit");
    }

    #[test]
    fn received_bytes_set_data_ready_and_raise_rda_interrupt() {
        let (mut u, _) = uart();
        u.write_register(IIR_FCR, FCR_ENABLE);
        u.receive(b'a');
        u.receive(b'b');
        assert_eq!(u.read_register(LSR) & LSR_DR, LSR_DR);
        assert!(!u.interrupt_pending());
        u.write_register(IER_DLM, IER_ERBFI);
        assert_eq!(u.read_register(IIR_FCR), IIR_FIFO_ENABLED | IIR_RDA);
        assert_eq!(u.read_register(RBR_THR_DLL), b'a');
        assert_eq!(u.read_register(RBR_THR_DLL), b'b');
        assert_eq!(u.read_register(LSR) & LSR_DR, 0);
        assert_eq!(u.read_register(IIR_FCR), IIR_FIFO_ENABLED | IIR_NONE);
    }

    #[test]
    fn below_the_trigger_level_data_shows_as_character_timeout() {
        let (mut u, _) = uart();
        u.write_register(IIR_FCR, FCR_ENABLE | (2 << FCR_TRIGGER_SHIFT)); // trigger at 8
        u.write_register(IER_DLM, IER_ERBFI);
        for b in 0..7 {
            u.receive(b);
        }
        assert_eq!(u.read_register(IIR_FCR) & 0x0F, IIR_CTI);
        u.receive(7);
        assert_eq!(u.read_register(IIR_FCR) & 0x0F, IIR_RDA);
    }

    #[test]
    fn line_status_interrupt_has_the_highest_priority_and_clears_on_lsr_read() {
        let (mut u, _) = uart();
        u.write_register(IER_DLM, IER_ERBFI | IER_ETBEI | IER_ELSI);
        u.receive(1);
        u.receive(2); // overrun: no FIFO
        assert_eq!(u.read_register(IIR_FCR) & 0x0F, IIR_RLS);
        assert_ne!(u.read_register(LSR) & LSR_OE, 0);
        assert_eq!(u.read_register(IIR_FCR) & 0x0F, IIR_RDA);
    }

    #[test]
    fn rx_room_tracks_the_fifo() {
        let (mut u, _) = uart();
        assert_eq!(u.rx_room(), 1, "16450 mode: one holding register");
        u.write_register(IIR_FCR, FCR_ENABLE);
        assert_eq!(u.rx_room(), RX_FIFO_DEPTH);
        u.receive(1);
        assert_eq!(u.rx_room(), RX_FIFO_DEPTH - 1);
    }

    #[test]
    fn without_fifo_a_second_byte_overruns() {
        let (mut u, _) = uart();
        assert!(u.receive(1));
        assert!(!u.receive(2));
        assert_eq!(u.read_register(LSR) & LSR_OE, LSR_OE);
        assert_eq!(
            u.read_register(LSR) & LSR_OE,
            0,
            "reading LSR clears errors"
        );
    }

    #[test]
    fn thre_interrupt_is_cleared_by_reading_iir() {
        let (mut u, _) = uart();
        u.write_register(IER_DLM, IER_ETBEI);
        assert_eq!(u.read_register(IIR_FCR), IIR_THRE);
        assert_eq!(u.read_register(IIR_FCR), IIR_NONE);
        u.write_register(RBR_THR_DLL, b'x');
        assert!(u.interrupt_pending());
    }

    #[test]
    fn loopback_returns_transmitted_bytes_and_mirrors_modem_lines() {
        let (mut u, out) = uart();
        u.write_register(MCR, MCR_LOOP | 0x0B);
        u.write_register(RBR_THR_DLL, 0x5A);
        assert!(out.borrow().is_empty());
        assert_eq!(u.read_register(RBR_THR_DLL), 0x5A);
        assert_eq!(u.read_register(MSR), MSR_CTS | MSR_DSR | MSR_DCD);
    }

    #[test]
    fn scratch_register_keeps_its_value() {
        let (mut u, _) = uart();
        u.write_register(SCR, 0xA5);
        assert_eq!(u.read_register(SCR), 0xA5);
    }
}
