//! The instruction emulator: what hardware virtualization leaves to software.
//! It fetches and decodes guest instructions through the guest's own paging
//! ([`fetch`]; also how instruction lengths are found where the CPU does not
//! report them), completes port string I/O ([`string_io`]), and executes
//! guest instructions whose memory operands the hardware could not complete
//! (MMIO). Instructions are
//! decoded with iced-x86 in the guest's mode; operands are read and written
//! through [`EmuMemory`], which splits every access into its guest-RAM and
//! MMIO parts, so one implementation of each instruction serves both.
//!
//! One file per instruction family, each citing the Intel SDM vol. 2
//! instruction pages it implements (Intel 64 and IA-32 Architectures Software
//! Developer's Manual, order no. 325462, rev. 084).

mod arith;
mod bits;
pub mod fetch;
pub mod flags;
pub mod guest_access;
mod mov;
pub mod operands;
pub mod shift;
mod sse;
mod stack;
pub mod string_io;
pub mod strings;
mod xchg;

use crate::vcpu::{vector, Exception, Vcpu};
use iced_x86::{Instruction, Mnemonic};

/// A fault an operand access raised, to be delivered to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestFault {
    pub exception: Exception,
    /// For #PF: the faulting linear address (goes to CR2).
    pub cr2: Option<u64>,
}

impl GuestFault {
    /// A #GP(0).
    pub fn gp() -> Self {
        Self {
            exception: Exception {
                vector: vector::GP,
                error_code: Some(0),
            },
            cr2: None,
        }
    }
}

/// Why an instruction was not emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmuError {
    /// The guest takes this fault; RIP stays at the instruction.
    Fault(GuestFault),
    /// Not an instruction this emulator executes: the guest gets #UD.
    Unsupported(Mnemonic),
    /// Memory the guest cannot have (a page table at `gpa`, outside RAM):
    /// stop the guest and report the address.
    Fatal { gpa: u64 },
}

/// Guest memory as the emulator reaches it: linear addresses (segmentation
/// already applied), translated and split into RAM and MMIO parts by the
/// implementation.
pub trait EmuMemory {
    fn read(&mut self, vcpu: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError>;
    fn write(&mut self, vcpu: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError>;
}

/// Executes `insn` (decoded at the guest's RIP) and moves RIP past it. On an
/// error nothing architectural has changed except what a partially completed
/// instruction leaves, as on hardware.
pub fn emulate(
    vcpu: &mut dyn Vcpu,
    mem: &mut dyn EmuMemory,
    insn: &Instruction,
) -> Result<(), EmuError> {
    match insn.mnemonic() {
        Mnemonic::Mov | Mnemonic::Movzx | Mnemonic::Movsx | Mnemonic::Movsxd | Mnemonic::Movnti => {
            mov::execute(vcpu, mem, insn)?
        }
        m if arith::handles(m) => arith::execute(vcpu, mem, insn)?,
        m if shift::handles(m) => shift::execute(vcpu, mem, insn)?,
        m if bits::handles(m) => bits::execute(vcpu, mem, insn)?,
        m if xchg::handles(m) => xchg::execute(vcpu, mem, insn)?,
        m if stack::handles(m) => stack::execute(vcpu, mem, insn)?,
        m if sse::handles(m) => sse::execute(vcpu, mem, insn)?,
        m if strings::handles(m) => {
            if strings::execute(vcpu, mem, insn)? == strings::Progress::Again {
                // An unfinished REP string instruction runs again from the same RIP.
                return Ok(());
            }
        }
        other => return Err(EmuError::Unsupported(other)),
    }
    vcpu.set_rip(insn.next_ip());
    Ok(())
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod differential_exec;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod native;
#[cfg(test)]
mod native_exec;
#[cfg(test)]
pub(crate) mod test_memory;
#[cfg(test)]
mod tests;
