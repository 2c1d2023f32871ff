//! What a BIOS service may reach besides guest memory: the emulated devices
//! through port I/O (the same ports a real BIOS programs), the machine's
//! memory size and host time; and what it asks the hypervisor to do after.

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
    /// Guest RAM in bytes.
    fn ram_size(&self) -> u64;
    /// Host time in nanoseconds (for timed waits), never going backwards.
    fn now_ns(&self) -> u64;
}

/// What the hypervisor does once a service returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Return to the caller (the stub's IRET), with the registers as set.
    Return,
    /// The call cannot complete yet (a keyboard read with an empty buffer, a
    /// timed wait): let the guest wait for an interrupt, then make the call
    /// again. Only INT 15h and INT 16h, whose stubs can wait, return this.
    WaitAndRetry,
    /// Start the loaded boot code: CS:IP, with DL the boot drive and SS:SP a
    /// fresh stack.
    Boot { cs: u16, ip: u16, dl: u8 },
    /// Nothing can run: print nothing more, halt the machine.
    Halt,
}
