//! The Sequencer Registers (Address 3C4h, Data 3C5h): Reset, Clocking Mode,
//! Map Mask, Character Map Select and Memory Mode.

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
pub(super) const SEQ_COUNT: usize = 5;

/// Clocking Mode bit 5: Screen Off.
pub const SEQ_CLOCKING_SCREEN_OFF: u8 = 1 << 5;

/// Bits each sequencer register implements: Reset (ASR, SR), Clocking Mode
/// (bit 1 reserved), Map Mask (planes 3-0), Character Map Select (5-0),
/// Memory Mode (Chain 4, Odd/Even, Extended Memory).
pub(super) const SEQ_IMPLEMENTED: [u8; SEQ_COUNT] = [0x03, 0x3D, 0x0F, 0x3F, 0x0E];
