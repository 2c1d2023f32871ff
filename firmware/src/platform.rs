//! What a BIOS service may reach besides guest memory: the emulated devices
//! through port I/O (the same ports a real BIOS programs), the boot media,
//! and the machine's memory size; and what it asks the hypervisor to do after.

use device_model::block::BlockBackend;

/// BIOS drive numbers (INT 13h DL).
pub const DRIVE_FLOPPY: u8 = 0x00;
pub const DRIVE_HARD_DISK: u8 = 0x80;
/// The drive number this BIOS gives a no-emulation El Torito CD.
pub const DRIVE_CDROM: u8 = 0xE0;

/// The machine a BIOS service runs against.
pub trait BiosPlatform {
    /// Reads a byte from a device port.
    fn port_in(&mut self, port: u16) -> u8;
    /// Writes a byte to a device port.
    fn port_out(&mut self, port: u16, value: u8);
    /// The medium behind BIOS drive `drive` (00h floppy, 80h disk, E0h CD;
    /// with El Torito floppy emulation, drive 00h is the image inside the CD).
    fn drive(&mut self, drive: u8) -> Option<&mut dyn BlockBackend>;
    /// Guest RAM in bytes.
    fn ram_size(&self) -> u64;
}

/// What the hypervisor does once a service returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Return to the caller (the stub's IRET), with the registers as set.
    Return,
    /// The call cannot complete yet (a keyboard read with an empty buffer):
    /// let the guest wait for an interrupt, then make the call again.
    WaitAndRetry,
    /// Start the loaded boot code: CS:IP, with DL the boot drive and SS:SP a
    /// fresh stack.
    Boot { cs: u16, ip: u16, dl: u8 },
    /// Nothing can run: print nothing more, halt the machine.
    Halt,
}
