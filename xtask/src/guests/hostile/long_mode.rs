//! `hostile-long-mode`: what a guest may try in 64-bit mode (issue 11:
//! string I/O must not apply ES's base there; MOV to CR0/CR4 is checked as
//! the processor checks it). From 16-bit protected mode the guest turns on
//! long mode (PAE, EFER.LME, CR0.PG; the first 2 MiB identity-mapped with
//! one large page), jumps to a 64-bit block at F000:8000 with its own IDT,
//! runs the probes there, printing one line each, comes back to 16-bit
//! compatibility mode and leaves long mode:
//!
//! - `ins64-ignores-es-base`: ES loaded with a descriptor whose base is
//!   10000h, then INSB to RDI = 20000h: the byte lands at 20000h, not
//!   30000h (`ok at20000 5A at30000 00 rdi 0001`, RDI's low word);
//! - `cr0-bit-32`: a reserved bit of CR0's upper half: #GP(0);
//! - `efer-lme-clear-in-long-mode`: WRMSR clearing EFER.LME while paging is
//!   on: #GP(0);
//! - `cr4-bit-32`: a reserved bit of CR4's upper half: #GP(0);
//! - `cr4-pae-clear-in-long-mode`: clearing CR4.PAE with IA32_EFER.LMA = 1:
//!   #GP(0);
//! - `cr0-pg-clear-in-64-bit-mode`: leaving long mode from 64-bit code (CS.L
//!   = 1) by clearing CR0.PG: #GP(0).
//!
//! The last three are checked by the processor on SVM, which QEMU's TCG
//! does not do: the run ends at the first of them there.

use super::asm::{assemble_bits, Asm, Mark};
use super::kit::{descriptor, Prog, CODE_SEL, COM1_SCRATCH, EXTRA_SEL, FLAT_SEL, STACK_SEL};
use iced_x86::code_asm::*;

pub const INS64_IGNORES_ES_BASE: &str = "ins64-ignores-es-base";
pub const CR0_BIT_32: &str = "cr0-bit-32";
pub const CR4_BIT_32: &str = "cr4-bit-32";
pub const EFER_LME_CLEAR_IN_LONG_MODE: &str = "efer-lme-clear-in-long-mode";
pub const CR4_PAE_CLEAR_IN_LONG_MODE: &str = "cr4-pae-clear-in-long-mode";
pub const CR0_PG_CLEAR_IN_64_BIT_MODE: &str = "cr0-pg-clear-in-64-bit-mode";
/// The probes in the order they run and print.
const PROBES: [&str; 6] = [
    INS64_IGNORES_ES_BASE,
    CR0_BIT_32,
    EFER_LME_CLEAR_IN_LONG_MODE,
    CR4_BIT_32,
    CR4_PAE_CLEAR_IN_LONG_MODE,
    CR0_PG_CLEAR_IN_64_BIT_MODE,
];
pub const DONE: &str = "hostile-long-mode: done";

/// The 64-bit code selector and a data selector whose base is [`ES_BASE`].
const CODE64_SEL: u16 = EXTRA_SEL;
const ES_BASE_SEL: u16 = EXTRA_SEL + 8;
const ES_BASE: u32 = 0x10000;
/// Where INSB writes (RDI), and where it would with ES's base added.
const TARGET: u32 = 0x20000;
/// Where the 64-bit block is in the ROM, and its linear address.
const BLOCK_OFFSET: usize = 0x8000;
const BLOCK: u64 = 0xF0000 + BLOCK_OFFSET as u64;

/// The 4-level tables, the 64-bit IDT and stack.
const PML4: u32 = 0x8000;
const PDPT: u32 = 0x9000;
const PD: u32 = 0xA000;
const IDT64: u64 = 0xB000;
const STACK64: u64 = 0x5F00;
/// Shared between the two halves (flat addresses).
const RET16: u32 = 0x0700; // word: where the 64-bit block returns to
const SAVED_SP16: u32 = 0x0702; // word
const SAVED_RSP: u64 = 0x0708;
const CUR_REC: u64 = 0x0710;
const SAVED_IDTR: u64 = 0x0718;
/// One 16-byte record per probe: hit, vector, has-error, -, error code
/// (word), -, -, then three bytes of extras and a word.
const RECORDS: u32 = 0x0740;
const REC_LEN: u32 = 16;

const EFER: u32 = 0xC000_0080;

pub fn build() -> Vec<u8> {
    let extra = vec![
        descriptor(0, 0xF_FFFF, 0x9B, 0xA), // 64-bit code: L, G
        descriptor(ES_BASE, 0xFFFF, 0x93, 0x0),
    ];
    let mut rom = super::rom(extra, program);
    let block = assemble_bits(64, BLOCK, block64);
    assert!(
        rom[BLOCK_OFFSET - 16..BLOCK_OFFSET]
            .iter()
            .all(|b| *b == 0xF4),
        "the 16-bit code reaches the 64-bit block"
    );
    assert!(BLOCK_OFFSET + block.len() <= super::ROM_PATTERN_OFFSET as usize);
    rom[BLOCK_OFFSET..BLOCK_OFFSET + block.len()].copy_from_slice(&block);
    rom
}

fn set_efer_lme(p: &mut Prog<'_>, on: bool) -> Result<(), IcedError> {
    p.mov(ecx, EFER)?;
    p.rdmsr()?;
    if on {
        p.or(eax, 1u32 << 8)?;
    } else {
        p.and(eax, !(1u32 << 8))?;
    }
    p.wrmsr()
}

fn program(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.mov(dx, COM1_SCRATCH)?;
    p.mov(al, 0x5Au32)?;
    p.out(dx, al)?;
    p.enter_protected_mode()?;

    // The tables: PML4[0] -> PDPT[0] -> PD[0], a 2 MiB page at 0; records cleared.
    let mut clear = p.create_label();
    p.mov(edi, PML4)?;
    p.mov(ecx, (PD + 0x1000 - PML4) / 4)?;
    p.xor(eax, eax)?;
    p.set_label(&mut clear)?;
    p.mov(dword_ptr(edi).es(), eax)?;
    p.add(edi, 4u32)?;
    p.dec(ecx)?;
    p.jnz(clear)?;
    for (at, value) in [(PML4, PDPT | 3), (PDPT, PD | 3), (PD, 0x83)] {
        p.mov(ebx, at)?;
        p.mov(dword_ptr(ebx).es(), value)?;
    }
    p.mov(di, RECORDS)?;
    p.mov(cx, REC_LEN * PROBES.len() as u32 / 2)?;
    p.xor(ax, ax)?;
    p.rep().stosw()?;

    // Long mode: PAE, CR3, EFER.LME, then CR0.PG (compatibility mode).
    p.mov(eax, cr4)?;
    p.or(eax, 0x20u32)?;
    p.mov(cr4, eax)?;
    p.mov(eax, PML4)?;
    p.mov(cr3, eax)?;
    set_efer_lme(p, true)?;
    p.mov(eax, cr0)?;
    p.or(eax, 0x8000_0000u32)?;
    p.mov(cr0, eax)?;

    // To the 64-bit block, which comes back to `back`.
    let back = p.mark();
    let back_at = p.addr(back);
    p.mov(word_ptr(RET16).es(), back_at)?;
    p.mov(word_ptr(SAVED_SP16).es(), sp)?;
    let mut far = vec![0x66, 0xEA];
    far.extend((BLOCK as u32).to_le_bytes());
    far.extend(CODE64_SEL.to_le_bytes());
    p.db(&far)?; // o32 jmp far CODE64:BLOCK
    p.place(back)?;
    p.mov(ax, u32::from(STACK_SEL))?;
    p.mov(ss, ax)?;
    p.mov(ax, u32::from(FLAT_SEL))?;
    p.mov(es, ax)?;
    p.mov(sp, word_ptr(SAVED_SP16).es())?;

    // Out of long mode: CR0.PG off (from compatibility mode), then LME, PAE.
    p.mov(eax, cr0)?;
    p.and(eax, 0x7FFF_FFFFu32)?;
    p.mov(cr0, eax)?;
    set_efer_lme(p, false)?;
    p.mov(eax, cr4)?;
    p.and(eax, !0x20u32)?;
    p.mov(cr4, eax)?;

    p.print(&format!("{DONE}\r\n"))?;
    p.halt()
}

/// Vectors that push an error code.
const ERROR_CODE_VECTORS: [u8; 7] = [8, 10, 11, 12, 13, 14, 17];
/// A stub: `push imm32` (5 bytes), `jmp rel32` (5 bytes).
const STUB_LEN: u64 = 10;

/// A probe's body in the 64-bit block.
type Body = dyn Fn(&mut Asm) -> Result<(), IcedError>;

/// The 64-bit block.
fn block64(a: &mut Asm) -> Result<(), IcedError> {
    let stubs = a.mark();
    let catch = a.mark();
    let out = Output {
        putc: a.mark(),
        print: a.mark(),
        hex8: a.mark(),
        hex16: a.mark(),
    };
    let idtr = a.data(&{
        let mut d = (32u16 * 16 - 1).to_le_bytes().to_vec();
        d.extend(IDT64.to_le_bytes());
        d
    });

    a.mov(rsp, STACK64)?;
    a.sidt(ptr(SAVED_IDTR))?;
    // 32 interrupt gates to the stubs.
    let mut gate = a.create_label();
    let stubs_at = u64::from(a.addr(stubs));
    a.mov(rbx, stubs_at)?;
    a.mov(rdi, IDT64)?;
    a.mov(ecx, 32u32)?;
    a.set_label(&mut gate)?;
    a.mov(rax, rbx)?;
    a.mov(word_ptr(rdi), ax)?;
    a.mov(word_ptr(rdi + 2), u32::from(CODE64_SEL))?;
    a.mov(word_ptr(rdi + 4), 0x8E00u32)?;
    a.shr(rax, 16u32)?;
    a.mov(word_ptr(rdi + 6), ax)?;
    a.shr(rax, 16u32)?;
    a.mov(dword_ptr(rdi + 8), eax)?;
    a.mov(dword_ptr(rdi + 12), 0u32)?;
    a.add(rbx, STUB_LEN as i32)?;
    a.add(rdi, 16)?;
    a.dec(ecx)?;
    a.jnz(gate)?;
    a.lidt(ptr(u64::from(idtr)))?;

    let probes: [&Body; 6] = [
        &|a| {
            a.mov(byte_ptr(u64::from(TARGET)), 0u32)?;
            a.mov(byte_ptr(u64::from(TARGET + ES_BASE)), 0u32)?;
            a.mov(ax, u32::from(ES_BASE_SEL))?;
            a.mov(es, ax)?;
            a.mov(dx, COM1_SCRATCH)?;
            a.mov(rdi, u64::from(TARGET))?;
            a.insb()?;
            a.mov(rbx, qword_ptr(CUR_REC))?;
            a.mov(al, byte_ptr(u64::from(TARGET)))?;
            a.mov(byte_ptr(rbx + 8), al)?;
            a.mov(al, byte_ptr(u64::from(TARGET + ES_BASE)))?;
            a.mov(byte_ptr(rbx + 9), al)?;
            a.mov(word_ptr(rbx + 10), di)
        },
        &|a| {
            a.mov(rax, cr0)?;
            a.bts(rax, 32)?;
            a.mov(cr0, rax)
        },
        &|a| {
            a.mov(ecx, EFER)?;
            a.rdmsr()?;
            a.btr(eax, 8)?;
            a.wrmsr()
        },
        &|a| {
            a.mov(rax, cr4)?;
            a.bts(rax, 32)?;
            a.mov(cr4, rax)
        },
        &|a| {
            a.mov(rax, cr4)?;
            a.btr(rax, 5)?;
            a.mov(cr4, rax)
        },
        &|a| {
            a.mov(rax, cr0)?;
            a.btr(rax, 31)?;
            a.mov(cr0, rax)
        },
    ];
    for (i, body) in probes.iter().enumerate() {
        let mut sub = a.create_label();
        let mut after = a.create_label();
        a.mov(rbx, u64::from(RECORDS + i as u32 * REC_LEN))?;
        a.mov(qword_ptr(CUR_REC), rbx)?;
        a.call(sub)?;
        a.jmp(after)?;
        a.set_label(&mut sub)?;
        a.mov(qword_ptr(SAVED_RSP), rsp)?;
        body(a)?;
        a.ret()?;
        a.set_label(&mut after)?;
        a.zero_bytes()?;
        report(a, &out, i as u32, PROBES[i])?;
    }

    // Back to 16-bit compatibility mode with the legacy IDT.
    a.lidt(ptr(SAVED_IDTR))?;
    a.movzx(eax, word_ptr(u64::from(RET16)))?;
    a.push(i32::from(CODE_SEL))?;
    a.push(rax)?;
    a.db(&[0x48, 0xCB])?; // retfq

    emit_catch(a, stubs, catch)?;
    emit_output(a, &out)
}

/// Output routines of the 64-bit block (COM1, polled).
struct Output {
    putc: Mark,
    print: Mark,
    hex8: Mark,
    hex16: Mark,
}

fn call(a: &mut Asm, m: Mark) -> Result<(), IcedError> {
    let l = a.label(m);
    a.call(l)
}

fn print64(a: &mut Asm, out: &Output, text: &str) -> Result<(), IcedError> {
    let s = u64::from(a.string(text));
    a.mov(rsi, s)?;
    call(a, out.print)
}

/// Prints probe `i`'s line from its record.
fn report(a: &mut Asm, out: &Output, i: u32, name: &str) -> Result<(), IcedError> {
    let rec = u64::from(RECORDS + i * REC_LEN);
    let mut faulted = a.create_label();
    let mut no_err = a.create_label();
    let mut done = a.create_label();
    print64(a, out, &format!("{name}: "))?;
    a.mov(rbx, rec)?;
    a.cmp(byte_ptr(rbx), 0u32)?;
    a.jne(faulted)?;
    print64(a, out, "ok")?;
    if i == 0 {
        for (label, off) in [(" at20000 ", 8), (" at30000 ", 9)] {
            print64(a, out, label)?;
            a.mov(al, byte_ptr(rbx + off))?;
            call(a, out.hex8)?;
        }
        print64(a, out, " rdi ")?;
        a.mov(ax, word_ptr(rbx + 10))?;
        call(a, out.hex16)?;
    }
    a.jmp(done)?;
    a.set_label(&mut faulted)?;
    print64(a, out, "fault ")?;
    a.mov(al, byte_ptr(rbx + 1))?;
    call(a, out.hex8)?;
    a.cmp(byte_ptr(rbx + 2), 0u32)?;
    a.je(no_err)?;
    print64(a, out, " err ")?;
    a.mov(ax, word_ptr(rbx + 4))?;
    call(a, out.hex16)?;
    a.set_label(&mut no_err)?;
    a.zero_bytes()?;
    a.set_label(&mut done)?;
    print64(a, out, "\r\n")
}

fn emit_output(a: &mut Asm, out: &Output) -> Result<(), IcedError> {
    // putc: AL.
    a.place(out.putc)?;
    let mut wait = a.create_label();
    a.push(rdx)?;
    a.push(rax)?;
    a.set_label(&mut wait)?;
    a.mov(dx, 0x3FDu32)?;
    a.in_(al, dx)?;
    a.test(al, 0x20u32)?;
    a.jz(wait)?;
    a.pop(rax)?;
    a.mov(dx, 0x3F8u32)?;
    a.out(dx, al)?;
    a.pop(rdx)?;
    a.ret()?;
    // print: the NUL-terminated string at RSI.
    a.place(out.print)?;
    let mut next = a.create_label();
    let mut end = a.create_label();
    a.push(rax)?;
    a.push(rsi)?;
    a.set_label(&mut next)?;
    a.lodsb()?;
    a.test(al, al)?;
    a.jz(end)?;
    call(a, out.putc)?;
    a.jmp(next)?;
    a.set_label(&mut end)?;
    a.pop(rsi)?;
    a.pop(rax)?;
    a.ret()?;
    // hex8: AL; hex16: AX.
    let nibble = a.mark();
    a.place(out.hex8)?;
    a.push(rax)?;
    a.shr(al, 4u32)?;
    call(a, nibble)?;
    a.pop(rax)?;
    call(a, nibble)?;
    a.ret()?;
    a.place(out.hex16)?;
    a.push(rax)?;
    a.mov(al, ah)?;
    call(a, out.hex8)?;
    a.pop(rax)?;
    call(a, out.hex8)?;
    a.ret()?;
    a.place(nibble)?;
    let mut digit = a.create_label();
    a.push(rax)?;
    a.and(al, 0x0Fu32)?;
    a.add(al, u32::from(b'0'))?;
    a.cmp(al, u32::from(b'9'))?;
    a.jbe(digit)?;
    a.add(al, 7u32)?;
    a.set_label(&mut digit)?;
    call(a, out.putc)?;
    a.pop(rax)?;
    a.ret()
}

fn emit_catch(a: &mut Asm, stubs: Mark, catch: Mark) -> Result<(), IcedError> {
    let base = u64::from(a.addr(stubs));
    let catch_at = u64::from(a.addr(catch));
    a.place(stubs)?;
    for v in 0..32u64 {
        let has_error = ERROR_CODE_VECTORS.contains(&(v as u8));
        let next = base + (v + 1) * STUB_LEN;
        let rel = (catch_at.wrapping_sub(next) as u32).to_le_bytes();
        a.db(&[
            0x68,
            v as u8,
            u8::from(has_error),
            0,
            0,
            0xE9,
            rel[0],
            rel[1],
            rel[2],
            rel[3],
        ])?;
    }
    a.place(catch)?;
    let mut no_error = a.create_label();
    a.pop(rax)?;
    a.mov(rbx, qword_ptr(CUR_REC))?;
    a.mov(byte_ptr(rbx), 1u32)?;
    a.mov(byte_ptr(rbx + 1), al)?;
    a.mov(byte_ptr(rbx + 2), ah)?;
    a.test(ah, ah)?;
    a.jz(no_error)?;
    a.mov(rax, qword_ptr(rsp))?;
    a.mov(word_ptr(rbx + 4), ax)?;
    a.set_label(&mut no_error)?;
    a.mov(rsp, qword_ptr(SAVED_RSP))?;
    a.ret()
}
