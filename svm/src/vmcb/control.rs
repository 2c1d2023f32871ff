//! VMCB control area (AMD APM vol. 2, appendix B, table B-1 "VMCB Layout,
//! Control Area").

use core::mem::{offset_of, size_of};

/// The control area: intercepts, permission maps, ASID, event injection and the
/// exit information the processor writes on #VMEXIT.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ControlArea {
    /// 000h: bits 0-15 intercept reads of CR0-15, bits 16-31 writes.
    pub intercept_cr: u32,
    /// 004h: bits 0-15 intercept reads of DR0-15, bits 16-31 writes.
    pub intercept_dr: u32,
    /// 008h: one bit per exception vector.
    pub intercept_exceptions: u32,
    /// 00Ch: intercept vector 3 ([`crate::intercepts::Misc1`]).
    pub intercept_misc1: u32,
    /// 010h: intercept vector 4 ([`crate::intercepts::Misc2`]).
    pub intercept_misc2: u32,
    /// 014h: intercept vector 5.
    pub intercept_misc3: u32,
    _reserved_018: [u8; 0x3C - 0x18],
    /// 03Ch: PAUSE filter threshold.
    pub pause_filter_threshold: u16,
    /// 03Eh: PAUSE filter count.
    pub pause_filter_count: u16,
    /// 040h: physical address of the I/O permission map.
    pub iopm_base_pa: u64,
    /// 048h: physical address of the MSR permission map.
    pub msrpm_base_pa: u64,
    /// 050h: added to the TSC the guest reads.
    pub tsc_offset: u64,
    /// 058h: guest ASID (must not be 0).
    pub guest_asid: u32,
    /// 05Ch: TLB_CONTROL (0: nothing, 1: flush the whole TLB).
    pub tlb_control: u8,
    _reserved_05d: [u8; 3],
    /// 060h: V_TPR (0-7), V_IRQ (8), VGIF (9), V_INTR_PRIO (16-19), V_IGN_TPR (20),
    /// V_INTR_MASKING (24), V_GIF_ENABLE (25), V_INTR_VECTOR (32-39).
    pub v_intr: u64,
    /// 068h: bit 0 interrupt shadow, bit 1 guest interrupt mask.
    pub interrupt_shadow: u64,
    /// 070h: EXITCODE.
    pub exit_code: u64,
    /// 078h: EXITINFO1.
    pub exit_info1: u64,
    /// 080h: EXITINFO2.
    pub exit_info2: u64,
    /// 088h: EXITINTINFO: an event that was being delivered when the exit happened.
    pub exit_int_info: u64,
    /// 090h: bit 0 NP_ENABLE, bit 1 SEV, bit 2 SEV-ES.
    pub np_control: u64,
    /// 098h: AVIC APIC_BAR.
    pub avic_apic_bar: u64,
    /// 0A0h: guest physical address of the GHCB.
    pub ghcb_pa: u64,
    /// 0A8h: EVENTINJ: an event to inject at the next VMRUN.
    pub event_inj: u64,
    /// 0B0h: N_CR3, the nested page table root.
    pub n_cr3: u64,
    /// 0B8h: bit 0 LBR virtualization, bit 1 virtualized VMSAVE/VMLOAD.
    pub virt_ext: u64,
    /// 0C0h: VMCB clean bits.
    pub vmcb_clean: u32,
    _reserved_0c4: u32,
    /// 0C8h: next sequential instruction pointer (only with NRIP-save).
    pub next_rip: u64,
    /// 0D0h: number of guest instruction bytes fetched (decode assists).
    pub insn_len: u8,
    /// 0D1h: the guest instruction bytes.
    pub insn_bytes: [u8; 15],
    _reserved_0e0: [u8; 0x400 - 0xE0],
}

impl Default for ControlArea {
    fn default() -> Self {
        Self {
            intercept_cr: 0,
            intercept_dr: 0,
            intercept_exceptions: 0,
            intercept_misc1: 0,
            intercept_misc2: 0,
            intercept_misc3: 0,
            _reserved_018: [0; 0x3C - 0x18],
            pause_filter_threshold: 0,
            pause_filter_count: 0,
            iopm_base_pa: 0,
            msrpm_base_pa: 0,
            tsc_offset: 0,
            guest_asid: 0,
            tlb_control: 0,
            _reserved_05d: [0; 3],
            v_intr: 0,
            interrupt_shadow: 0,
            exit_code: 0,
            exit_info1: 0,
            exit_info2: 0,
            exit_int_info: 0,
            np_control: 0,
            avic_apic_bar: 0,
            ghcb_pa: 0,
            event_inj: 0,
            n_cr3: 0,
            virt_ext: 0,
            vmcb_clean: 0,
            _reserved_0c4: 0,
            next_rip: 0,
            insn_len: 0,
            insn_bytes: [0; 15],
            _reserved_0e0: [0; 0x400 - 0xE0],
        }
    }
}

/// np_control bit 0: enable nested paging.
pub const NP_ENABLE: u64 = 1 << 0;
/// TLB_CONTROL value: flush the entire TLB at VMRUN.
pub const TLB_FLUSH_ALL: u8 = 1;
/// v_intr bit 24: V_INTR_MASKING (guest RFLAGS.IF masks only virtual interrupts).
pub const V_INTR_MASKING: u64 = 1 << 24;
/// v_intr bit 8: V_IRQ, a virtual interrupt is pending.
pub const V_IRQ: u64 = 1 << 8;
/// v_intr bits 16-19: V_INTR_PRIO.
pub const V_INTR_PRIO_SHIFT: u32 = 16;
/// v_intr bit 20: V_IGN_TPR, the virtual interrupt ignores the virtual TPR.
pub const V_IGN_TPR: u64 = 1 << 20;
/// interrupt_shadow bit 0: the guest is in an interrupt shadow (after STI/MOV SS).
pub const INTERRUPT_SHADOW: u64 = 1 << 0;

const _: () = assert!(size_of::<ControlArea>() == 0x400);
const _: () = assert!(offset_of!(ControlArea, pause_filter_threshold) == 0x3C);
const _: () = assert!(offset_of!(ControlArea, iopm_base_pa) == 0x40);
const _: () = assert!(offset_of!(ControlArea, guest_asid) == 0x58);
const _: () = assert!(offset_of!(ControlArea, tlb_control) == 0x5C);
const _: () = assert!(offset_of!(ControlArea, v_intr) == 0x60);
const _: () = assert!(offset_of!(ControlArea, exit_code) == 0x70);
const _: () = assert!(offset_of!(ControlArea, exit_int_info) == 0x88);
const _: () = assert!(offset_of!(ControlArea, np_control) == 0x90);
const _: () = assert!(offset_of!(ControlArea, event_inj) == 0xA8);
const _: () = assert!(offset_of!(ControlArea, n_cr3) == 0xB0);
const _: () = assert!(offset_of!(ControlArea, vmcb_clean) == 0xC0);
const _: () = assert!(offset_of!(ControlArea, next_rip) == 0xC8);
const _: () = assert!(offset_of!(ControlArea, insn_len) == 0xD0);
