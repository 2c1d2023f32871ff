//! Port I/O on the host (Intel SDM vol. 1, 19 "Input/Output").

use x86_64::instructions::port::Port;

/// Writes a byte to a host I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: the hypervisor owns the host's legacy ports; callers name only the
    // debug console, the host UART and the emulators' exit ports, none of which
    // can corrupt memory.
    unsafe { Port::<u8>::new(port).write(value) }
}

/// Writes a 32-bit value to a host I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe { Port::<u32>::new(port).write(value) }
}

/// Reads a byte from a host I/O port.
pub fn inb(port: u16) -> u8 {
    // SAFETY: as for `outb`; reads of these ports have no side effects beyond
    // the device's own (a UART's receive FIFO).
    unsafe { Port::<u8>::new(port).read() }
}

/// Reads a 32-bit value from a host I/O port.
pub fn inl(port: u16) -> u32 {
    // SAFETY: as for `outb`; the callers read the PCI configuration data
    // port, whose reads have no side effects.
    unsafe { Port::<u32>::new(port).read() }
}
