//! Intel VT-x behind the neutral vCPU trait.

use crate::vcpu::{
    ControlRegs, DeliveredEvent, DescriptorTable, EventKind, Exception, Gprs, IoAccess,
    IoDirection, SegReg, Segment, SystemSegReg, TaskSwitchSource, Vcpu, VirtInstruction, VmExit,
};
use core::fmt;
use vmx::exit::{InterruptionInfo, InterruptionType, TaskSwitchQualification};
use vmx::host::VmxHost;
use vmx::instructions::{read_cr2, write_cr2};
use vmx::vcpu::{ar_to_packed, packed_to_ar, SetupError, VmxExit};
use vmx::VmxVcpu;

/// A VT-x vCPU running over its domain's EPT.
pub struct VmxBackend<'h> {
    host: &'h VmxHost,
    vcpu: VmxVcpu,
}

/// Why a VT-x vCPU could not be built.
#[derive(Debug)]
pub enum VmxBackendError {
    Setup(SetupError),
}

impl fmt::Display for VmxBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmxBackendError::Setup(SetupError::Controls(m)) => write!(f, "{m}"),
            VmxBackendError::Setup(SetupError::Vmx(e, field)) => {
                write!(
                    f,
                    "VMCS set-up failed at field {field:#06x}: {}",
                    e.describe()
                )
            }
        }
    }
}

impl<'h> VmxBackend<'h> {
    /// A vCPU in the reset state with VPID `vpid`, translating through the
    /// EPT whose pointer is `eptp` (its domain's [`crate::second_level::GuestPhysicalMap`] root).
    pub fn new(host: &'h VmxHost, vpid: u16, eptp: u64) -> Result<Self, VmxBackendError> {
        let vcpu = VmxVcpu::new(host, vpid, eptp).map_err(VmxBackendError::Setup)?;
        match vcpu.preemption_timer() {
            Some(timer) => log::info!(
                "vmx: VMX-preemption timer at TSC/{} ends the guest's runs at device deadlines",
                1u64 << timer.shift.min(31)
            ),
            None => {
                log::info!("vmx: no VMX-preemption timer: device deadlines wait for the host tick")
            }
        }
        Ok(Self { host, vcpu })
    }
}

/// Maps a decoded VMX exit to the neutral type.
pub fn neutral_exit(exit: VmxExit) -> VmExit {
    match exit {
        VmxExit::Io { info, next_rip } => VmExit::Io(IoAccess {
            port: info.port,
            size: info.size,
            direction: if info.is_in {
                IoDirection::In
            } else {
                IoDirection::Out
            },
            string: info.string,
            rep: info.rep,
            next_rip: Some(next_rip),
        }),
        VmxExit::Cpuid => VmExit::Cpuid,
        VmxExit::Rdmsr => VmExit::MsrRead,
        VmxExit::Wrmsr => VmExit::MsrWrite,
        VmxExit::Hlt => VmExit::Hlt,
        VmxExit::TripleFault => VmExit::Shutdown,
        VmxExit::ExternalInterrupt => VmExit::ExternalInterrupt,
        VmxExit::InterruptWindow => VmExit::InterruptWindow,
        VmxExit::Nmi => VmExit::Nmi,
        VmxExit::Vmcall => VmExit::Hypercall,
        VmxExit::VmxInstruction => VmExit::VirtInstruction(VirtInstruction::Vmx),
        VmxExit::Xsetbv => VmExit::Xsetbv,
        VmxExit::Invd => VmExit::Invd,
        VmxExit::Wbinvd => VmExit::Wbinvd,
        VmxExit::PreemptionTimer => VmExit::PreemptionTimer,
        VmxExit::EptViolation {
            gpa,
            violation,
            during_delivery: Some(info),
        } => VmExit::NestedPageFaultDuringDelivery {
            gpa,
            write: violation.write,
            event: delivered_event(info),
        },
        VmxExit::EptViolation {
            gpa,
            violation,
            during_delivery: None,
        } => VmExit::NestedPageFault {
            gpa,
            write: violation.write,
            fetch: violation.fetch,
        },
        VmxExit::TaskSwitch {
            qualification,
            next_rip,
            event,
        } => task_switch(qualification, next_rip, event),
        VmxExit::InvalidGuestState {
            reason,
            qualification,
        } => VmExit::InvalidState {
            code: (u64::from(reason) << 32) | qualification,
        },
        VmxExit::EntryFailed(_) => VmExit::InvalidState { code: u64::MAX },
        // INIT and SIPI are their own exits (Intel SDM vol. 3C, 26.2 and
        // appendix C); a SIPI's qualification holds its vector.
        VmxExit::Other {
            reason: vmx::exit::reason::INIT,
            ..
        } => VmExit::Init,
        VmxExit::Other {
            reason: vmx::exit::reason::SIPI,
            qualification,
        } => VmExit::Sipi {
            vector: qualification as u8,
        },
        VmxExit::Other { reason, .. } => VmExit::Unknown {
            code: u64::from(reason),
        },
    }
}

/// The neutral task switch. A switch through a task gate without valid
/// IDT-vectoring information, which the SDM rules out (vol. 3C, 26.4.2),
/// stays an unknown exit.
fn task_switch(
    qualification: TaskSwitchQualification,
    next_rip: Option<u64>,
    event: Option<(InterruptionInfo, Option<u32>)>,
) -> VmExit {
    use vmx::exit::TaskSwitchSource as Vmx;
    let source = match (qualification.source, event) {
        (Vmx::Call, _) => TaskSwitchSource::Call,
        (Vmx::Jmp, _) => TaskSwitchSource::Jmp,
        (Vmx::Iret, _) => TaskSwitchSource::Iret,
        (Vmx::IdtGate, Some((info, error_code))) => {
            let DeliveredEvent { vector, kind } = delivered_event(info);
            TaskSwitchSource::Gate {
                vector,
                kind,
                error_code,
            }
        }
        (Vmx::IdtGate, None) => {
            return VmExit::Unknown {
                code: u64::from(vmx::exit::reason::TASK_SWITCH),
            }
        }
    };
    VmExit::TaskSwitch {
        selector: qualification.selector,
        source,
        next_rip,
    }
}

/// The neutral form of the event the IDT-vectoring information reports in
/// delivery (SDM vol. 3C, 25.9.3: types 0, 2, 3, 4, 5 and 6 only).
fn delivered_event(info: InterruptionInfo) -> DeliveredEvent {
    DeliveredEvent {
        vector: info.vector,
        kind: match info.kind {
            InterruptionType::ExternalInterrupt => EventKind::ExternalInterrupt,
            InterruptionType::Nmi => EventKind::Nmi,
            InterruptionType::HardwareException => EventKind::Exception,
            InterruptionType::SoftwareInterrupt
            | InterruptionType::PrivilegedSoftwareException
            | InterruptionType::SoftwareException
            | InterruptionType::Reserved
            | InterruptionType::OtherEvent => EventKind::Software,
        },
    }
}

/// LDTR and TR in the VMCS's guest segment order (ES, CS, SS, DS, FS, GS,
/// LDTR, TR).
fn system_index(seg: SystemSegReg) -> u32 {
    match seg {
        SystemSegReg::Ldtr => 6,
        SystemSegReg::Tr => 7,
    }
}

fn index(seg: SegReg) -> u32 {
    match seg {
        SegReg::Es => 0,
        SegReg::Cs => 1,
        SegReg::Ss => 2,
        SegReg::Ds => 3,
        SegReg::Fs => 4,
        SegReg::Gs => 5,
    }
}

impl Vcpu for VmxBackend<'_> {
    fn backend_name(&self) -> &'static str {
        "vmx"
    }

    fn run(&mut self) -> VmExit {
        neutral_exit(self.vcpu.run(self.host))
    }

    fn gprs(&self) -> &Gprs {
        &self.vcpu.gprs
    }

    fn gprs_mut(&mut self) -> &mut Gprs {
        &mut self.vcpu.gprs
    }

    fn rip(&self) -> u64 {
        self.vcpu.rip()
    }

    fn set_rip(&mut self, rip: u64) {
        self.vcpu.set_rip(rip);
    }

    fn rflags(&self) -> u64 {
        self.vcpu.rflags()
    }

    fn set_rflags(&mut self, rflags: u64) {
        self.vcpu.set_rflags(rflags);
    }

    fn control_regs(&self) -> ControlRegs {
        ControlRegs {
            cr0: self.vcpu.cr0(),
            cr2: read_cr2(),
            cr3: self.vcpu.cr3(),
            cr4: self.vcpu.cr4(),
            efer: self.vcpu.efer(),
        }
    }

    fn set_efer(&mut self, efer: u64) {
        self.vcpu.set_efer(efer);
    }

    fn set_cr2(&mut self, cr2: u64) {
        write_cr2(cr2);
    }

    fn segment(&self, seg: SegReg) -> Segment {
        let (selector, base, limit, ar) = self.vcpu.segment(index(seg));
        Segment {
            selector,
            attrs: ar_to_packed(ar),
            limit,
            base,
        }
    }

    fn set_segment(&mut self, seg: SegReg, v: Segment) {
        self.vcpu.set_segment(
            index(seg),
            v.selector,
            v.base,
            v.limit,
            packed_to_ar(v.attrs),
        );
    }

    fn gdtr(&self) -> DescriptorTable {
        let (base, limit) = self.vcpu.gdtr();
        DescriptorTable { base, limit }
    }

    fn idtr(&self) -> DescriptorTable {
        let (base, limit) = self.vcpu.idtr();
        DescriptorTable { base, limit }
    }

    fn system_segment(&self, seg: SystemSegReg) -> Segment {
        let (selector, base, limit, ar) = self.vcpu.segment(system_index(seg));
        Segment {
            selector,
            attrs: ar_to_packed(ar),
            limit,
            base,
        }
    }

    fn set_system_segment(&mut self, seg: SystemSegReg, v: Segment) {
        self.vcpu.set_segment(
            system_index(seg),
            v.selector,
            v.base,
            v.limit,
            packed_to_ar(v.attrs),
        );
    }

    fn set_pae_pdptes(&mut self, pdptes: [u64; 4]) {
        if let Err(e) = self.vcpu.set_pae_pdptes(pdptes) {
            log::error!("vmx: cannot load the PAE PDPTEs: {e:?}");
        }
    }

    fn set_control_regs(&mut self, c: ControlRegs) {
        if let Err(e) = self.vcpu.set_control_registers(c.cr0, c.cr3, c.cr4, c.efer) {
            log::error!("vmx: cannot load control registers: {e:?}");
        }
        write_cr2(c.cr2);
    }

    fn flush_guest_physical_translations(&mut self) {
        if let Err(e) = self.vcpu.flush_guest_physical_translations() {
            log::error!("vmx: INVEPT failed: {e:?}");
        }
    }

    fn set_descriptor_tables(&mut self, gdtr: DescriptorTable, idtr: DescriptorTable) {
        self.vcpu
            .set_descriptor_tables((gdtr.base, gdtr.limit), (idtr.base, idtr.limit));
    }

    fn reset(&mut self) {
        // The VMCS's guest state, entry controls, pending event, interrupt
        // window and cached translations.
        if let Err(e) = self.vcpu.reset() {
            log::error!("vmx: cannot reset the vCPU: {e:?}");
        }
        // CR2 is not in the VMCS: the guest's is the processor's own.
        write_cr2(0);
        for i in 0..16 {
            super::xmm::write_xmm(i, 0);
        }
    }

    fn cpl(&self) -> u8 {
        self.vcpu.cpl()
    }

    fn inject_exception(&mut self, e: Exception) {
        self.vcpu.inject_exception(e.vector, e.error_code);
    }

    fn interrupt_window_open(&self) -> bool {
        self.vcpu.interrupt_window_open()
    }

    fn inject_interrupt(&mut self, vector: u8) {
        self.vcpu.inject_interrupt(vector);
    }

    fn set_interrupt_window_exiting(&mut self, on: bool) {
        self.vcpu.set_interrupt_window_exiting(on);
    }

    fn set_exit_deadline(&mut self, deadline_tsc: Option<u64>) {
        self.vcpu.set_exit_deadline(deadline_tsc);
    }

    fn xmm(&self, index: u8) -> u128 {
        super::xmm::read_xmm(index)
    }

    fn set_xmm(&mut self, index: u8, value: u128) {
        super::xmm::write_xmm(index, value);
    }

    fn dump_backend_state(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("vmcs:")?;
        for (name, value) in self.vcpu.describe() {
            write!(out, " {name}={value:#x}")?;
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ept_violation_during_event_delivery_maps_to_its_own_exit_with_the_event() {
        use vmx::exit::EptViolation;
        let violation = EptViolation::decode(0x2); // a write
        let df = InterruptionInfo::decode(8 | (3 << 8) | (1 << 11) | (1 << 31));
        assert_eq!(
            neutral_exit(VmxExit::EptViolation {
                gpa: 0xC000_0040,
                violation,
                during_delivery: df,
            }),
            VmExit::NestedPageFaultDuringDelivery {
                gpa: 0xC000_0040,
                write: true,
                event: DeliveredEvent {
                    vector: 8,
                    kind: EventKind::Exception
                },
            }
        );
        // INT3 is a software exception (type 6), never a #DF whatever its vector.
        let int3 = InterruptionInfo::decode(3 | (6 << 8) | (1 << 31));
        assert!(matches!(
            neutral_exit(VmxExit::EptViolation {
                gpa: 0xC000_0018,
                violation,
                during_delivery: int3,
            }),
            VmExit::NestedPageFaultDuringDelivery {
                event: DeliveredEvent {
                    vector: 3,
                    kind: EventKind::Software
                },
                ..
            }
        ));
        assert!(matches!(
            neutral_exit(VmxExit::EptViolation {
                gpa: 0xFEE0_0000,
                violation,
                during_delivery: None,
            }),
            VmExit::NestedPageFault { write: true, .. }
        ));
    }

    #[test]
    fn task_switches_map_with_their_source_and_event() {
        use vmx::exit::TaskSwitchSource as Vmx;
        let q = |source| TaskSwitchQualification {
            selector: 0x28,
            source,
        };
        assert_eq!(
            neutral_exit(VmxExit::TaskSwitch {
                qualification: q(Vmx::Call),
                next_rip: Some(0x1005),
                event: None,
            }),
            VmExit::TaskSwitch {
                selector: 0x28,
                source: TaskSwitchSource::Call,
                next_rip: Some(0x1005),
            }
        );
        let df = InterruptionInfo::decode(8 | (3 << 8) | (1 << 11) | (1 << 31)).unwrap();
        assert_eq!(
            neutral_exit(VmxExit::TaskSwitch {
                qualification: q(Vmx::IdtGate),
                next_rip: None,
                event: Some((df, Some(0))),
            }),
            VmExit::TaskSwitch {
                selector: 0x28,
                source: TaskSwitchSource::Gate {
                    vector: 8,
                    kind: EventKind::Exception,
                    error_code: Some(0),
                },
                next_rip: None,
            }
        );
        assert_eq!(
            neutral_exit(VmxExit::TaskSwitch {
                qualification: q(Vmx::IdtGate),
                next_rip: None,
                event: None,
            }),
            VmExit::Unknown { code: 9 }
        );
    }

    #[test]
    fn the_preemption_timer_maps_to_its_own_neutral_exit_and_bucket() {
        let exit = neutral_exit(VmxExit::PreemptionTimer);
        assert_eq!(exit, VmExit::PreemptionTimer);
        assert_eq!(exit.reason().name(), "preemption-timer");
    }

    #[test]
    fn invd_and_wbinvd_map_to_their_neutral_exits() {
        assert_eq!(neutral_exit(VmxExit::Invd), VmExit::Invd);
        assert_eq!(neutral_exit(VmxExit::Wbinvd), VmExit::Wbinvd);
    }
}
