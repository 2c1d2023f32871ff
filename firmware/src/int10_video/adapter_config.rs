//! What the adapter says about itself and the options it takes: alternate
//! select (AH=12h: EGA information, default palette loading, gray-scale
//! summing, cursor emulation) and the display combination code (AH=1Ah).

use super::bda::{
    self, MODESET_GRAY_SUMMING, MODESET_NO_PALETTE_LOADING, VIDEO_CONTROL_NO_CURSOR_EMULATION,
};
use super::{unsupported, Video};
use crate::memory::RealMemory;
use crate::regs::Regs;
use device_model::vga_text::CRTC_ADDRESS_MONO;

/// AH=12h BL=10h: get EGA information.
const ALT_GET_EGA_INFO: u8 = 0x10;
/// AH=12h BL=31h: AL=0 enable, 1 disable default palette loading.
const ALT_PALETTE_LOADING: u8 = 0x31;
/// AH=12h BL=33h: AL=0 enable, 1 disable gray-scale summing.
const ALT_GRAY_SUMMING: u8 = 0x33;
/// AH=12h BL=34h: AL=0 enable, 1 disable cursor emulation.
const ALT_CURSOR_EMULATION: u8 = 0x34;
/// AH=12h (31h-34h) return in AL: the function is supported.
const ALT_SUPPORTED: u8 = 0x12;
/// AH=12h BL=10h return in BL: 256 KiB of video memory.
const EGA_INFO_MEMORY_256K: u8 = 0x03;
/// AH=1Ah AL=00h: get the display combination code.
const DCC_GET: u8 = 0x00;
/// AH=1Ah AL=01h: set the display combination code.
const DCC_SET: u8 = 0x01;
/// AH=1Ah return in AL: the function is supported.
const DCC_SUPPORTED: u8 = 0x1A;
/// Display combination code 08h: VGA with analog colour display.
const DCC_VGA_COLOR: u8 = 0x08;

/// AH=1Ah: AL=00h returns the display combination code, AL=01h accepts a
/// new one.
pub(super) fn display_combination(regs: &mut Regs) {
    match regs.al() {
        DCC_GET => {
            regs.set_al(DCC_SUPPORTED);
            regs.set_bl(DCC_VGA_COLOR);
            regs.set_bh(0);
        }
        // The only combination is the one there is: accept and keep it.
        DCC_SET => regs.set_al(DCC_SUPPORTED),
        _ => unsupported(regs),
    }
}

impl Video<'_> {
    /// AH=12h: alternate select, by BL.
    pub(super) fn alternate_select(&mut self, regs: &mut Regs) {
        let put_bit = |mem: &mut dyn RealMemory, addr: u32, bit: u8, set: bool| {
            let value = mem.read_u8(addr) & !bit;
            mem.write_u8(addr, value | if set { bit } else { 0 });
        };
        match regs.bl() {
            ALT_GET_EGA_INFO => {
                let mono = self.mem.read_u16(bda::CRTC_BASE) == CRTC_ADDRESS_MONO;
                regs.set_bh(u8::from(mono));
                regs.set_bl(EGA_INFO_MEMORY_256K);
                regs.set_ch(0);
                let switches = self.mem.read_u8(bda::SWITCHES);
                regs.set_cl(switches & bda::SWITCHES_SETTING);
            }
            ALT_PALETTE_LOADING if regs.al() <= 1 => {
                put_bit(
                    self.mem,
                    bda::MODESET_CONTROL,
                    MODESET_NO_PALETTE_LOADING,
                    regs.al() == 1,
                );
                regs.set_al(ALT_SUPPORTED);
            }
            ALT_GRAY_SUMMING if regs.al() <= 1 => {
                // The bit is kept for the guest to read; the DAC is loaded in colour.
                put_bit(
                    self.mem,
                    bda::MODESET_CONTROL,
                    MODESET_GRAY_SUMMING,
                    regs.al() == 0,
                );
                regs.set_al(ALT_SUPPORTED);
            }
            ALT_CURSOR_EMULATION if regs.al() <= 1 => {
                put_bit(
                    self.mem,
                    bda::VIDEO_CONTROL,
                    VIDEO_CONTROL_NO_CURSOR_EMULATION,
                    regs.al() == 1,
                );
                self.program_cursor_shape();
                regs.set_al(ALT_SUPPORTED);
            }
            _ => unsupported(regs),
        }
    }
}
