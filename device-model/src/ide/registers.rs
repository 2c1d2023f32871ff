//! The task file (ATA/ATAPI-6 clause 7): the Command Block register offsets,
//! the bits of the Status, Error, Device, Device Control and ATAPI Interrupt
//! Reason registers and of the PACKET Features, and each device's copy of the
//! registers with the two-deep FIFO that 48-bit addressing reads through HOB.

// Command Block register offsets (ATA-6 clause 7).
/// Data register (16-bit; 32-bit accesses move two words).
pub(super) const REG_DATA: u16 = 0;
/// Error (read) / Features (write).
pub(super) const REG_ERROR_FEATURES: u16 = 1;
/// Sector Count; ATAPI Interrupt Reason when read during PACKET.
pub(super) const REG_SECTOR_COUNT: u16 = 2;
/// LBA Low (Sector Number in CHS).
pub(super) const REG_LBA_LOW: u16 = 3;
/// LBA Mid (Cylinder Low; ATAPI Byte Count low).
pub(super) const REG_LBA_MID: u16 = 4;
/// LBA High (Cylinder High; ATAPI Byte Count high).
pub(super) const REG_LBA_HIGH: u16 = 5;
/// Device (Device/Head).
pub(super) const REG_DEVICE: u16 = 6;
/// Status (read) / Command (write).
pub(super) const REG_STATUS_COMMAND: u16 = 7;

/// Status bit 7: BSY, the device is busy.
pub const STATUS_BSY: u8 = 1 << 7;
/// Status bit 6: DRDY, the device is ready to accept commands.
pub const STATUS_DRDY: u8 = 1 << 6;
/// Status bit 5: DF, device fault.
pub const STATUS_DF: u8 = 1 << 5;
/// Status bit 4: DSC, device seek complete (SERV on PACKET devices).
pub const STATUS_DSC: u8 = 1 << 4;
/// Status bit 3: DRQ, the device is ready to transfer a data word.
pub const STATUS_DRQ: u8 = 1 << 3;
/// Status bit 2: CORR, corrected data (obsolete).
pub const STATUS_CORR: u8 = 1 << 2;
/// Status bit 1: IDX, index (obsolete).
pub const STATUS_IDX: u8 = 1 << 1;
/// Status bit 0: ERR, the Error register holds the reason the command failed.
pub const STATUS_ERR: u8 = 1 << 0;

/// Error bit 7: ICRC, interface CRC error (formerly BBK, bad block).
pub const ERROR_ICRC: u8 = 1 << 7;
/// Error bit 6: UNC, uncorrectable data error.
pub const ERROR_UNC: u8 = 1 << 6;
/// Error bit 5: MC, media changed.
pub const ERROR_MC: u8 = 1 << 5;
/// Error bit 4: IDNF, the requested address was not found (out of range).
pub const ERROR_IDNF: u8 = 1 << 4;
/// Error bit 3: MCR, media change requested.
pub const ERROR_MCR: u8 = 1 << 3;
/// Error bit 2: ABRT, the command was aborted (unsupported or invalid).
pub const ERROR_ABRT: u8 = 1 << 2;
/// Error bit 1: NM, no media (TK0NF on RECALIBRATE in older standards).
pub const ERROR_NM: u8 = 1 << 1;
/// Error bit 0: AMNF, address mark not found (obsolete).
pub const ERROR_AMNF: u8 = 1 << 0;
/// Error bits 7:4 of a PACKET device: the SCSI sense key.
pub(super) const ERROR_SENSE_KEY_SHIFT: u8 = 4;
/// A SCSI sense key is four bits.
pub(super) const SENSE_KEY_MASK: u8 = 0x0F;
/// Diagnostic code in the Error register: device passed (and device 1 too).
pub(super) const DIAGNOSTIC_PASSED: u8 = 0x01;

/// Device bit 4: DEV, selects device 1 (slave).
pub const DEVICE_DEV: u8 = 1 << 4;
/// Device bit 6: LBA, the address is an LBA rather than CHS.
pub const DEVICE_LBA: u8 = 1 << 6;
/// Device bits 3:0: head number (CHS) or LBA bits 27:24.
pub(super) const DEVICE_HEAD_MASK: u8 = 0x0F;

/// Device Control bit 1: nIEN, disables INTRQ while set.
pub const DEVCTL_NIEN: u8 = 1 << 1;
/// Device Control bit 2: SRST, software reset of both devices while set.
pub const DEVCTL_SRST: u8 = 1 << 2;
/// Device Control bit 7: HOB, reads return the previous ("high order") bytes.
pub const DEVCTL_HOB: u8 = 1 << 7;

/// ATAPI Interrupt Reason bit 0: CoD, command packet (1) or data (0).
pub const IREASON_COD: u8 = 1 << 0;
/// ATAPI Interrupt Reason bit 1: IO, transfer towards the host.
pub const IREASON_IO: u8 = 1 << 1;
/// ATAPI Interrupt Reason bit 2: REL, bus released (overlap; never set here).
pub const IREASON_REL: u8 = 1 << 2;

/// PACKET Features bit 0: DMA, the data phase uses DMA.
pub const FEATURES_DMA: u8 = 1 << 0;
/// PACKET Features bit 1: OVL, overlapped command (not supported: ABRT).
pub const FEATURES_OVL: u8 = 1 << 1;

/// A Command Block register with the two-deep FIFO of 48-bit addressing:
/// `cur` is the last value written, `prev` the one before (read with HOB set).
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct Fifo2 {
    pub(super) cur: u8,
    pub(super) prev: u8,
}

impl Fifo2 {
    pub(super) fn push(&mut self, value: u8) {
        self.prev = self.cur;
        self.cur = value;
    }

    pub(super) fn read(&self, hob: bool) -> u8 {
        if hob {
            self.prev
        } else {
            self.cur
        }
    }
}

/// One device's copy of the task file (the host writes both devices' copies).
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct TaskFile {
    pub(super) features: Fifo2,
    pub(super) sector_count: Fifo2,
    pub(super) lba_low: Fifo2,
    pub(super) lba_mid: Fifo2,
    pub(super) lba_high: Fifo2,
    pub(super) error: u8,
    pub(super) status: u8,
}
