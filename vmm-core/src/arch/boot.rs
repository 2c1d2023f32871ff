//! The image's entry point: Multiboot headers and the 32-bit to 64-bit switch.
//!
//! Both loaders we support enter in 32-bit protected mode with paging off, flat
//! segments and EAX/EBX holding a magic value and the physical address of the boot
//! information (Multiboot Specification 0.6.96, section 3.2 "Machine state";
//! Multiboot2 Specification 2.0, section 3.3 "I386 machine state"):
//! - QEMU's `-kernel` reads the Multiboot 1 header. Its flag bit 16 (the "a.out
//!   kludge") makes QEMU load the file by the header's address fields, which is the
//!   only way it accepts an ELF64 image.
//! - GRUB's `multiboot2` command reads the Multiboot2 header and the ELF program
//!   header (GRUB ISO: Bochs and real hardware).
//!
//! The 32-bit stub zeroes .bss, identity-maps the first 4 GiB with 2 MiB pages,
//! enables long mode (Intel SDM vol. 3A, 10.8.5 "Initializing IA-32e Mode"; AMD APM
//! vol. 2, 14.6 "Enabling and Activating Long Mode") and calls `vmm_entry(magic,
//! info)` on the boot stack.

use core::arch::global_asm;

/// Size of the boot stack, which stays the hypervisor's stack.
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

global_asm!(
    r#"
    .set MB1_MAGIC, 0x1BADB002
    /* bit 0: page-align modules, bit 1: memory map, bit 16: address fields valid */
    .set MB1_FLAGS, 0x00010003
    .set MB2_MAGIC, 0xE85250D6

    .section .multiboot_header, "a"
    .balign 8
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header        /* header_addr */
    .long __image_start     /* load_addr */
    .long __load_end        /* load_end_addr */
    .long __bss_end         /* bss_end_addr */
    .long _start32          /* entry_addr */

    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long 0                 /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
    /* module alignment tag (type 6): page-aligned modules */
    .balign 8
    .short 6, 0
    .long 8
    /* end tag */
    .balign 8
    .short 0, 0
    .long 8
mb2_header_end:

    .section .text.boot32, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl %eax, %ebp             /* boot magic */
    movl %ebx, %esi             /* boot information */

    /* zero .bss (the loaders should, but it costs nothing to be sure) */
    movl $__load_end, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl $(boot_stack + {stack_size}), %esp

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
    movl %ebp, %edi             /* first argument: boot magic */
    /* ESI already holds the boot information address (zero-extended below) */
    movl %esi, %esi
    movabsq $(boot_stack + {stack_size}), %rsp
    xorl %ebp, %ebp
    call vmm_entry
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
    .balign 16
    .global boot_stack
boot_stack: .space {stack_size}
    .text
    "#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);
