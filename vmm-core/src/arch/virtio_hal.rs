//! What the `virtio-drivers` crate needs from the machine (see
//! `crate::host_disk`): [`IdentityHal`], DMA memory and address
//! translation over the identity map, and [`PortCam`], PCI configuration
//! access through configuration mechanism #1 (PCI Local Bus Specification
//! 3.0, 3.2.2.3.2: CONFIG_ADDRESS at CF8h, CONFIG_DATA at CFCh).
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
use core::ptr::NonNull;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
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
