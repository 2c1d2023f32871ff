//! The general registers: Miscellaneous Output, Input Status 0 and 1,
//! Feature Control and Video Subsystem Enable. Input Status 1 is not timed:
//! each read steps through an untimed retrace cycle.

use super::VgaText;

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
pub(super) const MISC_IMPLEMENTED: u8 = MISC_IO_ADDRESS_SELECT
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
pub(super) const FEATURE_IMPLEMENTED: u8 = FEATURE_FC | FEATURE_VSS;

/// Video Subsystem Enable bit 0: Video Subsystem Enable.
pub const VSE_ENABLE: u8 = 1 << 0;

/// Input Status 1 in each step of the untimed retrace cycle: active display,
/// horizontal retrace, vertical retrace, horizontal retrace.
const RETRACE_CYCLE: [u8; 4] = [
    0,
    IS1_DISPLAY_DISABLED,
    IS1_DISPLAY_DISABLED | IS1_VERTICAL_RETRACE,
    IS1_DISPLAY_DISABLED,
];

impl VgaText {
    /// Reads Input Status 1: the next step of the retrace cycle; the read also
    /// resets the attribute controller's address/data flip-flop.
    pub(super) fn input_status_1(&mut self) -> u8 {
        self.attr_flip_flop = false;
        let step = usize::from(self.retrace_step & 3);
        self.retrace_step = self.retrace_step.wrapping_add(1) & 3;
        RETRACE_CYCLE.get(step).copied().unwrap_or(0)
    }
}
