//! The local APIC of one virtual CPU: xAPIC registers in the 4 KiB page at
//! FEE00000h, x2APIC registers as MSRs 800h-8FFh, IA32_APIC_BASE, the timer
//! and the interrupt acceptance logic, as a plain state machine.
//!
//! Implemented from the Intel 64 and IA-32 Architectures Software Developer's
//! Manual, Volume 3A, chapter "Advanced Programmable Interrupt Controller
//! (APIC)": chapter 11 in the 2023 editions, which are the section numbers
//! cited here (the 2024 and later editions number the same sections 12.x;
//! editions before 2022 number them 10.x). Sections used:
//! - 11.4.1 "The Local APIC Block Diagram" (Table 11-1, the register map),
//!   11.4.3 "Enabling or Disabling the Local APIC", 11.4.4 "Local APIC Status
//!   and Location" (IA32_APIC_BASE), 11.4.6 "Local APIC ID", 11.4.7.1-11.4.7.3
//!   (state after power-up, after a software disable, after INIT), 11.4.8
//!   "Local APIC Version Register";
//! - 11.5.1 "Local Vector Table", 11.5.2 "Valid Interrupt Vectors", 11.5.3
//!   "Error Handling", 11.5.4 "APIC Timer" and 11.5.4.1 "TSC-Deadline Mode";
//! - 11.6.1 "Interrupt Command Register (ICR)" (and its table of valid
//!   shorthand / delivery mode combinations), 11.6.2 "Determining IPI
//!   Destination";
//! - 11.8.3.1 "Task and Processor Priorities", 11.8.4 "Interrupt Acceptance
//!   for Fixed Interrupts", 11.8.5 "Signaling Interrupt Servicing Completion"
//!   (EOI and EOI-broadcast suppression), 11.9 "Spurious Interrupt";
//! - 11.12 "Extended XAPIC (x2APIC)": 11.12.1.2 "x2APIC Register Address
//!   Space" (Table 11-6), 11.12.1.3 "Reserved Bit Checking", 11.12.5 "x2APIC
//!   State Transitions", 11.12.9 "ICR Operation in x2APIC Mode", 11.12.10.2
//!   "Deriving Logical x2APIC ID from the Local x2APIC ID", 11.12.11 "SELF IPI
//!   Register".
//!
//! # Model
//!
//! The APIC is an integrated Pentium 4 / Xeon-style xAPIC with x2APIC
//! support: version 14h, six LVT entries (timer, thermal, performance
//! counter, LINT0, LINT1, error; no CMCI, so offset 2F0h and MSR 82Fh are
//! not registers), no remote read. Interrupt delivery is instantaneous, so
//! every delivery-status bit reads 0 (idle).
//!
//! The hypervisor drives it from outside:
//! - MMIO at the APIC page → [`LocalApic::mmio_read`] / [`LocalApic::mmio_write`]
//!   (also as [`MmioDevice`]); MSR exits for 1Bh and 800h-8FFh →
//!   [`LocalApic::read_msr`] / [`LocalApic::write_msr`] (an `Err` is a #GP for
//!   the guest); IA32_TSC_DEADLINE (6E0h) → [`LocalApic::set_tsc_deadline`] /
//!   [`LocalApic::tsc_deadline`].
//! - Interrupts in: [`LocalApic::deliver`] (I/O APIC, MSI, IPIs),
//!   [`LocalApic::deliver_nmi`], [`LocalApic::set_lint1`]; the 8259's INTR
//!   reaches the CPU while [`LocalApic::pic_interrupts_pass`].
//! - Interrupts out to the CPU: [`LocalApic::has_interrupt`] then
//!   [`LocalApic::acknowledge`] when the vCPU can take it; [`LocalApic::take_nmi`].
//! - Messages out: [`LocalApic::take_ipi`] (IPIs for the router, which finds
//!   their targets with [`Ipi::is_target`]), [`LocalApic::take_eoi_broadcast`]
//!   (level-triggered vectors to EOI at the I/O APIC).
//! - Time: [`LocalApic::poll`] before each guest entry and when
//!   [`LocalApic::next_deadline_ns`] has passed.
//!
//! # Choices where the manual leaves room
//!
//! - The APIC bus runs at [`APIC_BUS_HZ`], 1 GHz, as KVM's: one bus cycle is
//!   one nanosecond. The hypervisor advertises it to guests (CPUID 15h core
//!   crystal clock, or the KVM/VMware-style leaf 4000_0010h EBX in kHz).
//! - The xAPIC ID register is read-only (the manual allows either; software
//!   never moves it).
//! - A software-disabled APIC (SVR bit 8 clear) still raises interrupts
//!   already held in its IRR (11.4.7.2: "pending interrupts in the IRR and ISR
//!   registers are held and require masking or handling by the CPU"), but
//!   accepts no new fixed or lowest-priority interrupts (they are dropped, as
//!   KVM does); NMIs are still accepted. A globally disabled APIC (IA32_APIC_BASE
//!   bit 11 clear) accepts and raises nothing and lets the 8259 through.
//! - IA32_APIC_BASE accepts a new base address (bits 12-51) and reports it,
//!   but the hypervisor decodes only the page at [`APIC_DEFAULT_BASE`].
//! - x2APIC is always available (the hypervisor decides whether CPUID says
//!   so).
//! - Shorthand "self" is honoured for fixed (and lowest-priority, taken as
//!   fixed) and NMI; self INIT, SIPI and SMI are invalid combinations in the
//!   manual's table and are dropped. INIT level de-assert is not supported on
//!   Pentium 4 and later (11.6.1) and is dropped. Level-triggered IPIs are
//!   treated as edge-triggered (11.6.1, note to the table).
//! - A timer mode field of 11b (reserved) counts as one-shot.
//! - A periodic timer period that ends while the previous timer interrupt
//!   still waits in the IRR is not lost, as it is on hardware, but owed and
//!   delivered later, one per acknowledge, at most one second's worth (Xen's
//!   "delay for missed ticks" policy, as the PIT's IRQ 0; see `timer`).
//! - EOI-broadcast suppression (version bit 24, SVR bit 12) is offered only
//!   once the board says its I/O APIC has an EOI register
//!   ([`LocalApic::set_eoi_broadcast_suppression_supported`]); otherwise SVR
//!   bit 12 is reserved.
//!
//! # Layout
//!
//! - `vectors`: the 256-bit IRR/ISR/TMR sets.
//! - `registers`: the register map, bit names and the xAPIC MMIO face.
//! - `priority`: TPR/PPR, acceptance, acknowledge and EOI.
//! - `lvt`: local interrupts (LINT0/LINT1, virtual wire, errors).
//! - `timer`: the APIC timer in its three modes.
//! - `icr`: IPIs and their destinations.
//! - `x2apic`: IA32_APIC_BASE, the mode transitions and the x2APIC MSRs.

mod icr;
mod lvt;
mod priority;
mod registers;
mod timer;
mod vectors;
mod x2apic;

use crate::mmio_bus::MmioDevice;
use crate::Clock;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use timer::Timer;
use vectors::VectorSet;

pub use icr::{DeliveryMode, Ipi, Shorthand, MAX_QUEUED_IPIS};
pub use lvt::{VIRTUAL_WIRE_LINT0, VIRTUAL_WIRE_LINT1};
pub use registers::*;
pub use timer::{APIC_BUS_HZ, TIMER_BACKLOG_SPAN_NS};
pub use x2apic::{
    ApicFault, APIC_BASE_ADDRESS_MASK, APIC_BASE_BSP, APIC_BASE_EN, APIC_BASE_EXTD,
    APIC_DEFAULT_BASE, IA32_APIC_BASE, X2APIC_MSR_FIRST, X2APIC_MSR_LAST,
};

/// The local APIC of one vCPU.
pub struct LocalApic {
    /// The initial APIC ID (CPUID and MADT say the same): the x2APIC ID, and
    /// its low 8 bits the xAPIC ID.
    apic_id: u32,
    bsp: bool,
    clock: Rc<dyn Clock>,
    /// IA32_APIC_BASE.
    apic_base: u64,
    /// The board's I/O APIC has an EOI register: version bit 24 and SVR bit
    /// 12 exist.
    eoi_suppression_supported: bool,
    /// Task priority register (bits 7:0).
    tpr: u8,
    /// xAPIC logical destination register (bits 31:24 meaningful).
    ldr: u32,
    /// Destination format register.
    dfr: u32,
    /// Spurious interrupt vector register.
    svr: u32,
    /// ESR as software last latched it.
    esr: u32,
    /// Errors seen since the last ESR write.
    esr_pending: u32,
    /// ICR low dword as last written (delivery status always 0).
    icr_low: u32,
    /// ICR high dword: xAPIC destination in bits 31:24, or the x2APIC
    /// destination.
    icr_high: u32,
    /// LVT entries, indexed by [`lvt::Lvt`].
    lvt: [u32; lvt::LVT_COUNT],
    irr: VectorSet,
    isr: VectorSet,
    tmr: VectorSet,
    /// Level-triggered vectors EOI'd but not yet taken by the board.
    eoi_broadcast: VectorSet,
    timer: Timer,
    nmi_pending: bool,
    /// The last level seen on LINT1.
    lint1: bool,
    ipis: VecDeque<Ipi>,
    /// IPIs dropped because the board let [`MAX_QUEUED_IPIS`] pile up.
    ipis_dropped: u64,
}

impl LocalApic {
    /// The APIC of the vCPU whose initial APIC ID is `apic_id`, in its
    /// power-on state; `bsp` sets IA32_APIC_BASE's BSP flag.
    pub fn new(apic_id: u32, bsp: bool, clock: Rc<dyn Clock>) -> Self {
        let mut apic = Self {
            apic_id,
            bsp,
            clock,
            apic_base: 0,
            eoi_suppression_supported: false,
            tpr: 0,
            ldr: 0,
            dfr: 0,
            svr: 0,
            esr: 0,
            esr_pending: 0,
            icr_low: 0,
            icr_high: 0,
            lvt: [0; lvt::LVT_COUNT],
            irr: VectorSet::default(),
            isr: VectorSet::default(),
            tmr: VectorSet::default(),
            eoi_broadcast: VectorSet::default(),
            timer: Timer::default(),
            nmi_pending: false,
            lint1: false,
            ipis: VecDeque::new(),
            ipis_dropped: 0,
        };
        apic.reset();
        apic
    }

    /// Power-on or RESET (11.4.7.1): IA32_APIC_BASE = FEE00000h, globally
    /// enabled, BSP flag as built; xAPIC mode; every register in its reset
    /// state (all LVTs masked, SVR = FFh so software-disabled, DFR all ones);
    /// nothing pending or queued.
    pub fn reset(&mut self) {
        self.apic_base =
            APIC_DEFAULT_BASE | APIC_BASE_EN | if self.bsp { APIC_BASE_BSP } else { 0 };
        self.reset_registers();
        self.ipis.clear();
        self.eoi_broadcast = VectorSet::default();
        self.lint1 = false;
    }

    /// INIT (11.4.7.3): the registers return to their power-on state but
    /// IA32_APIC_BASE (address, enable, x2APIC mode) and the APIC ID are kept.
    /// The board calls this when an INIT IPI reaches this vCPU.
    pub fn init(&mut self) {
        self.reset_registers();
    }

    /// The register state of 11.4.7.1, without IA32_APIC_BASE.
    fn reset_registers(&mut self) {
        self.tpr = 0;
        self.ldr = 0;
        self.dfr = DFR_RESET;
        self.svr = SVR_RESET;
        self.esr = 0;
        self.esr_pending = 0;
        self.icr_low = 0;
        self.icr_high = 0;
        self.lvt = [LVT_MASKED; lvt::LVT_COUNT];
        self.irr = VectorSet::default();
        self.isr = VectorSet::default();
        self.tmr = VectorSet::default();
        self.timer = Timer::default();
        self.nmi_pending = false;
    }

    /// The initial APIC ID this APIC was built with (the x2APIC ID).
    pub fn id(&self) -> u32 {
        self.apic_id
    }

    /// IA32_APIC_BASE.
    pub fn apic_base(&self) -> u64 {
        self.apic_base
    }

    /// Globally enabled (IA32_APIC_BASE bit 11), in xAPIC or x2APIC mode.
    pub fn is_enabled(&self) -> bool {
        self.apic_base & APIC_BASE_EN != 0
    }

    /// In x2APIC mode (IA32_APIC_BASE bits 10 and 11).
    pub fn is_x2apic(&self) -> bool {
        self.is_enabled() && self.apic_base & APIC_BASE_EXTD != 0
    }

    /// Software-enabled: SVR bit 8 (11.4.7.2).
    pub fn is_software_enabled(&self) -> bool {
        self.svr & SVR_APIC_ENABLED != 0
    }

    /// The task priority register (for lowest-priority arbitration, and CR8
    /// reads: CR8 = TPR bits 7:4, SDM 11.8.6).
    pub fn tpr(&self) -> u8 {
        self.tpr
    }

    /// Sets the task priority register, for CR8 writes (TPR = CR8 << 4,
    /// 11.8.6) or a TPR shadow the hypervisor synchronises.
    pub fn set_tpr(&mut self, tpr: u8) {
        self.tpr = tpr;
    }

    /// Says whether the board's I/O APIC has an EOI register, so that
    /// EOI-broadcast suppression may be advertised (version bit 24) and
    /// enabled (SVR bit 12). Off by default. Turning it off clears SVR bit 12.
    pub fn set_eoi_broadcast_suppression_supported(&mut self, supported: bool) {
        self.eoi_suppression_supported = supported;
        if !supported {
            self.svr &= !SVR_SUPPRESS_EOI_BROADCAST;
        }
    }

    /// Takes the next IPI this APIC sent to other CPUs (or to a destination
    /// the router must resolve), oldest first.
    pub fn take_ipi(&mut self) -> Option<Ipi> {
        self.ipis.pop_front()
    }

    /// IPIs dropped because more than [`MAX_QUEUED_IPIS`] waited for
    /// [`LocalApic::take_ipi`].
    pub fn ipis_dropped(&self) -> u64 {
        self.ipis_dropped
    }

    /// Takes an NMI for the CPU (LINT1, a self NMI or [`LocalApic::deliver_nmi`]).
    pub fn take_nmi(&mut self) -> bool {
        core::mem::take(&mut self.nmi_pending)
    }

    /// An NMI message for this CPU (an NMI IPI, or an I/O APIC or MSI NMI):
    /// held until [`LocalApic::take_nmi`]. NMIs do not queue: one is pending
    /// at most. Accepted even when software-disabled (11.4.7.2).
    pub fn deliver_nmi(&mut self) {
        if self.is_enabled() {
            self.nmi_pending = true;
        }
    }

    fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }
}

impl MmioDevice for LocalApic {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        self.mmio_read(offset, size)
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        self.mmio_write(offset, size, value)
    }
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
