//! Exit dispatch on the host, through a fake vCPU and real devices.

use super::{handle_exit, BiosStop, Flow, StopReason};
use crate::domain::Domain;
use crate::guest_config::GuestConfig;
use crate::guest_memory::test_memory;
use crate::test_support::{FakeClock, FakeHost, FakeTables, FakeVcpu};
use crate::vcpu::{vector, Gpr, IoAccess, IoDirection, SegReg, Vcpu, VmExit, RFLAGS_DF};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use device_model::ByteSink;

struct Capture(Rc<RefCell<Vec<u8>>>);
impl ByteSink for Capture {
    fn write_byte(&mut self, b: u8) {
        self.0.borrow_mut().push(b);
    }
}

/// A domain with 1 MiB of RAM whose COM1 output is captured.
fn domain() -> (Domain, Rc<RefCell<Vec<u8>>>) {
    let out = Rc::new(RefCell::new(Vec::new()));
    let clock = Rc::new(FakeClock(Rc::new(core::cell::Cell::new(0))));
    let dom = Domain::new(
        1,
        GuestConfig::default(),
        test_memory(0x10_0000),
        Box::new(FakeTables::default()),
        Box::new(Capture(out.clone())),
        clock,
        0,
    )
    .unwrap();
    (dom, out)
}

fn io(
    port: u16,
    size: u8,
    direction: IoDirection,
    string: bool,
    rep: bool,
    next_rip: u64,
) -> VmExit {
    VmExit::Io(IoAccess {
        port,
        size,
        direction,
        string,
        rep,
        next_rip: Some(next_rip),
    })
}

#[test]
fn out_dx_al_writes_only_the_low_byte_to_com1() {
    let (mut dom, out) = domain();
    let mut v = FakeVcpu::default();
    v.gprs[Gpr::Rax as usize] = 0x1234_5641;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x3F8, 1, IoDirection::Out, false, false, 0x77),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(&*out.borrow(), b"A");
    assert_eq!(v.rip, 0x77);
}

#[test]
fn in_al_keeps_the_rest_of_rax_and_in_eax_zero_extends() {
    let (mut dom, _) = domain();
    let mut v = FakeVcpu::default();
    v.gprs[Gpr::Rax as usize] = 0xFFFF_FFFF_FFFF_FFFF;
    handle_exit(
        &mut v,
        &mut dom,
        io(0x3FD, 1, IoDirection::In, false, false, 1),
        &FakeHost::default(),
    );
    assert_eq!(
        v.gprs[Gpr::Rax as usize],
        0xFFFF_FFFF_FFFF_FF60,
        "LSR = THRE|TEMT"
    );
    handle_exit(
        &mut v,
        &mut dom,
        io(0x1234, 4, IoDirection::In, false, false, 2),
        &FakeHost::default(),
    );
    assert_eq!(
        v.gprs[Gpr::Rax as usize],
        0xFFFF_FFFF,
        "unclaimed dword read, zero-extended"
    );
}

#[test]
fn cpuid_fills_four_registers_and_skips_the_decoded_instruction() {
    let (mut dom, _) = domain();
    dom.memory.write(0x7C00, &[0x0F, 0xA2]).unwrap(); // cpuid
    let mut v = FakeVcpu::at(0, 0x7C00);
    let flow = handle_exit(&mut v, &mut dom, VmExit::Cpuid, &FakeHost::default());
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.rip, 0x7C02);
    assert_eq!(v.gprs[Gpr::Rbx as usize], 0x6874_7541);
}

#[test]
fn unknown_msr_read_raises_gp_without_moving_rip() {
    let (mut dom, _) = domain();
    dom.memory.write(0x100, &[0x0F, 0x32]).unwrap(); // rdmsr
    let mut v = FakeVcpu::at(0, 0x100);
    v.gprs[Gpr::Rcx as usize] = 0xABC;
    handle_exit(&mut v, &mut dom, VmExit::MsrRead, &FakeHost::default());
    assert_eq!(v.rip, 0x100);
    assert_eq!(v.injected[0].vector, vector::GP);
}

#[test]
fn local_apic_msrs_reach_the_boards_apic_and_its_refusals_are_gp() {
    let (mut dom, _) = domain();
    dom.memory.write(0x100, &[0x0F, 0x32]).unwrap(); // rdmsr
    let mut v = FakeVcpu::at(0, 0x100);
    v.gprs[Gpr::Rcx as usize] = 0x1B;
    handle_exit(&mut v, &mut dom, VmExit::MsrRead, &FakeHost::default());
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(v.rip, 0x102);
    // Base FEE00000h, enabled, BSP (Intel SDM vol. 3A, 12.4.4).
    assert_eq!(v.gprs[Gpr::Rax as usize], 0xFEE0_0900);
    // An x2APIC register while the APIC is in xAPIC mode: #GP.
    let mut v = FakeVcpu::at(0, 0x100);
    v.gprs[Gpr::Rcx as usize] = 0x802;
    handle_exit(&mut v, &mut dom, VmExit::MsrRead, &FakeHost::default());
    assert_eq!((v.rip, v.injected[0].vector), (0x100, vector::GP));
}

#[test]
fn rep_outsb_sends_the_whole_string_in_one_exit() {
    let (mut dom, out) = domain();
    dom.memory.write(0x500, b"hello").unwrap();
    dom.memory.write(0x7C00, &[0xF3, 0x6E]).unwrap(); // rep outsb
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.gprs[Gpr::Rsi as usize] = 0x500;
    v.gprs[Gpr::Rcx as usize] = 5;
    v.gprs[Gpr::Rdx as usize] = 0x3F8;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x3F8, 1, IoDirection::Out, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(&*out.borrow(), b"hello");
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0);
    assert_eq!(v.gprs[Gpr::Rsi as usize], 0x505);
    assert_eq!(v.rip, 0x7C02);
}

#[test]
fn rep_insw_fills_memory_at_es_di_and_respects_the_direction_flag() {
    let (mut dom, _) = domain();
    dom.memory.write(0x7C00, &[0xF3, 0x6D]).unwrap(); // rep insw
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.set_segment(SegReg::Es, 0x2000);
    v.gprs[Gpr::Rdi as usize] = 0x10;
    v.gprs[Gpr::Rcx as usize] = 3;
    v.rflags |= RFLAGS_DF;
    // nothing claims port 0x1234: every word reads as FFFFh
    handle_exit(
        &mut v,
        &mut dom,
        io(0x1234, 2, IoDirection::In, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x10 - 6);
    assert_eq!(
        dom.memory.read_bytes::<8>(0x200A).unwrap(),
        [0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    assert_eq!(dom.memory.read_bytes::<2>(0x2010).unwrap(), [0xFF, 0xFF]);
}

#[test]
fn sixteen_bit_pointers_wrap_within_the_segment() {
    let (mut dom, out) = domain();
    dom.memory.write(0xFFFF, b"a").unwrap();
    dom.memory.write(0x0000, b"b").unwrap();
    dom.memory.write(0x7C00, &[0xF3, 0x6E]).unwrap();
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.gprs[Gpr::Rsi as usize] = 0xABCD_FFFF;
    v.gprs[Gpr::Rcx as usize] = 2;
    handle_exit(
        &mut v,
        &mut dom,
        io(0x3F8, 1, IoDirection::Out, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert_eq!(&*out.borrow(), b"ab");
    assert_eq!(
        v.gprs[Gpr::Rsi as usize],
        0xABCD_0001,
        "upper bits kept, SI wrapped"
    );
}

#[test]
fn a_huge_rep_count_is_split_across_exits_without_moving_rip() {
    let (mut dom, _) = domain();
    dom.memory.write(0x7C00, &[0x66, 0xF3, 0x6D]).unwrap(); // rep insd (16-bit code)
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.gprs[Gpr::Rcx as usize] = 0xFFFF;
    handle_exit(
        &mut v,
        &mut dom,
        io(0x1234, 4, IoDirection::In, true, true, 0x7C03),
        &FakeHost::default(),
    );
    // 65535 dwords fit under the per-exit bound: finished in one go
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0);
    assert_eq!(v.rip, 0x7C03);
}

#[test]
fn string_io_into_unbacked_memory_is_dropped_as_unclaimed_mmio_and_the_guest_goes_on() {
    let (mut dom, _) = domain();
    dom.memory.write(0x7C00, &[0xF3, 0x6C]).unwrap(); // rep insb
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.set_segment(SegReg::Es, 0xF_FFF0);
    v.gprs[Gpr::Rdi as usize] = 0xFFFF;
    v.gprs[Gpr::Rcx as usize] = 4;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x1234, 1, IoDirection::In, true, true, 0x7C02),
        &FakeHost::default(),
    );
    // ES:FFFFh is 10_FFEFh, past the 1 MiB of RAM: the MMIO bus drops the
    // byte as nobody claims it (nothing lands at FFEFh either); DI then wraps
    // to 0 and the other three bytes land in RAM at ES:0000h.
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(dom.memory.read_bytes::<1>(0xFFEF).unwrap(), [0]);
    assert_eq!(
        dom.memory.read_bytes::<4>(0xF_FFF0).unwrap(),
        [0xFF, 0xFF, 0xFF, 0]
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 3);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0);
    assert_eq!(v.rip, 0x7C02);
}

#[test]
fn hlt_with_interrupts_off_stops_cleanly_and_a_triple_fault_does_not() {
    let (mut dom, _) = domain();
    let mut v = FakeVcpu::default();
    assert_eq!(
        handle_exit(&mut v, &mut dom, VmExit::Hlt, &FakeHost::default()),
        Flow::Stop(StopReason::HaltedForever)
    );
    assert!(StopReason::HaltedForever.is_clean());
    assert!(!StopReason::TripleFault.is_clean());
    assert!(StopReason::TripleFault.shows_guest_state());
    assert!(!StopReason::Bios(BiosStop::NoBootableDevice).shows_guest_state());
    assert!(!StopReason::HaltedForever.shows_guest_state());
}

#[test]
fn virtualization_instructions_raise_ud() {
    let (mut dom, _) = domain();
    let mut v = FakeVcpu::default();
    let flow = handle_exit(
        &mut v,
        &mut dom,
        VmExit::VirtInstruction(crate::vcpu::VirtInstruction::Vmrun),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.injected[0].vector, vector::UD);
}

#[test]
fn the_test_exit_port_ends_the_run_with_the_written_status() {
    let (mut dom, _) = domain();
    let mut v = FakeVcpu::default();
    v.gprs[Gpr::Rax as usize] = 3;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x501, 1, IoDirection::Out, false, false, 1),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Stop(StopReason::ExitRequested(3)));
    let _ = v.rip();
}

/// A long-mode vCPU whose 4-level tables map linear 40_0000h.. (4 KiB pages)
/// to physical 8_0000h.., with code at linear 40_0000h.
fn paged_vcpu(dom: &mut Domain) -> FakeVcpu {
    let put = |dom: &mut Domain, gpa: u64, v: u64| dom.memory.write(gpa, &v.to_le_bytes()).unwrap();
    put(dom, 0x1000, 0x2000 | 7);
    put(dom, 0x2000, 0x3000 | 7);
    put(dom, 0x3010, 0x4000 | 7);
    put(dom, 0x4000, 0x8_0000 | 7);
    put(dom, 0x4008, 0x8_1000 | 7);
    let mut v = FakeVcpu::default();
    v.cr.cr0 = 0x8000_0011;
    v.cr.cr3 = 0x1000;
    v.cr.cr4 = 1 << 5;
    v.cr.efer = (1 << 8) | (1 << 10);
    v.segments[1] = crate::vcpu::Segment {
        selector: 8,
        attrs: 0x29B,
        limit: 0xFFFF_FFFF,
        base: 0,
    };
    v.rip = 0x40_0000;
    v
}

#[test]
fn string_io_walks_the_guest_page_tables() {
    let (mut dom, out) = domain();
    let mut v = paged_vcpu(&mut dom);
    dom.memory.write(0x8_0000, &[0xF3, 0x6E]).unwrap(); // rep outsb, at linear 40_0000h
    dom.memory.write(0x8_1FFE, b"pg").unwrap(); // linear 40_1FFEh
    v.gprs[Gpr::Rsi as usize] = 0x40_1FFE;
    v.gprs[Gpr::Rcx as usize] = 2;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x3F8, 1, IoDirection::Out, true, true, 0x40_0002),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(&*out.borrow(), b"pg");
    assert_eq!(v.rip, 0x40_0002);
}

#[test]
fn string_io_into_an_unmapped_page_raises_pf_with_cr2_after_the_elements_done() {
    let (mut dom, out) = domain();
    let mut v = paged_vcpu(&mut dom);
    dom.memory.write(0x8_0000, &[0xF3, 0x6E]).unwrap();
    dom.memory.write(0x8_1FFF, b"x").unwrap();
    v.gprs[Gpr::Rsi as usize] = 0x40_1FFF; // the second byte is on the unmapped page 40_2000h
    v.gprs[Gpr::Rcx as usize] = 2;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(0x3F8, 1, IoDirection::Out, true, true, 0x40_0002),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(&*out.borrow(), b"x");
    assert_eq!(v.injected[0].vector, vector::PF);
    assert_eq!(
        v.injected[0].error_code,
        Some(0),
        "read of a not-present page at CPL 0"
    );
    assert_eq!(v.cr.cr2, 0x40_2000);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 1);
    assert_eq!(v.rip, 0x40_0000, "the instruction restarts after the fault");
}

#[test]
fn a_halted_guest_is_woken_by_the_pit_through_the_pic() {
    use crate::interrupts::InterruptController;
    use crate::run_loop::run_vcpu;
    use crate::vcpu::RFLAGS_IF;
    let host = FakeHost::default();
    let out = Rc::new(RefCell::new(Vec::new()));
    let clock = Rc::new(FakeClock(host.tsc.clone()));
    let mut dom = Domain::new(
        1,
        GuestConfig::default(),
        test_memory(0x10_0000),
        Box::new(FakeTables::default()),
        Box::new(Capture(out)),
        clock,
        0,
    )
    .unwrap();
    // The BIOS's PIC set-up: master at vector 08h, only IRQ0 unmasked.
    for (port, value) in [
        (0x20, 0x11),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x01),
        (0x21, 0xFE),
    ] {
        dom.io.write(port, 1, value);
    }
    // PIT channel 0, mode 2, 1 ms period.
    for (port, value) in [(0x43, 0x34), (0x40, 1193 & 0xFF), (0x40, 1193 >> 8)] {
        dom.io.write(port, 1, value);
    }
    // Programming the PIT raises its output once: take that interrupt and EOI it.
    dom.board.poll(0);
    assert!(dom.board.has_interrupt());
    assert_eq!(dom.board.acknowledge(), 0x08);
    dom.io.write(0x20, 1, 0x20);

    dom.memory.write(0x7C00, &[0xF4]).unwrap(); // hlt
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.rflags |= RFLAGS_IF;
    v.exits = alloc::vec![VmExit::Hlt, VmExit::Shutdown];
    let reason = run_vcpu(&mut v, &mut dom, &host);
    assert_eq!(reason, StopReason::TripleFault);
    assert_eq!(v.rip, 0x7C01, "HLT was skipped");
    assert_eq!(
        v.interrupts,
        [0x08],
        "IRQ0 delivered as vector 08h after the halt"
    );
    assert!(
        host.tsc.get() >= 1_000_000,
        "the vCPU slept until the PIT fired: {} ns",
        host.tsc.get()
    );
}

/// Drives the whole emulated PC with pseudo-random port accesses (weighted to
/// the ports devices claim), advancing time, sampling interrupts and
/// acknowledging them: nothing may panic, whatever a guest writes.
#[test]
fn random_port_traffic_over_the_whole_platform_never_panics() {
    use crate::interrupts::InterruptController;
    let (mut dom, _) = domain();
    let claimed: [u16; 24] = [
        0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x40, 0x43, 0x61, 0x70, 0x71, 0x60, 0x64, 0x92, 0x3F8,
        0x2F8, 0xCF8, 0xCFC, 0x3D4, 0x3C0, 0x80, 0x1F0, 0x170, 0x3F6, 0xC000,
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut now = 0;
    for i in 0..200_000u64 {
        let r = next();
        let port = if r & 1 == 0 {
            claimed[(r >> 8) as usize % claimed.len()].wrapping_add((r >> 16) as u16 % 8)
        } else {
            (r >> 16) as u16
        };
        let size = [1u8, 2, 4][(r >> 40) as usize % 3];
        if r & 2 == 0 {
            dom.io.write(port, size, (r >> 32) as u32);
        } else {
            let v = dom.io.read(port, size);
            assert!(
                size == 4 || v >> (8 * u32::from(size)) == 0,
                "a {size}-byte read returned {v:#x}"
            );
        }
        if i % 64 == 0 {
            dom.board.service(&mut dom.io, &mut dom.memory);
            now += next() % 5_000_000;
            dom.board.poll(now);
            if dom.board.has_interrupt() {
                let _ = dom.board.acknowledge();
            }
            let _ = dom.board.next_deadline(now);
        }
    }
}

#[test]
fn an_mmio_load_reads_all_ones_from_unclaimed_space_and_moves_on() {
    let (mut dom, _) = domain();
    // mov eax, [dword 0x200000] (16-bit code with operand- and address-size
    // prefixes); the domain has 1 MiB of RAM, so no RAM backs the address
    dom.memory
        .write(0x7C00, &[0x66, 0x67, 0xA1, 0x00, 0x00, 0x20, 0x00])
        .unwrap();
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.segments[3].limit = 0xFFFF_FFFF; // "unreal mode": DS reaches past 64 KiB
    let flow = handle_exit(
        &mut v,
        &mut dom,
        VmExit::NestedPageFault {
            gpa: 0x20_0000,
            write: false,
            fetch: false,
        },
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.gprs[Gpr::Rax as usize], 0xFFFF_FFFF);
    assert_eq!(v.rip, 0x7C07);
}

#[test]
fn an_mmio_access_by_an_unsupported_instruction_raises_ud() {
    let (mut dom, _) = domain();
    // fild word [0x8000]: x87 loads are not emulated
    dom.memory.write(0x7C00, &[0xDF, 0x06, 0x00, 0x80]).unwrap();
    let mut v = FakeVcpu::at(0, 0x7C00);
    let flow = handle_exit(
        &mut v,
        &mut dom,
        VmExit::NestedPageFault {
            gpa: 0x20_0000,
            write: false,
            fetch: false,
        },
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.injected[0].vector, vector::UD);
    assert_eq!(v.rip, 0x7C00);
}

/// How many times a [`PortProbe`] was read.
type ReadCount = Rc<core::cell::Cell<u32>>;
/// What a [`PortProbe`] was written: (size, value).
type WriteLog = Rc<RefCell<Vec<(u8, u32)>>>;

/// A port device for the string I/O tests: every read returns `value` (cut to
/// the access size by the bus) and is counted; writes are recorded as
/// (size, value).
struct PortProbe {
    value: u32,
    reads: ReadCount,
    writes: WriteLog,
}

impl device_model::bus::PortIoDevice for PortProbe {
    fn read(&mut self, _offset: u16, _size: u8) -> u32 {
        self.reads.set(self.reads.get() + 1);
        self.value
    }
    fn write(&mut self, _offset: u16, size: u8, value: u32) {
        self.writes.borrow_mut().push((size, value));
    }
}

/// The port the string I/O tests' [`PortProbe`] answers on.
const PROBE_PORT: u16 = 0x5A0;

/// Puts a [`PortProbe`] reading `value` on [`PROBE_PORT`]; returns its read
/// count and its write log.
fn probe(dom: &mut Domain, value: u32) -> (ReadCount, WriteLog) {
    let reads = Rc::new(core::cell::Cell::new(0));
    let writes = Rc::new(RefCell::new(Vec::new()));
    dom.io
        .register(
            PROBE_PORT,
            1,
            Box::new(PortProbe {
                value,
                reads: reads.clone(),
                writes: writes.clone(),
            }),
        )
        .unwrap();
    (reads, writes)
}

/// [`paged_vcpu`] plus linear 40_2000h mapped to physical 9_0000h, which is not
/// adjacent to 8_1000h (where linear 40_1000h lives); linear 40_3000h stays
/// not present.
fn paged_vcpu_with_split_pages(dom: &mut Domain) -> FakeVcpu {
    let v = paged_vcpu(dom);
    dom.memory
        .write(0x4010, &(0x9_0000u64 | 7).to_le_bytes())
        .unwrap();
    v
}

#[test]
fn outsd_across_a_page_boundary_reads_the_second_page_through_its_own_translation() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_0000, &[0x6F]).unwrap(); // outsd (64-bit code)
    dom.memory.write(0x8_1FFE, &[0x01, 0x02]).unwrap(); // linear 40_1FFEh
    dom.memory.write(0x8_2000, &[0xEE, 0xEE]).unwrap(); // physically next: not linear 40_2000h
    dom.memory.write(0x9_0000, &[0x03, 0x04]).unwrap(); // linear 40_2000h
    v.gprs[Gpr::Rsi as usize] = 0x40_1FFE;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 4, IoDirection::Out, true, false, 0x40_0001),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(*writes.borrow(), [(4, 0x0403_0201)]);
    assert_eq!(v.gprs[Gpr::Rsi as usize], 0x40_2002);
    assert_eq!(v.rip, 0x40_0001);
}

#[test]
fn insw_across_a_page_boundary_writes_the_second_page_through_its_own_translation() {
    let (mut dom, _) = domain();
    probe(&mut dom, 0x4433_BBAA);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_0000, &[0x66, 0x6D]).unwrap(); // insw (64-bit code)
    v.gprs[Gpr::Rdi as usize] = 0x40_1FFF;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 2, IoDirection::In, true, false, 0x40_0002),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(dom.memory.read_bytes::<1>(0x8_1FFF).unwrap(), [0xAA]);
    assert_eq!(dom.memory.read_bytes::<1>(0x9_0000).unwrap(), [0xBB]);
    assert_eq!(
        dom.memory.read_bytes::<1>(0x8_2000).unwrap(),
        [0],
        "nothing written physically after the first page"
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x40_2001);
    assert_eq!(v.rip, 0x40_0002);
}

#[test]
fn rep_insd_reaching_a_not_present_page_mid_element_faults_with_cr2_at_that_page() {
    let (mut dom, _) = domain();
    let (reads, _) = probe(&mut dom, 0x4433_2211);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    // rep insd (64-bit code)
    dom.memory.write(0x8_0000, &[0xF3, 0x6D]).unwrap();
    // element 0 at 40_2FFAh..40_2FFDh; element 1 at 40_2FFEh..40_3001h
    // reaches the not-present page 40_3000h
    v.gprs[Gpr::Rdi as usize] = 0x40_2FFA;
    v.gprs[Gpr::Rcx as usize] = 3;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 4, IoDirection::In, true, true, 0x40_0002),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.injected.len(), 1);
    assert_eq!(v.injected[0].vector, vector::PF);
    assert_eq!(
        v.injected[0].error_code,
        Some(crate::page_walk::pf::W),
        "write to a not-present page at CPL 0"
    );
    assert_eq!(
        v.cr.cr2, 0x40_3000,
        "the first byte that could not be reached"
    );
    assert_eq!(
        dom.memory.read_bytes::<4>(0x9_0FFA).unwrap(),
        [0x11, 0x22, 0x33, 0x44]
    );
    assert_eq!(
        dom.memory.read_bytes::<2>(0x9_0FFE).unwrap(),
        [0, 0],
        "the faulting element is not written in part"
    );
    assert_eq!(
        dom.memory.read_bytes::<4>(0x9_1000).unwrap(),
        [0; 4],
        "nor physically contiguous past its page"
    );
    assert_eq!(
        reads.get(),
        1,
        "the port is not read for the element that faults"
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x40_2FFE);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 2);
    assert_eq!(v.rip, 0x40_0000, "the instruction restarts after the fault");
}

#[test]
fn rep_outsw_reaching_a_not_present_page_mid_element_faults_as_a_read() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_0000, &[0xF3, 0x66, 0x6F]).unwrap(); // rep outsw (64-bit code)
    dom.memory.write(0x9_0FFD, &[0x11, 0x22]).unwrap();
    v.gprs[Gpr::Rsi as usize] = 0x40_2FFD;
    v.gprs[Gpr::Rcx as usize] = 5;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 2, IoDirection::Out, true, true, 0x40_0003),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(*writes.borrow(), [(2, 0x2211)]);
    assert_eq!(v.injected[0].vector, vector::PF);
    assert_eq!(
        v.injected[0].error_code,
        Some(0),
        "read, not present, CPL 0"
    );
    assert_eq!(v.cr.cr2, 0x40_3000);
    assert_eq!(v.gprs[Gpr::Rsi as usize], 0x40_2FFF);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 4);
    assert_eq!(v.rip, 0x40_0000);
}

#[test]
fn ins_in_64_bit_mode_ignores_the_es_base() {
    let (mut dom, _) = domain();
    probe(&mut dom, 0x5A);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_0000, &[0x6C]).unwrap(); // insb (64-bit code)
    v.set_segment(SegReg::Es, 0x1000); // a stale base: linear 40_2000h if it counted
    v.gprs[Gpr::Rdi as usize] = 0x40_1000;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, false, 0x40_0001),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(dom.memory.read_bytes::<1>(0x8_1000).unwrap(), [0x5A]);
    assert_eq!(dom.memory.read_bytes::<1>(0x9_0000).unwrap(), [0]);
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x40_1001);
}

#[test]
fn outs_in_64_bit_mode_ignores_the_ds_base_and_applies_an_fs_or_gs_override_base() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_1000, b"abc").unwrap(); // linear 40_1000h
    dom.memory.write(0x9_0000, b"xyz").unwrap(); // linear 40_2000h
    v.set_segment(SegReg::Ds, 0x1000);
    v.set_segment(SegReg::Fs, 0x40_0000);
    v.set_segment(SegReg::Gs, 0x40_1000);
    // outsb; fs outsb; gs outsb (64-bit code), each run from its own RIP
    dom.memory
        .write(0x8_0000, &[0x6E, 0x64, 0x6E, 0x65, 0x6E])
        .unwrap();
    for (rip, rsi, next) in [
        (0x40_0000, 0x40_1000, 0x40_0001),
        (0x40_0001, 0x1001, 0x40_0003),
        (0x40_0003, 0x1002, 0x40_0005),
    ] {
        v.rip = rip;
        v.gprs[Gpr::Rsi as usize] = rsi;
        let flow = handle_exit(
            &mut v,
            &mut dom,
            io(PROBE_PORT, 1, IoDirection::Out, true, false, next),
            &FakeHost::default(),
        );
        assert_eq!(flow, Flow::Continue);
        assert!(v.injected.is_empty(), "{:?}", v.injected);
        assert_eq!(v.rip, next);
    }
    assert_eq!(
        *writes.borrow(),
        [
            (1, u32::from(b'a')),
            (1, u32::from(b'b')),
            (1, u32::from(b'z'))
        ],
        "DS base ignored, FS base 40_0000h and GS base 40_1000h applied"
    );
}

#[test]
fn ins_to_a_non_canonical_address_raises_gp_and_touches_nothing() {
    let (mut dom, _) = domain();
    let (reads, _) = probe(&mut dom, 0x5A);
    let mut v = paged_vcpu_with_split_pages(&mut dom);
    dom.memory.write(0x8_0000, &[0xF3, 0x6C]).unwrap(); // rep insb (64-bit code)
                                                        // bits 63:48 do not copy bit 47: the walker alone would use PML4 entry 0
    v.gprs[Gpr::Rdi as usize] = 0x8000_0000_0040_1000;
    v.gprs[Gpr::Rcx as usize] = 2;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, true, 0x40_0002),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.injected[0].vector, vector::GP);
    assert_eq!(v.injected[0].error_code, Some(0));
    assert_eq!(reads.get(), 0);
    assert_eq!(dom.memory.read_bytes::<1>(0x8_1000).unwrap(), [0]);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 2);
    assert_eq!(v.rip, 0x40_0000);
}

#[test]
fn outsw_at_the_last_byte_of_a_real_mode_segment_raises_gp() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    dom.memory.write(0x7C00, &[0x6F]).unwrap(); // outsw (16-bit code)
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.gprs[Gpr::Rsi as usize] = 0xFFFF; // the word's second byte is past DS's 64 KiB limit
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 2, IoDirection::Out, true, false, 0x7C01),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert_eq!(v.injected[0].vector, vector::GP);
    assert_eq!(v.injected[0].error_code, Some(0));
    assert!(writes.borrow().is_empty());
    assert_eq!(v.rip, 0x7C00);
}

#[test]
fn rep_ins_into_the_rom_alias_drops_the_writes_and_the_guest_goes_on() {
    let (mut dom, _) = domain();
    probe(&mut dom, 0x5A);
    dom.memory.write(0xF_0010, &[0xC3; 4]).unwrap();
    assert!(dom.memory.add_alias(crate::guest_memory::Alias {
        gpa: 0xFFFF_0000,
        len: 0x1_0000,
        target: 0xF_0000,
    }));
    dom.memory.write(0x7C00, &[0xF3, 0x6C]).unwrap(); // rep insb
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.segments[SegReg::Es as usize].base = 0xFFFF_0000; // unreal-mode ES on the ROM alias
    v.gprs[Gpr::Rdi as usize] = 0x10;
    v.gprs[Gpr::Rcx as usize] = 3;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(
        dom.memory.read_bytes::<4>(0xF_0010).unwrap(),
        [0xC3; 4],
        "the ROM ignores the writes"
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x13);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0);
    assert_eq!(v.rip, 0x7C02);
}

#[test]
fn rep_outs_from_unbacked_memory_reads_all_ones_and_the_guest_goes_on() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    dom.memory.write(0x7C00, &[0xF3, 0x6F]).unwrap(); // rep outsw
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.segments[SegReg::Ds as usize].base = 0x20_0000; // past the 1 MiB of RAM
    v.gprs[Gpr::Rcx as usize] = 2;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 2, IoDirection::Out, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(*writes.borrow(), [(2, 0xFFFF), (2, 0xFFFF)]);
    assert_eq!(v.gprs[Gpr::Rsi as usize], 4);
    assert_eq!(v.rip, 0x7C02);
}

/// A long-mode vCPU whose 4-level tables identity-map the first 2 MiB with
/// one large page, with code at 7C00h.
fn identity_paged_vcpu(dom: &mut Domain) -> FakeVcpu {
    let put = |dom: &mut Domain, gpa: u64, v: u64| dom.memory.write(gpa, &v.to_le_bytes()).unwrap();
    put(dom, 0x1000, 0x2000 | 7);
    put(dom, 0x2000, 0x3000 | 7);
    put(dom, 0x3000, 0x87); // 2 MiB page at 0, PS|U|W|P
    let mut v = paged_vcpu(dom);
    v.rip = 0x7C00;
    v
}

#[test]
fn addr32_rep_ins_in_64_bit_mode_counts_ecx_and_zero_extends_rcx_and_rdi() {
    let (mut dom, _) = domain();
    probe(&mut dom, 0x5A);
    let mut v = paged_vcpu(&mut dom);
    dom.memory.write(0x8_0000, &[0x67, 0xF3, 0x6C]).unwrap(); // addr32 rep insb (64-bit code)
    v.gprs[Gpr::Rdi as usize] = 0xFFFF_FFFF_0040_1000;
    v.gprs[Gpr::Rcx as usize] = 0xFFFF_FFFF_0000_0002;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, true, 0x40_0003),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(
        dom.memory.read_bytes::<3>(0x8_1000).unwrap(),
        [0x5A, 0x5A, 0]
    );
    // ECX and EDI are 32-bit registers here: their writes zero-extend
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x40_1002);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0);
    assert_eq!(v.rip, 0x40_0003);
}

#[test]
fn addr32_rep_outs_in_64_bit_mode_with_ecx_zero_does_nothing() {
    let (mut dom, _) = domain();
    let (_, writes) = probe(&mut dom, 0);
    let mut v = paged_vcpu(&mut dom);
    dom.memory.write(0x8_0000, &[0x67, 0xF3, 0x6E]).unwrap(); // addr32 rep outsb (64-bit code)
    v.gprs[Gpr::Rsi as usize] = 0xFFFF_FFFF_0040_1000;
    v.gprs[Gpr::Rcx as usize] = 0x1_0000_0000; // ECX = 0: 2^32 is not a count here
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::Out, true, true, 0x40_0003),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(writes.borrow().is_empty());
    assert_eq!(v.gprs[Gpr::Rsi as usize], 0xFFFF_FFFF_0040_1000);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0x1_0000_0000);
    assert_eq!(v.rip, 0x40_0003);
}

#[test]
fn a_rep_count_near_2_pow_64_is_bounded_per_exit_and_resumes() {
    use crate::emulator::string_io::MAX_ELEMENTS_PER_EXIT;
    let (mut dom, _) = domain();
    let (reads, _) = probe(&mut dom, 0x5A);
    let mut v = identity_paged_vcpu(&mut dom);
    dom.memory.write(0x7C00, &[0xF3, 0x6C]).unwrap(); // rep insb (64-bit code)
    v.gprs[Gpr::Rdi as usize] = 0x1_0000;
    v.gprs[Gpr::Rcx as usize] = u64::MAX;
    for exit in 1..=2u64 {
        let flow = handle_exit(
            &mut v,
            &mut dom,
            io(PROBE_PORT, 1, IoDirection::In, true, true, 0x7C02),
            &FakeHost::default(),
        );
        assert_eq!(flow, Flow::Continue);
        assert!(v.injected.is_empty(), "{:?}", v.injected);
        assert_eq!(u64::from(reads.get()), exit * MAX_ELEMENTS_PER_EXIT);
        assert_eq!(
            v.gprs[Gpr::Rcx as usize],
            u64::MAX - exit * MAX_ELEMENTS_PER_EXIT
        );
        assert_eq!(
            v.gprs[Gpr::Rdi as usize],
            0x1_0000 + exit * MAX_ELEMENTS_PER_EXIT
        );
        assert_eq!(v.rip, 0x7C00, "unfinished: the guest executes it again");
    }
    assert_eq!(dom.memory.read_bytes::<1>(0x1_0000).unwrap(), [0x5A]);
    assert_eq!(dom.memory.read_bytes::<1>(0x2_FFFF).unwrap(), [0x5A]);
    assert_eq!(dom.memory.read_bytes::<1>(0x3_0000).unwrap(), [0]);
}

#[test]
fn a_32_bit_count_of_2_pow_32_minus_1_is_bounded_per_exit_and_resumes() {
    use crate::emulator::string_io::MAX_ELEMENTS_PER_EXIT;
    let (mut dom, _) = domain();
    probe(&mut dom, 0x5A);
    dom.memory.write(0x7C00, &[0xF3, 0x6C]).unwrap(); // rep insb (32-bit code)
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.cr.cr0 = 0x11;
    v.segments[SegReg::Cs as usize].attrs |= crate::vcpu::Segment::ATTR_DB;
    v.segments[SegReg::Es as usize].limit = 0xFFFF_FFFF;
    v.gprs[Gpr::Rdi as usize] = 0x1_0000;
    v.gprs[Gpr::Rcx as usize] = 0xFFFF_FFFF;
    handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, true, 0x7C02),
        &FakeHost::default(),
    );
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(
        v.gprs[Gpr::Rcx as usize],
        0xFFFF_FFFF - MAX_ELEMENTS_PER_EXIT
    );
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x1_0000 + MAX_ELEMENTS_PER_EXIT);
    assert_eq!(v.rip, 0x7C00);
}

#[test]
fn addr16_rep_ins_in_32_bit_code_wraps_di_and_keeps_the_upper_halves() {
    let (mut dom, _) = domain();
    probe(&mut dom, 0x5A);
    dom.memory.write(0x7C00, &[0x67, 0xF3, 0x6C]).unwrap(); // addr16 rep insb (32-bit code)
    let mut v = FakeVcpu::at(0, 0x7C00);
    v.cr.cr0 = 0x11;
    v.segments[SegReg::Cs as usize].attrs |= crate::vcpu::Segment::ATTR_DB;
    v.segments[SegReg::Es as usize].base = 0x1_0000;
    v.gprs[Gpr::Rdi as usize] = 0x1234_FFFF;
    v.gprs[Gpr::Rcx as usize] = 0xABCD_0002;
    let flow = handle_exit(
        &mut v,
        &mut dom,
        io(PROBE_PORT, 1, IoDirection::In, true, true, 0x7C03),
        &FakeHost::default(),
    );
    assert_eq!(flow, Flow::Continue);
    assert!(v.injected.is_empty(), "{:?}", v.injected);
    assert_eq!(dom.memory.read_bytes::<1>(0x1_FFFF).unwrap(), [0x5A]);
    assert_eq!(dom.memory.read_bytes::<1>(0x1_0000).unwrap(), [0x5A]);
    assert_eq!(dom.memory.read_bytes::<1>(0x2_0000).unwrap(), [0]);
    assert_eq!(v.gprs[Gpr::Rdi as usize], 0x1234_0001);
    assert_eq!(v.gprs[Gpr::Rcx as usize], 0xABCD_0000);
    assert_eq!(v.rip, 0x7C03);
}

#[test]
fn an_mmio_access_whose_page_table_lies_outside_ram_stops_naming_the_table() {
    let (mut dom, _) = domain();
    let mut v = paged_vcpu(&mut dom);
    // PD entry 3 (linear 60_0000h..) points at a page table past the 1 MiB of RAM.
    dom.memory
        .write(0x3018, &(0x4000_0000u64 | 7).to_le_bytes())
        .unwrap();
    // mov eax, [0x600000]
    dom.memory
        .write(0x8_0000, &[0x8B, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00])
        .unwrap();
    let flow = handle_exit(
        &mut v,
        &mut dom,
        VmExit::NestedPageFault {
            gpa: 0xFEE0_0000,
            write: false,
            fetch: false,
        },
        &FakeHost::default(),
    );
    assert_eq!(
        flow,
        Flow::Stop(StopReason::UnbackedAccess {
            gpa: 0x4000_0000,
            write: false
        })
    );
}
