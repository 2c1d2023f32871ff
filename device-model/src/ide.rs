//! IDE/ATA controller: two channels of two devices each, PIO and bus-master DMA.
//!
//! Implements, from ATA/ATAPI-6 (T13/1410D revision 3b):
//! - clause 7 "Register descriptions": the Command Block (Data, Error/Features,
//!   Sector Count, LBA Low/Mid/High, Device, Status/Command) and the Control Block
//!   (Alternate Status/Device Control with nIEN, SRST and HOB), including the
//!   two-deep register FIFO that HOB selects for 48-bit addressing;
//! - clause 8 "Command descriptions": DEVICE RESET, EXECUTE DEVICE DIAGNOSTIC,
//!   FLUSH CACHE (EXT), IDENTIFY DEVICE (table 27), IDENTIFY PACKET DEVICE,
//!   INITIALIZE DEVICE PARAMETERS, PACKET, READ/WRITE DMA (EXT), READ/WRITE
//!   MULTIPLE (EXT), READ/WRITE SECTORS (EXT), READ VERIFY SECTORS (EXT),
//!   RECALIBRATE, SEEK, SET FEATURES (transfer mode, write cache), SET MULTIPLE
//!   MODE, IDLE/STANDBY IMMEDIATE and CHECK POWER MODE;
//! - clause 9 "Protocol": power-on/software reset and the device signatures,
//!   non-data, PIO data-in, PIO data-out, DMA, PACKET and EXECUTE DEVICE
//!   DIAGNOSTIC command protocols, and the interrupt (INTRQ) rules: INTRQ is
//!   asserted at each PIO data-in block, after each PIO data-out block, at command
//!   completion, and is cleared by reading Status or writing Command.
//!
//! and from SFF-8038i rev 1.0 "Bus Master Programming Interface for IDE ATA
//! Controllers": the Bus Master IDE Command register (Start/Stop, Read/Write
//! Control), Status register (Active, Error, Interrupt, Drive 0/1 DMA capable,
//! Simplex), the Descriptor Table Pointer register, and Physical Region
//! Descriptor tables (32-bit address, 16-bit byte count with 0 = 64 KiB, EOT).
//!
//! Hard disks are emulated here over a [`BlockBackend`]; CD-ROMs are ATAPI
//! devices whose packet commands [`crate::atapi::AtapiDrive`] executes, while this
//! module runs the PACKET protocol around them (command packet, byte count limit,
//! interrupt reason, DMA).
//!
//! Choices where the standards leave room:
//! - Commands complete instantly: BSY is only ever seen while SRST is held.
//! - A channel with no device at all floats: every register reads all ones
//!   (0xFF; Linux's `ata_check_ready` reads that as "no device"). With one device
//!   present, selecting the absent one reads 00h from every register but Device,
//!   so its Status is 00h (ATA-6 clause 9 "Host determination of device
//!   presence") and its signature is not mistaken for the other device's.
//! - Writes to read-only media abort (ABRT) before any data moves.
//! - Out-of-range addresses fail with IDNF and leave the address registers
//!   holding the requested start address.
//! - A Command written while DRQ is set abandons the transfer in progress.
//! - SET MULTIPLE MODE with a count of 0 disables multiple mode; counts that are
//!   not a power of two up to 16 abort.
//! - An ATAPI device that aborts an ATA command places its signature in the
//!   Sector Count and LBA registers.
//! - A DMA direction (SFF-8038i Read/Write Control) opposite to the command's
//!   direction is treated like a bus error.
//! - nIEN masks INTRQ without discarding it: an interrupt that became pending
//!   while nIEN was set shows once nIEN is cleared, until Status is read.
//! - A 1-byte access to the Data register moves one byte.
//! - After a DMA transfer that leaves PRD space unused, Active stays set with
//!   Interrupt (SFF-8038i Bus Master IDE Status register table); Stop clears it.
//! - Bus-master DMA never happens during a port access: the hypervisor calls
//!   [`IdeController::run_dma`] after each I/O exit, which moves the whole
//!   transfer at once, bounded by [`MAX_PRD_ENTRIES`] descriptors.

use crate::atapi::{
    set_integrity_word, AtapiDrive, PacketResult, ATAPI_BLOCK_SIZE, IDENTIFY_WORD_MWDMA,
    IDENTIFY_WORD_UDMA,
};
use crate::block::{BlockBackend, BlockError};
use crate::bus::{all_ones, PortIoDevice};
use crate::{DmaError, DmaMemory};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

/// Command Block of the primary channel (Data register port).
pub const PRIMARY_COMMAND_BASE: u16 = 0x1F0;
/// Control Block (Alternate Status/Device Control) of the primary channel.
pub const PRIMARY_CONTROL_PORT: u16 = 0x3F6;
/// Command Block of the secondary channel.
pub const SECONDARY_COMMAND_BASE: u16 = 0x170;
/// Control Block of the secondary channel.
pub const SECONDARY_CONTROL_PORT: u16 = 0x376;
/// Ports in a Command Block.
pub const COMMAND_BLOCK_LEN: u16 = 8;
/// Ports in a Control Block this controller claims (0x3F7/0x377 are not ours).
pub const CONTROL_BLOCK_LEN: u16 = 1;
/// ISA IRQ of the primary channel.
pub const PRIMARY_IRQ: u8 = 14;
/// ISA IRQ of the secondary channel.
pub const SECONDARY_IRQ: u8 = 15;
/// Size of the bus-master I/O block (BAR4): 8 bytes per channel.
pub const BUS_MASTER_LEN: u16 = 16;

/// Bytes in an ATA sector.
pub const SECTOR_SIZE: usize = 512;
/// Largest READ/WRITE MULTIPLE block (IDENTIFY word 47).
pub const MAX_MULTIPLE: u8 = 16;
/// Most PRD entries one DMA transfer may walk before it is declared endless.
pub const MAX_PRD_ENTRIES: u32 = 4096;
/// ATAPI blocks read from the drive at a time while streaming a READ.
const ATAPI_CHUNK_BLOCKS: u32 = 32;
/// Sectors moved per backend access during disk DMA.
const DMA_CHUNK_SECTORS: u32 = 128;
/// Largest 48-bit LBA capacity.
const MAX_LBA48: u64 = (1 << 48) - 1;
/// Largest 28-bit LBA capacity reported in IDENTIFY words 60-61.
const MAX_LBA28: u64 = 0x0FFF_FFFF;
/// Default CHS translation: heads.
const DEFAULT_HEADS: u8 = 16;
/// Default CHS translation: sectors per track.
const DEFAULT_SPT: u8 = 63;
/// Largest cylinder count reported in IDENTIFY word 1.
const MAX_CYLINDERS: u64 = 16383;

// Command Block register offsets (ATA-6 clause 7).
/// Data register (16-bit; 32-bit accesses move two words).
const REG_DATA: u16 = 0;
/// Error (read) / Features (write).
const REG_ERROR_FEATURES: u16 = 1;
/// Sector Count; ATAPI Interrupt Reason when read during PACKET.
const REG_SECTOR_COUNT: u16 = 2;
/// LBA Low (Sector Number in CHS).
const REG_LBA_LOW: u16 = 3;
/// LBA Mid (Cylinder Low; ATAPI Byte Count low).
const REG_LBA_MID: u16 = 4;
/// LBA High (Cylinder High; ATAPI Byte Count high).
const REG_LBA_HIGH: u16 = 5;
/// Device (Device/Head).
const REG_DEVICE: u16 = 6;
/// Status (read) / Command (write).
const REG_STATUS_COMMAND: u16 = 7;

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
const ERROR_SENSE_KEY_SHIFT: u8 = 4;
/// A SCSI sense key is four bits.
const SENSE_KEY_MASK: u8 = 0x0F;
/// Diagnostic code in the Error register: device passed (and device 1 too).
const DIAGNOSTIC_PASSED: u8 = 0x01;

/// Device bit 4: DEV, selects device 1 (slave).
pub const DEVICE_DEV: u8 = 1 << 4;
/// Device bit 6: LBA, the address is an LBA rather than CHS.
pub const DEVICE_LBA: u8 = 1 << 6;
/// Device bits 3:0: head number (CHS) or LBA bits 27:24.
const DEVICE_HEAD_MASK: u8 = 0x0F;

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

// Commands (ATA-6 clause 8).
/// Commands 1xh (RECALIBRATE) and 7xh (SEEK) ignore their low nibble.
const CMD_FAMILY_MASK: u8 = 0xF0;
/// DEVICE RESET (PACKET devices only).
const CMD_DEVICE_RESET: u8 = 0x08;
/// RECALIBRATE (0x10-0x1F).
const CMD_RECALIBRATE: u8 = 0x10;
/// READ SECTORS.
const CMD_READ_SECTORS: u8 = 0x20;
/// READ SECTORS without retries.
const CMD_READ_SECTORS_NR: u8 = 0x21;
/// READ SECTORS EXT.
const CMD_READ_SECTORS_EXT: u8 = 0x24;
/// READ DMA EXT.
const CMD_READ_DMA_EXT: u8 = 0x25;
/// READ MULTIPLE EXT.
const CMD_READ_MULTIPLE_EXT: u8 = 0x29;
/// WRITE SECTORS.
const CMD_WRITE_SECTORS: u8 = 0x30;
/// WRITE SECTORS without retries.
const CMD_WRITE_SECTORS_NR: u8 = 0x31;
/// WRITE SECTORS EXT.
const CMD_WRITE_SECTORS_EXT: u8 = 0x34;
/// WRITE DMA EXT.
const CMD_WRITE_DMA_EXT: u8 = 0x35;
/// WRITE MULTIPLE EXT.
const CMD_WRITE_MULTIPLE_EXT: u8 = 0x39;
/// READ VERIFY SECTORS.
const CMD_READ_VERIFY: u8 = 0x40;
/// READ VERIFY SECTORS without retries.
const CMD_READ_VERIFY_NR: u8 = 0x41;
/// READ VERIFY SECTORS EXT.
const CMD_READ_VERIFY_EXT: u8 = 0x42;
/// SEEK (0x70-0x7F).
const CMD_SEEK: u8 = 0x70;
/// EXECUTE DEVICE DIAGNOSTIC.
const CMD_EXECUTE_DIAGNOSTIC: u8 = 0x90;
/// INITIALIZE DEVICE PARAMETERS.
const CMD_INITIALIZE_PARAMS: u8 = 0x91;
/// PACKET.
const CMD_PACKET: u8 = 0xA0;
/// IDENTIFY PACKET DEVICE.
const CMD_IDENTIFY_PACKET: u8 = 0xA1;
/// READ MULTIPLE.
const CMD_READ_MULTIPLE: u8 = 0xC4;
/// WRITE MULTIPLE.
const CMD_WRITE_MULTIPLE: u8 = 0xC5;
/// SET MULTIPLE MODE.
const CMD_SET_MULTIPLE: u8 = 0xC6;
/// READ DMA.
const CMD_READ_DMA: u8 = 0xC8;
/// READ DMA without retries.
const CMD_READ_DMA_NR: u8 = 0xC9;
/// WRITE DMA.
const CMD_WRITE_DMA: u8 = 0xCA;
/// WRITE DMA without retries.
const CMD_WRITE_DMA_NR: u8 = 0xCB;
/// STANDBY IMMEDIATE.
const CMD_STANDBY_IMMEDIATE: u8 = 0xE0;
/// IDLE IMMEDIATE.
const CMD_IDLE_IMMEDIATE: u8 = 0xE1;
/// CHECK POWER MODE.
const CMD_CHECK_POWER_MODE: u8 = 0xE5;
/// FLUSH CACHE.
const CMD_FLUSH_CACHE: u8 = 0xE7;
/// FLUSH CACHE EXT.
const CMD_FLUSH_CACHE_EXT: u8 = 0xEA;
/// IDENTIFY DEVICE.
const CMD_IDENTIFY: u8 = 0xEC;
/// SET FEATURES.
const CMD_SET_FEATURES: u8 = 0xEF;

/// SET FEATURES subcommand: enable write cache.
const FEATURE_ENABLE_WRITE_CACHE: u8 = 0x02;
/// SET FEATURES subcommand: set transfer mode from the Sector Count register.
const FEATURE_SET_TRANSFER_MODE: u8 = 0x03;
/// SET FEATURES subcommand: disable write cache.
const FEATURE_DISABLE_WRITE_CACHE: u8 = 0x82;
/// Transfer mode value bits 2:0: the mode number.
const XFER_MODE_MASK: u8 = 0x07;
/// Transfer mode value bits 7:3: PIO flow control mode (mode in bits 2:0).
const XFER_PIO_FLOW: u8 = 0x08;
/// Transfer mode value bits 7:3: multiword DMA mode.
const XFER_MWDMA: u8 = 0x20;
/// Transfer mode value bits 7:3: Ultra DMA mode.
const XFER_UDMA: u8 = 0x40;
/// CHECK POWER MODE result: active or idle.
const POWER_MODE_ACTIVE: u8 = 0xFF;

/// ATAPI signature in LBA Mid (ATA-6 clause 9 "Signature and persistence").
const ATAPI_SIGNATURE_MID: u8 = 0x14;
/// ATAPI signature in LBA High.
const ATAPI_SIGNATURE_HIGH: u8 = 0xEB;

// IDENTIFY DEVICE words (ATA-6 table 27).
/// Word 0 bit 6: not removable controller/device (fixed disk).
const ID0_FIXED: u16 = 1 << 6;
/// IDENTIFY PACKET DEVICE word 0 bits 6:5: how the device asks for the packet.
const ID0_DRQ_TYPE_MASK: u16 = 0x0060;
/// Word 0 bits 6:5 = 01b: INTRQ is asserted with DRQ for the command packet.
const ID0_DRQ_TYPE_INTRQ: u16 = 0x0020;
/// Word 47 bits 15:8: shall be 80h.
const ID47_SIGNATURE: u16 = 0x8000;
/// Word 49 bit 8: DMA supported.
const ID49_DMA: u16 = 1 << 8;
/// Word 49 bit 9: LBA supported.
const ID49_LBA: u16 = 1 << 9;
/// Word 49 bit 10: IORDY may be disabled.
const ID49_IORDY_DISABLE: u16 = 1 << 10;
/// Word 49 bit 11: IORDY supported.
const ID49_IORDY: u16 = 1 << 11;
/// Words 50, 84, 87 bit 14: shall be one.
const ID_WORD_VALID: u16 = 1 << 14;
/// Word 51 bits 15:8: obsolete PIO data transfer cycle timing mode (2).
const ID51_PIO_MODE_2: u16 = 0x0200;
/// Words 63/88 bits 7:0: the DMA modes supported.
const ID_DMA_SUPPORTED_MASK: u16 = 0x00FF;
/// Words 63/88 bit 8 + n: DMA mode n is selected.
const ID_DMA_SELECTED: u16 = 0x0100;
/// Word 53 bit 0: words 54-58 valid.
const ID53_CHS_VALID: u16 = 1 << 0;
/// Word 53 bit 1: words 64-70 valid.
const ID53_PIO_VALID: u16 = 1 << 1;
/// Word 53 bit 2: word 88 valid.
const ID53_UDMA_VALID: u16 = 1 << 2;
/// Word 59 bit 8: the multiple sector setting is valid.
const ID59_MULTIPLE_VALID: u16 = 1 << 8;
/// Word 63 bits 2:0: multiword DMA modes 0-2 supported.
const ID63_MWDMA_SUPPORTED: u16 = 0x0007;
/// Word 64 bits 1:0: PIO modes 3 and 4 supported.
const ID64_PIO_3_4: u16 = 0x0003;
/// Words 65-68: cycle times in ns (the fastest multiword DMA and PIO modes).
const ID_CYCLE_TIME_NS: u16 = 120;
/// Word 80: major version, ATA-1 through ATA/ATAPI-6 (bits 1-6).
const ID80_ATA6: u16 = 0x007E;
/// Word 82 bit 3: power management feature set supported.
const ID82_POWER_MANAGEMENT: u16 = 1 << 3;
/// Word 82/85 bit 5: write cache supported/enabled.
const ID82_WRITE_CACHE: u16 = 1 << 5;
/// Word 83/86 bit 10: 48-bit Address feature set supported/enabled.
const ID83_LBA48: u16 = 1 << 10;
/// Word 83/86 bit 12: FLUSH CACHE supported.
const ID83_FLUSH_CACHE: u16 = 1 << 12;
/// Word 83/86 bit 13: FLUSH CACHE EXT supported.
const ID83_FLUSH_CACHE_EXT: u16 = 1 << 13;
/// Word 88 bits 5:0: Ultra DMA modes 0-5 supported.
const ID88_UDMA_SUPPORTED: u16 = 0x003F;
/// Word 93 bit 13: CBLID- above ViH (80-conductor cable).
const ID93_CBLID: u16 = 1 << 13;
/// Word 93 bits 0-3 for device 0: bit 0 one, jumper-selected, diagnostics passed.
const ID93_DEVICE0: u16 = 0x000B;
/// Word 93 bits 8-9 for device 1: bit 8 one, jumper-selected.
const ID93_DEVICE1: u16 = 0x0300;

// SFF-8038i bus-master registers (offsets within one channel's 8 bytes).
/// Bus Master IDE Command register.
const BM_COMMAND: u16 = 0;
/// Bus Master IDE Status register.
const BM_STATUS: u16 = 2;
/// Descriptor Table Pointer register (4 bytes).
const BM_PRDT: u16 = 4;
/// Bytes of bus-master registers per channel.
const BM_CHANNEL_STRIDE: u16 = 8;

/// Command bit 0: Start/Stop Bus Master.
pub const BM_CMD_START: u8 = 1 << 0;
/// Command bit 3: Read/Write Control, 1 = bus master writes memory (device reads).
pub const BM_CMD_WRITE_MEMORY: u8 = 1 << 3;
/// Status bit 0: Bus Master IDE Active (read-only).
pub const BM_STATUS_ACTIVE: u8 = 1 << 0;
/// Status bit 1: Error in the memory transfer (write 1 to clear).
pub const BM_STATUS_ERROR: u8 = 1 << 1;
/// Status bit 2: Interrupt, the device asserted INTRQ (write 1 to clear).
pub const BM_STATUS_INTERRUPT: u8 = 1 << 2;
/// Status bit 5: Drive 0 DMA capable (software-set).
pub const BM_STATUS_DRIVE0_DMA: u8 = 1 << 5;
/// Status bit 6: Drive 1 DMA capable (software-set).
pub const BM_STATUS_DRIVE1_DMA: u8 = 1 << 6;
/// Status bit 7: Simplex only (read-only; zero, both channels may run at once).
pub const BM_STATUS_SIMPLEX: u8 = 1 << 7;
/// Descriptor Table Pointer bits 1:0 are reserved (dword alignment).
const BM_PRDT_MASK: u32 = !0x3;
/// PRD byte 0 bit 0 of the address is reserved (word alignment).
const PRD_ADDR_MASK: u32 = !0x1;
/// PRD byte count bit 0 is reserved.
const PRD_COUNT_MASK: u16 = !0x1;
/// PRD byte count of zero means 64 KiB.
const PRD_COUNT_ZERO: u32 = 0x1_0000;
/// PRD second dword bit 31: EOT, the last descriptor of the table.
const PRD_EOT: u32 = 1 << 31;
/// Size of one PRD entry.
const PRD_ENTRY_LEN: u64 = 8;

/// A Command Block register with the two-deep FIFO of 48-bit addressing:
/// `cur` is the last value written, `prev` the one before (read with HOB set).
#[derive(Clone, Copy, Default, Debug)]
struct Fifo2 {
    cur: u8,
    prev: u8,
}

impl Fifo2 {
    fn push(&mut self, value: u8) {
        self.prev = self.cur;
        self.cur = value;
    }

    fn read(&self, hob: bool) -> u8 {
        if hob {
            self.prev
        } else {
            self.cur
        }
    }
}

/// One device's copy of the task file (the host writes both devices' copies).
#[derive(Clone, Copy, Default, Debug)]
struct TaskFile {
    features: Fifo2,
    sector_count: Fifo2,
    lba_low: Fifo2,
    lba_mid: Fifo2,
    lba_high: Fifo2,
    error: u8,
    status: u8,
}

/// A hard disk.
struct Disk {
    backend: Box<dyn BlockBackend>,
    /// Capacity in sectors.
    sectors: u64,
    /// Sectors per READ/WRITE MULTIPLE block; 0 = multiple mode disabled.
    multiple: u8,
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    heads: u8,
    sectors_per_track: u8,
    write_cache: bool,
    serial: [u8; 20],
}

enum Media {
    Disk(Disk),
    Cdrom(AtapiDrive),
}

/// The DMA mode SET FEATURES selected (reflected in IDENTIFY words 63/88).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DmaMode {
    None,
    Multiword(u8),
    Ultra(u8),
}

/// What the end of the current PIO DRQ block means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pio {
    /// No PIO transfer.
    Idle,
    /// IDENTIFY (PACKET) DEVICE data: one block, then done without interrupt.
    Identify,
    /// Data-in from the disk: `lba` of the next block, `left` sectors not yet loaded.
    DiskRead { lba: u64, left: u32, per_block: u32 },
    /// Data-out to the disk: `lba` of the buffered block, `left` sectors not yet written.
    DiskWrite { lba: u64, left: u32, per_block: u32 },
    /// Receiving the 12-byte ATAPI command packet.
    CommandPacket { dma: bool, limit: u16 },
    /// ATAPI data-in: `buf` holds the data (or a staged READ chunk of which
    /// `read` says what remains).
    PacketIn {
        limit: u16,
        read: Option<(u32, u32)>,
    },
}

impl Pio {
    fn is_data_in(self) -> bool {
        matches!(
            self,
            Pio::Identify | Pio::DiskRead { .. } | Pio::PacketIn { .. }
        )
    }

    fn is_data_out(self) -> bool {
        matches!(self, Pio::DiskWrite { .. } | Pio::CommandPacket { .. })
    }
}

/// A DMA command waiting for the bus master.
enum DmaJob {
    Disk {
        lba: u64,
        count: u32,
        write: bool,
    },
    Packet {
        data: Vec<u8>,
        read: Option<(u32, u32)>,
    },
}

/// Why a DMA transfer stopped early.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DmaFault {
    /// A PRD entry or buffer outside guest RAM.
    Memory(DmaError),
    /// The PRD table ended before the transfer did.
    TableTooShort,
    /// No EOT within [`MAX_PRD_ENTRIES`] entries.
    TableTooLong,
    /// The bus master's direction disagrees with the command's.
    Direction,
    /// The medium failed: these Error register bits.
    Media(u8),
    /// The ATAPI drive reported CHECK CONDITION.
    CheckCondition,
}

impl From<DmaError> for DmaFault {
    fn from(e: DmaError) -> Self {
        DmaFault::Memory(e)
    }
}

/// Walks a PRD table one guest-memory piece at a time.
struct PrdCursor {
    next_entry: u64,
    entries: u32,
    addr: u64,
    left: u32,
    eot: bool,
}

impl PrdCursor {
    fn new(table: u32) -> Self {
        Self {
            next_entry: u64::from(table & BM_PRDT_MASK),
            entries: 0,
            addr: 0,
            left: 0,
            eot: false,
        }
    }

    /// The next piece of guest memory, at most `max` (> 0) bytes long.
    fn next(&mut self, mem: &dyn DmaMemory, max: usize) -> Result<(u64, usize), DmaFault> {
        while self.left == 0 {
            if self.eot {
                return Err(DmaFault::TableTooShort);
            }
            if self.entries >= MAX_PRD_ENTRIES {
                return Err(DmaFault::TableTooLong);
            }
            let mut e = [0u8; 8];
            mem.read(self.next_entry, &mut e)?;
            self.entries += 1;
            self.next_entry = self.next_entry.wrapping_add(PRD_ENTRY_LEN);
            let addr = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) & PRD_ADDR_MASK;
            let flags = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
            let count = (flags as u16) & PRD_COUNT_MASK;
            self.addr = u64::from(addr);
            self.left = if count == 0 {
                PRD_COUNT_ZERO
            } else {
                u32::from(count)
            };
            self.eot = flags & PRD_EOT != 0;
        }
        let n = core::cmp::min(self.left as usize, max);
        let at = self.addr;
        self.addr = self.addr.wrapping_add(n as u64);
        self.left -= n as u32;
        Ok((at, n))
    }

    /// True when the table's last descriptor has been used up.
    fn exhausted(&self) -> bool {
        self.eot && self.left == 0
    }

    /// Scatters `data` into guest memory.
    fn scatter(&mut self, mem: &mut dyn DmaMemory, mut data: &[u8]) -> Result<(), DmaFault> {
        while !data.is_empty() {
            let (gpa, n) = self.next(mem, data.len())?;
            let (head, tail) = data.split_at(n);
            mem.write(gpa, head)?;
            data = tail;
        }
        Ok(())
    }

    /// Gathers `buf.len()` bytes from guest memory.
    fn gather(&mut self, mem: &mut dyn DmaMemory, buf: &mut [u8]) -> Result<(), DmaFault> {
        let mut done = 0;
        while done < buf.len() {
            let (gpa, n) = self.next(mem, buf.len() - done)?;
            let end = done + n;
            mem.read(gpa, &mut buf[done..end])?;
            done = end;
        }
        Ok(())
    }
}

/// The Error register bits for a failed backend access.
fn media_error(e: BlockError) -> u8 {
    match e {
        BlockError::OutOfRange => ERROR_IDNF,
        BlockError::ReadOnly => ERROR_ABRT,
    }
}

/// Writes `s` as an ATA string into `words` (first character in the high byte),
/// padded with spaces.
fn put_ata_string(words: &mut [u16], s: &[u8]) {
    for (i, w) in words.iter_mut().enumerate() {
        let hi = s.get(2 * i).copied().unwrap_or(b' ');
        let lo = s.get(2 * i + 1).copied().unwrap_or(b' ');
        *w = u16::from_be_bytes([hi, lo]);
    }
}

fn words_to_bytes(words: &[u16; 256]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An ATAPI byte count limit as the device uses it: even, and 0/FFFFh as FFFEh.
fn effective_limit(limit: u16) -> usize {
    match limit {
        0 | 0xFFFF => 0xFFFE,
        1 => 2,
        n => usize::from(n & !1),
    }
}

/// One device on a channel.
struct Device {
    media: Media,
    tf: TaskFile,
    /// Data of the current transfer; the DRQ block is `buf[pos..end]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    pio: Pio,
    dma: Option<DmaJob>,
    dma_mode: DmaMode,
    slave: bool,
    /// A PACKET device that interrupts when it wants the command packet
    /// (IDENTIFY PACKET DEVICE word 0 bits 6:5 = 01b).
    cdb_interrupt: bool,
    /// INTRQ should be asserted (collected by the channel).
    raise: bool,
}

impl Device {
    fn new(media: Media, slave: bool) -> Self {
        let cdb_interrupt = match &media {
            Media::Cdrom(drive) => {
                drive.identify_packet_data()[0] & ID0_DRQ_TYPE_MASK == ID0_DRQ_TYPE_INTRQ
            }
            Media::Disk(_) => false,
        };
        let mut d = Self {
            media,
            tf: TaskFile::default(),
            buf: Vec::new(),
            pos: 0,
            end: 0,
            pio: Pio::Idle,
            dma: None,
            dma_mode: DmaMode::None,
            slave,
            cdb_interrupt,
            raise: false,
        };
        d.reset();
        d
    }

    fn is_cdrom(&self) -> bool {
        matches!(self.media, Media::Cdrom(_))
    }

    /// Status after a successful command.
    fn ready_status(&self) -> u8 {
        STATUS_DRDY | STATUS_DSC
    }

    fn set_signature(&mut self) {
        self.tf.sector_count.cur = 0x01;
        self.tf.lba_low.cur = 0x01;
        let (mid, high) = if self.is_cdrom() {
            (ATAPI_SIGNATURE_MID, ATAPI_SIGNATURE_HIGH)
        } else {
            (0, 0)
        };
        self.tf.lba_mid.cur = mid;
        self.tf.lba_high.cur = high;
    }

    fn stop_transfer(&mut self) {
        self.pio = Pio::Idle;
        self.dma = None;
        self.pos = 0;
        self.end = 0;
        if self.buf.capacity() > 2 * ATAPI_CHUNK_BLOCKS as usize * ATAPI_BLOCK_SIZE {
            self.buf = Vec::new();
        }
    }

    /// Entering SRST: abandon everything and hold BSY.
    fn reset_enter(&mut self) {
        self.stop_transfer();
        self.tf.status = STATUS_BSY;
    }

    /// End of a reset or diagnostic (ATA-6 clause 9: signature; a PACKET device
    /// leaves DRDY clear).
    fn reset(&mut self) {
        self.stop_transfer();
        self.set_signature();
        self.tf.error = DIAGNOSTIC_PASSED;
        self.tf.status = if self.is_cdrom() {
            0
        } else {
            STATUS_DRDY | STATUS_DSC
        };
    }

    fn complete(&mut self, irq: bool) {
        self.stop_transfer();
        self.tf.status = self.ready_status();
        if irq {
            self.raise = true;
        }
    }

    fn fail(&mut self, error: u8) {
        self.stop_transfer();
        self.tf.error = error;
        self.tf.status = self.ready_status() | STATUS_ERR;
        self.raise = true;
    }

    /// Command aborted; a PACKET device also restores its signature.
    fn abort(&mut self) {
        self.fail(ERROR_ABRT);
        if self.is_cdrom() {
            self.set_signature();
        }
    }

    /// Starts a DRQ block of `len` bytes at `buf[pos..]`.
    fn start_block(&mut self, len: usize, irq: bool) {
        self.end = self.pos.saturating_add(len).min(self.buf.len());
        self.tf.status = self.ready_status() | STATUS_DRQ;
        if irq {
            self.raise = true;
        }
    }

    fn drq(&self) -> bool {
        self.pos < self.end
    }

    fn disk(&self) -> Option<&Disk> {
        match &self.media {
            Media::Disk(d) => Some(d),
            Media::Cdrom(_) => None,
        }
    }

    fn disk_mut(&mut self) -> Option<&mut Disk> {
        match &mut self.media {
            Media::Disk(d) => Some(d),
            Media::Cdrom(_) => None,
        }
    }

    // ---- Data register ----

    /// Reads up to `size` bytes of the current data-in block.
    fn data_read(&mut self, size: usize) -> u32 {
        if !self.pio.is_data_in() || !self.drq() {
            return 0;
        }
        let n = core::cmp::min(size, self.end - self.pos);
        let mut v = 0u32;
        for i in 0..n {
            let b = self.buf.get(self.pos + i).copied().unwrap_or(0);
            v |= u32::from(b) << (8 * i);
        }
        self.pos += n;
        if self.pos >= self.end {
            self.block_done();
        }
        v
    }

    /// Writes up to `size` bytes into the current data-out block.
    fn data_write(&mut self, size: usize, value: u32) {
        if !self.pio.is_data_out() || !self.drq() {
            return;
        }
        let n = core::cmp::min(size, self.end - self.pos);
        for i in 0..n {
            if let Some(b) = self.buf.get_mut(self.pos + i) {
                *b = (value >> (8 * i)) as u8;
            }
        }
        self.pos += n;
        if self.pos >= self.end {
            self.block_done();
        }
    }

    /// Moves up to `out.len()` bytes of data-in blocks; returns bytes moved.
    fn read_block(&mut self, out: &mut [u8]) -> usize {
        let mut moved = 0;
        while moved < out.len() && self.pio.is_data_in() && self.drq() {
            let n = core::cmp::min(self.end - self.pos, out.len() - moved);
            let (Some(dst), Some(src)) = (
                out.get_mut(moved..moved + n),
                self.buf.get(self.pos..self.pos + n),
            ) else {
                break;
            };
            dst.copy_from_slice(src);
            self.pos += n;
            moved += n;
            if self.pos >= self.end {
                // A block of odd length ends in a padded word.
                if moved % 2 == 1 && moved < out.len() {
                    out[moved] = 0;
                    moved += 1;
                }
                self.block_done();
            }
        }
        moved
    }

    /// Moves up to `data.len()` bytes into data-out blocks; returns bytes moved.
    fn write_block(&mut self, data: &[u8]) -> usize {
        let mut moved = 0;
        while moved < data.len() && self.pio.is_data_out() && self.drq() {
            let n = core::cmp::min(self.end - self.pos, data.len() - moved);
            let (Some(dst), Some(src)) = (
                self.buf.get_mut(self.pos..self.pos + n),
                data.get(moved..moved + n),
            ) else {
                break;
            };
            dst.copy_from_slice(src);
            self.pos += n;
            moved += n;
            if self.pos >= self.end {
                if moved % 2 == 1 && moved < data.len() {
                    moved += 1;
                }
                self.block_done();
            }
        }
        moved
    }

    /// The host has moved the whole DRQ block.
    fn block_done(&mut self) {
        match self.pio {
            Pio::Idle => {}
            Pio::Identify => self.complete(false),
            Pio::DiskRead { left, .. } => {
                if left == 0 {
                    self.complete(false);
                } else {
                    self.load_read_block();
                }
            }
            Pio::DiskWrite {
                lba,
                left,
                per_block,
            } => self.store_write_block(lba, left, per_block),
            Pio::CommandPacket { dma, limit } => self.execute_packet(dma, limit),
            Pio::PacketIn { limit, read } => self.next_packet_block(limit, read),
        }
    }

    // ---- Hard disk commands ----

    /// The starting address and sector count of a 28-bit (LBA or CHS) or 48-bit
    /// command; `None` if a CHS address is invalid.
    fn address(&self, ext: bool, device_reg: u8) -> Option<(u64, u32)> {
        let tf = &self.tf;
        if ext {
            let lba = u64::from_le_bytes([
                tf.lba_low.cur,
                tf.lba_mid.cur,
                tf.lba_high.cur,
                tf.lba_low.prev,
                tf.lba_mid.prev,
                tf.lba_high.prev,
                0,
                0,
            ]);
            let count = u32::from(u16::from_le_bytes([
                tf.sector_count.cur,
                tf.sector_count.prev,
            ]));
            return Some((lba, if count == 0 { 0x1_0000 } else { count }));
        }
        let count = match tf.sector_count.cur {
            0 => 256,
            n => u32::from(n),
        };
        if device_reg & DEVICE_LBA != 0 {
            let lba = u64::from_le_bytes([
                tf.lba_low.cur,
                tf.lba_mid.cur,
                tf.lba_high.cur,
                device_reg & DEVICE_HEAD_MASK,
                0,
                0,
                0,
                0,
            ]);
            return Some((lba, count));
        }
        let disk = self.disk()?;
        let cylinder = u64::from(u16::from_le_bytes([tf.lba_mid.cur, tf.lba_high.cur]));
        let head = device_reg & DEVICE_HEAD_MASK;
        let sector = tf.lba_low.cur;
        if sector == 0 || sector > disk.sectors_per_track || head >= disk.heads {
            return None;
        }
        let lba = (cylinder * u64::from(disk.heads) + u64::from(head))
            * u64::from(disk.sectors_per_track)
            + u64::from(sector - 1);
        Some((lba, count))
    }

    /// The checked address of a media-access command, or IDNF already reported.
    fn checked_address(&mut self, ext: bool, device_reg: u8) -> Option<(u64, u32)> {
        let sectors = self.disk().map_or(0, |d| d.sectors);
        match self.address(ext, device_reg) {
            Some((lba, count))
                if lba
                    .checked_add(u64::from(count))
                    .is_some_and(|end| end <= sectors) =>
            {
                Some((lba, count))
            }
            _ => {
                self.fail(ERROR_IDNF);
                None
            }
        }
    }

    fn disk_command(&mut self, cmd: u8, device_reg: u8) {
        match cmd {
            CMD_IDENTIFY => {
                let words = self.identify_disk();
                self.buf = words_to_bytes(&words);
                self.pos = 0;
                self.pio = Pio::Identify;
                self.start_block(SECTOR_SIZE, true);
            }
            CMD_READ_SECTORS | CMD_READ_SECTORS_NR => self.pio_rw(false, device_reg, false, false),
            CMD_READ_SECTORS_EXT => self.pio_rw(true, device_reg, false, false),
            CMD_READ_MULTIPLE => self.pio_rw(false, device_reg, false, true),
            CMD_READ_MULTIPLE_EXT => self.pio_rw(true, device_reg, false, true),
            CMD_WRITE_SECTORS | CMD_WRITE_SECTORS_NR => self.pio_rw(false, device_reg, true, false),
            CMD_WRITE_SECTORS_EXT => self.pio_rw(true, device_reg, true, false),
            CMD_WRITE_MULTIPLE => self.pio_rw(false, device_reg, true, true),
            CMD_WRITE_MULTIPLE_EXT => self.pio_rw(true, device_reg, true, true),
            CMD_READ_DMA | CMD_READ_DMA_NR => self.dma_rw(false, device_reg, false),
            CMD_READ_DMA_EXT => self.dma_rw(true, device_reg, false),
            CMD_WRITE_DMA | CMD_WRITE_DMA_NR => self.dma_rw(false, device_reg, true),
            CMD_WRITE_DMA_EXT => self.dma_rw(true, device_reg, true),
            CMD_READ_VERIFY | CMD_READ_VERIFY_NR => {
                if self.checked_address(false, device_reg).is_some() {
                    self.complete(true);
                }
            }
            CMD_READ_VERIFY_EXT => {
                if self.checked_address(true, device_reg).is_some() {
                    self.complete(true);
                }
            }
            CMD_SET_MULTIPLE => {
                let count = self.tf.sector_count.cur;
                if count == 0 || (count.is_power_of_two() && count <= MAX_MULTIPLE) {
                    if let Some(d) = self.disk_mut() {
                        d.multiple = count;
                    }
                    self.complete(true);
                } else {
                    self.abort();
                }
            }
            CMD_INITIALIZE_PARAMS => {
                let spt = self.tf.sector_count.cur;
                if spt == 0 {
                    self.abort();
                } else {
                    if let Some(d) = self.disk_mut() {
                        d.sectors_per_track = spt;
                        d.heads = (device_reg & DEVICE_HEAD_MASK) + 1;
                    }
                    self.complete(true);
                }
            }
            c if c & CMD_FAMILY_MASK == CMD_RECALIBRATE => self.complete(true),
            c if c & CMD_FAMILY_MASK == CMD_SEEK => {
                let sectors = self.disk().map_or(0, |d| d.sectors);
                match self.address(false, device_reg) {
                    Some((lba, _)) if lba < sectors => self.complete(true),
                    _ => self.fail(ERROR_IDNF),
                }
            }
            CMD_FLUSH_CACHE | CMD_FLUSH_CACHE_EXT => self.complete(true),
            CMD_STANDBY_IMMEDIATE | CMD_IDLE_IMMEDIATE => self.complete(true),
            CMD_CHECK_POWER_MODE => {
                self.tf.sector_count.cur = POWER_MODE_ACTIVE;
                self.complete(true);
            }
            CMD_SET_FEATURES => self.set_features(),
            // DEVICE RESET, PACKET, IDENTIFY PACKET DEVICE and the rest: not for
            // a disk (ATA-6 clause 8: the Error register reports ABRT).
            _ => self.abort(),
        }
    }

    fn pio_rw(&mut self, ext: bool, device_reg: u8, write: bool, multiple: bool) {
        let per_block = if multiple {
            match self.disk().map_or(0, |d| d.multiple) {
                0 => return self.abort(),
                m => u32::from(m),
            }
        } else {
            1
        };
        if write && self.disk().is_none_or(|d| d.backend.read_only()) {
            return self.abort();
        }
        let Some((lba, count)) = self.checked_address(ext, device_reg) else {
            return;
        };
        if write {
            self.pio = Pio::DiskWrite {
                lba,
                left: count,
                per_block,
            };
            self.prepare_write_block(count.min(per_block), false);
        } else {
            self.pio = Pio::DiskRead {
                lba,
                left: count,
                per_block,
            };
            self.load_read_block();
        }
    }

    /// Reads the next data-in block from the disk and raises DRQ and INTRQ.
    fn load_read_block(&mut self) {
        let Pio::DiskRead {
            lba,
            left,
            per_block,
        } = self.pio
        else {
            return;
        };
        let n = left.min(per_block);
        let len = n as usize * SECTOR_SIZE;
        self.buf.clear();
        self.buf.resize(len, 0);
        let Media::Disk(disk) = &self.media else {
            return self.abort();
        };
        if let Err(e) = disk
            .backend
            .read_at(lba.saturating_mul(SECTOR_SIZE as u64), &mut self.buf)
        {
            return self.fail(if e == BlockError::OutOfRange {
                ERROR_IDNF
            } else {
                ERROR_UNC
            });
        }
        self.pio = Pio::DiskRead {
            lba: lba.wrapping_add(u64::from(n)),
            left: left - n,
            per_block,
        };
        self.pos = 0;
        self.start_block(len, true);
    }

    fn prepare_write_block(&mut self, sectors: u32, irq: bool) {
        let len = sectors as usize * SECTOR_SIZE;
        self.buf.clear();
        self.buf.resize(len, 0);
        self.pos = 0;
        self.start_block(len, irq);
    }

    fn store_write_block(&mut self, lba: u64, left: u32, per_block: u32) {
        let n = (self.end / SECTOR_SIZE) as u32;
        let Media::Disk(disk) = &mut self.media else {
            return self.abort();
        };
        let data = self.buf.get(..self.end).unwrap_or(&[]);
        if let Err(e) = disk
            .backend
            .write_at(lba.saturating_mul(SECTOR_SIZE as u64), data)
        {
            return self.fail(media_error(e));
        }
        let left = left.saturating_sub(n);
        if left == 0 {
            self.complete(true);
        } else {
            self.pio = Pio::DiskWrite {
                lba: lba.wrapping_add(u64::from(n)),
                left,
                per_block,
            };
            self.prepare_write_block(left.min(per_block), true);
        }
    }

    fn dma_rw(&mut self, ext: bool, device_reg: u8, write: bool) {
        if write && self.disk().is_none_or(|d| d.backend.read_only()) {
            return self.abort();
        }
        let Some((lba, count)) = self.checked_address(ext, device_reg) else {
            return;
        };
        self.dma = Some(DmaJob::Disk { lba, count, write });
        self.tf.status = self.ready_status() | STATUS_DRQ;
    }

    fn set_features(&mut self) {
        match self.tf.features.cur {
            FEATURE_SET_TRANSFER_MODE => {
                let v = self.tf.sector_count.cur;
                let mode = v & XFER_MODE_MASK;
                match v & !XFER_MODE_MASK {
                    0 if mode <= 1 => {}
                    XFER_PIO_FLOW if mode <= 4 => {}
                    XFER_MWDMA if mode <= 2 => self.dma_mode = DmaMode::Multiword(mode),
                    XFER_UDMA if mode <= 5 => self.dma_mode = DmaMode::Ultra(mode),
                    _ => return self.abort(),
                }
                self.complete(true);
            }
            FEATURE_ENABLE_WRITE_CACHE | FEATURE_DISABLE_WRITE_CACHE if !self.is_cdrom() => {
                let on = self.tf.features.cur == FEATURE_ENABLE_WRITE_CACHE;
                if let Some(d) = self.disk_mut() {
                    d.write_cache = on;
                }
                self.complete(true);
            }
            _ => self.abort(),
        }
    }

    /// Words 63 and 88 with the selected DMA mode in bits 10:8 / 13:8.
    fn dma_mode_words(&self, w63: u16, w88: u16) -> (u16, u16) {
        let (mut w63, mut w88) = (w63 & ID_DMA_SUPPORTED_MASK, w88 & ID_DMA_SUPPORTED_MASK);
        match self.dma_mode {
            DmaMode::Multiword(m) if w63 & (1 << m) != 0 => w63 |= ID_DMA_SELECTED << m,
            DmaMode::Ultra(m) if w88 & (1 << m) != 0 => w88 |= ID_DMA_SELECTED << m,
            _ => {}
        }
        (w63, w88)
    }

    /// IDENTIFY DEVICE data of a disk (ATA-6 table 27).
    fn identify_disk(&self) -> [u16; 256] {
        let mut w = [0u16; 256];
        let Some(d) = self.disk() else {
            return w;
        };
        let total = d.sectors;
        let cylinders =
            (total / (u64::from(DEFAULT_HEADS) * u64::from(DEFAULT_SPT))).min(MAX_CYLINDERS);
        let chs_per_cyl = u64::from(d.heads) * u64::from(d.sectors_per_track);
        let cur_cylinders = (total / chs_per_cyl.max(1)).min(0xFFFF);
        let cur_capacity = (cur_cylinders * chs_per_cyl).min(u64::from(u32::MAX)) as u32;
        let lba28 = total.min(MAX_LBA28) as u32;
        w[0] = ID0_FIXED;
        w[1] = cylinders as u16;
        w[3] = u16::from(DEFAULT_HEADS);
        w[6] = u16::from(DEFAULT_SPT);
        put_ata_string(&mut w[10..20], &d.serial);
        put_ata_string(&mut w[23..27], b"1.0");
        put_ata_string(&mut w[27..47], b"VMM HARDDISK");
        w[47] = ID47_SIGNATURE | u16::from(MAX_MULTIPLE);
        w[49] = ID49_DMA | ID49_LBA | ID49_IORDY | ID49_IORDY_DISABLE;
        w[50] = ID_WORD_VALID;
        w[51] = ID51_PIO_MODE_2;
        w[53] = ID53_CHS_VALID | ID53_PIO_VALID | ID53_UDMA_VALID;
        w[54] = cur_cylinders as u16;
        w[55] = u16::from(d.heads);
        w[56] = u16::from(d.sectors_per_track);
        w[57] = cur_capacity as u16;
        w[58] = (cur_capacity >> 16) as u16;
        w[59] = ID59_MULTIPLE_VALID | u16::from(d.multiple);
        w[60] = lba28 as u16;
        w[61] = (lba28 >> 16) as u16;
        w[64] = ID64_PIO_3_4;
        w[65] = ID_CYCLE_TIME_NS;
        w[66] = ID_CYCLE_TIME_NS;
        w[67] = ID_CYCLE_TIME_NS;
        w[68] = ID_CYCLE_TIME_NS;
        w[80] = ID80_ATA6;
        w[82] = ID82_POWER_MANAGEMENT | ID82_WRITE_CACHE;
        w[83] = ID_WORD_VALID | ID83_LBA48 | ID83_FLUSH_CACHE | ID83_FLUSH_CACHE_EXT;
        w[84] = ID_WORD_VALID;
        w[85] = ID82_POWER_MANAGEMENT | if d.write_cache { ID82_WRITE_CACHE } else { 0 };
        w[86] = ID83_LBA48 | ID83_FLUSH_CACHE | ID83_FLUSH_CACHE_EXT;
        w[87] = ID_WORD_VALID;
        (w[IDENTIFY_WORD_MWDMA], w[IDENTIFY_WORD_UDMA]) =
            self.dma_mode_words(ID63_MWDMA_SUPPORTED, ID88_UDMA_SUPPORTED);
        w[93] = ID_WORD_VALID
            | ID93_CBLID
            | if self.slave {
                ID93_DEVICE1
            } else {
                ID93_DEVICE0
            };
        w[100] = total as u16;
        w[101] = (total >> 16) as u16;
        w[102] = (total >> 32) as u16;
        w[103] = (total >> 48) as u16;
        set_integrity_word(&mut w);
        w
    }

    // ---- PACKET devices ----

    fn cdrom_command(&mut self, cmd: u8) {
        match cmd {
            CMD_IDENTIFY_PACKET => {
                let Media::Cdrom(drive) = &self.media else {
                    return self.abort();
                };
                let mut words = drive.identify_packet_data();
                (words[IDENTIFY_WORD_MWDMA], words[IDENTIFY_WORD_UDMA]) =
                    self.dma_mode_words(words[IDENTIFY_WORD_MWDMA], words[IDENTIFY_WORD_UDMA]);
                set_integrity_word(&mut words);
                self.buf = words_to_bytes(&words);
                self.pos = 0;
                self.pio = Pio::Identify;
                self.start_block(SECTOR_SIZE, true);
            }
            CMD_PACKET => {
                let features = self.tf.features.cur;
                if features & FEATURES_OVL != 0 {
                    return self.abort();
                }
                let limit = u16::from_le_bytes([self.tf.lba_mid.cur, self.tf.lba_high.cur]);
                self.buf.clear();
                self.buf.resize(12, 0);
                self.pos = 0;
                self.pio = Pio::CommandPacket {
                    dma: features & FEATURES_DMA != 0,
                    limit,
                };
                self.tf.sector_count.cur = IREASON_COD;
                self.start_block(12, self.cdb_interrupt);
            }
            CMD_DEVICE_RESET => self.reset(),
            CMD_SET_FEATURES => self.set_features(),
            CMD_CHECK_POWER_MODE => {
                self.tf.sector_count.cur = POWER_MODE_ACTIVE;
                self.complete(true);
            }
            CMD_IDLE_IMMEDIATE | CMD_STANDBY_IMMEDIATE => self.complete(true),
            // IDENTIFY DEVICE, the media-access commands and the rest: aborted
            // with the signature in place (ATA-6 8.15 IDENTIFY DEVICE).
            _ => self.abort(),
        }
    }

    fn packet_complete(&mut self) {
        self.complete(true);
        self.tf.error = 0;
        self.tf.sector_count.cur = IREASON_COD | IREASON_IO;
    }

    fn packet_check_condition(&mut self) {
        let key = match &self.media {
            Media::Cdrom(drive) => drive.sense().0 & SENSE_KEY_MASK,
            Media::Disk(_) => 0,
        };
        self.stop_transfer();
        self.tf.error = key << ERROR_SENSE_KEY_SHIFT;
        self.tf.status = self.ready_status() | STATUS_ERR;
        self.tf.sector_count.cur = IREASON_COD | IREASON_IO;
        self.raise = true;
    }

    fn execute_packet(&mut self, dma: bool, limit: u16) {
        let mut cdb = [0u8; 12];
        for (d, s) in cdb.iter_mut().zip(self.buf.iter()) {
            *d = *s;
        }
        let Media::Cdrom(drive) = &mut self.media else {
            return self.abort();
        };
        match drive.execute(&cdb) {
            PacketResult::Done => self.packet_complete(),
            PacketResult::CheckCondition => self.packet_check_condition(),
            PacketResult::DataIn(data) if data.is_empty() => self.packet_complete(),
            PacketResult::Read { blocks: 0, .. } => self.packet_complete(),
            PacketResult::DataIn(data) => {
                if dma {
                    self.start_packet_dma(DmaJob::Packet { data, read: None });
                } else {
                    self.buf = data;
                    self.pos = 0;
                    self.next_packet_block(limit, None);
                }
            }
            PacketResult::Read { lba, blocks } => {
                if dma {
                    self.start_packet_dma(DmaJob::Packet {
                        data: Vec::new(),
                        read: Some((lba, blocks)),
                    });
                } else {
                    self.buf.clear();
                    self.pos = 0;
                    self.next_packet_block(limit, Some((lba, blocks)));
                }
            }
        }
    }

    fn start_packet_dma(&mut self, job: DmaJob) {
        self.pio = Pio::Idle;
        self.pos = 0;
        self.end = 0;
        self.dma = Some(job);
        self.tf.status = self.ready_status() | STATUS_DRQ;
    }

    /// Offers the next DRQ block of ATAPI data-in (ATA-6 clause 9, PACKET
    /// command protocol): refills the staged READ chunk when needed, sizes the
    /// block by the byte count limit, and reports it in LBA Mid/High.
    fn next_packet_block(&mut self, limit: u16, mut read: Option<(u32, u32)>) {
        if self.pos >= self.buf.len() {
            match read {
                Some((lba, left)) if left > 0 => {
                    let n = left.min(ATAPI_CHUNK_BLOCKS);
                    self.buf.clear();
                    self.buf.resize(n as usize * ATAPI_BLOCK_SIZE, 0);
                    let Media::Cdrom(drive) = &mut self.media else {
                        return self.abort();
                    };
                    if drive.read_blocks(lba, n, &mut self.buf).is_err() {
                        return self.packet_check_condition();
                    }
                    read = Some((lba.wrapping_add(n), left - n));
                    self.pos = 0;
                }
                _ => return self.packet_complete(),
            }
        }
        let avail = self.buf.len() - self.pos;
        let limit = effective_limit(limit);
        let mut len = avail.min(limit);
        if read.is_some() && len >= ATAPI_BLOCK_SIZE {
            len -= len % ATAPI_BLOCK_SIZE;
        }
        self.pio = Pio::PacketIn {
            limit: limit as u16,
            read,
        };
        self.tf.lba_mid.cur = len as u8;
        self.tf.lba_high.cur = (len >> 8) as u8;
        self.tf.sector_count.cur = IREASON_IO;
        self.start_block(len, true);
    }

    // ---- DMA ----

    /// Runs the pending DMA job through the PRD table at `table`.
    /// Returns whether the table was used up exactly.
    fn run_dma_job(
        &mut self,
        job: DmaJob,
        table: u32,
        to_memory: bool,
        mem: &mut dyn DmaMemory,
    ) -> Result<bool, DmaFault> {
        let mut prd = PrdCursor::new(table);
        match job {
            DmaJob::Disk { lba, count, write } => {
                if write == to_memory {
                    return Err(DmaFault::Direction);
                }
                let Media::Disk(disk) = &mut self.media else {
                    return Err(DmaFault::Media(ERROR_ABRT));
                };
                let chunk = count.min(DMA_CHUNK_SECTORS) as usize * SECTOR_SIZE;
                let mut buf = vec![0u8; chunk];
                let (mut lba, mut left) = (lba, count);
                while left > 0 {
                    let n = left.min(DMA_CHUNK_SECTORS);
                    let part = &mut buf[..n as usize * SECTOR_SIZE];
                    let offset = lba.saturating_mul(SECTOR_SIZE as u64);
                    if write {
                        prd.gather(mem, part)?;
                        disk.backend
                            .write_at(offset, part)
                            .map_err(|e| DmaFault::Media(media_error(e)))?;
                    } else {
                        disk.backend
                            .read_at(offset, part)
                            .map_err(|_| DmaFault::Media(ERROR_UNC))?;
                        prd.scatter(mem, part)?;
                    }
                    lba = lba.wrapping_add(u64::from(n));
                    left -= n;
                }
            }
            DmaJob::Packet { data, read } => {
                if !to_memory {
                    return Err(DmaFault::Direction);
                }
                prd.scatter(mem, &data)?;
                if let Some((mut lba, mut left)) = read {
                    let Media::Cdrom(drive) = &mut self.media else {
                        return Err(DmaFault::Media(ERROR_ABRT));
                    };
                    let chunk = left.min(ATAPI_CHUNK_BLOCKS) as usize * ATAPI_BLOCK_SIZE;
                    let mut buf = vec![0u8; chunk];
                    while left > 0 {
                        let n = left.min(ATAPI_CHUNK_BLOCKS);
                        let part = &mut buf[..n as usize * ATAPI_BLOCK_SIZE];
                        if drive.read_blocks(lba, n, part).is_err() {
                            return Err(DmaFault::CheckCondition);
                        }
                        prd.scatter(mem, part)?;
                        lba = lba.wrapping_add(n);
                        left -= n;
                    }
                }
            }
        }
        Ok(prd.exhausted())
    }
}

/// One IDE channel: two device slots, the shared Device and Device Control
/// registers, INTRQ, and this channel's bus-master registers.
struct Channel {
    devices: [Option<Device>; 2],
    device_reg: u8,
    devctl: u8,
    irq_pending: bool,
    bm_command: u8,
    bm_status: u8,
    bm_prdt: u32,
}

impl Channel {
    fn new() -> Self {
        Self {
            devices: [None, None],
            device_reg: 0,
            devctl: 0,
            irq_pending: false,
            bm_command: 0,
            bm_status: 0,
            bm_prdt: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.devices.iter().all(Option::is_none)
    }

    fn selected_index(&self) -> usize {
        usize::from(self.device_reg & DEVICE_DEV != 0)
    }

    fn selected(&mut self) -> Option<&mut Device> {
        let i = self.selected_index();
        self.devices[i].as_mut()
    }

    /// Collects INTRQ requests from the devices.
    fn harvest(&mut self) {
        for d in self.devices.iter_mut().flatten() {
            if core::mem::take(&mut d.raise) {
                self.irq_pending = true;
            }
        }
    }

    fn read_register(&mut self, reg: u16) -> u8 {
        if self.is_empty() {
            return 0xFF;
        }
        if reg == REG_DEVICE {
            return self.device_reg;
        }
        let hob = self.devctl & DEVCTL_HOB != 0;
        let Some(dev) = self.selected() else {
            return 0;
        };
        let tf = &dev.tf;
        let v = match reg {
            REG_ERROR_FEATURES => tf.error,
            REG_SECTOR_COUNT => tf.sector_count.read(hob),
            REG_LBA_LOW => tf.lba_low.read(hob),
            REG_LBA_MID => tf.lba_mid.read(hob),
            REG_LBA_HIGH => tf.lba_high.read(hob),
            _ => tf.status,
        };
        if reg == REG_STATUS_COMMAND {
            self.irq_pending = false;
        }
        v
    }

    fn alternate_status(&mut self) -> u8 {
        if self.is_empty() {
            return 0xFF;
        }
        self.selected().map_or(0, |d| d.tf.status)
    }

    fn write_register(&mut self, reg: u16, value: u8) {
        self.devctl &= !DEVCTL_HOB;
        match reg {
            REG_DEVICE => self.device_reg = value,
            REG_STATUS_COMMAND => self.command(value),
            _ => {
                for d in self.devices.iter_mut().flatten() {
                    let tf = &mut d.tf;
                    match reg {
                        REG_ERROR_FEATURES => tf.features.push(value),
                        REG_SECTOR_COUNT => tf.sector_count.push(value),
                        REG_LBA_LOW => tf.lba_low.push(value),
                        REG_LBA_MID => tf.lba_mid.push(value),
                        _ => tf.lba_high.push(value),
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: u8) {
        if self.devctl & DEVCTL_SRST != 0 {
            return;
        }
        if cmd == CMD_EXECUTE_DIAGNOSTIC {
            // Addressed to both devices (ATA-6 clause 9, EXECUTE DEVICE
            // DIAGNOSTIC command protocol); device 0 is selected afterwards.
            if self.is_empty() {
                return;
            }
            self.irq_pending = false;
            for d in self.devices.iter_mut().flatten() {
                d.reset();
            }
            self.device_reg = 0;
            self.irq_pending = true;
            return;
        }
        let device_reg = self.device_reg;
        let Some(dev) = self.selected() else {
            return;
        };
        dev.stop_transfer();
        dev.tf.error = 0;
        if dev.is_cdrom() {
            dev.cdrom_command(cmd);
        } else {
            dev.disk_command(cmd, device_reg);
        }
        self.irq_pending = false;
        self.harvest();
    }

    fn write_control(&mut self, value: u8) {
        let was_reset = self.devctl & DEVCTL_SRST != 0;
        let reset = value & DEVCTL_SRST != 0;
        self.devctl = value;
        if reset && !was_reset {
            for d in self.devices.iter_mut().flatten() {
                d.reset_enter();
            }
            self.irq_pending = false;
        } else if !reset && was_reset {
            for d in self.devices.iter_mut().flatten() {
                d.reset();
            }
            self.device_reg = 0;
        }
    }

    fn data_read(&mut self, size: u8) -> u32 {
        if self.is_empty() {
            return all_ones(size);
        }
        let v = self
            .selected()
            .map_or(0, |d| d.data_read(usize::from(size)));
        self.harvest();
        v
    }

    fn data_write(&mut self, size: u8, value: u32) {
        if let Some(d) = self.selected() {
            d.data_write(usize::from(size), value);
        }
        self.harvest();
    }

    fn bm_read(&self, reg: u16) -> u8 {
        match reg {
            BM_COMMAND => self.bm_command,
            BM_STATUS => self.bm_status,
            r if (BM_PRDT..BM_PRDT + 4).contains(&r) => (self.bm_prdt >> (8 * (r - BM_PRDT))) as u8,
            _ => 0,
        }
    }

    fn bm_write(&mut self, reg: u16, value: u8) {
        match reg {
            BM_COMMAND => {
                let start = value & BM_CMD_START != 0;
                let was = self.bm_command & BM_CMD_START != 0;
                if start && !was {
                    self.bm_status |= BM_STATUS_ACTIVE;
                } else if !start && was {
                    self.bm_status &= !BM_STATUS_ACTIVE;
                }
                self.bm_command = value & (BM_CMD_START | BM_CMD_WRITE_MEMORY);
            }
            BM_STATUS => {
                let kept = self.bm_status & BM_STATUS_ACTIVE;
                let w1c = self.bm_status & !value & (BM_STATUS_ERROR | BM_STATUS_INTERRUPT);
                let rw = value & (BM_STATUS_DRIVE0_DMA | BM_STATUS_DRIVE1_DMA);
                self.bm_status = kept | w1c | rw;
            }
            r if (BM_PRDT..BM_PRDT + 4).contains(&r) => {
                let shift = 8 * u32::from(r - BM_PRDT);
                let v = (self.bm_prdt & !(0xFF << shift)) | (u32::from(value) << shift);
                self.bm_prdt = v & BM_PRDT_MASK;
            }
            _ => {}
        }
    }

    /// SFF-8038i: a started bus master moves the selected device's pending DMA.
    fn run_dma(&mut self, mem: &mut dyn DmaMemory) {
        if self.bm_command & BM_CMD_START == 0 || self.bm_status & BM_STATUS_ACTIVE == 0 {
            return;
        }
        let table = self.bm_prdt;
        let to_memory = self.bm_command & BM_CMD_WRITE_MEMORY != 0;
        let Some(dev) = self.selected() else {
            return;
        };
        let Some(job) = dev.dma.take() else {
            return;
        };
        let result = dev.run_dma_job(job, table, to_memory, mem);
        let cdrom = dev.is_cdrom();
        let mut bm_error = false;
        let mut exhausted = true;
        match result {
            Ok(used_up) => {
                exhausted = used_up;
                if cdrom {
                    dev.packet_complete();
                } else {
                    dev.complete(true);
                }
            }
            Err(DmaFault::CheckCondition) => dev.packet_check_condition(),
            Err(DmaFault::Media(bits)) => dev.fail(bits),
            Err(
                DmaFault::Memory(_)
                | DmaFault::TableTooShort
                | DmaFault::TableTooLong
                | DmaFault::Direction,
            ) => {
                bm_error = true;
                dev.fail(ERROR_ABRT);
                if cdrom {
                    dev.tf.sector_count.cur = IREASON_COD | IREASON_IO;
                }
            }
        }
        if bm_error {
            self.bm_status |= BM_STATUS_ERROR;
        }
        if exhausted {
            self.bm_status &= !BM_STATUS_ACTIVE;
        }
        self.bm_status |= BM_STATUS_INTERRUPT;
        self.harvest();
    }
}

/// Which register a legacy port reaches.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Port {
    Command(usize, u16),
    Control(usize),
}

fn decode_port(port: u16) -> Option<Port> {
    let in_block = |base: u16| port.wrapping_sub(base) < COMMAND_BLOCK_LEN && port >= base;
    if in_block(PRIMARY_COMMAND_BASE) {
        Some(Port::Command(0, port - PRIMARY_COMMAND_BASE))
    } else if in_block(SECONDARY_COMMAND_BASE) {
        Some(Port::Command(1, port - SECONDARY_COMMAND_BASE))
    } else if port == PRIMARY_CONTROL_PORT {
        Some(Port::Control(0))
    } else if port == SECONDARY_CONTROL_PORT {
        Some(Port::Control(1))
    } else {
        None
    }
}

/// The IDE controller: primary and secondary channels plus the SFF-8038i bus
/// master.
pub struct IdeController {
    channels: [Channel; 2],
}

impl Default for IdeController {
    fn default() -> Self {
        Self::new()
    }
}

impl IdeController {
    /// A controller with no devices attached.
    pub fn new() -> Self {
        Self {
            channels: [Channel::new(), Channel::new()],
        }
    }

    /// Attaches a hard disk as device 0 (`slave` false) or 1 of `channel` (0 =
    /// primary, 1 = secondary), replacing what was there. Other channels are
    /// ignored.
    pub fn attach_disk(&mut self, channel: usize, slave: bool, media: Box<dyn BlockBackend>) {
        let sectors = (media.len() / SECTOR_SIZE as u64).min(MAX_LBA48);
        let mut serial = *b"VMMHD000000000000000";
        serial[18] = b'0' + (channel as u8 & 1);
        serial[19] = b'0' + u8::from(slave);
        let disk = Disk {
            backend: media,
            sectors,
            multiple: 0,
            heads: DEFAULT_HEADS,
            sectors_per_track: DEFAULT_SPT,
            write_cache: true,
            serial,
        };
        self.attach(channel, slave, Media::Disk(disk));
    }

    /// Attaches an ATAPI CD-ROM drive as device 0 or 1 of `channel`.
    pub fn attach_cdrom(&mut self, channel: usize, slave: bool, drive: AtapiDrive) {
        self.attach(channel, slave, Media::Cdrom(drive));
    }

    fn attach(&mut self, channel: usize, slave: bool, media: Media) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        ch.devices[usize::from(slave)] = Some(Device::new(media, slave));
        ch.bm_status |= if slave {
            BM_STATUS_DRIVE1_DMA
        } else {
            BM_STATUS_DRIVE0_DMA
        };
    }

    /// A guest read of `size` bytes from a legacy port (0x1F0-0x1F7, 0x3F6,
    /// 0x170-0x177, 0x376). Data register accesses move `size` bytes; wider
    /// accesses to other registers read consecutive registers.
    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        let size = size.clamp(1, 4);
        match decode_port(port) {
            None => all_ones(size),
            Some(Port::Command(ch, REG_DATA)) => self.channels[ch].data_read(size),
            Some(Port::Command(ch, reg)) => (0..u16::from(size)).fold(0, |acc, i| {
                let r = reg + i;
                let b = if r < COMMAND_BLOCK_LEN {
                    self.channels[ch].read_register(r)
                } else {
                    0xFF
                };
                acc | (u32::from(b) << (8 * i))
            }),
            Some(Port::Control(ch)) => {
                let v = u32::from(self.channels[ch].alternate_status());
                v | (all_ones(size) & !0xFF)
            }
        }
    }

    /// A guest write of the low `size` bytes of `value` to a legacy port.
    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        let size = size.clamp(1, 4);
        match decode_port(port) {
            None => {}
            Some(Port::Command(ch, REG_DATA)) => self.channels[ch].data_write(size, value),
            Some(Port::Command(ch, reg)) => {
                for i in 0..u16::from(size) {
                    let r = reg + i;
                    if r < COMMAND_BLOCK_LEN {
                        self.channels[ch].write_register(r, (value >> (8 * i)) as u8);
                    }
                }
            }
            Some(Port::Control(ch)) => self.channels[ch].write_control(value as u8),
        }
    }

    /// String-I/O fast path for `rep insw/insd` on `channel`'s Data register:
    /// moves up to `out.len()` bytes of data-in and returns how many it moved.
    /// It stops early when no data is offered (DRQ clear); the rest of the
    /// string should then go through [`IdeController::read`].
    pub fn read_data_block(&mut self, channel: usize, out: &mut [u8]) -> usize {
        let Some(ch) = self.channels.get_mut(channel) else {
            return 0;
        };
        let n = ch.selected().map_or(0, |d| d.read_block(out));
        ch.harvest();
        n
    }

    /// String-I/O fast path for `rep outsw/outsd`: moves up to `data.len()`
    /// bytes into data-out blocks and returns how many it took.
    pub fn write_data_block(&mut self, channel: usize, data: &[u8]) -> usize {
        let Some(ch) = self.channels.get_mut(channel) else {
            return 0;
        };
        let n = ch.selected().map_or(0, |d| d.write_block(data));
        ch.harvest();
        n
    }

    /// A guest read from the bus-master block (`offset` 0..16 from BAR4).
    pub fn bm_read(&mut self, offset: u16, size: u8) -> u32 {
        let size = size.clamp(1, 4);
        (0..u16::from(size)).fold(0, |acc, i| {
            let off = offset.wrapping_add(i);
            let b = if off < BUS_MASTER_LEN {
                let ch = usize::from(off / BM_CHANNEL_STRIDE);
                self.channels[ch].bm_read(off % BM_CHANNEL_STRIDE)
            } else {
                0xFF
            };
            acc | (u32::from(b) << (8 * i))
        })
    }

    /// A guest write to the bus-master block.
    pub fn bm_write(&mut self, offset: u16, size: u8, value: u32) {
        let size = size.clamp(1, 4);
        for i in 0..u16::from(size) {
            let off = offset.wrapping_add(i);
            if off < BUS_MASTER_LEN {
                let ch = usize::from(off / BM_CHANNEL_STRIDE);
                self.channels[ch].bm_write(off % BM_CHANNEL_STRIDE, (value >> (8 * i)) as u8);
            }
        }
    }

    /// Runs any DMA transfer that is both commanded and started; call after
    /// every I/O exit. Guest memory is touched only here, only through `mem`.
    pub fn run_dma(&mut self, mem: &mut dyn DmaMemory) {
        for ch in self.channels.iter_mut() {
            ch.run_dma(mem);
        }
    }

    /// The level of `channel`'s interrupt line (IRQ14 primary, IRQ15 secondary).
    pub fn irq_level(&self, channel: usize) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|ch| ch.irq_pending && ch.devctl & DEVCTL_NIEN == 0 && !ch.is_empty())
    }
}

/// The legacy ports of one register block on the port-I/O bus: register at
/// `PRIMARY_COMMAND_BASE`/`SECONDARY_COMMAND_BASE` with length
/// [`COMMAND_BLOCK_LEN`], or at the control ports with [`CONTROL_BLOCK_LEN`].
pub struct IdePorts {
    base: u16,
    ide: Rc<RefCell<IdeController>>,
}

impl IdePorts {
    /// The block starting at absolute port `base`.
    pub fn new(base: u16, ide: Rc<RefCell<IdeController>>) -> Self {
        Self { base, ide }
    }
}

impl PortIoDevice for IdePorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.ide.try_borrow_mut() {
            Ok(mut ide) => ide.read(self.base.wrapping_add(offset), size),
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut ide) = self.ide.try_borrow_mut() {
            ide.write(self.base.wrapping_add(offset), size, value);
        }
    }
}

/// The bus-master block (BAR4, [`BUS_MASTER_LEN`] ports) on the port-I/O bus.
pub struct BusMasterPorts {
    ide: Rc<RefCell<IdeController>>,
}

impl BusMasterPorts {
    /// The bus-master registers of `ide`.
    pub fn new(ide: Rc<RefCell<IdeController>>) -> Self {
        Self { ide }
    }
}

impl PortIoDevice for BusMasterPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.ide.try_borrow_mut() {
            Ok(mut ide) => ide.bm_read(offset, size),
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut ide) = self.ide.try_borrow_mut() {
            ide.bm_write(offset, size, value);
        }
    }
}

#[cfg(test)]
mod tests;
