//! MODE SENSE(6) and MODE SENSE(10) (SPC-3, mode parameters 7.4) with mode
//! pages 01h (MMC-5 7.3) and 2Ah (SFF-8020i, CD Capabilities and Mechanical
//! Status).

use super::{
    be16, data_in, AtapiDrive, CommandResult, Sense, ASC_SAVING_PARAMETERS_NOT_SUPPORTED,
    INVALID_FIELD,
};
use alloc::vec;
use alloc::vec::Vec;

/// MODE SENSE byte 2 bits 7-6: PC, page control.
pub(super) const MODE_SENSE_PC_SHIFT: u8 = 6;
/// MODE SENSE byte 2 bits 5-0: PAGE CODE.
pub(super) const MODE_SENSE_PAGE_CODE: u8 = 0x3F;
/// Page control 01b: changeable values (a mask).
pub(super) const PC_CHANGEABLE: u8 = 1;
/// Page control 11b: saved values.
pub(super) const PC_SAVED: u8 = 3;
/// Mode page 01h: Read/Write Error Recovery.
pub(super) const MODE_PAGE_ERROR_RECOVERY: u8 = 0x01;
/// Mode page 2Ah: CD Capabilities and Mechanical Status.
pub(super) const MODE_PAGE_CAPABILITIES: u8 = 0x2A;
/// Mode page code 3Fh: return all pages.
pub(super) const MODE_PAGE_ALL: u8 = 0x3F;
/// Subpage code FFh: all subpages (with page 3Fh).
pub(super) const MODE_SUBPAGE_ALL: u8 = 0xFF;
/// Page 2Ah byte 6 bit 0: LOCK, the drive can lock the medium in.
pub(super) const CAP_LOCK: u8 = 1 << 0;
/// Page 2Ah byte 6 bit 1: LOCK STATE, the medium is locked in now.
pub(super) const CAP_LOCK_STATE: u8 = 1 << 1;
/// Page 2Ah byte 6 bit 3: EJECT, START STOP UNIT can eject the medium.
pub(super) const CAP_EJECT: u8 = 1 << 3;
/// Page 2Ah byte 6 bits 7-5 = 001b: tray loading mechanism.
pub(super) const CAP_LOADING_TRAY: u8 = 0b001 << 5;
/// Reported read speed in kB/s (24x at 176 kB/s per 1x, as MMC counts).
pub(super) const READ_SPEED_KBPS: u16 = 24 * 176;

impl AtapiDrive {
    /// MODE SENSE(6)/(10) (SPC-3, mode parameters 7.4). Current and default
    /// values are the same; changeable values are all zero (MODE SELECT is not
    /// implemented). No block descriptors are returned (MMC devices have
    /// none), so DBD makes no difference.
    pub(super) fn mode_sense(&self, p: &[u8; 12], ten: bool) -> CommandResult {
        let pc = p[2] >> MODE_SENSE_PC_SHIFT;
        let page = p[2] & MODE_SENSE_PAGE_CODE;
        let subpage = p[3];
        if pc == PC_SAVED {
            return Err(Sense::illegal(ASC_SAVING_PARAMETERS_NOT_SUPPORTED));
        }
        let changeable = pc == PC_CHANGEABLE;
        let pages = match (page, subpage) {
            (MODE_PAGE_ALL, 0 | MODE_SUBPAGE_ALL) => {
                let mut v = error_recovery_page();
                v.extend_from_slice(&self.capabilities_page(changeable));
                v
            }
            (MODE_PAGE_ERROR_RECOVERY, 0) => error_recovery_page(),
            (MODE_PAGE_CAPABILITIES, 0) => self.capabilities_page(changeable),
            _ => return Err(INVALID_FIELD),
        };
        let mut d = Vec::with_capacity(8 + pages.len());
        if ten {
            // MODE DATA LENGTH, MEDIUM TYPE, DEVICE-SPECIFIC PARAMETER,
            // reserved, BLOCK DESCRIPTOR LENGTH 0.
            let len = (6 + pages.len()) as u16;
            d.extend_from_slice(&len.to_be_bytes());
            d.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            d.extend_from_slice(&pages);
            Ok(data_in(d, usize::from(be16(p, 7))))
        } else {
            d.extend_from_slice(&[(3 + pages.len()) as u8, 0, 0, 0]);
            d.extend_from_slice(&pages);
            Ok(data_in(d, usize::from(p[4])))
        }
    }

    /// Mode page 2Ah (SFF-8020i, 20-byte form): reads Mode 1 CD-ROM, lockable,
    /// ejectable, tray loading; no audio, no writing.
    fn capabilities_page(&self, changeable: bool) -> Vec<u8> {
        let mut v = vec![0u8; 20];
        v[0] = MODE_PAGE_CAPABILITIES;
        v[1] = 0x12;
        if changeable {
            return v;
        }
        let lock_state = if self.prevent_removal {
            CAP_LOCK_STATE
        } else {
            0
        };
        v[6] = CAP_LOCK | lock_state | CAP_EJECT | CAP_LOADING_TRAY;
        v[8..10].copy_from_slice(&READ_SPEED_KBPS.to_be_bytes()); // maximum read speed
        v[14..16].copy_from_slice(&READ_SPEED_KBPS.to_be_bytes()); // current read speed
        v
    }
}

/// Mode page 01h (MMC-5 7.3): no recovery bits set, no retries; the same
/// bytes serve as the (all-zero) changeable mask.
fn error_recovery_page() -> Vec<u8> {
    let mut v = vec![0u8; 12];
    v[0] = MODE_PAGE_ERROR_RECOVERY;
    v[1] = 0x0A; // PAGE LENGTH
    v
}
