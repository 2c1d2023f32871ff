//! A 64 KiB real-mode ROM image: code assembled at F000:0000 and the reset
//! vector at F000:FFF0 jumping to it.

use iced_x86::code_asm::CodeAssembler;

/// Size of a test-guest ROM.
pub const ROM_SIZE: usize = 64 * 1024;
/// Offset of the reset vector in the ROM (physical FFFF0h / FFFF_FFF0h).
const RESET_VECTOR_OFFSET: usize = 0xFFF0;
/// `jmp far F000:0000` (EA 00 00 00 F0): what the reset vector holds.
const JMP_FAR_F000_0000: [u8; 5] = [0xEA, 0x00, 0x00, 0x00, 0xF0];

/// Offset of the data area in the ROM: code stays below it.
const DATA_BASE: usize = 0x8000;

/// Helps a guest assemble its code and lay out its data. (iced-x86 can only
/// address labels RIP-relatively, so 16-bit code refers to data by offset.)
pub struct RomBuilder {
    pub asm: CodeAssembler,
    data: Vec<u8>,
}

impl Default for RomBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RomBuilder {
    /// A 16-bit assembler.
    pub fn new() -> Self {
        Self {
            asm: CodeAssembler::new(16).expect("16 is a valid bitness"),
            data: Vec::new(),
        }
    }

    /// Places `bytes` in the data area; returns their offset in the ROM segment.
    pub fn data(&mut self, bytes: &[u8]) -> u32 {
        let offset = DATA_BASE + self.data.len();
        self.data.extend_from_slice(bytes);
        assert!(
            offset + bytes.len() < RESET_VECTOR_OFFSET,
            "test guest data too large"
        );
        offset as u32
    }

    /// Assembles the code at IP 0 and returns the finished ROM.
    pub fn finish(mut self) -> Vec<u8> {
        let code = self.asm.assemble(0).expect("test guest code assembles");
        assert!(code.len() < DATA_BASE, "test guest code too large");
        let mut rom = vec![0xF4; ROM_SIZE]; // HLT everywhere else
        rom[..code.len()].copy_from_slice(&code);
        rom[DATA_BASE..DATA_BASE + self.data.len()].copy_from_slice(&self.data);
        rom[RESET_VECTOR_OFFSET..RESET_VECTOR_OFFSET + 5].copy_from_slice(&JMP_FAR_F000_0000);
        rom
    }
}

/// Emits code that prints the NUL-terminated string at DS:SI through COM1,
/// polling LSR.THRE (PC16550D, LSR bit 5) before each byte. Clobbers AX, DX, SI.
pub fn emit_print_ds_si(a: &mut CodeAssembler) -> Result<(), iced_x86::IcedError> {
    use iced_x86::code_asm::*;
    let mut next = a.create_label();
    let mut wait = a.create_label();
    let mut done = a.create_label();
    a.set_label(&mut next)?;
    a.lodsb()?;
    a.test(al, al)?;
    a.jz(done)?;
    a.mov(ah, al)?;
    a.set_label(&mut wait)?;
    a.mov(dx, 0x3FDu32)?;
    a.in_(al, dx)?;
    a.test(al, 0x20u32)?;
    a.jz(wait)?;
    a.mov(al, ah)?;
    a.mov(dx, 0x3F8u32)?;
    a.out(dx, al)?;
    a.jmp(next)?;
    a.set_label(&mut done)?;
    // iced allows one label per instruction: give `done` its own, so a caller's
    // label can follow this code directly.
    a.nop()?;
    Ok(())
}

/// Emits COM1's set-up as a BIOS leaves it: 115200 baud (divisor 1, DLAB
/// in the line control register), 8 data bits, no parity, 1 stop bit
/// (PC16550D datasheet, "Registers").
pub fn emit_uart_init(a: &mut CodeAssembler) -> Result<(), iced_x86::IcedError> {
    use iced_x86::code_asm::*;
    let com1 = u32::from(pc_layout::ports::COM[0]);
    let (data, interrupt_enable, line_control) = (com1, com1 + 1, com1 + 3);
    for (port, value) in [
        (line_control, 0x80u32),
        (data, 0x01),
        (interrupt_enable, 0x00),
        (line_control, 0x03),
    ] {
        a.mov(dx, port)?;
        a.mov(al, value)?;
        a.out(dx, al)?;
    }
    Ok(())
}

/// Emits a call-free "send AL through COM1": polls THRE in the line status
/// register, then writes the byte (PC16550D datasheet). Clobbers DX; keeps AX.
pub fn emit_put_al(a: &mut CodeAssembler) -> Result<(), iced_x86::IcedError> {
    use iced_x86::code_asm::*;
    let mut wait = a.create_label();
    a.push(ax)?;
    a.set_label(&mut wait)?;
    a.mov(dx, 0x3FDu32)?;
    a.in_(al, dx)?;
    a.test(al, 0x20u32)?;
    a.jz(wait)?;
    a.pop(ax)?;
    a.mov(dx, 0x3F8u32)?;
    a.out(dx, al)
}

/// Emits the common start: interrupts off, DS = CS (the ROM), a stack in low RAM.
pub fn emit_prologue(a: &mut CodeAssembler) -> Result<(), iced_x86::IcedError> {
    use iced_x86::code_asm::*;
    a.cli()?;
    a.cld()?;
    a.xor(ax, ax)?;
    a.mov(ss, ax)?;
    a.mov(sp, 0x7000u32)?;
    a.push(cs)?;
    a.pop(ds)?;
    Ok(())
}
