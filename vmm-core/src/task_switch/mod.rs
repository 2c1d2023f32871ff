//! Task switching in software, for VT-x, which exits on every task switch
//! instead of performing it (Intel SDM vol. 3C, 26.4.2 "Treatment of Task
//! Switches"): a CALL or JMP to a TSS or task gate, an IRET with EFLAGS.NT
//! set, an interrupt or exception through a task gate in the IDT — the way
//! a 32-bit OS gives its double-fault handler a known-good stack.
//!
//! What is emulated is Intel SDM vol. 3A, 8.3 "Task Switching" (numbering as
//! elsewhere in this crate: Intel's 2023 edition, where task management is
//! chapter 8), for 32-bit and 16-bit TSSs:
//!
//! 1. The new TSS descriptor is checked (table 8-1 rows 1-5): in the GDT
//!    and within its limit, a TSS, present, available for CALL, JMP and
//!    gates and busy for IRET, limit at least 67h (2Bh for a 16-bit TSS).
//!    VT-x makes these checks itself before it exits (SDM vol. 3C, 26.4.2);
//!    they are made again so that the outcome never rests on that.
//! 2. Every page the switch will touch before its commit point is
//!    translated first (step 5), so a #PF leaves the guest as it was.
//! 3. The old task's EIP (past the instruction for CALL, JMP, IRET and
//!    INT n; the faulting one for an exception; the next one for an
//!    interrupt), EFLAGS (NT cleared for IRET), general-purpose registers
//!    and segment selectors go into the old TSS (steps 7-8); CALL and gates
//!    write the back link into the new TSS (8.4 "Task Linking").
//! 4. Busy flags (table 8-2): the old TSS's is cleared for JMP and IRET, the
//!    new one's set for CALL, JMP and gates.
//! 5. Commit point: TR takes the new selector and descriptor (busy), CR0.TS
//!    is set, CR3 loads from a 32-bit TSS when paging is on (with its PAE
//!    PDPTEs, and the cached translations flushed), then EIP, EFLAGS (NT set
//!    for CALL and gates), the general-purpose registers, LDTR and the
//!    segment registers, each descriptor checked as table 8-1 rows 8-20
//!    say ([`segments`]); a fault from here on is raised in the new task.
//! 6. An exception's error code is pushed onto the new task's stack (7.12.2
//!    "Interrupt Tasks"), and EIP must lie within CS (#GP(0)).
//!
//! Not emulated: the TSS's T flag (the #DB it asks for on entry to the
//! task), clearing DR7's local enables, the I/O permission bitmap (never
//! read here), and NMI blocking for an NMI through a task gate (the
//! hypervisor injects none). Outside protected mode, or in IA-32e mode,
//! where the processor raises #GP itself before any exit (26.4.2), the
//! guest is stopped.

mod descriptor;
mod memory;
mod segments;
#[cfg(test)]
pub(crate) mod tests;
mod tss;

use crate::emulator::GuestFault;
use crate::guest_memory::GuestMemory;
use crate::vcpu::{
    vector, ControlRegs, EventKind, Exception, Gpr, SegReg, Segment, SystemSegReg,
    TaskSwitchSource, Vcpu, CR0_PE, CR0_PG, EFER_LMA,
};
use descriptor::{fetch, gdt_entry, set_busy, Descriptor, SELECTOR_TI, TYPE_TSS_BUSY};
use memory::System;
use tss::{TaskState, TssFormat};

/// #TS, invalid TSS (SDM vol. 3A, 7.15).
const TS: u8 = 10;
/// #NP, segment not present.
const NP: u8 = 11;
/// CR0.TS: task switched.
const CR0_TS: u64 = 1 << 3;
/// CR4.PAE.
const CR4_PAE: u64 = 1 << 5;
/// EFLAGS.NT: nested task.
const EFLAGS_NT: u32 = 1 << 14;
/// EFLAGS.VM: virtual-8086 mode.
const EFLAGS_VM: u32 = 1 << 17;
/// The EFLAGS bits a 32-bit TSS loads: CF, PF, AF, ZF, SF, TF, IF, DF, OF,
/// IOPL, NT, RF, VM, AC, VIF, VIP, ID; bit 1 is always set, the others 0.
const EFLAGS_LOADED: u32 = 0x003F_7FD5;
/// The FLAGS bits a 16-bit TSS loads.
const FLAGS16_LOADED: u32 = 0x7FD5;
/// EFLAGS bit 1, always set.
const EFLAGS_FIXED: u32 = 1 << 1;
/// Bits of a present PAE PDPTE that must be 0 besides the address bits
/// above MAXPHYADDR: 2:1 and 8:5 (SDM vol. 3A, 4.4.1), and 63.
const PDPTE_RESERVED: u64 = 0x1E6 | (1 << 63);

/// A task switch to complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The new task's TSS selector.
    pub selector: u16,
    pub source: TaskSwitchSource,
    /// The EIP the old task resumes at: past the instruction for CALL, JMP,
    /// IRET and a software interrupt, RIP for an event the processor raised.
    pub return_rip: u64,
}

/// Why a task switch did not complete as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The guest takes this fault: with its state unchanged when it came
    /// before the commit point, in the new task when after (SDM vol. 3A,
    /// 8.3 steps 12-13).
    Fault(GuestFault),
    /// The switch cannot be completed for the guest at all.
    Stop(StopCause),
}

/// Why a task switch stops the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// A TSS, descriptor table, stack, PDPT or page table the switch needs
    /// lies at `gpa`, which is not guest RAM (a device's or nothing's).
    OutsideRam { gpa: u64 },
    /// The vCPU is in real mode or IA-32e mode, where no task switch exists.
    NotProtectedMode,
}

impl core::fmt::Display for StopCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StopCause::OutsideRam { gpa } => write!(
                f,
                "it needs guest-physical address {gpa:#x}, which is not RAM: not emulated"
            ),
            StopCause::NotProtectedMode => write!(
                f,
                "the vCPU is not in protected mode outside IA-32e mode, where task switches exist"
            ),
        }
    }
}

/// The fault `vector` with `error_code`.
fn fault(vector: u8, error_code: u32) -> Failure {
    Failure::Fault(GuestFault {
        exception: Exception {
            vector,
            error_code: Some(error_code),
        },
        cr2: None,
    })
}

/// True when the switch delivers an event from outside the program, whose
/// faults carry EXT in their error code (SDM vol. 3A, 7.13 "Error Code").
fn external(source: TaskSwitchSource) -> bool {
    matches!(
        source,
        TaskSwitchSource::Gate {
            kind: EventKind::ExternalInterrupt | EventKind::Nmi | EventKind::Exception,
            ..
        }
    )
}

/// Performs the task switch `request` asks for on `vcpu`, through the
/// guest's memory `mem` (see the module documentation).
pub fn switch_task(
    vcpu: &mut dyn Vcpu,
    mem: &mut GuestMemory,
    max_phys_bits: u8,
    request: &Request,
) -> Result<(), Failure> {
    let cr = vcpu.control_regs();
    if cr.cr0 & CR0_PE == 0 || cr.efer & EFER_LMA != 0 {
        return Err(Failure::Stop(StopCause::NotProtectedMode));
    }
    let mut sys = System {
        mem,
        max_phys_bits,
        ext: u32::from(external(request.source)),
    };
    let source = request.source;
    let iret = source == TaskSwitchSource::Iret;
    let nesting = matches!(
        source,
        TaskSwitchSource::Call | TaskSwitchSource::Gate { .. }
    );
    let (new_linear, new, format) = new_tss(&mut sys, vcpu, request.selector, iret)?;

    // The old TSS must hold the state saved into it.
    let old_tr = vcpu.system_segment(SystemSegReg::Tr);
    let old_format = match TssFormat::of_type((old_tr.attrs & 0xF) as u8) {
        Some(TssFormat::Bits16) => TssFormat::Bits16,
        _ => TssFormat::Bits32,
    };
    let (first, last) = old_format.saved_range();
    if old_tr.limit < last {
        return Err(sys.selector_fault(TS, old_tr.selector));
    }
    let old_base = old_tr.base as u32;
    let new_base = new.base();
    let old_linear = gdt_entry(vcpu, old_tr.selector);

    // Step 5: everything touched before the commit point is paged in.
    sys.probe(
        vcpu,
        old_base.wrapping_add(first),
        (last - first + 1) as usize,
        true,
    )?;
    sys.probe(vcpu, new_base, format.min_limit() as usize + 1, false)?;
    if nesting {
        sys.probe(vcpu, new_base, 2, true)?;
    }
    if !nesting {
        if let Some(linear) = old_linear {
            sys.probe(vcpu, linear.wrapping_add(descriptor::ACCESS_BYTE), 1, true)?;
        }
    }
    if !iret {
        sys.probe(
            vcpu,
            new_linear.wrapping_add(descriptor::ACCESS_BYTE),
            1,
            true,
        )?;
    }

    // Steps 7-8: the old task's state, then the link and the new state.
    let mut eflags = vcpu.rflags() as u32;
    if iret {
        eflags &= !EFLAGS_NT;
    }
    let old_state = current_state(vcpu, request.return_rip as u32, eflags);
    tss::save(&mut sys, vcpu, old_base, old_format, &old_state)?;
    if nesting {
        sys.write(vcpu, new_base, &old_tr.selector.to_le_bytes())?;
    }
    let state = tss::load(&mut sys, vcpu, new_base, format)?;

    // Steps 6 and 10: busy flags (table 8-2).
    if !nesting {
        if let Some(linear) = old_linear {
            set_busy(&mut sys, vcpu, linear, false)?;
        }
    }
    if !iret {
        set_busy(&mut sys, vcpu, new_linear, true)?;
    }

    commit(&mut sys, vcpu, request, new, format, &state)
}

/// Table 8-1 rows 1-5: the new TSS descriptor's address, value and format.
/// A selector that is no available TSS in the GDT is #GP for CALL, JMP and
/// gates, #TS for IRET (which needs a busy one).
fn new_tss(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    selector: u16,
    iret: bool,
) -> Result<(u32, Descriptor, TssFormat), Failure> {
    let invalid = if iret { TS } else { vector::GP };
    if selector & SELECTOR_TI != 0 {
        return Err(sys.selector_fault(invalid, selector));
    }
    let Some((linear, d)) = fetch(sys, vcpu, selector)? else {
        return Err(sys.selector_fault(invalid, selector));
    };
    let format = match TssFormat::of_type(d.kind()) {
        Some(format) if !d.code_or_data() => format,
        _ => return Err(sys.selector_fault(invalid, selector)),
    };
    if !d.present() {
        return Err(sys.selector_fault(NP, selector));
    }
    let busy = d.kind() & TYPE_TSS_BUSY != 0;
    if busy != iret {
        return Err(sys.selector_fault(invalid, selector));
    }
    if d.limit() < format.min_limit() {
        return Err(sys.selector_fault(TS, selector));
    }
    Ok((linear, d, format))
}

/// The old task's state as step 8 saves it.
fn current_state(vcpu: &dyn Vcpu, eip: u32, eflags: u32) -> TaskState {
    let mut state = TaskState {
        eip,
        eflags,
        ..TaskState::default()
    };
    for (slot, value) in state.gprs.iter_mut().zip(vcpu.gprs()) {
        *slot = *value as u32;
    }
    for (slot, seg) in state.selectors.iter_mut().zip(SegReg::ALL) {
        *slot = vcpu.segment(seg).selector;
    }
    state
}

/// Steps 11-14, from the commit point on.
fn commit(
    sys: &mut System,
    vcpu: &mut dyn Vcpu,
    request: &Request,
    new: Descriptor,
    format: TssFormat,
    state: &TaskState,
) -> Result<(), Failure> {
    let mut tr = new.segment(request.selector);
    tr.attrs |= u16::from(TYPE_TSS_BUSY);
    vcpu.set_system_segment(SystemSegReg::Tr, tr);

    let old_cr = vcpu.control_regs();
    let mut cr = ControlRegs {
        cr0: old_cr.cr0 | CR0_TS,
        ..old_cr
    };
    let paging = cr.cr0 & CR0_PG != 0;
    if let (true, Some(cr3)) = (paging, state.cr3) {
        cr.cr3 = u64::from(cr3);
    }
    vcpu.set_control_regs(cr);
    let pdptes = if paging && cr.cr4 & CR4_PAE != 0 && cr.cr3 != old_cr.cr3 {
        Some(sys.read_pdptes(cr.cr3 & 0xFFFF_FFE0)?)
    } else {
        None
    };
    if cr.cr3 != old_cr.cr3 {
        // A MOV to CR3 would have flushed the old address space's
        // translations (SDM vol. 3A, 4.10.4.1); this load did not.
        vcpu.flush_guest_physical_translations();
    }

    let gprs = vcpu.gprs_mut();
    for (slot, value) in gprs.iter_mut().zip(state.gprs) {
        *slot = u64::from(value);
    }
    vcpu.set_rip(u64::from(state.eip));
    let loaded = match format {
        TssFormat::Bits32 => EFLAGS_LOADED,
        TssFormat::Bits16 => FLAGS16_LOADED,
    };
    let mut eflags = (state.eflags & loaded) | EFLAGS_FIXED;
    if matches!(
        request.source,
        TaskSwitchSource::Call | TaskSwitchSource::Gate { .. }
    ) {
        eflags |= EFLAGS_NT;
    }
    vcpu.set_rflags(u64::from(eflags));

    if let Some(pdptes) = pdptes {
        let address_reserved = !((1u64 << sys.max_phys_bits.clamp(32, 52)) - 1);
        let bad = pdptes
            .iter()
            .any(|e| e & 1 != 0 && e & (PDPTE_RESERVED | address_reserved) != 0);
        if bad {
            return Err(sys.zero_fault(vector::GP));
        }
        vcpu.set_pae_pdptes(pdptes);
    }

    let v86 = eflags & EFLAGS_VM != 0;
    segments::load(sys, vcpu, state, v86)?;
    let cs = vcpu.segment(SegReg::Cs);
    let cpl = if v86 { 3 } else { (cs.selector & 3) as u8 };
    if let TaskSwitchSource::Gate {
        error_code: Some(code),
        ..
    } = request.source
    {
        push_error_code(sys, vcpu, format, code, cpl)?;
    }
    if state.eip > cs.limit {
        return Err(sys.zero_fault(vector::GP));
    }
    Ok(())
}

/// Pushes an exception's error code onto the new task's stack: a dword
/// for a 32-bit TSS, a word for a 16-bit one (SDM vol. 3A, 7.12.2). A push
/// outside SS's limit is #SS(0).
fn push_error_code(
    sys: &mut System,
    vcpu: &mut dyn Vcpu,
    format: TssFormat,
    code: u32,
    cpl: u8,
) -> Result<(), Failure> {
    let size: u32 = match format {
        TssFormat::Bits32 => 4,
        TssFormat::Bits16 => 2,
    };
    let ss = vcpu.segment(SegReg::Ss);
    let rsp = vcpu.gprs()[Gpr::Rsp as usize];
    let top: u32 = if ss.attrs & Segment::ATTR_DB != 0 {
        u32::MAX
    } else {
        0xFFFF
    };
    let esp = (rsp as u32).wrapping_sub(size) & top;
    let last = u64::from(esp) + u64::from(size) - 1;
    // Data type bit 2: expand-down, valid offsets above the limit.
    let expand_down = ss.attrs & 0x1C == 0x14;
    let within = if expand_down {
        esp > ss.limit && last <= u64::from(top)
    } else {
        last <= u64::from(ss.limit)
    };
    if !within {
        return Err(sys.zero_fault(vector::SS));
    }
    let linear = (ss.base as u32).wrapping_add(esp);
    let bytes = code.to_le_bytes();
    sys.write_as(vcpu, linear, &bytes[..size as usize], cpl == 3)?;
    let rsp = if top == u32::MAX {
        u64::from(esp)
    } else {
        (rsp & !0xFFFF) | u64::from(esp)
    };
    vcpu.gprs_mut()[Gpr::Rsp as usize] = rsp;
    Ok(())
}
