//! The BIOS keyboard: the IRQ1 handler (INT 09h) that turns PS/2 set-1 scan
//! codes from the 8042 into key words in the BIOS data area's ring buffer,
//! with the shift state at 0040:0017, and INT 16h, which programs read them
//! (IBM PC/AT Technical Reference, "Keyboard" BIOS listing; US layout).

use crate::bda::{kbd_peek, kbd_pop, kbd_push};
use crate::bios_platform::{BiosPlatform, Next};
use crate::memory::RealMemory;
use crate::regs::Regs;
use pc_layout::ports;

/// The 8042 data port and the master PIC's command port.
const KBC_DATA: u16 = ports::I8042_DATA;
const PIC1_COMMAND: u16 = ports::PIC_MASTER;
/// Non-specific end of interrupt.
const EOI: u8 = 0x20;

/// BDA keyboard flag bytes (0040:0017, 0040:0018) and the E0-prefix state
/// (0040:0096, bit 1: the last code was E0h).
const BDA_SHIFT_FLAGS: u32 = 0x417;
const BDA_SHIFT_FLAGS_2: u32 = 0x418;
const BDA_KBD_MODE: u32 = 0x496;

/// Shift-flag bits at 0040:0017.
pub const RIGHT_SHIFT: u8 = 1 << 0;
pub const LEFT_SHIFT: u8 = 1 << 1;
pub const CTRL: u8 = 1 << 2;
pub const ALT: u8 = 1 << 3;
pub const SCROLL_LOCK: u8 = 1 << 4;
pub const NUM_LOCK: u8 = 1 << 5;
pub const CAPS_LOCK: u8 = 1 << 6;
pub const INSERT: u8 = 1 << 7;
/// 0040:0096 bit 1: E0h prefix seen.
const MODE_E0: u8 = 1 << 1;

/// Set-1 make codes 00h-39h: unshifted and shifted ASCII (0: no character).
const NORMAL: &[u8; 0x3A] =
    b"\0\x1b1234567890-=\x08\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SHIFTED: &[u8; 0x3A] =
    b"\0\x1b!@#$%^&*()_+\x08\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

/// The key word (scan code, ASCII) a make code produces with `flags`, if any.
pub fn translate(scancode: u8, flags: u8, extended: bool) -> Option<(u8, u8)> {
    let code = usize::from(scancode);
    if extended {
        // The gray keys: arrows, Home/End/PgUp/PgDn, Ins/Del keep their scan
        // code with ASCII E0h; keypad Enter and '/' behave as their main keys.
        return match scancode {
            0x1C => Some((0xE0, b'\r')),
            0x35 => Some((0xE0, b'/')),
            0x47..=0x53 => Some((scancode, 0xE0)),
            _ => None,
        };
    }
    if code < NORMAL.len() {
        let base = NORMAL[code];
        let letter = base.is_ascii_lowercase();
        let shift = flags & (LEFT_SHIFT | RIGHT_SHIFT) != 0;
        let caps = flags & CAPS_LOCK != 0 && letter;
        let ascii = if flags & CTRL != 0 && letter {
            base - b'a' + 1
        } else if flags & ALT != 0 {
            0
        } else if shift != caps {
            SHIFTED[code]
        } else {
            base
        };
        if ascii == 0 && !(flags & ALT != 0 && base != 0) {
            return None;
        }
        return Some((scancode, ascii));
    }
    match scancode {
        // F1-F10, F11, F12: scan code, ASCII 0.
        0x3B..=0x44 | 0x57 | 0x58 => Some((scancode, 0)),
        // Keypad: digits with Num Lock, else the cursor keys.
        0x47..=0x53 => {
            const KEYPAD: &[u8; 13] = b"789-456+1230.";
            let ch = KEYPAD[code - 0x47];
            if flags & NUM_LOCK != 0 || ch == b'-' || ch == b'+' {
                Some((scancode, ch))
            } else {
                Some((scancode, 0))
            }
        }
        _ => None,
    }
}

/// Processes one scan code read from the 8042.
pub fn handle_scancode(mem: &mut dyn RealMemory, code: u8) {
    let mut flags = mem.read_u8(BDA_SHIFT_FLAGS);
    let mode = mem.read_u8(BDA_KBD_MODE);
    if code == 0xE0 {
        mem.write_u8(BDA_KBD_MODE, mode | MODE_E0);
        return;
    }
    let extended = mode & MODE_E0 != 0;
    mem.write_u8(BDA_KBD_MODE, mode & !MODE_E0);
    let released = code & 0x80 != 0;
    let make = code & 0x7F;
    let modifier = match make {
        0x2A if !extended => Some(LEFT_SHIFT),
        0x36 if !extended => Some(RIGHT_SHIFT),
        0x1D => Some(CTRL),
        0x38 => Some(ALT),
        _ => None,
    };
    if let Some(bit) = modifier {
        if released {
            flags &= !bit;
        } else {
            flags |= bit;
        }
        mem.write_u8(BDA_SHIFT_FLAGS, flags);
        return;
    }
    if released {
        return;
    }
    let toggle = match make {
        0x3A => Some(CAPS_LOCK),
        0x45 => Some(NUM_LOCK),
        0x46 => Some(SCROLL_LOCK),
        0x52 if extended || flags & NUM_LOCK == 0 => Some(INSERT),
        _ => None,
    };
    if let Some(bit) = toggle {
        mem.write_u8(BDA_SHIFT_FLAGS, flags ^ bit);
        if bit != INSERT {
            return;
        }
    }
    if let Some((scan, ascii)) = translate(make, flags, extended) {
        kbd_push(mem, scan, ascii);
    }
}

/// INT 09h: read the scan code, process it, end the interrupt.
pub fn int09(mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
    let code = pf.port_in(KBC_DATA);
    handle_scancode(mem, code);
    pf.port_out(PIC1_COMMAND, EOI);
    Next::Return
}

/// The key word as the non-extended functions (AH=00h/01h) report it: gray
/// keys' E0h becomes 00h.
fn classic(scan: u8, ascii: u8) -> u16 {
    let ascii = if ascii == 0xE0 && scan != 0xE0 {
        0
    } else {
        ascii
    };
    let scan = if scan == 0xE0 {
        if ascii == b'\r' {
            0x1C
        } else {
            0x35
        }
    } else {
        scan
    };
    (u16::from(scan) << 8) | u16::from(ascii)
}

/// INT 16h.
pub fn int16(regs: &mut Regs, mem: &mut dyn RealMemory) -> Next {
    match regs.ah() {
        0x00 | 0x10 => match kbd_pop(mem) {
            Some((scan, ascii)) => {
                let word = if regs.ah() == 0x00 {
                    classic(scan, ascii)
                } else {
                    (u16::from(scan) << 8) | u16::from(ascii)
                };
                regs.set_ax(word);
            }
            None => return Next::WaitAndRetry,
        },
        0x01 | 0x11 => match kbd_peek(mem) {
            Some((scan, ascii)) => {
                let word = if regs.ah() == 0x01 {
                    classic(scan, ascii)
                } else {
                    (u16::from(scan) << 8) | u16::from(ascii)
                };
                regs.set_ax(word);
                regs.set_zf(false);
            }
            None => regs.set_zf(true),
        },
        0x02 => regs.set_al(mem.read_u8(BDA_SHIFT_FLAGS)),
        0x12 => {
            regs.set_al(mem.read_u8(BDA_SHIFT_FLAGS));
            regs.set_ah(mem.read_u8(BDA_SHIFT_FLAGS_2));
        }
        0x05 => {
            let ok = kbd_push(mem, regs.ch(), regs.cl());
            regs.set_al(u8::from(!ok));
        }
        // 03h typematic rate, 09h/0Ah capabilities and ID: accepted, nothing to report.
        _ => {}
    }
    Next::Return
}

#[cfg(test)]
mod tests;
