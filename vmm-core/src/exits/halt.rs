//! HLT: sleep until an interrupt, or stop for good when none can come.

use super::flow::Flow;
use super::instruction::{fetch_failed, skip_instruction};
use super::stop::StopReason;
use crate::domain::Domain;
use crate::vcpu::{Vcpu, RFLAGS_IF};

pub(super) fn handle_hlt(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Flow {
    if vcpu.rflags() & RFLAGS_IF == 0 {
        return Flow::Stop(StopReason::HaltedForever);
    }
    match skip_instruction(vcpu, dom, None) {
        Ok(()) => Flow::Halt,
        Err(e) => fetch_failed(vcpu, e),
    }
}
