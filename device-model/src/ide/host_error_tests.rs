//! A disk whose host device fails or flushes: what the guest's ATA driver
//! sees (ATA/ATAPI-6: the Error register; FLUSH CACHE). Host errors become the
//! device's error, never success; FLUSH CACHE completes only once the
//! medium flushed.

use super::opcodes::{CMD_FLUSH_CACHE, CMD_FLUSH_CACHE_EXT, CMD_READ_SECTORS, CMD_WRITE_SECTORS};
use super::registers::{ERROR_ABRT, ERROR_UNC, STATUS_DRQ, STATUS_ERR};
use super::*;
use alloc::rc::Rc;
use block_backend::BlockError;
use core::cell::Cell;

const P: u16 = PRIMARY_COMMAND_BASE;

/// A 16-sector disk that fails reads, writes or flushes as told and counts
/// its flushes.
struct FailingDisk {
    read: Result<(), BlockError>,
    write: Result<(), BlockError>,
    flush: Result<(), BlockError>,
    flushes: Rc<Cell<u32>>,
}

impl BlockBackend for FailingDisk {
    fn len(&self) -> u64 {
        16 * 512
    }
    fn read_only(&self) -> bool {
        false
    }
    fn read_at(&self, _: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        buf.fill(0x5A);
        self.read
    }
    fn write_at(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
        self.write
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.flushes.set(self.flushes.get() + 1);
        self.flush
    }
}

fn ide_with(
    read: Result<(), BlockError>,
    write: Result<(), BlockError>,
    flush: Result<(), BlockError>,
) -> (IdeController, Rc<Cell<u32>>) {
    let flushes = Rc::new(Cell::new(0));
    let mut ide = IdeController::new();
    ide.attach_disk(
        0,
        false,
        Box::new(FailingDisk {
            read,
            write,
            flush,
            flushes: flushes.clone(),
        }),
    );
    (ide, flushes)
}

fn command(ide: &mut IdeController, cmd: u8) {
    ide.write(P + 6, 1, 0xE0);
    ide.write(P + 2, 1, 1);
    ide.write(P + 3, 1, 0);
    ide.write(P + 4, 1, 0);
    ide.write(P + 5, 1, 0);
    ide.write(P + 7, 1, u32::from(cmd));
}

fn status_and_error(ide: &mut IdeController) -> (u8, u8) {
    (ide.read(P + 7, 1) as u8, ide.read(P + 1, 1) as u8)
}

#[test]
fn flush_cache_reaches_the_medium_before_it_completes() {
    let (mut ide, flushes) = ide_with(Ok(()), Ok(()), Ok(()));
    command(&mut ide, CMD_FLUSH_CACHE);
    assert_eq!(flushes.get(), 1);
    assert_eq!(status_and_error(&mut ide).0 & STATUS_ERR, 0);
    command(&mut ide, CMD_FLUSH_CACHE_EXT);
    assert_eq!(flushes.get(), 2);
    assert_eq!(status_and_error(&mut ide).0 & STATUS_ERR, 0);
}

#[test]
fn a_failed_host_flush_is_an_ata_error() {
    let (mut ide, _) = ide_with(Ok(()), Ok(()), Err(BlockError::Io));
    command(&mut ide, CMD_FLUSH_CACHE);
    assert_eq!(status_and_error(&mut ide), (0x50 | STATUS_ERR, ERROR_UNC));
    let (mut ide, _) = ide_with(Ok(()), Ok(()), Err(BlockError::Unsupported));
    command(&mut ide, CMD_FLUSH_CACHE_EXT);
    assert_eq!(status_and_error(&mut ide), (0x50 | STATUS_ERR, ERROR_ABRT));
}

#[test]
fn a_host_read_error_is_unc_with_no_data() {
    let (mut ide, _) = ide_with(Err(BlockError::Io), Ok(()), Ok(()));
    command(&mut ide, CMD_READ_SECTORS);
    let (status, error) = status_and_error(&mut ide);
    assert_eq!(status & (STATUS_ERR | STATUS_DRQ), STATUS_ERR);
    assert_eq!(error, ERROR_UNC);
}

#[test]
fn a_host_write_error_is_reported_not_completed() {
    for (e, bits) in [
        (BlockError::Io, ERROR_UNC),
        (BlockError::Unsupported, ERROR_ABRT),
        (BlockError::ReadOnly, ERROR_ABRT),
    ] {
        let (mut ide, _) = ide_with(Ok(()), Err(e), Ok(()));
        command(&mut ide, CMD_WRITE_SECTORS);
        for _ in 0..256 {
            ide.write(P, 2, 0x1234);
        }
        let (status, error) = status_and_error(&mut ide);
        assert_eq!(status & (STATUS_ERR | STATUS_DRQ), STATUS_ERR, "{e:?}");
        assert_eq!(error, bits, "{e:?}");
    }
}

#[test]
fn with_the_write_cache_disabled_every_write_is_flushed() {
    use super::opcodes::CMD_SET_FEATURES;
    let (mut ide, flushes) = ide_with(Ok(()), Ok(()), Ok(()));
    let write_one = |ide: &mut IdeController| {
        command(ide, CMD_WRITE_SECTORS);
        for _ in 0..256 {
            ide.write(P, 2, 0x1234);
        }
        assert_eq!(status_and_error(ide).0 & STATUS_ERR, 0);
    };
    write_one(&mut ide);
    assert_eq!(flushes.get(), 0, "the write cache is on at power-on");
    // SET FEATURES 82h: disable the volatile write cache (ATA/ATAPI-6, SET FEATURES).
    ide.write(P + 1, 1, 0x82);
    ide.write(P + 7, 1, u32::from(CMD_SET_FEATURES));
    assert_eq!(status_and_error(&mut ide).0 & STATUS_ERR, 0);
    write_one(&mut ide);
    assert_eq!(flushes.get(), 1);
    // A write whose flush fails is not reported done.
    let (mut ide, _) = ide_with(Ok(()), Ok(()), Err(BlockError::Io));
    ide.write(P + 1, 1, 0x82);
    ide.write(P + 7, 1, u32::from(CMD_SET_FEATURES));
    command(&mut ide, CMD_WRITE_SECTORS);
    for _ in 0..256 {
        ide.write(P, 2, 0x1234);
    }
    assert_eq!(status_and_error(&mut ide).1, ERROR_UNC);
}
