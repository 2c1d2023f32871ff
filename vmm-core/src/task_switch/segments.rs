//! Loading the new task's LDTR and segment registers, after the commit
//! point of the switch (Intel SDM vol. 3A, 8.3 step 13, table 8-1 rows
//! 8-20): a fault here is raised in the new task's context.
//!
//! The order is LDTR (the other selectors may name it), CS (its RPL is the
//! new CPL), SS, then DS, ES, FS, GS. Before the checks start, every data
//! segment register holds its new selector with an unusable hidden part,
//! and once CS is loaded SS does too (at the new CPL): a fault leaves the
//! registers it did not reach unusable rather than the old task's, except
//! CS and SS when CS itself faults, which keep the old task's so that the
//! state stays one the processor can enter (the SDM leaves the state after
//! such a fault undefined: "may corrupt architectural state").

use super::descriptor::{fetch, system_type, touch, SELECTOR_RPL, SELECTOR_TI};
use super::memory::System;
use super::tss::TaskState;
use super::{Failure, NP, TS};
use crate::vcpu::{vector, SegReg, Segment, SystemSegReg, Vcpu};

/// ES, CS, SS, DS, FS, GS: the order of [`TaskState::selectors`].
const ES: usize = 0;
const CS: usize = 1;
const SS: usize = 2;
const DS: usize = 3;
const FS: usize = 4;
const GS: usize = 5;

/// A segment register that holds `selector` but cannot be used, its DPL
/// `dpl` (SS's DPL is the CPL even then).
fn unusable(selector: u16, dpl: u8) -> Segment {
    Segment {
        selector,
        attrs: u16::from(dpl) << 5,
        limit: 0,
        base: 0,
    }
}

/// A segment register in virtual-8086 mode: base selector × 16, limit
/// FFFFh, a present read/write accessed data segment at DPL 3 (SDM vol. 3B,
/// chapter "8086 Emulation", "Address Translation in Virtual-8086 Mode";
/// the form VM entry requires, SDM vol. 3C, 27.3.1.2).
fn v86_segment(selector: u16) -> Segment {
    Segment {
        selector,
        attrs: 0xF3,
        limit: 0xFFFF,
        base: u64::from(selector) << 4,
    }
}

/// Loads LDTR and the segment registers from `state`; `v86` when the new
/// EFLAGS has VM set.
pub(super) fn load(
    sys: &mut System,
    vcpu: &mut dyn Vcpu,
    state: &TaskState,
    v86: bool,
) -> Result<(), Failure> {
    let sel = state.selectors;
    for (seg, i) in [
        (SegReg::Es, ES),
        (SegReg::Ds, DS),
        (SegReg::Fs, FS),
        (SegReg::Gs, GS),
    ] {
        vcpu.set_segment(seg, unusable(sel[i], 0));
    }
    if v86 {
        for (seg, selector) in SegReg::ALL.into_iter().zip(sel) {
            vcpu.set_segment(seg, v86_segment(selector));
        }
    }
    load_ldtr(sys, vcpu, state.ldt)?;
    if v86 {
        return Ok(());
    }
    let cpl = (sel[CS] & SELECTOR_RPL) as u8;
    load_cs(sys, vcpu, sel[CS])?;
    vcpu.set_segment(SegReg::Ss, unusable(sel[SS], cpl));
    load_ss(sys, vcpu, sel[SS], cpl)?;
    for (seg, i) in [
        (SegReg::Ds, DS),
        (SegReg::Es, ES),
        (SegReg::Fs, FS),
        (SegReg::Gs, GS),
    ] {
        load_data(sys, vcpu, seg, sel[i], cpl)?;
    }
    Ok(())
}

/// LDTR: null, or an LDT descriptor in the GDT that is present; anything
/// else is #TS(LDT selector) (table 8-1 rows 8 and 13).
fn load_ldtr(sys: &mut System, vcpu: &mut dyn Vcpu, selector: u16) -> Result<(), Failure> {
    vcpu.set_system_segment(SystemSegReg::Ldtr, unusable(selector, 0));
    if selector & SELECTOR_TI != 0 {
        return Err(sys.selector_fault(TS, selector));
    }
    if selector & !SELECTOR_RPL == 0 {
        return Ok(());
    }
    let Some((_, d)) = fetch(sys, vcpu, selector)? else {
        return Err(sys.selector_fault(TS, selector));
    };
    if d.code_or_data() || d.kind() != system_type::LDT || !d.present() {
        return Err(sys.selector_fault(TS, selector));
    }
    vcpu.set_system_segment(SystemSegReg::Ldtr, d.segment(selector));
    Ok(())
}

/// CS: a code segment, DPL = RPL when non-conforming and DPL ≤ RPL when
/// conforming, else #TS; not present, #NP (table 8-1 rows 9, 14, 15).
fn load_cs(sys: &mut System, vcpu: &mut dyn Vcpu, selector: u16) -> Result<(), Failure> {
    let rpl = (selector & SELECTOR_RPL) as u8;
    if selector & !SELECTOR_RPL == 0 {
        return Err(sys.selector_fault(TS, selector));
    }
    let Some((linear, d)) = fetch(sys, vcpu, selector)? else {
        return Err(sys.selector_fault(TS, selector));
    };
    let privilege_ok = if d.conforming() {
        d.dpl() <= rpl
    } else {
        d.dpl() == rpl
    };
    if !d.code() || !privilege_ok {
        return Err(sys.selector_fault(TS, selector));
    }
    if !d.present() {
        return Err(sys.selector_fault(NP, selector));
    }
    let d = touch(sys, vcpu, linear, d)?;
    vcpu.set_segment(SegReg::Cs, d.segment(selector));
    Ok(())
}

/// SS: a writable data segment with DPL = RPL = CPL, else #TS; not
/// present, #SS (table 8-1 rows 10-12, 16).
fn load_ss(sys: &mut System, vcpu: &mut dyn Vcpu, selector: u16, cpl: u8) -> Result<(), Failure> {
    let rpl = (selector & SELECTOR_RPL) as u8;
    if selector & !SELECTOR_RPL == 0 {
        return Err(sys.selector_fault(TS, selector));
    }
    let Some((linear, d)) = fetch(sys, vcpu, selector)? else {
        return Err(sys.selector_fault(TS, selector));
    };
    if !d.writable_data() || d.dpl() != cpl || rpl != cpl {
        return Err(sys.selector_fault(TS, selector));
    }
    if !d.present() {
        return Err(sys.selector_fault(vector::SS, selector));
    }
    let d = touch(sys, vcpu, linear, d)?;
    vcpu.set_segment(SegReg::Ss, d.segment(selector));
    Ok(())
}

/// DS, ES, FS, GS: null, or data or readable code, with DPL ≥ RPL and ≥
/// CPL unless conforming code, else #TS; not present, #NP (table 8-1 rows
/// 17-20).
fn load_data(
    sys: &mut System,
    vcpu: &mut dyn Vcpu,
    seg: SegReg,
    selector: u16,
    cpl: u8,
) -> Result<(), Failure> {
    if selector & !SELECTOR_RPL == 0 {
        return Ok(());
    }
    let rpl = (selector & SELECTOR_RPL) as u8;
    let Some((linear, d)) = fetch(sys, vcpu, selector)? else {
        return Err(sys.selector_fault(TS, selector));
    };
    if !d.code_or_data() || !d.readable() {
        return Err(sys.selector_fault(TS, selector));
    }
    if !d.conforming() && (rpl > d.dpl() || cpl > d.dpl()) {
        return Err(sys.selector_fault(TS, selector));
    }
    if !d.present() {
        return Err(sys.selector_fault(NP, selector));
    }
    let d = touch(sys, vcpu, linear, d)?;
    vcpu.set_segment(seg, d.segment(selector));
    Ok(())
}
