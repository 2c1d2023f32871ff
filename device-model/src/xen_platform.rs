//! The Xen platform device's I/O protocol: the fixed unplug/log port block
//! 10h-1Fh and the device's own I/O BAR (BAR0), and the INTA# level the
//! hypervisor drives for the event-channel upcall. The PCI function itself
//! (identity, BARs, Interrupt Line) is `crate::pci`'s `xen_platform_config`.
//!
//! Sources of the protocol facts (no code taken from either):
//! - Xen `docs/misc/hvm-emulated-unplug.pandoc`, "Xen HVM emulated device
//!   unplug protocol": the magic 49D2h read as a word from 10h (D249h means
//!   "blacklisted"), the protocol version read as a byte from 12h, the
//!   product number written as a word to 12h, the build number as a dword
//!   to 10h, the unplug mask as a word to 10h (bit 0 all IDE and SCSI disks
//!   but not CD drives, bit 1 all NICs, bit 2 IDE disks except the primary
//!   master, overridden by bit 0, bit 3 NVMe disks), log text a byte at a
//!   time to 12h, newline-terminated and rate-limited; and the old SUSE and
//!   VMDP unplug writes to offsets 4 and 8 of the device's BAR.
//! - Xen `xen/include/public/hvm/pvdrivers.h`: the product numbers
//!   ([`product_name`]).
//! - QEMU `hw/i386/xen/xen_platform.c`, for what the answers are at the
//!   widths and offsets the document does not name: a byte read of 10h
//!   returns the platform flags (bit 0 ROM lock), of any other port FFh; a
//!   word read of 11h-1Fh FFFFh; a dword read all ones; a byte write to 10h
//!   sets the flags; a word write to 12h is the product; other writes are
//!   ignored. BAR0 answers bytes only: a read of offset 0 returns the flags,
//!   every other read FFh. A log line is cut at 4095 bytes.
//! - Linux `arch/x86/xen/platform-pci-unplug.c` (`check_platform_magic`,
//!   `xen_unplug_emulated_devices`) and `include/xen/platform_pci.h`: the
//!   guest's sequence, product 3 ("linux") and driver version 1, and that
//!   any answer but 49D2h (before and after the identification) or protocol
//!   version 1 makes the guest give up its PV drivers.
//!
//! Choices: this device never blacklists (the magic always reads 49D2h).
//! Unplug requests are only recorded ([`XenPlatform::take_unplug_request`]);
//! the board decides what it can honour. The ROM-lock flag is stored and
//! read back but changes nothing. BAR1 has no registers: the board puts no
//! device there, so a read of a part of it no grant frame backs reads all
//! ones, as any unclaimed MMIO does (QEMU reads 0 there; Linux never reads
//! it before mapping a frame).

use crate::bus::{all_ones, PortIoDevice};
use crate::rate_limit::RateLimit;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::Write;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------
// The fixed port block (offsets from pc_layout::ports::XEN_UNPLUG)
// ---------------------------------------------------------------------------

/// Offset 0 (port 10h): magic (word read), platform flags (byte), unplug
/// mask (word write), driver build number (dword write).
pub const OFFSET_MAGIC: u16 = 0;
/// Offset 2 (port 12h): protocol version (byte read), product number (word
/// write), log text (byte write).
pub const OFFSET_PROTOCOL: u16 = 2;
/// The magic word that identifies the unplug protocol.
pub const MAGIC: u16 = 0x49D2;
/// The magic as a blacklisting host answers (never returned here).
pub const MAGIC_BLACKLISTED: u16 = 0xD249;
/// The protocol version this device speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Platform flags bit 0: the ROM area C0000h-FFFFFh is read-only.
pub const PLATFORM_FLAG_ROM_LOCK: u8 = 1 << 0;

/// Unplug bit 0: all emulated IDE and SCSI disks, not CD drives.
pub const UNPLUG_IDE_DISKS: u16 = 1 << 0;
/// Unplug bit 1: all emulated NICs.
pub const UNPLUG_NICS: u16 = 1 << 1;
/// Unplug bit 2: IDE disks except the primary master (bit 0 overrides it).
pub const UNPLUG_AUX_IDE_DISKS: u16 = 1 << 2;
/// Unplug bit 3: all emulated NVMe disks.
pub const UNPLUG_NVME_DISKS: u16 = 1 << 3;

/// BAR0 offset 0: the platform flags, as at port 10h.
const BAR_FLAGS: u16 = 0;
/// BAR0 offset 4: old SUSE/VMDP unplug; 1 unplugs disks and NICs.
const BAR_UNPLUG_ALL: u16 = 4;
/// BAR0 offset 8: old VMDP unplug (1 disks, 2 NICs); other values are log text.
const BAR_UNPLUG_OR_LOG: u16 = 8;

/// Longest log line kept; longer text is cut into lines of this length.
pub const LOG_LINE_MAX: usize = 4095;

/// The product name `pvdrivers.h` registers for `product`, if any.
pub fn product_name(product: u16) -> Option<&'static str> {
    match product {
        1 => Some("xensource-windows"),
        2 => Some("gplpv-windows"),
        3 => Some("linux"),
        0xFFFF => Some("experimental"),
        _ => None,
    }
}

/// Where the guest's log lines go (the hypervisor's log; a test's list).
pub trait GuestLogSink {
    /// One line of guest text, without its newline; bytes outside printable
    /// ASCII are shown as `\xNN`.
    fn log_line(&mut self, line: &str);
}

/// What the guest's PV drivers said they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuestIdentity {
    /// The product number written to 12h (3 for Linux).
    pub product: Option<u16>,
    /// The build number written to 10h (1 for Linux).
    pub build: Option<u32>,
}

/// The Xen platform device's protocol state.
pub struct XenPlatform {
    flags: u8,
    identity: GuestIdentity,
    /// Requested and not yet taken by the board.
    unplug_request: Option<u16>,
    /// Every bit ever requested.
    unplug_requested: u16,
    line: Vec<u8>,
    log_limit: RateLimit,
    log: Box<dyn GuestLogSink>,
    event_pending: bool,
}

impl XenPlatform {
    /// The device at power-on (flags 0, nothing requested), logging to `log`.
    pub fn new(log: Box<dyn GuestLogSink>) -> Self {
        Self {
            flags: 0,
            identity: GuestIdentity::default(),
            unplug_request: None,
            unplug_requested: 0,
            line: Vec::new(),
            log_limit: RateLimit::new(32, 1000),
            log,
            event_pending: false,
        }
    }

    /// A guest read of `size` bytes at `offset` into the port block 10h-1Fh.
    pub fn read(&mut self, offset: u16, size: u8) -> u32 {
        match (offset, size) {
            (OFFSET_MAGIC, 2) => u32::from(MAGIC),
            (OFFSET_MAGIC, 1) => u32::from(self.flags),
            (OFFSET_PROTOCOL, 1) => u32::from(PROTOCOL_VERSION),
            _ => all_ones(size),
        }
    }

    /// A guest write of the low `size` bytes of `value` at `offset` into the
    /// port block 10h-1Fh.
    pub fn write(&mut self, offset: u16, size: u8, value: u32) {
        match (offset, size) {
            (OFFSET_MAGIC, 1) => self.flags = value as u8 & PLATFORM_FLAG_ROM_LOCK,
            (OFFSET_MAGIC, 2) => self.request_unplug(value as u16),
            (OFFSET_MAGIC, 4) => self.identity.build = Some(value),
            (OFFSET_PROTOCOL, 1) => self.log_byte(value as u8),
            (OFFSET_PROTOCOL, 2) => self.identity.product = Some(value as u16),
            _ => {}
        }
    }

    /// A guest read of `size` bytes at `offset` into BAR0, which answers
    /// byte by byte.
    pub fn bar_read(&mut self, offset: u16, size: u8) -> u32 {
        (0..u16::from(size.clamp(1, 4))).fold(0, |acc, i| {
            let byte = match offset.wrapping_add(i) {
                BAR_FLAGS => self.flags,
                _ => 0xFF,
            };
            acc | (u32::from(byte) << (8 * i))
        })
    }

    /// A guest write of the low `size` bytes of `value` at `offset` into
    /// BAR0, taken byte by byte.
    pub fn bar_write(&mut self, offset: u16, size: u8, value: u32) {
        for i in 0..u16::from(size.clamp(1, 4)) {
            let byte = (value >> (8 * i)) as u8;
            match (offset.wrapping_add(i), byte) {
                (BAR_FLAGS, b) => self.flags = b & PLATFORM_FLAG_ROM_LOCK,
                (BAR_UNPLUG_ALL, 1) => self.request_unplug(UNPLUG_IDE_DISKS | UNPLUG_NICS),
                (BAR_UNPLUG_OR_LOG, 1) => self.request_unplug(UNPLUG_IDE_DISKS),
                (BAR_UNPLUG_OR_LOG, 2) => self.request_unplug(UNPLUG_NICS),
                (BAR_UNPLUG_OR_LOG, b) => self.log_byte(b),
                _ => {}
            }
        }
    }

    fn request_unplug(&mut self, mask: u16) {
        self.unplug_requested |= mask;
        self.unplug_request = Some(self.unplug_request.unwrap_or(0) | mask);
    }

    /// The unplug mask the guest wrote since the last call (several writes
    /// are ORed: an unplug cannot be taken back), for the board to act on.
    pub fn take_unplug_request(&mut self) -> Option<u16> {
        self.unplug_request.take()
    }

    /// Every unplug bit the guest has requested since power-on.
    pub fn unplug_requested(&self) -> u16 {
        self.unplug_requested
    }

    /// What the guest identified itself as.
    pub fn identity(&self) -> GuestIdentity {
        self.identity
    }

    /// The platform flags as the guest last set them.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    fn log_byte(&mut self, byte: u8) {
        if byte == b'\n' {
            return self.flush_line();
        }
        self.line.push(byte);
        if self.line.len() >= LOG_LINE_MAX {
            self.flush_line();
        }
    }

    fn flush_line(&mut self) {
        let line = core::mem::take(&mut self.line);
        if !self.log_limit.allow() {
            return;
        }
        let mut text = String::with_capacity(line.len());
        for &b in &line {
            match b {
                b' '..=b'~' => text.push(char::from(b)),
                _ => {
                    let _ = write!(text, "\\x{b:02x}");
                }
            }
        }
        self.log.log_line(&text);
    }

    /// Lines the guest has written so far, logged or not.
    pub fn log_lines_seen(&self) -> u64 {
        self.log_limit.seen()
    }

    /// The hypervisor's event-channel upcall for a guest without a vector
    /// callback: INTA# is asserted while `pending` (notes/xen-abi.md §5.3 (c)).
    pub fn set_event_pending(&mut self, pending: bool) {
        self.event_pending = pending;
    }

    /// The device's INTA# output level (before the Command register's
    /// Interrupt Disable, which the bus holds).
    pub fn intx_level(&self) -> bool {
        self.event_pending
    }
}

/// The fixed port block 10h-1Fh of a shared [`XenPlatform`]: register it at
/// [`pc_layout::ports::XEN_UNPLUG`] with length
/// [`pc_layout::ports::XEN_UNPLUG_COUNT`].
pub struct XenUnplugPorts(pub Rc<RefCell<XenPlatform>>);

impl PortIoDevice for XenUnplugPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        self.0.borrow_mut().read(offset, size)
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        self.0.borrow_mut().write(offset, size, value)
    }
}

/// BAR0 of a shared [`XenPlatform`]: register it at the BAR's base with
/// length [`pc_layout::ports::XEN_PLATFORM_IO_SIZE`].
pub struct XenPlatformBarPorts(pub Rc<RefCell<XenPlatform>>);

impl PortIoDevice for XenPlatformBarPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        self.0.borrow_mut().bar_read(offset, size)
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        self.0.borrow_mut().bar_write(offset, size, value)
    }
}
