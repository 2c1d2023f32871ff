//! The world switch: from the host into the guest and back (AMD APM vol. 2,
//! 15.5 "VMRUN Instruction", 15.5.2 "VMSAVE and VMLOAD Instructions", 15.17
//! "Global Interrupt Flag").
//!
//! `svm_world_switch(gprs, guest_vmcb_pa, host_vmcb_pa)`, System V ABI:
//!  1. save the callee-saved registers and the three arguments on the stack;
//!  2. CLGI: nothing may interrupt us between here and STGI;
//!  3. VMSAVE the host's hidden state (FS/GS/TR/LDTR and the syscall MSRs) to the
//!     host page, VMLOAD the guest's from its VMCB;
//!  4. load the guest GPRs that VMRUN does not (all but RAX and RSP, which live in
//!     the VMCB), RAX = guest VMCB address, VMRUN;
//!  5. on #VMEXIT the processor restored host RAX, RSP and control state, while
//!     the other GPRs still hold guest values: VMSAVE the guest's hidden state,
//!     store the guest GPRs, VMLOAD the host's hidden state;
//!  6. STGI and return.

use core::arch::global_asm;

/// Offsets in the GPR array (encoding order, see `vmm_core::vcpu::Gprs`).
macro_rules! gpr_offsets {
    () => {
        r#"
        .set G_RCX, 1*8
        .set G_RDX, 2*8
        .set G_RBX, 3*8
        .set G_RBP, 5*8
        .set G_RSI, 6*8
        .set G_RDI, 7*8
        .set G_R8,  8*8
        .set G_R9,  9*8
        .set G_R10, 10*8
        .set G_R11, 11*8
        .set G_R12, 12*8
        .set G_R13, 13*8
        .set G_R14, 14*8
        .set G_R15, 15*8
        "#
    };
}

global_asm!(
    gpr_offsets!(),
    r#"
    .text
    .global svm_world_switch
svm_world_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                    /* [rsp+16]: GPR array */
    push rsi                    /* [rsp+8]:  guest VMCB */
    push rdx                    /* [rsp]:    host VMSAVE page */

    clgi
    mov rax, rdx
    vmsave rax
    mov rax, [rsp+8]
    vmload rax

    mov rcx, [rdi+G_RCX]
    mov rdx, [rdi+G_RDX]
    mov rbx, [rdi+G_RBX]
    mov rbp, [rdi+G_RBP]
    mov rsi, [rdi+G_RSI]
    mov r8,  [rdi+G_R8]
    mov r9,  [rdi+G_R9]
    mov r10, [rdi+G_R10]
    mov r11, [rdi+G_R11]
    mov r12, [rdi+G_R12]
    mov r13, [rdi+G_R13]
    mov r14, [rdi+G_R14]
    mov r15, [rdi+G_R15]
    mov rdi, [rdi+G_RDI]

    vmrun rax

    vmsave rax
    mov rax, [rsp+16]
    mov [rax+G_RCX], rcx
    mov [rax+G_RDX], rdx
    mov [rax+G_RBX], rbx
    mov [rax+G_RBP], rbp
    mov [rax+G_RSI], rsi
    mov [rax+G_RDI], rdi
    mov [rax+G_R8],  r8
    mov [rax+G_R9],  r9
    mov [rax+G_R10], r10
    mov [rax+G_R11], r11
    mov [rax+G_R12], r12
    mov [rax+G_R13], r13
    mov [rax+G_R14], r14
    mov [rax+G_R15], r15
    mov rax, [rsp]
    vmload rax
    stgi

    add rsp, 24
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
    pub(crate) fn svm_world_switch(gprs: *mut [u64; 16], guest_vmcb_pa: u64, host_vmcb_pa: u64);
}
