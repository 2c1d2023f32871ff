//! VGA in colour text mode: the I/O registers of the IBM VGA, and a renderer
//! that turns the 80x25 text page into Unicode lines for a terminal.
//!
//! Registers follow the IBM VGA Technical Reference ("VGA and XGA" register
//! descriptions, as in the IBM PS/2 Hardware Interface Technical Reference,
//! Video Subsystem chapter), by the register names used there:
//!
//! * General registers: Miscellaneous Output Register (write 3C2h, read 3CCh),
//!   Input Status Register 0 (read 3C2h), Input Status Register 1 (read
//!   3DAh/3BAh), Feature Control Register (write 3DAh/3BAh, read 3CAh), Video
//!   Subsystem Enable Register (3C3h).
//! * Sequencer Registers (Address 3C4h, Data 3C5h): Reset, Clocking Mode,
//!   Map Mask, Character Map Select, Memory Mode.
//! * CRT Controller Registers (Address 3D4h/3B4h, Data 3D5h/3B5h): 00h-18h,
//!   with Cursor Start, Cursor End, Start Address High/Low, Cursor Location
//!   High/Low and the Protect R0-R7 bit of Vertical Retrace End.
//! * Graphics Controller Registers (Address 3CEh, Data 3CFh): Set/Reset through
//!   Bit Mask (00h-08h).
//! * Attribute Controller Registers (Address/Data 3C0h with its flip-flop, Data
//!   read 3C1h): Palette 00h-0Fh, Attribute Mode Control, Overscan Color, Color
//!   Plane Enable, Horizontal PEL Panning, Color Select (00h-14h).
//! * Video DAC: PEL Mask (3C6h), PEL Address Read Mode (write 3C7h) / DAC State
//!   (read 3C7h), PEL Address Write Mode (3C8h), PEL Data (3C9h).
//!
//! The text page itself is plain guest RAM at [`TEXT_PAGE_ADDR`]: this device
//! emulates no memory planes, and planar graphics is out of scope, although
//! every register reads back what was written (reserved bits read 0).
//!
//! Choices where the reference leaves the answer open, stated once:
//! * A data access to an index that names no register reads FFh and a write to
//!   it is dropped; the index itself reads back as written. (Indices are not
//!   aliased, so SuperVGA probes of extended indices disturb nothing.)
//! * Input Status 1 is not timed: each read steps through active display,
//!   horizontal retrace, vertical retrace and horizontal retrace again, so
//!   every "wait for retrace" loop ends within four reads.
//! * Input Status 0 reads Switch Sense = 1 (a colour monitor is attached) and
//!   CRT Interrupt = 0: the vertical retrace interrupt is not emulated.
//! * The power-on state is the one the BIOS leaves after setting mode 3
//!   (80x25 colour text, 9x16 font, 400 lines): cursor on scan lines 13-14,
//!   CRTC registers protected, DAC entries 00h-3Fh holding the 64 EGA colours
//!   and 40h-FFh black.

use crate::bus::PortIoDevice;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::Write as _;

/// Guest-physical address of the colour text page (memory map B8000h, 32 KiB).
pub const TEXT_PAGE_ADDR: u64 = 0xB8000;
/// Size of the text page window the CPU sees at [`TEXT_PAGE_ADDR`].
pub const TEXT_PAGE_SIZE: usize = 0x8000;
/// Characters per row in mode 3.
pub const COLUMNS: usize = 80;
/// Rows on the screen in mode 3.
pub const ROWS: usize = 25;

/// First port of the VGA's I/O range.
pub const VGA_PORT_BASE: u16 = 0x3B0;
/// Number of ports the VGA occupies (3B0h-3DFh).
pub const VGA_PORT_COUNT: u16 = 0x30;

// ---------------------------------------------------------------------------
// Ports.

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

// ---------------------------------------------------------------------------
// General registers.

/// Miscellaneous Output bit 0: I/O Address Select (1 = 3Dxh colour, 0 = 3Bxh mono).
pub const MISC_IO_ADDRESS_SELECT: u8 = 1 << 0;
/// Miscellaneous Output bit 1: Enable RAM (CPU access to display memory).
pub const MISC_ENABLE_RAM: u8 = 1 << 1;
/// Miscellaneous Output bits 3-2: Clock Select.
pub const MISC_CLOCK_SELECT: u8 = 0b11 << 2;
/// Miscellaneous Output bit 5: Page Bit for Odd/Even.
pub const MISC_PAGE_BIT_ODD_EVEN: u8 = 1 << 5;
/// Miscellaneous Output bit 6: Horizontal Sync Polarity (1 = negative).
pub const MISC_HSYNC_POLARITY: u8 = 1 << 6;
/// Miscellaneous Output bit 7: Vertical Sync Polarity (1 = negative).
pub const MISC_VSYNC_POLARITY: u8 = 1 << 7;
/// The Miscellaneous Output bits the VGA implements (bit 4 is reserved).
const MISC_IMPLEMENTED: u8 = MISC_IO_ADDRESS_SELECT
    | MISC_ENABLE_RAM
    | MISC_CLOCK_SELECT
    | MISC_PAGE_BIT_ODD_EVEN
    | MISC_HSYNC_POLARITY
    | MISC_VSYNC_POLARITY;

/// Input Status 0 bit 4: Switch Sense (monitor sense comparator output).
pub const IS0_SWITCH_SENSE: u8 = 1 << 4;
/// Input Status 0 bit 7: CRT Interrupt (vertical retrace interrupt pending).
pub const IS0_CRT_INTERRUPT: u8 = 1 << 7;

/// Input Status 1 bit 0: Display Enable NOT ("display disabled": 1 during
/// horizontal or vertical retrace).
pub const IS1_DISPLAY_DISABLED: u8 = 1 << 0;
/// Input Status 1 bit 3: Vertical Retrace.
pub const IS1_VERTICAL_RETRACE: u8 = 1 << 3;

/// Feature Control bits 1-0: FC1/FC0 (feature connector outputs, reserved on VGA).
pub const FEATURE_FC: u8 = 0b11;
/// Feature Control bit 3: Vertical Sync Select.
pub const FEATURE_VSS: u8 = 1 << 3;
/// The Feature Control bits the VGA implements.
const FEATURE_IMPLEMENTED: u8 = FEATURE_FC | FEATURE_VSS;

/// Video Subsystem Enable bit 0: Video Subsystem Enable.
pub const VSE_ENABLE: u8 = 1 << 0;

// ---------------------------------------------------------------------------
// Sequencer registers.

/// Sequencer index: Reset Register.
pub const SEQ_RESET: u8 = 0x00;
/// Sequencer index: Clocking Mode Register.
pub const SEQ_CLOCKING_MODE: u8 = 0x01;
/// Sequencer index: Map Mask Register.
pub const SEQ_MAP_MASK: u8 = 0x02;
/// Sequencer index: Character Map Select Register.
pub const SEQ_CHARACTER_MAP_SELECT: u8 = 0x03;
/// Sequencer index: Memory Mode Register.
pub const SEQ_MEMORY_MODE: u8 = 0x04;
/// Number of sequencer registers.
const SEQ_COUNT: usize = 5;

/// Clocking Mode bit 5: Screen Off.
pub const SEQ_CLOCKING_SCREEN_OFF: u8 = 1 << 5;

/// Bits each sequencer register implements: Reset (ASR, SR), Clocking Mode
/// (bit 1 reserved), Map Mask (planes 3-0), Character Map Select (5-0),
/// Memory Mode (Chain 4, Odd/Even, Extended Memory).
const SEQ_IMPLEMENTED: [u8; SEQ_COUNT] = [0x03, 0x3D, 0x0F, 0x3F, 0x0E];

// ---------------------------------------------------------------------------
// CRT controller registers.

/// CRTC index: Horizontal Total Register.
pub const CRTC_HORIZONTAL_TOTAL: u8 = 0x00;
/// CRTC index: CRTC Overflow Register.
pub const CRTC_OVERFLOW: u8 = 0x07;
/// CRTC index: Maximum Scan Line Register.
pub const CRTC_MAXIMUM_SCAN_LINE: u8 = 0x09;
/// CRTC index: Cursor Start Register.
pub const CRTC_CURSOR_START: u8 = 0x0A;
/// CRTC index: Cursor End Register.
pub const CRTC_CURSOR_END: u8 = 0x0B;
/// CRTC index: Start Address High Register.
pub const CRTC_START_ADDRESS_HIGH: u8 = 0x0C;
/// CRTC index: Start Address Low Register.
pub const CRTC_START_ADDRESS_LOW: u8 = 0x0D;
/// CRTC index: Cursor Location High Register.
pub const CRTC_CURSOR_LOCATION_HIGH: u8 = 0x0E;
/// CRTC index: Cursor Location Low Register.
pub const CRTC_CURSOR_LOCATION_LOW: u8 = 0x0F;
/// CRTC index: Vertical Retrace End Register.
pub const CRTC_VERTICAL_RETRACE_END: u8 = 0x11;
/// CRTC index: Line Compare Register (the last one).
pub const CRTC_LINE_COMPARE: u8 = 0x18;
/// Number of CRTC registers (00h-18h).
const CRTC_COUNT: usize = 0x19;

/// Cursor Start bit 5: Cursor Off.
pub const CURSOR_START_CURSOR_OFF: u8 = 1 << 5;
/// Cursor Start bits 4-0: Row Scan Cursor Begins.
pub const CURSOR_START_ROW_SCAN: u8 = 0x1F;
/// Cursor End bits 6-5: Cursor Skew Control.
pub const CURSOR_END_SKEW: u8 = 0b11 << 5;
/// Cursor End bits 4-0: Row Scan Cursor Ends.
pub const CURSOR_END_ROW_SCAN: u8 = 0x1F;
/// Vertical Retrace End bit 7: Protect R0-R7.
pub const VRE_PROTECT: u8 = 1 << 7;
/// CRTC Overflow bit 4: Line Compare bit 8, writable even when protected.
pub const OVERFLOW_LINE_COMPARE_8: u8 = 1 << 4;
/// Highest CRTC index the Protect bit covers (R0-R7).
const CRTC_LAST_PROTECTED: u8 = 0x07;

/// Bits each CRTC register implements; reserved bits read 0: Preset Row Scan
/// bit 7, Cursor Start bits 7-6, Cursor End bit 7, Underline Location bit 7
/// and CRT Mode Control bit 4.
const CRTC_IMPLEMENTED: [u8; CRTC_COUNT] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // 00h-07h
    0x7F, 0xFF, 0x3F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, // 08h-0Fh
    0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xEF, // 10h-17h
    0xFF, // 18h
];

// ---------------------------------------------------------------------------
// Graphics controller registers.

/// Graphics index: Miscellaneous Register.
pub const GC_MISCELLANEOUS: u8 = 0x06;
/// Number of graphics controller registers (00h-08h).
const GC_COUNT: usize = 9;
/// Graphics Miscellaneous bit 0: Graphics Mode (0 = alphanumeric).
pub const GC_MISC_GRAPHICS_MODE: u8 = 1 << 0;
/// Graphics Miscellaneous bits 3-2: Memory Map (11b = B8000h, 32 KiB).
pub const GC_MISC_MEMORY_MAP: u8 = 0b11 << 2;

/// Bits each graphics register implements: Set/Reset, Enable Set/Reset, Color
/// Compare (3-0), Data Rotate (4-0), Read Map Select (1-0), Graphics Mode (bit
/// 2 reserved), Miscellaneous (3-0), Color Don't Care (3-0), Bit Mask (7-0).
const GC_IMPLEMENTED: [u8; GC_COUNT] = [0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF];

// ---------------------------------------------------------------------------
// Attribute controller registers.

/// Attribute Address bits 4-0: Attribute Address (register index).
pub const ATTR_ADDRESS_INDEX: u8 = 0x1F;
/// Attribute Address bit 5: Palette Address Source (1 = display uses the
/// palette and the host cannot write it; 0 = host loads it, screen blanked).
pub const ATTR_ADDRESS_PAS: u8 = 1 << 5;
/// Attribute index: last palette register.
pub const ATTR_PALETTE_LAST: u8 = 0x0F;
/// Attribute index: Attribute Mode Control Register.
pub const ATTR_MODE_CONTROL: u8 = 0x10;
/// Attribute index: Color Select Register (the last one).
pub const ATTR_COLOR_SELECT: u8 = 0x14;
/// Number of attribute registers (00h-14h).
const ATTR_COUNT: usize = 0x15;
/// Attribute Mode Control bit 0: Graphics/Alphanumeric Mode (1 = graphics).
pub const ATTR_MODE_GRAPHICS: u8 = 1 << 0;

/// Bits each attribute register implements: Palette (5-0), Attribute Mode
/// Control (bit 4 reserved), Overscan Color (7-0), Color Plane Enable (5-0),
/// Horizontal PEL Panning (3-0), Color Select (3-0).
const ATTR_IMPLEMENTED: [u8; ATTR_COUNT] = [
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, // palette 00h-07h
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, // palette 08h-0Fh
    0xEF, 0xFF, 0x3F, 0x0F, 0x0F, // 10h-14h
];

// ---------------------------------------------------------------------------
// Video DAC.

/// DAC State: the DAC is in write mode (last address written was 3C8h).
pub const DAC_STATE_WRITE: u8 = 0b00;
/// DAC State: the DAC is in read mode (last address written was 3C7h).
pub const DAC_STATE_READ: u8 = 0b11;
/// PEL Data: each colour component is 6 bits.
pub const DAC_COMPONENT_MASK: u8 = 0x3F;
/// Number of DAC colour entries.
pub const DAC_ENTRIES: usize = 256;

// ---------------------------------------------------------------------------
// Mode 3 as the BIOS leaves it.

/// Miscellaneous Output after mode 3: colour I/O, RAM on, 28 MHz clock,
/// page bit, 400-line sync polarities.
const MODE3_MISC: u8 = 0x67;
/// Sequencer registers after mode 3.
const MODE3_SEQ: [u8; SEQ_COUNT] = [0x03, 0x00, 0x03, 0x00, 0x02];
/// CRTC registers after mode 3 (cursor on scan lines 13-14, R0-R7 protected).
const MODE3_CRTC: [u8; CRTC_COUNT] = [
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, // 00h-07h
    0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00, // 08h-0Fh
    0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, // 10h-17h
    0xFF, // 18h
];
/// Graphics controller registers after mode 3 (odd/even, map B8000h).
const MODE3_GC: [u8; GC_COUNT] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];
/// Attribute registers after mode 3 (EGA palette, blink, 9-dot line graphics).
const MODE3_ATTR: [u8; ATTR_COUNT] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, // palette 00h-07h
    0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, // palette 08h-0Fh
    0x0C, 0x00, 0x0F, 0x08, 0x00, // 10h-14h
];

/// Input Status 1 in each step of the untimed retrace cycle: active display,
/// horizontal retrace, vertical retrace, horizontal retrace.
const RETRACE_CYCLE: [u8; 4] = [
    0,
    IS1_DISPLAY_DISABLED,
    IS1_DISPLAY_DISABLED | IS1_VERTICAL_RETRACE,
    IS1_DISPLAY_DISABLED,
];

/// The EGA colour a DAC entry 0-63 holds after mode 3: bits 2-0 add 2/3 of
/// red, green, blue and bits 5-3 add 1/3 (6-bit components, 2Ah and 15h).
fn ega_color(index: u8) -> [u8; 3] {
    let level = |hi: u8, lo: u8| {
        let mut v = 0;
        if index & hi != 0 {
            v += 0x2A;
        }
        if index & lo != 0 {
            v += 0x15;
        }
        v
    };
    [
        level(1 << 2, 1 << 5),
        level(1 << 1, 1 << 4),
        level(1 << 0, 1 << 3),
    ]
}

/// A VGA's register file, in text mode.
pub struct VgaText {
    misc_output: u8,
    feature_control: u8,
    video_subsystem_enable: u8,
    seq_index: u8,
    seq: [u8; SEQ_COUNT],
    crtc_index: u8,
    crtc: [u8; CRTC_COUNT],
    gc_index: u8,
    gc: [u8; GC_COUNT],
    /// Attribute Address Register (index and Palette Address Source).
    attr_address: u8,
    attr: [u8; ATTR_COUNT],
    /// False: the next 3C0h write is an address; true: it is data.
    attr_flip_flop: bool,
    /// Step in [`RETRACE_CYCLE`] reported by the next Input Status 1 read.
    retrace_step: u8,
    pel_mask: u8,
    dac_read_index: u8,
    dac_write_index: u8,
    /// Which colour component (0 red, 1 green, 2 blue) the next 3C9h access is.
    dac_component: u8,
    dac_reading: bool,
    /// Components written so far for the entry at `dac_write_index`.
    dac_latch: [u8; 3],
    dac: [[u8; 3]; DAC_ENTRIES],
}

impl Default for VgaText {
    fn default() -> Self {
        Self::new()
    }
}

impl VgaText {
    /// A VGA as the BIOS leaves it after setting mode 3 (80x25 colour text).
    pub fn new() -> Self {
        let mut dac = [[0; 3]; DAC_ENTRIES];
        for (i, entry) in dac.iter_mut().take(64).enumerate() {
            *entry = ega_color(i as u8);
        }
        Self {
            misc_output: MODE3_MISC,
            feature_control: 0,
            video_subsystem_enable: VSE_ENABLE,
            seq_index: 0,
            seq: MODE3_SEQ,
            crtc_index: 0,
            crtc: MODE3_CRTC,
            gc_index: 0,
            gc: MODE3_GC,
            attr_address: ATTR_ADDRESS_PAS,
            attr: MODE3_ATTR,
            attr_flip_flop: false,
            retrace_step: 0,
            pel_mask: 0xFF,
            dac_read_index: 0,
            dac_write_index: 0,
            dac_component: 0,
            dac_reading: false,
            dac_latch: [0; 3],
            dac,
        }
    }

    fn color_io(&self) -> bool {
        self.misc_output & MISC_IO_ADDRESS_SELECT != 0
    }

    /// The offset within the 3Bxh/3Dxh block if `port` is in the block the
    /// Miscellaneous Output I/O Address Select bit currently enables.
    fn crt_block(&self, port: u16) -> Option<u16> {
        let enabled_base = if self.color_io() { 0x3D0 } else { 0x3B0 };
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

    fn input_status_1(&mut self) -> u8 {
        self.attr_flip_flop = false;
        let step = usize::from(self.retrace_step & 3);
        self.retrace_step = self.retrace_step.wrapping_add(1) & 3;
        RETRACE_CYCLE.get(step).copied().unwrap_or(0)
    }

    fn crtc_write(&mut self, value: u8) {
        let index = self.crtc_index;
        let protected = self.crtc_reg(CRTC_VERTICAL_RETRACE_END) & VRE_PROTECT != 0;
        let value = match index {
            // Protect R0-R7 leaves only Line Compare bit 8 of the Overflow writable.
            CRTC_OVERFLOW if protected => {
                let kept = self.crtc_reg(CRTC_OVERFLOW) & !OVERFLOW_LINE_COMPARE_8;
                kept | (value & OVERFLOW_LINE_COMPARE_8)
            }
            0..=CRTC_LAST_PROTECTED if protected => return,
            _ => value,
        };
        store(&mut self.crtc, &CRTC_IMPLEMENTED, index, value);
    }

    fn attr_index(&self) -> u8 {
        self.attr_address & ATTR_ADDRESS_INDEX
    }

    fn attr_data(&self) -> u8 {
        indexed(&self.attr, self.attr_index())
    }

    fn attr_write(&mut self, value: u8) {
        if !self.attr_flip_flop {
            self.attr_address = value & (ATTR_ADDRESS_INDEX | ATTR_ADDRESS_PAS);
        } else {
            let index = self.attr_index();
            // While the display owns the palette (PAS = 1) the host cannot load it.
            let palette_locked = self.attr_address & ATTR_ADDRESS_PAS != 0;
            if !(palette_locked && index <= ATTR_PALETTE_LAST) {
                store(&mut self.attr, &ATTR_IMPLEMENTED, index, value);
            }
        }
        self.attr_flip_flop = !self.attr_flip_flop;
    }

    fn dac_step(&mut self) -> bool {
        self.dac_component = self.dac_component.wrapping_add(1);
        if self.dac_component >= 3 {
            self.dac_component = 0;
            true
        } else {
            false
        }
    }

    fn dac_data_read(&mut self) -> u8 {
        let entry = self.dac_color(self.dac_read_index);
        let value = entry
            .get(usize::from(self.dac_component))
            .copied()
            .unwrap_or(0);
        if self.dac_step() {
            self.dac_read_index = self.dac_read_index.wrapping_add(1);
        }
        value
    }

    fn dac_data_write(&mut self, value: u8) {
        if let Some(slot) = self.dac_latch.get_mut(usize::from(self.dac_component)) {
            *slot = value & DAC_COMPONENT_MASK;
        }
        if self.dac_step() {
            let latch = self.dac_latch;
            if let Some(entry) = self.dac.get_mut(usize::from(self.dac_write_index)) {
                *entry = latch;
            }
            self.dac_write_index = self.dac_write_index.wrapping_add(1);
        }
    }

    fn crtc_reg(&self, index: u8) -> u8 {
        indexed(&self.crtc, index)
    }

    /// The value of CRTC register `index` (00h-18h), or None past the last one.
    pub fn crtc_register(&self, index: u8) -> Option<u8> {
        self.crtc.get(usize::from(index)).copied()
    }

    /// The CRTC Start Address (High:Low), in character cells.
    pub fn start_address(&self) -> u16 {
        u16::from_be_bytes([
            self.crtc_reg(CRTC_START_ADDRESS_HIGH),
            self.crtc_reg(CRTC_START_ADDRESS_LOW),
        ])
    }

    /// The CRTC Cursor Location (High:Low), in character cells.
    pub fn cursor_location(&self) -> u16 {
        u16::from_be_bytes([
            self.crtc_reg(CRTC_CURSOR_LOCATION_HIGH),
            self.crtc_reg(CRTC_CURSOR_LOCATION_LOW),
        ])
    }

    /// The cursor's first and last scan lines within the character cell.
    pub fn cursor_scanlines(&self) -> (u8, u8) {
        (
            self.crtc_reg(CRTC_CURSOR_START) & CURSOR_START_ROW_SCAN,
            self.crtc_reg(CRTC_CURSOR_END) & CURSOR_END_ROW_SCAN,
        )
    }

    /// The cursor as (column, row) on the 80x25 screen, or None when Cursor
    /// Off is set, when Row Scan Cursor Begins is past Row Scan Cursor Ends
    /// (the VGA then shows no cursor), or when the Cursor Location lies
    /// outside the 2000 cells that follow the Start Address.
    pub fn cursor(&self) -> Option<(u16, u16)> {
        if self.crtc_reg(CRTC_CURSOR_START) & CURSOR_START_CURSOR_OFF != 0 {
            return None;
        }
        let (first, last) = self.cursor_scanlines();
        if first > last {
            return None;
        }
        let cell = self.cursor_location().wrapping_sub(self.start_address());
        let columns = COLUMNS as u16;
        (usize::from(cell) < COLUMNS * ROWS).then(|| (cell % columns, cell / columns))
    }

    /// True when the attribute and graphics controllers are in alphanumeric
    /// (text) mode.
    pub fn text_mode(&self) -> bool {
        indexed(&self.attr, ATTR_MODE_CONTROL) & ATTR_MODE_GRAPHICS == 0
            && indexed(&self.gc, GC_MISCELLANEOUS) & GC_MISC_GRAPHICS_MODE == 0
    }

    /// True when the screen shows anything: Palette Address Source is 1 and
    /// the sequencer's Screen Off bit is clear.
    pub fn display_enabled(&self) -> bool {
        self.attr_address & ATTR_ADDRESS_PAS != 0
            && indexed(&self.seq, SEQ_CLOCKING_MODE) & SEQ_CLOCKING_SCREEN_OFF == 0
    }

    /// Guest-physical base of the display memory window the Graphics
    /// Miscellaneous Memory Map field selects (A0000h, A0000h, B0000h, B8000h).
    pub fn memory_map_base(&self) -> u64 {
        match (indexed(&self.gc, GC_MISCELLANEOUS) & GC_MISC_MEMORY_MAP) >> 2 {
            0b00 | 0b01 => 0xA0000,
            0b10 => 0xB0000,
            _ => TEXT_PAGE_ADDR,
        }
    }

    /// DAC entry `index` as 6-bit (red, green, blue).
    pub fn dac_color(&self, index: u8) -> [u8; 3] {
        self.dac.get(usize::from(index)).copied().unwrap_or([0; 3])
    }
}

/// Register `index` of `regs`, or FFh for an index that names no register.
fn indexed(regs: &[u8], index: u8) -> u8 {
    regs.get(usize::from(index)).copied().unwrap_or(0xFF)
}

/// Stores the implemented bits of `value` in register `index`, if it exists.
fn store(regs: &mut [u8], implemented: &[u8], index: u8, value: u8) {
    let i = usize::from(index);
    if let (Some(reg), Some(mask)) = (regs.get_mut(i), implemented.get(i)) {
        *reg = value & mask;
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

// ---------------------------------------------------------------------------
// Text rendering.

/// Code page 437 glyphs for 01h-1Fh, as the VGA's ROM font draws them.
const CP437_CONTROL: [char; 32] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼', //
    '►', '◄', '↕', '‼', '¶', '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼', //
];

/// Code page 437 glyphs for 80h-FFh.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{A0}',
];

/// The Unicode character the VGA shows for code page 437 byte `byte`; 00h
/// (an empty cell) is a space.
pub fn cp437_to_char(byte: u8) -> char {
    match byte {
        0x00..=0x1F => CP437_CONTROL.get(usize::from(byte)).copied().unwrap_or(' '),
        0x20..=0x7E => char::from(byte),
        0x7F => '⌂',
        _ => CP437_HIGH
            .get(usize::from(byte - 0x80))
            .copied()
            .unwrap_or(' '),
    }
}

/// The 25 rows of an 80x25 text page as Unicode, trailing spaces trimmed.
///
/// `page` is guest memory from [`TEXT_PAGE_ADDR`] on (normally 32 KiB); each
/// cell is a (character, attribute) byte pair and attributes are ignored. The
/// screen starts at cell `start_address` (the CRTC Start Address) and wraps
/// within the 32 KiB window; cells beyond the end of a short `page` are spaces.
pub fn render_lines(page: &[u8], start_address: u16) -> Vec<String> {
    let start = usize::from(start_address) * 2;
    (0..ROWS)
        .map(|row| {
            let mut line: String = (0..COLUMNS)
                .map(|col| {
                    let offset = (start + (row * COLUMNS + col) * 2) % TEXT_PAGE_SIZE;
                    page.get(offset).map_or(' ', |&b| cp437_to_char(b))
                })
                .collect();
            line.truncate(line.trim_end_matches(' ').len());
            line
        })
        .collect()
}

/// The text page as one string: [`render_lines`] joined with '\n'.
pub fn screen_text(page: &[u8], start_address: u16) -> String {
    render_lines(page, start_address).join("\n")
}

/// Mirrors rendered screens to an ANSI terminal, sending only changed rows.
#[derive(Default)]
pub struct ScreenMirror {
    last: Vec<String>,
}

impl ScreenMirror {
    /// A mirror that has shown nothing yet: the first update redraws every row.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what the terminal shows, so the next update redraws every row.
    pub fn invalidate(&mut self) {
        self.last.clear();
    }

    /// The ANSI output that brings the terminal from the last screen to
    /// `lines`, or None when nothing changed. The output homes the cursor
    /// (`ESC [H`), then for each changed row moves to it (`ESC [row;1H`),
    /// writes it and erases the rest of the line (`ESC [K`); rows that no
    /// longer exist are erased. Control characters in `lines` become spaces,
    /// so a line can never carry an escape sequence of its own.
    pub fn update(&mut self, lines: &[String]) -> Option<String> {
        if self.last.as_slice() == lines {
            return None;
        }
        let mut out = String::from("\x1b[H");
        let rows = lines.len().max(self.last.len());
        for row in 0..rows {
            let new = lines.get(row);
            if new == self.last.get(row) {
                continue;
            }
            let _ = write!(out, "\x1b[{};1H", row.saturating_add(1));
            if let Some(text) = new {
                out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
            }
            out.push_str("\x1b[K");
        }
        self.last = lines.to_vec();
        Some(out)
    }
}

#[cfg(test)]
mod tests;
