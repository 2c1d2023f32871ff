//! Task switches against Intel SDM vol. 3A, 8.3, on a fake vCPU and guest
//! RAM: each source, the 16-bit TSS, paging, and each failure.

use super::*;
use crate::guest_memory::test_memory;
use crate::test_support::FakeVcpu;
use crate::vcpu::DescriptorTable;

const GDT: u64 = 0x1000;
/// Old task's TSS (busy, in TR).
const TSS_A: u64 = 0x2000;
/// New task's TSS.
const TSS_B: u64 = 0x3000;
/// A 16-bit TSS.
const TSS_C: u64 = 0x3800;
const LDT: u64 = 0x5000;
/// The new task's stack top.
const STACK: u32 = 0x8000;

const CODE: u16 = 0x08;
const DATA: u16 = 0x10;
const SEL_A: u16 = 0x18;
const SEL_B: u16 = 0x20;
const SEL_C: u16 = 0x28;
const SEL_LDT: u16 = 0x30;
const NOT_PRESENT_DATA: u16 = 0x38;
const SHORT_TSS: u16 = 0x40;
const NOT_PRESENT_TSS: u16 = 0x48;
const BUSY_TSS: u16 = 0x50;
const FAR_TSS: u16 = 0x58;
const DATA3: u16 = 0x60;
/// The same code segment, in the LDT (index 1, TI).
const LDT_CODE: u16 = 0x0C;

/// A system descriptor: base, byte-granular limit, type, present.
fn system(base: u32, limit: u32, kind: u8, present: bool) -> u64 {
    let access = u64::from(kind) | if present { 0x80 } else { 0 };
    u64::from(limit & 0xFFFF)
        | (u64::from(base & 0xFF_FFFF) << 16)
        | (access << 40)
        | (u64::from(limit >> 16 & 0xF) << 48)
        | (u64::from(base >> 24) << 56)
}

fn put16(m: &mut GuestMemory, gpa: u64, v: u16) {
    m.write(gpa, &v.to_le_bytes()).unwrap();
}
fn put32(m: &mut GuestMemory, gpa: u64, v: u32) {
    m.write(gpa, &v.to_le_bytes()).unwrap();
}
fn put64(m: &mut GuestMemory, gpa: u64, v: u64) {
    m.write(gpa, &v.to_le_bytes()).unwrap();
}
fn get16(m: &GuestMemory, gpa: u64) -> u16 {
    u16::from_le_bytes(m.read_bytes::<2>(gpa).unwrap())
}
fn get32(m: &GuestMemory, gpa: u64) -> u32 {
    u32::from_le_bytes(m.read_bytes::<4>(gpa).unwrap())
}
fn access_byte(m: &GuestMemory, selector: u16) -> u8 {
    m.read_bytes::<1>(GDT + u64::from(selector) + 5).unwrap()[0]
}

/// 1 MiB of RAM with [`fill`]'s tables.
fn memory() -> GuestMemory {
    let mut m = test_memory(0x10_0000);
    fill(&mut m);
    m
}

/// Writes the GDT (at 1000h), an LDT and the TSSs into `m`: TSS A (2000h,
/// selector 18h) is the running task's, TSS B (3000h, selector 20h) holds a
/// task at EIP 9000h on flat segments with distinct registers.
pub(crate) fn fill(m: &mut GuestMemory) {
    let gdt = [
        0,
        0x00CF_9A00_0000_FFFF, // 08: flat code, not yet accessed
        0x00CF_9300_0000_FFFF, // 10: flat data
        system(TSS_A as u32, 0x67, 0xB, true),
        system(TSS_B as u32, 0x67, 0x9, true),
        system(TSS_C as u32, 0x2B, 0x1, true),
        system(LDT as u32, 0x0F, 0x2, true),
        0x00CF_1300_0000_FFFF, // 38: flat data, not present
        system(TSS_B as u32, 0x50, 0x9, true),
        system(TSS_B as u32, 0x67, 0x9, false),
        system(TSS_B as u32, 0x67, 0xB, true),
        system(0x20_0000, 0x67, 0x9, true), // 58: past RAM
        0x00CF_F300_0000_FFFF,              // 60: flat data, DPL 3
    ];
    for (i, d) in gdt.iter().enumerate() {
        put64(m, GDT + 8 * i as u64, *d);
    }
    put64(m, LDT + 8, 0x00CF_9B00_0000_FFFF);
    // TSS B: back link sentinel, CR3 0, EIP, EFLAGS (IF), EAX..EDI, ES..GS.
    put16(m, TSS_B, 0xFFFF);
    put32(m, TSS_B + 0x20, 0x9000);
    put32(m, TSS_B + 0x24, 0x202);
    for i in 0..8 {
        put32(m, TSS_B + 0x28 + 4 * i, 0xB000 + i as u32);
    }
    put32(m, TSS_B + 0x38, STACK);
    for (i, sel) in [DATA, CODE, DATA, DATA, DATA, DATA].iter().enumerate() {
        put16(m, TSS_B + 0x48 + 4 * i as u64, *sel);
    }
}

/// A protected-mode vCPU in the task of TSS A, at EIP 7000h.
pub(crate) fn vcpu() -> FakeVcpu {
    let mut v = FakeVcpu::default();
    v.cr.cr0 = CR0_PE | 0x10;
    let code = Segment {
        selector: CODE,
        attrs: 0xC9B,
        limit: 0xFFFF_FFFF,
        base: 0,
    };
    let data = Segment {
        selector: DATA,
        attrs: 0xC93,
        ..code
    };
    v.segments = [data, code, data, data, data, data];
    v.gdtr = DescriptorTable {
        base: GDT,
        limit: 0x67,
    };
    v.tr = Segment {
        selector: SEL_A,
        attrs: 0x8B,
        limit: 0x67,
        base: TSS_A,
    };
    v.ldtr = Segment::default();
    v.rip = 0x7000;
    v.rflags = 0x246;
    for (i, g) in v.gprs.iter_mut().enumerate() {
        *g = 0xA000 + i as u64;
    }
    v
}

fn request(selector: u16, source: TaskSwitchSource) -> Request {
    Request {
        selector,
        source,
        return_rip: 0x7005,
    }
}

fn switch(v: &mut FakeVcpu, m: &mut GuestMemory, r: Request) -> Result<(), Failure> {
    switch_task(v, m, 40, &r)
}

fn selector_fault(vector: u8, code: u32) -> Result<(), Failure> {
    Err(fault(vector, code))
}

const DF_GATE: TaskSwitchSource = TaskSwitchSource::Gate {
    vector: 8,
    kind: EventKind::Exception,
    error_code: Some(0),
};

#[test]
fn call_saves_the_old_task_links_and_enters_the_new_one() {
    let mut m = memory();
    let mut v = vcpu();
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Call)).unwrap();
    // The old TSS holds the task as it resumes: past the CALL.
    assert_eq!(get32(&m, TSS_A + 0x20), 0x7005);
    assert_eq!(get32(&m, TSS_A + 0x24), 0x246);
    assert_eq!(get32(&m, TSS_A + 0x28), 0xA000, "EAX");
    assert_eq!(get32(&m, TSS_A + 0x44), 0xA007, "EDI");
    assert_eq!(get16(&m, TSS_A + 0x4C), CODE, "CS");
    assert_eq!(get16(&m, TSS_A + 0x5C), DATA, "GS");
    // Link, busy flags: both tasks busy (table 8-2).
    assert_eq!(get16(&m, TSS_B), SEL_A);
    assert_eq!(access_byte(&m, SEL_A), 0x8B);
    assert_eq!(access_byte(&m, SEL_B), 0x8B);
    // The new task runs, nested, with TS set.
    assert_eq!(v.rip, 0x9000);
    assert_eq!(v.rflags, 0x202 | u64::from(EFLAGS_NT));
    assert_eq!(v.gprs[0], 0xB000);
    assert_eq!(v.gprs[Gpr::Rsp as usize], u64::from(STACK));
    assert_ne!(v.cr.cr0 & CR0_TS, 0);
    assert_eq!(
        v.tr,
        Segment {
            selector: SEL_B,
            attrs: 0x8B,
            limit: 0x67,
            base: TSS_B
        }
    );
    // CS came from the GDT, marked accessed there and in the register.
    assert_eq!(v.segments[1].attrs, 0xC9B);
    assert_eq!(access_byte(&m, CODE), 0x9B);
    assert_eq!(v.segments[2].selector, DATA);
    assert_eq!(v.ldtr.attrs & 0x80, 0, "a null LDTR is unusable");
}

#[test]
fn iret_returns_to_the_linked_task_and_frees_the_nested_one() {
    let mut m = memory();
    let mut v = vcpu();
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Call)).unwrap();
    v.gprs[0] = 0x1234;
    let back = Request {
        selector: get16(&m, TSS_B),
        source: TaskSwitchSource::Iret,
        return_rip: 0x9001,
    };
    switch(&mut v, &mut m, back).unwrap();
    // The nested task is saved with NT clear and is no longer busy.
    assert_eq!(get32(&m, TSS_B + 0x20), 0x9001);
    assert_eq!(get32(&m, TSS_B + 0x24) & EFLAGS_NT, 0);
    assert_eq!(get32(&m, TSS_B + 0x28), 0x1234);
    assert_eq!(access_byte(&m, SEL_B), 0x89);
    assert_eq!(access_byte(&m, SEL_A), 0x8B);
    // The caller resumes past its CALL with its own registers and flags.
    assert_eq!(v.rip, 0x7005);
    assert_eq!(v.rflags, 0x246);
    assert_eq!(v.gprs[7], 0xA007);
    assert_eq!(v.tr.selector, SEL_A);
}

#[test]
fn jmp_frees_the_old_task_and_does_not_nest() {
    let mut m = memory();
    let mut v = vcpu();
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Jmp)).unwrap();
    assert_eq!(access_byte(&m, SEL_A), 0x89);
    assert_eq!(access_byte(&m, SEL_B), 0x8B);
    assert_eq!(get16(&m, TSS_B), 0xFFFF, "no back link");
    assert_eq!(v.rflags & u64::from(EFLAGS_NT), 0);
    assert_eq!(get32(&m, TSS_A + 0x20), 0x7005);
    assert_eq!(v.rip, 0x9000);
}

#[test]
fn a_double_fault_through_a_task_gate_pushes_its_error_code_on_the_new_stack() {
    let mut m = memory();
    m.write(u64::from(STACK) - 4, &[0xAA; 4]).unwrap();
    let mut v = vcpu();
    let r = Request {
        selector: SEL_B,
        source: DF_GATE,
        return_rip: v.rip,
    };
    switch(&mut v, &mut m, r).unwrap();
    assert_eq!(get32(&m, TSS_A + 0x20), 0x7000, "the faulting EIP");
    assert_eq!(get16(&m, TSS_B), SEL_A);
    assert_eq!(v.gprs[Gpr::Rsp as usize], u64::from(STACK - 4));
    assert_eq!(get32(&m, u64::from(STACK - 4)), 0, "error code 0");
    assert_eq!(v.rip, 0x9000);
    assert_ne!(v.rflags & u64::from(EFLAGS_NT), 0);
}

#[test]
fn an_interrupt_through_a_task_gate_pushes_nothing() {
    let mut m = memory();
    let mut v = vcpu();
    let irq = TaskSwitchSource::Gate {
        vector: 0x20,
        kind: EventKind::ExternalInterrupt,
        error_code: None,
    };
    switch(&mut v, &mut m, request(SEL_B, irq)).unwrap();
    assert_eq!(v.gprs[Gpr::Rsp as usize], u64::from(STACK));
}

#[test]
fn a_not_present_tss_is_np_and_changes_nothing() {
    let mut m = memory();
    let mut v = vcpu();
    let r = request(NOT_PRESENT_TSS, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(NP, u32::from(NOT_PRESENT_TSS))
    );
    assert_eq!(get32(&m, TSS_A + 0x20), 0, "nothing saved");
    assert_eq!(
        (v.rip, v.tr.selector, v.cr.cr0 & CR0_TS),
        (0x7000, SEL_A, 0)
    );
}

#[test]
fn a_busy_tss_on_call_is_gp() {
    let mut m = memory();
    let mut v = vcpu();
    for sel in [BUSY_TSS, SEL_A] {
        let r = request(sel, TaskSwitchSource::Call);
        assert_eq!(
            switch(&mut v, &mut m, r),
            selector_fault(13, u32::from(sel))
        );
    }
    assert_eq!(v.rip, 0x7000);
}

#[test]
fn a_tss_limit_below_67h_is_ts() {
    let mut m = memory();
    let mut v = vcpu();
    let r = request(SHORT_TSS, TaskSwitchSource::Jmp);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(TS, u32::from(SHORT_TSS))
    );
    assert_eq!(access_byte(&m, SEL_A), 0x8B, "the old task stays busy");
}

#[test]
fn iret_to_an_available_tss_is_ts_and_an_ldt_selector_is_gp() {
    let mut m = memory();
    let mut v = vcpu();
    let r = request(SEL_B, TaskSwitchSource::Iret);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(TS, u32::from(SEL_B))
    );
    let r = request(SEL_B | 4, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(13, u32::from(SEL_B | 4))
    );
    // Past the GDT's limit, and not a TSS at all.
    let r = request(0x70, TaskSwitchSource::Jmp);
    assert_eq!(switch(&mut v, &mut m, r), selector_fault(13, 0x70));
    let r = request(DATA, TaskSwitchSource::Jmp);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(13, u32::from(DATA))
    );
}

#[test]
fn faults_while_delivering_an_external_event_carry_ext() {
    let mut m = memory();
    let mut v = vcpu();
    let r = request(NOT_PRESENT_TSS, DF_GATE);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(NP, u32::from(NOT_PRESENT_TSS) | 1)
    );
}

#[test]
fn an_old_tss_too_short_for_the_state_is_ts_on_its_selector() {
    let mut m = memory();
    let mut v = vcpu();
    v.tr.limit = 0x5E;
    let r = request(SEL_B, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(TS, u32::from(SEL_A))
    );
}

#[test]
fn a_bad_segment_in_the_new_task_faults_after_the_commit_point() {
    let mut m = memory();
    let mut v = vcpu();
    // CS names a data segment: #TS(CS) raised in the new task.
    put16(&mut m, TSS_B + 0x4C, DATA);
    let r = request(SEL_B, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut v, &mut m, r),
        selector_fault(TS, u32::from(DATA))
    );
    assert_eq!((v.rip, v.tr.selector), (0x9000, SEL_B));
    assert_eq!(get32(&m, TSS_A + 0x20), 0x7005);
    // The old CS stays, the data segments hold their selectors, unusable.
    assert_eq!(v.segments[1].selector, CODE);
    assert_eq!(v.segments[3].attrs & 0x80, 0);
}

#[test]
fn new_segments_are_checked_as_table_8_1_says() {
    let cases = [
        // (offset in TSS B, selector, expected fault)
        (0x54, NOT_PRESENT_DATA, (NP, NOT_PRESENT_DATA)),
        (0x50, NOT_PRESENT_DATA, (vector::SS, NOT_PRESENT_DATA)),
        (0x50, DATA3 | 3, (TS, DATA3)),
        (0x50, 0, (TS, 0)),
        (0x48, SEL_B, (TS, SEL_B)),
        (0x58, 0x78, (TS, 0x78)),
        (0x60, DATA, (TS, DATA)),
        (0x60, 4, (TS, 4)),
    ];
    for (offset, selector, (vector, code)) in cases {
        let mut m = memory();
        let mut v = vcpu();
        put16(&mut m, TSS_B + offset, selector);
        let r = request(SEL_B, TaskSwitchSource::Jmp);
        assert_eq!(
            switch(&mut v, &mut m, r),
            selector_fault(vector, u32::from(code)),
            "selector {selector:#x} at {offset:#x}"
        );
    }
}

#[test]
fn the_new_task_may_use_its_ldt() {
    let mut m = memory();
    let mut v = vcpu();
    put16(&mut m, TSS_B + 0x60, SEL_LDT);
    put16(&mut m, TSS_B + 0x4C, LDT_CODE);
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Call)).unwrap();
    assert_eq!(v.ldtr.selector, SEL_LDT);
    assert_eq!((v.ldtr.base, v.ldtr.limit), (LDT, 0x0F));
    assert_eq!(v.segments[1].selector, LDT_CODE);
    assert_eq!(v.segments[1].attrs, 0xC9B);
}

#[test]
fn a_16_bit_tss_saves_and_loads_words() {
    let mut m = memory();
    put16(&mut m, TSS_C + 0x0E, 0x1234); // IP
    put16(&mut m, TSS_C + 0x10, 0x0002); // FLAGS
    put16(&mut m, TSS_C + 0x12, 0x5555); // AX
    put16(&mut m, TSS_C + 0x1A, 0x0800); // SP
    for (i, sel) in [DATA, CODE, DATA, DATA].iter().enumerate() {
        put16(&mut m, TSS_C + 0x22 + 2 * i as u64, *sel);
    }
    let mut v = vcpu();
    let r = Request {
        selector: SEL_C,
        source: TaskSwitchSource::Gate {
            vector: 13,
            kind: EventKind::Exception,
            error_code: Some(0x1_0013),
        },
        return_rip: 0x7000,
    };
    switch(&mut v, &mut m, r).unwrap();
    assert_eq!((v.rip, v.gprs[0]), (0x1234, 0x5555));
    assert_eq!(v.tr.attrs, 0x83, "a busy 16-bit TSS");
    // FS and GS are null; a word error code went onto the stack.
    assert_eq!(v.segments[4].selector, 0);
    assert_eq!(v.segments[4].attrs & 0x80, 0);
    assert_eq!(v.gprs[Gpr::Rsp as usize], 0x07FE);
    assert_eq!(get16(&m, 0x07FE), 0x0013);
    assert_eq!(get16(&m, TSS_C), SEL_A, "back link");
}

#[test]
fn a_virtual_8086_task_gets_real_mode_style_segments() {
    let mut m = memory();
    put32(&mut m, TSS_B + 0x24, 0x2_0202);
    for (i, sel) in [0x1000u16, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]
        .iter()
        .enumerate()
    {
        put16(&mut m, TSS_B + 0x48 + 4 * i as u64, *sel);
    }
    put32(&mut m, TSS_B + 0x20, 0x0100);
    let mut v = vcpu();
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Jmp)).unwrap();
    assert_ne!(v.rflags & u64::from(EFLAGS_VM), 0);
    assert_eq!(
        v.segments[1],
        Segment {
            selector: 0x2000,
            attrs: 0xF3,
            limit: 0xFFFF,
            base: 0x2_0000
        }
    );
}

/// 32-bit paging with 4 MiB pages: page directories at 10000h (the old
/// task's) and 11000h (the new task's) map 0-4 MiB onto itself; 4-8 MiB
/// is not present.
fn paged(m: &mut GuestMemory, v: &mut FakeVcpu) {
    for pd in [0x1_0000, 0x1_1000] {
        put32(m, pd, 0x83);
    }
    put32(m, TSS_B + 0x1C, 0x1_1000);
    v.cr.cr0 |= CR0_PG;
    v.cr.cr4 = 1 << 4; // PSE
    v.cr.cr3 = 0x1_0000;
}

#[test]
fn with_paging_cr3_loads_from_the_tss_and_translations_are_flushed() {
    let mut m = memory();
    let mut v = vcpu();
    paged(&mut m, &mut v);
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Call)).unwrap();
    assert_eq!(v.cr.cr3, 0x1_1000);
    assert_eq!(v.flushes, 1);
    assert_eq!(v.pdptes, None, "no PAE");
}

#[test]
fn a_page_fault_on_the_old_tss_comes_before_any_change() {
    let mut m = memory();
    let mut v = vcpu();
    paged(&mut m, &mut v);
    v.tr.base = 0x40_0000;
    let r = request(SEL_B, TaskSwitchSource::Call);
    let Err(Failure::Fault(f)) = switch(&mut v, &mut m, r) else {
        panic!("no fault");
    };
    assert_eq!(f.exception.vector, vector::PF);
    assert_eq!(f.cr2, Some(0x40_0020));
    assert_eq!((v.rip, v.tr.selector, v.cr.cr3), (0x7000, SEL_A, 0x1_0000));
    assert_eq!(get16(&m, TSS_B), 0xFFFF);
    assert_eq!(access_byte(&m, SEL_B), 0x89);
}

#[test]
fn with_pae_paging_the_new_pdptes_are_loaded() {
    let mut m = memory();
    let mut v = vcpu();
    // PDPTs at 12000h and 12020h, each pointing at a PD of 2 MiB pages.
    for pdpt in [0x1_2000, 0x1_2020] {
        put64(&mut m, pdpt, 0x1_3000 | 1);
    }
    put64(&mut m, 0x1_3000, 0x83);
    put32(&mut m, TSS_B + 0x1C, 0x1_2020);
    v.cr.cr0 |= CR0_PG;
    v.cr.cr4 = CR4_PAE;
    v.cr.cr3 = 0x1_2000;
    switch(&mut v, &mut m, request(SEL_B, TaskSwitchSource::Call)).unwrap();
    assert_eq!(v.cr.cr3, 0x1_2020);
    assert_eq!(v.pdptes, Some([0x1_3001, 0, 0, 0]));
    // Reserved bits in a present PDPTE: #GP(0) in the new task.
    let mut m = memory();
    let mut v = vcpu();
    put64(&mut m, 0x1_2000, 0x1_3000 | 1);
    put64(&mut m, 0x1_2020, 0x1_3000 | 1 | 0x20);
    put64(&mut m, 0x1_3000, 0x83);
    put32(&mut m, TSS_B + 0x1C, 0x1_2020);
    v.cr.cr0 |= CR0_PG;
    v.cr.cr4 = CR4_PAE;
    v.cr.cr3 = 0x1_2000;
    let r = request(SEL_B, TaskSwitchSource::Call);
    assert_eq!(switch(&mut v, &mut m, r), selector_fault(13, 0));
    assert_eq!(v.pdptes, None);
}

#[test]
fn an_eip_past_the_new_cs_limit_is_gp0() {
    let mut m = memory();
    put64(&mut m, GDT + 8, 0x0040_9A00_0000_0FFF); // 08: code, limit FFFh
    put32(&mut m, TSS_B + 0x20, 0x1000);
    let mut v = vcpu();
    let r = request(SEL_B, TaskSwitchSource::Call);
    assert_eq!(switch(&mut v, &mut m, r), selector_fault(13, 0));
    assert_eq!(v.rip, 0x1000);
}

#[test]
fn a_tss_outside_ram_or_a_mode_without_tasks_stops_the_guest() {
    let mut m = memory();
    let mut v = vcpu();
    let r = request(FAR_TSS, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut v, &mut m, r),
        Err(Failure::Stop(StopCause::OutsideRam { gpa: 0x20_0000 }))
    );
    assert_eq!((v.rip, v.tr.selector), (0x7000, SEL_A));
    let mut real = FakeVcpu::default();
    let r = request(SEL_B, TaskSwitchSource::Call);
    assert_eq!(
        switch(&mut real, &mut m, r),
        Err(Failure::Stop(StopCause::NotProtectedMode))
    );
}
