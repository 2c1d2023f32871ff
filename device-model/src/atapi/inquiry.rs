//! INQUIRY (SPC-3 6.4): standard INQUIRY data (6.4.2) and the vital product
//! data pages 00h and 80h (7.6).

use super::{be16, data_in, CommandResult, INVALID_FIELD, SERIAL_NUMBER};
use alloc::vec;

/// INQUIRY byte 1 bit 0: EVPD, return a vital product data page.
pub(super) const INQUIRY_EVPD: u8 = 1 << 0;
/// INQUIRY byte 0: peripheral device type 05h, CD/DVD device.
pub(super) const PERIPHERAL_DEVICE_TYPE_CD_DVD: u8 = 0x05;
/// INQUIRY byte 1 bit 7: RMB, removable medium.
pub(super) const INQUIRY_RMB: u8 = 1 << 7;
/// INQUIRY byte 2: VERSION 05h, the device claims SPC-3.
pub(super) const INQUIRY_VERSION_SPC3: u8 = 0x05;
/// INQUIRY byte 3 bits 3-0: RESPONSE DATA FORMAT 2.
pub(super) const INQUIRY_RESPONSE_DATA_FORMAT_2: u8 = 0x02;
/// Length of the standard INQUIRY data returned.
pub(super) const INQUIRY_STANDARD_LEN: usize = 36;
/// VPD page 00h: Supported VPD pages.
pub(super) const VPD_SUPPORTED_PAGES: u8 = 0x00;
/// VPD page 80h: Unit Serial Number.
pub(super) const VPD_UNIT_SERIAL_NUMBER: u8 = 0x80;
/// INQUIRY vendor identification (8 bytes).
pub(super) const VENDOR_ID: &[u8; 8] = b"VMM     ";
/// INQUIRY product identification (16 bytes).
pub(super) const PRODUCT_ID: &[u8; 16] = b"VIRTUAL CD-ROM  ";
/// INQUIRY product revision level (4 bytes).
pub(super) const PRODUCT_REVISION: &[u8; 4] = b"1.0 ";

/// INQUIRY (SPC-3 6.4): standard data, or VPD pages 00h and 80h.
pub(super) fn inquiry(p: &[u8; 12]) -> CommandResult {
    let alloc = usize::from(be16(p, 3));
    let page = p[2];
    if p[1] & INQUIRY_EVPD == 0 {
        if page != 0 {
            return Err(INVALID_FIELD);
        }
        let mut d = vec![0u8; INQUIRY_STANDARD_LEN];
        d[0] = PERIPHERAL_DEVICE_TYPE_CD_DVD;
        d[1] = INQUIRY_RMB;
        d[2] = INQUIRY_VERSION_SPC3;
        d[3] = INQUIRY_RESPONSE_DATA_FORMAT_2;
        d[4] = (INQUIRY_STANDARD_LEN - 5) as u8; // ADDITIONAL LENGTH
        d[8..16].copy_from_slice(VENDOR_ID);
        d[16..32].copy_from_slice(PRODUCT_ID);
        d[32..36].copy_from_slice(PRODUCT_REVISION);
        return Ok(data_in(d, alloc));
    }
    let body: &[u8] = match page {
        VPD_SUPPORTED_PAGES => &[VPD_SUPPORTED_PAGES, VPD_UNIT_SERIAL_NUMBER],
        VPD_UNIT_SERIAL_NUMBER => SERIAL_NUMBER,
        _ => return Err(INVALID_FIELD),
    };
    let mut d = vec![PERIPHERAL_DEVICE_TYPE_CD_DVD, page];
    d.extend_from_slice(&(body.len() as u16).to_be_bytes());
    d.extend_from_slice(body);
    Ok(data_in(d, alloc))
}
