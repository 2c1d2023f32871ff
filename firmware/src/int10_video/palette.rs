//! The palette (AH=10h): the attribute controller's 16 palette registers,
//! its overscan colour and its blink/intensity bit, and the DAC's colour
//! registers, all through the VGA's ports. Subfunctions other than 00h-03h,
//! 07h, 08h, 10h and 15h are not served.

use super::mode::CGA_MODE_BLINK;
use super::params::{attr_in, attr_out};
use super::{bda, unsupported, Video};
use crate::regs::{linear, Regs};
use device_model::vga_text::{
    ATTR_MODE_CONTROL, ATTR_PALETTE_LAST, PEL_ADDRESS_READ_MODE, PEL_ADDRESS_WRITE_MODE, PEL_DATA,
};

/// AX=1000h: set one palette register (BL index, BH value).
const PAL_SET_REGISTER: u8 = 0x00;
/// AX=1001h: set the overscan (border) colour (BH).
const PAL_SET_OVERSCAN: u8 = 0x01;
/// AX=1002h: set all 16 palette registers and overscan from ES:DX.
const PAL_SET_ALL: u8 = 0x02;
/// AX=1003h: BL=0 background intensity, BL=1 blink.
const PAL_TOGGLE_BLINK: u8 = 0x03;
/// AX=1007h: read one palette register (BL) into BH.
const PAL_GET_REGISTER: u8 = 0x07;
/// AX=1008h: read the overscan colour into BH.
const PAL_GET_OVERSCAN: u8 = 0x08;
/// AX=1010h: set DAC register BX to DH red, CH green, CL blue.
const PAL_SET_DAC: u8 = 0x10;
/// AX=1015h: read DAC register BX into DH, CH, CL.
const PAL_GET_DAC: u8 = 0x15;
/// Bytes AX=1002h reads: 16 palette registers, then overscan.
const PAL_ALL_BYTES: u16 = 17;
/// Attribute controller index of the Overscan Color register.
const ATTR_OVERSCAN_COLOR: u8 = 0x11;
/// Attribute Mode Control bit 3: Enable Blink (0 = background intensity).
const ATTR_MODE_BLINK: u8 = 1 << 3;

impl Video<'_> {
    /// AH=10h: palette registers and the DAC. Subfunctions not handled
    /// here change nothing and return.
    pub(super) fn palette(&mut self, regs: &mut Regs) {
        match regs.al() {
            PAL_SET_REGISTER if regs.bl() <= ATTR_PALETTE_LAST => {
                attr_out(self.pf, regs.bl(), regs.bh())
            }
            PAL_SET_OVERSCAN => attr_out(self.pf, ATTR_OVERSCAN_COLOR, regs.bh()),
            PAL_SET_ALL => {
                for i in 0..PAL_ALL_BYTES {
                    let value = self.mem.read_u8(linear(regs.es, regs.dx().wrapping_add(i)));
                    let index = if i <= u16::from(ATTR_PALETTE_LAST) {
                        i as u8
                    } else {
                        ATTR_OVERSCAN_COLOR
                    };
                    attr_out(self.pf, index, value);
                }
            }
            PAL_TOGGLE_BLINK if regs.bl() <= 1 => {
                let blink = regs.bl() == 1;
                let mode = attr_in(self.pf, ATTR_MODE_CONTROL) & !ATTR_MODE_BLINK;
                attr_out(
                    self.pf,
                    ATTR_MODE_CONTROL,
                    mode | if blink { ATTR_MODE_BLINK } else { 0 },
                );
                let cga = self.mem.read_u8(bda::CRT_MODE_CONTROL) & !CGA_MODE_BLINK;
                self.mem.write_u8(
                    bda::CRT_MODE_CONTROL,
                    cga | if blink { CGA_MODE_BLINK } else { 0 },
                );
            }
            PAL_GET_REGISTER if regs.bl() <= ATTR_PALETTE_LAST => {
                regs.set_bh(attr_in(self.pf, regs.bl()));
            }
            PAL_GET_OVERSCAN => regs.set_bh(attr_in(self.pf, ATTR_OVERSCAN_COLOR)),
            PAL_SET_DAC if regs.bx() <= u16::from(u8::MAX) => {
                self.pf.port_out(PEL_ADDRESS_WRITE_MODE, regs.bl());
                for component in [regs.dh(), regs.ch(), regs.cl()] {
                    self.pf.port_out(PEL_DATA, component);
                }
            }
            PAL_GET_DAC if regs.bx() <= u16::from(u8::MAX) => {
                self.pf.port_out(PEL_ADDRESS_READ_MODE, regs.bl());
                regs.set_dh(self.pf.port_in(PEL_DATA));
                regs.set_ch(self.pf.port_in(PEL_DATA));
                regs.set_cl(self.pf.port_in(PEL_DATA));
            }
            _ => unsupported(regs),
        }
    }
}
