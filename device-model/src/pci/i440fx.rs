//! Device 00.0 of bus 0: the Intel 82441FX PCI and Memory Controller (PMC)
//! host bridge, 8086:1237, with IDs and register defaults from the 82441FX
//! datasheet (PCICMD, PCISTS, PAM0-PAM6, SMRAM). Intel's vendor ID, which the
//! PIIX3 functions share, is defined here too.

use super::config_space::{
    ConfigSpace, COMMAND, COMMAND_BUS_MASTER, COMMAND_MEMORY_SPACE, COMMAND_PARITY_ERROR_RESPONSE,
    COMMAND_SERR_ENABLE, STATUS, STATUS_DEVSEL_MEDIUM, STATUS_FAST_BACK_TO_BACK, STATUS_W1C,
};

// ---------------------------------------------------------------------------
// 82441FX PMC, function 00.0
// ---------------------------------------------------------------------------

/// Intel's PCI vendor ID.
pub const VENDOR_INTEL: u16 = 0x8086;
/// 82441FX PMC device ID.
pub const DEVICE_ID_82441FX: u16 = 0x1237;
/// 82441FX revision ID (the stepping PCs with this chipset commonly report).
const REVISION_82441FX: u8 = 0x02;
/// Class code 06/00/00: bridge, host bridge.
pub const CLASS_HOST_BRIDGE: u32 = 0x06_00_00;

/// PMC PAM0 (59h): Programmable Attribute Map for F0000h-FFFFFh (bits 5:4).
pub const PMC_PAM0: u8 = 0x59;
/// Number of PAM registers (PAM0-PAM6 at 59h-5Fh).
pub const PMC_PAM_COUNT: u8 = 7;
/// PAM bit 0 (and 4 for the high segment): RE, read enable to DRAM.
pub const PAM_RE: u8 = 1 << 0;
/// PAM bit 1 (and 5 for the high segment): WE, write enable to DRAM.
pub const PAM_WE: u8 = 1 << 1;
/// PAM0's writable bits: only the high nibble's RE/WE (low nibble reserved).
const PAM0_WRITABLE: u8 = (PAM_RE | PAM_WE) << 4;
/// PAM1-PAM6's writable bits: RE/WE of both segments.
const PAM_WRITABLE: u8 = PAM_RE | PAM_WE | ((PAM_RE | PAM_WE) << 4);
/// PMC SMRAM (72h): System Management RAM control.
pub const PMC_SMRAM: u8 = 0x72;
/// SMRAM default: C_BASE_SEG (bits 2:0) = 010b, SMRAM at A0000h.
const SMRAM_DEFAULT: u8 = 0x02;
/// SMRAM bits 6:3 (D_OPEN, D_CLS, D_LCK, G_SMRAME): writable.
const SMRAM_WRITABLE: u8 = 0x78;

/// The 82441FX PMC's configuration space (device 00.0): PCICMD reads 0006h
/// with Memory Access Enable and Bus Master Enable hardwired on (Parity
/// Error Response and SERR# Enable writable), PCISTS 0280h, PAM0-PAM6 and
/// SMRAM writable with their defaults. No BARs, no interrupt pin.
pub fn i440fx_host_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(
        VENDOR_INTEL,
        DEVICE_ID_82441FX,
        REVISION_82441FX,
        CLASS_HOST_BRIDGE,
    );
    cs.define_register(
        COMMAND,
        2,
        u32::from(COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER),
        u32::from(COMMAND_PARITY_ERROR_RESPONSE | COMMAND_SERR_ENABLE),
    );
    cs.define_register(
        STATUS,
        2,
        u32::from(STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK_TO_BACK),
        0,
    );
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    for i in 0..PMC_PAM_COUNT {
        let mask = if i == 0 { PAM0_WRITABLE } else { PAM_WRITABLE };
        cs.define_register(PMC_PAM0 + i, 1, 0, u32::from(mask));
    }
    cs.define_register(
        PMC_SMRAM,
        1,
        u32::from(SMRAM_DEFAULT),
        u32::from(SMRAM_WRITABLE),
    );
    cs
}
