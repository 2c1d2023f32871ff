//! IN/OUT and INS/OUTS: the device bus, and string I/O through the guest's
//! page tables.

use super::flow::Flow;
use super::instruction::complete;
use super::stop::StopReason;
use crate::domain::Domain;
use crate::emulator::guest_access::GuestAccess;
use crate::emulator::string_io::complete_string_io;
use crate::vcpu::{Gpr, IoAccess, IoDirection, Vcpu};

/// Mask of an access of `size` bytes.
fn size_mask(size: u8) -> u64 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

/// INS/OUTS (with REP) completed in the hypervisor.
pub(super) fn handle_string_io(vcpu: &mut dyn Vcpu, dom: &mut Domain, io: IoAccess) -> Flow {
    let mut access = GuestAccess {
        memory: &mut dom.memory,
        mmio: &mut dom.mmio,
        max_phys_bits: dom.max_phys_bits,
    };
    match complete_string_io(vcpu, &mut access, &mut dom.io, io) {
        Ok(_) => Flow::Continue,
        Err(error) => Flow::Stop(StopReason::StringIo {
            port: io.port,
            error,
        }),
    }
}

/// IN/OUT of AL, AX or EAX.
pub(super) fn handle_port_io(vcpu: &mut dyn Vcpu, dom: &mut Domain, io: IoAccess) -> Flow {
    let rax = vcpu.gprs()[Gpr::Rax as usize];
    match io.direction {
        IoDirection::Out => dom
            .io
            .write(io.port, io.size, (rax & size_mask(io.size)) as u32),
        IoDirection::In => {
            let v = u64::from(dom.io.read(io.port, io.size));
            // IN AL/AX keeps the rest of RAX; IN EAX zero-extends into RAX like
            // every 32-bit register write (Intel SDM vol. 1, 3.4.1.1).
            let new = if io.size == 4 {
                v
            } else {
                (rax & !size_mask(io.size)) | v
            };
            vcpu.gprs_mut()[Gpr::Rax as usize] = new;
        }
    }
    complete(vcpu, dom, io.next_rip)
}
