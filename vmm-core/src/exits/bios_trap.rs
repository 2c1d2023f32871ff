//! The hypervisor's side of the emulated BIOS (`firmware`): recognising a
//! trap from a ROM stub, handing the service the guest's registers, memory and
//! devices, and carrying out what it asks next (return, wait, boot, halt).

use super::bios_stop::BiosStop;
use super::flow::Flow;
use super::stop::StopReason;
use crate::domain::Domain;
use crate::guest_memory::GuestMemory;
use crate::vcpu::{Gpr, IoAccess, SegReg, Segment, Vcpu, CR0_PE};
use device_model::bus::PortIoBus;
use firmware::rom::{self, Service, ROM_SEGMENT};
use firmware::{BiosPlatform, Next, RealMemory, Regs};

/// Real-mode attributes: present read/write data, present execute/read code.
const REAL_DATA: u16 = 0x93;
const REAL_CODE: u16 = 0x9B;
/// Stack a booted program starts with (0000:7C00, just below the boot sector).
const BOOT_STACK: u64 = 0x7C00;

/// Guest memory at real-mode linear addresses.
struct RealModeMemory<'a>(&'a mut GuestMemory);

impl RealMemory for RealModeMemory<'_> {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool {
        self.0.read(u64::from(addr), buf).is_ok()
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        self.0.write(u64::from(addr), data).is_ok()
    }
}

/// The devices, through the same port bus the guest uses.
struct BusPlatform<'a> {
    io: &'a mut PortIoBus,
    ram_size: u64,
    now_ns: u64,
}

impl BiosPlatform for BusPlatform<'_> {
    fn port_in(&mut self, port: u16) -> u8 {
        self.io.read(port, 1) as u8
    }

    fn port_out(&mut self, port: u16, value: u8) {
        self.io.write(port, 1, u32::from(value));
    }

    fn ram_size(&self) -> u64 {
        self.ram_size
    }

    fn now_ns(&self) -> u64 {
        self.now_ns
    }
}

fn real_segment(selector: u16, attrs: u16) -> Segment {
    Segment {
        selector,
        attrs,
        limit: 0xFFFF,
        base: u64::from(selector) << 4,
    }
}

/// Attribute bit 7: present. A segment the guest made unusable (a null
/// selector loaded in protected mode) reads as not present.
const ATTR_PRESENT: u16 = 1 << 7;

/// `old` once the BIOS loaded `selector` into it in real mode, as a BIOS in
/// assembly does with `mov es, ax`: the selector and the base change, the
/// limit and attributes stay, an "unreal" 4 GiB limit included (Intel SDM
/// vol. 3A, 10.9.2 "Switching Back to Real-Address Mode": without a reload
/// "execution continues using the descriptor attributes loaded during
/// protected mode", and a real-mode load reloads only the selector and
/// base). An unusable segment becomes the real-mode data segment.
fn real_mode_load(old: Segment, selector: u16) -> Segment {
    if old.attrs & ATTR_PRESENT == 0 {
        return real_segment(selector, REAL_DATA);
    }
    Segment {
        selector,
        base: u64::from(selector) << 4,
        ..old
    }
}

/// The 32-bit view of a register, and writing it back keeping bits 63:32.
fn low(v: u64) -> u32 {
    v as u32
}

fn merge(old: u64, new: u32) -> u64 {
    (old & !0xFFFF_FFFF) | u64::from(new)
}

/// A write to the BIOS trap port: run the service if it came from a ROM stub
/// in real mode; otherwise it is an ordinary write to an unclaimed port.
pub(super) fn handle_trap(vcpu: &mut dyn Vcpu, dom: &mut Domain, io: IoAccess) -> Flow {
    let cs = vcpu.segment(SegReg::Cs);
    let real_mode = vcpu.control_regs().cr0 & CR0_PE == 0;
    let service = (real_mode && cs.base == u64::from(ROM_SEGMENT) << 4)
        .then(|| rom::service_at(vcpu.rip() as u16))
        .flatten();
    // `out imm8, al` is two bytes; RIP wraps as the processor's would.
    let next_rip = io.next_rip.unwrap_or(vcpu.rip().wrapping_add(2));
    let (Some(service), Some(bios)) = (service, dom.bios.as_mut()) else {
        vcpu.set_rip(next_rip);
        return Flow::Continue;
    };

    let g = *vcpu.gprs();
    let ss = vcpu.segment(SegReg::Ss);
    // The FLAGS image the INT pushed, at SS:SP+4 (SP wraps within the segment).
    let flags_at = ss
        .base
        .wrapping_add(g[Gpr::Rsp as usize].wrapping_add(4) & 0xFFFF);
    let is_interrupt = matches!(service, Service::Interrupt(_));
    let memory = RealModeMemory(&mut dom.memory);
    let flags = if is_interrupt {
        memory.read_u16(flags_at as u32)
    } else {
        vcpu.rflags() as u16
    };
    let mut regs = Regs {
        eax: low(g[Gpr::Rax as usize]),
        ebx: low(g[Gpr::Rbx as usize]),
        ecx: low(g[Gpr::Rcx as usize]),
        edx: low(g[Gpr::Rdx as usize]),
        esi: low(g[Gpr::Rsi as usize]),
        edi: low(g[Gpr::Rdi as usize]),
        ebp: low(g[Gpr::Rbp as usize]),
        ds: vcpu.segment(SegReg::Ds).selector,
        es: vcpu.segment(SegReg::Es).selector,
        flags,
    };
    let before = regs;
    let mut platform = BusPlatform {
        io: &mut dom.io,
        ram_size: dom.memory.ram_size(),
        now_ns: dom.board.now_ns(),
    };
    let mut memory = RealModeMemory(&mut dom.memory);
    let next = bios.handle(service, &mut regs, &mut memory, &mut platform);
    if is_interrupt && regs.flags != before.flags {
        memory.write_u16(flags_at as u32, regs.flags);
    }

    let gp = vcpu.gprs_mut();
    for (index, value) in [
        (Gpr::Rax, regs.eax),
        (Gpr::Rbx, regs.ebx),
        (Gpr::Rcx, regs.ecx),
        (Gpr::Rdx, regs.edx),
        (Gpr::Rsi, regs.esi),
        (Gpr::Rdi, regs.edi),
        (Gpr::Rbp, regs.ebp),
    ] {
        gp[index as usize] = merge(gp[index as usize], value);
    }
    for (seg, selector, before) in [
        (SegReg::Ds, regs.ds, before.ds),
        (SegReg::Es, regs.es, before.es),
    ] {
        if selector != before {
            let old = vcpu.segment(seg);
            vcpu.set_segment(seg, real_mode_load(old, selector));
        }
    }

    match next {
        Next::Return => vcpu.set_rip(next_rip),
        Next::WaitAndRetry => match service {
            Service::Interrupt(v) if rom::can_wait(v) => {
                vcpu.set_rip(u64::from(rom::wait_offset(v)))
            }
            // Only waiting stubs can halt and call again; anything else returns.
            _ => vcpu.set_rip(next_rip),
        },
        Next::Boot { cs, ip, dl } => {
            vcpu.set_segment(SegReg::Cs, real_segment(cs, REAL_CODE));
            for seg in [SegReg::Ds, SegReg::Es, SegReg::Ss] {
                vcpu.set_segment(seg, real_segment(0, REAL_DATA));
            }
            let gp = vcpu.gprs_mut();
            gp[Gpr::Rdx as usize] = u64::from(dl);
            gp[Gpr::Rsp as usize] = BOOT_STACK;
            vcpu.set_rip(u64::from(ip));
            vcpu.set_rflags(0x202);
            if dom.log_limits.bios_boot.allow() {
                log::info!(
                    "dom{}: BIOS: booting {cs:04x}:{ip:04x} from drive {dl:#04x}",
                    dom.id
                );
            }
        }
        Next::Halt => {
            for p in &bios.problems {
                log::error!("dom{}: BIOS: {}", dom.id, p.0);
            }
            return Flow::Stop(StopReason::Bios(BiosStop::NoBootableDevice));
        }
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::guest_memory::test_memory;
    use crate::test_support::{FakeClock, FakeTables, FakeVcpu};
    use crate::vcpu::{IoDirection, CR0_PE};
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use core::cell::Cell;

    use crate::test_support::Discard;

    fn bios_domain() -> Domain {
        let clock = Rc::new(FakeClock(Rc::new(Cell::new(0))));
        let mut dom = Domain::new(
            1,
            GuestConfig::default(),
            test_memory(0x10_0000),
            Box::new(FakeTables::default()),
            Box::new(Discard),
            clock,
            0,
        )
        .unwrap();
        dom.bios = Some(firmware::bios::Bios::new(None, None, None, Vec::new()));
        dom
    }

    fn trap_write() -> IoAccess {
        IoAccess {
            port: firmware::rom::TRAP_PORT,
            size: 1,
            direction: IoDirection::Out,
            string: false,
            rep: false,
            next_rip: None,
        }
    }

    #[test]
    fn a_trap_port_write_at_the_top_of_the_address_space_wraps_rip_instead_of_overflowing() {
        let mut dom = bios_domain();
        let mut vcpu = FakeVcpu::default();
        vcpu.cr.cr0 |= CR0_PE;
        vcpu.rip = u64::MAX - 1;
        assert_eq!(
            handle_trap(&mut vcpu, &mut dom, trap_write()),
            Flow::Continue
        );
        assert_eq!(
            vcpu.rip, 0,
            "not a BIOS call: stepped over like any port write"
        );
    }

    /// The ROM offset of the `out` in the stub of interrupt `vector`.
    fn stub_of(vector: u8) -> u64 {
        (rom::STUB_BASE..rom::STUB_BASE + 0x200)
            .find(|ip| rom::service_at(*ip) == Some(Service::Interrupt(vector)))
            .map(u64::from)
            .expect("the vector has a stub")
    }

    #[test]
    fn a_bios_call_returning_es_keeps_its_unreal_limit_and_attributes() {
        let mut dom = bios_domain();
        let floppy = block_backend::MemoryBlock::new(vec![0u8; 1_474_560], true);
        dom.bios = Some(firmware::bios::Bios::new(
            Some(Box::new(floppy)),
            None,
            None,
            Vec::new(),
        ));
        // INT 13h AH=08h on the floppy: ES:DI = the diskette parameter table.
        let mut vcpu = FakeVcpu::at(u64::from(ROM_SEGMENT) << 4, stub_of(0x13));
        vcpu.gprs[Gpr::Rax as usize] = 0x0800;
        vcpu.gprs[Gpr::Rsp as usize] = 0x7000;
        // ES and DS left "unreal" by a trip through protected mode: 4 GiB,
        // page-granular, 32-bit read/write data.
        let unreal = Segment {
            selector: 0,
            attrs: 0xC93,
            limit: 0xFFFF_FFFF,
            base: 0,
        };
        vcpu.segments[SegReg::Es as usize] = unreal;
        vcpu.segments[SegReg::Ds as usize] = unreal;
        assert_eq!(
            handle_trap(&mut vcpu, &mut dom, trap_write()),
            Flow::Continue
        );
        assert_eq!(
            vcpu.segments[SegReg::Es as usize],
            Segment {
                selector: ROM_SEGMENT,
                base: u64::from(ROM_SEGMENT) << 4,
                ..unreal
            },
            "a real-mode load changes the selector and base only"
        );
        assert_eq!(
            vcpu.segments[SegReg::Ds as usize],
            unreal,
            "DS, untouched by the service, is not rewritten"
        );
    }

    #[test]
    fn a_real_mode_load_into_an_unusable_segment_makes_a_real_mode_data_segment() {
        let unusable = Segment {
            selector: 0,
            attrs: 0,
            limit: 0,
            base: 0,
        };
        assert_eq!(
            real_mode_load(unusable, 0xF000),
            real_segment(0xF000, REAL_DATA)
        );
    }

    #[test]
    fn a_bios_call_with_stale_upper_rsp_bits_reads_flags_wrapped_within_ss() {
        let mut dom = bios_domain();
        // The BDA's base memory size, which INT 12h returns.
        dom.memory.write(0x413, &639u16.to_le_bytes()).unwrap();
        // INT 12h (memory size): a service that returns at once.
        let stub = (rom::STUB_BASE..rom::STUB_BASE + 0x200)
            .find(|ip| rom::service_at(*ip) == Some(Service::Interrupt(0x12)))
            .map(u64::from)
            .expect("INT 12h has a stub");
        let mut vcpu = FakeVcpu::at(u64::from(ROM_SEGMENT) << 4, stub);
        // Real mode uses SP only; stale upper bits (left by a mode switch) must
        // not overflow the FLAGS address, which is SS:(SP+4) mod 64 KiB.
        vcpu.gprs[Gpr::Rsp as usize] = u64::MAX - 1;
        assert_eq!(
            handle_trap(&mut vcpu, &mut dom, trap_write()),
            Flow::Continue
        );
        assert_eq!(vcpu.gprs[Gpr::Rax as usize] & 0xFFFF, 639, "INT 12h ran");
    }
}
