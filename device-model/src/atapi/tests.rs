//! Tests of the ATAPI packet commands, written from SPC-3, MMC-5 and
//! ATA/ATAPI-6.

use super::features::{FEATURE_CURRENT, MECHANISM_DOOR_OPEN};
use super::identify::{CAP_DMA, CAP_LBA, CMDSET_PACKET};
use super::mode::CAP_LOCK_STATE;
use super::toc::lba_to_msf;
use super::*;
use block_backend::MemoryBlock;
use test_rng::XorShift;

/// An image whose byte at offset i is a hash of i, `len` bytes long.
fn image(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8)
        .collect()
}

fn medium(len: usize) -> Box<dyn BlockBackend> {
    Box::new(MemoryBlock::new(image(len), true))
}

/// A drive with a `blocks`-block disc whose power-on unit attention has
/// been consumed.
fn ready_drive(blocks: usize) -> AtapiDrive {
    let mut d = AtapiDrive::new(Some(medium(blocks * ATAPI_BLOCK_SIZE)));
    assert_eq!(
        d.execute(&cdb(&[OP_TEST_UNIT_READY])),
        PacketResult::CheckCondition
    );
    d
}

fn cdb(bytes: &[u8]) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[..bytes.len()].copy_from_slice(bytes);
    p
}

fn data(r: PacketResult) -> Vec<u8> {
    match r {
        PacketResult::DataIn(v) => v,
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn inquiry_reports_a_removable_cd_dvd_device_in_spc3_format() {
    let mut d = AtapiDrive::new(None);
    let v = data(d.execute(&cdb(&[OP_INQUIRY, 0, 0, 0, 96])));
    assert_eq!(v.len(), 36);
    assert_eq!(v[0], 0x05, "peripheral device type CD/DVD");
    assert_eq!(v[1], 0x80, "RMB");
    assert_eq!(v[2], 0x05, "version SPC-3");
    assert_eq!(v[3] & 0x0F, 2, "response data format");
    assert_eq!(v[4], 31, "additional length");
    assert_eq!(&v[8..16], b"VMM     ");
    assert_eq!(&v[16..32], b"VIRTUAL CD-ROM  ");
    assert_eq!(&v[32..36], b"1.0 ");
    assert_eq!(d.sense(), (0, 0, 0));
}

#[test]
fn inquiry_is_cut_to_the_allocation_length() {
    let mut d = AtapiDrive::new(None);
    let v = data(d.execute(&cdb(&[OP_INQUIRY, 0, 0, 0, 5])));
    assert_eq!(v, [0x05, 0x80, 0x05, 0x02, 31]);
    assert_eq!(d.execute(&cdb(&[OP_INQUIRY])), PacketResult::Done);
}

#[test]
fn inquiry_with_an_unsupported_vpd_page_or_page_without_evpd_is_invalid_field() {
    let mut d = AtapiDrive::new(None);
    let r = d.execute(&cdb(&[OP_INQUIRY, 1, 0x83, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
    let r = d.execute(&cdb(&[OP_INQUIRY, 0, 0x80, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
    let v = data(d.execute(&cdb(&[OP_INQUIRY, 1, 0x00, 0, 0xFF])));
    assert_eq!(v, [0x05, 0x00, 0, 2, 0x00, 0x80]);
    let v = data(d.execute(&cdb(&[OP_INQUIRY, 1, 0x80, 0, 0xFF])));
    assert_eq!(&v[4..], b"VMMCD0001");
}

#[test]
fn power_on_unit_attention_is_reported_once_then_unit_is_ready() {
    let mut d = AtapiDrive::new(Some(medium(10 * 2048)));
    // INQUIRY neither reports nor clears it.
    assert!(matches!(
        d.execute(&cdb(&[OP_INQUIRY, 0, 0, 0, 36])),
        PacketResult::DataIn(_)
    ));
    let tur = cdb(&[OP_TEST_UNIT_READY]);
    assert_eq!(d.execute(&tur), PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x06, 0x28, 0x00));
    assert_eq!(d.execute(&tur), PacketResult::Done);
    assert_eq!(d.sense(), (0, 0, 0));
    assert_eq!(d.execute(&tur), PacketResult::Done);
}

#[test]
fn request_sense_reports_a_pending_unit_attention_and_clears_it() {
    let mut d = AtapiDrive::new(Some(medium(2048)));
    let v = data(d.execute(&cdb(&[OP_REQUEST_SENSE, 0, 0, 0, 18])));
    assert_eq!((v[2], v[12], v[13]), (0x06, 0x28, 0x00));
    assert_eq!(d.execute(&cdb(&[OP_TEST_UNIT_READY])), PacketResult::Done);
}

#[test]
fn inserting_a_disc_raises_unit_attention_again() {
    let mut d = ready_drive(4);
    d.eject();
    assert!(!d.has_media());
    d.insert(medium(2048));
    assert!(d.has_media());
    assert_eq!(
        d.execute(&cdb(&[OP_READ_CAPACITY])),
        PacketResult::CheckCondition
    );
    assert_eq!(d.sense(), (0x06, 0x28, 0x00));
    let v = data(d.execute(&cdb(&[OP_READ_CAPACITY])));
    assert_eq!(v, [0, 0, 0, 0, 0, 0, 0x08, 0x00]);
}

#[test]
fn read_capacity_of_a_ten_block_image_is_last_lba_nine_and_2048() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_CAPACITY])));
    assert_eq!(v, [0, 0, 0, 9, 0, 0, 0x08, 0x00]);
}

#[test]
fn a_partial_last_block_counts_and_reads_zero_padded() {
    let mut d = AtapiDrive::new(Some(medium(2 * 2048 + 100)));
    d.execute(&cdb(&[OP_TEST_UNIT_READY]));
    let v = data(d.execute(&cdb(&[OP_READ_CAPACITY])));
    assert_eq!(&v[..4], [0, 0, 0, 2]);
    let mut buf = vec![0xEEu8; 2048];
    d.read_blocks(2, 1, &mut buf).unwrap();
    assert_eq!(&buf[..100], &image(2 * 2048 + 100)[2 * 2048..]);
    assert!(buf[100..].iter().all(|&b| b == 0));
}

#[test]
fn read_10_decodes_big_endian_lba_and_length() {
    let mut d = ready_drive(0x300);
    let r = d.execute(&cdb(&[
        OP_READ_10, 0, 0x00, 0x00, 0x01, 0x02, 0, 0x00, 0x03,
    ]));
    assert_eq!(
        r,
        PacketResult::Read {
            lba: 0x102,
            blocks: 3
        }
    );
}

#[test]
fn read_12_decodes_big_endian_lba_and_32_bit_length() {
    let mut d = ready_drive(0x300);
    let r = d.execute(&cdb(&[
        OP_READ_12, 0, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x10,
    ]));
    assert_eq!(
        r,
        PacketResult::Read {
            lba: 0x201,
            blocks: 0x10
        }
    );
}

#[test]
fn read_blocks_returns_the_image_bytes() {
    let mut d = ready_drive(10);
    let mut buf = vec![0u8; 3 * 2048];
    d.read_blocks(4, 3, &mut buf).unwrap();
    assert_eq!(buf, image(10 * 2048)[4 * 2048..7 * 2048]);
}

#[test]
fn read_blocks_with_a_wrongly_sized_buffer_fails_without_panicking() {
    let mut d = ready_drive(10);
    let mut buf = vec![0u8; 100];
    assert_eq!(d.read_blocks(0, 1, &mut buf), Err(()));
    assert_eq!(d.sense(), (0x04, 0x44, 0x00));
}

#[test]
fn a_transfer_length_of_zero_is_not_an_error() {
    let mut d = ready_drive(10);
    assert_eq!(
        d.execute(&cdb(&[OP_READ_10, 0, 0, 0, 0, 5])),
        PacketResult::Done
    );
    assert_eq!(d.sense(), (0, 0, 0));
    assert_eq!(
        d.execute(&cdb(&[OP_READ_12, 0, 0, 0, 0, 10])),
        PacketResult::Done
    );
}

#[test]
fn reading_past_the_end_is_lba_out_of_range() {
    let mut d = ready_drive(10);
    let r = d.execute(&cdb(&[OP_READ_10, 0, 0, 0, 0, 9, 0, 0, 2]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x21, 0x00));
    let r = d.execute(&cdb(&[
        OP_READ_12, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x21, 0x00));
    let mut buf = vec![0u8; 2048];
    assert_eq!(d.read_blocks(10, 1, &mut buf), Err(()));
    assert_eq!(d.sense(), (0x05, 0x21, 0x00));
}

#[test]
fn unknown_opcode_is_invalid_command_operation_code() {
    let mut d = ready_drive(1);
    assert_eq!(d.execute(&cdb(&[0xFF])), PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x20, 0x00));
    // WRITE(10) on a CD-ROM is not a command it has.
    assert_eq!(d.execute(&cdb(&[0x2A])), PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x20, 0x00));
}

#[test]
fn no_medium_is_not_ready_medium_not_present() {
    let mut d = AtapiDrive::new(None);
    for op in [
        OP_TEST_UNIT_READY,
        OP_READ_CAPACITY,
        OP_READ_10,
        OP_READ_12,
        OP_READ_TOC_PMA_ATIP,
        OP_READ_DISC_INFORMATION,
    ] {
        assert_eq!(
            d.execute(&cdb(&[op])),
            PacketResult::CheckCondition,
            "{op:#x}"
        );
        assert_eq!(d.sense(), (0x02, 0x3A, 0x00), "{op:#x}");
    }
    let mut buf = vec![0u8; 2048];
    assert_eq!(d.read_blocks(0, 1, &mut buf), Err(()));
    assert_eq!(d.sense(), (0x02, 0x3A, 0x00));
}

#[test]
fn request_sense_returns_fixed_format_then_clears_the_sense() {
    let mut d = AtapiDrive::new(None);
    d.execute(&cdb(&[OP_TEST_UNIT_READY]));
    let v = data(d.execute(&cdb(&[OP_REQUEST_SENSE, 0, 0, 0, 252])));
    assert_eq!(v.len(), 18);
    assert_eq!(v[0], 0x70);
    assert_eq!(v[2], 0x02);
    assert_eq!(v[7], 10);
    assert_eq!((v[12], v[13]), (0x3A, 0x00));
    assert_eq!(d.sense(), (0, 0, 0));
    let v = data(d.execute(&cdb(&[OP_REQUEST_SENSE, 0, 0, 0, 18])));
    assert_eq!((v[0], v[2], v[12], v[13]), (0x70, 0, 0, 0));
}

#[test]
fn request_sense_honours_a_short_allocation_length_and_still_clears() {
    let mut d = ready_drive(1);
    d.execute(&cdb(&[0xFF]));
    let v = data(d.execute(&cdb(&[OP_REQUEST_SENSE, 0, 0, 0, 3])));
    assert_eq!(v, [0x70, 0, 0x05]);
    d.execute(&cdb(&[0xFF]));
    assert_eq!(d.execute(&cdb(&[OP_REQUEST_SENSE])), PacketResult::Done);
    assert_eq!(d.sense(), (0, 0, 0));
}

#[test]
fn read_toc_format_0_lba_lists_track_1_and_lead_out_at_capacity() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(
        v,
        [
            0, 18, 1, 1, // header
            0, 0x14, 1, 0, 0, 0, 0, 0, // track 1 at LBA 0
            0, 0x14, 0xAA, 0, 0, 0, 0, 10, // lead-out at LBA 10
        ]
    );
}

#[test]
fn read_toc_format_0_msf_counts_the_two_second_pregap() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 2, 0, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(&v[8..12], [0, 0, 2, 0], "track 1 at 00:02:00");
    assert_eq!(&v[16..20], [0, 0, 2, 10], "lead-out at 00:02:10");
    // Starting at the lead-out returns only it.
    let v = data(d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 2, 0, 0, 0, 0, 0xAA, 0, 0xFF])));
    assert_eq!(v, [0, 10, 1, 1, 0, 0x14, 0xAA, 0, 0, 0, 2, 10]);
    assert_eq!(lba_to_msf(4500 - 150), [1, 0, 0]);
}

#[test]
fn read_toc_format_1_is_session_information() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 0, 1, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(v, [0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0]);
    // The same through the SFF-8020i format field in byte 9.
    let v2 = data(d.execute(&cdb(&[
        OP_READ_TOC_PMA_ATIP,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0xFF,
        0x40,
    ])));
    assert_eq!(v, v2);
}

#[test]
fn read_toc_rejects_a_track_past_the_last_and_unknown_formats() {
    let mut d = ready_drive(10);
    let r = d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 0, 0, 0, 0, 0, 2, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
    let r = d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 0, 5, 0, 0, 0, 0, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
}

#[test]
fn read_toc_format_2_full_toc_has_a0_a1_a2_and_track_1() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_TOC_PMA_ATIP, 2, 2, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(v.len(), 4 + 4 * 11);
    assert_eq!(&v[..4], [0, 46, 1, 1]);
    let points: Vec<u8> = v[4..].chunks(11).map(|c| c[3]).collect();
    assert_eq!(points, [0xA0, 0xA1, 0xA2, 0x01]);
    assert_eq!(&v[4 + 2 * 11 + 8..4 + 3 * 11], [0, 2, 10]);
}

#[test]
fn get_configuration_reports_cd_rom_as_current_profile() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0x10, 0])));
    let len = u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as usize;
    assert_eq!(len + 4, v.len());
    assert_eq!(&v[6..8], [0x00, 0x08]);
    // Profile List feature: code 0, persistent+current, one profile.
    assert_eq!(&v[8..12], [0x00, 0x00, 0x03, 0x04]);
    assert_eq!(&v[12..16], [0x00, 0x08, 0x01, 0x00]);
    // Next comes the Core feature with the ATAPI interface.
    assert_eq!(&v[16..18], [0x00, 0x01]);
    assert_eq!(&v[20..24], [0, 0, 0, 2]);
}

#[test]
fn get_configuration_rt_selects_features_and_no_medium_has_no_profile() {
    let mut d = AtapiDrive::new(None);
    // RT=2, starting feature 0010h: only Random Readable, not current.
    let v = data(d.execute(&cdb(&[OP_GET_CONFIGURATION, 2, 0, 0x10, 0, 0, 0, 0, 0xFF])));
    assert_eq!(&v[6..8], [0, 0]);
    assert_eq!(v.len(), 8 + 12);
    assert_eq!(&v[8..12], [0x00, 0x10, 0x00, 0x08]);
    // RT=1: current features only, so no Random Readable / CD Read.
    let v = data(d.execute(&cdb(&[OP_GET_CONFIGURATION, 1, 0, 0, 0, 0, 0, 0, 0xFF])));
    let mut at = 8;
    while at < v.len() {
        assert_eq!(v[at + 2] & FEATURE_CURRENT, FEATURE_CURRENT);
        assert!(u16::from_be_bytes([v[at], v[at + 1]]) < 0x10);
        at += 4 + usize::from(v[at + 3]);
    }
    // Profile 0008h is listed but not current.
    assert_eq!(&v[12..16], [0x00, 0x08, 0x00, 0x00]);
    // RT=3 is reserved.
    let r = d.execute(&cdb(&[OP_GET_CONFIGURATION, 3, 0, 0, 0, 0, 0, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
}

#[test]
fn mode_sense_10_returns_the_capabilities_page() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0x2A, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(v.len(), 8 + 20);
    assert_eq!(u16::from_be_bytes([v[0], v[1]]) as usize, v.len() - 2);
    assert_eq!(&v[6..8], [0, 0], "no block descriptors");
    assert_eq!(&v[8..10], [0x2A, 0x12]);
    assert_eq!(v[8 + 6], 0x29, "lock, eject, tray");
    // Locked after PREVENT.
    d.execute(&cdb(&[OP_PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1]));
    let v = data(d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0x2A, 0, 0, 0, 0, 0, 0xFF])));
    assert_eq!(v[8 + 6] & CAP_LOCK_STATE, CAP_LOCK_STATE);
    // Truncated to the allocation length.
    let v = data(d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0x2A, 0, 0, 0, 0, 0, 10])));
    assert_eq!(v.len(), 10);
}

#[test]
fn mode_sense_all_pages_saved_values_and_unknown_pages() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0x3F, 0, 0, 0, 0, 0xFF, 0xFF])));
    assert_eq!(v.len(), 8 + 12 + 20);
    assert_eq!((v[8], v[20]), (0x01, 0x2A));
    let v = data(d.execute(&cdb(&[OP_MODE_SENSE_6, 0, 0x3F, 0, 0xFF])));
    assert_eq!(v.len(), 4 + 12 + 20);
    assert_eq!(usize::from(v[0]), v.len() - 1);
    let r = d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0xEA, 0, 0, 0, 0, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x39, 0x00));
    let r = d.execute(&cdb(&[OP_MODE_SENSE_10, 0, 0x05, 0, 0, 0, 0, 0, 0xFF]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
}

#[test]
fn get_event_status_reports_new_media_once_then_no_change() {
    let mut d = AtapiDrive::new(Some(medium(2048)));
    let gesn = cdb(&[OP_GET_EVENT_STATUS_NOTIFICATION, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    // Not failed by the pending unit attention.
    let v = data(d.execute(&gesn));
    assert_eq!(v, [0, 6, 4, 0x10, 2, 2, 0, 0]);
    let v = data(d.execute(&gesn));
    assert_eq!(v, [0, 6, 4, 0x10, 0, 2, 0, 0]);
    d.eject();
    assert_eq!(data(d.execute(&gesn))[4..6], [3, 0]);
    // Asynchronous mode is not supported.
    let r = d.execute(&cdb(&[
        OP_GET_EVENT_STATUS_NOTIFICATION,
        0,
        0,
        0,
        0x10,
        0,
        0,
        0,
        8,
    ]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x24, 0x00));
    // A class we do not have gets NEA.
    let v = data(d.execute(&cdb(&[
        OP_GET_EVENT_STATUS_NOTIFICATION,
        1,
        0,
        0,
        0x02,
        0,
        0,
        0,
        8,
    ])));
    assert_eq!(v, [0, 2, 0x80, 0x10]);
}

#[test]
fn start_stop_unit_opens_and_closes_the_tray_unless_prevented() {
    let mut d = ready_drive(10);
    let eject = cdb(&[OP_START_STOP_UNIT, 0, 0, 0, START_STOP_LOEJ]);
    let load = cdb(&[
        OP_START_STOP_UNIT,
        0,
        0,
        0,
        START_STOP_LOEJ | START_STOP_START,
    ]);
    d.execute(&cdb(&[OP_PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1]));
    assert_eq!(d.execute(&eject), PacketResult::CheckCondition);
    assert_eq!(d.sense(), (0x05, 0x53, 0x02));
    d.execute(&cdb(&[OP_PREVENT_ALLOW_MEDIUM_REMOVAL]));
    assert_eq!(d.execute(&eject), PacketResult::Done);
    assert!(!d.has_media());
    assert_eq!(
        d.execute(&cdb(&[OP_TEST_UNIT_READY])),
        PacketResult::CheckCondition
    );
    assert_eq!(d.sense(), (0x02, 0x3A, 0x02));
    let v = data(d.execute(&cdb(&[OP_MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0, 8])));
    assert_eq!(v[1] & MECHANISM_DOOR_OPEN, MECHANISM_DOOR_OPEN);
    assert_eq!(d.execute(&load), PacketResult::Done);
    assert!(d.has_media());
    assert_eq!(
        d.execute(&cdb(&[OP_TEST_UNIT_READY])),
        PacketResult::CheckCondition
    );
    assert_eq!(d.sense(), (0x06, 0x28, 0x00));
    assert_eq!(d.execute(&cdb(&[OP_TEST_UNIT_READY])), PacketResult::Done);
    // Spin up/down alone is accepted.
    assert_eq!(
        d.execute(&cdb(&[OP_START_STOP_UNIT, 0, 0, 0, 0])),
        PacketResult::Done
    );
    assert!(d.has_media());
}

#[test]
fn read_disc_information_describes_a_complete_single_session_disc() {
    let mut d = ready_drive(10);
    let v = data(d.execute(&cdb(&[OP_READ_DISC_INFORMATION, 0, 0, 0, 0, 0, 0, 0, 34])));
    assert_eq!(v.len(), 34);
    assert_eq!(&v[..7], [0, 32, 0x0E, 1, 1, 1, 1]);
    let r = d.execute(&cdb(&[OP_READ_DISC_INFORMATION, 1, 0, 0, 0, 0, 0, 0, 34]));
    assert_eq!(r, PacketResult::CheckCondition);
    assert_eq!(
        d.execute(&cdb(&[OP_SET_CD_SPEED, 0, 0xFF, 0xFF])),
        PacketResult::Done
    );
}

#[test]
fn identify_packet_device_general_configuration_and_strings() {
    let d = AtapiDrive::new(None);
    let w = d.identify_packet_data();
    assert_eq!(w[0], 0x85C0);
    // "VMM VIRTUAL ATAPI CD-ROM": first character in the high byte.
    assert_eq!(w[27], u16::from_be_bytes([b'V', b'M']));
    assert_eq!(w[28], u16::from_be_bytes([b'M', b' ']));
    assert_eq!(w[46], 0x2020);
    let model: Vec<u8> = w[27..47].iter().flat_map(|x| x.to_be_bytes()).collect();
    assert_eq!(&model[..24], b"VMM VIRTUAL ATAPI CD-ROM");
    let serial: Vec<u8> = w[10..20].iter().flat_map(|x| x.to_be_bytes()).collect();
    assert_eq!(&serial, b"VMMCD0001           ");
    assert_eq!(w[23], u16::from_be_bytes([b'1', b'.']));
    assert_eq!(w[49] & (CAP_LBA | CAP_DMA), CAP_LBA | CAP_DMA);
    assert_eq!(w[82] & CMDSET_PACKET, CMDSET_PACKET);
    // The integrity word makes all 512 bytes sum to zero.
    let sum = w.iter().fold(0u8, |a, &x| {
        a.wrapping_add(x as u8).wrapping_add((x >> 8) as u8)
    });
    assert_eq!(sum, 0);
    assert_eq!(w[255] & 0xFF, 0xA5);
}

#[test]
fn random_packets_never_panic_and_keep_sense_consistent() {
    const OPS: [u8; 17] = [
        OP_TEST_UNIT_READY,
        OP_REQUEST_SENSE,
        OP_INQUIRY,
        OP_MODE_SENSE_6,
        OP_START_STOP_UNIT,
        OP_PREVENT_ALLOW_MEDIUM_REMOVAL,
        OP_READ_CAPACITY,
        OP_READ_10,
        OP_READ_TOC_PMA_ATIP,
        OP_GET_CONFIGURATION,
        OP_GET_EVENT_STATUS_NOTIFICATION,
        OP_READ_DISC_INFORMATION,
        OP_MODE_SENSE_10,
        OP_READ_12,
        OP_SET_CD_SPEED,
        OP_MECHANISM_STATUS,
        0xBE,
    ];
    let sizes = [0usize, 1, 2048, 3 * 2048 + 7, 40 * 2048];
    let mut rng = XorShift::per_run(
        "random_packets_never_panic_and_keep_sense_consistent",
        0x2545_F491_4F6C_DD1D,
    );
    let mut image_len = 3 * 2048 + 7;
    let mut d = AtapiDrive::new(Some(medium(image_len)));
    let mut counts = [0usize; 4];
    for _ in 0..20_000 {
        let r = rng.next();
        match r % 64 {
            0 | 6 | 7 => {
                image_len = sizes[(r >> 8) as usize % sizes.len()];
                d.insert(medium(image_len));
            }
            1 => d.eject(),
            2..=5 => {
                // Close the tray that random START STOP UNITs open.
                let load = START_STOP_LOEJ | START_STOP_START;
                d.execute(&cdb(&[OP_START_STOP_UNIT, 0, 0, 0, load]));
            }
            _ => {}
        }
        let mut p = [0u8; 12];
        for b in p.iter_mut() {
            *b = rng.next() as u8;
        }
        if !rng.next().is_multiple_of(4) {
            p[0] = OPS[(rng.next() % OPS.len() as u64) as usize];
        }
        if rng.next().is_multiple_of(2) {
            // Small addresses, to land inside the medium often.
            p[2..6].fill(0);
            p[5] = rng.next() as u8 % 6;
            p[6..9].fill(0);
            p[9] = rng.next() as u8 % 4;
            if p[0] == OP_READ_10 {
                p[8] = p[9];
            }
        }
        let capacity = image_len.div_ceil(2048) as u64;
        match d.execute(&p) {
            PacketResult::CheckCondition => {
                counts[0] += 1;
                let (key, _, _) = d.sense();
                assert!((1..=6).contains(&key), "{p:02x?} -> key {key}");
            }
            PacketResult::Done => {
                counts[1] += 1;
                assert_eq!(d.sense(), (0, 0, 0), "{p:02x?}");
            }
            PacketResult::DataIn(v) => {
                counts[2] += 1;
                assert!(!v.is_empty() && v.len() <= 256, "{p:02x?}");
                assert_eq!(d.sense(), (0, 0, 0), "{p:02x?}");
                if p[0] == OP_REQUEST_SENSE {
                    assert_eq!(v[0], 0x70);
                }
            }
            PacketResult::Read { lba, blocks } => {
                counts[3] += 1;
                assert!(matches!(p[0], OP_READ_10 | OP_READ_12));
                assert!(d.has_media() && blocks > 0);
                assert!(u64::from(lba) + u64::from(blocks) <= capacity);
                let n = blocks.min(2);
                let mut buf = vec![0u8; n as usize * 2048];
                d.read_blocks(lba, n, &mut buf).unwrap();
                let img = image(image_len);
                let start = lba as usize * 2048;
                for (i, &b) in buf.iter().enumerate() {
                    assert_eq!(b, img.get(start + i).copied().unwrap_or(0));
                }
            }
        }
    }
    assert!(counts.iter().all(|&c| c > 100), "{counts:?}");
}
