//! The video part of the BIOS data area (segment 0040h, linear 400h-4FFh),
//! as the IBM PC/AT Technical Reference (BIOS listing, "VIDEO DISPLAY DATA
//! AREA") and the IBM VGA BIOS (EGA/VGA additions at 484h-48Ah) lay it out.
//!
//! Every constant is a real-mode linear address. Guests read these bytes
//! directly (DOS reads the mode, the columns and the cursor of the active
//! page), so the BIOS keeps them in step with what INT 10h reports.

/// Equipment list word (the system BIOS owns it; the video BIOS sets only
/// [`EQUIPMENT_VIDEO_MASK`]).
pub const EQUIPMENT: u32 = 0x410;
/// Equipment bits 5-4: initial video mode.
pub const EQUIPMENT_VIDEO_MASK: u16 = 0b11 << 4;
/// Equipment bits 5-4 = 10b: 80x25 colour.
pub const EQUIPMENT_VIDEO_80X25_COLOR: u16 = 0b10 << 4;

/// Byte: current video mode (CRT_MODE).
pub const VIDEO_MODE: u32 = 0x449;
/// Word: characters per row (CRT_COLS).
pub const COLUMNS: u32 = 0x44A;
/// Word: bytes per display page (CRT_LEN).
pub const PAGE_SIZE: u32 = 0x44C;
/// Word: offset of the active page in the video segment (CRT_START).
pub const PAGE_OFFSET: u32 = 0x44E;
/// Eight words, one per page: cursor position, low byte column, high byte
/// row (CURSOR_POSN).
pub const CURSOR_POSITIONS: u32 = 0x450;
/// Word: cursor shape, low byte end scan line, high byte start scan line
/// (CURSOR_MODE).
pub const CURSOR_SHAPE: u32 = 0x460;
/// Byte: active display page (ACTIVE_PAGE).
pub const ACTIVE_PAGE: u32 = 0x462;
/// Word: CRT controller address port, 3D4h colour or 3B4h mono (ADDR_6845).
pub const CRTC_BASE: u32 = 0x463;
/// Byte: the CGA Mode Select register value of the mode (CRT_MODE_SET).
pub const CRT_MODE_CONTROL: u32 = 0x465;
/// Byte: the CGA Color Select register value (CRT_PALETTE).
pub const CGA_PALETTE: u32 = 0x466;
/// Byte: rows on the screen minus one (EGA/VGA ROWS).
pub const ROWS_MINUS_1: u32 = 0x484;
/// Word: character height in scan lines (EGA/VGA POINTS).
pub const CHAR_HEIGHT: u32 = 0x485;
/// Byte: video control (EGA/VGA INFO), see the `VIDEO_CONTROL_*` bits.
pub const VIDEO_CONTROL: u32 = 0x487;
/// Byte: feature bits and EGA configuration switches (EGA/VGA INFO_3).
pub const SWITCHES: u32 = 0x488;
/// Byte: VGA mode-set options (VGA flags), see the `MODESET_*` bits.
pub const MODESET_CONTROL: u32 = 0x489;

/// Video control bit 0: alphanumeric cursor emulation disabled.
pub const VIDEO_CONTROL_NO_CURSOR_EMULATION: u8 = 1 << 0;
/// Video control bits 6-5: video memory size (11b = 256 KiB).
pub const VIDEO_CONTROL_MEMORY_256K: u8 = 0b11 << 5;
/// Video control bit 7: the last mode set kept display memory (AL bit 7).
pub const VIDEO_CONTROL_NO_CLEAR: u8 = 1 << 7;

/// Switches bits 3-0: the EGA configuration switch setting.
pub const SWITCHES_SETTING: u8 = 0x0F;
/// Switches bits 3-0 = 1001b: EGA/VGA is the primary display, colour 80x25.
pub const SWITCHES_PRIMARY_COLOR_80X25: u8 = 0x09;

/// Mode-set options bit 0: the VGA is active.
pub const MODESET_VGA_ACTIVE: u8 = 1 << 0;
/// Mode-set options bit 1: gray-scale summing on.
pub const MODESET_GRAY_SUMMING: u8 = 1 << 1;
/// Mode-set options bit 3: default palette loading disabled.
pub const MODESET_NO_PALETTE_LOADING: u8 = 1 << 3;
/// Mode-set options bits 7 and 4 = 01b: 400 scan lines in text modes.
pub const MODESET_400_LINES: u8 = 1 << 4;
