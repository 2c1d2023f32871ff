//! The ATA command opcodes (ATA/ATAPI-6 clause 8) a host writes to the
//! Command register, the SET FEATURES subcommands and transfer mode values,
//! and the CHECK POWER MODE result. Both the disk command set (`commands`) and
//! the PACKET device's (`packet`) decode them.

// Commands (ATA-6 clause 8).
/// Commands 1xh (RECALIBRATE) and 7xh (SEEK) ignore their low nibble.
pub(super) const CMD_FAMILY_MASK: u8 = 0xF0;
/// DEVICE RESET (PACKET devices only).
pub(super) const CMD_DEVICE_RESET: u8 = 0x08;
/// RECALIBRATE (0x10-0x1F).
pub(super) const CMD_RECALIBRATE: u8 = 0x10;
/// READ SECTORS.
pub(super) const CMD_READ_SECTORS: u8 = 0x20;
/// READ SECTORS without retries.
pub(super) const CMD_READ_SECTORS_NR: u8 = 0x21;
/// READ SECTORS EXT.
pub(super) const CMD_READ_SECTORS_EXT: u8 = 0x24;
/// READ DMA EXT.
pub(super) const CMD_READ_DMA_EXT: u8 = 0x25;
/// READ MULTIPLE EXT.
pub(super) const CMD_READ_MULTIPLE_EXT: u8 = 0x29;
/// WRITE SECTORS.
pub(super) const CMD_WRITE_SECTORS: u8 = 0x30;
/// WRITE SECTORS without retries.
pub(super) const CMD_WRITE_SECTORS_NR: u8 = 0x31;
/// WRITE SECTORS EXT.
pub(super) const CMD_WRITE_SECTORS_EXT: u8 = 0x34;
/// WRITE DMA EXT.
pub(super) const CMD_WRITE_DMA_EXT: u8 = 0x35;
/// WRITE MULTIPLE EXT.
pub(super) const CMD_WRITE_MULTIPLE_EXT: u8 = 0x39;
/// READ VERIFY SECTORS.
pub(super) const CMD_READ_VERIFY: u8 = 0x40;
/// READ VERIFY SECTORS without retries.
pub(super) const CMD_READ_VERIFY_NR: u8 = 0x41;
/// READ VERIFY SECTORS EXT.
pub(super) const CMD_READ_VERIFY_EXT: u8 = 0x42;
/// SEEK (0x70-0x7F).
pub(super) const CMD_SEEK: u8 = 0x70;
/// EXECUTE DEVICE DIAGNOSTIC.
pub(super) const CMD_EXECUTE_DIAGNOSTIC: u8 = 0x90;
/// INITIALIZE DEVICE PARAMETERS.
pub(super) const CMD_INITIALIZE_PARAMS: u8 = 0x91;
/// PACKET.
pub(super) const CMD_PACKET: u8 = 0xA0;
/// IDENTIFY PACKET DEVICE.
pub(super) const CMD_IDENTIFY_PACKET: u8 = 0xA1;
/// READ MULTIPLE.
pub(super) const CMD_READ_MULTIPLE: u8 = 0xC4;
/// WRITE MULTIPLE.
pub(super) const CMD_WRITE_MULTIPLE: u8 = 0xC5;
/// SET MULTIPLE MODE.
pub(super) const CMD_SET_MULTIPLE: u8 = 0xC6;
/// READ DMA.
pub(super) const CMD_READ_DMA: u8 = 0xC8;
/// READ DMA without retries.
pub(super) const CMD_READ_DMA_NR: u8 = 0xC9;
/// WRITE DMA.
pub(super) const CMD_WRITE_DMA: u8 = 0xCA;
/// WRITE DMA without retries.
pub(super) const CMD_WRITE_DMA_NR: u8 = 0xCB;
/// STANDBY IMMEDIATE.
pub(super) const CMD_STANDBY_IMMEDIATE: u8 = 0xE0;
/// IDLE IMMEDIATE.
pub(super) const CMD_IDLE_IMMEDIATE: u8 = 0xE1;
/// CHECK POWER MODE.
pub(super) const CMD_CHECK_POWER_MODE: u8 = 0xE5;
/// FLUSH CACHE.
pub(super) const CMD_FLUSH_CACHE: u8 = 0xE7;
/// FLUSH CACHE EXT.
pub(super) const CMD_FLUSH_CACHE_EXT: u8 = 0xEA;
/// IDENTIFY DEVICE.
pub(super) const CMD_IDENTIFY: u8 = 0xEC;
/// SET FEATURES.
pub(super) const CMD_SET_FEATURES: u8 = 0xEF;

/// SET FEATURES subcommand: enable write cache.
pub(super) const FEATURE_ENABLE_WRITE_CACHE: u8 = 0x02;
/// SET FEATURES subcommand: set transfer mode from the Sector Count register.
pub(super) const FEATURE_SET_TRANSFER_MODE: u8 = 0x03;
/// SET FEATURES subcommand: disable write cache.
pub(super) const FEATURE_DISABLE_WRITE_CACHE: u8 = 0x82;
/// Transfer mode value bits 2:0: the mode number.
pub(super) const XFER_MODE_MASK: u8 = 0x07;
/// Transfer mode value bits 7:3: PIO flow control mode (mode in bits 2:0).
pub(super) const XFER_PIO_FLOW: u8 = 0x08;
/// Transfer mode value bits 7:3: multiword DMA mode.
pub(super) const XFER_MWDMA: u8 = 0x20;
/// Transfer mode value bits 7:3: Ultra DMA mode.
pub(super) const XFER_UDMA: u8 = 0x40;
/// CHECK POWER MODE result: active or idle.
pub(super) const POWER_MODE_ACTIVE: u8 = 0xFF;
