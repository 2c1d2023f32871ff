//! READ/WRITE DMA on a disk whose medium has a queue (a host disk): the
//! command completes on a later poll, with the host's requests finishing
//! late, out of order or failing, and a hostile guest abandoning commands
//! while the host works (SFF-8038i bus master, ATA/ATAPI-6 DMA protocol).

use super::bus_master::{BM_COMMAND, BM_PRDT, BM_STATUS};
use super::opcodes::{
    CMD_READ_DMA, CMD_READ_SECTORS, CMD_SET_FEATURES, CMD_WRITE_DMA, FEATURE_DISABLE_WRITE_CACHE,
};
use super::prd::PRD_EOT;
use super::*;
use crate::DmaError;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use block_backend::{BlockError, BlockQueue, Completion, Request, RequestId, SubmitError};

const P: u16 = PRIMARY_COMMAND_BASE;
const CTL: u16 = PRIMARY_CONTROL_PORT;
const SECTORS: usize = 1024;

/// What the fake host disk holds and has in flight.
struct Host {
    data: Vec<u8>,
    depth: usize,
    next: u64,
    in_flight: Vec<(RequestId, Request)>,
    done: VecDeque<Completion>,
    flushes: u32,
    /// Every request ever submitted.
    submitted: Vec<Request>,
}

impl Host {
    /// Finishes in-flight request `i` (0 = oldest) with `error`, or runs it.
    fn finish(&mut self, i: usize, error: Option<BlockError>) {
        let (id, request) = self.in_flight.remove(i);
        let result = match (error, request) {
            (Some(e), _) => Err(e),
            (None, Request::Read { offset, len }) => {
                let o = offset as usize;
                Ok(self.data[o..o + len].to_vec())
            }
            (None, Request::Write { offset, data }) => {
                let o = offset as usize;
                self.data[o..o + data.len()].copy_from_slice(&data);
                Ok(Vec::new())
            }
            (None, Request::Flush) => {
                self.flushes += 1;
                Ok(Vec::new())
            }
        };
        self.done.push_back(Completion { id, result });
    }

    fn finish_all_reversed(&mut self) {
        while !self.in_flight.is_empty() {
            self.finish(self.in_flight.len() - 1, None);
        }
    }
}

/// A medium whose queue completes only when the test says so.
#[derive(Clone)]
struct LateDisk(Rc<RefCell<Host>>);

impl BlockBackend for LateDisk {
    fn len(&self) -> u64 {
        self.0.borrow().data.len() as u64
    }
    fn read_only(&self) -> bool {
        false
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let o = offset as usize;
        buf.copy_from_slice(&self.0.borrow().data[o..o + buf.len()]);
        Ok(())
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        let o = offset as usize;
        self.0.borrow_mut().data[o..o + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn has_write_cache(&self) -> bool {
        true
    }
    fn as_queue(&mut self) -> Option<&mut dyn BlockQueue> {
        Some(self)
    }
}

impl BlockQueue for LateDisk {
    fn len(&self) -> u64 {
        self.0.borrow().data.len() as u64
    }
    fn read_only(&self) -> bool {
        false
    }
    fn depth(&self) -> usize {
        self.0.borrow().depth
    }
    /// 64 KiB, so the 8-bit sector counts of READ/WRITE DMA span chunks.
    fn request_bytes(&self) -> usize {
        64 * 1024
    }
    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError> {
        let mut h = self.0.borrow_mut();
        if h.in_flight.len() + h.done.len() >= h.depth {
            return Err(SubmitError::Full(request));
        }
        let id = RequestId(h.next);
        h.next += 1;
        h.submitted.push(request.clone());
        h.in_flight.push((id, request));
        Ok(id)
    }
    fn poll(&mut self) -> Option<Completion> {
        self.0.borrow_mut().done.pop_front()
    }
}

struct Ram(Vec<u8>);

impl Ram {
    fn prd(&mut self, at: usize, addr: u32, count: u16, eot: bool) {
        self.0[at..at + 4].copy_from_slice(&addr.to_le_bytes());
        let flags = u32::from(count) | if eot { PRD_EOT } else { 0 };
        self.0[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
    }
}

impl DmaMemory for Ram {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let r = gpa as usize..gpa as usize + buf.len();
        buf.copy_from_slice(self.0.get(r).ok_or(DmaError { gpa })?);
        Ok(())
    }
    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), DmaError> {
        let r = gpa as usize..gpa as usize + data.len();
        self.0
            .get_mut(r)
            .ok_or(DmaError { gpa })?
            .copy_from_slice(data);
        Ok(())
    }
}

fn setup(depth: usize) -> (IdeController, Rc<RefCell<Host>>, Ram) {
    let host = Rc::new(RefCell::new(Host {
        data: (0..SECTORS * 512)
            .map(|i| (i / 512 * 7 + i) as u8)
            .collect(),
        depth,
        next: 0,
        in_flight: Vec::new(),
        done: VecDeque::new(),
        flushes: 0,
        submitted: Vec::new(),
    }));
    let mut ide = IdeController::new();
    ide.attach_disk(0, false, Box::new(LateDisk(host.clone())));
    (ide, host, Ram(vec![0; 0x80000]))
}

fn outb(ide: &mut IdeController, port: u16, v: u8) {
    ide.write(port, 1, u32::from(v));
}

fn status(ide: &mut IdeController) -> u8 {
    ide.read(P + 7, 1) as u8
}

fn command(ide: &mut IdeController, lba: u32, count: u8, cmd: u8) {
    outb(ide, P + 6, 0xE0);
    outb(ide, P + 2, count);
    outb(ide, P + 3, lba as u8);
    outb(ide, P + 4, (lba >> 8) as u8);
    outb(ide, P + 5, (lba >> 16) as u8);
    outb(ide, P + 7, cmd);
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

/// A read of `count` sectors at `lba` into 0x10000.. through a PRD table
/// at `table` of 64 KiB entries.
fn start_read(ide: &mut IdeController, ram: &mut Ram, lba: u32, count: u8, table: u32) {
    let mut bytes = if count == 0 { 256 } else { usize::from(count) } * 512;
    let (mut at, mut addr) = (table as usize, 0x10000u32);
    while bytes > 0 {
        let n = bytes.min(0x10000);
        bytes -= n;
        ram.prd(at, addr, (n % 0x10000) as u16, bytes == 0);
        at += 8;
        addr += n as u32;
    }
    command(ide, lba, count, CMD_READ_DMA);
    bm_start(ide, table, true);
    ide.run_dma(ram);
}

fn expected(host: &Rc<RefCell<Host>>, lba: usize, count: usize) -> Vec<u8> {
    host.borrow().data[lba * 512..(lba + count) * 512].to_vec()
}

#[test]
fn read_dma_stays_busy_until_the_host_completes_then_scatters_and_interrupts() {
    let (mut ide, host, mut ram) = setup(16);
    // 200 sectors: two chunks of at most 128.
    start_read(&mut ide, &mut ram, 5, 200, 0);
    assert_eq!(host.borrow().in_flight.len(), 2, "both chunks on the host");
    assert_eq!(ide.read(CTL, 1) as u8 & STATUS_BSY, STATUS_BSY);
    assert_eq!(bm_status(&mut ide) & BM_STATUS_ACTIVE, BM_STATUS_ACTIVE);
    assert!(!ide.irq_level(0));
    assert!(ide.dma_in_flight());
    // The second chunk first: nothing may reach memory out of order.
    host.borrow_mut().finish(1, None);
    ide.run_dma(&mut ram);
    assert!(ram.0[0x10000..0x10000 + 200 * 512].iter().all(|&b| b == 0));
    assert!(!ide.irq_level(0));
    host.borrow_mut().finish(0, None);
    ide.run_dma(&mut ram);
    assert!(ram.0[0x10000..0x10000 + 200 * 512] == expected(&host, 5, 200));
    assert!(ide.irq_level(0));
    assert!(!ide.dma_in_flight());
    let st = bm_status(&mut ide);
    assert_eq!(st & (BM_STATUS_ACTIVE | BM_STATUS_ERROR), 0);
    assert_ne!(st & BM_STATUS_INTERRUPT, 0);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn a_full_queue_holds_the_rest_of_the_transfer_until_slots_free() {
    let (mut ide, host, mut ram) = setup(1);
    start_read(&mut ide, &mut ram, 0, 0, 0); // 256 sectors
    for _ in 0..2 {
        assert_eq!(host.borrow().in_flight.len(), 1);
        host.borrow_mut().finish(0, None);
        ide.run_dma(&mut ram);
    }
    assert!(ram.0[0x10000..0x10000 + 256 * 512] == expected(&host, 0, 256));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn write_dma_gathers_at_submission_and_a_disabled_cache_adds_a_flush() {
    let (mut ide, host, mut ram) = setup(16);
    outb(&mut ide, P + 1, FEATURE_DISABLE_WRITE_CACHE);
    outb(&mut ide, P + 7, CMD_SET_FEATURES);
    status(&mut ide);
    let data: Vec<u8> = (0..3 * 512).map(|i| (i % 253) as u8).collect();
    ram.0[0x10000..0x10000 + data.len()].copy_from_slice(&data);
    ram.prd(0, 0x10000, data.len() as u16, true);
    command(&mut ide, 9, 3, CMD_WRITE_DMA);
    bm_start(&mut ide, 0, false);
    ide.run_dma(&mut ram);
    // Memory changed after submission does not change what is written.
    ram.0[0x10000] ^= 0xFF;
    host.borrow_mut().finish(0, None);
    ide.run_dma(&mut ram);
    assert!(host.borrow().data[9 * 512..12 * 512] == data[..]);
    // Not done: the flush is on the host now.
    assert!(matches!(host.borrow().in_flight[..], [(_, Request::Flush)]));
    assert_eq!(ide.read(CTL, 1) as u8 & STATUS_BSY, STATUS_BSY);
    host.borrow_mut().finish(0, None);
    ide.run_dma(&mut ram);
    assert_eq!(host.borrow().flushes, 1);
    assert!(ide.irq_level(0));
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
}

#[test]
fn host_errors_end_the_command_with_the_disk_error_never_success() {
    for (e, bits) in [
        (BlockError::Io, ERROR_UNC),
        (BlockError::Unsupported, ERROR_ABRT),
    ] {
        let (mut ide, host, mut ram) = setup(16);
        start_read(&mut ide, &mut ram, 0, 200, 0);
        host.borrow_mut().finish(1, Some(e));
        ide.run_dma(&mut ram);
        assert!(ide.irq_level(0));
        assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC | STATUS_ERR);
        assert_eq!(ide.read(P + 1, 1) as u8, bits);
        // The chunk still on the host completes into nothing.
        host.borrow_mut().finish(0, None);
        ide.run_dma(&mut ram);
        assert!(ram.0[0x10000..0x20000].iter().all(|&b| b == 0));
        assert!(host.borrow().done.is_empty(), "completion drained");
    }
}

/// Ways a guest abandons a command while the host works.
fn abandon(ide: &mut IdeController, ram: &mut Ram, how: usize) {
    match how {
        0 => {
            outb(ide, CTL, DEVCTL_SRST);
            outb(ide, CTL, 0);
        }
        1 => ide.bm_write(BM_COMMAND, 1, u32::from(BM_CMD_WRITE_MEMORY)),
        2 => {
            // A new command; its data goes elsewhere.
            command(ide, 0, 1, CMD_READ_SECTORS);
        }
        _ => {
            // A new PRD pointer and a new DMA command.
            ram.prd(0x800, 0x40000, 512, true);
            ide.bm_write(BM_COMMAND, 1, 0);
            command(ide, 700, 1, CMD_READ_DMA);
            bm_start(ide, 0x800, true);
            ide.run_dma(ram);
        }
    }
}

#[test]
fn a_late_completion_of_an_abandoned_command_never_reaches_guest_memory() {
    for how in 0..4 {
        let (mut ide, host, mut ram) = setup(16);
        start_read(&mut ide, &mut ram, 3, 100, 0);
        abandon(&mut ide, &mut ram, how);
        let late: Vec<RequestId> = host.borrow().in_flight.iter().map(|r| r.0).collect();
        assert_eq!(late[0], RequestId(0));
        // Finish the abandoned read (and, for the last case, the new one).
        host.borrow_mut().finish_all_reversed();
        ide.run_dma(&mut ram);
        assert!(
            ram.0[0x10000..0x10000 + 100 * 512].iter().all(|&b| b == 0),
            "case {how}: abandoned data written"
        );
        assert!(host.borrow().done.is_empty(), "case {how}: not drained");
        if how == 3 {
            // The new command got its own data, not the abandoned one's.
            assert!(ram.0[0x40000..0x40200] == expected(&host, 700, 1));
            assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
        }
        if how == 1 {
            assert_eq!(ide.read(P + 1, 1) as u8, ERROR_ABRT);
        }
    }
}

#[test]
fn a_rewritten_prd_pointer_does_not_redirect_the_transfer_in_flight() {
    let (mut ide, host, mut ram) = setup(16);
    start_read(&mut ide, &mut ram, 3, 4, 0);
    ram.prd(0x800, 0x40000, 4 * 512, true);
    ide.bm_write(BM_PRDT, 4, 0x800);
    host.borrow_mut().finish(0, None);
    ide.run_dma(&mut ram);
    assert!(ram.0[0x10000..0x10000 + 4 * 512] == expected(&host, 3, 4));
    assert!(ram.0[0x40000..0x40800].iter().all(|&b| b == 0));
}

#[test]
fn a_guest_abandoning_commands_in_a_loop_cannot_use_up_the_queue() {
    let (mut ide, host, mut ram) = setup(4);
    for round in 0..50 {
        start_read(&mut ide, &mut ram, round, 0, 0); // 256 sectors
        abandon(&mut ide, &mut ram, (round % 3) as usize);
        // The host finishes some of the abandoned requests each round.
        if round % 2 == 0 {
            host.borrow_mut().finish_all_reversed();
        }
        ide.run_dma(&mut ram);
        let h = host.borrow();
        assert!(h.in_flight.len() + h.done.len() <= 4);
    }
    host.borrow_mut().finish_all_reversed();
    ide.run_dma(&mut ram);
    ram.0[0x10000..0x20000].fill(0);
    start_read(&mut ide, &mut ram, 1, 8, 0);
    host.borrow_mut().finish_all_reversed();
    ide.run_dma(&mut ram);
    assert_eq!(status(&mut ide), STATUS_DRDY | STATUS_DSC);
    assert!(ram.0[0x10000..0x10000 + 8 * 512] == expected(&host, 1, 8));
}
