//! The port-I/O front: the VGA's ports from 3B0h to 3DFh, which register
//! group each reaches (the CRT controller block moving between 3Bxh and 3Dxh
//! with the Miscellaneous Output I/O Address Select bit), and [`VgaPorts`],
//! the device registered on the port bus.

use super::dac::{DAC_STATE_READ, DAC_STATE_WRITE};
use super::general::{
    FEATURE_IMPLEMENTED, IS0_SWITCH_SENSE, MISC_IMPLEMENTED, MISC_IO_ADDRESS_SELECT, VSE_ENABLE,
};
use super::graphics::GC_IMPLEMENTED;
use super::sequencer::SEQ_IMPLEMENTED;
use super::{indexed, store, VgaText};
use crate::bus::PortIoDevice;
use alloc::rc::Rc;
use core::cell::RefCell;

/// First port of the VGA's I/O range.
pub const VGA_PORT_BASE: u16 = pc_layout::ports::VGA;
/// Number of ports the VGA occupies (3B0h-3DFh).
pub const VGA_PORT_COUNT: u16 = pc_layout::ports::VGA_COUNT;

/// CRT Controller Address Register, monochrome address.
pub const CRTC_ADDRESS_MONO: u16 = 0x3B4;
/// CRT Controller Data Register, monochrome address.
pub const CRTC_DATA_MONO: u16 = 0x3B5;
/// Input Status Register 1 (read) / Feature Control Register (write), mono.
pub const INPUT_STATUS_1_MONO: u16 = 0x3BA;
/// Attribute Address/Data Register (write; read gives the address register).
pub const ATTRIBUTE_ADDRESS: u16 = 0x3C0;
/// Attribute Data Register (read).
pub const ATTRIBUTE_DATA_READ: u16 = 0x3C1;
/// Miscellaneous Output Register (write) / Input Status Register 0 (read).
pub const MISC_OUTPUT_WRITE: u16 = 0x3C2;
/// Video Subsystem Enable Register.
pub const VIDEO_SUBSYSTEM_ENABLE: u16 = 0x3C3;
/// Sequencer Address Register.
pub const SEQUENCER_ADDRESS: u16 = 0x3C4;
/// Sequencer Data Register.
pub const SEQUENCER_DATA: u16 = 0x3C5;
/// PEL Mask Register.
pub const PEL_MASK: u16 = 0x3C6;
/// PEL Address Read Mode Register (write) / DAC State Register (read).
pub const PEL_ADDRESS_READ_MODE: u16 = 0x3C7;
/// PEL Address Write Mode Register.
pub const PEL_ADDRESS_WRITE_MODE: u16 = 0x3C8;
/// PEL Data Register.
pub const PEL_DATA: u16 = 0x3C9;
/// Feature Control Register (read).
pub const FEATURE_CONTROL_READ: u16 = 0x3CA;
/// Miscellaneous Output Register (read).
pub const MISC_OUTPUT_READ: u16 = 0x3CC;
/// Graphics Controller Address Register.
pub const GRAPHICS_ADDRESS: u16 = 0x3CE;
/// Graphics Controller Data Register.
pub const GRAPHICS_DATA: u16 = 0x3CF;
/// CRT Controller Address Register, colour address.
pub const CRTC_ADDRESS_COLOR: u16 = 0x3D4;
/// CRT Controller Data Register, colour address.
pub const CRTC_DATA_COLOR: u16 = 0x3D5;
/// Input Status Register 1 (read) / Feature Control Register (write), colour.
pub const INPUT_STATUS_1_COLOR: u16 = 0x3DA;
/// Offset of the CRTC address, data and status ports within 3Bxh/3Dxh.
const CRT_BLOCK_MASK: u16 = 0x000F;

impl VgaText {
    fn color_io(&self) -> bool {
        self.misc_output & MISC_IO_ADDRESS_SELECT != 0
    }

    /// The offset within the 3Bxh/3Dxh block if `port` is in the block the
    /// Miscellaneous Output I/O Address Select bit currently enables.
    fn crt_block(&self, port: u16) -> Option<u16> {
        let enabled = if self.color_io() {
            CRTC_ADDRESS_COLOR
        } else {
            CRTC_ADDRESS_MONO
        };
        let enabled_base = enabled & !CRT_BLOCK_MASK;
        (port & !CRT_BLOCK_MASK == enabled_base).then_some(port & CRT_BLOCK_MASK)
    }

    /// Reads the register at absolute `port` (3B0h-3DFh; anything else reads FFh).
    pub fn read(&mut self, port: u16) -> u8 {
        match port {
            ATTRIBUTE_ADDRESS => self.attr_address,
            ATTRIBUTE_DATA_READ => self.attr_data(),
            MISC_OUTPUT_WRITE => IS0_SWITCH_SENSE,
            VIDEO_SUBSYSTEM_ENABLE => self.video_subsystem_enable,
            SEQUENCER_ADDRESS => self.seq_index,
            SEQUENCER_DATA => indexed(&self.seq, self.seq_index),
            PEL_MASK => self.pel_mask,
            PEL_ADDRESS_READ_MODE => {
                if self.dac_reading {
                    DAC_STATE_READ
                } else {
                    DAC_STATE_WRITE
                }
            }
            PEL_ADDRESS_WRITE_MODE => self.dac_write_index,
            PEL_DATA => self.dac_data_read(),
            FEATURE_CONTROL_READ => self.feature_control,
            MISC_OUTPUT_READ => self.misc_output,
            GRAPHICS_ADDRESS => self.gc_index,
            GRAPHICS_DATA => indexed(&self.gc, self.gc_index),
            _ => match self.crt_block(port) {
                Some(o) if o == CRTC_ADDRESS_COLOR & CRT_BLOCK_MASK => self.crtc_index,
                Some(o) if o == CRTC_DATA_COLOR & CRT_BLOCK_MASK => {
                    indexed(&self.crtc, self.crtc_index)
                }
                Some(o) if o == INPUT_STATUS_1_COLOR & CRT_BLOCK_MASK => self.input_status_1(),
                _ => 0xFF,
            },
        }
    }

    /// Writes `value` to the register at absolute `port` (3B0h-3DFh; anything
    /// else is ignored).
    pub fn write(&mut self, port: u16, value: u8) {
        match port {
            ATTRIBUTE_ADDRESS => self.attr_write(value),
            MISC_OUTPUT_WRITE => self.misc_output = value & MISC_IMPLEMENTED,
            VIDEO_SUBSYSTEM_ENABLE => self.video_subsystem_enable = value & VSE_ENABLE,
            SEQUENCER_ADDRESS => self.seq_index = value,
            SEQUENCER_DATA => store(&mut self.seq, &SEQ_IMPLEMENTED, self.seq_index, value),
            PEL_MASK => self.pel_mask = value,
            PEL_ADDRESS_READ_MODE => {
                self.dac_read_index = value;
                self.dac_component = 0;
                self.dac_reading = true;
            }
            PEL_ADDRESS_WRITE_MODE => {
                self.dac_write_index = value;
                self.dac_component = 0;
                self.dac_reading = false;
            }
            PEL_DATA => self.dac_data_write(value),
            GRAPHICS_ADDRESS => self.gc_index = value,
            GRAPHICS_DATA => store(&mut self.gc, &GC_IMPLEMENTED, self.gc_index, value),
            // 3C1h, 3CAh and 3CCh are read-only.
            _ => match self.crt_block(port) {
                Some(o) if o == CRTC_ADDRESS_COLOR & CRT_BLOCK_MASK => self.crtc_index = value,
                Some(o) if o == CRTC_DATA_COLOR & CRT_BLOCK_MASK => self.crtc_write(value),
                Some(o) if o == INPUT_STATUS_1_COLOR & CRT_BLOCK_MASK => {
                    self.feature_control = value & FEATURE_IMPLEMENTED
                }
                _ => {}
            },
        }
    }
}

/// The VGA on the port bus: register it once at [`VGA_PORT_BASE`] for
/// [`VGA_PORT_COUNT`] ports. Wider accesses touch consecutive ports, low byte
/// first, so `out dx, ax` to 3D4h writes the index then the data.
pub struct VgaPorts {
    base: u16,
    vga: Rc<RefCell<VgaText>>,
}

impl VgaPorts {
    /// A bus adapter for `vga` whose range starts at port `base`.
    pub fn new(base: u16, vga: Rc<RefCell<VgaText>>) -> Self {
        Self { base, vga }
    }

    fn port(&self, offset: u16, byte: u16) -> u16 {
        self.base.wrapping_add(offset).wrapping_add(byte)
    }
}

impl PortIoDevice for VgaPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        let Ok(mut vga) = self.vga.try_borrow_mut() else {
            log::warn!("vga: port read while the device is borrowed");
            return u32::MAX;
        };
        (0..u16::from(size.min(4))).fold(0, |acc, i| {
            acc | (u32::from(vga.read(self.port(offset, i))) << (8 * i))
        })
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let Ok(mut vga) = self.vga.try_borrow_mut() else {
            log::warn!("vga: port write while the device is borrowed");
            return;
        };
        for i in 0..u16::from(size.min(4)) {
            vga.write(self.port(offset, i), (value >> (8 * i)) as u8);
        }
    }
}
