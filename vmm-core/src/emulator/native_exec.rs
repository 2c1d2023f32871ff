//! A native executor for differential tests: runs arbitrary instruction bytes
//! on the test machine with every general-purpose register (RSP included) and
//! RFLAGS taken from a state block, against a scratch memory region, and
//! captures the registers and flags afterwards.
//!
//! The instruction is copied into an executable page followed by
//! `movabs r11, back; jmp r11`, so R11 is clobbered (tests neither use nor
//! compare it). The trampoline runs on the guest's RSP, which tests point into
//! the scratch region; it switches back to the host stack before anything
//! else touches memory, and clears DF before returning to Rust. Runs are
//! serialized (the trampoline keeps its pointers in statics).

use core::arch::global_asm;
use std::sync::Mutex;

/// Registers in encoding order (RAX=0 .. R15=15), RFLAGS and XMM0-XMM15.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NativeState {
    pub gprs: [u64; 16],
    pub rflags: u64,
    _pad: u64,
    pub xmm: [u128; 16],
}

global_asm!(
    r#"
    .data
    .balign 8
native_exec_host_rsp: .quad 0
native_exec_state: .quad 0
native_exec_code: .quad 0
native_exec_tmp: .quad 0
    .text
    .global native_exec_run
    .global native_exec_back
native_exec_run:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rip + native_exec_state], rdi
    mov [rip + native_exec_code], rsi
    mov [rip + native_exec_host_rsp], rsp
    push qword ptr [rdi + 128]
    popfq
    movdqu xmm0, [rdi + 144]
    movdqu xmm1, [rdi + 160]
    movdqu xmm2, [rdi + 176]
    movdqu xmm3, [rdi + 192]
    movdqu xmm4, [rdi + 208]
    movdqu xmm5, [rdi + 224]
    movdqu xmm6, [rdi + 240]
    movdqu xmm7, [rdi + 256]
    movdqu xmm8, [rdi + 272]
    movdqu xmm9, [rdi + 288]
    movdqu xmm10, [rdi + 304]
    movdqu xmm11, [rdi + 320]
    movdqu xmm12, [rdi + 336]
    movdqu xmm13, [rdi + 352]
    movdqu xmm14, [rdi + 368]
    movdqu xmm15, [rdi + 384]
    mov rax, [rdi + 0]
    mov rcx, [rdi + 8]
    mov rdx, [rdi + 16]
    mov rbx, [rdi + 24]
    mov rsp, [rdi + 32]
    mov rbp, [rdi + 40]
    mov rsi, [rdi + 48]
    mov r8,  [rdi + 64]
    mov r9,  [rdi + 72]
    mov r10, [rdi + 80]
    mov r12, [rdi + 96]
    mov r13, [rdi + 104]
    mov r14, [rdi + 112]
    mov r15, [rdi + 120]
    mov rdi, [rdi + 56]
    jmp [rip + native_exec_code]
native_exec_back:
    mov [rip + native_exec_tmp], rax
    mov rax, [rip + native_exec_state]
    mov [rax + 8], rcx
    mov [rax + 16], rdx
    mov [rax + 24], rbx
    mov [rax + 32], rsp
    mov [rax + 40], rbp
    mov [rax + 48], rsi
    mov [rax + 56], rdi
    mov [rax + 64], r8
    mov [rax + 72], r9
    mov [rax + 80], r10
    mov [rax + 96], r12
    mov [rax + 104], r13
    mov [rax + 112], r14
    mov [rax + 120], r15
    mov rcx, [rip + native_exec_tmp]
    mov [rax], rcx
    movdqu [rax + 144], xmm0
    movdqu [rax + 160], xmm1
    movdqu [rax + 176], xmm2
    movdqu [rax + 192], xmm3
    movdqu [rax + 208], xmm4
    movdqu [rax + 224], xmm5
    movdqu [rax + 240], xmm6
    movdqu [rax + 256], xmm7
    movdqu [rax + 272], xmm8
    movdqu [rax + 288], xmm9
    movdqu [rax + 304], xmm10
    movdqu [rax + 320], xmm11
    movdqu [rax + 336], xmm12
    movdqu [rax + 352], xmm13
    movdqu [rax + 368], xmm14
    movdqu [rax + 384], xmm15
    mov rsp, [rip + native_exec_host_rsp]
    pushfq
    pop rcx
    mov [rax + 128], rcx
    cld
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
    "#
);

extern "sysv64" {
    fn native_exec_run(state: *mut NativeState, code: *const u8);
    fn native_exec_back();
}

static LOCK: Mutex<()> = Mutex::new(());

/// An executable page and a read/write scratch region.
pub struct NativeMachine {
    code: *mut u8,
    pub data: *mut u8,
    pub data_len: usize,
}

// SAFETY: the pointers are private mappings used only under LOCK.
unsafe impl Send for NativeMachine {}

impl NativeMachine {
    /// Maps 4 KiB of code and `data_len` bytes of scratch memory.
    pub fn new(data_len: usize) -> Self {
        // SAFETY: anonymous private mappings with no address hint.
        let (code, data) = unsafe {
            (
                libc::mmap(
                    core::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                ),
                libc::mmap(
                    core::ptr::null_mut(),
                    data_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                ),
            )
        };
        assert!(
            code != libc::MAP_FAILED && data != libc::MAP_FAILED,
            "mmap failed"
        );
        Self {
            code: code.cast(),
            data: data.cast(),
            data_len,
        }
    }

    /// Address of the scratch region.
    pub fn data_base(&self) -> u64 {
        self.data as u64
    }

    /// The scratch region's bytes.
    pub fn data(&mut self) -> &mut [u8] {
        // SAFETY: the region is ours, mapped read/write, `data_len` long.
        unsafe { core::slice::from_raw_parts_mut(self.data, self.data_len) }
    }

    /// Runs `insn` once from `state`; returns the state afterwards.
    pub fn run(&mut self, insn: &[u8], state: &NativeState) -> NativeState {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut code = insn.to_vec();
        code.extend_from_slice(&[0x49, 0xBB]); // movabs r11, imm64
        code.extend_from_slice(&(native_exec_back as *const () as u64).to_le_bytes());
        code.extend_from_slice(&[0x41, 0xFF, 0xE3]); // jmp r11
        assert!(code.len() <= 4096);
        // SAFETY: the code page is ours and large enough.
        unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), self.code, code.len()) };
        let mut s = *state;
        // SAFETY: the caller's test points every register an instruction
        // dereferences (and RSP) into the scratch region; the trampoline
        // restores the callee-saved registers, the host stack and DF.
        unsafe { native_exec_run(&mut s, self.code) };
        s
    }
}

impl Drop for NativeMachine {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mappings.
        unsafe {
            libc::munmap(self.code.cast(), 4096);
            libc::munmap(self.data.cast(), self.data_len);
        }
    }
}
