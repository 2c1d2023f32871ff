//! What the `virtio-drivers` crate needs from the machine (see
//! `crate::host_disk`): [`IdentityHal`], DMA memory and address
//! translation over the identity map, and [`PortCam`], PCI configuration
//! access through configuration mechanism #1 (PCI Local Bus Specification
//! 3.0, 3.2.2.3.2: CONFIG_ADDRESS at CF8h, CONFIG_DATA at CFCh); and
//! [`InFlight`], the memory of the virtio-blk requests on the device, the
//! one place the driver's non-blocking (`unsafe`) calls are made.
//!
//! The hypervisor's memory is identity-mapped below
//! [`IDENTITY_MAPPED_END`], and its heap comes from the physical allocator
//! inside that map, so a heap address is its own physical address: DMA
//! buffers are page-aligned heap allocations, and a buffer the driver
//! shares with the device (a request header, the data, the status byte,
//! on the heap or the stack) is passed by its address, no bounce buffer.

use super::phys::IDENTITY_MAPPED_END;
use super::port::{inl, outl};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ptr::NonNull;
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk};
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
use virtio_drivers::transport::Transport;
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// CONFIG_ADDRESS (PCI 3.0, 3.2.2.3.2).
const CONFIG_ADDRESS: u16 = 0xCF8;
/// CONFIG_DATA.
const CONFIG_DATA: u16 = 0xCFC;
/// CONFIG_ADDRESS bit 31: the access is a configuration cycle.
const CONFIG_ENABLE: u32 = 1 << 31;

/// The CONFIG_ADDRESS value for a dword of `f`'s configuration space.
fn config_address(f: DeviceFunction, register: u8) -> u32 {
    CONFIG_ENABLE
        | u32::from(f.bus) << 16
        | u32::from(f.device & 0x1F) << 11
        | u32::from(f.function & 0x7) << 8
        | u32::from(register & 0xFC)
}

/// The host's PCI configuration space through ports CF8h/CFCh. The
/// hypervisor runs on one CPU with no other user of these ports, so the
/// address/data pair is never interleaved.
pub struct PortCam;

impl ConfigurationAccess for PortCam {
    fn read_word(&self, f: DeviceFunction, register: u8) -> u32 {
        outl(CONFIG_ADDRESS, config_address(f, register));
        inl(CONFIG_DATA)
    }

    fn write_word(&mut self, f: DeviceFunction, register: u8, data: u32) {
        outl(CONFIG_ADDRESS, config_address(f, register));
        outl(CONFIG_DATA, data);
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

/// DMA and address translation for a hypervisor whose memory is
/// identity-mapped.
pub struct IdentityHal;

/// True when `[addr, addr + len)` lies inside the identity map.
fn identity_mapped(addr: u64, len: usize) -> bool {
    addr.checked_add(len as u64)
        .is_some_and(|end| end <= IDENTITY_MAPPED_END)
}

// SAFETY: dma_alloc returns zeroed, page-aligned memory that only the
// driver uses until dma_dealloc; every address handed out is its own
// physical address (the identity map, checked); nothing is cached in a way
// the device would not see (x86 DMA is cache-coherent).
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(layout) = pages
            .checked_mul(PAGE_SIZE)
            .and_then(|size| Layout::from_size_align(size, PAGE_SIZE).ok())
            .filter(|l| l.size() > 0)
        else {
            return (0, NonNull::dangling());
        };
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        match NonNull::new(ptr) {
            Some(p) if identity_mapped(p.as_ptr() as u64, layout.size()) => {
                (p.as_ptr() as PhysAddr, p)
            }
            _ => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let Ok(layout) = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE) else {
            return -1;
        };
        // SAFETY: the driver returns what dma_alloc gave it, with the same
        // page count, so the allocation and its layout match.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        assert!(
            identity_mapped(paddr, size),
            "virtio MMIO at {paddr:#x} is outside the identity map"
        );
        NonNull::new(paddr as *mut u8).expect("a virtio BAR at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        let addr = buffer.as_ptr() as *mut u8 as u64;
        assert!(
            identity_mapped(addr, buffer.len()),
            "a virtio buffer at {addr:#x} is outside the identity map"
        );
        addr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// Finished writes' buffers kept for later reads; the rest are freed.
const SPARE_BUFFERS: usize = 16;

/// The virtio-blk requests on the device, with the memory each one lends
/// it: the request header, the data and the status byte (Virtio 1.2,
/// 5.2.6 "Device Operation": a request is a read-only header, the data,
/// and a write-only status byte). `virtio-drivers`' non-blocking calls
/// (`read_blocks_nb`, `write_blocks_nb`) leave those buffers with the
/// device until `complete_*_blocks`; this table owns them, boxed so they
/// never move, from the submission until the used ring returns their token
/// (the descriptor chain's head, unique among the requests in flight).
/// The buffers are heap memory, which [`IdentityHal::share`] hands to the
/// device by its own (identity-mapped) address.
pub struct InFlight {
    requests: BTreeMap<u16, Box<NbRequest>>,
    /// Data buffers of finished writes, reused by the next requests.
    spare: Vec<Vec<u8>>,
}

struct NbRequest {
    header: BlkReq,
    status: BlkResp,
    data: Vec<u8>,
    write: bool,
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl InFlight {
    pub fn new() -> Self {
        Self {
            requests: BTreeMap::new(),
            spare: Vec::new(),
        }
    }

    /// Requests on the device.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True when no request is on the device.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_default();
        b.clear();
        b.resize(len, 0);
        b
    }

    /// Adds a read of `len` bytes at sector `lba` to the queue and notifies
    /// the device; returns its token.
    pub fn start_read<H: Hal, T: Transport>(
        &mut self,
        blk: &mut VirtIOBlk<H, T>,
        lba: usize,
        len: usize,
    ) -> virtio_drivers::Result<u16> {
        let data = self.buffer(len);
        self.start(blk, lba, data, false)
    }

    /// Adds a write of `data` at sector `lba` (the buffer stays in this
    /// table until the device returns it) and notifies the device; returns
    /// its token.
    pub fn start_write<H: Hal, T: Transport>(
        &mut self,
        blk: &mut VirtIOBlk<H, T>,
        lba: usize,
        data: Vec<u8>,
    ) -> virtio_drivers::Result<u16> {
        self.start(blk, lba, data, true)
    }

    fn start<H: Hal, T: Transport>(
        &mut self,
        blk: &mut VirtIOBlk<H, T>,
        lba: usize,
        data: Vec<u8>,
        write: bool,
    ) -> virtio_drivers::Result<u16> {
        let mut r = Box::new(NbRequest {
            header: BlkReq::default(),
            status: BlkResp::default(),
            data,
            write,
        });
        let NbRequest {
            header,
            status,
            data,
            ..
        } = &mut *r;
        // SAFETY: the header, data and status live in `r`'s box, which
        // this table keeps, untouched, under the returned token until
        // `finish` hands the same three back to `complete_*_blocks` (or
        // leaks them, see Drop): the device may use them until then.
        let token = unsafe {
            if write {
                blk.write_blocks_nb(lba, header, data, status)
            } else {
                blk.read_blocks_nb(lba, header, data, status)
            }
        }?;
        if let Some(old) = self.requests.insert(token, r) {
            // A token the device still holds cannot be handed out twice;
            // keep the old buffers alive rather than free memory the
            // device may write.
            core::mem::forget(old);
        }
        Ok(token)
    }

    /// The next request the device finished, if any: its token and result
    /// (a read's data). Polls the used ring; the device's interrupts are
    /// off.
    pub fn finish<H: Hal, T: Transport>(
        &mut self,
        blk: &mut VirtIOBlk<H, T>,
    ) -> Option<(u16, virtio_drivers::Result<Vec<u8>>)> {
        let token = blk.peek_used()?;
        let mut r = self.requests.remove(&token)?;
        let NbRequest {
            header,
            status,
            data,
            write,
        } = &mut *r;
        // SAFETY: `token` came from `start` with exactly these buffers,
        // kept unmoved in the box until now; the used ring has returned it.
        let result = unsafe {
            if *write {
                blk.complete_write_blocks(token, header, data, status)
            } else {
                blk.complete_read_blocks(token, header, data, status)
            }
        };
        let data = core::mem::take(&mut r.data);
        if r.write {
            // Writes bring their own buffers; keep a few for reads.
            if self.spare.len() < SPARE_BUFFERS {
                self.spare.push(data);
            }
            Some((token, result.map(|()| Vec::new())))
        } else {
            Some((token, result.map(|()| data)))
        }
    }
}

impl Drop for InFlight {
    /// Buffers still on the device are leaked, not freed: the device may
    /// write them until it is reset.
    fn drop(&mut self) {
        for (_, r) in core::mem::take(&mut self.requests) {
            core::mem::forget(r);
        }
    }
}
