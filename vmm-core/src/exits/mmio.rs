//! Data accesses to guest-physical memory no RAM backs: the instruction is
//! decoded and emulated against the MMIO bus.

use super::flow::Flow;
use super::instruction::fetch_failed;
use super::stop::StopReason;
use crate::domain::Domain;
use crate::emulator::fetch::decode_at_rip;
use crate::emulator::guest_access::GuestAccess;
use crate::emulator::{emulate, EmuError};
use crate::vcpu::{vector, Exception, Vcpu};

pub(super) fn handle_mmio(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Flow {
    let insn = match decode_at_rip(vcpu, &mut dom.memory, dom.max_phys_bits) {
        Ok(insn) => insn,
        Err(e) => return fetch_failed(vcpu, e),
    };
    let mut access = GuestAccess {
        memory: &mut dom.memory,
        mmio: &mut dom.mmio,
        max_phys_bits: dom.max_phys_bits,
    };
    match emulate(vcpu, &mut access, &insn) {
        Ok(()) => Flow::Continue,
        Err(EmuError::Fault(f)) => {
            if let Some(cr2) = f.cr2 {
                vcpu.set_cr2(cr2);
            }
            vcpu.inject_exception(f.exception);
            Flow::Continue
        }
        Err(EmuError::Unsupported(m)) => {
            if dom.log_limits.unsupported_mmio_instruction.allow() {
                log::warn!(
                    "dom{}: MMIO access by unsupported instruction {m:?} at rip {:#x}: #UD",
                    dom.id,
                    vcpu.rip()
                );
            }
            vcpu.inject_exception(Exception {
                vector: vector::UD,
                error_code: None,
            });
            Flow::Continue
        }
        // A page table outside RAM: report where the walk went.
        Err(EmuError::Fatal { gpa }) => {
            Flow::Stop(StopReason::UnbackedAccess { gpa, write: false })
        }
    }
}
