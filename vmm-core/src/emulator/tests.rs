//! Emulator tests: instructions written as raw bytes with their disassembly.

use super::test_memory::FlatMemory;
use super::{emulate, EmuError};
use crate::test_support::FakeVcpu;
use crate::vcpu::{Gpr, SegReg};
use iced_x86::{Decoder, DecoderOptions, Mnemonic};

fn run(
    bitness: u32,
    bytes: &[u8],
    vcpu: &mut FakeVcpu,
    mem: &mut FlatMemory,
) -> Result<(), EmuError> {
    let insn = Decoder::with_ip(bitness, bytes, vcpu.rip, DecoderOptions::NONE).decode();
    assert!(!insn.is_invalid(), "test bytes decode");
    emulate(vcpu, mem, &insn)
}

fn r(v: &FakeVcpu, g: Gpr) -> u64 {
    v.gprs[g as usize]
}

#[test]
fn mov_store_32_bit_register_to_memory_in_64_bit_mode() {
    // mov [rbx+8], eax
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rax as usize] = 0xDEAD_BEEF_1234_5678;
    v.gprs[Gpr::Rbx as usize] = 0x100;
    run(64, &[0x89, 0x43, 0x08], &mut v, &mut m).unwrap();
    assert_eq!(&m.bytes[0x108..0x10C], &[0x78, 0x56, 0x34, 0x12]);
    assert_eq!(m.accesses, [(true, 0x108, 4)]);
    assert_eq!(v.rip, 3);
}

#[test]
fn mov_load_32_bit_zero_extends_and_8_bit_merges() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x200..0x204].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    v.gprs[Gpr::Rcx as usize] = u64::MAX;
    v.gprs[Gpr::Rsi as usize] = 0x200;
    // mov ecx, [rsi]
    run(64, &[0x8B, 0x0E], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rcx), 0x4433_2211);
    v.gprs[Gpr::Rdx as usize] = u64::MAX;
    v.rip = 0;
    // mov dh, [rsi+1]
    run(64, &[0x8A, 0x76, 0x01], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rdx), 0xFFFF_FFFF_FFFF_22FF);
}

#[test]
fn mov_moffs_and_immediate_forms() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rax as usize] = 0xAB;
    // mov [0x300], al (moffs8, 64-bit address)
    run(64, &[0xA2, 0x00, 0x03, 0, 0, 0, 0, 0, 0], &mut v, &mut m).unwrap();
    assert_eq!(m.bytes[0x300], 0xAB);
    v.rip = 0;
    // mov qword [0x310], -2 (imm32 sign-extended to 64)
    run(
        64,
        &[
            0x48, 0xC7, 0x04, 0x25, 0x10, 0x03, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF,
        ],
        &mut v,
        &mut m,
    )
    .unwrap();
    assert_eq!(
        u64::from_le_bytes(m.bytes[0x310..0x318].try_into().unwrap()),
        (-2i64) as u64
    );
}

#[test]
fn real_mode_addressing_uses_segment_base_and_wraps_the_offset() {
    let mut v = FakeVcpu::at(0, 0);
    v.set_segment(SegReg::Ds, 0x500);
    let mut m = FlatMemory::new(0x2_0000);
    v.gprs[Gpr::Rbx as usize] = 0xFFFF;
    v.gprs[Gpr::Rax as usize] = 0x1234;
    // mov [bx+2], ax  -> offset wraps to 1, linear 0x501
    run(16, &[0x89, 0x47, 0x02], &mut v, &mut m).unwrap();
    assert_eq!(&m.bytes[0x501..0x503], &[0x34, 0x12]);
}

#[test]
fn movzx_and_movsx_extend_from_memory() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x40] = 0x80;
    v.gprs[Gpr::Rdi as usize] = 0x40;
    // movzx eax, byte [rdi]
    run(64, &[0x0F, 0xB6, 0x07], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rax), 0x80);
    v.rip = 0;
    // movsx rax, byte [rdi]
    run(64, &[0x48, 0x0F, 0xBE, 0x07], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rax), 0xFFFF_FFFF_FFFF_FF80);
    m.bytes[0x40..0x44].copy_from_slice(&[0, 0, 0, 0x80]);
    v.rip = 0;
    // movsxd rax, dword [rdi]
    run(64, &[0x48, 0x63, 0x07], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rax), 0xFFFF_FFFF_8000_0000);
}

#[test]
fn unsupported_instructions_are_reported_not_executed() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    // fld dword [rax]
    assert_eq!(
        run(64, &[0xD9, 0x00], &mut v, &mut m),
        Err(EmuError::Unsupported(Mnemonic::Fld))
    );
    assert_eq!(v.rip, 0);
    // mov ds, [rax]: a segment load is not an MMIO move
    assert!(matches!(
        run(64, &[0x8E, 0x18], &mut v, &mut m),
        Err(EmuError::Unsupported(_))
    ));
}

#[test]
fn a_faulting_access_leaves_rip_alone() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x10);
    v.gprs[Gpr::Rbx as usize] = 0x1000;
    // mov eax, [rbx]
    assert!(matches!(
        run(64, &[0x8B, 0x03], &mut v, &mut m),
        Err(EmuError::Fault(_))
    ));
    assert_eq!(v.rip, 0);
}

#[test]
fn bt_with_a_register_offset_addresses_a_bit_string_beyond_the_operand() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x100;
    // bts dword [rbx], ecx with ecx = 35 -> bit 3 of the dword at 0x104
    v.gprs[Gpr::Rcx as usize] = 35;
    run(64, &[0x0F, 0xAB, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(m.bytes[0x104], 0x08);
    assert_eq!(v.rflags & 1, 0, "CF = old bit");
    // btr dword [rbx], ecx with ecx = -29 -> bit 3 of the dword at 0xFC
    m.bytes[0xFC] = 0xFF;
    v.gprs[Gpr::Rcx as usize] = (-29i64) as u64;
    v.rip = 0;
    run(64, &[0x0F, 0xB3, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(m.bytes[0xFC], 0xF7);
    assert_eq!(v.rflags & 1, 1);
}

#[test]
fn bt_with_an_immediate_masks_the_offset_to_the_operand() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x100;
    m.bytes[0x100] = 0x02;
    // bt word [rbx], 17 -> bit 1
    run(64, &[0x66, 0x0F, 0xBA, 0x23, 0x11], &mut v, &mut m).unwrap();
    assert_eq!(v.rflags & 1, 1);
    assert_eq!(m.accesses.len(), 1, "BT only reads");
}

#[test]
fn xchg_swaps_memory_and_register() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x100;
    v.gprs[Gpr::Rax as usize] = 0x1111_2222;
    m.bytes[0x100..0x104].copy_from_slice(&0x3333_4444u32.to_le_bytes());
    // xchg [rbx], eax
    run(64, &[0x87, 0x03], &mut v, &mut m).unwrap();
    assert_eq!(v.gprs[Gpr::Rax as usize], 0x3333_4444);
    assert_eq!(&m.bytes[0x100..0x104], &0x1111_2222u32.to_le_bytes());
}

#[test]
fn cmpxchg_stores_on_match_and_loads_the_accumulator_otherwise() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x100;
    v.gprs[Gpr::Rcx as usize] = 0x77;
    v.gprs[Gpr::Rax as usize] = 0x55;
    m.bytes[0x100..0x104].copy_from_slice(&0x55u32.to_le_bytes());
    // lock cmpxchg [rbx], ecx
    run(64, &[0xF0, 0x0F, 0xB1, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(m.bytes[0x100], 0x77);
    assert_ne!(v.rflags & 0x40, 0, "ZF on match");
    v.rip = 0;
    v.gprs[Gpr::Rax as usize] = 0xFFFF_FFFF_0000_0001;
    run(64, &[0xF0, 0x0F, 0xB1, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(
        v.gprs[Gpr::Rax as usize],
        0x77,
        "EAX loaded, RAX zero-extended"
    );
    assert_eq!(v.rflags & 0x40, 0, "ZF clear on mismatch");
    assert_eq!(m.bytes[0x100], 0x77);
}

#[test]
fn rep_movsd_copies_with_rsi_rdi_rcx_updated() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    for i in 0..16u8 {
        m.bytes[0x100 + usize::from(i)] = i;
    }
    v.gprs[Gpr::Rsi as usize] = 0x100;
    v.gprs[Gpr::Rdi as usize] = 0x800;
    v.gprs[Gpr::Rcx as usize] = 4;
    // rep movsd
    run(64, &[0xF3, 0xA5], &mut v, &mut m).unwrap();
    assert_eq!(&m.bytes[0x800..0x810], &m.bytes[0x100..0x110].to_vec()[..]);
    assert_eq!(
        (r(&v, Gpr::Rsi), r(&v, Gpr::Rdi), r(&v, Gpr::Rcx)),
        (0x110, 0x810, 0)
    );
    assert_eq!(v.rip, 2);
}

#[test]
fn rep_stosb_backwards_with_df_and_a_16_bit_address_size() {
    let mut v = FakeVcpu::at(0, 0);
    v.set_segment(SegReg::Es, 0x1000);
    v.rflags |= 1 << 10;
    let mut m = FlatMemory::new(0x2_0000);
    v.gprs[Gpr::Rax as usize] = 0xAA;
    v.gprs[Gpr::Rdi as usize] = 0x0001;
    v.gprs[Gpr::Rcx as usize] = 3;
    // rep stosb (16-bit code): writes ES:1, ES:0, ES:FFFF
    run(16, &[0xF3, 0xAA], &mut v, &mut m).unwrap();
    assert_eq!(
        (m.bytes[0x1001], m.bytes[0x1000], m.bytes[0x1_0FFF]),
        (0xAA, 0xAA, 0xAA)
    );
    assert_eq!(r(&v, Gpr::Rdi), 0xFFFE);
}

#[test]
fn repe_cmpsb_stops_at_the_first_difference() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x100..0x105].copy_from_slice(b"abcXe");
    m.bytes[0x200..0x205].copy_from_slice(b"abcde");
    v.gprs[Gpr::Rsi as usize] = 0x100;
    v.gprs[Gpr::Rdi as usize] = 0x200;
    v.gprs[Gpr::Rcx as usize] = 5;
    // repe cmpsb
    run(64, &[0xF3, 0xA6], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rcx), 1, "stopped after the 4th byte");
    assert_eq!(v.rflags & 0x40, 0, "ZF clear: the strings differ");
    assert_eq!(v.rip, 2);
}

#[test]
fn a_huge_rep_count_runs_in_bounded_slices_from_the_same_rip() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x10_0000);
    v.gprs[Gpr::Rdi as usize] = 0;
    v.gprs[Gpr::Rcx as usize] = 10_000;
    // rep stosb
    run(64, &[0xF3, 0xAA], &mut v, &mut m).unwrap();
    assert_eq!(v.rip, 0, "not finished: RIP stays");
    assert_eq!(
        r(&v, Gpr::Rcx),
        10_000 - super::strings::MAX_ITERATIONS_PER_EXIT
    );
    while v.rip == 0 {
        run(64, &[0xF3, 0xAA], &mut v, &mut m).unwrap();
    }
    assert_eq!(r(&v, Gpr::Rcx), 0);
    assert_eq!(r(&v, Gpr::Rdi), 10_000);
}

#[test]
fn lods_and_scas_use_the_accumulator() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x100..0x102].copy_from_slice(&0xBEEFu16.to_le_bytes());
    v.gprs[Gpr::Rsi as usize] = 0x100;
    // lodsw
    run(64, &[0x66, 0xAD], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rax) & 0xFFFF, 0xBEEF);
    v.rip = 0;
    v.gprs[Gpr::Rdi as usize] = 0x100;
    // scasw: AX == [rdi] -> ZF
    run(64, &[0x66, 0xAF], &mut v, &mut m).unwrap();
    assert_ne!(v.rflags & 0x40, 0);
}

#[test]
fn push_and_pop_memory_operands_move_through_the_stack() {
    let mut v = FakeVcpu::default();
    v.segments[1].attrs |= crate::vcpu::Segment::ATTR_L;
    v.cr.efer = 1 << 10;
    v.cr.cr0 = 0x8000_0011;
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x100..0x108].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    v.gprs[Gpr::Rbx as usize] = 0x100;
    v.gprs[Gpr::Rsp as usize] = 0x800;
    // push qword [rbx]
    run(64, &[0xFF, 0x33], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rsp), 0x7F8);
    assert_eq!(
        &m.bytes[0x7F8..0x800],
        &0x1122_3344_5566_7788u64.to_le_bytes()
    );
    v.rip = 0;
    // pop qword [rbx+8]
    run(64, &[0x8F, 0x43, 0x08], &mut v, &mut m).unwrap();
    assert_eq!(r(&v, Gpr::Rsp), 0x800);
    assert_eq!(
        &m.bytes[0x108..0x110],
        &0x1122_3344_5566_7788u64.to_le_bytes()
    );
}

#[test]
fn pop_into_an_rsp_relative_operand_uses_the_incremented_rsp() {
    let mut v = FakeVcpu::default();
    v.segments[1].attrs |= crate::vcpu::Segment::ATTR_L;
    v.cr.efer = 1 << 10;
    v.cr.cr0 = 0x8000_0011;
    let mut m = FlatMemory::new(0x1000);
    m.bytes[0x400..0x408].copy_from_slice(&7u64.to_le_bytes());
    v.gprs[Gpr::Rsp as usize] = 0x400;
    // pop qword [rsp]
    run(64, &[0x8F, 0x04, 0x24], &mut v, &mut m).unwrap();
    assert_eq!(&m.bytes[0x408..0x410], &7u64.to_le_bytes());
}

#[test]
fn a_faulting_pop_leaves_rsp_unchanged() {
    let mut v = FakeVcpu::default();
    v.segments[1].attrs |= crate::vcpu::Segment::ATTR_L;
    v.cr.efer = 1 << 10;
    v.cr.cr0 = 0x8000_0011;
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rsp as usize] = 0x400;
    v.gprs[Gpr::Rbx as usize] = 0x10_0000;
    // pop qword [rbx]
    assert!(run(64, &[0x8F, 0x03], &mut v, &mut m).is_err());
    assert_eq!(r(&v, Gpr::Rsp), 0x400);
}

#[test]
fn real_mode_offsets_past_the_segment_limit_raise_gp() {
    let mut v = FakeVcpu::at(0, 0);
    let mut m = FlatMemory::new(0x2_0000);
    v.gprs[Gpr::Rbx as usize] = 0xFFFF;
    // mov ax, [bx]: the word's second byte is past the 64 KiB limit
    let e = run(16, &[0x8B, 0x07], &mut v, &mut m);
    assert!(
        matches!(e, Err(EmuError::Fault(f)) if f.exception.vector == 13),
        "{e:?}"
    );
    assert!(m.accesses.is_empty());
}

#[test]
fn stack_segment_limit_violations_raise_ss() {
    let mut v = FakeVcpu::at(0, 0);
    let mut m = FlatMemory::new(0x2_0000);
    v.gprs[Gpr::Rbp as usize] = 0xFFFE;
    // mov eax, [bp] (SS-relative): bytes 0xFFFE..0x10001 cross the limit
    let e = run(16, &[0x66, 0x8B, 0x46, 0x00], &mut v, &mut m);
    assert!(
        matches!(e, Err(EmuError::Fault(f)) if f.exception.vector == 12),
        "{e:?}"
    );
}

#[test]
fn non_canonical_addresses_raise_gp_in_64_bit_mode() {
    let mut v = FakeVcpu::default();
    v.segments[1].attrs |= crate::vcpu::Segment::ATTR_L;
    v.cr.efer = 1 << 10;
    v.cr.cr0 = 0x8000_0011;
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x0000_8000_0000_0000;
    // mov eax, [rbx]
    let e = run(64, &[0x8B, 0x03], &mut v, &mut m);
    assert!(
        matches!(e, Err(EmuError::Fault(f)) if f.exception.vector == 13),
        "{e:?}"
    );
    // a canonical address goes through
    v.gprs[Gpr::Rbx as usize] = 0x100;
    v.rip = 0;
    run(64, &[0x8B, 0x03], &mut v, &mut m).unwrap();
}

#[test]
fn expand_down_segments_reject_offsets_at_or_below_the_limit() {
    let mut v = FakeVcpu::at(0, 0);
    v.cr.cr0 = 0x11;
    // DS: expand-down data (type 7: read/write, expand-down, accessed), limit 0FFFh, 16-bit
    v.segments[3] = crate::vcpu::Segment {
        selector: 0x10,
        attrs: 0x97,
        limit: 0x0FFF,
        base: 0,
    };
    let mut m = FlatMemory::new(0x2_0000);
    v.gprs[Gpr::Rbx as usize] = 0x0800;
    assert!(
        run(16, &[0x8B, 0x07], &mut v, &mut m).is_err(),
        "offset below the limit faults"
    );
    v.gprs[Gpr::Rbx as usize] = 0x2000;
    v.rip = 0;
    run(16, &[0x8B, 0x07], &mut v, &mut m).unwrap();
}

#[test]
fn movdqu_moves_128_bits_between_xmm_and_memory() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.xmm[3] = 0x0011_2233_4455_6677_8899_AABB_CCDD_EEFF;
    v.gprs[Gpr::Rbx as usize] = 0x101; // unaligned is fine for MOVDQU
                                       // movdqu [rbx], xmm3
    run(64, &[0xF3, 0x0F, 0x7F, 0x1B], &mut v, &mut m).unwrap();
    assert_eq!(
        u128::from_le_bytes(m.bytes[0x101..0x111].try_into().unwrap()),
        v.xmm[3]
    );
    assert_eq!(m.accesses, [(true, 0x101, 16)]);
    v.rip = 0;
    // movdqu xmm9, [rbx]
    run(64, &[0xF3, 0x44, 0x0F, 0x6F, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(v.xmm[9], v.xmm[3]);
}

#[test]
fn movdqa_and_movaps_fault_on_misaligned_addresses() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.gprs[Gpr::Rbx as usize] = 0x108;
    // movdqa xmm0, [rbx]
    let e = run(64, &[0x66, 0x0F, 0x6F, 0x03], &mut v, &mut m);
    assert!(
        matches!(e, Err(EmuError::Fault(f)) if f.exception.vector == 13),
        "{e:?}"
    );
    // movaps [rbx], xmm0
    v.rip = 0;
    assert!(run(64, &[0x0F, 0x29, 0x03], &mut v, &mut m).is_err());
    v.gprs[Gpr::Rbx as usize] = 0x110;
    v.rip = 0;
    run(64, &[0x0F, 0x29, 0x03], &mut v, &mut m).unwrap();
}

#[test]
fn movd_and_movq_zero_the_rest_of_the_xmm_register() {
    let mut v = FakeVcpu::default();
    let mut m = FlatMemory::new(0x1000);
    v.xmm[1] = u128::MAX;
    m.bytes[0x40..0x48].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    v.gprs[Gpr::Rbx as usize] = 0x40;
    // movd xmm1, [rbx]
    run(64, &[0x66, 0x0F, 0x6E, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(v.xmm[1], 0x5566_7788);
    // movq xmm1, [rbx]
    v.rip = 0;
    run(64, &[0xF3, 0x0F, 0x7E, 0x0B], &mut v, &mut m).unwrap();
    assert_eq!(v.xmm[1], 0x1122_3344_5566_7788);
    // movq [rbx+8], xmm1
    v.rip = 0;
    run(64, &[0x66, 0x0F, 0xD6, 0x4B, 0x08], &mut v, &mut m).unwrap();
    assert_eq!(
        &m.bytes[0x48..0x50],
        &0x1122_3344_5566_7788u64.to_le_bytes()
    );
    // movd eax, xmm1
    v.rip = 0;
    v.gprs[Gpr::Rax as usize] = u64::MAX;
    run(64, &[0x66, 0x0F, 0x7E, 0xC8], &mut v, &mut m).unwrap();
    assert_eq!(v.gprs[Gpr::Rax as usize], 0x5566_7788);
}
