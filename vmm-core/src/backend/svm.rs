//! AMD SVM behind the neutral vCPU trait.

use crate::vcpu::{
    ControlRegs, DeliveredEvent, DescriptorTable, EventKind, Exception, Gprs, IoAccess,
    IoDirection, SegReg, Segment, SystemSegReg, Vcpu, VirtInstruction, VmExit,
};
use core::fmt;
use svm::event::{Event, EventType};
use svm::exit::{SvmExit, SvmInstruction};
use svm::host::SvmHost;
use svm::vmcb::VmcbSegment;
use svm::SvmVcpu;

/// An SVM vCPU running over its domain's nested page table.
pub struct SvmBackend<'h> {
    host: &'h SvmHost,
    vcpu: SvmVcpu,
}

impl<'h> SvmBackend<'h> {
    /// A vCPU in the reset state with ASID `asid`, translating through the
    /// nested page table at `n_cr3` (its domain's [`crate::second_level::GuestPhysicalMap`] root).
    pub fn new(host: &'h SvmHost, asid: u32, n_cr3: u64) -> Self {
        Self {
            host,
            vcpu: SvmVcpu::new(asid, n_cr3),
        }
    }
}

/// Maps a decoded SVM exit to the neutral type.
pub fn neutral_exit(exit: SvmExit) -> VmExit {
    match exit {
        SvmExit::Ioio { info, next_rip } => VmExit::Io(IoAccess {
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
        SvmExit::Cpuid => VmExit::Cpuid,
        SvmExit::Msr { write: false } => VmExit::MsrRead,
        SvmExit::Msr { write: true } => VmExit::MsrWrite,
        SvmExit::Hlt => VmExit::Hlt,
        SvmExit::Shutdown => VmExit::Shutdown,
        SvmExit::Intr | SvmExit::Smi => VmExit::ExternalInterrupt,
        SvmExit::Init => VmExit::Init,
        SvmExit::Vintr => VmExit::InterruptWindow,
        SvmExit::Nmi => VmExit::Nmi,
        SvmExit::Vmmcall => VmExit::Hypercall,
        SvmExit::Svm(i) => VmExit::VirtInstruction(match i {
            SvmInstruction::Vmrun => VirtInstruction::Vmrun,
            SvmInstruction::Vmload => VirtInstruction::Vmload,
            SvmInstruction::Vmsave => VirtInstruction::Vmsave,
            SvmInstruction::Stgi => VirtInstruction::Stgi,
            SvmInstruction::Clgi => VirtInstruction::Clgi,
            SvmInstruction::Skinit => VirtInstruction::Skinit,
            SvmInstruction::Invlpga => VirtInstruction::Invlpga,
        }),
        SvmExit::Xsetbv => VmExit::Xsetbv,
        SvmExit::Invd => VmExit::Invd,
        SvmExit::Wbinvd => VmExit::Wbinvd,
        SvmExit::NestedPageFault(f) => match f.during_delivery {
            Some(event) => VmExit::NestedPageFaultDuringDelivery {
                gpa: f.gpa,
                write: f.write,
                event: delivered_event(event),
            },
            None => VmExit::NestedPageFault {
                gpa: f.gpa,
                write: f.write,
                fetch: f.fetch,
            },
        },
        SvmExit::Invalid => VmExit::InvalidState { code: u64::MAX },
        SvmExit::Exception { vector, .. } => VmExit::Unknown {
            code: 0x40 + u64::from(vector),
        },
        SvmExit::Other { code, .. } => VmExit::Unknown { code },
    }
}

/// The neutral form of an event EXITINTINFO reports in delivery.
fn delivered_event(event: Event) -> DeliveredEvent {
    DeliveredEvent {
        vector: event.vector,
        kind: match event.kind {
            EventType::Interrupt => EventKind::ExternalInterrupt,
            EventType::Nmi => EventKind::Nmi,
            EventType::Exception => EventKind::Exception,
            EventType::SoftwareInterrupt => EventKind::Software,
        },
    }
}

fn to_segment(s: &VmcbSegment) -> Segment {
    Segment {
        selector: s.selector,
        attrs: s.attrib,
        limit: s.limit,
        base: s.base,
    }
}

impl Vcpu for SvmBackend<'_> {
    fn backend_name(&self) -> &'static str {
        "svm"
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
        self.vcpu.save().rip
    }

    fn set_rip(&mut self, rip: u64) {
        self.vcpu.set_rip(rip);
    }

    fn rflags(&self) -> u64 {
        self.vcpu.save().rflags
    }

    fn set_rflags(&mut self, rflags: u64) {
        self.vcpu.save_mut().rflags = rflags;
    }

    fn control_regs(&self) -> ControlRegs {
        let s = self.vcpu.save();
        ControlRegs {
            cr0: s.cr0,
            cr2: s.cr2,
            cr3: s.cr3,
            cr4: s.cr4,
            efer: self.vcpu.guest_efer(),
        }
    }

    fn set_efer(&mut self, efer: u64) {
        self.vcpu.set_efer(efer);
    }

    fn set_cr2(&mut self, cr2: u64) {
        self.vcpu.save_mut().cr2 = cr2;
    }

    fn segment(&self, seg: SegReg) -> Segment {
        let s = self.vcpu.save();
        to_segment(match seg {
            SegReg::Es => &s.es,
            SegReg::Cs => &s.cs,
            SegReg::Ss => &s.ss,
            SegReg::Ds => &s.ds,
            SegReg::Fs => &s.fs,
            SegReg::Gs => &s.gs,
        })
    }

    fn set_segment(&mut self, seg: SegReg, v: Segment) {
        let s = self.vcpu.save_mut();
        let target = match seg {
            SegReg::Es => &mut s.es,
            SegReg::Cs => &mut s.cs,
            SegReg::Ss => &mut s.ss,
            SegReg::Ds => &mut s.ds,
            SegReg::Fs => &mut s.fs,
            SegReg::Gs => &mut s.gs,
        };
        *target = VmcbSegment {
            selector: v.selector,
            attrib: v.attrs,
            limit: v.limit,
            base: v.base,
        };
    }

    fn system_segment(&self, seg: SystemSegReg) -> Segment {
        let s = self.vcpu.save();
        to_segment(match seg {
            SystemSegReg::Ldtr => &s.ldtr,
            SystemSegReg::Tr => &s.tr,
        })
    }

    fn set_system_segment(&mut self, seg: SystemSegReg, v: Segment) {
        let s = self.vcpu.save_mut();
        let target = match seg {
            SystemSegReg::Ldtr => &mut s.ldtr,
            SystemSegReg::Tr => &mut s.tr,
        };
        *target = VmcbSegment {
            selector: v.selector,
            attrib: v.attrs,
            limit: v.limit,
            base: v.base,
        };
    }

    /// The VMCB has no PDPTE fields (AMD APM vol. 2, appendix B, table B-2
    /// "VMCB Layout, State Save Area"): nothing to load. Task switches, the
    /// one caller, are not intercepted on SVM: the processor performs them
    /// itself (`svm::intercepts::default_misc1`).
    fn set_pae_pdptes(&mut self, _pdptes: [u64; 4]) {}

    fn gdtr(&self) -> DescriptorTable {
        let s = &self.vcpu.save().gdtr;
        DescriptorTable {
            base: s.base,
            limit: s.limit,
        }
    }

    fn idtr(&self) -> DescriptorTable {
        let s = &self.vcpu.save().idtr;
        DescriptorTable {
            base: s.base,
            limit: s.limit,
        }
    }

    fn set_control_regs(&mut self, c: ControlRegs) {
        self.vcpu.set_control_registers(c.cr0, c.cr3, c.cr4, c.efer);
        self.vcpu.save_mut().cr2 = c.cr2;
    }

    fn flush_guest_physical_translations(&mut self) {
        self.vcpu.flush_guest_physical_translations();
    }

    fn set_descriptor_tables(&mut self, gdtr: DescriptorTable, idtr: DescriptorTable) {
        let s = self.vcpu.save_mut();
        for (target, value) in [(&mut s.gdtr, gdtr), (&mut s.idtr, idtr)] {
            target.base = value.base;
            target.limit = value.limit;
        }
    }

    fn reset(&mut self) {
        // The VMCB's guest state, pending event, interrupt window and TLB.
        self.vcpu.reset();
        for i in 0..16 {
            super::xmm::write_xmm(i, 0);
        }
    }

    fn cpl(&self) -> u8 {
        self.vcpu.save().cpl
    }

    fn inject_exception(&mut self, e: Exception) {
        self.vcpu.inject(Event::exception(e.vector, e.error_code));
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

    /// Nothing to do: AMD SVM has no equivalent of VT-x's VMX-preemption
    /// timer, no VMCB control that ends VMRUN when the TSC reaches a value
    /// (AMD APM vol. 2, 15.9 "Instruction Intercepts" and 15.13 "Miscellaneous
    /// Intercepts" list none), so on SVM the host's timer tick, taken
    /// through the INTR intercept (15.21.1 "Physical Interrupt Masking"),
    /// remains what bounds a device deadline's delay while the guest runs.
    fn set_exit_deadline(&mut self, _deadline_tsc: Option<u64>) {}

    fn xmm(&self, index: u8) -> u128 {
        super::xmm::read_xmm(index)
    }

    fn set_xmm(&mut self, index: u8, value: u128) {
        super::xmm::write_xmm(index, value);
    }

    fn dump_backend_state(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let c = self.vcpu.control();
        writeln!(
            out,
            "vmcb: exitcode={:#x} exitinfo1={:#x} exitinfo2={:#x} exitintinfo={:#x} eventinj={:#x} asid={} ncr3={:#x}",
            c.exit_code, c.exit_info1, c.exit_info2, c.exit_int_info, c.event_inj, c.guest_asid, c.n_cr3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioio_exit_maps_to_neutral_io_with_next_rip() {
        let e = SvmExit::decode(0x7B, (0x3F8 << 16) | (1 << 4) | (1 << 7) | 1, 0x1234);
        assert_eq!(
            neutral_exit(e),
            VmExit::Io(IoAccess {
                port: 0x3F8,
                size: 1,
                direction: IoDirection::In,
                string: false,
                rep: false,
                next_rip: Some(0x1234)
            })
        );
    }

    #[test]
    fn invd_and_wbinvd_map_to_their_neutral_exits() {
        assert_eq!(neutral_exit(SvmExit::decode(0x76, 0, 0)), VmExit::Invd);
        assert_eq!(neutral_exit(SvmExit::decode(0x89, 0, 0)), VmExit::Wbinvd);
    }

    #[test]
    fn an_npf_during_event_delivery_maps_to_its_own_exit_with_the_event() {
        let npf = |info1, gpa, exit_int_info| {
            neutral_exit(SvmExit::decode_with_exit_int_info(
                0x400,
                info1,
                gpa,
                exit_int_info,
            ))
        };
        // INT3 (#BP, type 3) in delivery, its frame push faulted (a write).
        let int3 = 3 | (3 << 8) | (1 << 31);
        assert_eq!(
            npf(0x6, 0xC000_0018, int3),
            VmExit::NestedPageFaultDuringDelivery {
                gpa: 0xC000_0018,
                write: true,
                event: DeliveredEvent {
                    vector: 3,
                    kind: EventKind::Exception
                },
            }
        );
        // #DF (error code 0) in delivery.
        let df = 8 | (3 << 8) | (1 << 11) | (1 << 31);
        assert!(matches!(
            npf(0x4, 0xC000_0040, df),
            VmExit::NestedPageFaultDuringDelivery { event, .. } if event.is_double_fault()
        ));
        // IRQ0 of a real-mode PIC is vector 8 too, but an interrupt, not #DF.
        let irq0 = 8 | (1 << 31);
        assert!(matches!(
            npf(0x6, 0xF000, irq0),
            VmExit::NestedPageFaultDuringDelivery { event, .. }
                if !event.is_double_fault() && event.kind == EventKind::ExternalInterrupt
        ));
        // Nothing in delivery: the instruction's own access.
        assert_eq!(
            npf(0x4, 0xFEE0_0000, 0),
            VmExit::NestedPageFault {
                gpa: 0xFEE0_0000,
                write: false,
                fetch: false
            }
        );
    }

    #[test]
    fn shutdown_and_invalid_map_to_stops() {
        assert_eq!(neutral_exit(SvmExit::decode(0x7F, 0, 0)), VmExit::Shutdown);
        assert!(matches!(
            neutral_exit(SvmExit::decode(u64::MAX, 0, 0)),
            VmExit::InvalidState { .. }
        ));
    }
}
