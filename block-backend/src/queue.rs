//! The asynchronous shape of a medium: requests submitted with an id,
//! completed later with their own status, several in flight, so the
//! emulated devices and the PV block backend (issue 14) can overlap host
//! I/O with the guest's execution.
//!
//! # Design
//!
//! - [`BlockQueue::submit`] takes a [`Request`] that owns its buffer (a
//!   write's data; a read's length), so nothing the guest can reach is
//!   borrowed while the host device works, and answers at once with a
//!   [`RequestId`], or [`SubmitError::Full`] when [`BlockQueue::depth`]
//!   requests are in flight (the caller keeps the request and retries
//!   after a completion: back-pressure, not an unbounded queue a guest
//!   could grow).
//! - [`BlockQueue::poll`] hands back one [`Completion`] at a time, in
//!   whatever order the device finished them, each with the id it was
//!   submitted under and its own result: a read's data, or the
//!   [`BlockError`] the guest's device turns into its error (never
//!   success for a failed request).
//! - Bounds and write protection are checked at submission: a request
//!   outside the medium or a write to read-only media completes with its
//!   error without reaching the device.
//! - A [`Request::Flush`] completes only once every write that *completed*
//!   before the flush was submitted is durable, as `VIRTIO_BLK_T_FLUSH`
//!   promises (Virtio 1.2, 5.2.6.2) and ATA FLUSH CACHE needs (ATA/ATAPI-6,
//!   FLUSH CACHE). Writes still in flight when the flush is submitted are not
//!   covered: a guest that wants them durable waits for their completions
//!   first, as Linux's block layer does for REQ_PREFLUSH.
//! - Completions are found by polling: the run loop calls
//!   [`BlockQueue::poll`] on its exits and on the 1 kHz host tick, so no
//!   host interrupt needs routing through the hypervisor (a later MSI-X
//!   path can feed the same `poll`).
//!
//! [`crate::SectorQueue`] is the real thing: the host virtio-blk disk with
//! as many requests in flight as its virtqueue holds, completed by polling.
//! [`Immediate`] gives every synchronous [`BlockBackend`] this shape (each
//! request completes within `submit`). The IDE controller uses a medium's
//! queue where [`BlockBackend::as_queue`] offers one (bus-master DMA) and
//! the synchronous calls elsewhere (PIO, ATAPI, INT 13h, and in-memory
//! media such as Bochs's boot modules).

use crate::{BlockBackend, BlockError};
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

/// Names one submitted request; never reused within a queue's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// One block request, owning its buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Read `len` bytes at `offset`.
    Read { offset: u64, len: usize },
    /// Write `data` at `offset`.
    Write { offset: u64, data: Vec<u8> },
    /// Make every write completed before this submission durable.
    Flush,
}

/// A finished request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub id: RequestId,
    /// A read's data; empty for writes and flushes; or why it failed.
    pub result: Result<Vec<u8>, BlockError>,
}

/// Why a request was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// [`BlockQueue::depth`] requests are in flight; the request is handed
    /// back to submit again after a completion.
    Full(Request),
}

/// A medium taking requests asynchronously (see the module's design).
pub trait BlockQueue {
    /// Size in bytes.
    fn len(&self) -> u64;
    /// True if the medium is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True for media that refuse writes.
    fn read_only(&self) -> bool;
    /// Most requests in flight (submitted, completion not yet polled).
    fn depth(&self) -> usize;
    /// The largest request the medium moves in one device request: a
    /// caller cutting a long transfer into requests of this size keeps
    /// each one whole on the device (larger ones are split, never refused).
    fn request_bytes(&self) -> usize {
        crate::sector::MAX_REQUEST_BYTES
    }
    /// Takes `request`; its completion comes from [`Self::poll`].
    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError>;
    /// One finished request, if any.
    fn poll(&mut self) -> Option<Completion>;
}

/// A synchronous [`BlockBackend`] as a [`BlockQueue`]: each request is done
/// within `submit` and its completion waits for `poll`.
pub struct Immediate<B: BlockBackend> {
    backend: B,
    depth: usize,
    next: u64,
    done: VecDeque<Completion>,
}

impl<B: BlockBackend> Immediate<B> {
    /// The queue over `backend`, at most `depth` (at least 1) completions
    /// waiting to be polled.
    pub fn new(backend: B, depth: usize) -> Self {
        Self {
            backend,
            depth: depth.max(1),
            next: 0,
            done: VecDeque::new(),
        }
    }

    /// The medium behind the queue.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn run(&mut self, request: Request) -> Result<Vec<u8>, BlockError> {
        match request {
            Request::Read { offset, len } => {
                // Checked before allocating: a guest's length is not trusted.
                let end = offset
                    .checked_add(len as u64)
                    .ok_or(BlockError::OutOfRange)?;
                if end > self.backend.len() {
                    return Err(BlockError::OutOfRange);
                }
                let mut buf = vec![0; len];
                self.backend.read_at(offset, &mut buf)?;
                Ok(buf)
            }
            Request::Write { offset, data } => {
                self.backend.write_at(offset, &data)?;
                Ok(Vec::new())
            }
            Request::Flush => {
                self.backend.flush()?;
                Ok(Vec::new())
            }
        }
    }
}

impl<B: BlockBackend> BlockQueue for Immediate<B> {
    fn len(&self) -> u64 {
        self.backend.len()
    }

    fn read_only(&self) -> bool {
        self.backend.read_only()
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn submit(&mut self, request: Request) -> Result<RequestId, SubmitError> {
        if self.done.len() >= self.depth {
            return Err(SubmitError::Full(request));
        }
        let id = RequestId(self.next);
        self.next += 1;
        let result = self.run(request);
        self.done.push_back(Completion { id, result });
        Ok(id)
    }

    fn poll(&mut self) -> Option<Completion> {
        self.done.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBlock;

    fn queue(depth: usize, read_only: bool) -> Immediate<MemoryBlock> {
        Immediate::new(MemoryBlock::new(vec![0u8; 4096], read_only), depth)
    }

    #[test]
    fn each_completion_carries_its_id_and_result() {
        let mut q = queue(4, false);
        let w = q
            .submit(Request::Write {
                offset: 512,
                data: vec![7; 4],
            })
            .unwrap();
        let f = q.submit(Request::Flush).unwrap();
        let r = q
            .submit(Request::Read {
                offset: 511,
                len: 6,
            })
            .unwrap();
        assert!(w < f && f < r);
        assert_eq!(
            q.poll(),
            Some(Completion {
                id: w,
                result: Ok(vec![])
            })
        );
        assert_eq!(q.poll().unwrap().id, f);
        assert_eq!(q.poll().unwrap().result, Ok(vec![0, 7, 7, 7, 7, 0]));
        assert_eq!(q.poll(), None);
    }

    #[test]
    fn a_full_queue_hands_the_request_back() {
        let mut q = queue(2, false);
        q.submit(Request::Flush).unwrap();
        q.submit(Request::Flush).unwrap();
        assert_eq!(
            q.submit(Request::Flush),
            Err(SubmitError::Full(Request::Flush))
        );
        q.poll().unwrap();
        assert_eq!(q.submit(Request::Flush), Ok(RequestId(2)));
    }

    #[test]
    fn bad_requests_complete_with_their_error_not_success() {
        let mut q = queue(8, true);
        let huge = q
            .submit(Request::Read {
                offset: 1,
                len: usize::MAX,
            })
            .unwrap();
        let past = q
            .submit(Request::Read {
                offset: u64::MAX,
                len: 1,
            })
            .unwrap();
        let ro = q
            .submit(Request::Write {
                offset: 0,
                data: vec![1],
            })
            .unwrap();
        for (id, e) in [
            (huge, BlockError::OutOfRange),
            (past, BlockError::OutOfRange),
            (ro, BlockError::ReadOnly),
        ] {
            assert_eq!(q.poll(), Some(Completion { id, result: Err(e) }));
        }
    }
}
