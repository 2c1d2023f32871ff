//! Tests of the IDE controller, written from ATA/ATAPI-6 and SFF-8038i.

use super::bus_master::{BM_COMMAND, BM_PRDT, BM_STATUS};
use super::identify::{
    ID49_DMA, ID49_LBA, ID59_MULTIPLE_VALID, ID63_MWDMA_SUPPORTED, ID82_WRITE_CACHE, ID83_LBA48,
    ID88_UDMA_SUPPORTED,
};
use super::opcodes::{
    CMD_CHECK_POWER_MODE, CMD_DEVICE_RESET, CMD_EXECUTE_DIAGNOSTIC, CMD_FLUSH_CACHE,
    CMD_FLUSH_CACHE_EXT, CMD_IDENTIFY, CMD_IDENTIFY_PACKET, CMD_IDLE_IMMEDIATE,
    CMD_INITIALIZE_PARAMS, CMD_PACKET, CMD_READ_DMA, CMD_READ_DMA_EXT, CMD_READ_MULTIPLE,
    CMD_READ_SECTORS, CMD_READ_SECTORS_EXT, CMD_READ_VERIFY, CMD_RECALIBRATE, CMD_SET_FEATURES,
    CMD_SET_MULTIPLE, CMD_WRITE_DMA, CMD_WRITE_DMA_EXT, CMD_WRITE_MULTIPLE_EXT, CMD_WRITE_SECTORS,
    FEATURE_DISABLE_WRITE_CACHE, FEATURE_ENABLE_WRITE_CACHE, FEATURE_SET_TRANSFER_MODE,
    POWER_MODE_ACTIVE, XFER_MWDMA, XFER_UDMA,
};
use super::prd::PRD_EOT;
use super::registers::{DIAGNOSTIC_PASSED, ERROR_SENSE_KEY_SHIFT, REG_LBA_LOW, REG_STATUS_COMMAND};
use super::*;
use crate::atapi::{ATAPI_BLOCK_SIZE, IDENTIFY_WORD_UDMA};
use crate::DmaError;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{BlockError, MemoryBlock};
use test_rng::XorShift;

const P: u16 = PRIMARY_COMMAND_BASE;
const CTL: u16 = PRIMARY_CONTROL_PORT;
const S: u16 = SECONDARY_COMMAND_BASE;

/// Byte `offset` of a test image: differs between sectors and within one.
fn pattern(offset: usize) -> u8 {
    ((offset >> 9) as u8).wrapping_mul(31) ^ (offset as u8)
}

fn image(bytes: usize) -> Vec<u8> {
    (0..bytes).map(pattern).collect()
}

fn disk(sectors: usize) -> Box<dyn BlockBackend> {
    Box::new(MemoryBlock::new(image(sectors * SECTOR_SIZE), false))
}

fn with_disk(sectors: usize) -> IdeController {
    let mut ide = IdeController::new();
    ide.attach_disk(0, false, disk(sectors));
    ide
}

/// REQUEST SENSE with an 18-byte allocation length.
const REQUEST_SENSE: [u8; 12] = [0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0];

/// A drive with a disc whose power-on unit attention was already collected.
fn cdrom(blocks: usize) -> AtapiDrive {
    let mut drive = AtapiDrive::new(Some(Box::new(MemoryBlock::new(
        image(blocks * ATAPI_BLOCK_SIZE),
        true,
    ))));
    drive.execute(&REQUEST_SENSE);
    drive
}

fn sum_bytes(w: &[u16; 256]) -> u8 {
    w.iter().fold(0u8, |a, x| {
        a.wrapping_add(*x as u8).wrapping_add((*x >> 8) as u8)
    })
}

fn with_cdrom() -> IdeController {
    let mut ide = IdeController::new();
    ide.attach_cdrom(0, false, cdrom(16));
    ide
}

fn outb(ide: &mut IdeController, port: u16, v: u8) {
    ide.write(port, 1, u32::from(v));
}

fn inb(ide: &mut IdeController, port: u16) -> u8 {
    ide.read(port, 1) as u8
}

fn status(ide: &mut IdeController) -> u8 {
    inb(ide, P + REG_STATUS_COMMAND)
}

fn alt_status(ide: &mut IdeController) -> u8 {
    inb(ide, CTL)
}

fn lba28(ide: &mut IdeController, lba: u32, count: u8, cmd: u8) {
    outb(ide, P + 6, 0xE0 | ((lba >> 24) as u8 & 0x0F));
    outb(ide, P + 2, count);
    outb(ide, P + 3, lba as u8);
    outb(ide, P + 4, (lba >> 8) as u8);
    outb(ide, P + 5, (lba >> 16) as u8);
    outb(ide, P + 7, cmd);
}

fn lba48(ide: &mut IdeController, lba: u64, count: u16, cmd: u8) {
    let b = lba.to_le_bytes();
    outb(ide, P + 6, DEVICE_LBA);
    outb(ide, P + 2, (count >> 8) as u8);
    outb(ide, P + 3, b[3]);
    outb(ide, P + 4, b[4]);
    outb(ide, P + 5, b[5]);
    outb(ide, P + 2, count as u8);
    outb(ide, P + 3, b[0]);
    outb(ide, P + 4, b[1]);
    outb(ide, P + 5, b[2]);
    outb(ide, P + 7, cmd);
}

fn read_bytes(ide: &mut IdeController, n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..n.div_ceil(2) {
        v.extend_from_slice(&(ide.read(P, 2) as u16).to_le_bytes());
    }
    v.truncate(n);
    v
}

fn write_bytes(ide: &mut IdeController, data: &[u8]) {
    for pair in data.chunks(2) {
        let w = u16::from_le_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        ide.write(P, 2, u32::from(w));
    }
}

fn identify(ide: &mut IdeController, cmd: u8) -> [u16; 256] {
    outb(ide, P + 7, cmd);
    assert_eq!(status(ide) & STATUS_DRQ, STATUS_DRQ);
    let mut w = [0u16; 256];
    for x in w.iter_mut() {
        *x = ide.read(P, 2) as u16;
    }
    w
}

fn ata_string(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// Guest RAM at physical address 0 for the bus master.
struct Ram(Vec<u8>);

impl Ram {
    fn range(&self, gpa: u64, len: usize) -> Result<core::ops::Range<usize>, DmaError> {
        let end = gpa.checked_add(len as u64).ok_or(DmaError { gpa })?;
        if end > self.0.len() as u64 {
            return Err(DmaError { gpa });
        }
        Ok(gpa as usize..end as usize)
    }

    fn prd(&mut self, at: usize, addr: u32, count: u16, eot: bool) {
        self.0[at..at + 4].copy_from_slice(&addr.to_le_bytes());
        let flags = u32::from(count) | if eot { PRD_EOT } else { 0 };
        self.0[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
    }
}

impl DmaMemory for Ram {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let r = self.range(gpa, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), DmaError> {
        let r = self.range(gpa, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
}

fn bm_start(ide: &mut IdeController, table: u32, to_memory: bool) {
    ide.bm_write(BM_PRDT, 4, table);
    let dir = if to_memory { BM_CMD_WRITE_MEMORY } else { 0 };
    ide.bm_write(BM_COMMAND, 1, u32::from(dir));
    ide.bm_write(BM_COMMAND, 1, u32::from(dir | BM_CMD_START));
}

fn bm_status(ide: &mut IdeController) -> u8 {
    ide.bm_read(BM_STATUS, 1) as u8
}

// ---- IDENTIFY ----

#[test]
fn identify_device_reports_geometry_capacity_lba48_and_swapped_strings() {
    let sectors = 20_000;
    let mut ide = with_disk(sectors);
    outb(&mut ide, P + 6, 0xA0);
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!(w[0] & 0x8000, 0, "ATA device");
    assert_eq!(w[1], (sectors / (16 * 63)) as u16);
    assert_eq!((w[3], w[6]), (16, 63));
    assert_eq!(u32::from(w[60]) | u32::from(w[61]) << 16, sectors as u32);
    let lba48 = (0..4).fold(0u64, |a, i| a | u64::from(w[100 + i]) << (16 * i));
    assert_eq!(lba48, sectors as u64);
    assert_ne!(w[83] & ID83_LBA48, 0);
    assert_ne!(w[86] & ID83_LBA48, 0);
    assert_eq!(w[47], 0x8000 | u16::from(MAX_MULTIPLE));
    assert_eq!(w[59], ID59_MULTIPLE_VALID, "multiple mode off at power-on");
    assert_ne!(w[49] & (ID49_LBA | ID49_DMA), 0);
    assert!(ata_string(&w[27..47]).starts_with(b"VMM HARDDISK  "));
    assert!(ata_string(&w[10..20]).starts_with(b"VMMHD"));
    assert_eq!((w[255] & 0xFF, sum_bytes(&w)), (0xA5, 0), "integrity word");
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn identify_caps_cylinders_at_16383() {
    let mut ide = IdeController::new();
    // 9 GB worth of sectors would need a big vector: use a sparse backend.
    struct Big;
    impl BlockBackend for Big {
        fn len(&self) -> u64 {
            (1u64 << 30) * 9
        }
        fn read_only(&self) -> bool {
            true
        }
        fn read_at(&self, _: u64, buf: &mut [u8]) -> Result<(), BlockError> {
            buf.fill(0);
            Ok(())
        }
        fn write_at(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
            Err(BlockError::ReadOnly)
        }
    }
    ide.attach_disk(0, false, Box::new(Big));
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!(w[1], 16383);
    assert_eq!(u32::from(w[60]) | u32::from(w[61]) << 16, 9 << 21);
}

#[test]
fn set_features_transfer_mode_is_reflected_in_identify() {
    let mut ide = with_disk(100);
    outb(&mut ide, P + 1, FEATURE_SET_TRANSFER_MODE);
    outb(&mut ide, P + 2, XFER_UDMA | 5);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    assert_eq!(status(&mut ide) & STATUS_ERR, 0);
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!(w[88], ID88_UDMA_SUPPORTED | 0x2000);
    assert_eq!(w[63], ID63_MWDMA_SUPPORTED);
    outb(&mut ide, P + 1, FEATURE_SET_TRANSFER_MODE);
    outb(&mut ide, P + 2, XFER_MWDMA | 2);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!((w[63], w[88]), (0x0407, 0x003F));
    // UDMA mode 7 does not exist.
    outb(&mut ide, P + 1, FEATURE_SET_TRANSFER_MODE);
    outb(&mut ide, P + 2, XFER_UDMA | 7);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    assert_eq!(status(&mut ide) & STATUS_ERR, STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

#[test]
fn set_features_write_cache_toggles_word_85_and_unknown_subcommand_aborts() {
    let mut ide = with_disk(100);
    outb(&mut ide, P + 1, FEATURE_DISABLE_WRITE_CACHE);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!(w[85] & ID82_WRITE_CACHE, 0);
    outb(&mut ide, P + 1, FEATURE_ENABLE_WRITE_CACHE);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_ne!(w[85] & ID82_WRITE_CACHE, 0);
    outb(&mut ide, P + 1, 0x5A);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

// ---- PIO ----

#[test]
fn read_sectors_lba28_gives_drq_and_irq_per_sector() {
    let img = image(64 * SECTOR_SIZE);
    let mut ide = with_disk(64);
    lba28(&mut ide, 10, 2, CMD_READ_SECTORS);
    for s in 0..2 {
        assert!(ide.irq_level(0), "INTRQ for sector {s}");
        assert_eq!(alt_status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_DRQ);
        assert!(ide.irq_level(0), "alternate status leaves INTRQ");
        assert_eq!(status(&mut ide) & STATUS_DRQ, STATUS_DRQ);
        assert!(!ide.irq_level(0), "status read clears INTRQ");
        let data = read_bytes(&mut ide, SECTOR_SIZE);
        let off = (10 + s) * SECTOR_SIZE;
        assert_eq!(data, img[off..off + SECTOR_SIZE]);
    }
    assert!(
        !ide.irq_level(0),
        "no interrupt after the last data-in block"
    );
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn thirty_two_bit_data_reads_move_two_words() {
    let img = image(8 * SECTOR_SIZE);
    let mut ide = with_disk(8);
    lba28(&mut ide, 3, 1, CMD_READ_SECTORS);
    let mut data = Vec::new();
    for _ in 0..SECTOR_SIZE / 4 {
        data.extend_from_slice(&ide.read(P, 4).to_le_bytes());
    }
    assert_eq!(data, img[3 * SECTOR_SIZE..4 * SECTOR_SIZE]);
    assert_eq!(status(&mut ide) & STATUS_DRQ, 0);
}

#[test]
fn write_sectors_then_read_back() {
    let mut ide = with_disk(32);
    lba28(&mut ide, 5, 2, CMD_WRITE_SECTORS);
    assert!(
        !ide.irq_level(0),
        "no interrupt before the first data-out block"
    );
    assert_eq!(status(&mut ide) & STATUS_DRQ, STATUS_DRQ);
    let data: Vec<u8> = (0..2 * SECTOR_SIZE).map(|i| (i * 7) as u8).collect();
    write_bytes(&mut ide, &data[..SECTOR_SIZE]);
    assert!(ide.irq_level(0), "interrupt after the first block");
    assert_eq!(status(&mut ide) & STATUS_DRQ, STATUS_DRQ);
    write_bytes(&mut ide, &data[SECTOR_SIZE..]);
    assert!(ide.irq_level(0), "interrupt at completion");
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    lba28(&mut ide, 5, 2, CMD_READ_SECTORS);
    let mut back = Vec::new();
    for _ in 0..2 {
        back.extend(read_bytes(&mut ide, SECTOR_SIZE));
    }
    assert_eq!(back, data);
}

#[test]
fn lba48_registers_are_a_two_deep_fifo_read_through_hob() {
    let img = image(300 * SECTOR_SIZE);
    let mut ide = with_disk(300);
    outb(&mut ide, P + 3, 0x11);
    outb(&mut ide, P + 3, 0x22);
    assert_eq!(inb(&mut ide, P + 3), 0x22);
    outb(&mut ide, CTL, DEVCTL_HOB);
    assert_eq!(inb(&mut ide, P + 3), 0x11, "HOB reads the previous value");
    outb(&mut ide, P + 4, 0x33);
    assert_eq!(inb(&mut ide, P + 3), 0x22, "a register write clears HOB");
    lba48(&mut ide, 0x101, 2, CMD_READ_SECTORS_EXT);
    let d = read_bytes(&mut ide, SECTOR_SIZE);
    assert_eq!(d, img[0x101 * SECTOR_SIZE..0x102 * SECTOR_SIZE]);
    let d = read_bytes(&mut ide, SECTOR_SIZE);
    assert_eq!(d, img[0x102 * SECTOR_SIZE..0x103 * SECTOR_SIZE]);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn lba48_high_bytes_address_beyond_the_disk_fail_with_idnf() {
    let mut ide = with_disk(300);
    lba48(&mut ide, 1 << 32, 1, CMD_READ_SECTORS_EXT);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
}

#[test]
fn chs_addressing_uses_the_current_translation() {
    let img = image(4000 * SECTOR_SIZE);
    let mut ide = with_disk(4000);
    // Cylinder 2, head 3, sector 4 with 16 heads x 63 sectors.
    let chs = |ide: &mut IdeController, c: u16, h: u8, s: u8| {
        outb(ide, P + 6, 0xA0 | h);
        outb(ide, P + 2, 1);
        outb(ide, P + 3, s);
        outb(ide, P + 4, c as u8);
        outb(ide, P + 5, (c >> 8) as u8);
        outb(ide, P + 7, CMD_READ_SECTORS);
    };
    chs(&mut ide, 2, 3, 4);
    let lba = (2 * 16 + 3) * 63 + 3;
    assert_eq!(
        read_bytes(&mut ide, SECTOR_SIZE),
        img[lba * SECTOR_SIZE..][..SECTOR_SIZE]
    );
    // INITIALIZE DEVICE PARAMETERS: 4 heads, 17 sectors per track.
    outb(&mut ide, P + 6, 0xA0 | 3);
    outb(&mut ide, P + 2, 17);
    outb(&mut ide, P + 7, CMD_INITIALIZE_PARAMS);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    chs(&mut ide, 2, 3, 4);
    let lba = (2 * 4 + 3) * 17 + 3;
    assert_eq!(
        read_bytes(&mut ide, SECTOR_SIZE),
        img[lba * SECTOR_SIZE..][..SECTOR_SIZE]
    );
    let w = identify(&mut ide, CMD_IDENTIFY);
    assert_eq!((w[55], w[56]), (4, 17));
    // Sector 0 and a head past the translation do not exist.
    chs(&mut ide, 0, 0, 0);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
    chs(&mut ide, 0, 5, 1);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
}

#[test]
fn read_write_multiple_move_blocks_of_the_multiple_setting() {
    let img = image(64 * SECTOR_SIZE);
    let mut ide = with_disk(64);
    lba28(&mut ide, 0, 4, CMD_READ_MULTIPLE);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT, "multiple mode disabled");
    outb(&mut ide, P + 2, 3);
    outb(&mut ide, P + 7, CMD_SET_MULTIPLE);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT, "3 is not a power of two");
    outb(&mut ide, P + 2, 32);
    outb(&mut ide, P + 7, CMD_SET_MULTIPLE);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT, "32 is above the maximum");
    outb(&mut ide, P + 2, 4);
    outb(&mut ide, P + 7, CMD_SET_MULTIPLE);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    assert_eq!(
        identify(&mut ide, CMD_IDENTIFY)[59],
        ID59_MULTIPLE_VALID | 4
    );
    // 6 sectors: one block of 4, then one of 2.
    lba28(&mut ide, 8, 6, CMD_READ_MULTIPLE);
    assert!(ide.irq_level(0));
    status(&mut ide);
    let mut buf = vec![0u8; 6 * SECTOR_SIZE];
    assert_eq!(
        ide.read_data_block(0, &mut buf[..4 * SECTOR_SIZE]),
        4 * SECTOR_SIZE
    );
    assert!(ide.irq_level(0), "second block interrupts");
    status(&mut ide);
    assert_eq!(
        ide.read_data_block(0, &mut buf[4 * SECTOR_SIZE..]),
        2 * SECTOR_SIZE
    );
    assert_eq!(buf, img[8 * SECTOR_SIZE..14 * SECTOR_SIZE]);
    // WRITE MULTIPLE EXT of 5 sectors: blocks of 4 and 1.
    let data: Vec<u8> = (0..5 * SECTOR_SIZE).map(|i| (i / 3) as u8).collect();
    lba48(&mut ide, 20, 5, CMD_WRITE_MULTIPLE_EXT);
    assert_eq!(
        ide.write_data_block(0, &data[..4 * SECTOR_SIZE]),
        4 * SECTOR_SIZE
    );
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide) & STATUS_DRQ, STATUS_DRQ);
    assert_eq!(
        ide.write_data_block(0, &data[4 * SECTOR_SIZE..]),
        SECTOR_SIZE
    );
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    lba28(&mut ide, 20, 5, CMD_READ_MULTIPLE);
    let mut back = vec![0u8; 5 * SECTOR_SIZE];
    assert_eq!(ide.read_data_block(0, &mut back), 5 * SECTOR_SIZE);
    assert_eq!(back, data);
}

#[test]
fn out_of_range_lba_fails_with_idnf() {
    let mut ide = with_disk(64);
    lba28(&mut ide, 64, 1, CMD_READ_SECTORS);
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
    lba28(&mut ide, 64, 1, CMD_READ_VERIFY);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
    lba28(&mut ide, 63, 1, CMD_READ_VERIFY);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn sector_count_running_off_the_end_fails_with_idnf_before_any_data() {
    let mut ide = with_disk(64);
    lba28(&mut ide, 60, 5, CMD_WRITE_SECTORS);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
    // Sector count 0 means 256 sectors: too many for 64.
    lba28(&mut ide, 0, 0, CMD_READ_SECTORS);
    assert_eq!(inb(&mut ide, P + 1), ERROR_IDNF);
}

#[test]
fn sector_count_zero_means_256_sectors() {
    let img = image(300 * SECTOR_SIZE);
    let mut ide = with_disk(300);
    lba28(&mut ide, 1, 0, CMD_READ_SECTORS);
    let mut buf = vec![0u8; 256 * SECTOR_SIZE];
    assert_eq!(ide.read_data_block(0, &mut buf), buf.len());
    assert_eq!(buf, img[SECTOR_SIZE..257 * SECTOR_SIZE]);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn writes_to_read_only_media_abort() {
    let mut ide = IdeController::new();
    ide.attach_disk(
        0,
        false,
        Box::new(MemoryBlock::new(image(8 * SECTOR_SIZE), true)),
    );
    lba28(&mut ide, 0, 1, CMD_WRITE_SECTORS);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
    // WRITE DMA aborts at issue, before the driver starts the bus master:
    // INTRQ rises and with it the bus master's Interrupt bit (SFF-8038i),
    // which a driver checks to claim the interrupt of a DMA command.
    status(&mut ide);
    ide.bm_write(BM_STATUS, 1, u32::from(BM_STATUS_INTERRUPT));
    assert_eq!(bm_status(&mut ide) & BM_STATUS_INTERRUPT, 0);
    lba28(&mut ide, 0, 1, CMD_WRITE_DMA);
    assert!(ide.irq_level(0));
    assert_ne!(bm_status(&mut ide) & BM_STATUS_INTERRUPT, 0);
    assert_eq!(alt_status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

#[test]
fn unknown_command_and_packet_commands_on_a_disk_abort() {
    let mut ide = with_disk(8);
    for cmd in [0x00, 0x55, 0xFF, CMD_PACKET, CMD_DEVICE_RESET] {
        outb(&mut ide, P + 7, cmd);
        assert!(ide.irq_level(0));
        assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
        assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
    }
}

#[test]
fn identify_packet_device_on_a_disk_aborts_without_atapi_signature() {
    let mut ide = with_disk(8);
    outb(&mut ide, P + 4, 0);
    outb(&mut ide, P + 5, 0);
    outb(&mut ide, P + 7, CMD_IDENTIFY_PACKET);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
    assert_eq!((inb(&mut ide, P + 4), inb(&mut ide, P + 5)), (0, 0));
}

#[test]
fn non_data_commands_complete_with_an_interrupt() {
    let mut ide = with_disk(8);
    for cmd in [
        CMD_FLUSH_CACHE,
        CMD_FLUSH_CACHE_EXT,
        CMD_RECALIBRATE | 0x5,
        CMD_IDLE_IMMEDIATE,
    ] {
        outb(&mut ide, P + 7, cmd);
        assert!(ide.irq_level(0), "{cmd:#x}");
        assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC, "{cmd:#x}");
    }
    outb(&mut ide, P + 7, CMD_CHECK_POWER_MODE);
    assert_eq!(inb(&mut ide, P + 2), POWER_MODE_ACTIVE);
}

// ---- Reset, signatures, presence ----

fn signature(ide: &mut IdeController, base: u16) -> [u8; 4] {
    [2, 3, 4, 5].map(|r| inb(ide, base + r))
}

#[test]
fn soft_reset_leaves_ata_and_atapi_signatures() {
    let mut ide = with_disk(8);
    ide.attach_cdrom(0, true, cdrom(4));
    lba28(&mut ide, 0, 1, CMD_READ_SECTORS);
    outb(&mut ide, CTL, DEVCTL_SRST);
    assert_eq!(alt_status(&mut ide) & STATUS_BSY, STATUS_BSY);
    outb(&mut ide, CTL, 0);
    assert!(!ide.irq_level(0), "software reset does not interrupt");
    assert_eq!(inb(&mut ide, P + 6) & DEVICE_DEV, 0);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    assert_eq!(inb(&mut ide, P + 1), DIAGNOSTIC_PASSED);
    assert_eq!(signature(&mut ide, P), [0x01, 0x01, 0x00, 0x00]);
    outb(&mut ide, P + 6, 0xB0);
    assert_eq!(status(&mut ide), 0, "PACKET device leaves DRDY clear");
    assert_eq!(inb(&mut ide, P + 1), DIAGNOSTIC_PASSED);
    assert_eq!(signature(&mut ide, P), [0x01, 0x01, 0x14, 0xEB]);
    assert_eq!(status(&mut ide) & STATUS_DRQ, 0, "transfer abandoned");
}

#[test]
fn execute_device_diagnostic_resets_both_devices_and_interrupts() {
    let mut ide = with_disk(8);
    ide.attach_cdrom(0, true, cdrom(4));
    outb(&mut ide, P + 6, 0xB0);
    outb(&mut ide, P + 4, 0x55);
    outb(&mut ide, P + 7, CMD_EXECUTE_DIAGNOSTIC);
    assert!(ide.irq_level(0));
    assert_eq!(
        status(&mut ide),
        STATUS_DRDY | STATUS_DSC,
        "device 0 selected"
    );
    assert_eq!(signature(&mut ide, P), [1, 1, 0, 0]);
    outb(&mut ide, P + 6, 0xB0);
    assert_eq!(signature(&mut ide, P), [1, 1, 0x14, 0xEB]);
    assert_eq!(inb(&mut ide, P + 1), DIAGNOSTIC_PASSED);
}

#[test]
fn absent_device_reads_zero_and_an_empty_channel_floats() {
    let mut ide = with_disk(8);
    outb(&mut ide, P + 6, 0xB0);
    assert_eq!(status(&mut ide), 0);
    assert_eq!(alt_status(&mut ide), 0);
    assert_eq!(inb(&mut ide, P + 1), 0);
    assert_eq!(signature(&mut ide, P), [0, 0, 0, 0]);
    assert_eq!(inb(&mut ide, P + 6), 0xB0);
    outb(&mut ide, P + 7, CMD_IDENTIFY);
    assert!(!ide.irq_level(0), "an absent device ignores commands");
    assert_eq!(ide.read(P, 2), 0);
    outb(&mut ide, P + 6, 0xA0);
    assert_eq!(
        status(&mut ide),
        STATUS_DRDY | STATUS_DSC,
        "device 0 untouched"
    );
    // The secondary channel has no devices: every register floats high.
    for r in 0..8 {
        assert_eq!(inb(&mut ide, S + r), 0xFF);
    }
    assert_eq!(ide.read(S, 2), 0xFFFF);
    assert_eq!(inb(&mut ide, SECONDARY_CONTROL_PORT), 0xFF);
    outb(&mut ide, S + 2, 0x55);
    assert_eq!(inb(&mut ide, S + 2), 0xFF, "writes do not stick");
    outb(&mut ide, S + 7, CMD_IDENTIFY);
    assert!(!ide.irq_level(1));
}

// ---- ATAPI ----

/// Sends PACKET with `cdb`; checks the command-packet phase.
fn send_packet(ide: &mut IdeController, cdb: [u8; 12], limit: u16, dma: bool) {
    outb(ide, P + 1, if dma { FEATURES_DMA } else { 0 });
    outb(ide, P + 4, limit as u8);
    outb(ide, P + 5, (limit >> 8) as u8);
    outb(ide, P + 7, CMD_PACKET);
    assert!(!ide.irq_level(0), "no interrupt before the command packet");
    assert_eq!(alt_status(ide) & (STATUS_DRQ | STATUS_BSY), STATUS_DRQ);
    assert_eq!(inb(ide, P + 2) & (IREASON_COD | IREASON_IO), IREASON_COD);
    write_bytes(ide, &cdb);
}

/// Collects a PIO data-in phase: data and the byte count of each DRQ block.
fn packet_data_in(ide: &mut IdeController) -> (Vec<u8>, Vec<usize>) {
    let (mut data, mut blocks) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        assert!(
            ide.irq_level(0),
            "interrupt for every data block and at the end"
        );
        let st = status(ide);
        if st & STATUS_DRQ == 0 {
            assert_eq!(inb(ide, P + 2) & 3, IREASON_COD | IREASON_IO);
            return (data, blocks);
        }
        assert_eq!(inb(ide, P + 2) & 3, IREASON_IO);
        let n = usize::from(inb(ide, P + 4)) | usize::from(inb(ide, P + 5)) << 8;
        blocks.push(n);
        data.extend(read_bytes(ide, n));
    }
    panic!("data phase never ended");
}

#[test]
fn atapi_identify_device_aborts_leaving_the_signature() {
    let mut ide = with_cdrom();
    outb(&mut ide, P + 4, 0x12);
    outb(&mut ide, P + 5, 0x34);
    outb(&mut ide, P + 7, CMD_IDENTIFY);
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide) & (STATUS_ERR | STATUS_DRQ), STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1) & ERROR_ABRT, ERROR_ABRT);
    assert_eq!(signature(&mut ide, P), [0x01, 0x01, 0x14, 0xEB]);
}

#[test]
fn identify_packet_device_returns_the_drive_words() {
    let mut ide = with_cdrom();
    let expected = cdrom(1).identify_packet_data();
    let w = identify(&mut ide, CMD_IDENTIFY_PACKET);
    assert_eq!(w[0], expected[0]);
    assert_eq!(w[0] >> 14, 0b10, "ATAPI device");
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn packet_inquiry_via_pio_respects_the_byte_count_limit() {
    let mut ide = with_cdrom();
    let mut cdb = [0u8; 12];
    cdb[0] = 0x12; // INQUIRY
    cdb[4] = 36;
    send_packet(&mut ide, cdb, 16, false);
    let (data, blocks) = packet_data_in(&mut ide);
    assert!(!data.is_empty() && data.len() <= 36);
    assert_eq!(data[0] & 0x1F, 0x05, "CD/DVD device");
    assert!(blocks.iter().all(|&n| n <= 16 && n > 0));
    assert_eq!(blocks.iter().sum::<usize>(), data.len());
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn packet_read10_via_pio_streams_blocks_by_the_limit() {
    let img = image(16 * ATAPI_BLOCK_SIZE);
    let mut ide = with_cdrom();
    let mut cdb = [0u8; 12];
    cdb[0] = 0x28; // READ(10) of blocks 3..6
    cdb[5] = 3;
    cdb[8] = 3;
    send_packet(&mut ide, cdb, 4096, false);
    let (data, blocks) = packet_data_in(&mut ide);
    assert_eq!(data, img[3 * ATAPI_BLOCK_SIZE..6 * ATAPI_BLOCK_SIZE]);
    assert_eq!(blocks, [4096, 2048]);
    // An odd limit is used rounded down to a whole number of blocks.
    send_packet(&mut ide, cdb, 3001, false);
    let (data2, blocks) = packet_data_in(&mut ide);
    assert_eq!(data2, data);
    assert_eq!(blocks, [2048, 2048, 2048]);
}

#[test]
fn packet_read_past_the_medium_reports_check_condition() {
    let mut ide = with_cdrom();
    let mut cdb = [0u8; 12];
    cdb[0] = 0x28;
    cdb[5] = 100;
    cdb[8] = 1;
    send_packet(&mut ide, cdb, 0xFFFE, false);
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide) & (STATUS_ERR | STATUS_DRQ), STATUS_ERR);
    let ide_sense = {
        let ch = &mut ide.channels[0];
        match &ch.devices[0].as_ref().unwrap().media {
            Media::Cdrom(d) => d.sense().0,
            Media::Disk(_) => unreachable!(),
        }
    };
    assert_ne!(ide_sense, 0);
    assert_eq!(inb(&mut ide, P + 1) >> 4, ide_sense);
    assert_eq!(inb(&mut ide, P + 2) & 3, IREASON_COD | IREASON_IO);
}

#[test]
fn check_condition_puts_the_sense_key_in_the_error_register() {
    let mut ide = IdeController::new();
    let fresh = AtapiDrive::new(Some(Box::new(MemoryBlock::new(
        image(4 * ATAPI_BLOCK_SIZE),
        true,
    ))));
    ide.attach_cdrom(0, false, fresh);
    // TEST UNIT READY right after power-on: UNIT ATTENTION (6h).
    send_packet(&mut ide, [0; 12], 0, false);
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), 0x6 << ERROR_SENSE_KEY_SHIFT);
    assert_eq!(inb(&mut ide, P + 2) & 3, IREASON_COD | IREASON_IO);
    // REQUEST SENSE returns it (fixed format, sense key in byte 2) and clears it.
    send_packet(&mut ide, REQUEST_SENSE, 0xFFFE, false);
    let (data, _) = packet_data_in(&mut ide);
    assert_eq!(data[2] & 0x0F, 0x6);
    send_packet(&mut ide, [0; 12], 0, false);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    assert_eq!(inb(&mut ide, P + 1), 0);
}

#[test]
fn identify_packet_device_reflects_the_selected_dma_mode_with_a_valid_checksum() {
    let mut ide = with_cdrom();
    outb(&mut ide, P + 1, FEATURE_SET_TRANSFER_MODE);
    outb(&mut ide, P + 2, XFER_UDMA | 2);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    let w = identify(&mut ide, CMD_IDENTIFY_PACKET);
    assert_eq!(w[IDENTIFY_WORD_UDMA] & 0xFF00, 0x0400);
    assert_eq!(sum_bytes(&w), 0, "integrity word recomputed");
}

#[test]
fn packet_with_overlap_bit_aborts() {
    let mut ide = with_cdrom();
    outb(&mut ide, P + 1, FEATURES_OVL);
    outb(&mut ide, P + 7, CMD_PACKET);
    assert_eq!(status(&mut ide) & STATUS_ERR, STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

#[test]
fn device_reset_on_a_cdrom_restores_the_signature_without_interrupt() {
    let mut ide = with_cdrom();
    let mut cdb = [0u8; 12];
    cdb[0] = 0x28;
    cdb[8] = 2;
    send_packet(&mut ide, cdb, 2048, false);
    status(&mut ide);
    outb(&mut ide, P + 7, CMD_DEVICE_RESET);
    assert!(!ide.irq_level(0));
    assert_eq!(status(&mut ide), 0);
    assert_eq!(signature(&mut ide, P), [1, 1, 0x14, 0xEB]);
    assert_eq!(ide.read_data_block(0, &mut [0u8; 64]), 0, "no data left");
}

// ---- Bus-master DMA ----

#[test]
fn read_dma_scatters_through_a_two_entry_prd_table() {
    let img = image(64 * SECTOR_SIZE);
    let mut ide = with_disk(64);
    let mut ram = Ram(vec![0; 0x10000]);
    ram.prd(0x100, 0x1000, 512, false);
    ram.prd(0x108, 0x3000, 1024, true);
    lba28(&mut ide, 7, 3, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    assert_eq!(ram.0[0x1000], 0, "nothing moves before Start");
    bm_start(&mut ide, 0x100, true);
    assert_eq!(bm_status(&mut ide) & BM_STATUS_ACTIVE, BM_STATUS_ACTIVE);
    ide.run_dma(&mut ram);
    assert_eq!(ram.0[0x1000..0x1200], img[7 * SECTOR_SIZE..8 * SECTOR_SIZE]);
    assert_eq!(
        ram.0[0x3000..0x3400],
        img[8 * SECTOR_SIZE..10 * SECTOR_SIZE]
    );
    let st = bm_status(&mut ide);
    assert_eq!(
        st & (BM_STATUS_ACTIVE | BM_STATUS_ERROR | BM_STATUS_INTERRUPT),
        BM_STATUS_INTERRUPT
    );
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    assert_ne!(
        st & BM_STATUS_DRIVE0_DMA,
        0,
        "attached drive is DMA capable"
    );
    ide.bm_write(
        BM_STATUS,
        1,
        u32::from(BM_STATUS_INTERRUPT | BM_STATUS_DRIVE0_DMA),
    );
    let st = bm_status(&mut ide);
    assert_eq!(st & BM_STATUS_INTERRUPT, 0, "write 1 to clear");
    assert_ne!(st & BM_STATUS_DRIVE0_DMA, 0, "read/write bit kept");
}

#[test]
fn write_dma_ext_gathers_from_memory() {
    let mut ide = with_disk(64);
    let mut ram = Ram(vec![0; 0x10000]);
    for (i, b) in ram.0[0x2000..0x2400].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    ram.prd(0, 0x2000, 0x400, true);
    bm_start(&mut ide, 0, false);
    lba48(&mut ide, 30, 2, CMD_WRITE_DMA_EXT);
    ide.run_dma(&mut ram);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    lba28(&mut ide, 30, 2, CMD_READ_SECTORS);
    let mut back = read_bytes(&mut ide, SECTOR_SIZE);
    back.extend(read_bytes(&mut ide, SECTOR_SIZE));
    assert_eq!(back, ram.0[0x2000..0x2400]);
}

#[test]
fn prd_table_larger_than_the_transfer_leaves_active_set() {
    let mut ide = with_disk(8);
    let mut ram = Ram(vec![0; 0x10000]);
    ram.prd(0, 0x1000, 0, true); // 64 KiB
    bm_start(&mut ide, 0, true);
    lba28(&mut ide, 0, 1, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    let st = bm_status(&mut ide);
    assert_eq!(
        st & (BM_STATUS_ACTIVE | BM_STATUS_INTERRUPT | BM_STATUS_ERROR),
        BM_STATUS_ACTIVE | BM_STATUS_INTERRUPT
    );
    ide.bm_write(BM_COMMAND, 1, 0);
    assert_eq!(
        bm_status(&mut ide) & BM_STATUS_ACTIVE,
        0,
        "Stop clears Active"
    );
}

#[test]
fn prd_pointing_outside_memory_sets_bus_master_error_and_ata_abort() {
    let mut ide = with_disk(8);
    let mut ram = Ram(vec![0; 0x10000]);
    ram.prd(0, 0xFFFF_0000, 512, true);
    bm_start(&mut ide, 0, true);
    lba28(&mut ide, 0, 1, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    let st = bm_status(&mut ide);
    assert_eq!(
        st & (BM_STATUS_ACTIVE | BM_STATUS_ERROR | BM_STATUS_INTERRUPT),
        BM_STATUS_ERROR | BM_STATUS_INTERRUPT
    );
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
    // The table itself outside memory fails the same way.
    bm_start(&mut ide, 0xFFFF_FFF0, true);
    ide.bm_write(
        BM_STATUS,
        1,
        u32::from(BM_STATUS_ERROR | BM_STATUS_INTERRUPT),
    );
    lba28(&mut ide, 0, 1, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    assert_ne!(bm_status(&mut ide) & BM_STATUS_ERROR, 0);
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

#[test]
fn endless_prd_table_is_bounded() {
    let mut ide = with_disk(64);
    // 8192 entries of 2 bytes with no EOT: a 16 KiB transfer needs them all,
    // but the walk stops at MAX_PRD_ENTRIES.
    let mut ram = Ram(vec![0; 0x20000]);
    for i in 0..8192 {
        ram.prd(i * 8, 0x1_0000, 2, false);
    }
    bm_start(&mut ide, 0, true);
    lba48(&mut ide, 0, 32, CMD_READ_DMA_EXT);
    ide.run_dma(&mut ram);
    assert_ne!(bm_status(&mut ide) & BM_STATUS_ERROR, 0);
    assert_eq!(status(&mut ide) & STATUS_ERR, STATUS_ERR);
    // A table whose entries all describe the same 2 bytes, aliasing itself.
    let mut ram = Ram(vec![0; 0x100]);
    ram.prd(0, 0x80, 2, false);
    ram.prd(8, 0x80, 2, false);
    for i in 2..16 {
        ram.prd(i * 8, 0x80, 2, false);
    }
    ide.bm_write(BM_STATUS, 1, 0xFF);
    bm_start(&mut ide, 0, true);
    lba28(&mut ide, 0, 8, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    assert_ne!(bm_status(&mut ide) & BM_STATUS_ERROR, 0);
}

#[test]
fn prd_table_shorter_than_the_transfer_is_an_error() {
    let mut ide = with_disk(8);
    let mut ram = Ram(vec![0; 0x10000]);
    ram.prd(0, 0x1000, 512, true);
    bm_start(&mut ide, 0, true);
    lba28(&mut ide, 0, 2, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    assert_eq!(
        bm_status(&mut ide) & (BM_STATUS_ERROR | BM_STATUS_ACTIVE),
        BM_STATUS_ERROR
    );
    assert_eq!(inb(&mut ide, P + 1), ERROR_ABRT);
}

#[test]
fn dma_direction_opposite_to_the_command_is_an_error() {
    let mut ide = with_disk(8);
    let mut ram = Ram(vec![0; 0x10000]);
    ram.prd(0, 0x1000, 512, true);
    bm_start(&mut ide, 0, false);
    lba28(&mut ide, 0, 1, CMD_READ_DMA);
    ide.run_dma(&mut ram);
    assert_ne!(bm_status(&mut ide) & BM_STATUS_ERROR, 0);
    assert!(ram.0[0x1000..0x1200].iter().all(|&b| b == 0));
}

#[test]
fn packet_read_via_dma_uses_the_bus_master() {
    let img = image(16 * ATAPI_BLOCK_SIZE);
    let mut ide = with_cdrom();
    let mut ram = Ram(vec![0; 0x20000]);
    ram.prd(0, 0x4000, 0x1000, true);
    let mut cdb = [0u8; 12];
    cdb[0] = 0x28;
    cdb[5] = 5;
    cdb[8] = 2;
    send_packet(&mut ide, cdb, 0, true);
    assert!(!ide.irq_level(0), "data phase waits for the bus master");
    bm_start(&mut ide, 0, true);
    ide.run_dma(&mut ram);
    assert_eq!(
        ram.0[0x4000..0x5000],
        img[5 * ATAPI_BLOCK_SIZE..7 * ATAPI_BLOCK_SIZE]
    );
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide) & (STATUS_ERR | STATUS_DRQ), 0);
    assert_eq!(inb(&mut ide, P + 2) & 3, IREASON_COD | IREASON_IO);
    assert_eq!(
        bm_status(&mut ide) & (BM_STATUS_ACTIVE | BM_STATUS_INTERRUPT),
        BM_STATUS_INTERRUPT
    );
}

// ---- Interrupts ----

#[test]
fn nien_suppresses_the_interrupt_line() {
    let mut ide = with_disk(8);
    outb(&mut ide, CTL, DEVCTL_NIEN);
    outb(&mut ide, P + 7, CMD_FLUSH_CACHE);
    assert!(!ide.irq_level(0));
    outb(&mut ide, CTL, 0);
    assert!(ide.irq_level(0), "a pending interrupt shows once enabled");
    status(&mut ide);
    assert!(!ide.irq_level(0));
}

#[test]
fn reading_status_clears_the_interrupt_but_alternate_status_does_not() {
    let mut ide = with_disk(8);
    ide.attach_disk(1, false, disk(8));
    outb(&mut ide, S + 7, CMD_FLUSH_CACHE);
    assert!(ide.irq_level(1));
    assert!(!ide.irq_level(0), "channels interrupt separately");
    inb(&mut ide, SECONDARY_CONTROL_PORT);
    assert!(ide.irq_level(1));
    inb(&mut ide, S + 7);
    assert!(!ide.irq_level(1));
}

#[test]
fn port_adapters_translate_offsets() {
    let ide = Rc::new(RefCell::new(with_disk(8)));
    let mut cmd = IdePorts::new(PRIMARY_COMMAND_BASE, ide.clone());
    let mut ctl = IdePorts::new(PRIMARY_CONTROL_PORT, ide.clone());
    let mut bm = BusMasterPorts::new(ide.clone());
    cmd.write(REG_LBA_LOW, 1, 0x5A);
    assert_eq!(cmd.read(REG_LBA_LOW, 1), 0x5A);
    assert_eq!(ctl.read(0, 1), u32::from(STATUS_DRDY | STATUS_DSC));
    bm.write(BM_PRDT, 4, 0x1234_5677);
    assert_eq!(bm.read(BM_PRDT, 4), 0x1234_5674, "dword aligned");
    assert_eq!(bm.read(8 + BM_PRDT, 4), 0);
}

// ---- Robustness ----

#[test]
fn random_register_traffic_never_panics_and_keeps_invariants() {
    const PORTS: [u16; 18] = [
        0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6, 0x170, 0x171, 0x172, 0x173,
        0x174, 0x175, 0x176, 0x177, 0x376,
    ];
    const COMMANDS: [u8; 30] = [
        0x08, 0x10, 0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x42, 0x70, 0x90, 0x91,
        0xA0, 0xA1, 0xC4, 0xC5, 0xC6, 0xC8, 0xCA, 0xE5, 0xE7, 0xEA, 0xEC, 0xEF, 0x00, 0xFF, 0x21,
    ];
    let mut rng = XorShift::per_run(
        "random_register_traffic_never_panics_and_keeps_invariants",
        0x9E37_79B9_7F4A_7C15,
    );
    let mut ide = IdeController::new();
    ide.attach_disk(0, false, disk(64));
    ide.attach_cdrom(0, true, cdrom(8));
    ide.attach_disk(1, true, disk(16));
    let mut ram = Ram(vec![0; 0x8000]);
    let mut buf = vec![0u8; 8192];
    for step in 0..100_000 {
        let size = [1u8, 2, 4][rng.below(3) as usize];
        match rng.below(15) {
            12 | 13 => {
                // A plausible command, so that transfers actually start.
                let base = [P, S][rng.below(2) as usize];
                let dev = if rng.below(2) == 0 { 0xE0 } else { 0xF0 };
                ide.write(base + 6, 1, dev);
                ide.write(base + 1, 1, rng.below(4) as u32);
                ide.write(base + 2, 1, rng.below(2) as u32);
                ide.write(base + 2, 1, rng.below(10) as u32);
                ide.write(base + 3, 1, rng.below(70) as u32);
                ide.write(base + 4, 1, rng.below(3) as u32 * 0x800);
                ide.write(base + 5, 1, rng.below(2) as u32);
                let cmd = COMMANDS[rng.below(COMMANDS.len() as u64) as usize];
                ide.write(base + 7, 1, u32::from(cmd));
                if rng.below(2) == 0 {
                    let ch = u16::from(base == S);
                    ide.bm_write(8 * ch, 1, rng.below(2) as u32 * 8);
                    ide.bm_write(8 * ch, 1, 1 | (rng.below(2) as u32 * 8));
                }
            }
            14 => {
                // A plausible command packet.
                let mut cdb = [0u8; 12];
                for b in cdb.iter_mut() {
                    *b = rng.below(4) as u8;
                }
                cdb[0] = [0x00, 0x12, 0x28, 0x25, 0x03, 0xA8][rng.below(6) as usize];
                let ch = rng.below(2) as usize;
                ide.write_data_block(ch, &cdb);
            }
            0..=2 => {
                let port = PORTS[rng.below(PORTS.len() as u64) as usize];
                let v = rng.next() as u32;
                let v = if port & 7 == 7 && port & 0x200 == 0 && rng.below(2) == 0 {
                    u32::from(COMMANDS[rng.below(COMMANDS.len() as u64) as usize])
                } else if (port == 0x3F6 || port == 0x376) && rng.below(4) != 0 {
                    // Mostly leave SRST clear so commands can run.
                    v & !u32::from(DEVCTL_SRST)
                } else {
                    v
                };
                ide.write(port, size, v);
            }
            3..=5 => {
                let port = PORTS[rng.below(PORTS.len() as u64) as usize];
                let v = ide.read(port, size);
                assert_eq!(v & !all_ones(size), 0, "step {step}");
            }
            6 => {
                let off = rng.below(20) as u16;
                ide.bm_write(off, size, rng.next() as u32);
            }
            7 => {
                let off = rng.below(20) as u16;
                let v = ide.bm_read(off, size);
                assert_eq!(v & !all_ones(size), 0);
            }
            8 => {
                // A random PRD table somewhere (possibly hanging off RAM).
                let at = rng.below(0x8000) as usize & !7;
                for i in 0..rng.below(6) as usize {
                    let e = at + 8 * i;
                    if e + 8 <= ram.0.len() {
                        let addr = rng.below(0x9000) as u32;
                        let count = rng.below(0x1200) as u16;
                        ram.prd(e, addr, count, rng.below(3) == 0);
                    }
                }
                ide.bm_write(BM_PRDT + 8 * rng.below(2) as u16, 4, at as u32);
                ide.run_dma(&mut ram);
            }
            9 => {
                let n = rng.below(buf.len() as u64) as usize;
                let ch = rng.below(3) as usize;
                let moved = ide.read_data_block(ch, &mut buf[..n]);
                assert!(moved <= n);
            }
            10 => {
                let n = rng.below(buf.len() as u64) as usize;
                let ch = rng.below(3) as usize;
                let moved = ide.write_data_block(ch, &buf[..n]);
                assert!(moved <= n);
            }
            _ => ide.run_dma(&mut ram),
        }
        for ch in 0..2 {
            let c = &ide.channels[ch];
            if c.devctl & DEVCTL_NIEN != 0 {
                assert!(!ide.irq_level(ch), "nIEN masks INTRQ");
            }
            for d in c.devices.iter().flatten() {
                assert!(d.pos <= d.end && d.end <= d.buf.len().max(d.end));
                assert!(d.end <= d.buf.len() || d.end == 0);
                if d.tf.status & STATUS_BSY != 0 {
                    assert_ne!(c.devctl & DEVCTL_SRST, 0, "BSY only under SRST");
                }
                if d.drq() {
                    assert_ne!(d.tf.status & STATUS_DRQ, 0, "data offered under DRQ");
                }
                assert!(d.buf.capacity() <= 1 << 20, "bounded buffers");
            }
        }
        assert!(!ide.irq_level(2));
    }
}
