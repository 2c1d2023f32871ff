//! ATAPI CD-ROM: the SCSI/MMC packet commands a CD-ROM drive executes,
//! independent of the IDE task-file registers that carry them.
//!
//! Specifications implemented (command names identify the clause in each):
//! - SPC-3 (SCSI Primary Commands-3, T10/1416-D r23): 4.5.3 "Fixed format
//!   sense data", 4.5.6 "Sense key and sense code definitions", 6.4 INQUIRY
//!   (6.4.2 "Standard INQUIRY data"), MODE SENSE(6) and MODE SENSE(10) with
//!   7.4 "Mode parameters", PREVENT ALLOW MEDIUM REMOVAL, REQUEST SENSE,
//!   TEST UNIT READY, 7.6 "Vital product data parameters" (pages 00h, 80h),
//!   and the unit attention condition of SAM-3/SPC-3.
//! - MMC-5 (SCSI Multimedia Commands-5, T10/1675-D r04): clause 6 commands
//!   GET CONFIGURATION (with 5.3 features 0000h Profile List, 0001h Core,
//!   0002h Morphing, 0003h Removable Medium, 0010h Random Readable, 001Eh CD
//!   Read; profile 0008h CD-ROM), GET EVENT STATUS NOTIFICATION (polled,
//!   Media class), MECHANISM STATUS, READ(10), READ(12), READ CAPACITY, READ
//!   DISC INFORMATION (standard disc information), READ TOC/PMA/ATIP (formats
//!   0000b TOC, 0001b session information, 0010b full TOC), SET CD SPEED,
//!   START STOP UNIT; mode page 01h "Read/Write Error Recovery" (7.3).
//! - SFF-8020i r2.6 (ATAPI for CD-ROMs): mode page 2Ah "CD Capabilities and
//!   Mechanical Status" in its 20-byte form, and the legacy READ TOC format
//!   field in byte 9 bits 7-6.
//! - ATA/ATAPI-6 (T13/1410D r3b): 8.16 IDENTIFY PACKET DEVICE and its word
//!   layout (table 29).
//!
//! The medium is a read-only image behind [`BlockBackend`] in 2048-byte
//! logical blocks. Its capacity is `ceil(len / 2048)` blocks: the bytes of a
//! final partial block read as stored and the rest of that block reads as
//! zero. Capacities beyond 2^32 blocks are cut to 2^32 (the largest READ(12)
//! can address).
//!
//! No command allocates a guest-chosen amount: every `DataIn` answer is a
//! fixed-size structure below 100 bytes cut to the allocation length, and reads
//! are answered with [`PacketResult::Read`] so the IDE layer streams them in
//! chunks of its own choosing through [`AtapiDrive::read_blocks`].
//!
//! Sense data reflects the last command: every command but REQUEST SENSE
//! starts by clearing it, so after a command that did not end in CHECK
//! CONDITION [`AtapiDrive::sense`] is `(0, 0, 0)`.
//!
//! The drive models a tray. START STOP UNIT with LoEj opens it (keeping the
//! disc in it; refused while removal is prevented) and closes it again, which
//! reloads the same disc with a unit attention. The host side's
//! [`AtapiDrive::eject`] takes the disc away regardless of PREVENT (the user
//! pulled it), and [`AtapiDrive::insert`] puts a disc in a closed tray.
//!
//! This file holds the drive state, command dispatch, sense and unit
//! attention, START STOP UNIT and the read path; the data-in commands live in
//! `inquiry`, `mode`, `toc` and `features`, IDENTIFY PACKET DEVICE in
//! `identify`.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::BlockBackend;

mod features;
mod identify;
mod inquiry;
mod mode;
#[cfg(test)]
mod tests;
mod toc;

pub use identify::{
    set_integrity_word, IDENTIFY_WORD_INTEGRITY, IDENTIFY_WORD_MWDMA, IDENTIFY_WORD_UDMA,
};

/// Logical block size of CD-ROM data (Mode 1 user data), in bytes.
pub const ATAPI_BLOCK_SIZE: usize = 2048;
const BLOCK: u64 = ATAPI_BLOCK_SIZE as u64;
/// Most blocks the drive reports: READ(12) addresses 2^32 blocks.
const MAX_BLOCKS: u64 = 1 << 32;

// ---------------------------------------------------------------------------
// Operation codes (SPC-3 annex D, MMC-5 clause 6).

/// TEST UNIT READY (SPC-3).
pub const OP_TEST_UNIT_READY: u8 = 0x00;
/// REQUEST SENSE (SPC-3).
pub const OP_REQUEST_SENSE: u8 = 0x03;
/// INQUIRY (SPC-3 6.4).
pub const OP_INQUIRY: u8 = 0x12;
/// MODE SENSE(6) (SPC-3).
pub const OP_MODE_SENSE_6: u8 = 0x1A;
/// START STOP UNIT (MMC-5).
pub const OP_START_STOP_UNIT: u8 = 0x1B;
/// PREVENT ALLOW MEDIUM REMOVAL (SPC-3, MMC-5).
pub const OP_PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1E;
/// READ CAPACITY (MMC-5).
pub const OP_READ_CAPACITY: u8 = 0x25;
/// READ(10) (MMC-5).
pub const OP_READ_10: u8 = 0x28;
/// READ TOC/PMA/ATIP (MMC-5).
pub const OP_READ_TOC_PMA_ATIP: u8 = 0x43;
/// GET CONFIGURATION (MMC-5).
pub const OP_GET_CONFIGURATION: u8 = 0x46;
/// GET EVENT STATUS NOTIFICATION (MMC-5).
pub const OP_GET_EVENT_STATUS_NOTIFICATION: u8 = 0x4A;
/// READ DISC INFORMATION (MMC-5).
pub const OP_READ_DISC_INFORMATION: u8 = 0x51;
/// MODE SENSE(10) (SPC-3).
pub const OP_MODE_SENSE_10: u8 = 0x5A;
/// READ(12) (MMC-5).
pub const OP_READ_12: u8 = 0xA8;
/// SET CD SPEED (MMC-5).
pub const OP_SET_CD_SPEED: u8 = 0xBB;
/// MECHANISM STATUS (MMC-5).
pub const OP_MECHANISM_STATUS: u8 = 0xBD;

// ---------------------------------------------------------------------------
// Sense keys (SPC-3 4.5.6, table 27).

/// NO SENSE: nothing to report.
pub const SENSE_NO_SENSE: u8 = 0x0;
/// NOT READY: the logical unit cannot be accessed.
pub const SENSE_NOT_READY: u8 = 0x2;
/// MEDIUM ERROR: unrecovered error reading the medium.
pub const SENSE_MEDIUM_ERROR: u8 = 0x3;
/// HARDWARE ERROR: the device failed internally.
pub const SENSE_HARDWARE_ERROR: u8 = 0x4;
/// ILLEGAL REQUEST: bad command or parameter in the CDB.
pub const SENSE_ILLEGAL_REQUEST: u8 = 0x5;
/// UNIT ATTENTION: the medium may have changed, or the unit was reset.
pub const SENSE_UNIT_ATTENTION: u8 = 0x6;

// Additional sense codes and qualifiers (SPC-3 4.5.6, table 28).

/// ASC 11h/00h: UNRECOVERED READ ERROR.
const ASC_UNRECOVERED_READ_ERROR: (u8, u8) = (0x11, 0x00);
/// ASC 20h/00h: INVALID COMMAND OPERATION CODE.
const ASC_INVALID_COMMAND_OPERATION_CODE: (u8, u8) = (0x20, 0x00);
/// ASC 21h/00h: LOGICAL BLOCK ADDRESS OUT OF RANGE.
const ASC_LBA_OUT_OF_RANGE: (u8, u8) = (0x21, 0x00);
/// ASC 24h/00h: INVALID FIELD IN CDB.
const ASC_INVALID_FIELD_IN_CDB: (u8, u8) = (0x24, 0x00);
/// ASC 28h/00h: NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED.
const ASC_MEDIUM_MAY_HAVE_CHANGED: (u8, u8) = (0x28, 0x00);
/// ASC 39h/00h: SAVING PARAMETERS NOT SUPPORTED.
const ASC_SAVING_PARAMETERS_NOT_SUPPORTED: (u8, u8) = (0x39, 0x00);
/// ASC 3Ah/00h: MEDIUM NOT PRESENT.
const ASC_MEDIUM_NOT_PRESENT: (u8, u8) = (0x3A, 0x00);
/// ASC 3Ah/02h: MEDIUM NOT PRESENT - TRAY OPEN.
const ASC_MEDIUM_NOT_PRESENT_TRAY_OPEN: (u8, u8) = (0x3A, 0x02);
/// ASC 44h/00h: INTERNAL TARGET FAILURE.
const ASC_INTERNAL_TARGET_FAILURE: (u8, u8) = (0x44, 0x00);
/// ASC 53h/02h: MEDIUM REMOVAL PREVENTED.
const ASC_MEDIUM_REMOVAL_PREVENTED: (u8, u8) = (0x53, 0x02);

// ---------------------------------------------------------------------------
// CDB fields.

/// REQUEST SENSE byte 1 bit 0: DESC, descriptor format sense data wanted.
const REQUEST_SENSE_DESC: u8 = 1 << 0;
/// START STOP UNIT byte 4 bit 0: START, spin up (or load with LoEj).
const START_STOP_START: u8 = 1 << 0;
/// START STOP UNIT byte 4 bit 1: LOEJ, load or eject the medium.
const START_STOP_LOEJ: u8 = 1 << 1;
/// START STOP UNIT byte 4 bits 7-4: POWER CONDITION; non-zero ignores START/LOEJ.
const START_STOP_POWER_CONDITION: u8 = 0xF0;
/// PREVENT ALLOW MEDIUM REMOVAL byte 4 bit 0: PREVENT medium removal.
const PREVENT_ALLOW_PREVENT: u8 = 1 << 0;

// ---------------------------------------------------------------------------
// Response fields.

/// Fixed format sense, byte 0: RESPONSE CODE 70h (current error, fixed).
const SENSE_RESPONSE_CODE_CURRENT_FIXED: u8 = 0x70;
/// Length of fixed format sense data.
const FIXED_SENSE_LEN: usize = 18;

/// Media event code 0h: NoChg.
const MEDIA_EVENT_NO_CHANGE: u8 = 0x0;
/// Media event code 2h: NewMedia.
const MEDIA_EVENT_NEW_MEDIA: u8 = 0x2;
/// Media event code 3h: MediaRemoval.
const MEDIA_EVENT_MEDIA_REMOVAL: u8 = 0x3;

/// Serial number, in IDENTIFY words 10-19 and VPD page 80h.
const SERIAL_NUMBER: &[u8] = b"VMMCD0001";

// ---------------------------------------------------------------------------

/// Sense key, additional sense code and qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sense {
    key: u8,
    asc: u8,
    ascq: u8,
}

impl Sense {
    const NONE: Sense = Sense::new(SENSE_NO_SENSE, (0, 0));

    const fn new(key: u8, (asc, ascq): (u8, u8)) -> Self {
        Self { key, asc, ascq }
    }

    const fn illegal(code: (u8, u8)) -> Self {
        Self::new(SENSE_ILLEGAL_REQUEST, code)
    }
}

const INVALID_FIELD: Sense = Sense::illegal(ASC_INVALID_FIELD_IN_CDB);

/// What the IDE layer does after a packet.
#[derive(Debug, PartialEq, Eq)]
pub enum PacketResult {
    /// Command done, no data phase.
    Done,
    /// Data to send to the host (already cut to the allocation length; never
    /// empty: an allocation length of zero gives `Done`).
    DataIn(Vec<u8>),
    /// Read command: `blocks` blocks (at least one) starting at `lba`, all
    /// within the medium, to stream to the host in chunks via
    /// [`AtapiDrive::read_blocks`] (lets the IDE layer bound its buffer).
    Read { lba: u32, blocks: u32 },
    /// CHECK CONDITION: sense data was set; the IDE layer reports ERR with the
    /// sense key in the error register's high nibble.
    CheckCondition,
}

type CommandResult = Result<PacketResult, Sense>;

/// One ATAPI CD-ROM drive: its tray, disc and sense state.
pub struct AtapiDrive {
    media: Option<Box<dyn BlockBackend>>,
    tray_open: bool,
    /// PREVENT ALLOW MEDIUM REMOVAL's Prevent bit.
    prevent_removal: bool,
    /// A NOT READY TO READY CHANGE unit attention is owed.
    unit_attention: bool,
    /// Media event code not yet reported by GET EVENT STATUS NOTIFICATION.
    media_event: u8,
    sense: Sense,
}

impl AtapiDrive {
    /// A drive at power-on, with `media` in its closed tray. A disc present at
    /// power-on is announced with a unit attention, as after an insertion.
    pub fn new(media: Option<Box<dyn BlockBackend>>) -> Self {
        let present = media.is_some();
        Self {
            media,
            tray_open: false,
            prevent_removal: false,
            unit_attention: present,
            media_event: if present {
                MEDIA_EVENT_NEW_MEDIA
            } else {
                MEDIA_EVENT_NO_CHANGE
            },
            sense: Sense::NONE,
        }
    }

    /// Puts a disc in the drive and closes the tray; the next command other
    /// than INQUIRY, REQUEST SENSE, GET CONFIGURATION or GET EVENT STATUS
    /// NOTIFICATION gets UNIT ATTENTION / MEDIUM MAY HAVE CHANGED.
    pub fn insert(&mut self, media: Box<dyn BlockBackend>) {
        self.media = Some(media);
        self.tray_open = false;
        self.medium_became_ready();
    }

    /// Takes the disc out (the host's eject: PREVENT does not stop it).
    pub fn eject(&mut self) {
        self.media = None;
        self.tray_open = false;
        self.medium_went_away();
    }

    /// True when a disc is loaded and the tray closed: the medium is readable.
    pub fn has_media(&self) -> bool {
        self.media.is_some() && !self.tray_open
    }

    /// Current sense key (for the ATA error register), ASC, ASCQ.
    pub fn sense(&self) -> (u8, u8, u8) {
        (self.sense.key, self.sense.asc, self.sense.ascq)
    }

    fn medium_became_ready(&mut self) {
        self.unit_attention = true;
        self.media_event = MEDIA_EVENT_NEW_MEDIA;
    }

    fn medium_went_away(&mut self) {
        self.unit_attention = false;
        self.media_event = MEDIA_EVENT_MEDIA_REMOVAL;
    }

    /// The medium's size in blocks, or NOT READY.
    fn capacity(&self) -> Result<u64, Sense> {
        match &self.media {
            _ if self.tray_open => Err(Sense::new(
                SENSE_NOT_READY,
                ASC_MEDIUM_NOT_PRESENT_TRAY_OPEN,
            )),
            None => Err(Sense::new(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT)),
            Some(m) => Ok(m.len().div_ceil(BLOCK).min(MAX_BLOCKS)),
        }
    }

    /// Executes one 12-byte command packet.
    pub fn execute(&mut self, packet: &[u8; 12]) -> PacketResult {
        let op = packet[0];
        if op == OP_REQUEST_SENSE {
            return self.request_sense(packet);
        }
        self.sense = Sense::NONE;
        // SPC-3: a pending unit attention fails any command but INQUIRY and
        // REQUEST SENSE; MMC-5 adds GET CONFIGURATION and GET EVENT STATUS
        // NOTIFICATION, which a host uses to poll for the medium.
        let passes_unit_attention = matches!(
            op,
            OP_INQUIRY | OP_GET_CONFIGURATION | OP_GET_EVENT_STATUS_NOTIFICATION
        );
        if self.unit_attention && !passes_unit_attention {
            self.unit_attention = false;
            return self.fail(Sense::new(
                SENSE_UNIT_ATTENTION,
                ASC_MEDIUM_MAY_HAVE_CHANGED,
            ));
        }
        let result = match op {
            OP_TEST_UNIT_READY => self.capacity().map(|_| PacketResult::Done),
            OP_INQUIRY => inquiry::inquiry(packet),
            OP_MODE_SENSE_6 => self.mode_sense(packet, false),
            OP_START_STOP_UNIT => self.start_stop_unit(packet),
            OP_PREVENT_ALLOW_MEDIUM_REMOVAL => {
                self.prevent_removal = packet[4] & PREVENT_ALLOW_PREVENT != 0;
                Ok(PacketResult::Done)
            }
            OP_READ_CAPACITY => self.read_capacity(),
            OP_READ_10 => {
                let blocks = u32::from(be16(packet, 7));
                self.read(be32(packet, 2), blocks)
            }
            OP_READ_12 => self.read(be32(packet, 2), be32(packet, 6)),
            OP_READ_TOC_PMA_ATIP => self.read_toc(packet),
            OP_GET_CONFIGURATION => self.get_configuration(packet),
            OP_GET_EVENT_STATUS_NOTIFICATION => self.get_event_status(packet),
            OP_READ_DISC_INFORMATION => self.read_disc_information(packet),
            OP_MODE_SENSE_10 => self.mode_sense(packet, true),
            OP_SET_CD_SPEED => Ok(PacketResult::Done),
            OP_MECHANISM_STATUS => self.mechanism_status(packet),
            _ => Err(Sense::illegal(ASC_INVALID_COMMAND_OPERATION_CODE)),
        };
        match result {
            Ok(r) => r,
            Err(sense) => self.fail(sense),
        }
    }

    fn fail(&mut self, sense: Sense) -> PacketResult {
        self.sense = sense;
        PacketResult::CheckCondition
    }

    /// Reads `count` blocks at `lba` into `buf` (len = count * 2048). On error
    /// sets sense and returns `Err(())`: NOT READY if the disc went away, LBA
    /// OUT OF RANGE past the end, HARDWARE ERROR / INTERNAL TARGET FAILURE if
    /// `buf` has the wrong length, MEDIUM ERROR if the backend fails.
    #[allow(clippy::result_unit_err)] // the detail is in the sense data
    pub fn read_blocks(&mut self, lba: u32, count: u32, buf: &mut [u8]) -> Result<(), ()> {
        self.read_into(lba, count, buf).map_err(|sense| {
            self.sense = sense;
        })
    }

    fn read_into(&self, lba: u32, count: u32, buf: &mut [u8]) -> Result<(), Sense> {
        let want = u64::from(count) * BLOCK;
        if buf.len() as u64 != want {
            return Err(Sense::new(
                SENSE_HARDWARE_ERROR,
                ASC_INTERNAL_TARGET_FAILURE,
            ));
        }
        let capacity = self.capacity()?;
        if u64::from(lba) + u64::from(count) > capacity {
            return Err(Sense::illegal(ASC_LBA_OUT_OF_RANGE));
        }
        let Some(media) = &self.media else {
            return Err(Sense::new(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT));
        };
        let start = u64::from(lba) * BLOCK;
        // Bytes the image holds; the rest of a final partial block is zero.
        let stored = media.len().saturating_sub(start).min(want) as usize;
        let (data, padding) = buf.split_at_mut(stored);
        media
            .read_at(start, data)
            .map_err(|_| Sense::new(SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR))?;
        padding.fill(0);
        Ok(())
    }

    /// REQUEST SENSE (SPC-3): returns fixed format sense data for the last
    /// command (or a pending unit attention) and clears it.
    fn request_sense(&mut self, p: &[u8; 12]) -> PacketResult {
        if p[1] & REQUEST_SENSE_DESC != 0 {
            return self.fail(INVALID_FIELD);
        }
        let sense = if self.sense.key == SENSE_NO_SENSE && self.unit_attention {
            self.unit_attention = false;
            Sense::new(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED)
        } else {
            self.sense
        };
        self.sense = Sense::NONE;
        let mut d = vec![0u8; FIXED_SENSE_LEN];
        d[0] = SENSE_RESPONSE_CODE_CURRENT_FIXED;
        d[2] = sense.key & 0x0F;
        d[7] = (FIXED_SENSE_LEN - 8) as u8; // ADDITIONAL SENSE LENGTH
        d[12] = sense.asc;
        d[13] = sense.ascq;
        data_in(d, usize::from(p[4]))
    }

    /// START STOP UNIT (MMC-5): spin-up/down is accepted and does nothing;
    /// LoEj opens or closes the tray.
    fn start_stop_unit(&mut self, p: &[u8; 12]) -> CommandResult {
        let b = p[4];
        if b & START_STOP_POWER_CONDITION != 0 || b & START_STOP_LOEJ == 0 {
            return Ok(PacketResult::Done);
        }
        if b & START_STOP_START != 0 {
            // Load: close the tray; a disc in it becomes ready.
            if self.tray_open {
                self.tray_open = false;
                if self.media.is_some() {
                    self.medium_became_ready();
                }
            }
        } else if !self.tray_open {
            if self.prevent_removal {
                return Err(Sense::illegal(ASC_MEDIUM_REMOVAL_PREVENTED));
            }
            self.tray_open = true;
            if self.media.is_some() {
                self.medium_went_away();
            }
        }
        Ok(PacketResult::Done)
    }

    /// READ CAPACITY (MMC-5): last LBA and block length, big-endian. An empty
    /// image reports last LBA 0.
    fn read_capacity(&self) -> CommandResult {
        let capacity = self.capacity()?;
        let last = capacity.saturating_sub(1).min(u64::from(u32::MAX)) as u32;
        let mut d = Vec::with_capacity(8);
        d.extend_from_slice(&last.to_be_bytes());
        d.extend_from_slice(&(ATAPI_BLOCK_SIZE as u32).to_be_bytes());
        Ok(PacketResult::DataIn(d))
    }

    /// READ(10)/READ(12) (MMC-5): checks the range; the data moves through
    /// `read_blocks`. A transfer length of zero transfers nothing.
    fn read(&self, lba: u32, blocks: u32) -> CommandResult {
        let capacity = self.capacity()?;
        if u64::from(lba) + u64::from(blocks) > capacity {
            return Err(Sense::illegal(ASC_LBA_OUT_OF_RANGE));
        }
        if blocks == 0 {
            return Ok(PacketResult::Done);
        }
        Ok(PacketResult::Read { lba, blocks })
    }
}

/// Cuts `d` to the allocation length; nothing left means no data phase.
fn data_in(mut d: Vec<u8>, alloc: usize) -> PacketResult {
    d.truncate(alloc);
    if d.is_empty() {
        PacketResult::Done
    } else {
        PacketResult::DataIn(d)
    }
}

fn be16(p: &[u8; 12], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

fn be32(p: &[u8; 12], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}
