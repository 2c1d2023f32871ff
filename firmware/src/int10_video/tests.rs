//! INT 10h against the real VGA register model (`device_model::vga_text`)
//! and 1 MiB of guest RAM that refuses writes outside the video memory and
//! the video bytes of the BIOS data area. This file is the test machine;
//! the tests are in the submodules, one per concept.

mod characters;
mod cursor;
mod font_and_adapter_info;
mod hostile_inputs;
mod mode;
mod pages;
mod palette;
mod scroll;
mod teletype;
mod unserved_functions;
mod write_string;

use super::text_screen::{cell_addr, cell_index};
use super::*;
use crate::memory::VecMemory;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use device_model::vga_text::{render_lines, VgaText, TEXT_PAGE_SIZE};

const RAM_SIZE: usize = 1 << 20;
const TEXT_END: u32 = TEXT_BASE + PAGES as u32 * PAGE_BYTES as u32;
/// Where tests put strings and palette tables (0000:7000).
const BUFFER: u32 = 0x7000;

/// 1 MiB of guest RAM that fails the test on any write outside the text
/// pages and the video bytes of the BIOS data area (and the equipment word).
struct GuardedMemory(VecMemory);

fn write_allowed(addr: u32, len: usize) -> bool {
    let end = u64::from(addr) + len as u64;
    let inside = |lo: u32, hi: u32| u64::from(addr) >= u64::from(lo) && end <= u64::from(hi);
    inside(bda::EQUIPMENT, bda::EQUIPMENT + 2)
        || inside(bda::VIDEO_MODE, bda::MODESET_CONTROL + 1)
        || inside(TEXT_BASE, TEXT_END)
}

impl RealMemory for GuardedMemory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool {
        self.0.read(addr, buf)
    }
    fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        assert!(
            write_allowed(addr, data.len()),
            "write of {} bytes at {addr:#x}",
            data.len()
        );
        self.0.write(addr, data)
    }
}

/// The machine: the real VGA register model behind the ports, and a record
/// of every port write.
struct FakePlatform {
    vga: VgaText,
    writes: Vec<(u16, u8)>,
}

impl BiosPlatform for FakePlatform {
    fn port_in(&mut self, port: u16) -> u8 {
        self.vga.read(port)
    }
    fn port_out(&mut self, port: u16, value: u8) {
        self.writes.push((port, value));
        self.vga.write(port, value);
    }
    fn ram_size(&self) -> u64 {
        RAM_SIZE as u64
    }
    fn now_ns(&self) -> u64 {
        0
    }
}

struct Machine {
    mem: GuardedMemory,
    pf: FakePlatform,
}

impl Machine {
    /// A machine after POST's [`init_video`].
    fn new() -> Self {
        let mut m = Self::blank();
        init_video(&mut m.mem, &mut m.pf);
        m.pf.writes.clear();
        m
    }

    fn blank() -> Self {
        Self {
            mem: GuardedMemory(VecMemory(vec![0; RAM_SIZE])),
            pf: FakePlatform {
                vga: VgaText::new(),
                writes: Vec::new(),
            },
        }
    }

    fn int10(&mut self, regs: &mut Regs) {
        assert_eq!(int10(regs, &mut self.mem, &mut self.pf), Next::Return);
    }

    /// INT 10h with AX, BX, CX, DX; the registers after the call.
    fn call(&mut self, ax: u16, bx: u16, cx: u16, dx: u16) -> Regs {
        let mut regs = Regs {
            eax: ax.into(),
            ebx: bx.into(),
            ecx: cx.into(),
            edx: dx.into(),
            flags: 0x0202,
            ..Default::default()
        };
        self.int10(&mut regs);
        regs
    }

    fn tty(&mut self, text: &[u8]) {
        for &ch in text {
            self.call(u16::from(ch) | 0x0E00, 0x0000, 0, 0);
        }
    }

    fn ram(&self) -> &[u8] {
        &self.mem.0 .0
    }

    /// Puts bytes in RAM behind the guard (the guest's own data).
    fn poke(&mut self, addr: u32, data: &[u8]) {
        let a = addr as usize;
        self.mem.0 .0[a..a + data.len()].copy_from_slice(data);
    }

    fn cell(&self, page: u8, column: u8, row: u8) -> (u8, u8) {
        let a = cell_addr(page, cell_index(column, row)) as usize;
        (self.ram()[a], self.ram()[a + 1])
    }

    fn text_pages(&self) -> &[u8] {
        &self.ram()[TEXT_BASE as usize..TEXT_END as usize]
    }

    /// The screen as the emulated VGA shows it.
    fn screen(&self) -> Vec<String> {
        let page = &self.ram()[TEXT_BASE as usize..TEXT_BASE as usize + TEXT_PAGE_SIZE];
        render_lines(page, self.pf.vga.start_address())
    }

    fn bda_u8(&self, addr: u32) -> u8 {
        self.mem.read_u8(addr)
    }

    fn bda_u16(&self, addr: u32) -> u16 {
        self.mem.read_u16(addr)
    }

    /// Cursor of the active page from the BDA: (column, row).
    fn bda_cursor(&self, page: u8) -> (u8, u8) {
        let [c, r] = self
            .bda_u16(bda::CURSOR_POSITIONS + 2 * u32::from(page))
            .to_le_bytes();
        (c, r)
    }

    /// Fills every row with "row NN" in attribute 07h through teletype,
    /// leaving the cursor at the end of row 24.
    fn fill_rows(&mut self) {
        for row in 0..ROWS {
            let mut line = Vec::from(*b"row ");
            line.extend_from_slice(&[b'0' + row / 10, b'0' + row % 10]);
            if row + 1 < ROWS {
                line.extend_from_slice(b"\r\n");
            }
            self.tty(&line);
        }
    }
}

/// INT 10h AH=13h with `bytes` placed at [`BUFFER`] as ES:BP; the registers
/// after the call.
fn write_string(m: &mut Machine, al: u8, bx: u16, dx: u16, bytes: &[u8], cx: u16) -> Regs {
    m.poke(BUFFER, bytes);
    let mut regs = Regs {
        eax: 0x1300 | u32::from(al),
        ebx: bx.into(),
        ecx: cx.into(),
        edx: dx.into(),
        ebp: BUFFER & 0xF,
        es: (BUFFER >> 4) as u16,
        ..Default::default()
    };
    m.int10(&mut regs);
    regs
}
