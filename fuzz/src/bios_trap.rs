//! `bios_trap`: the hypervisor's BIOS trap path, `exits::handle_exit` with a
//! port write to the trap port from a real-mode vCPU in the ROM segment, on
//! a domain built as the hypervisor builds a BIOS guest (the PC/AT board,
//! the BIOS ROM loaded at the reset vector, a floppy, a disk and a CD from
//! the input, the IDE controller sharing the disk and CD with INT 13h).
//!
//! One input is a sequence: traps from any stub (or from elsewhere, or not
//! in real mode), the guest's own port I/O to the devices, writes to guest
//! memory and to the media, keystrokes, and host time passing with the
//! board serviced and interrupts delivered as before each VM entry. A stop
//! (no bootable device, a reset refused) ends the run as it ends the guest.

use crate::bios_handle::SERVICED;
use crate::input::Input;
use crate::media::{block, BiosMedia};
use crate::vcpu::{fill_gprs, real_mode, set_real_segment, FakeVcpu};
use device_model::ByteSink;
use std::cell::RefCell;
use std::rc::Rc;
use vmm_core::domain::Domain;
use vmm_core::exits::{handle_exit, Flow};
use vmm_core::guest_boot::bios::{attach_bios, load_bios};
use vmm_core::guest_config::GuestConfig;
use vmm_core::guest_memory::GuestMemory;
use vmm_core::test_support::{FakeClock, FakeHost, FakeTables};
use vmm_core::vcpu::{IoAccess, IoDirection, SegReg, VmExit, CR0_PE};

/// Guest RAM: 2 MiB, so the BIOS has extended memory to report and copy to.
const RAM_MIB: u64 = 2;
const RAM_SIZE: usize = (RAM_MIB << 20) as usize;
/// Most operations one input runs.
const MAX_OPS: usize = 256;
/// Host time at the start (not on a second boundary).
const START_NS: u64 = 7_000_000_321;

/// Ports the guest itself reaches between traps: the devices the BIOS
/// programs (PICs, PIT, keyboard controller, CMOS, port 92h, VGA, COM1) and
/// the IDE controller, which shares the disk and CD with INT 13h.
const DEVICE_PORTS: [u16; 24] = [
    0x20, 0x21, 0xA0, 0xA1, 0x40, 0x43, 0x60, 0x64, 0x70, 0x71, 0x92, 0x3D4, 0x3D5, 0x3DA, 0x3F8,
    0x3FD, 0x1F0, 0x1F2, 0x1F6, 0x1F7, 0x3F6, 0x170, 0x177, 0xCF9,
];

struct Discard;

impl ByteSink for Discard {
    fn write_byte(&mut self, _: u8) {}
}

/// The guest's RAM with the BIOS loaded, made once: guest memory is
/// `'static`, as the hypervisor's is, so each run gets it back from its
/// domain, and a copy of its first state puts it back before the next run.
struct Ram {
    memory: Option<GuestMemory>,
    pristine: Vec<u8>,
    rom_image: Vec<u8>,
}

thread_local! {
    static RAM: RefCell<Ram> = RefCell::new({
        let mut memory = GuestMemory::new(Box::leak(vec![0u8; RAM_SIZE].into_boxed_slice()));
        let rom_image = load_bios(&mut memory).expect("the BIOS fits in 2 MiB");
        let pristine = memory.ram_mut().to_vec();
        Ram {
            memory: Some(memory),
            pristine,
            rom_image,
        }
    });
}

/// The OUT instruction's offset in `vector`'s ROM stub.
fn trap_ip(vector: u8) -> u16 {
    let entry = firmware::rom::stub_entry(vector);
    (entry..entry + firmware::rom::STUB_SIZE)
        .find(|&ip| {
            firmware::rom::service_at(ip) == Some(firmware::rom::Service::Interrupt(vector))
        })
        .unwrap_or(entry)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (mut memory, rom_image) = RAM.with(|ram| {
        let mut ram = ram.borrow_mut();
        let mut memory = ram.memory.take().expect("one run at a time");
        memory.ram_mut().copy_from_slice(&ram.pristine);
        (memory, ram.rom_image.clone())
    });
    let media = BiosMedia::from_input(&mut input);
    let config = GuestConfig {
        mem_mib: RAM_MIB,
        bios: true,
        boot_order: media.boot_order.clone(),
        ..GuestConfig::default()
    };
    // Host time, shared by the host and the board's clock: it moves when
    // the input says so, and a little with each TSC read.
    let host = FakeHost::default();
    host.tsc.set(START_NS);
    // Data the guest left in RAM before the first trap (a boot sector, the
    // buffers and tables of its calls).
    while input.u8() & 1 != 0 {
        let gpa = u64::from(input.u32()) % RAM_SIZE as u64;
        let len = usize::from(input.u16() % 1024);
        let _ = memory.write(gpa, input.bytes(len));
    }
    let mut dom = Domain::new(
        1,
        config,
        memory,
        Box::new(FakeTables::default()),
        Box::new(Discard),
        Rc::new(FakeClock(host.tsc.clone())),
        u64::from(input.u32()),
    )
    .expect("the board builds");
    dom.rom_image = rom_image;
    attach_bios(
        &mut dom,
        vmm_core::guest_boot::bios::BiosMedia {
            disks: media.disk.as_ref().map(block).into_iter().collect(),
            cdrom: media.cd.as_ref().map(block),
            floppy: media.floppy.as_ref().map(block),
        },
        Box::new(Discard),
    );
    let mut vcpu = real_mode(firmware::rom::ROM_SEGMENT, firmware::rom::POST_ENTRY);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let flow = match input.u8() % 8 {
            0..=2 => trap(&mut input, &mut vcpu, &mut dom, &host),
            3 => {
                let gpa = u64::from(input.u32()) % (RAM_SIZE as u64 + 0x1000);
                let len = usize::from(input.u16() % 1024);
                let _ = dom.memory.write(gpa, input.bytes(len));
                Flow::Continue
            }
            4 => {
                media.patch(&mut input);
                Flow::Continue
            }
            5 => {
                for _ in 0..input.u8() % 8 {
                    dom.board.console_byte(input.u8());
                }
                Flow::Continue
            }
            6 => {
                // Time passes; the run loop's work before the next entry.
                host.tsc.set(host.tsc.get() + u64::from(input.u32()) * 1000);
                dom.board.service(&mut dom.io, &mut dom.memory);
                dom.board.poll(host.tsc.get());
                let _ = vmm_core::interrupts::deliver(&mut vcpu, &mut dom.board);
                Flow::Continue
            }
            _ => port_io(&mut input, &mut vcpu, &mut dom, &host),
        };
        if let Flow::Stop(_) = flow {
            break;
        }
    }
    // Take the guest's RAM back for the next run.
    let Domain { memory, .. } = dom;
    RAM.with(|ram| ram.borrow_mut().memory = Some(memory));
}

/// A trap: the vCPU at a ROM stub's OUT (or POST's, or anywhere), with the
/// registers and segments a guest calls with, and the exit it causes.
fn trap(input: &mut Input, vcpu: &mut FakeVcpu, dom: &mut Domain, host: &FakeHost) -> Flow {
    let how = input.u8();
    let ip = match how & 7 {
        0 => firmware::rom::POST_ENTRY,
        1 => input.u16(),
        2 => trap_ip(input.u8()),
        _ => trap_ip(SERVICED[usize::from(input.u8()) % SERVICED.len()]),
    };
    let cs = if how & 8 != 0 {
        input.u16()
    } else {
        firmware::rom::ROM_SEGMENT
    };
    *vcpu = real_mode(cs, ip);
    if how & 16 != 0 {
        vcpu.cr.cr0 |= CR0_PE;
    }
    fill_gprs(vcpu, input);
    vcpu.rflags = 2 | u64::from(input.u16() & 0x0DD5);
    for seg in [SegReg::Ds, SegReg::Es, SegReg::Ss] {
        set_real_segment(vcpu, seg, input.u16());
    }
    let next_rip = (how & 32 == 0).then_some(u64::from(ip) + 2);
    let (direction, string) = match how >> 6 {
        3 => (IoDirection::In, input.bool()),
        2 => (IoDirection::Out, true),
        _ => (IoDirection::Out, false),
    };
    let exit = VmExit::Io(IoAccess {
        port: pc_layout::ports::BIOS_TRAP,
        size: input.choose(&[1, 1, 2, 4]),
        direction,
        string,
        rep: false,
        next_rip,
    });
    handle_exit(vcpu, dom, exit, host)
}

/// An IN or OUT of the guest's own to a device port.
fn port_io(input: &mut Input, vcpu: &mut FakeVcpu, dom: &mut Domain, host: &FakeHost) -> Flow {
    let port = input.choose(&DEVICE_PORTS);
    let size = input.choose(&[1, 1, 2, 4]);
    let direction = if input.bool() {
        IoDirection::Out
    } else {
        IoDirection::In
    };
    vcpu.gprs[0] = u64::from(input.u32());
    let next_rip = vcpu.rip + 1;
    handle_exit(
        vcpu,
        dom,
        VmExit::Io(IoAccess {
            port,
            size,
            direction,
            string: false,
            rep: false,
            next_rip: Some(next_rip),
        }),
        host,
    )
}
