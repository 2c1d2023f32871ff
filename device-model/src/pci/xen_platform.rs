//! Device 03.0 of bus 0 on a board with the Xen PV-on-HVM interface: the Xen
//! platform PCI device, as Linux's `drivers/xen/platform-pci.c` probes it
//! and QEMU's `hw/i386/xen/xen_platform.c` presents it (identity, BARs,
//! INTA#). Its fixed unplug/log ports 10h-1Fh, which decode whatever the
//! Command register says, are `crate::xen_platform`.
//!
//! - Identity: vendor 5853h (XenSource), device 0001h, subsystem 5853:0001,
//!   revision 1, class code FF/80/00 (base class FFh, "does not fit any
//!   defined class", PCI 3.0 appendix D; sub-class 80h), header type 0.
//! - Command: I/O Space and Memory Space on from power-on, as QEMU sets
//!   them; both, Bus Master and Interrupt Disable (PCI 3.0 §6.2.2) writable.
//! - BAR0: a 256-byte I/O range. BAR1: a 16 MiB 32-bit prefetchable memory
//!   range, address space the guest maps its grant-table frames into (no
//!   register lives there). Linux refuses the device (ENOENT) if either base
//!   is 0, so the board pre-assigns both as firmware would
//!   ([`pc_layout::ports::XEN_PLATFORM_IO`],
//!   [`pc_layout::memory::XEN_PLATFORM_MMIO`]); sizing them behaves as
//!   §6.2.5.1 says (see [`ConfigSpace`]).
//! - Interrupt Pin 1 (INTA#), Interrupt Line [`pc_layout::irqs::XEN_PLATFORM`]
//!   as the firmware routes it: the event-channel upcall of a guest without
//!   a vector callback (notes/xen-abi.md §5.3 (c)).

use super::bus::PciBus;
use super::config_space::{
    bar_offset, Bar, ConfigSpace, COMMAND, COMMAND_BUS_MASTER, COMMAND_INTERRUPT_DISABLE,
    COMMAND_IO_SPACE, COMMAND_MEMORY_SPACE, INTERRUPT_LINE, SUBSYSTEM_ID, SUBSYSTEM_VENDOR_ID,
};
use super::PciSlotError;

/// Device number of the Xen platform device on bus 0 (the first free slot
/// after the PIIX3).
pub const XEN_PLATFORM_DEVICE: u8 = 3;
/// Its function number.
pub const XEN_PLATFORM_FUNCTION: u8 = 0;
/// XenSource's PCI vendor ID (Linux `PCI_VENDOR_ID_XEN`).
pub const VENDOR_XEN: u16 = 0x5853;
/// The platform device's ID (Linux `PCI_DEVICE_ID_XEN_PLATFORM`; its driver
/// also accepts 0002h).
pub const DEVICE_ID_XEN_PLATFORM: u16 = 0x0001;
/// Revision ID QEMU gives the device.
pub const REVISION_XEN_PLATFORM: u8 = 1;
/// Class code FF/80/00: base class FFh, sub-class 80h, interface 0.
pub const CLASS_XEN_PLATFORM: u32 = 0xFF_80_00;
/// BAR0: the device's I/O range.
pub const XEN_PLATFORM_IO_BAR: usize = 0;
/// BAR1: the grant-frame address space.
pub const XEN_PLATFORM_MMIO_BAR: usize = 1;
/// Interrupt Pin 1: INTA#.
const INTERRUPT_PIN_INTA: u8 = 1;

/// The Xen platform device's configuration space, with BAR0 at `io_base`,
/// BAR1 at `mmio_base` and the Interrupt Line at `irq`, as firmware leaves
/// them; see the module documentation for every other register.
pub fn xen_platform_config(io_base: u16, mmio_base: u32, irq: u8) -> ConfigSpace {
    let mut cs = ConfigSpace::new(
        VENDOR_XEN,
        DEVICE_ID_XEN_PLATFORM,
        REVISION_XEN_PLATFORM,
        CLASS_XEN_PLATFORM,
    );
    cs.define_register(
        COMMAND,
        2,
        u32::from(COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE),
        u32::from(
            COMMAND_IO_SPACE
                | COMMAND_MEMORY_SPACE
                | COMMAND_BUS_MASTER
                | COMMAND_INTERRUPT_DISABLE,
        ),
    );
    cs.define_register(SUBSYSTEM_VENDOR_ID, 2, u32::from(VENDOR_XEN), 0);
    cs.define_register(SUBSYSTEM_ID, 2, u32::from(DEVICE_ID_XEN_PLATFORM), 0);
    cs.set_bar(
        XEN_PLATFORM_IO_BAR,
        Bar::Io {
            size: u32::from(pc_layout::ports::XEN_PLATFORM_IO_SIZE),
        },
    );
    cs.set_bar(
        XEN_PLATFORM_MMIO_BAR,
        Bar::Memory32 {
            size: pc_layout::memory::XEN_PLATFORM_MMIO_SIZE as u32,
            prefetchable: true,
        },
    );
    cs.write_dword(bar_offset(XEN_PLATFORM_IO_BAR), u32::from(io_base), 0xF);
    cs.write_dword(bar_offset(XEN_PLATFORM_MMIO_BAR), mmio_base, 0xF);
    cs.set_interrupt_pin(INTERRUPT_PIN_INTA);
    cs.define_register(INTERRUPT_LINE, 1, u32::from(irq), 0xFF);
    cs
}

impl PciBus {
    /// Places the Xen platform device at 03.0 with its BARs and Interrupt
    /// Line where `pc_layout` puts them.
    pub fn add_xen_platform(&mut self) -> Result<(), PciSlotError> {
        self.add_config(
            XEN_PLATFORM_DEVICE,
            XEN_PLATFORM_FUNCTION,
            xen_platform_config(
                pc_layout::ports::XEN_PLATFORM_IO,
                pc_layout::memory::XEN_PLATFORM_MMIO as u32,
                pc_layout::irqs::XEN_PLATFORM,
            ),
        )
    }

    /// The Xen platform device's configuration space, if the bus has one.
    fn xen_platform(&self) -> Option<&ConfigSpace> {
        self.config(XEN_PLATFORM_DEVICE, XEN_PLATFORM_FUNCTION)
    }

    /// Where BAR0 (I/O) of the Xen platform device decodes now: `None`
    /// without the device, with I/O Space off, or with a base of 0 or above
    /// 0xFFFF (no x86 port).
    pub fn xen_platform_io_base(&self) -> Option<u16> {
        let base = self.xen_platform()?.bar_address(XEN_PLATFORM_IO_BAR)?;
        u16::try_from(base).ok().filter(|&b| b != 0)
    }

    /// Where BAR1 (the grant-frame space) of the Xen platform device sits
    /// now: `None` without the device, with Memory Space off or a base of 0.
    pub fn xen_platform_mmio_base(&self) -> Option<u32> {
        let base = self.xen_platform()?.bar_address(XEN_PLATFORM_MMIO_BAR)?;
        (base != 0).then_some(base)
    }

    /// Whether the Xen platform device may assert INTA#: it is present and
    /// the guest has not set Interrupt Disable in its Command register.
    pub fn xen_platform_intx_enabled(&self) -> bool {
        self.xen_platform()
            .is_some_and(|cs| cs.command() & COMMAND_INTERRUPT_DISABLE == 0)
    }
}
