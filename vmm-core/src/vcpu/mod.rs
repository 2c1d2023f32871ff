//! The backend-neutral virtual CPU: what the run loop and the exit handlers see.
//!
//! The SVM and VMX crates decode their own exit formats; `crate::backend` turns
//! those into [`VmExit`] and implements [`Vcpu`], so exit policy exists once.

mod exit;
mod registers;

pub use exit::{
    DeliveredEvent, EventKind, ExitReason, IoAccess, IoDirection, TaskSwitchSource,
    VirtInstruction, VmExit,
};
pub use registers::{
    ControlRegs, DescriptorTable, Gpr, Gprs, InitialState, SegReg, Segment, SystemSegReg, CR0_PE,
    CR0_PG, EFER_LMA, GPR_NAMES, RFLAGS_DF, RFLAGS_IF,
};

use core::fmt;

/// An exception to deliver to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    pub vector: u8,
    pub error_code: Option<u32>,
}

/// Exception vectors (Intel SDM vol. 3A, 7.15 "Exception and Interrupt Reference").
pub mod vector {
    pub const DE: u8 = 0;
    pub const UD: u8 = 6;
    pub const DF: u8 = 8;
    pub const SS: u8 = 12;
    pub const GP: u8 = 13;
    pub const PF: u8 = 14;
}

/// A hardware virtual CPU, as the run loop drives it.
pub trait Vcpu {
    /// Short name of the backend ("svm", "vmx").
    fn backend_name(&self) -> &'static str;
    /// Enters the guest and returns when it exits.
    fn run(&mut self) -> VmExit;
    /// The general-purpose registers.
    fn gprs(&self) -> &Gprs;
    /// The general-purpose registers, for changing.
    fn gprs_mut(&mut self) -> &mut Gprs;
    fn rip(&self) -> u64;
    fn set_rip(&mut self, rip: u64);
    fn rflags(&self) -> u64;
    fn set_rflags(&mut self, rflags: u64);
    /// CR0, CR2, CR3, CR4 and EFER as the guest sees them.
    fn control_regs(&self) -> ControlRegs;
    /// Sets EFER as the guest sees it (the backend keeps its own bits).
    fn set_efer(&mut self, efer: u64);
    /// Sets CR2 (the faulting address of a #PF being injected).
    fn set_cr2(&mut self, cr2: u64);
    fn segment(&self, seg: SegReg) -> Segment;
    /// Loads a segment register (selector and hidden part), as the BIOS does
    /// when it starts boot code.
    fn set_segment(&mut self, seg: SegReg, value: Segment);
    fn gdtr(&self) -> DescriptorTable;
    fn idtr(&self) -> DescriptorTable;
    /// LDTR or TR, hidden part included.
    fn system_segment(&self, seg: SystemSegReg) -> Segment;
    /// Loads LDTR or TR (selector and hidden part), as a task switch does.
    fn set_system_segment(&mut self, seg: SystemSegReg, value: Segment);
    /// Loads the four PAE page-directory-pointer-table entries the processor
    /// holds in registers once CR3 is loaded under PAE paging (Intel SDM
    /// vol. 3A, 4.4.1 "PDPTE Registers"), after the hypervisor loaded CR3 on
    /// the guest's behalf (a task switch): VT-x with EPT enters the guest
    /// with the PDPTEs of its VMCS fields (SDM vol. 3C, 27.3.2.4 "Loading
    /// Page-Directory-Pointer-Table Entries"). SVM has no such registers
    /// and ignores them.
    fn set_pae_pdptes(&mut self, pdptes: [u64; 4]);
    /// Loads CR0, CR2, CR3, CR4 and EFER as a starting state (the backend
    /// keeps its own bits and follows EFER.LMA in its entry controls).
    fn set_control_regs(&mut self, control: ControlRegs);
    /// Loads GDTR and IDTR, as LGDT and LIDT would.
    fn set_descriptor_tables(&mut self, gdtr: DescriptorTable, idtr: DescriptorTable);
    /// Invalidates what the processor cached of the domain's second-level
    /// translations before the next entry (after an unmap or a protect).
    fn flush_guest_physical_translations(&mut self);
    /// Puts the vCPU in `state` before its first entry: a boot path's
    /// starting point (Xen's PVH entry in 32-bit protected mode, say).
    fn load_initial_state(&mut self, state: &InitialState) {
        self.set_control_regs(state.control);
        self.set_descriptor_tables(state.gdtr, state.idtr);
        for (seg, value) in SegReg::ALL.into_iter().zip(state.segments) {
            self.set_segment(seg, value);
        }
        *self.gprs_mut() = state.gprs;
        self.set_rip(state.rip);
        self.set_rflags(state.rflags);
    }
    /// Puts the vCPU in the x86 power-on state, as a system reset does (Intel
    /// SDM vol. 3A, 10.1.1 "Processor State After Reset", table 10-1; AMD APM
    /// vol. 2, 14.1.3 "Processor Initialization State"): real mode at
    /// F000:FFF0 with CS base FFFF_0000h (the first fetch is at FFFF_FFF0h),
    /// CR0 6000_0010h, the other control registers, EFER and the
    /// general-purpose and XMM registers 0, RFLAGS 2, GDTR and IDTR at base 0
    /// with limit FFFFh; an event queued for injection and an interrupt-window
    /// request are dropped, and cached translations are flushed. The domain's
    /// memory and second-level map are not touched.
    fn reset(&mut self);
    /// Current privilege level.
    fn cpl(&self) -> u8;
    /// Queues an exception for delivery at the next entry.
    fn inject_exception(&mut self, exception: Exception);
    /// True when an external interrupt injected now would be delivered at once
    /// (RFLAGS.IF set, no interrupt shadow, no event already queued).
    fn interrupt_window_open(&self) -> bool;
    /// Queues external interrupt `vector` for delivery at the next entry.
    fn inject_interrupt(&mut self, vector: u8);
    /// Asks for a [`VmExit::InterruptWindow`] as soon as the guest can take an
    /// interrupt (on) or stops asking (off).
    fn set_interrupt_window_exiting(&mut self, on: bool);
    /// Asks for a [`VmExit::PreemptionTimer`] once the host TSC reaches
    /// `deadline_tsc` while the guest runs (None: no such exit), from the
    /// next entry on; the run loop sets it before every entry from the
    /// board's next device deadline, so a guest that computes without
    /// exiting takes its timer interrupt on time rather than at the host's
    /// next tick. VT-x has the VMX-preemption timer for it (Intel SDM vol.
    /// 3C, 26.5.1 "VMX-Preemption Timer"); a backend without such a timer
    /// ignores it and the host tick remains the bound.
    fn set_exit_deadline(&mut self, _deadline_tsc: Option<u64>) {}
    /// Guest register XMM`index` (0-15).
    fn xmm(&self, index: u8) -> u128;
    /// Sets guest register XMM`index` (0-15).
    fn set_xmm(&mut self, index: u8, value: u128);
    /// Writes the backend's own view of the guest (VMCB/VMCS fields) for a report.
    fn dump_backend_state(&self, out: &mut dyn fmt::Write) -> fmt::Result;
}

/// Writes the architectural state of `vcpu` in a form people read in bug reports.
pub fn dump_state(vcpu: &dyn Vcpu, out: &mut dyn fmt::Write) -> fmt::Result {
    let g = vcpu.gprs();
    for (i, name) in GPR_NAMES.iter().enumerate() {
        write!(out, "{name:>3}={:016x}", g[i])?;
        out.write_str(if i % 4 == 3 { "\n" } else { " " })?;
    }
    let cr = vcpu.control_regs();
    writeln!(
        out,
        "rip={:016x} rflags={:016x} cpl={}",
        vcpu.rip(),
        vcpu.rflags(),
        vcpu.cpl()
    )?;
    writeln!(
        out,
        "cr0={:016x} cr2={:016x} cr3={:016x} cr4={:016x} efer={:016x}",
        cr.cr0, cr.cr2, cr.cr3, cr.cr4, cr.efer
    )?;
    for (name, seg) in [
        ("es", SegReg::Es),
        ("cs", SegReg::Cs),
        ("ss", SegReg::Ss),
        ("ds", SegReg::Ds),
        ("fs", SegReg::Fs),
        ("gs", SegReg::Gs),
    ] {
        let s = vcpu.segment(seg);
        writeln!(
            out,
            "{name}={:04x} base={:016x} limit={:08x} attrs={:03x}",
            s.selector, s.base, s.limit, s.attrs
        )?;
    }
    let (gdt, idt) = (vcpu.gdtr(), vcpu.idtr());
    writeln!(
        out,
        "gdtr={:016x}/{:x} idtr={:016x}/{:x}",
        gdt.base, gdt.limit, idt.base, idt.limit
    )?;
    vcpu.dump_backend_state(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::FakeVcpu;

    #[test]
    fn an_initial_state_reaches_every_register_it_names() {
        let flat_code = Segment {
            selector: 0x10,
            attrs: 0xC9B,
            limit: 0xFFFF_FFFF,
            base: 0,
        };
        let flat_data = Segment {
            selector: 0x18,
            attrs: 0xC93,
            ..flat_code
        };
        let mut state = InitialState {
            rip: 0x100_0000,
            rflags: 0x2,
            control: ControlRegs {
                cr0: CR0_PE | 0x10,
                ..Default::default()
            },
            segments: [flat_data; 6],
            gdtr: DescriptorTable {
                base: 0x5000,
                limit: 0x1F,
            },
            idtr: DescriptorTable::default(),
            ..Default::default()
        };
        state.segments[1] = flat_code;
        state.gprs[Gpr::Rbx as usize] = 0x6000;
        let mut vcpu = FakeVcpu::default();
        vcpu.load_initial_state(&state);
        assert_eq!(vcpu.rip(), 0x100_0000);
        assert_eq!(vcpu.control_regs(), state.control);
        assert_eq!(vcpu.segment(SegReg::Cs), flat_code);
        assert_eq!(vcpu.segment(SegReg::Gs), flat_data);
        assert_eq!(vcpu.gdtr(), state.gdtr);
        assert_eq!(vcpu.idtr(), DescriptorTable::default());
        assert_eq!(vcpu.gprs()[Gpr::Rbx as usize], 0x6000);
    }
}
