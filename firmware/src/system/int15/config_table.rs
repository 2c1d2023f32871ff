//! The system configuration parameters table AH=C0h points at: where it is
//! in the ROM and what it says about this machine (an AT-class model with a
//! second 8259, an RTC and an EBDA).

/// Where the configuration table lives: F000:E6F5, IBM's address. The ROM
/// image must hold [`SYSTEM_CONFIG_TABLE`] there.
pub const SYSTEM_CONFIG_SEGMENT: u16 = crate::rom::ROM_SEGMENT;
/// Offset of the configuration table in the ROM segment.
pub const SYSTEM_CONFIG_OFFSET: u16 = 0xE6F5;
/// Linear address of the configuration table.
pub const SYSTEM_CONFIG_ADDR: u32 = 0xF_E6F5;
const _: () = assert!(
    SYSTEM_CONFIG_ADDR == ((SYSTEM_CONFIG_SEGMENT as u32) << 4) + SYSTEM_CONFIG_OFFSET as u32
);

/// Model byte FCh: PC/AT (as at F000:FFFE).
const MODEL_AT: u8 = 0xFC;
/// Submodel 01h: the AT's later BIOS.
const SUBMODEL: u8 = 0x01;
/// BIOS revision level.
const BIOS_REVISION: u8 = 0x00;
/// Feature byte 1 bit 2: an extended BIOS data area is allocated (AH=C1h).
const FEATURE1_EBDA: u8 = 1 << 2;
/// Feature byte 1 bit 4: INT 09h calls INT 15h/4Fh (not set here).
#[allow(dead_code)]
pub(super) const FEATURE1_KBD_INTERCEPT: u8 = 1 << 4;
/// Feature byte 1 bit 5: real-time clock installed.
const FEATURE1_RTC: u8 = 1 << 5;
/// Feature byte 1 bit 6: second 8259 installed.
const FEATURE1_SECOND_PIC: u8 = 1 << 6;
/// Bytes of the table after its length word.
const SYSTEM_CONFIG_LEN: u8 = 8;

/// The table AH=C0h points at: length word (8), model, submodel, BIOS
/// revision, feature bytes 1-5.
pub const SYSTEM_CONFIG_TABLE: [u8; 2 + SYSTEM_CONFIG_LEN as usize] = [
    SYSTEM_CONFIG_LEN,
    0,
    MODEL_AT,
    SUBMODEL,
    BIOS_REVISION,
    FEATURE1_SECOND_PIC | FEATURE1_RTC | FEATURE1_EBDA,
    0,
    0,
    0,
    0,
];
