//! The hypervisor's own GDT and TSS (Intel SDM vol. 3A, 3.4.5 "Segment
//! Descriptors", 8.7 "Task Management in 64-bit Mode"). The TSS gives the
//! double-fault handler a known-good stack (IST1).

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// IST slot of the double-fault stack (IST1).
pub const DOUBLE_FAULT_IST: u8 = 1;
const IST_STACK_SIZE: usize = 32 * 1024;

#[repr(align(16))]
struct Stack([u8; IST_STACK_SIZE]);

static DOUBLE_FAULT_STACK: Stack = Stack([0; IST_STACK_SIZE]);
static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, [SegmentSelector; 3])> = Once::new();

/// The code selector exception gates use.
pub fn code_selector() -> u16 {
    GDT.get().map(|(_, s)| s[0].0).unwrap_or(0x08)
}

/// Loads the GDT, reloads the segment registers and loads the TSS.
pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        let top = DOUBLE_FAULT_STACK.0.as_ptr() as u64 + IST_STACK_SIZE as u64;
        tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST - 1)] = VirtAddr::new(top);
        tss
    });
    let (gdt, sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss = gdt.append(Descriptor::tss_segment(tss));
        (gdt, [code, data, tss])
    });
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which is
    // static; the code and data descriptors are flat 64-bit ones, so reloading
    // the registers changes nothing the hypervisor's code depends on.
    unsafe {
        CS::set_reg(sel[0]);
        DS::set_reg(sel[1]);
        ES::set_reg(sel[1]);
        SS::set_reg(sel[1]);
        load_tss(sel[2]);
    }
}
