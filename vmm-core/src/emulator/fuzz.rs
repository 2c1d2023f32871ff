//! Property tests standing in for a fuzz target: random instruction bytes and
//! random guest state, through the emulator alone and through the domain's
//! real memory path (page walk, RAM/MMIO split). Nothing may panic, and the
//! only memory touched is the guest's: the flat memory refuses anything
//! outside its bytes, and the guest path can reach nothing but `GuestMemory`
//! and the MMIO bus.

use super::guest_access::GuestAccess;
use super::test_memory::FlatMemory;
use super::{emulate, EmuError};
use crate::guest_memory::test_memory;
use crate::test_support::FakeVcpu;
use crate::vcpu::Segment;
use device_model::mmio_bus::MmioBus;
use iced_x86::{Decoder, DecoderOptions};
use test_rng::XorShift;

fn random_vcpu(rng: &mut XorShift, bitness: u32) -> FakeVcpu {
    let mut v = FakeVcpu::default();
    for g in v.gprs.iter_mut() {
        // Mostly small values so some accesses land inside the memory.
        *g = if rng.next() & 1 == 0 {
            rng.next() & 0xFFFF
        } else {
            rng.next()
        };
    }
    v.rflags = 2 | (rng.next() & 0x8D5) | (rng.next() & (1 << 10));
    match bitness {
        64 => {
            v.cr.cr0 = 0x8000_0011;
            v.cr.efer = 1 << 10;
            v.segments[1].attrs |= Segment::ATTR_L;
        }
        32 => {
            v.cr.cr0 = 0x11;
            v.segments[1].attrs |= Segment::ATTR_DB;
        }
        _ => {}
    }
    for s in v.segments.iter_mut() {
        s.base = rng.next() & 0xF000;
    }
    v
}

#[test]
fn random_instructions_on_flat_memory_never_panic() {
    let mut rng = XorShift::per_run(
        "random_instructions_on_flat_memory_never_panic",
        0xF022_F022_F022_F022,
    );
    let mut executed = 0;
    for i in 0..100_000 {
        let bitness = [16, 32, 64][i % 3];
        let mut bytes = [0u8; 15];
        for b in bytes.iter_mut() {
            *b = rng.next() as u8;
        }
        let insn = Decoder::with_ip(bitness, &bytes, 0, DecoderOptions::NONE).decode();
        if insn.is_invalid() {
            continue;
        }
        let mut v = random_vcpu(&mut rng, bitness);
        let mut m = FlatMemory::new(0x1_0000);
        if emulate(&mut v, &mut m, &insn).is_ok() {
            executed += 1;
        }
        assert!(m.accesses.iter().all(|&(_, a, n)| a + n as u64 <= 0x1_0000));
    }
    assert!(
        executed > 1000,
        "the random stream should exercise the emulator: {executed}"
    );
}

#[test]
fn random_instructions_through_random_guest_page_tables_never_panic() {
    let mut rng = XorShift::per_run(
        "random_instructions_through_random_guest_page_tables_never_panic",
        0x1DEA_1DEA_1DEA_1DEA,
    );
    let mut mem = test_memory(0x4_0000);
    let mut mmio = MmioBus::default();
    let mut outcomes = [0u32; 4];
    for i in 0..50_000 {
        if i % 1000 == 0 {
            // Fresh random page tables (and data) now and then.
            for _ in 0..2000 {
                let gpa = (rng.next() % 0x4_0000) & !7;
                let _ = mem.write(gpa, &(rng.next() & 0x0000_0000_000F_FFE7 | 1).to_le_bytes());
            }
        }
        let bitness = [16, 32, 64][i % 3];
        let mut bytes = [0u8; 15];
        for b in bytes.iter_mut() {
            *b = rng.next() as u8;
        }
        let insn = Decoder::with_ip(bitness, &bytes, 0, DecoderOptions::NONE).decode();
        if insn.is_invalid() {
            continue;
        }
        let mut v = random_vcpu(&mut rng, bitness);
        if bitness != 16 && rng.next() & 1 == 0 {
            v.cr.cr0 |= 1 << 31;
            v.cr.cr3 = rng.next() % 0x4_0000;
            v.cr.cr4 = 1 << 5;
        }
        let mut access = GuestAccess {
            memory: &mut mem,
            mmio: &mut mmio,
            max_phys_bits: 40,
        };
        let slot = match emulate(&mut v, &mut access, &insn) {
            Ok(()) => 0,
            Err(EmuError::Fault(_)) => 1,
            Err(EmuError::Unsupported(_)) => 2,
            Err(EmuError::Fatal { .. }) => 3,
        };
        outcomes[slot] += 1;
    }
    assert!(
        outcomes[0] > 100 && outcomes[1] > 100,
        "the random stream reached both outcomes: {outcomes:?}"
    );
}
