//! String I/O against the MMIO bus: a device claimed there sees what INS
//! stores and answers what OUTS loads, as on a PC, where the chipset routes a
//! memory cycle to whoever decodes its address.

use super::complete_string_io;
use crate::emulator::guest_access::GuestAccess;
use crate::guest_memory::{test_memory, GuestMemory};
use crate::test_support::FakeVcpu;
use crate::vcpu::{Gpr, IoAccess, IoDirection, SegReg, Segment};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use device_model::bus::{PortIoBus, PortIoDevice};
use device_model::mmio_bus::{MmioBus, MmioDevice};

/// Writes the device saw: (offset, size, value).
type MmioLog = Rc<RefCell<Vec<(u64, u8, u64)>>>;

/// An MMIO device whose reads return `0x1122_3344_5566_7700 | offset`.
struct Regs(MmioLog);

impl MmioDevice for Regs {
    fn read(&mut self, offset: u64, _size: u8) -> u64 {
        0x1122_3344_5566_7700 | offset
    }
    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.0.borrow_mut().push((offset, size, value));
    }
}

/// Port writes: (size, value).
type PortLog = Rc<RefCell<Vec<(u8, u32)>>>;

/// A port whose reads return 4433_2211h (cut to size by the bus).
struct Port(PortLog);

impl PortIoDevice for Port {
    fn read(&mut self, _offset: u16, _size: u8) -> u32 {
        0x4433_2211
    }
    fn write(&mut self, _offset: u16, size: u8, value: u32) {
        self.0.borrow_mut().push((size, value));
    }
}

const PORT: u16 = 0x5A0;

/// 1 MiB of RAM with `code` at 7C00h, an MMIO device at `mmio_base`
/// (4 KiB), and the test port.
struct Machine {
    memory: GuestMemory,
    mmio: MmioBus,
    ports: PortIoBus,
    device: MmioLog,
    port: PortLog,
}

impl Machine {
    fn new(code: &[u8], mmio_base: u64) -> Self {
        let mut memory = test_memory(0x10_0000);
        memory.write(0x7C00, code).unwrap();
        let device = Rc::new(RefCell::new(Vec::new()));
        let mut mmio = MmioBus::default();
        mmio.register(mmio_base, 0x1000, Box::new(Regs(device.clone())))
            .unwrap();
        let port = Rc::new(RefCell::new(Vec::new()));
        let mut ports = PortIoBus::default();
        ports
            .register(PORT, 1, Box::new(Port(port.clone())))
            .unwrap();
        Self {
            memory,
            mmio,
            ports,
            device,
            port,
        }
    }

    /// Runs the string I/O exit of `size`-byte elements.
    fn run(&mut self, v: &mut FakeVcpu, size: u8, direction: IoDirection, next_rip: u64) -> bool {
        let mut access = GuestAccess {
            memory: &mut self.memory,
            mmio: &mut self.mmio,
            max_phys_bits: 40,
        };
        let io = IoAccess {
            port: PORT,
            size,
            direction,
            string: true,
            rep: true,
            next_rip: Some(next_rip),
        };
        complete_string_io(v, &mut access, &mut self.ports, io).unwrap()
    }
}

/// A vCPU in 32-bit protected mode without paging, flat 4 GiB segments, at
/// 7C00h.
fn flat32() -> FakeVcpu {
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.cr.cr0 = 0x11;
    v.segments[SegReg::Cs as usize] = Segment {
        selector: 8,
        attrs: 0x9B | Segment::ATTR_DB,
        limit: 0xFFFF_FFFF,
        base: 0,
    };
    for seg in [SegReg::Es, SegReg::Ds, SegReg::Ss] {
        v.segments[seg as usize] = Segment {
            selector: 0x10,
            attrs: 0x93 | Segment::ATTR_DB,
            limit: 0xFFFF_FFFF,
            base: 0,
        };
    }
    v
}

#[test]
fn rep_insd_into_a_claimed_mmio_range_reaches_the_device() {
    let mut m = Machine::new(&[0xF3, 0x6D], 0xFEB0_0000); // rep insd (32-bit code)
    let mut v = flat32();
    v.gprs[Gpr::Rdi as usize] = 0xFEB0_0010;
    v.gprs[Gpr::Rcx as usize] = 2;
    assert!(m.run(&mut v, 4, IoDirection::In, 0x7C02));
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(
        *m.device.borrow(),
        [(0x10, 4, 0x4433_2211), (0x14, 4, 0x4433_2211)]
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0xFEB0_0018);
    assert_eq!(v.rip, 0x7C02);
}

#[test]
fn rep_outsw_from_a_claimed_mmio_range_reads_the_device() {
    let mut m = Machine::new(&[0xF3, 0x66, 0x6F], 0xFEB0_0000); // rep outsw (32-bit code)
    let mut v = flat32();
    v.gprs[Gpr::Rsi as usize] = 0xFEB0_0020;
    v.gprs[Gpr::Rcx as usize] = 2;
    assert!(m.run(&mut v, 2, IoDirection::Out, 0x7C03));
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(*m.port.borrow(), [(2, 0x7720), (2, 0x7722)]);
    assert_eq!(v.rip, 0x7C03);
}

#[test]
fn an_insd_straddling_the_end_of_ram_stores_each_part_where_it_belongs() {
    // RAM ends at 10_0000h; a device decodes the page after it.
    let mut m = Machine::new(&[0x6D], 0x10_0000); // insd (32-bit code)
    let mut v = flat32();
    v.gprs[Gpr::Rdi as usize] = 0xF_FFFE;
    assert!(m.run(&mut v, 4, IoDirection::In, 0x7C01));
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(m.memory.read_bytes::<2>(0xF_FFFE).unwrap(), [0x11, 0x22]);
    assert_eq!(*m.device.borrow(), [(0, 2, 0x4433)]);
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x10_0002);
}
