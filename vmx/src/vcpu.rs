//! One VT-x virtual CPU: its VMCS, I/O and MSR bitmaps and GPRs (Intel SDM
//! vol. 3C, 25 "Virtual Machine Control Structures" for the fields, 27.3
//! "Checking and Loading Guest State" for what the reset state must satisfy).
//!
//! The guest starts in the x86 reset state (real mode at F000:FFF0, CS base
//! FFFF0000h) under unrestricted guest. The host owns the CR0/CR4 bits VMX
//! operation forces; `control_registers` hides them from the guest and
//! completes the guest's writes to them. Exits are decoded by
//! [`crate::exit`].

use crate::capabilities::{EptVpidCap, MissingControls};
use crate::controls::{
    EntryControls, ExitControls, PinBasedControls, PrimaryControls, SecondaryControls,
};
use crate::exit::{
    decode, encode_entry_interruption, entry_error_code, reason, Decoded, InterruptionInfo,
    InterruptionType,
};
use crate::fields::{natural as n, w16, w32, w64};
use crate::host::{Page, VmxHost};
use crate::instructions::{
    self, invept, invvpid_single, vmclear, vmptrld, vmread, vmwrite, VmxError,
};
use crate::phys_addr;
use crate::world_switch::vmx_world_switch;
use alloc::boxed::Box;

mod control_registers;
mod preemption_timer;
mod protected_mode_entry;

pub use crate::access_rights::{ar_to_packed, packed_to_ar};
pub use crate::exit::VmxExit;
pub use control_registers::efer_after_cr0_write;
pub use preemption_timer::{timer_value, PreemptionTimer};

const RSP: usize = 4;
/// CS in the guest segment order (ES, CS, SS, DS, FS, GS, LDTR, TR).
const SEGMENT_CS: u32 = 1;
/// Reset-state access rights: present read/write data, present execute/read code,
/// LDT, busy 32-bit TSS (SDM vol. 3A, 10.1.1 table 10-1).
const AR_DATA: u32 = 0x93;
const AR_CODE: u32 = 0x9B;
const AR_LDT: u32 = 0x82;
const AR_TSS: u32 = 0x8B;
/// Interruptibility state bits 0-1: blocking by STI, by MOV SS (SDM 25.4.2).
const BLOCKING_BY_STI_OR_MOV_SS: u64 = 0b11;
/// RFLAGS.IF.
const RFLAGS_IF: u64 = 1 << 9;
/// The entry-interruption-information valid bit.
const INTERRUPTION_VALID: u64 = 1 << 31;

/// Why the VMCS could not be set up.
#[derive(Debug)]
pub enum SetupError {
    Controls(MissingControls),
    Vmx(VmxError, u32),
}

/// Reads a VMCS field of the current VMCS (each vCPU's VMCS is made current
/// at creation and there is one vCPU per processor).
fn read(field: u32) -> u64 {
    // SAFETY: in VMX root operation (the VmxHost the vCPU was built with) with
    // this vCPU's VMCS current.
    unsafe { vmread(field) }.unwrap_or(0)
}

fn write(field: u32, value: u64) -> Result<(), SetupError> {
    // SAFETY: as for `read`; the values written are the guest's own state or
    // controls computed from the capability MSRs, with EPT confining the guest.
    unsafe { vmwrite(field, value) }.map_err(|e| SetupError::Vmx(e, field))
}

/// Guest segment fields, in the order ES, CS, SS, DS, FS, GS, LDTR, TR.
fn segment_fields(i: u32) -> (u32, u32, u32, u32) {
    (
        w16::GUEST_ES_SELECTOR + 2 * i,
        n::GUEST_ES_BASE + 2 * i,
        w32::GUEST_ES_LIMIT + 2 * i,
        w32::GUEST_ES_ACCESS_RIGHTS + 2 * i,
    )
}

/// A VT-x vCPU. It runs only with a [`VmxHost`].
pub struct VmxVcpu {
    vmcs: Box<Page>,
    _io_bitmaps: Box<[Page; 2]>,
    _msr_bitmap: Box<Page>,
    /// General-purpose registers in encoding order; RSP lives in the VMCS.
    pub gprs: [u64; 16],
    launched: bool,
    pin: PinBasedControls,
    primary: PrimaryControls,
    entry: EntryControls,
    cr0_fixed: (u64, u64),
    cr4_fixed: (u64, u64),
    /// The EPT pointer and how this processor invalidates its translations.
    eptp: u64,
    invept_kind: Option<InveptKind>,
    /// The guest's CS RPL while VM entry is given another one (see
    /// `protected_mode_entry`).
    kept_cs_rpl: Option<protected_mode_entry::KeptRpl>,
    /// The processor's VMX-preemption timer, if it has one, and the TSC at
    /// which the guest must exit (`preemption_timer`).
    preemption_timer: Option<PreemptionTimer>,
    exit_deadline_tsc: Option<u64>,
}

/// The INVEPT types (Intel SDM vol. 3C, 29.4.3.1; INVEPT in vol. 2B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InveptKind {
    /// Type 1: the translations derived from one EPTP.
    SingleContext,
    /// Type 2: every EPTP's translations.
    AllContexts,
}

/// Invalidates the cached translations derived from `eptp`, the narrowest
/// way this processor offers (none: it caches none the hypervisor can see).
fn flush_ept(kind: Option<InveptKind>, eptp: u64) -> Result<(), SetupError> {
    match kind {
        // SAFETY: VMX root operation (a VmxHost exists); single-context INVEPT
        // is supported and only invalidates TLB entries.
        Some(InveptKind::SingleContext) => unsafe { invept(1, eptp) },
        // SAFETY: as above, all-context INVEPT is supported.
        Some(InveptKind::AllContexts) => unsafe { invept(2, 0) },
        None => Ok(()),
    }
    .map_err(|e| SetupError::Vmx(e, w64::EPT_POINTER))
}

impl VmxVcpu {
    /// A vCPU with VPID `vpid` over the EPT hierarchy `eptp`, in the reset state.
    pub fn new(host: &VmxHost, vpid: u16, eptp: u64) -> Result<Self, SetupError> {
        let caps = &host.caps;
        let vmcs = Page::with_revision(caps.basic.revision_id);
        let io_bitmaps = Box::new([Page([0xFF; 4096]), Page([0xFF; 4096])]);
        let mut msr_bitmap = Box::new(Page([0xFF; 4096]));
        // Pass through the MSRs the host never uses (SYSCALL targets and
        // KernelGSBase are not switched by VMX, but the hypervisor never runs
        // SYSCALL/SWAPGS) and those the VMCS switches (SYSENTER, FS/GS base).
        for msr in [
            0x174u32,
            0x175,
            0x176,
            0xC000_0081,
            0xC000_0082,
            0xC000_0083,
            0xC000_0084,
            0xC000_0100,
            0xC000_0101,
            0xC000_0102,
        ] {
            let (offset, index) = if msr >= 0xC000_0000 {
                (0x400, msr - 0xC000_0000)
            } else {
                (0, msr)
            };
            for area in [0usize, 0x800] {
                let byte = area + offset + (index / 8) as usize;
                msr_bitmap.0[byte] &= !(1 << (index % 8));
            }
        }
        let vmcs_pa = phys_addr(&*vmcs);
        // SAFETY: in VMX root operation (host); the VMCS region is ours with the right revision.
        unsafe {
            vmclear(vmcs_pa).map_err(|e| SetupError::Vmx(e, 0))?;
            vmptrld(vmcs_pa).map_err(|e| SetupError::Vmx(e, 0))?;
        }

        let (pin, preemption_timer) = preemption_timer::pin_based_controls(
            caps,
            PinBasedControls::EXTERNAL_INTERRUPT_EXITING | PinBasedControls::NMI_EXITING,
        )
        .map_err(SetupError::Controls)?;
        let primary = caps
            .primary_controls(
                PrimaryControls::HLT_EXITING
                    | PrimaryControls::USE_IO_BITMAPS
                    | PrimaryControls::USE_MSR_BITMAPS
                    | PrimaryControls::ACTIVATE_SECONDARY_CONTROLS,
                PrimaryControls::empty(),
            )
            .map_err(SetupError::Controls)?;
        let secondary = caps
            .secondary_controls(
                SecondaryControls::ENABLE_EPT | SecondaryControls::UNRESTRICTED_GUEST,
                SecondaryControls::ENABLE_VPID,
            )
            .map_err(SetupError::Controls)?;
        // No "acknowledge interrupt on exit": the host's own IDT takes the
        // interrupt once the host re-enables interrupts after the exit.
        let exit = caps
            .exit_controls(
                ExitControls::HOST_ADDRESS_SPACE_SIZE
                    | ExitControls::SAVE_EFER
                    | ExitControls::LOAD_EFER,
                ExitControls::SAVE_PAT | ExitControls::LOAD_PAT,
            )
            .map_err(SetupError::Controls)?;
        let entry = caps
            .entry_controls(EntryControls::LOAD_EFER, EntryControls::LOAD_PAT)
            .map_err(SetupError::Controls)?;

        write(w32::PIN_BASED_CONTROLS, u64::from(pin.bits()))?;
        write(w32::PRIMARY_PROCESSOR_CONTROLS, u64::from(primary.bits()))?;
        write(
            w32::SECONDARY_PROCESSOR_CONTROLS,
            u64::from(secondary.bits()),
        )?;
        write(w32::EXIT_CONTROLS, u64::from(exit.bits()))?;
        write(w32::ENTRY_CONTROLS, u64::from(entry.bits()))?;
        write(w32::EXCEPTION_BITMAP, 0)?;
        write(w32::CR3_TARGET_COUNT, 0)?;
        write(w32::EXIT_MSR_STORE_COUNT, 0)?;
        write(w32::EXIT_MSR_LOAD_COUNT, 0)?;
        write(w32::ENTRY_MSR_LOAD_COUNT, 0)?;
        write(w32::ENTRY_INTERRUPTION_INFO, 0)?;
        write(w64::IO_BITMAP_A, phys_addr(&io_bitmaps[0]))?;
        write(w64::IO_BITMAP_B, phys_addr(&io_bitmaps[1]))?;
        write(w64::MSR_BITMAP, phys_addr(&*msr_bitmap))?;
        write(w64::EPT_POINTER, eptp)?;
        // Stale translations for these physical pages (from an earlier guest)
        // must not survive: flush the EPT context and the VPID before first use
        // (SDM 29.4.3 "Invalidating Cached Translation Information").
        let cap = caps.ept_vpid;
        let invept_kind = if cap.contains(EptVpidCap::INVEPT | EptVpidCap::INVEPT_SINGLE_CONTEXT) {
            Some(InveptKind::SingleContext)
        } else if cap.contains(EptVpidCap::INVEPT | EptVpidCap::INVEPT_ALL_CONTEXT) {
            Some(InveptKind::AllContexts)
        } else {
            None
        };
        flush_ept(invept_kind, eptp)?;
        if secondary.contains(SecondaryControls::ENABLE_VPID) {
            let vpid = vpid.max(1);
            write(w16::VPID, u64::from(vpid))?;
            if cap.contains(EptVpidCap::INVVPID | EptVpidCap::INVVPID_SINGLE_CONTEXT) {
                // SAFETY: VMX root operation; single-context INVVPID is supported.
                unsafe { invvpid_single(vpid) }.map_err(|e| SetupError::Vmx(e, w16::VPID))?;
            }
        }
        write(w64::VMCS_LINK_POINTER, u64::MAX)?;

        // Host state (SDM 27.2.2 "Checks on Host Control Registers, MSRs and SSP").
        write(n::HOST_CR0, instructions::read_cr0())?;
        write(n::HOST_CR3, instructions::read_cr3())?;
        write(n::HOST_CR4, instructions::read_cr4())?;
        let (cs, tr) = instructions::host_selectors();
        let (gdt, idt) = instructions::descriptor_table_bases();
        write(w16::HOST_CS_SELECTOR, u64::from(cs & !7))?;
        for f in [
            w16::HOST_SS_SELECTOR,
            w16::HOST_DS_SELECTOR,
            w16::HOST_ES_SELECTOR,
        ] {
            write(f, u64::from(instructions::host_data_selector() & !7))?;
        }
        write(w16::HOST_FS_SELECTOR, 0)?;
        write(w16::HOST_GS_SELECTOR, 0)?;
        write(w16::HOST_TR_SELECTOR, u64::from(tr & !7))?;
        write(n::HOST_TR_BASE, instructions::tss_base(gdt, tr))?;
        write(n::HOST_GDTR_BASE, gdt)?;
        write(n::HOST_IDTR_BASE, idt)?;
        write(n::HOST_FS_BASE, 0)?;
        write(n::HOST_GS_BASE, 0)?;
        write(w32::HOST_IA32_SYSENTER_CS, 0)?;
        write(n::HOST_IA32_SYSENTER_ESP, 0)?;
        write(n::HOST_IA32_SYSENTER_EIP, 0)?;
        // SAFETY: EFER and PAT exist in long mode.
        let (efer, pat) = unsafe { (instructions::rdmsr(0xC000_0080), instructions::rdmsr(0x277)) };
        write(w64::HOST_IA32_EFER, efer)?;
        write(w64::HOST_IA32_PAT, pat)?;

        let mut vcpu = Self {
            vmcs,
            _io_bitmaps: io_bitmaps,
            _msr_bitmap: msr_bitmap,
            gprs: [0; 16],
            launched: false,
            pin,
            primary,
            entry,
            cr0_fixed: (caps.cr0_fixed0 & !(1 | 1 << 31), caps.cr0_fixed1),
            cr4_fixed: (caps.cr4_fixed0, caps.cr4_fixed1),
            eptp,
            invept_kind,
            kept_cs_rpl: None,
            preemption_timer,
            exit_deadline_tsc: None,
        };
        vcpu.reset()?;
        Ok(vcpu)
    }

    /// The x86 power-on state (SDM vol. 3A, 10.1.1, table 10-1).
    pub fn reset(&mut self) -> Result<(), SetupError> {
        self.keep_cs_rpl(None)?;
        for i in 0..8 {
            let (sel, base, limit, ar) = segment_fields(i);
            let (s, b, a) = match i {
                1 => (0xF000, 0xFFFF_0000, AR_CODE),
                6 => (0, 0, AR_LDT),
                7 => (0, 0, AR_TSS),
                _ => (0, 0, AR_DATA),
            };
            write(sel, s)?;
            write(base, b)?;
            write(limit, 0xFFFF)?;
            write(ar, u64::from(a))?;
        }
        write(n::GUEST_GDTR_BASE, 0)?;
        write(w32::GUEST_GDTR_LIMIT, 0xFFFF)?;
        write(n::GUEST_IDTR_BASE, 0)?;
        write(w32::GUEST_IDTR_LIMIT, 0xFFFF)?;
        self.set_cr0_value(0x6000_0010)?;
        self.set_cr4_value(0)?;
        write(n::GUEST_CR3, 0)?;
        write(n::GUEST_DR7, 0x400)?;
        write(n::GUEST_RSP, 0)?;
        write(n::GUEST_RIP, 0xFFF0)?;
        write(n::GUEST_RFLAGS, 0x2)?;
        write(n::GUEST_PENDING_DEBUG_EXCEPTIONS, 0)?;
        write(w32::GUEST_INTERRUPTIBILITY_STATE, 0)?;
        write(w32::GUEST_ACTIVITY_STATE, 0)?;
        write(w32::GUEST_IA32_SYSENTER_CS, 0)?;
        write(n::GUEST_IA32_SYSENTER_ESP, 0)?;
        write(n::GUEST_IA32_SYSENTER_EIP, 0)?;
        write(w64::GUEST_IA32_DEBUGCTL, 0)?;
        // EFER 0, and the "IA-32e mode guest" entry control with it.
        self.set_efer(0);
        write(w64::GUEST_IA32_PAT, 0x0007_0406_0007_0406)?;
        self.gprs = [0; 16];
        // A reset drops a queued event and the linear and combined mappings
        // the processor cached for this guest (a second reset is no first
        // entry: the previous run's state is still in the VMCS and TLBs).
        write(w32::ENTRY_INTERRUPTION_INFO, 0)?;
        self.set_interrupt_window_exiting(false);
        flush_ept(self.invept_kind, self.eptp)
    }

    /// Runs the guest until an exit the hypervisor must see.
    pub fn run(&mut self, _host: &VmxHost) -> VmxExit {
        loop {
            let _ = write(n::GUEST_RSP, self.gprs[RSP]);
            let _ = self.prepare_cs_for_entry();
            let _ = self.arm_preemption_timer(instructions::rdtsc());
            // SAFETY: VMX root operation with this vCPU's VMCS current, its
            // host state describing this processor and EPT confining the
            // guest; the routine saves and restores the callee-saved registers
            // and writes only `self.gprs`.
            let status = unsafe { vmx_world_switch(&mut self.gprs, u64::from(self.launched)) };
            // A VM exit clears RFLAGS.IF (SDM 28.5.3): let the host's own
            // interrupts (its timer tick) in again.
            instructions::enable_interrupts();
            if status != 0 {
                let error = if status == 1 {
                    VmxError::FailInvalid
                } else {
                    VmxError::FailValid(read(w32::VM_INSTRUCTION_ERROR) as u32)
                };
                return VmxExit::EntryFailed(error);
            }
            self.launched = true;
            self.gprs[RSP] = read(n::GUEST_RSP);
            let _ = write(w32::ENTRY_INTERRUPTION_INFO, 0);
            // A task switch through a task gate in the IDT reports the event
            // it was delivering in the IDT-vectoring fields (SDM vol. 3C,
            // 26.4.2): the hypervisor completes that delivery by completing
            // the switch, so the event is not delivered a second time.
            if read(w32::EXIT_REASON) as u16 != reason::TASK_SWITCH {
                self.requeue_vectored_event();
            }
            if let Some(exit) = self.decode_exit() {
                return exit;
            }
        }
    }

    /// An event whose delivery the exit interrupted is delivered again
    /// (SDM 28.2.4 "Information for VM Exits During Event Delivery").
    fn requeue_vectored_event(&mut self) {
        let raw = read(w32::IDT_VECTORING_INFO) as u32;
        if let Some(info) = InterruptionInfo::decode(raw) {
            let error = info
                .error_code_valid
                .then(|| read(w32::IDT_VECTORING_ERROR_CODE) as u32);
            let _ = self.queue_event(info.vector, info.kind, error);
        }
    }

    fn queue_event(
        &mut self,
        vector: u8,
        kind: InterruptionType,
        error_code: Option<u32>,
    ) -> Result<(), SetupError> {
        if let Some(code) = error_code {
            write(w32::ENTRY_EXCEPTION_ERROR_CODE, u64::from(code))?;
        }
        if kind.needs_instruction_length() {
            write(
                w32::ENTRY_INSTRUCTION_LENGTH,
                read(w32::EXIT_INSTRUCTION_LENGTH),
            )?;
        }
        write(
            w32::ENTRY_INTERRUPTION_INFO,
            u64::from(encode_entry_interruption(vector, kind, error_code)),
        )
    }

    /// Decodes the exit; None when it was a CR access completed here.
    fn decode_exit(&mut self) -> Option<VmxExit> {
        let reason = read(w32::EXIT_REASON) as u32;
        let qualification = read(n::EXIT_QUALIFICATION);
        match decode(reason, qualification, read) {
            Decoded::Exit(exit) => Some(exit),
            Decoded::CrAccess { access, otherwise } => match self.complete_cr_access(access) {
                Ok(true) => None,
                _ => Some(otherwise),
            },
        }
    }

    fn skip_instruction(&mut self) -> Result<(), SetupError> {
        let rip = read(n::GUEST_RIP).wrapping_add(read(w32::EXIT_INSTRUCTION_LENGTH));
        write(n::GUEST_RIP, rip)
    }

    pub fn rip(&self) -> u64 {
        read(n::GUEST_RIP)
    }

    /// Moves the guest to `rip` after the hypervisor completed (or
    /// redirected) the instruction that exited. Blocking by STI or by MOV SS
    /// covers only the one instruction after STI/MOV SS (Intel SDM vol. 2B,
    /// STI; vol. 3A, 7.8.3); with that instruction retired the blocking ends,
    /// or a `sti; hlt` would keep every interrupt out until the next `cli`.
    pub fn set_rip(&mut self, rip: u64) {
        let _ = write(n::GUEST_RIP, rip);
        let state = read(w32::GUEST_INTERRUPTIBILITY_STATE);
        if state & BLOCKING_BY_STI_OR_MOV_SS != 0 {
            let _ = write(
                w32::GUEST_INTERRUPTIBILITY_STATE,
                state & !BLOCKING_BY_STI_OR_MOV_SS,
            );
        }
    }

    pub fn rflags(&self) -> u64 {
        read(n::GUEST_RFLAGS)
    }

    pub fn set_rflags(&mut self, rflags: u64) {
        let _ = write(n::GUEST_RFLAGS, rflags);
    }

    /// Segment `i` (ES, CS, SS, DS, FS, GS, LDTR, TR): selector, base, limit,
    /// access rights in the SDM's VMX format.
    pub fn segment(&self, i: u32) -> (u16, u64, u32, u32) {
        if i == SEGMENT_CS {
            let cs = self.cs_fields();
            let selector = protected_mode_entry::guest_cs_selector(self.kept_cs_rpl, cs);
            return (selector, cs.base, cs.limit, cs.access_rights);
        }
        let (sel, base, limit, ar) = segment_fields(i.min(7));
        (
            read(sel) as u16,
            read(base),
            read(limit) as u32,
            read(ar) as u32,
        )
    }

    /// Loads segment `i` (ES, CS, SS, DS, FS, GS, LDTR, TR).
    pub fn set_segment(&mut self, i: u32, selector: u16, base: u64, limit: u32, ar: u32) {
        if i == SEGMENT_CS {
            // The selector given is the guest's own, RPL and all.
            let _ = self.keep_cs_rpl(None);
        }
        let (sel, b, l, a) = segment_fields(i.min(7));
        let _ = write(sel, u64::from(selector));
        let _ = write(b, base);
        let _ = write(l, u64::from(limit));
        let _ = write(a, u64::from(ar));
    }

    pub fn gdtr(&self) -> (u64, u32) {
        (read(n::GUEST_GDTR_BASE), read(w32::GUEST_GDTR_LIMIT) as u32)
    }

    /// Invalidates the processor's cached guest-physical translations after
    /// the EPT changed (an entry removed or its permissions reduced): they
    /// are not invalidated by the change itself (SDM 29.4.3.1).
    pub fn flush_guest_physical_translations(&mut self) -> Result<(), SetupError> {
        flush_ept(self.invept_kind, self.eptp)
    }

    /// Loads GDTR and IDTR (base, limit), as LGDT/LIDT would.
    pub fn set_descriptor_tables(&mut self, gdtr: (u64, u32), idtr: (u64, u32)) {
        let _ = write(n::GUEST_GDTR_BASE, gdtr.0);
        let _ = write(w32::GUEST_GDTR_LIMIT, u64::from(gdtr.1));
        let _ = write(n::GUEST_IDTR_BASE, idtr.0);
        let _ = write(w32::GUEST_IDTR_LIMIT, u64::from(idtr.1));
    }

    pub fn idtr(&self) -> (u64, u32) {
        (read(n::GUEST_IDTR_BASE), read(w32::GUEST_IDTR_LIMIT) as u32)
    }

    /// CPL: the DPL of SS (SDM 25.4.1).
    pub fn cpl(&self) -> u8 {
        ((read(w32::GUEST_SS_ACCESS_RIGHTS) >> 5) & 3) as u8
    }

    /// Queues a hardware exception for the next entry, without its error code
    /// in real mode (see [`entry_error_code`]).
    pub fn inject_exception(&mut self, vector: u8, error_code: Option<u32>) {
        let error_code = entry_error_code(error_code, read(n::GUEST_CR0));
        let _ = self.queue_event(vector, InterruptionType::HardwareException, error_code);
    }

    /// Queues an external interrupt for the next entry.
    pub fn inject_interrupt(&mut self, vector: u8) {
        let _ = self.queue_event(vector, InterruptionType::ExternalInterrupt, None);
    }

    /// True when an external interrupt injected now would be delivered.
    pub fn interrupt_window_open(&self) -> bool {
        self.rflags() & RFLAGS_IF != 0
            && read(w32::GUEST_INTERRUPTIBILITY_STATE) & BLOCKING_BY_STI_OR_MOV_SS == 0
            && read(w32::ENTRY_INTERRUPTION_INFO) & INTERRUPTION_VALID == 0
    }

    /// Interrupt-window exiting (SDM 25.6.2, primary control bit 2).
    pub fn set_interrupt_window_exiting(&mut self, on: bool) {
        if self
            .primary
            .contains(PrimaryControls::INTERRUPT_WINDOW_EXITING)
            != on
        {
            self.primary
                .set(PrimaryControls::INTERRUPT_WINDOW_EXITING, on);
            let _ = write(
                w32::PRIMARY_PROCESSOR_CONTROLS,
                u64::from(self.primary.bits()),
            );
        }
    }

    /// A few fields for a breakdown report.
    pub fn describe(&self) -> [(&'static str, u64); 6] {
        [
            ("exit-reason", read(w32::EXIT_REASON)),
            ("qualification", read(n::EXIT_QUALIFICATION)),
            ("idt-vectoring", read(w32::IDT_VECTORING_INFO)),
            ("entry-interruption", read(w32::ENTRY_INTERRUPTION_INFO)),
            ("vm-instruction-error", read(w32::VM_INSTRUCTION_ERROR)),
            ("vmcs", phys_addr(&*self.vmcs)),
        ]
    }
}
