//! `hostile-cr`: control-register and EFER writes a processor refuses with
//! #GP(0) (Intel SDM vol. 3A, 2.5 and 10.8.5; AMD APM vol. 2, 3.1), which
//! the hypervisor must refuse the same way where it completes the write
//! itself (issue 11: VMX completed MOV CR0/CR4 without checks), then
//! `cli; hlt`:
//!
//! in 16-bit protected mode: EFER.LME set while CR0.PG = 1 (paging on),
//! then with paging off CR0.PG with EFER.LME but without CR4.PAE, CR0.PG
//! without PE, CR0.NW without CD. Each result line also shows the bit of the
//! register, as the guest reads it back afterwards, that says whether the
//! write took effect.
//!
//! The EFER write is intercepted on both backends; the CR0 writes only on
//! VT-x (where the hypervisor owns bits of CR0): on SVM the processor checks
//! them, and QEMU's TCG does not, so there the next VMRUN refuses the state.

use super::kit::Prog;
use iced_x86::code_asm::*;

pub const CR4_RESERVED_BIT: &str = "cr4-reserved-bit";
pub const CR4_VMXE: &str = "cr4-vmxe";
pub const CR0_NW_WITHOUT_CD: &str = "cr0-nw-without-cd";
pub const CR0_PG_WITHOUT_PE: &str = "cr0-pg-without-pe";
pub const LME_PG_WITHOUT_PAE: &str = "lme-pg-without-pae";
pub const EFER_LME_WITH_PAGING: &str = "efer-lme-with-paging";
/// The last lines.
pub const DONE: &str = "hostile-cr: done";
pub const DONE_CR4: &str = "hostile-cr4: done";

const EFER: u32 = 0xC000_0080;
const EFER_LME: u32 = 1 << 8;
const CR0_PE: u32 = 1;
const CR0_NW: u32 = 1 << 29;
const CR0_CD: u32 = 1 << 30;
const CR0_PG: u32 = 1 << 31;

pub fn build() -> Vec<u8> {
    super::rom(Vec::new(), program)
}

/// Prints " <name> " and `bits` of the control register `read` loads into EAX.
fn show_bits(
    p: &mut Prog<'_>,
    name: &str,
    bits: u32,
    read: impl FnOnce(&mut Prog<'_>) -> Result<(), IcedError>,
) -> Result<(), IcedError> {
    p.print(&format!(" {name} "))?;
    read(p)?;
    p.and(eax, bits)?;
    p.hex32()
}

fn read_cr0(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.mov(eax, cr0)
}

fn read_cr4(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.mov(eax, cr4)
}

fn read_efer(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.mov(ecx, EFER)?;
    p.rdmsr()
}

/// EFER.LME on or off.
fn set_lme(p: &mut Prog<'_>, on: bool) -> Result<(), IcedError> {
    read_efer(p)?;
    if on {
        p.or(eax, EFER_LME)?;
    } else {
        p.and(eax, !EFER_LME)?;
    }
    p.wrmsr()
}

fn program(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.enter_protected_mode()?;
    p.paging_on()?;
    p.probe(
        EFER_LME_WITH_PAGING,
        |p| set_lme(p, true),
        |p| show_bits(p, "lme", EFER_LME, read_efer),
    )?;
    p.mov(eax, cr0)?;
    p.and(eax, !CR0_PG)?;
    p.mov(cr0, eax)?;
    p.probe(
        LME_PG_WITHOUT_PAE,
        |p| {
            set_lme(p, true)?;
            p.mov(eax, cr0)?;
            p.or(eax, CR0_PG)?;
            p.mov(cr0, eax)
        },
        |p| {
            show_bits(p, "pg", CR0_PG, read_cr0)?;
            set_lme(p, false)
        },
    )?;
    p.probe(
        CR0_PG_WITHOUT_PE,
        |p| {
            p.mov(eax, cr0)?;
            p.and(eax, !CR0_PE)?;
            p.or(eax, CR0_PG)?;
            p.mov(cr0, eax)
        },
        |p| show_bits(p, "pe", CR0_PE, read_cr0),
    )?;
    p.probe(
        CR0_NW_WITHOUT_CD,
        |p| {
            p.mov(eax, cr0)?;
            p.and(eax, !CR0_CD)?;
            p.or(eax, CR0_NW)?;
            p.mov(cr0, eax)
        },
        |p| show_bits(p, "cd", CR0_CD, read_cr0),
    )?;
    p.print(&format!("{DONE}\r\n"))?;
    p.halt()
}

/// `hostile-cr4`: CR4 with a reserved bit (15), then CR4.VMXE (VMX is not
/// offered to the guest): #GP(0) each, CR4 unchanged. On their own, since a
/// processor that does not check (QEMU's TCG) lets the bits into the guest
/// state the next VMRUN then refuses.
pub fn build_cr4() -> Vec<u8> {
    super::rom(Vec::new(), program_cr4)
}

fn program_cr4(p: &mut Prog<'_>) -> Result<(), IcedError> {
    p.prologue()?;
    p.install_real_mode_handlers()?;
    for (name, bit, label) in [(CR4_RESERVED_BIT, 15, "bit15"), (CR4_VMXE, 13, "vmxe")] {
        p.probe(
            name,
            |p| {
                p.mov(eax, cr4)?;
                p.or(eax, 1u32 << bit)?;
                p.mov(cr4, eax)
            },
            |p| show_bits(p, label, 1 << bit, read_cr4),
        )?;
    }
    p.print(&format!("{DONE_CR4}\r\n"))?;
    p.halt()
}
