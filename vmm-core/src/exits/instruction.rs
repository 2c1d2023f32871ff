//! Completing the instruction that exited: moving RIP past it, and what a
//! failed fetch of it means for the guest.

use super::flow::Flow;
use super::stop::StopReason;
use crate::domain::Domain;
use crate::emulator::fetch::{decode_at_rip, FetchError};
use crate::guest_paging::raise_page_fault;
use crate::vcpu::{Exception, Vcpu};

/// Queues `exception` for the guest, with a rate-limited log line saying why.
pub(super) fn inject(vcpu: &mut dyn Vcpu, dom: &mut Domain, exception: Exception, why: &str) {
    if dom.log_limits.injected_exception.allow() {
        log::warn!(
            "dom{}: injecting vector {} ({why}) at rip {:#x}",
            dom.id,
            exception.vector,
            vcpu.rip()
        );
    }
    vcpu.inject_exception(exception);
}

/// Moves RIP past the current instruction: to `next_rip` where the hardware
/// reported it, else past the decoded instruction.
pub(super) fn skip_instruction(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    next_rip: Option<u64>,
) -> Result<(), FetchError> {
    let next = match next_rip {
        Some(rip) => rip,
        None => decode_at_rip(vcpu, &mut dom.memory, dom.max_phys_bits)?.next_ip(),
    };
    vcpu.set_rip(next);
    Ok(())
}

/// Skips the instruction and continues, or turns a failed fetch into its flow.
pub(super) fn complete(vcpu: &mut dyn Vcpu, dom: &mut Domain, next_rip: Option<u64>) -> Flow {
    match skip_instruction(vcpu, dom, next_rip) {
        Ok(()) => Flow::Continue,
        Err(e) => fetch_failed(vcpu, e),
    }
}

/// The flow after a failed fetch: a #PF goes to the guest, anything else stops it.
pub(super) fn fetch_failed(vcpu: &mut dyn Vcpu, error: FetchError) -> Flow {
    match error {
        FetchError::PageFault { error_code, linear } => {
            raise_page_fault(vcpu, error_code, linear);
            Flow::Continue
        }
        other => Flow::Stop(StopReason::Undecodable(other)),
    }
}
