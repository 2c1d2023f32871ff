//! The VMX world switch (Intel SDM vol. 3C, 27 "VM Entries" and 28 "VM
//! Exits"; 28.5 "Loading Host State").
//!
//! `vmx_world_switch(gprs, launched) -> status`, System V ABI:
//!  1. save the callee-saved registers and the GPR array pointer on the stack;
//!  2. write HOST_RSP (this stack position) and HOST_RIP (the exit label) to
//!     the current VMCS, so the exit lands here with the pointer at [RSP];
//!  3. test `launched`, then load every guest GPR but RSP (which lives in the
//!     VMCS) with MOVs, which leave the flags alone;
//!  4. VMRESUME if launched, else VMLAUNCH. If it falls through, the entry
//!     failed: return 1 for VMfailInvalid (CF), 2 for VMfailValid (ZF);
//!  5. on VM exit: swap guest RAX with the saved pointer, store the guest
//!     GPRs, restore the callee-saved registers and return 0.
//!
//! A VM exit loads RFLAGS with only bit 1 set (28.5.3), so the host returns
//! here with interrupts disabled; the caller re-enables them.

use core::arch::global_asm;

global_asm!(
    r#"
    .text
    .global vmx_world_switch
vmx_world_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    mov rdx, 0x6C14
    vmwrite rdx, rsp
    lea rax, [rip + vmx_exit_point]
    mov rdx, 0x6C16
    vmwrite rdx, rax
    test rsi, rsi
    mov rax, [rdi + 0]
    mov rcx, [rdi + 8]
    mov rdx, [rdi + 16]
    mov rbx, [rdi + 24]
    mov rbp, [rdi + 40]
    mov rsi, [rdi + 48]
    mov r8,  [rdi + 64]
    mov r9,  [rdi + 72]
    mov r10, [rdi + 80]
    mov r11, [rdi + 88]
    mov r12, [rdi + 96]
    mov r13, [rdi + 104]
    mov r14, [rdi + 112]
    mov r15, [rdi + 120]
    mov rdi, [rdi + 56]
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  mov eax, 1
    jc 3f
    mov eax, 2
3:  add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

vmx_exit_point:
    xchg rax, [rsp]
    mov [rax + 8], rcx
    mov [rax + 16], rdx
    mov [rax + 24], rbx
    mov [rax + 40], rbp
    mov [rax + 48], rsi
    mov [rax + 56], rdi
    mov [rax + 64], r8
    mov [rax + 72], r9
    mov [rax + 80], r10
    mov [rax + 88], r11
    mov [rax + 96], r12
    mov [rax + 104], r13
    mov [rax + 112], r14
    mov [rax + 120], r15
    pop rcx
    mov [rax + 0], rcx
    xor eax, eax
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
    "#
);

extern "sysv64" {
    /// See the module documentation.
    pub(crate) fn vmx_world_switch(gprs: *mut [u64; 16], launched: u64) -> u64;
}
