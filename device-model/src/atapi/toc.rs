//! READ TOC/PMA/ATIP and READ DISC INFORMATION (MMC-5) for a finalized
//! single-session disc with one Mode 1 data track.

use super::{be16, data_in, AtapiDrive, CommandResult, INVALID_FIELD};
use alloc::vec;
use alloc::vec::Vec;

/// READ TOC byte 1 bit 1: MSF, addresses as minute/second/frame.
pub(super) const READ_TOC_MSF: u8 = 1 << 1;
/// READ TOC byte 2 bits 3-0: FORMAT.
pub(super) const READ_TOC_FORMAT: u8 = 0x0F;
/// READ TOC byte 9 bits 7-6: the SFF-8020i format field.
pub(super) const READ_TOC_LEGACY_FORMAT_SHIFT: u8 = 6;
/// READ DISC INFORMATION byte 1 bits 2-0: DATA TYPE.
pub(super) const READ_DISC_INFORMATION_DATA_TYPE: u8 = 0x07;
/// TOC track descriptor ADR 1 (Q sub-channel position), CONTROL 4 (data
/// track, recorded uninterrupted): byte 1 = ADR << 4 | CONTROL.
pub(super) const ADR_CONTROL_DATA_TRACK: u8 = 0x14;
/// Track number of the lead-out area in a TOC.
pub(super) const TRACK_LEAD_OUT: u8 = 0xAA;
/// The single data track on the disc.
pub(super) const TRACK_DATA: u8 = 1;
/// Full TOC POINT A0h: first track number, disc type.
pub(super) const POINT_FIRST_TRACK: u8 = 0xA0;
/// Full TOC POINT A1h: last track number.
pub(super) const POINT_LAST_TRACK: u8 = 0xA1;
/// Full TOC POINT A2h: start of the lead-out.
pub(super) const POINT_LEAD_OUT: u8 = 0xA2;
/// Frames before LBA 0 in MSF addressing (the 2-second pre-gap).
pub(super) const MSF_LBA_OFFSET: u64 = 150;
/// Frames per second of CD audio time.
pub(super) const FRAMES_PER_SECOND: u64 = 75;
/// Disc information byte 2: state of last session 11b (complete), disc
/// status 10b (finalized).
pub(super) const DISC_STATUS_COMPLETE: u8 = (0b11 << 2) | 0b10;
/// Disc information byte 8: disc type 00h, CD-DA or CD-ROM.
pub(super) const DISC_TYPE_CD_ROM: u8 = 0x00;

impl AtapiDrive {
    /// READ TOC/PMA/ATIP (MMC-5): one data track, session 1.
    pub(super) fn read_toc(&self, p: &[u8; 12]) -> CommandResult {
        let capacity = self.capacity()?;
        let msf = p[1] & READ_TOC_MSF != 0;
        let mut format = p[2] & READ_TOC_FORMAT;
        if format == 0 {
            format = p[9] >> READ_TOC_LEGACY_FORMAT_SHIFT;
        }
        let number = p[6];
        let alloc = usize::from(be16(p, 7));
        let lead_out = capacity.min(u64::from(u32::MAX)) as u32;
        let mut d = vec![0u8; 4];
        match format {
            0 => {
                // Formatted TOC: descriptors from the starting track on.
                let with_track = match number {
                    0 | TRACK_DATA => true,
                    TRACK_LEAD_OUT => false,
                    _ => return Err(INVALID_FIELD),
                };
                d[2] = TRACK_DATA; // first track number
                d[3] = TRACK_DATA; // last track number
                if with_track {
                    push_track(&mut d, TRACK_DATA, 0, msf);
                }
                push_track(&mut d, TRACK_LEAD_OUT, lead_out, msf);
            }
            1 => {
                // Session information: first track of the last session.
                d[2] = 1; // first complete session
                d[3] = 1; // last complete session
                push_track(&mut d, TRACK_DATA, 0, msf);
            }
            2 => {
                // Full TOC: points A0h, A1h, A2h and track 1, always MSF.
                if number > 1 {
                    return Err(INVALID_FIELD);
                }
                d[2] = 1;
                d[3] = 1;
                push_full_toc(&mut d, POINT_FIRST_TRACK, [TRACK_DATA, DISC_TYPE_CD_ROM, 0]);
                push_full_toc(&mut d, POINT_LAST_TRACK, [TRACK_DATA, 0, 0]);
                push_full_toc(&mut d, POINT_LEAD_OUT, lba_to_msf(lead_out));
                push_full_toc(&mut d, TRACK_DATA, lba_to_msf(0));
            }
            _ => return Err(INVALID_FIELD),
        }
        let len = (d.len() - 2) as u16; // TOC DATA LENGTH excludes itself
        d[0..2].copy_from_slice(&len.to_be_bytes());
        Ok(data_in(d, alloc))
    }

    /// READ DISC INFORMATION (MMC-5): standard disc information of a
    /// finalized single-session CD-ROM.
    pub(super) fn read_disc_information(&self, p: &[u8; 12]) -> CommandResult {
        self.capacity()?;
        if p[1] & READ_DISC_INFORMATION_DATA_TYPE != 0 {
            return Err(INVALID_FIELD);
        }
        let mut d = vec![0u8; 34];
        d[0..2].copy_from_slice(&32u16.to_be_bytes()); // DISC INFORMATION LENGTH
        d[2] = DISC_STATUS_COMPLETE;
        d[3] = 1; // number of first track on disc
        d[4] = 1; // number of sessions (LSB)
        d[5] = 1; // first track number in last session (LSB)
        d[6] = 1; // last track number in last session (LSB)
        d[8] = DISC_TYPE_CD_ROM;
        d[16..20].fill(0xFF); // last session lead-in start: none (complete disc)
        d[20..24].fill(0xFF); // last possible lead-out start: none
        Ok(data_in(d, usize::from(be16(p, 7))))
    }
}

/// Appends an 8-byte TOC track descriptor.
fn push_track(d: &mut Vec<u8>, track: u8, lba: u32, msf: bool) {
    d.extend_from_slice(&[0, ADR_CONTROL_DATA_TRACK, track, 0]);
    if msf {
        let [m, s, f] = lba_to_msf(lba);
        d.extend_from_slice(&[0, m, s, f]);
    } else {
        d.extend_from_slice(&lba.to_be_bytes());
    }
}

/// Appends an 11-byte full TOC descriptor for `point` in session 1.
fn push_full_toc(d: &mut Vec<u8>, point: u8, [pmin, psec, pframe]: [u8; 3]) {
    d.extend_from_slice(&[
        1,
        ADR_CONTROL_DATA_TRACK,
        0,
        point,
        0,
        0,
        0,
        0,
        pmin,
        psec,
        pframe,
    ]);
}

/// LBA to minute/second/frame, counting the 150-frame pre-gap; minutes beyond
/// 255 (impossible on a CD) saturate.
pub(super) fn lba_to_msf(lba: u32) -> [u8; 3] {
    let frames = u64::from(lba) + MSF_LBA_OFFSET;
    let minutes = (frames / (60 * FRAMES_PER_SECOND)).min(255) as u8;
    let seconds = ((frames / FRAMES_PER_SECOND) % 60) as u8;
    let frame = (frames % FRAMES_PER_SECOND) as u8;
    [minutes, seconds, frame]
}
