//! Our 16550A against rust-vmm's `vm_superio::Serial` on the same register
//! access sequences. vm-superio is std-only, so it cannot link into the
//! hypervisor, but it is a well-used model of the same chip.
//!
//! Known, deliberate differences (both are compared only after programming the
//! registers that differ):
//! - reset values: the PC16550D datasheet resets LCR and MCR to 0; vm-superio
//!   presets 8N1 and OUT2 as firmware would leave them;
//! - IIR bits 6-7: the datasheet sets them only while FCR bit 0 enables the
//!   FIFOs; vm-superio always reports them;
//! - receive FIFO depth: 16 bytes on a 16550A, 64 in vm-superio.

use device_model::uart16550::Uart16550;
use device_model::ByteSink;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

struct NoTrigger;
impl Trigger for NoTrigger {
    type E = ();
    fn trigger(&self) -> Result<(), ()> {
        Ok(())
    }
}

#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);
impl io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl ByteSink for Shared {
    fn write_byte(&mut self, b: u8) {
        self.0.borrow_mut().push(b);
    }
}

struct Pair {
    ours: Uart16550,
    theirs: Serial<NoTrigger, NoEvents, Shared>,
    our_out: Shared,
    their_out: Shared,
}

enum Op {
    W(u8, u8),
    R(u8),
    Rx(&'static [u8]),
}

impl Pair {
    /// Both UARTs programmed alike: 8N1, DTR|RTS|OUT2, FIFOs on.
    fn new() -> Self {
        let (our_out, their_out) = (Shared::default(), Shared::default());
        let mut p = Self {
            ours: Uart16550::new(Box::new(our_out.clone())),
            theirs: Serial::new(NoTrigger, their_out.clone()),
            our_out,
            their_out,
        };
        p.run(&[Op::W(3, 0x03), Op::W(4, 0x0B), Op::W(2, 0x07)]);
        p
    }

    fn run(&mut self, ops: &[Op]) {
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::W(off, v) => {
                    self.ours.write_register(u16::from(off), v);
                    self.theirs.write(off, v).unwrap();
                }
                Op::R(off) => {
                    let (a, b) = (
                        self.ours.read_register(u16::from(off)),
                        self.theirs.read(off),
                    );
                    assert_eq!(
                        a, b,
                        "step {i}: read of register {off}: ours {a:#04x}, vm-superio {b:#04x}"
                    );
                }
                Op::Rx(bytes) => {
                    for &b in bytes {
                        assert!(self.ours.receive(b));
                    }
                    self.theirs.enqueue_raw_bytes(bytes).unwrap();
                }
            }
        }
        assert_eq!(
            *self.our_out.0.borrow(),
            *self.their_out.0.borrow(),
            "transmitted bytes differ"
        );
    }
}

#[test]
fn linux_8250_style_init_and_transmit_agree() {
    let mut p = Pair::new();
    p.run(&[
        Op::W(1, 0x00),
        Op::W(3, 0x80),
        Op::W(0, 0x01),
        Op::W(1, 0x00),
        Op::R(0),
        Op::R(1),
        Op::W(3, 0x03),
        Op::R(3),
        Op::R(5),
        Op::W(0, b'o'),
        Op::W(0, b'k'),
        Op::R(5),
        Op::R(6),
        Op::R(4),
    ]);
    assert_eq!(*p.our_out.0.borrow(), b"ok");
}

#[test]
fn scratch_register_probe_agrees() {
    let mut p = Pair::new();
    p.run(&[Op::W(7, 0x55), Op::R(7), Op::W(7, 0xAA), Op::R(7)]);
}

#[test]
fn receive_path_agrees_on_data_ready_and_bytes() {
    let mut p = Pair::new();
    p.run(&[
        Op::R(5),
        Op::Rx(b"xyz"),
        Op::R(5),
        Op::R(0),
        Op::R(5),
        Op::R(0),
        Op::R(0),
        Op::R(5),
    ]);
}

#[test]
fn receive_interrupt_identification_agrees() {
    let mut p = Pair::new();
    p.run(&[Op::W(1, 0x01), Op::Rx(b"a"), Op::R(2), Op::R(0), Op::R(5)]);
}

#[test]
fn ier_readback_masks_reserved_bits_alike() {
    let mut p = Pair::new();
    p.run(&[Op::W(1, 0xFF), Op::R(1), Op::W(1, 0x00), Op::R(1)]);
}

#[test]
fn loopback_mode_agrees() {
    let mut p = Pair::new();
    p.run(&[
        Op::W(4, 0x10 | 0x0B),
        Op::R(6),
        Op::W(0, 0x42),
        Op::R(5),
        Op::R(0),
        Op::R(5),
        Op::W(4, 0x0B),
        Op::R(6),
    ]);
}
