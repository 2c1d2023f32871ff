//! The machine edge of pv-demo, the only file with `unsafe`: the PVH
//! entry stub, the statically placed pages, the heap, the raw accesses
//! (CPUID, the direct map, the hypercall entry) and the panic handler.
//!
//! # The PVH entry
//!
//! The hypervisor starts the kernel at the physical address of the ELF
//! note `XEN_ELFNOTE_PHYS32_ENTRY` (type 18, owner "Xen",
//! `xen/include/public/elfnote.h`) in 32-bit protected mode with paging
//! off, flat CS/DS, and EBX holding the physical address of
//! `struct hvm_start_info` (`xen/include/public/arch-x86/hvm/start_info.h`,
//! Xen's `docs/misc/pvh.pandoc`). The stub keeps EBX, zeroes .bss,
//! identity-maps the first 4 GiB with 2 MiB pages (guest RAM and the Xen
//! special pages just below 4 GiB, where `HVM_PARAM_STORE_PFN` and
//! `HVM_PARAM_CONSOLE_PFN` point), enables PAE, EFER.LME and paging
//! (Intel SDM vol. 3A, 10.8.5 "Initializing IA-32e Mode"; AMD APM vol. 2,
//! 14.6 "Enabling and Activating Long Mode"), loads a 64-bit GDT and calls
//! `rust_main(start_info_paddr)` on its own stack.

use core::arch::global_asm;
use linked_list_allocator::LockedHeap;
use pv_drivers::arch::NativeHypercall;
use pv_drivers::raw::DirectMap;

/// Size of the stack.
pub const STACK_SIZE: usize = 256 * 1024;
/// Size of the heap (the frontends' buffers and the demo's read buffer).
pub const HEAP_SIZE: usize = 4 << 20;
/// Grant frames mapped (`XENMAPSPACE_grant_table`): 512 v1 entries each.
pub const GRANT_FRAMES: usize = 2;
/// Data pages lent to blkfront: one request's worth (32 indirect
/// segments, the backend's `feature-max-indirect-segments`).
pub const DATA_PAGES: usize = 32;
/// Frames the direct map covers: everything below 4 GiB, which the stub
/// maps 1:1.
pub const DIRECT_MAP_FRAMES: u64 = 1 << 20;

/// `XEN_ELFNOTE_PHYS32_ENTRY` (`xen/include/public/elfnote.h`).
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

global_asm!(
    r#"
    /* The PVH entry note (xen/include/public/elfnote.h): Elf64 note,
       namesz 4 ("Xen\0"), descsz 8, type XEN_ELFNOTE_PHYS32_ENTRY, the
       physical entry address as an 8-byte value (as Linux's _ASM_PTR). */
    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 8
    .long {phys32_entry}
    .asciz "Xen"
    .balign 4
    .quad _start32

    .section .text.boot32, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl %ebx, %esi             /* hvm_start_info's physical address */

    /* zero .bss */
    movl $__load_end, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl $(pv_demo_stack + {stack_size}), %esp

    /* 2048 PD entries of 2 MiB: present, writable, page size */
    movl $boot_pd, %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    /* four PDPT entries, one per GiB */
    movl $boot_pdpt, %edi
    movl $boot_pd, %eax
    orl $0x3, %eax
    xorl %ecx, %ecx
2:  movl %eax, (%edi,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 2b

    movl $boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, boot_pml4

    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl %cr4, %eax
    orl $(1 << 5), %eax         /* CR4.PAE */
    movl %eax, %cr4

    movl $0xC0000080, %ecx      /* IA32_EFER */
    rdmsr
    orl $(1 << 8), %eax         /* EFER.LME */
    wrmsr

    movl %cr0, %eax
    orl $0x80010021, %eax       /* CR0.PG | CR0.WP | CR0.NE | CR0.PE */
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $start64

    .code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movl %esi, %edi             /* rust_main(start_info) */
    movabsq $(pv_demo_stack + {stack_size}), %rsp
    xorl %ebp, %ebp
    call rust_main
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .balign 4096
boot_pml4:  .space 4096
boot_pdpt:  .space 4096
boot_pd:    .space 4096 * 4
    .global pv_demo_shared_info
pv_demo_shared_info: .space 4096
    .global pv_demo_grant_frames
pv_demo_grant_frames: .space 4096 * {grant_frames}
    .global pv_demo_blk_ring
pv_demo_blk_ring: .space 4096
    .global pv_demo_blk_indirect
pv_demo_blk_indirect: .space 4096
    .global pv_demo_blk_data
pv_demo_blk_data: .space 4096 * {data_pages}
    .global pv_demo_heap
pv_demo_heap: .space {heap_size}
    .balign 16
    .global pv_demo_stack
pv_demo_stack: .space {stack_size}
    .text
    "#,
    phys32_entry = const XEN_ELFNOTE_PHYS32_ENTRY,
    stack_size = const STACK_SIZE,
    heap_size = const HEAP_SIZE,
    grant_frames = const GRANT_FRAMES,
    data_pages = const DATA_PAGES,
    options(att_syntax)
);

/// The statically placed frames (by guest frame number: the stub maps
/// physical memory 1:1, so a symbol's address is its physical address).
#[derive(Clone, Copy, Debug)]
pub struct Frames {
    /// Where the shared-info page goes (`XENMAPSPACE_shared_info`).
    pub shared_info: u64,
    /// Where the grant frames go (`XENMAPSPACE_grant_table`).
    pub grant: [u64; GRANT_FRAMES],
    /// blkfront's ring page.
    pub blk_ring: u64,
    /// blkfront's indirect segment page.
    pub blk_indirect: u64,
    /// blkfront's data pages.
    pub blk_data: [u64; DATA_PAGES],
}

macro_rules! symbol_address {
    ($sym:ident) => {{
        let a: u64;
        // SAFETY: LEA only computes the address of a symbol the stub
        // defines; nothing is read or written.
        unsafe {
            core::arch::asm!(
                concat!("lea {0}, [rip + ", stringify!($sym), "]"),
                out(reg) a,
                options(nomem, nostack, preserves_flags, pure)
            )
        };
        a
    }};
}

/// The frames the stub reserved in .bss.
pub fn frames() -> Frames {
    let grant0 = symbol_address!(pv_demo_grant_frames) >> 12;
    let data0 = symbol_address!(pv_demo_blk_data) >> 12;
    Frames {
        shared_info: symbol_address!(pv_demo_shared_info) >> 12,
        grant: core::array::from_fn(|i| grant0 + i as u64),
        blk_ring: symbol_address!(pv_demo_blk_ring) >> 12,
        blk_indirect: symbol_address!(pv_demo_blk_indirect) >> 12,
        blk_data: core::array::from_fn(|i| data0 + i as u64),
    }
}

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Gives the heap its memory (once, first thing in `rust_main`).
pub fn init_heap() {
    let bottom = symbol_address!(pv_demo_heap) as *mut u8;
    // SAFETY: `pv_demo_heap` is HEAP_SIZE bytes of .bss reserved for the
    // heap alone, mapped writable, never touched otherwise; `init` is
    // called once (from `rust_main`, before any allocation).
    unsafe { HEAP.lock().init(bottom, HEAP_SIZE) };
}

/// CPUID leaf `leaf`: (EAX, EBX, ECX, EDX).
pub fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 CPU and only writes the four
    // registers the intrinsic returns; a leaf out of range returns data,
    // it does not fault.
    let r = unsafe { core::arch::x86_64::__cpuid(leaf) };
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// The hypercall entry for this CPU (VMCALL or VMMCALL).
pub fn hypercall() -> NativeHypercall {
    // SAFETY: we run at CPL 0 as a PVH guest of the Xen-compatible
    // hypervisor (the entry note is what got us started), and the demo
    // passes only its own argument buffers (pv-drivers' frontends) and its
    // own frames (the pages above) to the hypercalls.
    unsafe { NativeHypercall::new() }
}

/// Guest frames through the 1:1 map of the first 4 GiB.
pub fn direct_map() -> DirectMap {
    // SAFETY: the stub maps physical 0..4 GiB 1:1, writable, for the life
    // of the kernel; the demo touches only RAM frames it owns (the pages
    // above, handed to the frontends) and the pages the hypervisor placed
    // for it (shared info, grant frames, the store and console rings),
    // and never holds Rust references into any of them.
    unsafe { DirectMap::new(0, 0..DIRECT_MAP_FRAMES) }
}

/// Stops the CPU for good (after a shutdown hypercall that returned).
pub fn halt() -> ! {
    loop {
        // SAFETY: CLI; HLT stops this (only) CPU; no memory is touched.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// The 64-bit entry the stub calls with `hvm_start_info`'s physical
/// address.
#[no_mangle]
extern "C" fn rust_main(start_info: u64) -> ! {
    crate::demo::main(start_info)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::demo::panicked(info)
}
