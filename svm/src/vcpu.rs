//! One SVM virtual CPU: its VMCB, host VMSAVE page, permission maps and GPRs.

use crate::event::Event;
use crate::event::EventType;
use crate::exit::SvmExit;
use crate::host::{SvmHost, EFER_SVME};
use crate::intercepts::{default_misc1, default_misc2, Misc1};
use crate::permission_maps::{IoPermissionMap, MsrPermissionMap, VMLOAD_SWITCHED_MSRS};
use crate::phys_addr;
use crate::vmcb::control::{
    INTERRUPT_SHADOW, NP_ENABLE, TLB_FLUSH_ALL, V_IGN_TPR, V_INTR_MASKING, V_INTR_PRIO_SHIFT, V_IRQ,
};
use crate::vmcb::{ControlArea, OpaquePage, SaveArea, Vmcb, VmcbSegment};
use crate::world_switch::svm_world_switch;
use alloc::boxed::Box;

/// RAX's index in the GPR array.
const RAX: usize = 0;
/// RSP's index in the GPR array.
const RSP: usize = 4;

/// Segment attributes of the x86 reset state (AMD APM vol. 2, 14.1.3
/// "Processor Initialization State", table 14-1): present, S=1, type 3
/// (read/write data, accessed) or 0Bh (execute/read code, accessed).
const RESET_DATA_ATTRIB: u16 = 0x93;
const RESET_CODE_ATTRIB: u16 = 0x9B;
/// LDTR after reset: present, type 2 (LDT).
const RESET_LDTR_ATTRIB: u16 = 0x82;
/// TR after reset: present, type 0Bh (busy 32-bit TSS).
const RESET_TR_ATTRIB: u16 = 0x8B;
/// CR0 after reset: CD, NW, ET.
const RESET_CR0: u64 = 0x6000_0010;
/// The power-on PAT (APM vol. 2, 7.8.2 "PAT Register").
const RESET_PAT: u64 = 0x0007_0406_0007_0406;

/// An SVM vCPU. It runs only with an [`SvmHost`], i.e. with SVM enabled.
pub struct SvmVcpu {
    vmcb: Box<Vmcb>,
    host_save: Box<OpaquePage>,
    _iopm: Box<IoPermissionMap>,
    _msrpm: Box<MsrPermissionMap>,
    /// General-purpose registers in encoding order; RAX and RSP are copied to and
    /// from the VMCB around each VMRUN.
    pub gprs: [u64; 16],
}

impl SvmVcpu {
    /// A vCPU with address-space ID `asid` (1 or more) whose guest-physical
    /// memory is described by the nested page table at `n_cr3`, in the x86 reset
    /// state: real mode, executing at F000:FFF0 (physical FFFF_FFF0).
    pub fn new(asid: u32, n_cr3: u64) -> Self {
        let iopm = IoPermissionMap::intercept_all();
        let mut msrpm = MsrPermissionMap::intercept_all();
        for msr in VMLOAD_SWITCHED_MSRS {
            msrpm.pass_through(msr);
        }
        let mut vmcb = Vmcb::new_boxed();
        let c = &mut vmcb.control;
        c.intercept_misc1 = default_misc1().bits();
        c.intercept_misc2 = default_misc2().bits();
        c.iopm_base_pa = phys_addr(&*iopm);
        c.msrpm_base_pa = phys_addr(&*msrpm);
        c.guest_asid = asid.max(1);
        c.tlb_control = TLB_FLUSH_ALL;
        c.v_intr = V_INTR_MASKING;
        c.np_control = NP_ENABLE;
        c.n_cr3 = n_cr3;
        let mut vcpu = Self {
            vmcb,
            host_save: OpaquePage::new_boxed(),
            _iopm: iopm,
            _msrpm: msrpm,
            gprs: [0; 16],
        };
        vcpu.reset();
        vcpu
    }

    /// Puts the vCPU in the x86 power-on state (AMD APM vol. 2, 14.1.3, table 14-1).
    pub fn reset(&mut self) {
        let s = &mut self.vmcb.save;
        let data = VmcbSegment {
            selector: 0,
            attrib: RESET_DATA_ATTRIB,
            limit: 0xFFFF,
            base: 0,
        };
        s.es = data;
        s.ss = data;
        s.ds = data;
        s.fs = data;
        s.gs = data;
        s.cs = VmcbSegment {
            selector: 0xF000,
            attrib: RESET_CODE_ATTRIB,
            limit: 0xFFFF,
            base: 0xFFFF_0000,
        };
        s.gdtr = VmcbSegment {
            selector: 0,
            attrib: 0,
            limit: 0xFFFF,
            base: 0,
        };
        s.idtr = s.gdtr;
        s.ldtr = VmcbSegment {
            selector: 0,
            attrib: RESET_LDTR_ATTRIB,
            limit: 0xFFFF,
            base: 0,
        };
        s.tr = VmcbSegment {
            selector: 0,
            attrib: RESET_TR_ATTRIB,
            limit: 0xFFFF,
            base: 0,
        };
        s.cpl = 0;
        // VMRUN requires EFER.SVME in the guest state; the guest never sees it.
        s.efer = EFER_SVME;
        s.cr0 = RESET_CR0;
        s.cr2 = 0;
        s.cr3 = 0;
        s.cr4 = 0;
        s.dr6 = 0xFFFF_0FF0;
        s.dr7 = 0x400;
        s.rflags = 0x2;
        s.rip = 0xFFF0;
        s.g_pat = RESET_PAT;
        self.gprs = [0; 16];
        self.vmcb.control.event_inj = 0;
        self.vmcb.control.interrupt_shadow = 0;
        self.set_interrupt_window_exiting(false);
        self.vmcb.control.tlb_control = TLB_FLUSH_ALL;
    }

    /// Runs the guest until the next #VMEXIT and decodes it.
    pub fn run(&mut self, _host: &SvmHost) -> SvmExit {
        self.vmcb.save.rax = self.gprs[RAX];
        self.vmcb.save.rsp = self.gprs[RSP];
        let guest = phys_addr(&*self.vmcb);
        let host = phys_addr(&*self.host_save);
        // SAFETY: SVM is enabled with a host save area (the SvmHost proves it).
        // The VMCB, its permission maps and the host VMSAVE page are page-aligned
        // heap objects owned by self, and the nested page table they point to maps
        // only guest memory, so the guest cannot reach hypervisor memory. The
        // routine saves and restores every callee-saved register and the host's
        // hidden state, and writes only to `self.gprs`.
        unsafe { svm_world_switch(&mut self.gprs, guest, host) };
        self.gprs[RAX] = self.vmcb.save.rax;
        self.gprs[RSP] = self.vmcb.save.rsp;
        let c = &mut self.vmcb.control;
        // One flush after reset is enough: the ASID keeps this guest's TLB entries
        // apart from the host's.
        c.tlb_control = 0;
        let exit = SvmExit::decode_with_exit_int_info(
            c.exit_code,
            c.exit_info1,
            c.exit_info2,
            c.exit_int_info,
        );
        // An event whose delivery the exit interrupted must be delivered again
        // (APM vol. 2, 15.7.2), unless the handler injects something else.
        c.event_inj = match Event::decode(c.exit_int_info) {
            Some(ev) => ev.encode(),
            None => 0,
        };
        exit
    }

    /// The guest state the processor loads and saves.
    pub fn save(&self) -> &SaveArea {
        &self.vmcb.save
    }

    /// The guest state, for changing.
    pub fn save_mut(&mut self) -> &mut SaveArea {
        &mut self.vmcb.save
    }

    /// The control area (read-only: its policy is set here).
    pub fn control(&self) -> &ControlArea {
        &self.vmcb.control
    }

    /// Queues `event` for delivery at the next VMRUN (APM vol. 2, 15.20).
    pub fn inject(&mut self, event: Event) {
        self.vmcb.control.event_inj = event.encode();
    }

    /// True when an external interrupt injected now would be taken at once: the
    /// guest has RFLAGS.IF set, is not in an interrupt shadow, and no other event
    /// is queued (AMD APM vol. 2, 15.20 "Event Injection").
    pub fn interrupt_window_open(&self) -> bool {
        const RFLAGS_IF: u64 = 1 << 9;
        self.vmcb.save.rflags & RFLAGS_IF != 0
            && self.vmcb.control.interrupt_shadow & INTERRUPT_SHADOW == 0
            && self.vmcb.control.event_inj & (1 << 31) == 0
    }

    /// Injects external interrupt `vector` at the next VMRUN.
    pub fn inject_interrupt(&mut self, vector: u8) {
        self.inject(Event {
            vector,
            kind: EventType::Interrupt,
            error_code: None,
        });
    }

    /// Asks for a #VMEXIT(VINTR) as soon as the guest can take an interrupt: a
    /// virtual interrupt is made pending and its delivery intercepted (APM vol. 2,
    /// 15.21.4 "Interrupt Masking in EFLAGS" and 15.21.1 "Virtual Interrupt
    /// Intercept"), so the hypervisor then injects the real vector.
    pub fn set_interrupt_window_exiting(&mut self, on: bool) {
        let c = &mut self.vmcb.control;
        let window = V_IRQ | V_IGN_TPR | (0xF << V_INTR_PRIO_SHIFT);
        if on {
            c.v_intr |= window;
            c.intercept_misc1 |= Misc1::VINTR.bits();
        } else {
            c.v_intr &= !window;
            c.intercept_misc1 &= !Misc1::VINTR.bits();
        }
    }

    /// Moves the guest to `rip` after the hypervisor completed (or
    /// redirected) the instruction that exited, ending the interrupt shadow
    /// of a preceding STI or MOV SS, which covers only that one instruction
    /// (AMD APM vol. 2, 15.21.5 "Interrupt Shadows"; vol. 3, STI).
    pub fn set_rip(&mut self, rip: u64) {
        self.vmcb.save.rip = rip;
        self.vmcb.control.interrupt_shadow &= !INTERRUPT_SHADOW;
    }

    /// Sets the guest's EFER, keeping SVME set as VMRUN requires.
    pub fn set_efer(&mut self, efer: u64) {
        self.vmcb.save.efer = efer | EFER_SVME;
    }

    /// Invalidates the guest's cached guest-physical translations at the next
    /// VMRUN, after its nested page table changed (an entry removed or its
    /// permissions reduced): TLB_CONTROL flushes the whole TLB, the one value
    /// every SVM processor supports (AMD APM vol. 2, 15.16 "TLB Control").
    pub fn flush_guest_physical_translations(&mut self) {
        self.vmcb.control.tlb_control = TLB_FLUSH_ALL;
    }

    /// Loads CR0, CR3, CR4 and EFER as a starting state (EFER keeps our
    /// SVME; the first VMRUN flushes the ASID's TLB as after a reset).
    pub fn set_control_registers(&mut self, cr0: u64, cr3: u64, cr4: u64, efer: u64) {
        let s = &mut self.vmcb.save;
        s.cr0 = cr0;
        s.cr3 = cr3;
        s.cr4 = cr4;
        self.set_efer(efer);
        self.vmcb.control.tlb_control = TLB_FLUSH_ALL;
    }

    /// The guest's EFER as the guest sees it (without our SVME).
    pub fn guest_efer(&self) -> u64 {
        self.vmcb.save.efer & !EFER_SVME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completing_an_instruction_ends_the_sti_shadow() {
        let mut vcpu = SvmVcpu::new(1, 0);
        vcpu.vmcb.control.interrupt_shadow = INTERRUPT_SHADOW;
        vcpu.save_mut().rflags |= 1 << 9;
        assert!(
            !vcpu.interrupt_window_open(),
            "sti; hlt: the hlt is in the shadow"
        );
        vcpu.set_rip(0x1001);
        assert_eq!(vcpu.save().rip, 0x1001);
        assert!(
            vcpu.interrupt_window_open(),
            "past the hlt an interrupt may come in"
        );
    }
}
