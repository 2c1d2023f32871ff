//! `mode-switch`: the real-mode/protected-mode round trips a boot loader
//! makes to call the BIOS from protected mode (OpenBSD's, issue 17), with
//! VM exits where a hypervisor's handling matters (Intel SDM vol. 3A, 10.9.1
//! "Switching to Protected Mode", 10.9.2 "Switching Back to Real-Address
//! Mode").
//!
//! From the ROM, three times, with the real-mode CS given RPL 1, 2, 3 (CS =
//! F001h..F003h, the code at the same linear addresses): set CR0.PE, make an
//! I/O exit before the far jump, far-jump to a conforming code segment (a
//! non-conforming one for RPL 2) and check CS.RPL came back 0 (the CPL);
//! load ES and GS with a 4 GiB data descriptor and FS with a 4 GiB DPL-3 one
//! through an RPL-3 selector, both descriptors not yet accessed; store a
//! marker at 3 MiB; clear PE (an exit
//! in protected mode, another in real mode with CS still the protected-mode
//! selector); in real mode reload ES, make an I/O exit and call its own
//! `int 60h` handler (another exit, another reload of ES), then read the
//! marker through ES and FS ("unreal" limits kept), check FS still holds its
//! RPL-3 selector and that the processor marked both descriptors accessed.
//! Last, the idiom that sets up unreal mode without a far jump: PE set with
//! CS = F003h, an exit, GS loaded, PE cleared: CS must read F003h again, and
//! an interrupt must return there. Each step prints a PASS line on COM1; the
//! end is [`DONE`] and exit status 0 through the test-exit port, a failure a
//! FAIL line and status 1 (a fault in protected mode, with the real-mode
//! IVT in IDTR, a triple fault). [`bios`] does the same round trips around
//! BIOS calls, from a floppy.
//!
//! On Bochs' VT-x, before the fix in `vmx::vcpu::protected_mode_entry`, the
//! exit in the window left the guest at CPL = the real-mode RPL: the far jump
//! gave CS that RPL, the guest said so and failed.

pub mod bios;

use super::rom::{emit_print_ds_si, emit_prologue, RomBuilder};
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

/// Printed first.
pub const START: &str = "mode-switch: start";
/// Printed after each round trip, with its real-mode CS RPL appended.
pub const PASS_TRIP: &str = "mode-switch: PASS round trip, CPL 0 after the far jump, 4 GiB ES and FS kept across an INT and exits, descriptors accessed, real-mode CS RPL ";
/// Printed after PE was cleared without reloading CS.
pub const PASS_NO_RELOAD: &str =
    "mode-switch: PASS PE cleared before reloading CS: CS reads F003h, an INT returns there";
/// Printed last, before exit status 0.
pub const DONE: &str = "mode-switch: all round trips passed";
/// The start of every failure line.
pub const FAIL: &str = "mode-switch: FAIL";

/// The real-mode RPLs the round trips run with.
const TRIP_RPLS: [u16; 3] = [1, 2, 3];
/// Where the GDT goes in RAM (the processor writes its accessed bits).
const GDT_BASE: u32 = 0x1000;
/// Where the markers go, above 1 MiB: one dword per round trip.
const MARKER_BASE: u32 = 0x0030_0000;
/// The first marker; round trip `r` stores `MARKER + r`.
const MARKER: u32 = 0x4D53_0000;
/// The vector of the guest's own real-mode service.
const SERVICE_VECTOR: u8 = 0x60;
/// Exceptions (vectors 0-31) go to the failure handler in real mode.
const EXCEPTION_VECTORS: u8 = 32;
/// EFLAGS.IOPL = 3: port I/O stays allowed at any CPL, so a guest resumed at
/// the wrong one can still report it.
const EFLAGS_IOPL3: u32 = 3 << 12;
/// The ROM's real-mode segment.
const ROM_SEGMENT: u16 = 0xF000;

/// GDT selectors (both variants share the layout, [`gdt`]).
pub(crate) mod selector {
    /// 16-bit execute/read code, base `code_base`, limit FFFFh.
    pub const CODE16: u16 = 0x08;
    /// 4 GiB read/write data, DPL 0, not accessed.
    pub const FLAT: u16 = 0x10;
    /// 4 GiB read/write data, DPL 3, not accessed (loaded with RPL 3).
    pub const FLAT_DPL3: u16 = 0x18;
    /// 16-bit conforming execute/read code, base `code_base`, limit FFFFh.
    pub const CONFORMING16: u16 = 0x20;
}

/// A segment descriptor (SDM vol. 3A, 3.4.5): base, 20-bit limit, access
/// byte (P, DPL, S, type), flags nibble (G, D/B, L, AVL).
fn descriptor(base: u32, limit: u32, access: u8, flags: u8) -> u64 {
    u64::from(limit & 0xFFFF)
        | (u64::from(base & 0xFF_FFFF) << 16)
        | (u64::from(access) << 40)
        | (u64::from((limit >> 16) & 0xF) << 48)
        | (u64::from(flags & 0xF) << 52)
        | (u64::from(base >> 24) << 56)
}

/// The GDT, its code segments based at `code_base`.
pub(crate) fn gdt(code_base: u32) -> Vec<u8> {
    /// G (4 KiB granularity) and D/B (32-bit).
    const FLAGS_4G_32: u8 = 0xC;
    [
        0,
        descriptor(code_base, 0xFFFF, 0x9B, 0),
        descriptor(0, 0xF_FFFF, 0x92, FLAGS_4G_32),
        descriptor(0, 0xF_FFFF, 0xF2, FLAGS_4G_32),
        descriptor(code_base, 0xFFFF, 0x9F, 0),
    ]
    .iter()
    .flat_map(|d| d.to_le_bytes())
    .collect()
}

/// A pseudo-descriptor for LGDT.
pub(crate) fn pseudo_descriptor(limit: u16, base: u32) -> Vec<u8> {
    let mut bytes = limit.to_le_bytes().to_vec();
    bytes.extend(base.to_le_bytes());
    bytes
}

/// Labels whose offsets the code needs as numbers (far jumps, vectors):
/// a first assembly with every offset 0 places them, a second uses them
/// (no instruction's length depends on those numbers).
pub(crate) struct Places<'a> {
    known: &'a [u32],
    labels: Vec<CodeLabel>,
}

/// A label [`Places`] hands out, to be placed with [`Places::set`].
pub(crate) struct Place {
    index: usize,
    label: CodeLabel,
}

impl<'a> Places<'a> {
    pub fn new(known: &'a [u32]) -> Self {
        Self {
            known,
            labels: Vec::new(),
        }
    }

    /// A new label and its offset (0 in the first pass).
    pub fn label(&mut self, a: &mut CodeAssembler) -> (Place, u32) {
        let index = self.labels.len();
        let label = a.create_label();
        self.labels.push(label);
        let ip = self.known.get(index).copied().unwrap_or(0);
        (Place { index, label }, ip)
    }

    /// Places `place` at the next instruction.
    pub fn set(&mut self, a: &mut CodeAssembler, place: &mut Place) -> Result<(), IcedError> {
        a.set_label(&mut place.label)?;
        self.labels[place.index] = place.label;
        Ok(())
    }

    /// Every label, in the order they were handed out.
    pub fn into_labels(self) -> Vec<CodeLabel> {
        self.labels
    }
}

/// Where `labels` landed when `a` was assembled at `origin`.
pub(crate) fn label_ips(
    a: &mut CodeAssembler,
    origin: u64,
    labels: &[CodeLabel],
) -> Result<Vec<u32>, IcedError> {
    let result = a.assemble_options(origin, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)?;
    labels
        .iter()
        .map(|l| result.label_ip(l).map(|ip| ip as u32))
        .collect()
}

/// `out 80h, al`: a port write the hypervisor sees (the POST port).
pub(crate) fn io_exit(a: &mut CodeAssembler) -> Result<(), IcedError> {
    a.mov(dx, u32::from(pc_layout::ports::POST))?;
    a.out(dx, al)
}

/// Writes `status` to the test-exit port and halts.
pub(crate) fn exit_with(a: &mut CodeAssembler, status: u32) -> Result<(), IcedError> {
    a.mov(dx, u32::from(pc_layout::ports::TEST_EXIT))?;
    a.mov(al, status)?;
    a.out(dx, al)?;
    a.cli()?;
    a.hlt()
}

/// Sets EFLAGS.IOPL to 3, interrupts staying off.
pub(crate) fn set_iopl3(a: &mut CodeAssembler) -> Result<(), IcedError> {
    a.pushfd()?;
    a.pop(eax)?;
    a.or(eax, EFLAGS_IOPL3)?;
    a.push(eax)?;
    a.popfd()
}

/// CR0.PE on (`true`) or off.
pub(crate) fn set_pe(a: &mut CodeAssembler, on: bool) -> Result<(), IcedError> {
    a.mov(eax, cr0)?;
    if on {
        a.or(eax, 1u32)?;
    } else {
        a.and(eax, !1u32)?;
    }
    a.mov(cr0, eax)
}

pub fn build() -> Vec<u8> {
    let (mut first, labels) = program(&[]).expect("mode-switch guest assembles");
    let known = label_ips(&mut first.asm, 0, &labels).expect("mode-switch guest assembles");
    let (rom, _) = program(&known).expect("mode-switch guest assembles");
    rom.finish()
}

/// The ROM, its code's labels in the order [`Places`] handed them out.
fn program(known: &[u32]) -> Result<(RomBuilder, Vec<CodeLabel>), IcedError> {
    let mut b = RomBuilder::new();
    let line = |b: &mut RomBuilder, text: &str| b.data(format!("{text}\r\n\0").as_bytes());
    let start = line(&mut b, START);
    let passed: Vec<u32> = TRIP_RPLS
        .iter()
        .map(|r| line(&mut b, &format!("{PASS_TRIP}{r}")))
        .collect();
    let no_reload = line(&mut b, PASS_NO_RELOAD);
    let done = line(&mut b, DONE);
    let fail_cpl = line(
        &mut b,
        &format!("{FAIL} CS.RPL (the CPL) not 0 after the far jump"),
    );
    let fail_unreal = line(&mut b, &format!("{FAIL} 4 GiB limit or marker lost"));
    let fail_accessed = line(
        &mut b,
        &format!("{FAIL} a loaded descriptor not marked accessed"),
    );
    let fail_fs = line(
        &mut b,
        &format!("{FAIL} FS no longer holds its RPL-3 selector"),
    );
    let fail_cs = line(&mut b, &format!("{FAIL} CS not F003h after clearing PE"));
    let fail_exception = line(&mut b, &format!("{FAIL} exception in real mode"));
    let gdt = gdt(u32::from(ROM_SEGMENT) << 4);
    let gdt_rom = b.data(&gdt);
    let gdtr = b.data(&pseudo_descriptor(gdt.len() as u16 - 1, GDT_BASE));

    let mut places = Places::new(known);
    let a = &mut b.asm;
    let mut print = a.create_label();
    let (mut exception, exception_ip) = places.label(a);
    let (mut service, service_ip) = places.label(a);
    let mut fail = Vec::new();
    for text in [
        fail_cpl,
        fail_unreal,
        fail_accessed,
        fail_fs,
        fail_cs,
        fail_exception,
    ] {
        fail.push((a.create_label(), text));
    }
    let fail_to = |which: u32| fail.iter().find(|(_, t)| *t == which).unwrap().0;

    emit_prologue(a)?;
    set_iopl3(a)?;
    // The GDT into RAM; the IVT: exceptions fail, vector 60h is the service.
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.mov(si, gdt_rom)?;
    a.mov(di, GDT_BASE)?;
    a.mov(cx, gdt.len() as u32)?;
    a.rep().movsb()?;
    for (vector, ip) in (0..EXCEPTION_VECTORS)
        .map(|v| (v, exception_ip))
        .chain([(SERVICE_VECTOR, service_ip)])
    {
        let entry = u64::from(vector) * 4;
        a.mov(word_ptr(entry).es(), ip)?;
        a.mov(word_ptr(entry + 2).es(), u32::from(ROM_SEGMENT))?;
    }
    a.lgdt(ptr(u64::from(gdtr)))?;
    a.mov(si, start)?;
    a.call(print)?;

    for (trip, &rpl) in TRIP_RPLS.iter().enumerate() {
        let shift = u32::from(rpl) * 16;
        let (mut window, window_ip) = places.label(a);
        let (mut protected, protected_ip) = places.label(a);
        let (mut real, real_ip) = places.label(a);
        let marker = MARKER + u32::from(rpl);
        // Real mode at CS = F000h + RPL, the same linear addresses.
        a.jmp_far(ROM_SEGMENT + rpl, window_ip.wrapping_sub(shift))?;
        places.set(a, &mut window)?;
        set_pe(a, true)?;
        io_exit(a)?;
        // A far jump gives CS the RPL of the CPL: to a conforming segment
        // (as OpenBSD's) at any CPL, to a non-conforming DPL-0 one at CPL 0
        // only (#GP otherwise).
        let code = if rpl == 2 {
            selector::CODE16
        } else {
            selector::CONFORMING16
        };
        a.jmp_far(code, protected_ip)?;
        places.set(a, &mut protected)?;
        a.mov(ax, cs)?;
        a.test(al, 3u32)?;
        a.jnz(fail_to(fail_cpl))?;
        a.mov(ax, u32::from(selector::FLAT))?;
        a.mov(es, ax)?;
        a.mov(gs, ax)?;
        a.mov(ax, u32::from(selector::FLAT_DPL3 | 3))?;
        a.mov(fs, ax)?;
        a.mov(esi, MARKER_BASE + 4 * trip as u32)?;
        a.mov(dword_ptr(esi).es(), marker)?;
        io_exit(a)?;
        set_pe(a, false)?;
        io_exit(a)?;
        a.jmp_far(ROM_SEGMENT, real_ip)?;
        // Real mode: loads keep the 4 GiB limits, across an INT and exits.
        places.set(a, &mut real)?;
        a.xor(ax, ax)?;
        a.mov(es, ax)?;
        io_exit(a)?;
        a.int(u32::from(SERVICE_VECTOR))?;
        a.cmp(dword_ptr(esi).es(), marker)?;
        a.jne(fail_to(fail_unreal))?;
        a.cmp(dword_ptr(esi).fs(), marker)?;
        a.jne(fail_to(fail_unreal))?;
        a.mov(ax, fs)?;
        a.cmp(ax, u32::from(selector::FLAT_DPL3 | 3))?;
        a.jne(fail_to(fail_fs))?;
        for sel in [selector::FLAT, selector::FLAT_DPL3] {
            let access_byte = u64::from(GDT_BASE + u32::from(sel) + 5);
            a.test(byte_ptr(access_byte).es(), 1u32)?;
            a.jz(fail_to(fail_accessed))?;
            // Not accessed again for the next round trip.
            a.and(byte_ptr(access_byte).es(), 0xFEu32)?;
        }
        a.mov(si, passed[trip])?;
        a.call(print)?;
    }

    // Unreal mode without a far jump: PE on, GS loaded, PE off, CS F003h.
    let (mut no_reload_window, no_reload_ip) = places.label(a);
    let (mut finish, finish_ip) = places.label(a);
    a.jmp_far(ROM_SEGMENT + 3, no_reload_ip.wrapping_sub(0x30))?;
    places.set(a, &mut no_reload_window)?;
    set_pe(a, true)?;
    io_exit(a)?;
    a.mov(ax, u32::from(selector::FLAT))?;
    a.mov(gs, ax)?;
    set_pe(a, false)?;
    for _ in 0..2 {
        a.mov(ax, cs)?;
        a.cmp(ax, u32::from(ROM_SEGMENT + 3))?;
        a.jne(fail_to(fail_cs))?;
        // The interrupt pushes CS; its IRET must come back to F003h.
        a.int(u32::from(SERVICE_VECTOR))?;
    }
    a.mov(esi, MARKER_BASE)?;
    a.cmp(dword_ptr(esi).gs(), MARKER + u32::from(TRIP_RPLS[0]))?;
    a.jne(fail_to(fail_unreal))?;
    a.jmp_far(ROM_SEGMENT, finish_ip)?;
    places.set(a, &mut finish)?;
    a.mov(si, no_reload)?;
    a.call(print)?;
    a.mov(si, done)?;
    a.call(print)?;
    exit_with(a, 0)?;

    for (mut label, text) in fail {
        a.set_label(&mut label)?;
        a.mov(si, text)?;
        a.call(print)?;
        exit_with(a, 1)?;
    }

    // A real-mode exception: DS may be anything.
    places.set(a, &mut exception)?;
    a.push(cs)?;
    a.pop(ds)?;
    a.mov(si, fail_exception)?;
    a.call(print)?;
    exit_with(a, 1)?;

    // The service: an exit and a real-mode reload of ES inside a handler.
    places.set(a, &mut service)?;
    a.push(ax)?;
    a.push(dx)?;
    io_exit(a)?;
    a.xor(ax, ax)?;
    a.mov(es, ax)?;
    a.pop(dx)?;
    a.pop(ax)?;
    a.iret()?;

    // (`cld` carries the label: the print loop has its own.)
    a.set_label(&mut print)?;
    a.cld()?;
    emit_print_ds_si(a)?;
    a.ret()?;
    Ok((b, places.into_labels()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_encode_base_limit_access_and_flags() {
        // The flat 4 GiB data descriptor of every 32-bit OS: 00CF92000000FFFF.
        assert_eq!(descriptor(0, 0xF_FFFF, 0x92, 0xC), 0x00CF_9200_0000_FFFF);
        // 16-bit code at the ROM: base F0000h.
        assert_eq!(descriptor(0xF_0000, 0xFFFF, 0x9B, 0), 0x0000_9B0F_0000_FFFF);
        let gdt = gdt(0xF_0000);
        assert_eq!(gdt.len(), 5 * 8);
        assert_eq!(gdt[usize::from(selector::FLAT) + 5], 0x92, "not accessed");
        assert_eq!(gdt[usize::from(selector::CONFORMING16) + 5], 0x9F);
    }

    #[test]
    fn the_rom_carries_its_lines_gdt_and_far_jumps_to_each_rpl() {
        let rom = build();
        assert_eq!(rom.len(), super::super::ROM_SIZE);
        let has = |bytes: &[u8]| rom.windows(bytes.len()).any(|w| w == bytes);
        for text in [START, PASS_NO_RELOAD, DONE, FAIL] {
            assert!(has(text.as_bytes()), "{text}");
        }
        assert!(has(&gdt(0xF_0000)));
        // jmp far F001h:..., F002h:..., F003h:... (EA, offset, segment).
        for rpl in 1..=3u8 {
            assert!(
                rom.windows(5)
                    .any(|w| w[0] == 0xEA && w[3] == rpl && w[4] == 0xF0),
                "no far jump to F00{rpl}h"
            );
        }
    }

    #[test]
    fn the_second_pass_uses_the_offsets_the_first_found() {
        let (mut first, labels) = program(&[]).unwrap();
        let known = label_ips(&mut first.asm, 0, &labels).unwrap();
        let (mut second, labels) = program(&known).unwrap();
        assert_eq!(label_ips(&mut second.asm, 0, &labels).unwrap(), known);
        assert!(known.iter().all(|&ip| ip > 0 && ip < 0x8000));
    }
}
