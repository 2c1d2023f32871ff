//! [`SectorQueue`] against a fake device that finishes requests only when
//! told, in any order, with errors on demand.

use super::*;
use crate::sector::MAX_REQUEST_BYTES;
use alloc::vec;

/// Sectors in the largest device request.
const PIECE_SECTORS: usize = MAX_REQUEST_BYTES / 512;

/// A device in a vector: started requests wait in `started` until the test
/// finishes them (`finish_order` picks which of them go first).
struct LateDevice {
    data: Vec<u8>,
    slots: usize,
    next_tag: u16,
    /// Started: tag, write?, lba, sectors, the data of a write.
    started: Vec<(u16, bool, u64, usize, Vec<u8>)>,
    /// Finished, waiting for `finish` to report them.
    ready: VecDeque<(u16, Result<Vec<u8>, BlockError>)>,
    fail_lba: Option<(u64, BlockError)>,
    flushes: usize,
    /// Most requests ever in flight at once.
    peak: usize,
}

impl LateDevice {
    fn new(sectors: usize, slots: usize) -> Self {
        Self {
            data: (0..sectors * 512).map(|i| (i * 13 % 251) as u8).collect(),
            slots,
            next_tag: 0,
            started: Vec::new(),
            ready: VecDeque::new(),
            fail_lba: None,
            flushes: 0,
            peak: 0,
        }
    }

    fn begin(&mut self, write: bool, lba: u64, sectors: usize, data: Vec<u8>) -> u16 {
        assert!(sectors > 0 && sectors * 512 <= MAX_REQUEST_BYTES);
        assert!((lba as usize + sectors) * 512 <= self.data.len());
        assert!(self.started.len() < self.slots, "more requests than slots");
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        self.started.push((tag, write, lba, sectors, data));
        self.peak = self.peak.max(self.started.len());
        tag
    }

    /// Finishes the started request at `index` (0 = oldest).
    fn complete(&mut self, index: usize) {
        let (tag, write, lba, sectors, data) = self.started.remove(index);
        let start = lba as usize * 512;
        let end = start + sectors * 512;
        let result = match self.fail_lba {
            Some((bad, e)) if (lba..lba + sectors as u64).contains(&bad) => Err(e),
            _ if write => {
                self.data[start..end].copy_from_slice(&data);
                Ok(Vec::new())
            }
            _ => Ok(self.data[start..end].to_vec()),
        };
        self.ready.push_back((tag, result));
    }

    /// Finishes everything started, newest first.
    fn complete_all_reversed(&mut self) {
        while !self.started.is_empty() {
            self.complete(self.started.len() - 1);
        }
    }
}

impl QueueDevice for LateDevice {
    fn sectors(&self) -> u64 {
        self.data.len() as u64 / 512
    }
    fn read_only(&self) -> bool {
        false
    }
    fn has_write_cache(&self) -> bool {
        true
    }
    fn slots(&self) -> usize {
        self.slots
    }
    fn start_read(&mut self, lba: u64, sectors: usize) -> Result<u16, BlockError> {
        Ok(self.begin(false, lba, sectors, Vec::new()))
    }
    fn start_write(&mut self, lba: u64, data: Vec<u8>) -> Result<u16, BlockError> {
        assert!(data.len().is_multiple_of(512));
        Ok(self.begin(true, lba, data.len() / 512, data))
    }
    fn finish(&mut self) -> Option<(u16, Result<Vec<u8>, BlockError>)> {
        self.ready.pop_front()
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        assert!(self.started.is_empty(), "flush with requests in flight");
        self.flushes += 1;
        Ok(())
    }
}

fn queue(sectors: usize, slots: usize) -> SectorQueue<LateDevice> {
    SectorQueue::new(LateDevice::new(sectors, slots), false)
}

fn dev<R>(q: &SectorQueue<LateDevice>, f: impl FnOnce(&mut LateDevice) -> R) -> R {
    q.with_device(f)
}

#[test]
fn requests_complete_later_out_of_order_with_their_own_ids_and_data() {
    let mut q = queue(4 * PIECE_SECTORS, 16);
    let model = dev(&q, |d| d.data.clone());
    let a = q
        .submit(Request::Read {
            offset: 0,
            len: 1024,
        })
        .unwrap();
    // Three pieces, the last one short, none sector-aligned.
    let start = MAX_REQUEST_BYTES - 8 * 1024 + 3;
    let len = 2 * MAX_REQUEST_BYTES + 16 * 1024;
    let b = q
        .submit(Request::Read {
            offset: start as u64,
            len,
        })
        .unwrap();
    // Nothing finished yet: nothing to poll, the requests are on the device.
    assert_eq!(q.poll(), None);
    assert_eq!(q.in_flight(), 4);
    dev(&q, |d| d.complete_all_reversed());
    let mut got = [q.poll().unwrap(), q.poll().unwrap()];
    assert_eq!(q.poll(), None);
    got.sort_by_key(|c| c.id);
    assert_eq!(got[0].id, a);
    assert_eq!(got[0].result.as_deref(), Ok(&model[..1024]));
    assert_eq!(got[1].id, b);
    assert_eq!(got[1].result.as_deref(), Ok(&model[start..start + len]));
}

#[test]
fn no_more_device_requests_than_slots_and_the_rest_wait() {
    let mut q = queue(16 * PIECE_SECTORS, 4);
    let id = q
        .submit(Request::Read {
            offset: 0,
            len: 16 * MAX_REQUEST_BYTES,
        })
        .unwrap();
    assert_eq!(q.in_flight(), 4);
    let mut result = None;
    while result.is_none() {
        dev(&q, |d| {
            if !d.started.is_empty() {
                d.complete(d.started.len() / 2);
            }
        });
        if let Some(c) = q.poll() {
            assert_eq!(c.id, id);
            result = Some(c.result);
        }
    }
    assert_eq!(dev(&q, |d| d.peak), 4);
    let stats = q.queue_stats().unwrap();
    assert_eq!(stats.peak_in_flight, 4);
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.device_requests, 16);
    assert_eq!(stats.completions, 16);
    assert!(stats.polls >= 16);
    let model = dev(&q, |d| d.data[..16 * MAX_REQUEST_BYTES].to_vec());
    assert_eq!(result.unwrap(), Ok(model));
}

#[test]
fn a_full_queue_hands_the_request_back_until_a_completion_is_polled() {
    let mut q = queue(64, 2);
    q.submit(Request::Read {
        offset: 0,
        len: 512,
    })
    .unwrap();
    q.submit(Request::Read {
        offset: 0,
        len: 512,
    })
    .unwrap();
    assert_eq!(
        q.submit(Request::Flush),
        Err(SubmitError::Full(Request::Flush))
    );
    dev(&q, |d| d.complete(0));
    // Finished but not polled still counts: the caller holds back-pressure.
    assert!(q.submit(Request::Flush).is_err());
    assert!(q.poll().is_some());
    assert!(q.submit(Request::Flush).is_ok());
}

#[test]
fn errors_reach_the_request_never_success_and_later_pieces_are_not_sent() {
    let mut q = queue(4 * PIECE_SECTORS, 1);
    dev(&q, |d| {
        d.fail_lba = Some((PIECE_SECTORS as u64 + 2, BlockError::Io))
    });
    let id = q
        .submit(Request::Read {
            offset: 0,
            len: 4 * MAX_REQUEST_BYTES,
        })
        .unwrap();
    let mut sent = 0;
    let c = loop {
        if dev(&q, |d| !d.started.is_empty()) {
            sent += 1;
            dev(&q, |d| d.complete(0));
        }
        if let Some(c) = q.poll() {
            break c;
        }
    };
    assert_eq!(
        c,
        Completion {
            id,
            result: Err(BlockError::Io)
        }
    );
    // The first piece fine, the second failed, the rest dropped.
    assert_eq!(sent, 2);
    dev(&q, |d| d.fail_lba = Some((0, BlockError::Unsupported)));
    let w = q
        .submit(Request::Write {
            offset: 0,
            data: vec![1; 512],
        })
        .unwrap();
    dev(&q, |d| d.complete(0));
    assert_eq!(q.poll().unwrap().result, Err(BlockError::Unsupported));
    let _ = w;
}

#[test]
fn bounds_and_read_only_are_checked_at_submission_without_the_device() {
    let mut q = SectorQueue::new(LateDevice::new(8, 4), true);
    for r in [
        Request::Read {
            offset: 4095,
            len: 2,
        },
        Request::Read {
            offset: u64::MAX,
            len: 1,
        },
        Request::Read {
            offset: 1,
            len: usize::MAX,
        },
        Request::Write {
            offset: 0,
            data: vec![1],
        },
    ] {
        let id = q.submit(r).unwrap();
        let c = q.poll().unwrap();
        assert_eq!(c.id, id);
        assert!(c.result.is_err());
    }
    assert_eq!(dev(&q, |d| d.next_tag), 0);
    let mut rw = queue(8, 4);
    let id = rw
        .submit(Request::Write {
            offset: 4096 - 1,
            data: vec![1, 2],
        })
        .unwrap();
    assert_eq!(
        rw.poll(),
        Some(Completion {
            id,
            result: Err(BlockError::OutOfRange)
        })
    );
}

#[test]
fn partial_sector_writes_read_modify_write_the_rest_of_the_sector() {
    let mut q = queue(16, 4);
    let mut model = dev(&q, |d| d.data.clone());
    let data: Vec<u8> = (0..700).map(|i| i as u8).collect();
    let id = q
        .submit(Request::Write {
            offset: 1000,
            data: data.clone(),
        })
        .unwrap();
    model[1000..1700].copy_from_slice(&data);
    // Read half, then write half.
    for _ in 0..2 {
        dev(&q, |d| d.complete_all_reversed());
        let _ = q.poll().map(|c| assert_eq!(c.id, id));
    }
    dev(&q, |d| d.complete_all_reversed());
    let _ = q.poll();
    assert_eq!(dev(&q, |d| d.data.clone()), model);
}

#[test]
fn a_flush_waits_for_the_device_to_go_idle_and_later_requests_wait_for_it() {
    let mut q = queue(64, 4);
    let w = q
        .submit(Request::Write {
            offset: 0,
            data: vec![9; 512],
        })
        .unwrap();
    let f = q.submit(Request::Flush).unwrap();
    let r = q
        .submit(Request::Read {
            offset: 0,
            len: 512,
        })
        .unwrap();
    // The read waits behind the flush, the flush behind the write.
    assert_eq!(q.in_flight(), 1);
    assert_eq!(q.poll(), None);
    assert_eq!(dev(&q, |d| d.flushes), 0);
    dev(&q, |d| d.complete(0));
    assert_eq!(q.poll().unwrap().id, w);
    assert_eq!(q.poll().unwrap().id, f);
    assert_eq!(dev(&q, |d| d.flushes), 1);
    dev(&q, |d| d.complete(0));
    assert_eq!(
        q.poll(),
        Some(Completion {
            id: r,
            result: Ok(vec![9; 512])
        })
    );
}

#[test]
fn the_synchronous_side_waits_and_keeps_other_completions_for_poll() {
    // A device that finishes everything as soon as it is asked.
    struct Eager(LateDevice);
    impl QueueDevice for Eager {
        fn sectors(&self) -> u64 {
            self.0.sectors()
        }
        fn read_only(&self) -> bool {
            false
        }
        fn has_write_cache(&self) -> bool {
            true
        }
        fn slots(&self) -> usize {
            4
        }
        fn start_read(&mut self, lba: u64, n: usize) -> Result<u16, BlockError> {
            self.0.start_read(lba, n)
        }
        fn start_write(&mut self, lba: u64, data: Vec<u8>) -> Result<u16, BlockError> {
            self.0.start_write(lba, data)
        }
        fn finish(&mut self) -> Option<(u16, Result<Vec<u8>, BlockError>)> {
            if !self.0.started.is_empty() {
                self.0.complete(0);
            }
            self.0.finish()
        }
        fn flush(&mut self) -> Result<(), BlockError> {
            self.0.flush()
        }
    }
    let mut q = SectorQueue::new(Eager(LateDevice::new(16, 4)), false);
    let queued = q.submit(Request::Read { offset: 0, len: 4 }).unwrap();
    q.write_at(3, &[7, 8]).unwrap();
    let mut buf = [0u8; 4];
    q.read_at(2, &mut buf).unwrap();
    assert_eq!(buf[1..3], [7, 8]);
    q.flush().unwrap();
    assert_eq!(q.with_device(|d| d.0.flushes), 1);
    assert_eq!(q.read_at(8192, &mut buf), Err(BlockError::OutOfRange));
    // The queued read's completion waited for its owner.
    let c = q.poll().unwrap();
    assert_eq!(c.id, queued);
    assert!(q.as_queue().is_some());
}
