//! GET CONFIGURATION (MMC-5, features of 5.3 and profile 0008h CD-ROM), GET
//! EVENT STATUS NOTIFICATION (polled, Media class) and MECHANISM STATUS.

use super::{
    be16, data_in, AtapiDrive, CommandResult, ATAPI_BLOCK_SIZE, INVALID_FIELD,
    MEDIA_EVENT_NO_CHANGE,
};
use alloc::vec;
use alloc::vec::Vec;

/// GET CONFIGURATION byte 1 bits 1-0: RT, which features to return.
pub(super) const GET_CONFIGURATION_RT: u8 = 0x03;
/// GET EVENT STATUS NOTIFICATION byte 1 bit 0: POLLED.
pub(super) const GESN_POLLED: u8 = 1 << 0;
/// Profile 0000h: no current profile (no medium).
pub(super) const PROFILE_NONE: u16 = 0x0000;
/// Profile 0008h: CD-ROM.
pub(super) const PROFILE_CD_ROM: u16 = 0x0008;
/// Feature 0000h: Profile List.
pub(super) const FEATURE_PROFILE_LIST: u16 = 0x0000;
/// Feature 0001h: Core.
pub(super) const FEATURE_CORE: u16 = 0x0001;
/// Feature 0002h: Morphing (the drive supports GET EVENT STATUS NOTIFICATION).
pub(super) const FEATURE_MORPHING: u16 = 0x0002;
/// Feature 0003h: Removable Medium.
pub(super) const FEATURE_REMOVABLE_MEDIUM: u16 = 0x0003;
/// Feature 0010h: Random Readable.
pub(super) const FEATURE_RANDOM_READABLE: u16 = 0x0010;
/// Feature 001Eh: CD Read.
pub(super) const FEATURE_CD_READ: u16 = 0x001E;
/// Feature descriptor byte 2 bit 1: PERSISTENT, always current.
pub(super) const FEATURE_PERSISTENT: u8 = 1 << 1;
/// Feature descriptor byte 2 bit 0: CURRENT.
pub(super) const FEATURE_CURRENT: u8 = 1 << 0;
/// Profile descriptor byte 2 bit 0: CURRENTP.
pub(super) const PROFILE_CURRENT_P: u8 = 1 << 0;
/// Core feature physical interface standard 00000002h: ATAPI.
pub(super) const PHYSICAL_INTERFACE_ATAPI: u32 = 0x0000_0002;
/// Removable Medium feature byte 4 bit 0: LOCK, the medium can be locked in.
pub(super) const REMOVABLE_LOCK: u8 = 1 << 0;
/// Removable Medium feature byte 4 bit 3: EJECT, START STOP UNIT can eject.
pub(super) const REMOVABLE_EJECT: u8 = 1 << 3;
/// Removable Medium feature byte 4 bits 7-5 = 001b: tray loading mechanism.
pub(super) const REMOVABLE_LOADING_TRAY: u8 = 0b001 << 5;
/// RT 00b: all features at or above the starting feature.
pub(super) const RT_ALL: u8 = 0;
/// RT 01b: current features at or above the starting feature.
pub(super) const RT_CURRENT: u8 = 1;
/// RT 10b: only the starting feature.
pub(super) const RT_ONE: u8 = 2;
/// GESN notification class bit 4 / class code 4: Media.
pub(super) const GESN_CLASS_MEDIA: u8 = 4;
/// GESN header byte 2 bit 7: NEA, no event available.
pub(super) const GESN_NEA: u8 = 1 << 7;
/// Mechanism status byte 1 bit 4: DOOR OPEN.
pub(super) const MECHANISM_DOOR_OPEN: u8 = 1 << 4;
/// Media status bit 0: Door or Tray Open.
pub(super) const MEDIA_STATUS_TRAY_OPEN: u8 = 1 << 0;
/// Media status bit 1: Media Present.
pub(super) const MEDIA_STATUS_MEDIA_PRESENT: u8 = 1 << 1;

impl AtapiDrive {
    /// GET CONFIGURATION (MMC-5): feature header and the features selected by
    /// RT from the starting feature number on.
    pub(super) fn get_configuration(&self, p: &[u8; 12]) -> CommandResult {
        let rt = p[1] & GET_CONFIGURATION_RT;
        let start = be16(p, 2);
        let alloc = usize::from(be16(p, 7));
        if rt > RT_ONE {
            return Err(INVALID_FIELD);
        }
        let ready = self.has_media();
        let profile = if ready { PROFILE_CD_ROM } else { PROFILE_NONE };
        let mut d = vec![0u8; 8];
        d[6..8].copy_from_slice(&profile.to_be_bytes());
        for (code, current, desc) in self.features() {
            let wanted = match rt {
                RT_ALL => code >= start,
                RT_CURRENT => code >= start && current,
                _ => code == start, // RT_ONE
            };
            if wanted {
                d.extend_from_slice(&desc);
            }
        }
        let len = (d.len() - 4) as u32; // DATA LENGTH excludes itself
        d[0..4].copy_from_slice(&len.to_be_bytes());
        Ok(data_in(d, alloc))
    }

    /// The feature descriptors, ascending: (feature code, current, bytes).
    fn features(&self) -> [(u16, bool, Vec<u8>); 6] {
        let ready = self.has_media();
        let current_p = if ready { PROFILE_CURRENT_P } else { 0 };
        let profile = PROFILE_CD_ROM.to_be_bytes();
        let mut random_readable = vec![0u8; 8];
        random_readable[0..4].copy_from_slice(&(ATAPI_BLOCK_SIZE as u32).to_be_bytes());
        random_readable[4..6].copy_from_slice(&1u16.to_be_bytes()); // BLOCKING
        let mut core = vec![0u8; 8];
        core[0..4].copy_from_slice(&PHYSICAL_INTERFACE_ATAPI.to_be_bytes());
        let removable = REMOVABLE_LOCK | REMOVABLE_EJECT | REMOVABLE_LOADING_TRAY;
        [
            (
                FEATURE_PROFILE_LIST,
                true,
                feature(
                    FEATURE_PROFILE_LIST,
                    0,
                    true,
                    true,
                    &[profile[0], profile[1], current_p, 0],
                ),
            ),
            (
                FEATURE_CORE,
                true,
                feature(FEATURE_CORE, 2, true, true, &core),
            ),
            (
                FEATURE_MORPHING,
                true,
                feature(FEATURE_MORPHING, 1, true, true, &[0; 4]),
            ),
            (
                FEATURE_REMOVABLE_MEDIUM,
                true,
                feature(
                    FEATURE_REMOVABLE_MEDIUM,
                    0,
                    true,
                    true,
                    &[removable, 0, 0, 0],
                ),
            ),
            (
                FEATURE_RANDOM_READABLE,
                ready,
                feature(FEATURE_RANDOM_READABLE, 0, false, ready, &random_readable),
            ),
            (
                FEATURE_CD_READ,
                ready,
                feature(FEATURE_CD_READ, 2, false, ready, &[0; 4]),
            ),
        ]
    }

    /// GET EVENT STATUS NOTIFICATION (MMC-5), polled only: the Media class,
    /// reporting a pending NewMedia/MediaRemoval event once, else NoChg.
    pub(super) fn get_event_status(&mut self, p: &[u8; 12]) -> CommandResult {
        if p[1] & GESN_POLLED == 0 {
            return Err(INVALID_FIELD);
        }
        let requested = p[4];
        let alloc = usize::from(be16(p, 7));
        let supported = 1u8 << GESN_CLASS_MEDIA;
        let mut d = vec![0u8; 4];
        d[3] = supported;
        if requested & supported == 0 {
            d[1] = 2; // EVENT DATA LENGTH: the rest of the header only
            d[2] = GESN_NEA;
            return Ok(data_in(d, alloc));
        }
        d[1] = 6;
        d[2] = GESN_CLASS_MEDIA;
        let event = core::mem::replace(&mut self.media_event, MEDIA_EVENT_NO_CHANGE);
        let mut status = 0;
        if self.tray_open {
            status |= MEDIA_STATUS_TRAY_OPEN;
        }
        if self.has_media() {
            status |= MEDIA_STATUS_MEDIA_PRESENT;
        }
        d.extend_from_slice(&[event, status, 0, 0]);
        Ok(data_in(d, alloc))
    }

    /// MECHANISM STATUS (MMC-5): header only; no changer, mechanism idle.
    pub(super) fn mechanism_status(&self, p: &[u8; 12]) -> CommandResult {
        let mut d = vec![0u8; 8];
        if self.tray_open {
            d[1] = MECHANISM_DOOR_OPEN;
        }
        Ok(data_in(d, usize::from(be16(p, 8))))
    }
}

/// A feature descriptor: code, version, persistent/current, additional data.
fn feature(code: u16, version: u8, persistent: bool, current: bool, data: &[u8]) -> Vec<u8> {
    let mut flags = (version & 0x0F) << 2;
    if persistent {
        flags |= FEATURE_PERSISTENT;
    }
    if current {
        flags |= FEATURE_CURRENT;
    }
    let mut v = Vec::with_capacity(4 + data.len());
    v.extend_from_slice(&code.to_be_bytes());
    v.extend_from_slice(&[flags, data.len() as u8]);
    v.extend_from_slice(data);
    v
}
