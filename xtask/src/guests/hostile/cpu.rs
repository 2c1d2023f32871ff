//! `hostile-cpu`: instructions a guest may use against the hypervisor, each
//! a probe with one result line, then `cli; hlt`:
//!
//! - real mode: INVD (completed as WBINVD, issue 11), an INT with SP = 0
//!   (the stack wraps to FFFAh), VMCALL, VMMCALL and XSETBV (#UD: no
//!   hypercall interface, no XSAVE);
//! - 16-bit protected mode: VMXON and VMRUN (#UD), INS into the ROM alias
//!   below 4 GiB and into the shadow ROM at F0000h (dropped: the ROM reads
//!   back unchanged) and into unclaimed MMIO (dropped; reads back all ones), REP INS into MMIO across a page,
//!   OUTS from MMIO (all ones reach the port);
//! - with paging, page 11000h not present: INSW whose word straddles 10FFFh
//!   and 11000h, REP INSB running into the page, OUTSW from it: #PF with
//!   CR2 = 11000h, the first page left as a processor leaves it (issue 11,
//!   string I/O across a page).
//!
//! String I/O reads and writes COM1's scratch register (3FFh), which holds
//! 5Ah.

use super::kit::{Prog, COM1_SCRATCH, PAGE_TABLE, SCRATCH, VAR_SP};
use super::ROM_PATTERN_OFFSET;
use iced_x86::code_asm::*;

pub const INVD: &str = "invd";
pub const INT_SP_WRAP: &str = "int-sp-wrap";
pub const VMCALL: &str = "vmcall";
pub const VMMCALL: &str = "vmmcall";
pub const XSETBV: &str = "xsetbv";
pub const VMXON: &str = "vmxon";
pub const VMRUN: &str = "vmrun";
pub const INS_INTO_ROM_ALIAS: &str = "ins-into-rom-alias";
pub const INS_INTO_SHADOW_ROM: &str = "ins-into-shadow-rom";
pub const INS_INTO_MMIO: &str = "ins-into-mmio";
pub const REP_INS_INTO_MMIO: &str = "rep-ins-into-mmio";
pub const OUTS_FROM_MMIO: &str = "outs-from-mmio";
pub const INSW_ACROSS_PAGE: &str = "insw-across-page";
pub const REP_INSB_ACROSS_PAGE: &str = "rep-insb-across-page";
pub const OUTSW_ACROSS_PAGE: &str = "outsw-across-page";
/// The last line.
pub const DONE: &str = "hostile-cpu: done";

/// The byte string-I/O probes read from COM1's scratch register.
pub const SCRATCH_BYTE: u8 = 0x5A;
/// Unclaimed MMIO (the HPET's default address; this board has none).
pub const MMIO: u32 = 0xFED0_0000;
/// The page the paging probes find not present, and the byte below it.
pub const HOLE: u32 = 0x11000;
pub const BELOW_HOLE_BYTE: u8 = 0xEE;

pub fn build() -> Vec<u8> {
    super::rom(Vec::new(), program)
}

/// The vector at which `int-sp-wrap` installs its handler.
const TEST_VECTOR: u32 = 0x60;

fn program(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.install_real_mode_handlers()?;
    // COM1's scratch register: the data string I/O reads.
    p.mov(dx, COM1_SCRATCH)?;
    p.mov(al, u32::from(SCRATCH_BYTE))?;
    p.out(dx, al)?;

    real_mode(p)?;
    p.enter_protected_mode()?;
    protected_mode(p)?;
    p.paging_on()?;
    paging(p)?;
    p.print(&format!("{DONE}\r\n"))?;
    p.halt()
}

fn real_mode(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.probe(INVD, |p| p.invd(), |_| Ok(()))?;

    // A software interrupt with SP = 0: FLAGS, CS and IP go to FFFEh, FFFCh
    // and FFFAh of the stack segment; the handler notes its SP, IRET pops
    // them and SP wraps back to 0.
    let handler = p.mark();
    let skip = p.mark();
    let skip_label = p.label(skip);
    p.jmp(skip_label)?;
    p.place(handler)?;
    p.mov(word_ptr(SCRATCH).es(), sp)?;
    p.iret()?;
    p.place(skip)?;
    let handler_at = p.addr(handler);
    p.probe(
        INT_SP_WRAP,
        |p| {
            p.mov(word_ptr(TEST_VECTOR * 4).es(), handler_at)?;
            p.mov(word_ptr(TEST_VECTOR * 4 + 2).es(), cs)?;
            p.mov(ax, 0x3000u32)?;
            p.mov(ss, ax)?;
            p.xor(sp, sp)?;
            p.int(TEST_VECTOR)?;
            p.mov(word_ptr(SCRATCH + 2).es(), sp)?;
            p.xor(ax, ax)?;
            p.mov(ss, ax)?;
            p.mov(sp, word_ptr(VAR_SP).es())?;
            Ok(())
        },
        |p| {
            p.print(" sp ")?;
            p.mov(ax, word_ptr(SCRATCH).ss())?;
            p.hex16()?;
            p.print(" ")?;
            p.mov(ax, word_ptr(SCRATCH + 2).ss())?;
            p.hex16()
        },
    )?;

    p.probe(VMCALL, |p| p.db(&[0x0F, 0x01, 0xC1]), |_| Ok(()))?;
    p.probe(VMMCALL, |p| p.db(&[0x0F, 0x01, 0xD9]), |_| Ok(()))?;
    p.probe(
        XSETBV,
        |p| {
            p.xor(ecx, ecx)?;
            p.xor(edx, edx)?;
            p.mov(eax, 1u32)?;
            p.db(&[0x0F, 0x01, 0xD1])
        },
        |_| Ok(()),
    )
}

/// Prints " <label> " and EAX.
fn show_eax(p: &mut Prog<'_>, label: &str) -> Result<(), IcedError> {
    p.print(&format!(" {label} "))?;
    p.hex32()
}

/// Prints " <label> " and the byte at flat address `at`.
fn show_byte_at(p: &mut Prog<'_>, label: &str, at: u32) -> Result<(), IcedError> {
    p.print(&format!(" {label} "))?;
    p.push(ebx)?;
    p.mov(ebx, at)?;
    p.mov(al, byte_ptr(ebx).es())?;
    p.pop(ebx)?;
    p.hex8()
}

/// `insb`/`insw` with 32-bit addressing (ES:EDI).
const A32_INSB: [u8; 2] = [0x67, 0x6C];
const A32_INSW: [u8; 2] = [0x67, 0x6D];
const A32_REP_INSB: [u8; 3] = [0x67, 0xF3, 0x6C];
/// `es: outsb`/`es: outsw` with 32-bit addressing (ES:ESI).
const A32_ES_OUTSB: [u8; 3] = [0x26, 0x67, 0x6E];
const A32_ES_OUTSW: [u8; 3] = [0x26, 0x67, 0x6F];

fn protected_mode(p: &mut Prog<'_>) -> Result<(), IcedError> {
    // VMXON [0]: an exit on VT-x, #UD on AMD; VMRUN: an intercept on SVM,
    // #UD on Intel. The guest must see #UD either way.
    p.probe(
        VMXON,
        |p| p.db(&[0xF3, 0x0F, 0xC7, 0x36, 0x00, 0x00]),
        |_| Ok(()),
    )?;
    p.probe(
        VMRUN,
        |p| {
            p.mov(eax, 0x5000u32)?;
            p.db(&[0x0F, 0x01, 0xD8])
        },
        |_| Ok(()),
    )?;

    let alias = 0xFFFF_0000 + ROM_PATTERN_OFFSET;
    p.probe(
        INS_INTO_ROM_ALIAS,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, alias)?;
            p.db(&A32_INSB)
        },
        |p| {
            show_byte_at(p, "read", alias)?;
            p.mov(eax, edi)?;
            show_eax(p, "edi")
        },
    )?;
    let shadow = 0xF_0000 + ROM_PATTERN_OFFSET;
    p.probe(
        INS_INTO_SHADOW_ROM,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, shadow)?;
            p.db(&A32_INSB)
        },
        |p| {
            show_byte_at(p, "read", shadow)?;
            p.mov(eax, edi)?;
            show_eax(p, "edi")
        },
    )?;
    p.probe(
        INS_INTO_MMIO,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, MMIO)?;
            p.db(&A32_INSB)
        },
        |p| {
            show_byte_at(p, "read", MMIO)?;
            p.mov(eax, edi)?;
            show_eax(p, "edi")
        },
    )?;
    p.probe(
        REP_INS_INTO_MMIO,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, MMIO + 0xFFC)?;
            p.mov(ecx, 8u32)?;
            p.db(&A32_REP_INSB)
        },
        |p| {
            p.mov(eax, ecx)?;
            show_eax(p, "ecx")?;
            p.mov(eax, edi)?;
            show_eax(p, "edi")
        },
    )?;
    p.probe(
        OUTS_FROM_MMIO,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(al, 0u32)?;
            p.out(dx, al)?;
            p.mov(esi, MMIO)?;
            p.db(&A32_ES_OUTSB)
        },
        |p| {
            p.print(" scratch ")?;
            p.mov(dx, COM1_SCRATCH)?;
            p.in_(al, dx)?;
            p.hex8()?;
            p.mov(al, u32::from(SCRATCH_BYTE))?;
            p.out(dx, al)?;
            p.mov(eax, esi)?;
            show_eax(p, "esi")
        },
    )
}

fn paging(p: &mut Prog<'_>) -> Result<(), IcedError> {
    // The 16 bytes below the hole hold EEh; the hole's page is not present.
    let mut fill = p.create_label();
    p.mov(edi, HOLE - 16)?;
    p.mov(cx, 16u32)?;
    p.mov(al, u32::from(BELOW_HOLE_BYTE))?;
    p.set_label(&mut fill)?;
    p.mov(byte_ptr(edi).es(), al)?;
    p.inc(edi)?;
    p.loop_(fill)?;
    p.mov(ebx, PAGE_TABLE + (HOLE >> 12) * 4)?;
    p.mov(dword_ptr(ebx).es(), 0u32)?;
    p.mov(eax, cr3)?;
    p.mov(cr3, eax)?;

    p.probe(
        INSW_ACROSS_PAGE,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, HOLE - 1)?;
            p.db(&A32_INSW)
        },
        |p| show_byte_at(p, "kept", HOLE - 1),
    )?;
    p.probe(
        REP_INSB_ACROSS_PAGE,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(edi, HOLE - 4)?;
            p.mov(ecx, 8u32)?;
            p.db(&A32_REP_INSB)
        },
        |p| {
            p.mov(eax, ecx)?;
            show_eax(p, "ecx")?;
            p.mov(eax, edi)?;
            show_eax(p, "edi")?;
            p.mov(ebx, HOLE - 4)?;
            p.mov(eax, dword_ptr(ebx).es())?;
            show_eax(p, "data")
        },
    )?;
    p.probe(
        OUTSW_ACROSS_PAGE,
        |p| {
            p.mov(dx, COM1_SCRATCH)?;
            p.mov(esi, HOLE - 1)?;
            p.db(&A32_ES_OUTSW)
        },
        |p| {
            p.mov(eax, esi)?;
            show_eax(p, "esi")
        },
    )
}
