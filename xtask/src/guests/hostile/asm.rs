//! Multi-pass assembly for the hostile guests: code may use the address of a
//! place ([`Mark`]) before that place is assembled (far jumps into protected
//! mode, descriptor tables pointing at handlers, strings kept after the code),
//! which iced-x86's assembler cannot express in 16-bit code. The program is
//! assembled again with the addresses the previous pass found until they
//! settle.

use iced_x86::code_asm::{CodeAssembler, CodeLabel, IcedError};
use iced_x86::BlockEncoderOptions;
use std::ops::{Deref, DerefMut};

/// A place in the program whose address code may use before it is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

/// An assembler (16-bit unless made by [`assemble_bits`]) whose marks have
/// addresses (from the previous pass).
pub struct Asm {
    pub a: CodeAssembler,
    base: u64,
    slots: Vec<CodeLabel>,
    prev: Vec<u64>,
    /// Data emitted after the code, each behind its mark.
    pool: Vec<(Mark, Vec<u8>)>,
}

impl Deref for Asm {
    type Target = CodeAssembler;
    fn deref(&self) -> &CodeAssembler {
        &self.a
    }
}

impl DerefMut for Asm {
    fn deref_mut(&mut self) -> &mut CodeAssembler {
        &mut self.a
    }
}

impl Asm {
    fn new(bitness: u32, base: u64, prev: Vec<u64>) -> Self {
        Self {
            a: CodeAssembler::new(bitness).expect("a valid bitness"),
            base,
            slots: Vec::new(),
            prev,
            pool: Vec::new(),
        }
    }

    /// A new place, to be [`placed`](Self::place) exactly once.
    pub fn mark(&mut self) -> Mark {
        let label = self.a.create_label();
        self.slots.push(label);
        Mark(self.slots.len() - 1)
    }

    /// The address of `m` (its offset from the code segment's base), as the
    /// previous pass found it; the program's base address in the first pass.
    pub fn addr(&self, m: Mark) -> u32 {
        self.prev.get(m.0).copied().unwrap_or(self.base) as u32
    }

    /// Puts `m` at the current position.
    pub fn place(&mut self, m: Mark) -> Result<(), IcedError> {
        let mut label = self.slots[m.0];
        self.a.set_label(&mut label)?;
        self.a.zero_bytes()?;
        self.slots[m.0] = label;
        Ok(())
    }

    /// A mark placed here.
    pub fn here(&mut self) -> Result<Mark, IcedError> {
        let m = self.mark();
        self.place(m)?;
        Ok(m)
    }

    /// The label of `m`, for branches.
    pub fn label(&self, m: Mark) -> CodeLabel {
        self.slots[m.0]
    }

    /// Bytes kept after the code; returns their address.
    pub fn data(&mut self, bytes: &[u8]) -> u32 {
        let m = self.mark();
        self.pool.push((m, bytes.to_vec()));
        self.addr(m)
    }

    /// A NUL-terminated string kept after the code (once per text); returns
    /// its address.
    pub fn string(&mut self, text: &str) -> u32 {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        if let Some((m, _)) = self.pool.iter().find(|(_, b)| *b == bytes) {
            return self.addr(*m);
        }
        self.data(&bytes)
    }

    fn finish(mut self) -> Result<(Vec<u8>, Vec<u64>), IcedError> {
        for (m, bytes) in std::mem::take(&mut self.pool) {
            self.place(m)?;
            self.a.db(&bytes)?;
        }
        let result = self.a.assemble_options(
            self.base,
            BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
        )?;
        let addrs = self
            .slots
            .iter()
            .map(|l| result.label_ip(l))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((result.inner.code_buffer, addrs))
    }
}

/// Assembles the program `emit` writes, for a code segment whose offset 0 is
/// `base` bytes below the first byte (0 for a ROM at F000:0000, 7C00h for a
/// boot sector at 0000:7C00), until every mark's address is stable.
pub fn assemble(base: u64, emit: impl Fn(&mut Asm) -> Result<(), IcedError>) -> Vec<u8> {
    assemble_bits(16, base, emit)
}

/// [`assemble`] for `bitness`-bit code (16, 32 or 64) at address `base`.
pub fn assemble_bits(
    bitness: u32,
    base: u64,
    emit: impl Fn(&mut Asm) -> Result<(), IcedError>,
) -> Vec<u8> {
    let mut prev = Vec::new();
    for _ in 0..8 {
        let mut asm = Asm::new(bitness, base, prev.clone());
        emit(&mut asm).expect("hostile guest code is valid");
        let (code, addrs) = asm.finish().expect("hostile guest code assembles");
        if addrs == prev {
            return code;
        }
        prev = addrs;
    }
    panic!("hostile guest: addresses did not settle");
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::code_asm::*;

    #[test]
    fn forward_addresses_settle() {
        let code = assemble(0x7C00, |p| {
            let target = p.mark();
            let text = p.string("hi");
            p.mov(si, text)?;
            let to = p.addr(target);
            p.jmp_far(0, to)?;
            p.nop()?;
            p.place(target)?;
            p.hlt()?;
            Ok(())
        });
        // mov si, imm16 (3) + jmp far (5) + nop (1) = 9: hlt at 7C09h, "hi" at 7C0Ah.
        assert_eq!(&code[..3], &[0xBE, 0x0A, 0x7C]);
        assert_eq!(&code[3..8], &[0xEA, 0x09, 0x7C, 0x00, 0x00]);
        assert_eq!(&code[9..], &[0xF4, b'h', b'i', 0]);
    }
}
