//! Differential tests: every emulated ALU operation against the host CPU, for
//! edge-case and pseudo-random operands, every size and incoming carry; both
//! the pure ALU and the whole emulate() path with a memory destination.

use super::emulate;
use super::flags::{alu, AluOp, STATUS};
use super::native::native_alu;
use super::test_memory::FlatMemory;
use crate::test_support::FakeVcpu;
use crate::vcpu::Gpr;
use alloc::vec::Vec;
use iced_x86::{Decoder, DecoderOptions};
use test_rng::XorShift;

const OPS: [AluOp; 13] = [
    AluOp::Add,
    AluOp::Adc,
    AluOp::Sub,
    AluOp::Sbb,
    AluOp::Cmp,
    AluOp::And,
    AluOp::Or,
    AluOp::Xor,
    AluOp::Test,
    AluOp::Inc,
    AluOp::Dec,
    AluOp::Neg,
    AluOp::Not,
];
const SIZES: [u8; 4] = [1, 2, 4, 8];

fn mask(size: u8) -> u64 {
    if size == 8 {
        u64::MAX
    } else {
        (1 << (size * 8)) - 1
    }
}

/// Zero, one, all ones, sign boundaries of every size, nibble carries.
fn edge_values() -> Vec<u64> {
    let mut v = alloc::vec![0, 1, 2, 0xF, 0x10, 0x7F, 0x80, 0xFF, 0x100];
    for bits in [16u32, 32, 64] {
        let top = 1u64 << (bits - 1);
        v.extend([top - 1, top, top + 1, top.wrapping_mul(2).wrapping_sub(1)]);
    }
    v.push(u64::MAX - 1);
    v
}

fn check(op: AluOp, size: u8, a: u64, b: u64, flags: u64) {
    let (nr, nf) = native_alu(op, size, a, b, flags);
    let (er, ef) = alu(op, size, a, b, flags);
    let compared = STATUS & !op.undefined_flags();
    let expected_result = if op.writes_result() {
        nr & mask(size)
    } else {
        er
    };
    assert_eq!(
        (er, ef & compared),
        (expected_result, nf & compared),
        "{op:?} size {size}: a={a:#x} b={b:#x} flags_in={flags:#x}: emulated {er:#x}/{ef:#x}, CPU {nr:#x}/{nf:#x}"
    );
}

#[test]
fn alu_matches_the_cpu_on_edge_operands_with_both_carries() {
    let values = edge_values();
    for op in OPS {
        for size in SIZES {
            for &a in &values {
                for &b in &values {
                    for flags in [0, STATUS] {
                        check(op, size, a, b, flags);
                    }
                }
            }
        }
    }
}

#[test]
fn alu_matches_the_cpu_on_random_operands() {
    let mut rng = XorShift::per_run(
        "alu_matches_the_cpu_on_random_operands",
        0x1234_5678_9ABC_DEF1,
    );
    for op in OPS {
        for size in SIZES {
            for _ in 0..4000 {
                let (a, b, f) = (rng.next(), rng.next(), rng.next() & STATUS);
                check(op, size, a, b, f);
            }
        }
    }
}

/// Encodes `op [rbx], ecx` (or the unary `op [rbx]`) at `size`.
fn encode_mem_dest(op: AluOp, size: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    match size {
        2 => bytes.push(0x66),
        8 => bytes.push(0x48),
        _ => {}
    }
    let wide = u8::from(size != 1);
    let (opcode, modrm) = match op {
        AluOp::Add => (0x00, 0x0B),
        AluOp::Or => (0x08, 0x0B),
        AluOp::Adc => (0x10, 0x0B),
        AluOp::Sbb => (0x18, 0x0B),
        AluOp::And => (0x20, 0x0B),
        AluOp::Sub => (0x28, 0x0B),
        AluOp::Xor => (0x30, 0x0B),
        AluOp::Cmp => (0x38, 0x0B),
        AluOp::Test => (0x84, 0x0B),
        AluOp::Not => (0xF6, 0x13),
        AluOp::Neg => (0xF6, 0x1B),
        AluOp::Inc => (0xFE, 0x03),
        AluOp::Dec => (0xFE, 0x0B),
    };
    bytes.push(opcode + wide);
    bytes.push(modrm);
    bytes
}

#[test]
fn emulated_memory_destination_matches_the_cpu() {
    let mut rng = XorShift::per_run(
        "emulated_memory_destination_matches_the_cpu",
        0x0DDB_A11C_AFE5_EED5,
    );
    for op in OPS {
        for size in SIZES {
            let bytes = encode_mem_dest(op, size);
            for _ in 0..200 {
                let (a, b, f) = (rng.next(), rng.next(), rng.next() & STATUS);
                let mut v = FakeVcpu {
                    rflags: 2 | f,
                    ..Default::default()
                };
                v.gprs[Gpr::Rbx as usize] = 0x100;
                v.gprs[Gpr::Rcx as usize] = b;
                let mut m = FlatMemory::new(0x200);
                m.bytes[0x100..0x108].copy_from_slice(&a.to_le_bytes());
                let insn = Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE).decode();
                emulate(&mut v, &mut m, &insn).unwrap();
                let (nr, nf) = native_alu(op, size, a, b, f);
                let n = usize::from(size);
                let mut got = [0u8; 8];
                got[..n].copy_from_slice(&m.bytes[0x100..0x100 + n]);
                let expect_mem = if op.writes_result() {
                    nr & mask(size)
                } else {
                    a & mask(size)
                };
                assert_eq!(
                    u64::from_le_bytes(got),
                    expect_mem,
                    "{op:?}/{size} a={a:#x} b={b:#x}"
                );
                let compared = STATUS & !op.undefined_flags();
                assert_eq!(
                    v.rflags & compared,
                    nf & compared,
                    "{op:?}/{size} flags a={a:#x} b={b:#x} f={f:#x}"
                );
                assert_eq!(
                    &m.bytes[0x100 + n..0x108],
                    &a.to_le_bytes()[n..],
                    "bytes past the operand untouched"
                );
                assert_eq!(v.rip, bytes.len() as u64);
            }
        }
    }
}

#[test]
fn shifts_and_rotates_match_the_cpu_for_every_count() {
    use super::native::native_shift;
    use super::shift::{shift, ShiftOp};
    let mut rng = XorShift::per_run(
        "shifts_and_rotates_match_the_cpu_for_every_count",
        0x5EED_0F5E_ED5E_ED00,
    );
    let ops = [
        ShiftOp::Shl,
        ShiftOp::Shr,
        ShiftOp::Sar,
        ShiftOp::Rol,
        ShiftOp::Ror,
        ShiftOp::Rcl,
        ShiftOp::Rcr,
    ];
    let mut values = edge_values();
    values.extend((0..40).map(|_| rng.next()));
    for op in ops {
        for size in SIZES {
            for &a in &values {
                for count in 0u8..=255 {
                    if count > 70 && count % 17 != 0 {
                        continue; // above 63 only the masking matters: sample it
                    }
                    for flags in [0, STATUS] {
                        let (nr, nf) = native_shift(op, size, a, count, flags);
                        let (er, ef, undefined) = shift(op, size, a, u64::from(count), flags);
                        let compared = STATUS & !undefined;
                        assert_eq!(
                            (er, ef & compared),
                            (nr & mask(size), nf & compared),
                            "{op:?}/{size} a={a:#x} count={count} flags={flags:#x}: emulated {er:#x}/{ef:#x}, CPU {nr:#x}/{nf:#x}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn shift_by_one_and_by_imm8_forms_decode_and_run() {
    // shl dword [rbx], 1 ; sar byte [rbx], 3 ; rcr qword [rbx], cl
    for (bytes, expect) in [
        (alloc::vec![0xD1u8, 0x23], 0x8000_0002u64 << 1 & 0xFFFF_FFFF),
        (alloc::vec![0xC0, 0x3B, 0x03], 0xF0),
    ] {
        let mut v = FakeVcpu {
            rflags: 2,
            ..Default::default()
        };
        v.gprs[Gpr::Rbx as usize] = 0x10;
        let mut m = FlatMemory::new(0x40);
        m.bytes[0x10..0x14].copy_from_slice(&0x8000_0002u32.to_le_bytes());
        if bytes[0] == 0xC0 {
            m.bytes[0x10] = 0x80;
        }
        let insn = Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE).decode();
        emulate(&mut v, &mut m, &insn).unwrap();
        let got = if bytes[0] == 0xC0 {
            u64::from(m.bytes[0x10])
        } else {
            u64::from(u32::from_le_bytes(m.bytes[0x10..0x14].try_into().unwrap()))
        };
        assert_eq!(got, expect, "{bytes:x?}");
        assert_eq!(v.rip, bytes.len() as u64);
    }
}

#[test]
fn bit_tests_match_the_cpu() {
    use super::bits::bit_op;
    use super::flags::CF;
    use super::native::native_bt;
    use iced_x86::Mnemonic;
    let mut rng = XorShift::per_run("bit_tests_match_the_cpu", 0xB17_B17_B17);
    for m in [Mnemonic::Bt, Mnemonic::Bts, Mnemonic::Btr, Mnemonic::Btc] {
        for size in [2u8, 4, 8] {
            for _ in 0..2000 {
                let (a, offset, f) = (rng.next(), rng.next() % 256, rng.next() & STATUS);
                let (nr, nf) = native_bt(m, size, a, offset, f);
                let bit = (offset % (u64::from(size) * 8)) as u32;
                let (er, was) = bit_op(m, a & mask(size), bit);
                assert_eq!(
                    er & mask(size),
                    nr & mask(size),
                    "{m:?}/{size} a={a:#x} offset={offset}"
                );
                assert_eq!(
                    was,
                    nf & CF != 0,
                    "{m:?}/{size} CF a={a:#x} offset={offset}"
                );
            }
        }
    }
}
