//! What every hostile guest is built from: a [`Prog`] (the multi-pass
//! assembler with a small runtime behind it) that prints through COM1 in
//! real mode and in 16-bit protected mode, catches the exceptions a probe
//! provokes, and reports each probe on one line:
//!
//! ```text
//! <probe>: ok [extra]
//! <probe>: fault VV [err EEEE] [cr2 CCCCCCCC] [extra]
//! ```
//!
//! A probe runs as a subroutine; an exception it raises lands in a stub that
//! records the vector (and, in protected mode, the error code and CR2) and
//! returns from the subroutine with the stack pointer the probe started with,
//! so the next probe runs whatever the last one did.
//!
//! The runtime keeps its variables in low RAM at [`VARS`] and addresses them
//! through SS, whose base is 0 in both modes; strings are addressed through
//! DS, whose base is the code segment's in both modes.

use super::asm::{assemble, Asm, Mark};
use iced_x86::code_asm::*;
use std::ops::{Deref, DerefMut};

/// Where the runtime's variables live (SS-relative, SS base 0).
pub const VARS: u32 = 0x0600;
/// Byte: 1 when the probe faulted.
const VAR_HIT: u32 = VARS;
/// Byte: the vector it faulted with.
const VAR_VEC: u32 = VARS + 1;
/// Byte: 1 when the processor pushed an error code.
const VAR_HAS_ERR: u32 = VARS + 2;
/// Word: the error code.
const VAR_ERR: u32 = VARS + 4;
/// Dword: CR2 when the fault was taken.
const VAR_CR2: u32 = VARS + 8;
/// Word: the probe's stack pointer.
pub const VAR_SP: u32 = VARS + 12;
/// Words: DS and ES as the runtime wants them (set when the mode changes).
const VAR_DS: u32 = VARS + 14;
const VAR_ES: u32 = VARS + 16;
/// Free words and dwords for the probes (SS-relative).
pub const SCRATCH: u32 = VARS + 0x20;

/// The protected-mode IDT, built at run time: 256 gates, the first 32 16-bit
/// interrupt gates to the runtime's stubs, the rest not present.
pub const IDT: u32 = 0x1000;
/// Where the GDT is copied to (RAM, after the IDT).
pub const GDT: u32 = 0x1800;
/// Gates in the IDT.
const IDT_GATES: u32 = 256;
/// The page directory and the page table mapping the first 4 MiB.
pub const PAGE_DIRECTORY: u32 = 0x2000;
pub const PAGE_TABLE: u32 = 0x3000;
/// Top of the stack (SS base 0).
pub const STACK_TOP: u32 = 0x7000;

/// Selectors of the GDT [`Prog::enter_protected_mode`] loads: 16-bit code
/// and data over the code segment, flat 4 GiB data, a 16-bit stack at 0.
pub const CODE_SEL: u16 = 0x08;
pub const DATA_SEL: u16 = 0x10;
pub const FLAT_SEL: u16 = 0x18;
pub const STACK_SEL: u16 = 0x20;
/// The first selector a guest's own descriptors get (see [`build`]).
pub const EXTRA_SEL: u16 = 0x28;

/// Sectors the boot loader reads after the boot sector (track 0 of a
/// 1.44 MB floppy holds 17 more).
pub const BOOT_SECTORS: u32 = 16;

/// Vectors whose exceptions push an error code in protected mode.
const ERROR_CODE_VECTORS: [u8; 7] = [8, 10, 11, 12, 13, 14, 17];
/// Stubs: `mov ax, imm16` (3 bytes) and `jmp rel16` (3 bytes).
const STUB_LEN: u32 = 6;
const STUBS: u32 = 32;

/// The serial port the guests print on (COM1) and its line status register.
const COM1: u32 = 0x3F8;
const COM1_LSR: u32 = 0x3FD;
/// COM1's scratch register: string I/O probes read their data from it.
pub const COM1_SCRATCH: u32 = 0x3FF;

/// One 8-byte segment descriptor.
pub fn descriptor(base: u32, limit: u32, access: u8, flags: u8) -> [u8; 8] {
    [
        limit as u8,
        (limit >> 8) as u8,
        base as u8,
        (base >> 8) as u8,
        (base >> 16) as u8,
        access,
        (flags << 4) | ((limit >> 16) as u8 & 0xF),
        (base >> 24) as u8,
    ]
}

/// Where the runtime's routines are.
#[derive(Clone, Copy)]
struct Routines {
    putc: Mark,
    print: Mark,
    hex8: Mark,
    hex16: Mark,
    hex32: Mark,
    nibble: Mark,
    catch: Mark,
    rm_stubs: Mark,
    pm_stubs: Mark,
    fault_report: Mark,
    enter_pm: Mark,
    paging_on: Mark,
}

/// A hostile guest under construction.
pub struct Prog<'a> {
    asm: &'a mut Asm,
    r: Routines,
    /// Linear address of the code segment (F0000h for a ROM, 0 for a boot sector).
    code_base: u32,
    /// Descriptors after the standard ones, from [`EXTRA_SEL`].
    extra_descriptors: Vec<[u8; 8]>,
}

impl Deref for Prog<'_> {
    type Target = Asm;
    fn deref(&self) -> &Asm {
        self.asm
    }
}

impl DerefMut for Prog<'_> {
    fn deref_mut(&mut self) -> &mut Asm {
        self.asm
    }
}

/// The code segment of a ROM guest and of a boot sector.
pub const ROM_SEGMENT: u16 = 0xF000;
pub const BOOT_SEGMENT: u16 = 0;

impl<'a> Prog<'a> {
    fn new(asm: &'a mut Asm, code_segment: u16, extra_descriptors: Vec<[u8; 8]>) -> Self {
        let r = Routines {
            putc: asm.mark(),
            print: asm.mark(),
            hex8: asm.mark(),
            hex16: asm.mark(),
            hex32: asm.mark(),
            nibble: asm.mark(),
            catch: asm.mark(),
            rm_stubs: asm.mark(),
            pm_stubs: asm.mark(),
            fault_report: asm.mark(),
            enter_pm: asm.mark(),
            paging_on: asm.mark(),
        };
        Self {
            asm,
            r,
            code_base: u32::from(code_segment) << 4,
            extra_descriptors,
        }
    }

    /// Linear address of code-segment offset `offset`.
    pub fn linear(&self, offset: u32) -> u32 {
        self.code_base + offset
    }

    /// Sets DS = CS, ES = 0, a stack at [`STACK_TOP`] with SS = 0, COM1 8N1,
    /// and the runtime's idea of DS and ES.
    pub fn prologue(&mut self) -> Result<(), IcedError> {
        self.cli()?;
        self.cld()?;
        self.xor(ax, ax)?;
        self.mov(ss, ax)?;
        self.mov(sp, STACK_TOP)?;
        self.mov(es, ax)?;
        self.push(cs)?;
        self.pop(ds)?;
        self.mov(word_ptr(VAR_ES).ss(), ax)?;
        self.mov(word_ptr(VAR_DS).ss(), ds)?;
        for (port, value) in [
            (0x3FBu32, 0x80u32),
            (0x3F8, 0x01),
            (0x3F9, 0x00),
            (0x3FB, 0x03),
        ] {
            self.mov(dx, port)?;
            self.mov(al, value)?;
            self.out(dx, al)?;
        }
        Ok(())
    }

    /// Points the real-mode IVT's first 32 vectors at the runtime's stubs,
    /// so exceptions in real mode are caught. (Only for guests without a
    /// BIOS: vectors 08h-0Fh are also the BIOS's IRQ vectors.)
    pub fn install_real_mode_handlers(&mut self) -> Result<(), IcedError> {
        let stubs = self.addr(self.r.rm_stubs);
        let mut l = self.create_label();
        self.push(es)?;
        self.xor(ax, ax)?;
        self.mov(es, ax)?;
        self.xor(di, di)?;
        self.mov(ax, stubs)?;
        self.mov(cx, STUBS)?;
        self.set_label(&mut l)?;
        self.mov(word_ptr(di).es(), ax)?;
        self.mov(word_ptr(di + 2).es(), cs)?;
        self.add(ax, STUB_LEN)?;
        self.add(di, 4u32)?;
        self.loop_(l)?;
        self.pop(es)?;
        Ok(())
    }

    /// `call` to a runtime routine.
    fn call_routine(&mut self, m: Mark) -> Result<(), IcedError> {
        let target = self.asm.label(m);
        self.call(target)
    }

    /// Prints `text` (DS must be the runtime's). Keeps every register.
    pub fn print(&mut self, text: &str) -> Result<(), IcedError> {
        let s = self.string(text);
        self.push(si)?;
        self.mov(si, s)?;
        self.call_routine(self.r.print)?;
        self.pop(si)
    }

    /// Prints AL, AX or EAX in hexadecimal (2, 4 or 8 digits). Keeps every register.
    pub fn hex8(&mut self) -> Result<(), IcedError> {
        self.call_routine(self.r.hex8)
    }
    pub fn hex16(&mut self) -> Result<(), IcedError> {
        self.call_routine(self.r.hex16)
    }
    pub fn hex32(&mut self) -> Result<(), IcedError> {
        self.call_routine(self.r.hex32)
    }

    /// Reloads DS and ES with the runtime's values.
    pub fn restore_segments(&mut self) -> Result<(), IcedError> {
        self.mov(ds, word_ptr(VAR_DS).ss())?;
        self.mov(es, word_ptr(VAR_ES).ss())
    }

    /// Runs `body` as a subroutine that may fault; afterwards DS and ES are
    /// the runtime's again and [`VAR_HIT`] says whether it faulted.
    pub fn catching(
        &mut self,
        body: impl FnOnce(&mut Prog<'_>) -> Result<(), IcedError>,
    ) -> Result<(), IcedError> {
        let mut sub = self.create_label();
        let mut after = self.create_label();
        self.mov(byte_ptr(VAR_HIT).ss(), 0u32)?;
        self.call(sub)?;
        self.jmp(after)?;
        self.set_label(&mut sub)?;
        self.mov(word_ptr(VAR_SP).ss(), sp)?;
        body(self)?;
        self.ret()?;
        self.set_label(&mut after)?;
        self.restore_segments()
    }

    /// One probe, one line: `name: ok` or `name: fault ...`, then whatever
    /// `after` prints (it runs in both cases, with the registers the body or
    /// the fault left, except AX and BP after a fault).
    pub fn probe(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut Prog<'_>) -> Result<(), IcedError>,
        after: impl FnOnce(&mut Prog<'_>) -> Result<(), IcedError>,
    ) -> Result<(), IcedError> {
        self.print(&format!("{name}: "))?;
        self.catching(body)?;
        let mut faulted = self.create_label();
        self.call_routine(self.r.fault_report)?;
        self.jc(faulted)?;
        self.print("ok")?;
        self.set_label(&mut faulted)?;
        self.zero_bytes()?;
        after(self)?;
        self.print("\r\n")
    }

    /// Enters 16-bit protected mode with the standard GDT and an IDT whose
    /// 32 exception gates lead to the runtime's stubs. Interrupts stay off.
    pub fn enter_protected_mode(&mut self) -> Result<(), IcedError> {
        self.call_routine(self.r.enter_pm)
    }

    /// Initialises the 8259 pair as a PC BIOS does (edge-triggered, cascade
    /// on IRQ2, 8086 mode) with the vector bases and masks given.
    pub fn program_pics(
        &mut self,
        master_base: u8,
        slave_base: u8,
        master_mask: u8,
        slave_mask: u8,
    ) -> Result<(), IcedError> {
        for (port, value) in [
            (0x20u32, 0x11u8),
            (0xA0, 0x11),
            (0x21, master_base),
            (0xA1, slave_base),
            (0x21, 0x04),
            (0xA1, 0x02),
            (0x21, 0x01),
            (0xA1, 0x01),
            (0x21, master_mask),
            (0xA1, slave_mask),
        ] {
            self.mov(al, u32::from(value))?;
            self.out(port, al)?;
        }
        Ok(())
    }

    /// Points IDT gate `vector` at `handler` (a 16-bit interrupt gate); in
    /// protected mode, with ES flat.
    pub fn set_interrupt_gate(&mut self, vector: u32, handler: u32) -> Result<(), IcedError> {
        self.set_gate(vector, [handler as u16, CODE_SEL, 0x8600, 0])
    }

    /// Writes IDT gate `vector` (four words); in protected mode, ES flat.
    pub fn set_gate(&mut self, vector: u32, words: [u16; 4]) -> Result<(), IcedError> {
        self.push(ebx)?;
        self.mov(ebx, IDT + vector * 8)?;
        for (i, w) in words.iter().enumerate() {
            self.mov(word_ptr(ebx + 2 * i as i32).es(), u32::from(*w))?;
        }
        self.pop(ebx)
    }

    /// Turns on 32-bit paging (4 KiB pages) identity-mapping the first 4 MiB
    /// through [`PAGE_TABLE`]; in protected mode, with ES flat.
    pub fn paging_on(&mut self) -> Result<(), IcedError> {
        self.call_routine(self.r.paging_on)
    }

    /// Ends the run cleanly: `cli; hlt`.
    pub fn halt(&mut self) -> Result<(), IcedError> {
        let mut l = self.create_label();
        self.set_label(&mut l)?;
        self.cli()?;
        self.hlt()?;
        self.jmp(l)
    }

    /// The first sector of a boot image: loads the next [`BOOT_SECTORS`]
    /// sectors of the boot drive (CHS 0/0/2 on) to 0000:7E00 and continues
    /// there. DS = ES = SS = 0 and the stack below 7C00h afterwards.
    pub fn boot_loader(&mut self) -> Result<(), IcedError> {
        let end_of_sector = self.mark();
        let main = self.mark();
        let mut failed = self.create_label();
        self.cli()?;
        self.cld()?;
        self.xor(ax, ax)?;
        self.mov(ds, ax)?;
        self.mov(es, ax)?;
        self.mov(ss, ax)?;
        self.mov(sp, 0x7C00u32)?;
        self.mov(ax, 0x0200 | BOOT_SECTORS)?;
        self.mov(cx, 0x0002u32)?;
        self.mov(dh, 0u32)?;
        self.mov(bx, 0x7E00u32)?;
        self.int(0x13u32)?;
        self.jc(failed)?;
        let main_label = self.label(main);
        self.jmp(main_label)?;
        self.set_label(&mut failed)?;
        self.hlt()?;
        self.place(end_of_sector)?;
        let used = self.addr(end_of_sector).wrapping_sub(0x7C00) as usize;
        assert!(used <= 510, "the boot loader is {used} bytes");
        let mut pad = vec![0u8; 510usize.saturating_sub(used)];
        pad.extend([0x55, 0xAA]);
        self.db(&pad)?;
        self.place(main)
    }

    /// Emits the runtime (after the guest's own code).
    fn emit_runtime(&mut self) -> Result<(), IcedError> {
        let r = self.r;
        self.emit_output(r)?;
        self.emit_catch(r)?;
        self.emit_protected_mode(r)
    }

    fn emit_output(&mut self, r: Routines) -> Result<(), IcedError> {
        // putc: AL to COM1 once the transmitter holds nothing.
        self.place(r.putc)?;
        let mut wait = self.create_label();
        self.push(dx)?;
        self.push(ax)?;
        self.set_label(&mut wait)?;
        self.mov(dx, COM1_LSR)?;
        self.in_(al, dx)?;
        self.test(al, 0x20u32)?;
        self.jz(wait)?;
        self.pop(ax)?;
        self.mov(dx, COM1)?;
        self.out(dx, al)?;
        self.pop(dx)?;
        self.ret()?;

        // print: the NUL-terminated string at DS:SI.
        self.place(r.print)?;
        let mut next = self.create_label();
        let mut done = self.create_label();
        self.push(ax)?;
        self.push(si)?;
        self.set_label(&mut next)?;
        self.lodsb()?;
        self.test(al, al)?;
        self.jz(done)?;
        self.call_routine(r.putc)?;
        self.jmp(next)?;
        self.set_label(&mut done)?;
        self.pop(si)?;
        self.pop(ax)?;
        self.ret()?;

        // nibble: AL's low four bits as one digit.
        self.place(r.nibble)?;
        let mut digit = self.create_label();
        self.push(ax)?;
        self.and(al, 0x0Fu32)?;
        self.add(al, u32::from(b'0'))?;
        self.cmp(al, u32::from(b'9'))?;
        self.jbe(digit)?;
        self.add(al, 7u32)?;
        self.set_label(&mut digit)?;
        self.call_routine(r.putc)?;
        self.pop(ax)?;
        self.ret()?;

        self.place(r.hex8)?;
        self.push(ax)?;
        self.shr(al, 4u32)?;
        self.call_routine(r.nibble)?;
        self.pop(ax)?;
        self.call_routine(r.nibble)?;
        self.ret()?;

        self.place(r.hex16)?;
        self.push(ax)?;
        self.mov(al, ah)?;
        self.call_routine(r.hex8)?;
        self.pop(ax)?;
        self.call_routine(r.hex8)?;
        self.ret()?;

        self.place(r.hex32)?;
        self.push(eax)?;
        self.shr(eax, 16u32)?;
        self.call_routine(r.hex16)?;
        self.pop(eax)?;
        self.call_routine(r.hex16)?;
        self.ret()
    }

    fn emit_catch(&mut self, r: Routines) -> Result<(), IcedError> {
        // The stubs: AL = vector, AH = 1 when an error code was pushed.
        let catch = self.addr(r.catch);
        for (stubs, protected) in [(r.rm_stubs, false), (r.pm_stubs, true)] {
            let base = self.addr(stubs);
            self.place(stubs)?;
            for v in 0..STUBS {
                let has_error = protected && ERROR_CODE_VECTORS.contains(&(v as u8));
                let next = base + (v + 1) * STUB_LEN;
                let rel = catch.wrapping_sub(next) as u16;
                self.db(&[
                    0xB8,
                    v as u8,
                    u8::from(has_error),
                    0xE9,
                    rel as u8,
                    (rel >> 8) as u8,
                ])?;
            }
        }

        // catch: record the fault, then return from the probe's subroutine.
        self.place(r.catch)?;
        let mut no_error = self.create_label();
        self.mov(byte_ptr(VAR_VEC).ss(), al)?;
        self.mov(byte_ptr(VAR_HAS_ERR).ss(), ah)?;
        self.mov(byte_ptr(VAR_HIT).ss(), 1u32)?;
        self.test(ah, ah)?;
        self.jz(no_error)?;
        self.mov(bp, sp)?;
        self.mov(ax, word_ptr(bp))?;
        self.mov(word_ptr(VAR_ERR).ss(), ax)?;
        self.set_label(&mut no_error)?;
        self.mov(eax, cr2)?;
        self.mov(dword_ptr(VAR_CR2).ss(), eax)?;
        self.mov(sp, word_ptr(VAR_SP).ss())?;
        self.ret()?;

        // fault_report: CF=0 when the probe did not fault; else prints
        // "fault VV [err EEEE] [cr2 CCCCCCCC]" and sets CF.
        self.place(r.fault_report)?;
        let mut faulted = self.create_label();
        let mut no_err = self.create_label();
        let mut no_cr2 = self.create_label();
        self.cmp(byte_ptr(VAR_HIT).ss(), 0u32)?;
        self.jne(faulted)?;
        self.clc()?;
        self.ret()?;
        self.set_label(&mut faulted)?;
        self.push(eax)?;
        self.print("fault ")?;
        self.mov(al, byte_ptr(VAR_VEC).ss())?;
        self.call_routine(r.hex8)?;
        self.cmp(byte_ptr(VAR_HAS_ERR).ss(), 0u32)?;
        self.je(no_err)?;
        self.print(" err ")?;
        self.mov(ax, word_ptr(VAR_ERR).ss())?;
        self.call_routine(r.hex16)?;
        self.set_label(&mut no_err)?;
        self.cmp(byte_ptr(VAR_VEC).ss(), 14u32)?;
        self.jne(no_cr2)?;
        self.print(" cr2 ")?;
        self.mov(eax, dword_ptr(VAR_CR2).ss())?;
        self.call_routine(r.hex32)?;
        self.set_label(&mut no_cr2)?;
        self.pop(eax)?;
        self.stc()?;
        self.ret()
    }

    fn emit_protected_mode(&mut self, r: Routines) -> Result<(), IcedError> {
        // The GDT and the pseudo-descriptors, kept after the code.
        let mut gdt = vec![0u8; 8];
        gdt.extend(descriptor(self.code_base, 0xFFFF, 0x9B, 0x0));
        gdt.extend(descriptor(self.code_base, 0xFFFF, 0x93, 0x0));
        gdt.extend(descriptor(0, 0xF_FFFF, 0x93, 0x8));
        gdt.extend(descriptor(0, 0xFFFF, 0x93, 0x0));
        for d in self.extra_descriptors.clone() {
            gdt.extend(d);
        }
        let gdt_at = self.data(&gdt);
        let mut gdtr = ((gdt.len() - 1) as u16).to_le_bytes().to_vec();
        gdtr.extend(GDT.to_le_bytes());
        let gdtr = self.data(&gdtr);
        let mut idtr = ((IDT_GATES * 8 - 1) as u16).to_le_bytes().to_vec();
        idtr.extend(IDT.to_le_bytes());
        let idtr = self.data(&idtr);
        let pm_stubs = self.addr(r.pm_stubs);

        // enter_pm: called from real mode with DS = CS.
        self.place(r.enter_pm)?;
        let mut gate = self.create_label();
        let in_pm = self.mark();
        self.cli()?;
        self.push(es)?;
        self.xor(ax, ax)?;
        self.mov(es, ax)?;
        self.mov(di, IDT)?;
        self.mov(ax, pm_stubs)?;
        self.mov(cx, STUBS)?;
        self.set_label(&mut gate)?;
        self.mov(word_ptr(di).es(), ax)?;
        self.mov(word_ptr(di + 2).es(), u32::from(CODE_SEL))?;
        self.mov(word_ptr(di + 4).es(), 0x8600u32)?; // present, DPL 0, 16-bit interrupt gate
        self.mov(word_ptr(di + 6).es(), 0u32)?;
        self.add(ax, STUB_LEN)?;
        self.add(di, 8u32)?;
        self.loop_(gate)?;
        // The other gates are not present.
        self.xor(ax, ax)?;
        self.mov(cx, (IDT_GATES - STUBS) * 4)?;
        self.rep().stosw()?;
        self.pop(es)?;
        // The GDT goes to RAM: the processor writes descriptors' busy and
        // accessed bits, and the code segment may be a read-only ROM.
        self.push(es)?;
        self.xor(ax, ax)?;
        self.mov(es, ax)?;
        self.mov(si, gdt_at)?;
        self.mov(di, GDT)?;
        self.mov(cx, gdt.len() as u32)?;
        self.rep().movsb()?;
        self.pop(es)?;
        self.lgdt(ptr(gdtr))?;
        self.lidt(ptr(idtr))?;
        self.mov(eax, cr0)?;
        self.or(al, 1u32)?;
        self.mov(cr0, eax)?;
        let target = self.addr(in_pm);
        self.jmp_far(CODE_SEL, target)?;
        self.place(in_pm)?;
        self.mov(ax, u32::from(DATA_SEL))?;
        self.mov(ds, ax)?;
        self.mov(word_ptr(VAR_DS).ss(), ax)?;
        self.mov(ax, u32::from(STACK_SEL))?;
        self.mov(ss, ax)?;
        self.mov(ax, u32::from(FLAT_SEL))?;
        self.mov(es, ax)?;
        self.mov(fs, ax)?;
        self.mov(gs, ax)?;
        self.mov(word_ptr(VAR_ES).ss(), ax)?;
        self.ret()?;

        // paging_on: identity-map 0-4 MiB with 4 KiB pages, load CR3, set PG.
        self.place(r.paging_on)?;
        let mut fill = self.create_label();
        let mut clear = self.create_label();
        self.pushad()?;
        self.mov(edi, PAGE_TABLE)?;
        self.mov(eax, 0x003u32)?; // present, writable
        self.mov(cx, 1024u32)?;
        self.set_label(&mut fill)?;
        self.mov(dword_ptr(edi).es(), eax)?;
        self.add(eax, 0x1000u32)?;
        self.add(edi, 4u32)?;
        self.loop_(fill)?;
        self.mov(edi, PAGE_DIRECTORY)?;
        self.xor(eax, eax)?;
        self.mov(cx, 1024u32)?;
        self.set_label(&mut clear)?;
        self.mov(dword_ptr(edi).es(), eax)?;
        self.add(edi, 4u32)?;
        self.loop_(clear)?;
        self.mov(dword_ptr(PAGE_DIRECTORY).es(), PAGE_TABLE | 0x003)?;
        self.mov(eax, PAGE_DIRECTORY)?;
        self.mov(cr3, eax)?;
        self.mov(eax, cr0)?;
        self.or(eax, 0x8000_0000u32)?;
        self.mov(cr0, eax)?;
        self.popad()?;
        self.ret()
    }
}

/// Assembles a guest whose code segment is `code_segment` and whose code
/// starts at offset `origin` (0 for a ROM, 7C00h for a boot sector); `body`
/// writes the guest's own code, the runtime follows it. `extra_descriptors`
/// are appended to the protected-mode GDT from [`EXTRA_SEL`].
pub fn build(
    code_segment: u16,
    origin: u64,
    extra_descriptors: Vec<[u8; 8]>,
    body: impl Fn(&mut Prog<'_>) -> Result<(), IcedError>,
) -> Vec<u8> {
    assemble(origin, |asm| {
        let mut p = Prog::new(asm, code_segment, extra_descriptors.clone());
        body(&mut p)?;
        p.emit_runtime()
    })
}
