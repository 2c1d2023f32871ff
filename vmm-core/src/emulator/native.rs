//! The host processor as the oracle of the differential tests: executes one
//! ALU instruction natively on chosen operands and status flags and returns
//! the result and RFLAGS. Test-only; every block runs a single instruction
//! between a POPFQ and a PUSHFQ.

use super::flags::{AluOp, STATUS};
use core::arch::asm;

fn host_flags() -> u64 {
    let f: u64;
    // SAFETY: PUSHFQ/POP only read RFLAGS onto the stack and back.
    unsafe { asm!("pushfq", "pop {}", out(reg) f) };
    f
}

macro_rules! binary {
    ($insn:literal, $size:expr, $a:expr, $b:expr, $f:expr) => {{
        let mut fl = $f;
        match $size {
            1 => {
                let mut x = $a as u8;
                let y = $b as u8;
                // SAFETY: loads status flags, runs one ALU instruction on
                // registers, reads RFLAGS back; no memory is touched.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}, {y}"), "pushfq", "pop {fl}", x = inout(reg_byte) x, y = in(reg_byte) y, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            2 => {
                let mut x = $a as u16;
                let y = $b as u16;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:x}, {y:x}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            4 => {
                let mut x = $a as u32;
                let y = $b as u32;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:e}, {y:e}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            _ => {
                let mut x: u64 = $a;
                let y: u64 = $b;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}, {y}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (x, fl)
            }
        }
    }};
}

macro_rules! unary {
    ($insn:literal, $size:expr, $a:expr, $f:expr) => {{
        let mut fl = $f;
        match $size {
            1 => {
                let mut x = $a as u8;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}"), "pushfq", "pop {fl}", x = inout(reg_byte) x, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            2 => {
                let mut x = $a as u16;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:x}"), "pushfq", "pop {fl}", x = inout(reg) x, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            4 => {
                let mut x = $a as u32;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:e}"), "pushfq", "pop {fl}", x = inout(reg) x, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            _ => {
                let mut x: u64 = $a;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}"), "pushfq", "pop {fl}", x = inout(reg) x, fl = inout(reg) fl) };
                (x, fl)
            }
        }
    }};
}

/// Runs `op` natively: (result, RFLAGS). For CMP and TEST the "result" is the
/// unchanged destination.
pub fn native_alu(op: AluOp, size: u8, a: u64, b: u64, flags: u64) -> (u64, u64) {
    let f = (host_flags() & !STATUS) | (flags & STATUS);
    match op {
        AluOp::Add => binary!("add", size, a, b, f),
        AluOp::Adc => binary!("adc", size, a, b, f),
        AluOp::Sub => binary!("sub", size, a, b, f),
        AluOp::Sbb => binary!("sbb", size, a, b, f),
        AluOp::Cmp => binary!("cmp", size, a, b, f),
        AluOp::And => binary!("and", size, a, b, f),
        AluOp::Or => binary!("or", size, a, b, f),
        AluOp::Xor => binary!("xor", size, a, b, f),
        AluOp::Test => binary!("test", size, a, b, f),
        AluOp::Inc => unary!("inc", size, a, f),
        AluOp::Dec => unary!("dec", size, a, f),
        AluOp::Neg => unary!("neg", size, a, f),
        AluOp::Not => unary!("not", size, a, f),
    }
}

macro_rules! by_cl {
    ($insn:literal, $size:expr, $a:expr, $count:expr, $f:expr) => {{
        let mut fl = $f;
        let c = $count as u8;
        match $size {
            1 => {
                let mut x = $a as u8;
                // SAFETY: as in `binary!`; the count is in CL.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}, cl"), "pushfq", "pop {fl}", x = inout(reg_byte) x, in("cl") c, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            2 => {
                let mut x = $a as u16;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:x}, cl"), "pushfq", "pop {fl}", x = inout(reg) x, in("cl") c, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            4 => {
                let mut x = $a as u32;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:e}, cl"), "pushfq", "pop {fl}", x = inout(reg) x, in("cl") c, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            _ => {
                let mut x: u64 = $a;
                // SAFETY: as above.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}, cl"), "pushfq", "pop {fl}", x = inout(reg) x, in("cl") c, fl = inout(reg) fl) };
                (x, fl)
            }
        }
    }};
}

/// Runs a shift or rotate by CL natively: (result, RFLAGS).
pub fn native_shift(
    op: super::shift::ShiftOp,
    size: u8,
    a: u64,
    count: u8,
    flags: u64,
) -> (u64, u64) {
    use super::shift::ShiftOp;
    let f = (host_flags() & !STATUS) | (flags & STATUS);
    match op {
        ShiftOp::Shl => by_cl!("shl", size, a, count, f),
        ShiftOp::Shr => by_cl!("shr", size, a, count, f),
        ShiftOp::Sar => by_cl!("sar", size, a, count, f),
        ShiftOp::Rol => by_cl!("rol", size, a, count, f),
        ShiftOp::Ror => by_cl!("ror", size, a, count, f),
        ShiftOp::Rcl => by_cl!("rcl", size, a, count, f),
        ShiftOp::Rcr => by_cl!("rcr", size, a, count, f),
    }
}

macro_rules! bit_test {
    ($insn:literal, $size:expr, $a:expr, $b:expr, $f:expr) => {{
        let mut fl = $f;
        match $size {
            2 => {
                let mut x = $a as u16;
                let y = $b as u16;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:x}, {y:x}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            4 => {
                let mut x = $a as u32;
                let y = $b as u32;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x:e}, {y:e}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (u64::from(x), fl)
            }
            _ => {
                let mut x: u64 = $a;
                let y: u64 = $b;
                // SAFETY: as in `binary!`.
                unsafe { asm!("push {fl}", "popfq", concat!($insn, " {x}, {y}"), "pushfq", "pop {fl}", x = inout(reg) x, y = in(reg) y, fl = inout(reg) fl) };
                (x, fl)
            }
        }
    }};
}

/// Runs BT/BTS/BTR/BTC with a register offset natively: (operand after,
/// RFLAGS). There is no 8-bit form; size 1 runs as 2.
pub fn native_bt(m: iced_x86::Mnemonic, size: u8, a: u64, offset: u64, flags: u64) -> (u64, u64) {
    use iced_x86::Mnemonic;
    let f = (host_flags() & !STATUS) | (flags & STATUS);
    match m {
        Mnemonic::Bt => bit_test!("bt", size, a, offset, f),
        Mnemonic::Bts => bit_test!("bts", size, a, offset, f),
        Mnemonic::Btr => bit_test!("btr", size, a, offset, f),
        _ => bit_test!("btc", size, a, offset, f),
    }
}
