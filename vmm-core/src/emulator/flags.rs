//! RFLAGS status flags and the ALU operations that compute them (Intel SDM
//! vol. 1, 3.4.3.1 "Status Flags" and appendix A "EFLAGS Cross-Reference";
//! vol. 2 pages of ADD, ADC, SUB, SBB, CMP, AND, OR, XOR, TEST, INC, DEC, NEG,
//! NOT). Pure functions, so tests can hold them against the real processor.

/// Carry flag (bit 0).
pub const CF: u64 = 1 << 0;
/// Parity flag (bit 2): the low byte of the result has an even number of ones.
pub const PF: u64 = 1 << 2;
/// Auxiliary carry (bit 4): carry or borrow out of bit 3.
pub const AF: u64 = 1 << 4;
/// Zero flag (bit 6).
pub const ZF: u64 = 1 << 6;
/// Sign flag (bit 7).
pub const SF: u64 = 1 << 7;
/// Overflow flag (bit 11).
pub const OF: u64 = 1 << 11;
/// All six status flags.
pub const STATUS: u64 = CF | PF | AF | ZF | SF | OF;

/// An ALU operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Adc,
    Sub,
    Sbb,
    Cmp,
    And,
    Or,
    Xor,
    Test,
    Inc,
    Dec,
    Neg,
    Not,
}

impl AluOp {
    /// False for CMP and TEST, which only set flags.
    pub fn writes_result(self) -> bool {
        !matches!(self, AluOp::Cmp | AluOp::Test)
    }

    /// The status flags the SDM leaves undefined for this operation (AF
    /// after the logical operations); tests do not compare them.
    pub fn undefined_flags(self) -> u64 {
        match self {
            AluOp::And | AluOp::Or | AluOp::Xor | AluOp::Test => AF,
            _ => 0,
        }
    }
}

fn bits(size: u8) -> u32 {
    u32::from(size) * 8
}

fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << bits(size)) - 1
    }
}

fn sign(v: u64, size: u8) -> bool {
    v >> (bits(size) - 1) & 1 != 0
}

/// ZF, SF and PF of a result.
fn result_flags(r: u64, size: u8) -> u64 {
    let mut f = 0;
    if r & mask(size) == 0 {
        f |= ZF;
    }
    if sign(r, size) {
        f |= SF;
    }
    if (r as u8).count_ones().is_multiple_of(2) {
        f |= PF;
    }
    f
}

/// Result and flags of `a + b + carry_in`.
fn add(a: u64, b: u64, carry_in: u64, size: u8) -> (u64, u64) {
    let m = mask(size);
    let wide = u128::from(a & m) + u128::from(b & m) + u128::from(carry_in);
    let r = wide as u64 & m;
    let mut f = result_flags(r, size);
    if wide > u128::from(m) {
        f |= CF;
    }
    if sign((a ^ r) & (b ^ r), size) {
        f |= OF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    (r, f)
}

/// Result and flags of `a - b - borrow_in`.
fn sub(a: u64, b: u64, borrow_in: u64, size: u8) -> (u64, u64) {
    let m = mask(size);
    let (a, b) = (a & m, b & m);
    let r = a.wrapping_sub(b).wrapping_sub(borrow_in) & m;
    let mut f = result_flags(r, size);
    if u128::from(a) < u128::from(b) + u128::from(borrow_in) {
        f |= CF;
    }
    if sign((a ^ b) & (a ^ r), size) {
        f |= OF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    (r, f)
}

/// Computes `op` on `size`-byte operands `a` (destination) and `b` (source,
/// ignored by unary operations) with incoming RFLAGS `flags`. Returns the
/// result (masked to the size) and the new RFLAGS (only status flags change).
pub fn alu(op: AluOp, size: u8, a: u64, b: u64, flags: u64) -> (u64, u64) {
    let carry = flags & CF;
    let (r, status) = match op {
        AluOp::Add => add(a, b, 0, size),
        AluOp::Adc => add(a, b, carry, size),
        AluOp::Sub | AluOp::Cmp => sub(a, b, 0, size),
        AluOp::Sbb => sub(a, b, carry, size),
        AluOp::And | AluOp::Test => {
            let r = a & b & mask(size);
            (r, result_flags(r, size))
        }
        AluOp::Or => {
            let r = (a | b) & mask(size);
            (r, result_flags(r, size))
        }
        AluOp::Xor => {
            let r = (a ^ b) & mask(size);
            (r, result_flags(r, size))
        }
        // INC and DEC leave CF alone.
        AluOp::Inc => {
            let (r, f) = add(a, 1, 0, size);
            (r, (f & !CF) | carry)
        }
        AluOp::Dec => {
            let (r, f) = sub(a, 1, 0, size);
            (r, (f & !CF) | carry)
        }
        // NEG: CF is set unless the operand was zero.
        AluOp::Neg => sub(0, a, 0, size),
        AluOp::Not => return (!a & mask(size), flags),
    };
    (r, (flags & !STATUS) | status)
}
