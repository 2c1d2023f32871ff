//! Differential tests through the native executor: each instruction runs on
//! the test machine against a scratch region and through the emulator
//! against an identical copy at the same addresses; every GPR (but R11, the
//! executor's), the defined status flags and every byte of memory must match.

use super::flags::{AF, OF, STATUS};
use super::native_exec::{NativeMachine, NativeState};
use super::{emulate, EmuError, EmuMemory};
use crate::test_support::FakeVcpu;
use crate::vcpu::{Segment, Vcpu};
use alloc::vec::Vec;
use iced_x86::{Decoder, DecoderOptions};
use test_rng::XorShift;

const REGION: usize = 0x4000;

/// Memory at the scratch region's real addresses.
struct AtBase {
    base: u64,
    bytes: Vec<u8>,
}

impl EmuMemory for AtBase {
    fn read(&mut self, _: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError> {
        let off = linear
            .checked_sub(self.base)
            .ok_or(EmuError::Fatal { gpa: linear })? as usize;
        let src = self
            .bytes
            .get(off..off + buf.len())
            .ok_or(EmuError::Fatal { gpa: linear })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&mut self, _: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError> {
        let off = linear
            .checked_sub(self.base)
            .ok_or(EmuError::Fatal { gpa: linear })? as usize;
        let dst = self
            .bytes
            .get_mut(off..off + data.len())
            .ok_or(EmuError::Fatal { gpa: linear })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// A 64-bit flat vCPU.
fn vcpu64() -> FakeVcpu {
    let mut v = FakeVcpu::default();
    v.cr.cr0 = 0x8000_0011;
    v.cr.efer = 1 << 10;
    v.segments[1].attrs |= Segment::ATTR_L;
    for s in v.segments.iter_mut() {
        s.limit = u32::MAX;
    }
    v
}

/// Runs `bytes` natively and emulated from the same random state, with RBX,
/// RSI, RDI and RSP pointing into the region and RCX a small count; compares
/// everything. `undefined` flags are not compared.
fn compare(
    machine: &mut NativeMachine,
    rng: &mut XorShift,
    bytes: &[u8],
    undefined: u64,
    df: bool,
) {
    let base = machine.data_base();
    let image: Vec<u8> = (0..REGION).map(|_| rng.next() as u8).collect();
    let mut state = NativeState::default();
    for g in state.gprs.iter_mut() {
        *g = rng.next();
    }
    state.gprs[3] = base + 0x1000 + (rng.next() % 0x100); // rbx
    state.gprs[6] = base + 0x1800 + (rng.next() % 0x100); // rsi
    state.gprs[7] = base + 0x2000 + (rng.next() % 0x100); // rdi
    state.gprs[4] = base + 0x3800 + ((rng.next() % 0x100) & !7); // rsp
    state.gprs[1] = rng.next() % 40; // rcx
                                     // rdx: a source value, and for bit-string instructions a signed bit
                                     // offset, so it stays within a few hundred bits of rbx
    state.gprs[2] = ((rng.next() % 0x400) as i64 - 0x200) as u64;
    state.gprs[11] = 0;
    state.rflags = 0x202 | (rng.next() & STATUS) | if df { 1 << 10 } else { 0 };
    for x in state.xmm.iter_mut() {
        *x = (u128::from(rng.next()) << 64) | u128::from(rng.next());
    }

    machine.data().copy_from_slice(&image);
    let native = machine.run(bytes, &state);
    let native_mem = machine.data().to_vec();

    let mut v = vcpu64();
    v.gprs = state.gprs;
    v.rflags = state.rflags;
    v.xmm = state.xmm;
    let mut mem = AtBase { base, bytes: image };
    let insn = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE).decode();
    emulate(&mut v, &mut mem, &insn).unwrap_or_else(|e| panic!("{bytes:x?}: {e:?}"));
    // A REP string instruction may take several emulations.
    while v.rip == 0 && (insn.has_rep_prefix() || insn.has_repne_prefix()) {
        emulate(&mut v, &mut mem, &insn).unwrap();
    }

    for i in (0..16).filter(|&i| i != 11) {
        assert_eq!(
            v.gprs[i], native.gprs[i],
            "{bytes:x?} ({insn}): register {i}"
        );
    }
    for i in 0..16 {
        assert_eq!(v.xmm[i], native.xmm[i], "{bytes:x?} ({insn}): xmm{i}");
    }
    let compared = STATUS & !undefined;
    assert_eq!(
        v.rflags & compared,
        native.rflags & compared,
        "{bytes:x?} ({insn}): flags"
    );
    assert_eq!(
        v.rflags & (1 << 10),
        native.rflags & (1 << 10),
        "{bytes:x?}: DF"
    );
    if let Some(at) = mem.bytes.iter().zip(&native_mem).position(|(a, b)| a != b) {
        panic!("{bytes:x?} ({insn}): memory differs at offset {at:#x}");
    }
}

/// (instruction bytes, undefined flags, run with DF set too)
const CASES: &[(&[u8], u64, bool)] = &[
    (&[0x89, 0x03], 0, false),                          // mov [rbx], eax
    (&[0x48, 0x8B, 0x0E], 0, false),                    // mov rcx, [rsi]
    (&[0x66, 0x89, 0x47, 0x06], 0, false),              // mov [rdi+6], ax
    (&[0x8A, 0x63, 0x03], 0, false),                    // mov ah, [rbx+3]
    (&[0xC6, 0x03, 0x5A], 0, false),                    // mov byte [rbx], 0x5a
    (&[0x48, 0xC7, 0x03, 0x80, 0, 0, 0x80], 0, false),  // mov qword [rbx], imm32 (sign-extended)
    (&[0x0F, 0xB7, 0x03], 0, false),                    // movzx eax, word [rbx]
    (&[0x48, 0x0F, 0xBF, 0x03], 0, false),              // movsx rax, word [rbx]
    (&[0x48, 0x63, 0x03], 0, false),                    // movsxd rax, dword [rbx]
    (&[0x0F, 0xC3, 0x03], 0, false),                    // movnti [rbx], eax
    (&[0x87, 0x03], 0, false),                          // xchg [rbx], eax
    (&[0x86, 0x23], 0, false),                          // xchg [rbx], ah
    (&[0xF0, 0x0F, 0xB1, 0x13], 0, false),              // lock cmpxchg [rbx], edx
    (&[0x48, 0x0F, 0xB1, 0x13], 0, false),              // cmpxchg [rbx], rdx
    (&[0x0F, 0xB0, 0x13], 0, false),                    // cmpxchg [rbx], dl
    (&[0x0F, 0xAB, 0x13], OF | AF | 0x84, false),       // bts [rbx], edx (bit string)
    (&[0x48, 0x0F, 0xBB, 0x13], OF | AF | 0x84, false), // btc [rbx], rdx
    (&[0x0F, 0xA3, 0x13], OF | AF | 0x84, false),       // bt [rbx], edx
    (&[0xD3, 0x23], OF | AF, false),                    // shl dword [rbx], cl
    (&[0x48, 0xD3, 0x3B], OF | AF, false),              // sar qword [rbx], cl
    (&[0xD0, 0x13], 0, false),                          // rcl byte [rbx], 1
    (&[0xF3, 0xA4], 0, true),                           // rep movsb
    (&[0xF3, 0x48, 0xA5], 0, true),                     // rep movsq
    (&[0xF3, 0xAB], 0, true),                           // rep stosd
    (&[0xAC], 0, true),                                 // lodsb
    (&[0xF3, 0xA6], 0, true),                           // repe cmpsb
    (&[0xF2, 0x66, 0xAF], 0, true),                     // repne scasw
    (&[0xFF, 0x33], 0, false),                          // push qword [rbx]
    (&[0x8F, 0x03], 0, false),                          // pop qword [rbx]
    (&[0x66, 0xFF, 0x33], 0, false),                    // push word [rbx]
    (&[0x8F, 0x44, 0x24, 0x08], 0, false),              // pop qword [rsp+8]
];

#[test]
fn memory_instructions_match_the_cpu_in_registers_flags_and_memory() {
    let mut machine = NativeMachine::new(REGION);
    let mut rng = XorShift::per_run(
        "memory_instructions_match_the_cpu_in_registers_flags_and_memory",
        0xE4EC_E4EC_E4EC_E4EC,
    );
    for &(bytes, undefined, with_df) in CASES {
        for round in 0..200 {
            compare(
                &mut machine,
                &mut rng,
                bytes,
                undefined,
                with_df && round % 2 == 1,
            );
        }
    }
}
