//! The guest's XMM registers. The hypervisor is built without SSE
//! (`x86_64-unknown-none` uses soft-float), and neither VMRUN nor VMRESUME
//! switches XMM state, so while the hypervisor runs, XMM0-XMM15 hold exactly
//! the guest's values: reading or writing them here is reading or writing the
//! guest's registers. The host must have CR4.OSFXSR set (see
//! `arch::cpu::enable_sse_instructions`).

use core::arch::asm;

macro_rules! xmm_access {
    ($index:expr, $buf:expr, $load:tt) => {
        match $index {
            0 => xmm_access!(@one "xmm0", $buf, $load),
            1 => xmm_access!(@one "xmm1", $buf, $load),
            2 => xmm_access!(@one "xmm2", $buf, $load),
            3 => xmm_access!(@one "xmm3", $buf, $load),
            4 => xmm_access!(@one "xmm4", $buf, $load),
            5 => xmm_access!(@one "xmm5", $buf, $load),
            6 => xmm_access!(@one "xmm6", $buf, $load),
            7 => xmm_access!(@one "xmm7", $buf, $load),
            8 => xmm_access!(@one "xmm8", $buf, $load),
            9 => xmm_access!(@one "xmm9", $buf, $load),
            10 => xmm_access!(@one "xmm10", $buf, $load),
            11 => xmm_access!(@one "xmm11", $buf, $load),
            12 => xmm_access!(@one "xmm12", $buf, $load),
            13 => xmm_access!(@one "xmm13", $buf, $load),
            14 => xmm_access!(@one "xmm14", $buf, $load),
            _ => xmm_access!(@one "xmm15", $buf, $load),
        }
    };
    (@one $reg:literal, $buf:expr, true) => {
        // SAFETY: MOVDQU from a 16-byte buffer we own into a register that only
        // the guest uses (see the module documentation).
        unsafe { asm!(concat!("movdqu ", $reg, ", [{}]"), in(reg) $buf.as_ptr(), options(nostack, readonly, preserves_flags)) }
    };
    (@one $reg:literal, $buf:expr, false) => {
        // SAFETY: MOVDQU of a register into a 16-byte buffer we own.
        unsafe { asm!(concat!("movdqu [{}], ", $reg), in(reg) $buf.as_mut_ptr(), options(nostack, preserves_flags)) }
    };
}

/// Reads guest register XMM`index` (0-15).
pub fn read_xmm(index: u8) -> u128 {
    let mut buf = [0u8; 16];
    xmm_access!(index, buf, false);
    u128::from_le_bytes(buf)
}

/// Writes guest register XMM`index` (0-15).
pub fn write_xmm(index: u8, value: u128) {
    let buf = value.to_le_bytes();
    xmm_access!(index, buf, true);
}
