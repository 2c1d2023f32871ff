//! MOVS, STOS, LODS, CMPS, SCAS with and without REP/REPE/REPNE (Intel SDM
//! vol. 2B, the pages of each, and "REP/REPE/REPZ/REPNE/REPNZ—Repeat String
//! Operation Prefix"), when one of their memory operands is MMIO.
//!
//! At most [`MAX_ITERATIONS_PER_EXIT`] elements are moved per emulation; an
//! unfinished REP instruction keeps RIP so the guest executes it again, with
//! RSI/RDI/RCX already advanced, exactly as an interrupted REP string
//! instruction resumes on hardware.

use super::flags::{alu, AluOp, ZF};
use super::operands::{checked_linear, read_mem, read_reg, seg_reg, write_mem, write_reg};
use super::{EmuError, EmuMemory};
use crate::vcpu::{Gpr, SegReg, Vcpu, RFLAGS_DF};
use iced_x86::{Instruction, Mnemonic, OpKind, Register};

/// Most elements one emulation moves.
pub const MAX_ITERATIONS_PER_EXIT: u64 = 4096;

/// Whether the instruction finished or must run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Done,
    Again,
}

/// True for the mnemonics this family executes.
pub(super) fn handles(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Movsb
            | Movsw
            | Movsd
            | Movsq
            | Stosb
            | Stosw
            | Stosd
            | Stosq
            | Lodsb
            | Lodsw
            | Lodsd
            | Lodsq
    ) || matches!(
        m,
        Cmpsb | Cmpsw | Cmpsd | Cmpsq | Scasb | Scasw | Scasd | Scasq
    )
}

fn accumulator(size: u8) -> Register {
    match size {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    }
}

/// Address-size mask implied by a string operand kind.
fn address_mask(kind: OpKind) -> Option<u64> {
    match kind {
        OpKind::MemorySegSI | OpKind::MemoryESDI => Some(0xFFFF),
        OpKind::MemorySegESI | OpKind::MemoryESEDI => Some(0xFFFF_FFFF),
        OpKind::MemorySegRSI | OpKind::MemoryESRDI => Some(u64::MAX),
        _ => None,
    }
}

pub(super) fn execute(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<Progress, EmuError> {
    use Mnemonic::*;
    let m = insn.mnemonic();
    let unsupported = EmuError::Unsupported(m);
    let kinds: alloc::vec::Vec<OpKind> = (0..insn.op_count()).map(|i| insn.op_kind(i)).collect();
    let amask = kinds
        .iter()
        .find_map(|k| address_mask(*k))
        .ok_or(unsupported)?;
    let size = insn.memory_size().size() as u8;
    let step = if vcpu.rflags() & RFLAGS_DF != 0 {
        (size as u64).wrapping_neg()
    } else {
        size as u64
    };
    let src_seg = seg_reg(insn.memory_segment());
    let (uses_si, uses_di) = match m {
        Movsb | Movsw | Movsd | Movsq | Cmpsb | Cmpsw | Cmpsd | Cmpsq => (true, true),
        Lodsb | Lodsw | Lodsd | Lodsq => (true, false),
        _ => (false, true),
    };
    let is_compare = matches!(
        m,
        Cmpsb | Cmpsw | Cmpsd | Cmpsq | Scasb | Scasw | Scasd | Scasq
    );
    let rep = insn.has_rep_prefix() || insn.has_repne_prefix();
    let count = if rep {
        vcpu.gprs()[Gpr::Rcx as usize] & amask
    } else {
        1
    };
    let todo = count.min(MAX_ITERATIONS_PER_EXIT);
    let acc = accumulator(size);

    let mut si = vcpu.gprs()[Gpr::Rsi as usize] & amask;
    let mut di = vcpu.gprs()[Gpr::Rdi as usize] & amask;
    let mut done = 0;
    let mut stop_early = false;
    let mut result = Ok(());
    while done < todo {
        let element = (|| -> Result<bool, EmuError> {
            let src = if uses_si {
                Some(read_mem(
                    vcpu,
                    mem,
                    checked_linear(vcpu, src_seg, si, size)?,
                    size,
                )?)
            } else {
                None
            };
            let di_linear = |vcpu: &dyn Vcpu| checked_linear(vcpu, SegReg::Es, di, size);
            match m {
                Movsb | Movsw | Movsd | Movsq => {
                    write_mem(vcpu, mem, di_linear(vcpu)?, size, src.unwrap_or(0))?
                }
                Stosb | Stosw | Stosd | Stosq => {
                    let v = read_reg(vcpu, acc).ok_or(unsupported)?;
                    write_mem(vcpu, mem, di_linear(vcpu)?, size, v)?
                }
                Lodsb | Lodsw | Lodsd | Lodsq => {
                    write_reg(vcpu, acc, src.unwrap_or(0)).ok_or(unsupported)?
                }
                _ => {
                    // CMPS compares [rSI] with ES:[rDI]; SCAS the accumulator with ES:[rDI].
                    let right = read_mem(vcpu, mem, di_linear(vcpu)?, size)?;
                    let left = match src {
                        Some(v) => v,
                        None => read_reg(vcpu, acc).ok_or(unsupported)?,
                    };
                    let (_, flags) = alu(AluOp::Cmp, size, left, right, vcpu.rflags());
                    vcpu.set_rflags(flags);
                    let zf = flags & ZF != 0;
                    // REPE stops when ZF clears, REPNE when it sets.
                    return Ok(
                        rep && (insn.has_rep_prefix() && !zf || insn.has_repne_prefix() && zf)
                    );
                }
            }
            Ok(false)
        })();
        match element {
            Ok(stop) => {
                if uses_si {
                    si = si.wrapping_add(step) & amask;
                }
                if uses_di {
                    di = di.wrapping_add(step) & amask;
                }
                done += 1;
                if stop && is_compare {
                    stop_early = true;
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let g = vcpu.gprs_mut();
    if uses_si {
        g[Gpr::Rsi as usize] = (g[Gpr::Rsi as usize] & !amask) | si;
    }
    if uses_di {
        g[Gpr::Rdi as usize] = (g[Gpr::Rdi as usize] & !amask) | di;
    }
    if rep {
        let rcx = g[Gpr::Rcx as usize];
        g[Gpr::Rcx as usize] = (rcx & !amask) | ((count - done) & amask);
    }
    result?;
    Ok(if stop_early || done == count {
        Progress::Done
    } else {
        Progress::Again
    })
}
