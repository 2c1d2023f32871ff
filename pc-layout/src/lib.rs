//! The PC board's layout in one place: every I/O port, interrupt line and
//! guest-physical address the emulated PC, its BIOS and the hypervisor agree
//! on. Devices take their base port from here when they are placed; the BIOS
//! programs the same numbers; nothing else spells them out.
//!
//! Sources: IBM PC/AT Technical Reference ("System I/O Address Map",
//! "Hardware Interrupt Listing"); Intel 82371SB PIIX3 datasheet (PCI
//! configuration mechanism, IDE, reset control); Intel 82093AA I/O APIC
//! datasheet and Intel SDM vol. 3A, 12.4.1 (default APIC addresses); the
//! IA-PC HPET specification 1.0a, 2.1 (default HPET address).
#![no_std]
#![forbid(unsafe_code)]

/// I/O ports of the PC/AT and PIIX3 devices.
pub mod ports {
    /// 8259A master: command (20h) and data (21h).
    pub const PIC_MASTER: u16 = 0x20;
    /// 8259A slave: command (A0h) and data (A1h).
    pub const PIC_SLAVE: u16 = 0xA0;
    /// PIIX3 edge/level control registers ELCR1/ELCR2 (4D0h, 4D1h).
    pub const PIC_ELCR: u16 = 0x4D0;
    /// 8254 PIT: counters 0-2 (40h-42h) and the control word (43h).
    pub const PIT: u16 = 0x40;
    /// Ports the PIT decodes.
    pub const PIT_COUNT: u16 = 4;
    /// System control port B (61h): PIT gate 2, speaker, refresh toggle.
    pub const PORT_B: u16 = 0x61;
    /// i8042 keyboard controller data port.
    pub const I8042_DATA: u16 = 0x60;
    /// i8042 command/status port.
    pub const I8042_COMMAND: u16 = 0x64;
    /// System control port A (92h): fast A20 and fast reset.
    pub const SYSTEM_CONTROL_A: u16 = 0x92;
    /// MC146818 CMOS/RTC index port (bit 7: NMI disable).
    pub const CMOS_INDEX: u16 = 0x70;
    /// MC146818 CMOS/RTC data port.
    pub const CMOS_DATA: u16 = 0x71;
    /// POST diagnostic port.
    pub const POST: u16 = 0x80;
    /// COM1-COM4 16550A UARTs, 8 ports each.
    pub const COM: [u16; 4] = [0x3F8, 0x2F8, 0x3E8, 0x2E8];
    /// Ports a UART decodes.
    pub const UART_COUNT: u16 = 8;
    /// VGA registers (3B0h-3DFh).
    pub const VGA: u16 = 0x3B0;
    /// Ports the VGA decodes.
    pub const VGA_COUNT: u16 = 0x30;
    /// PCI configuration mechanism #1: CONFIG_ADDRESS (CF8h) and
    /// CONFIG_DATA (CFCh-CFFh), with the PIIX3 reset control register at CF9h.
    pub const PCI_CONFIG: u16 = 0xCF8;
    /// Ports from [`PCI_CONFIG`] the PCI host decodes (CF8h-CFFh).
    pub const PCI_CONFIG_COUNT: u16 = 8;
    /// PIIX3 RC (Reset Control) register, a byte port inside the PCI
    /// configuration range (82371SB PIIX3 datasheet, "RC—Reset Control
    /// Register (I/O Address 0CF9h)").
    pub const RESET_CONTROL: u16 = 0xCF9;
    /// PCI configuration mechanism #1 CONFIG_DATA, the first of the four data
    /// ports CFCh-CFFh (PCI Local Bus Specification 3.0, 3.2.2.3.2 "Software
    /// Generation of Configuration Transactions").
    pub const PCI_CONFIG_DATA: u16 = 0xCFC;
    /// IDE primary channel command block (1F0h-1F7h).
    pub const IDE_PRIMARY_COMMAND: u16 = 0x1F0;
    /// IDE primary channel control block (3F6h).
    pub const IDE_PRIMARY_CONTROL: u16 = 0x3F6;
    /// IDE secondary channel command block (170h-177h).
    pub const IDE_SECONDARY_COMMAND: u16 = 0x170;
    /// IDE secondary channel control block (376h).
    pub const IDE_SECONDARY_CONTROL: u16 = 0x376;
    /// Where the firmware places the PIIX3 IDE bus-master registers (BAR4),
    /// as SeaBIOS does.
    pub const IDE_BUS_MASTER: u16 = 0xC000;
    /// The Xen platform PCI device's fixed unplug/log ports 10h-1Fh (QEMU
    /// `hw/i386/xen/xen_platform.c`; Linux `arch/x86/xen/platform-pci-unplug.c`).
    pub const XEN_UNPLUG: u16 = 0x10;
    /// Ports of the unplug block.
    pub const XEN_UNPLUG_COUNT: u16 = 0x10;
    /// Where the firmware places the Xen platform device's BAR0 (I/O).
    pub const XEN_PLATFORM_IO: u16 = 0xC100;
    /// Size of the Xen platform device's BAR0.
    pub const XEN_PLATFORM_IO_SIZE: u16 = 0x100;
    /// The test-exit port: a guest writes its exit status here.
    pub const TEST_EXIT: u16 = 0x501;
    /// The emulated BIOS's trap port: its ROM stubs write here so the
    /// hypervisor runs the service.
    pub const BIOS_TRAP: u16 = 0xEA;
    /// The ACPI fixed-hardware register blocks (ACPI 6.5, 4.8 "ACPI Hardware
    /// Model"), at the addresses QEMU's PIIX4 power management function
    /// uses; the FADT names them. PM1a event block: PM1_STS then PM1_EN,
    /// two bytes each (4.8.3.1).
    pub const ACPI_PM1A_EVT: u16 = 0x600;
    /// Bytes of the PM1a event block (FADT PM1_EVT_LEN).
    pub const ACPI_PM1A_EVT_LEN: u16 = 4;
    /// PM1a control block: PM1_CNT, two bytes (4.8.3.2).
    pub const ACPI_PM1A_CNT: u16 = 0x604;
    /// Bytes of the PM1a control block (FADT PM1_CNT_LEN).
    pub const ACPI_PM1A_CNT_LEN: u16 = 2;
    /// The power management timer: a 24-bit counter at 3.579545 MHz, read
    /// as four bytes (4.8.3.3).
    pub const ACPI_PM_TIMER: u16 = 0x608;
    /// Bytes of the PM timer block (FADT PM_TMR_LEN).
    pub const ACPI_PM_TIMER_LEN: u16 = 4;
    /// The whole power-management range the board decodes (PM1a event,
    /// control and timer blocks).
    pub const ACPI_PM: u16 = ACPI_PM1A_EVT;
    /// Bytes of [`ACPI_PM`].
    pub const ACPI_PM_COUNT: u16 = 0x10;
}

/// ISA interrupt lines; on a board with an I/O APIC these are also its GSIs
/// (with the ISA override IRQ0 → GSI2 that the MADT states).
pub mod irqs {
    /// PIT counter 0.
    pub const PIT: u8 = 0;
    /// i8042 keyboard.
    pub const KEYBOARD: u8 = 1;
    /// The slave 8259's cascade into the master.
    pub const CASCADE: u8 = 2;
    /// COM2 and COM4.
    pub const COM2_COM4: u8 = 3;
    /// COM1 and COM3.
    pub const COM1_COM3: u8 = 4;
    /// Each COM port's line, in [`super::ports::COM`] order.
    pub const COM: [u8; 4] = [COM1_COM3, COM2_COM4, COM1_COM3, COM2_COM4];
    /// MC146818 RTC.
    pub const RTC: u8 = 8;
    /// i8042 auxiliary (PS/2 mouse) port.
    pub const MOUSE: u8 = 12;
    /// IDE primary channel.
    pub const IDE_PRIMARY: u8 = 14;
    /// IDE secondary channel.
    pub const IDE_SECONDARY: u8 = 15;
    /// The Xen platform PCI device's INTx (its Interrupt Line register), the
    /// event-channel upcall of a guest without a vector callback.
    pub const XEN_PLATFORM: u8 = 11;
    /// The ACPI system control interrupt (FADT SCI_INT): level-triggered,
    /// GSI 9 active high at the I/O APIC through the MADT's interrupt
    /// source override, as QEMU's PIIX4 machines declare it.
    pub const ACPI_SCI: u8 = 9;
    /// Lines of the 8259 pair.
    pub const ISA_COUNT: u8 = 16;
}

/// Guest-physical addresses.
pub mod memory {
    /// The real-mode interrupt vector table.
    pub const IVT: u64 = 0;
    /// The BIOS data area.
    pub const BDA: u64 = 0x400;
    /// The extended BIOS data area (1 KiB below 640 KiB).
    pub const EBDA: u64 = 0x9_FC00;
    /// The VGA memory window (A0000h-BFFFFh): no RAM the OS may use.
    pub const VGA_WINDOW: u64 = 0xA_0000;
    /// The colour text page.
    pub const VGA_TEXT: u64 = 0xB_8000;
    /// The ROM area below 1 MiB (E0000h-FFFFFh) where the BIOS image lives.
    pub const ROM_AREA: u64 = 0xE_0000;
    /// The first address above the real-mode space.
    pub const HIGH_MEMORY: u64 = 0x10_0000;
    /// Largest ROM image: the ROM area.
    pub const MAX_ROM_SIZE: u64 = HIGH_MEMORY - ROM_AREA;
    /// Where RAM below 4 GiB ends at most: the rest of the 32-bit space is
    /// left for PCI, the APICs and the ROM alias, and RAM beyond this moves
    /// above [`FOUR_GIB`]. The CMOS memory-size bytes (the Bochs BIOS /
    /// SeaBIOS convention, `device_model::cmos_rtc`) and the BIOS's E820h map
    /// both describe RAM split here.
    pub const RAM_BELOW_4G_LIMIT: u64 = 0xE000_0000;
    /// The most RAM the board lays out, in MiB: one block from address 0,
    /// below [`RAM_BELOW_4G_LIMIT`], backed by host memory the hypervisor's
    /// boot page tables map (the first 4 GiB, shared with the hypervisor and
    /// the boot modules). RAM above 4 GiB is not offered.
    pub const MAX_RAM_MIB: u64 = 3072;
    /// The end of the 32-bit physical space; the ROM is aliased just below
    /// it so the reset vector at FFFF_FFF0h lands in it, as the chipset does.
    pub const FOUR_GIB: u64 = 1 << 32;
    /// Where the firmware places the Xen platform device's BAR1: address
    /// space the guest maps its grant-table frames into (Linux
    /// `drivers/xen/platform-pci.c`, `alloc_xen_mmio`), inside the PCI hole.
    pub const XEN_PLATFORM_MMIO: u64 = 0xF000_0000;
    /// Size of BAR1: at least the most grant frames × 4 KiB (QEMU: 16 MiB).
    pub const XEN_PLATFORM_MMIO_SIZE: u64 = 16 << 20;
    /// The Xen "special pages" (XenStore and console rings), E820-reserved so
    /// the guest leaves them alone, as QEMU places them (console at PFN
    /// FEFF8h, store at FEFF9h); the hypervisor backs them with its own
    /// frames.
    pub const XEN_SPECIAL_PAGES: u64 = 0xFEFF_8000;
    /// Bytes of the special-pages region (it ends at FF00_0000h, below the
    /// ROM alias).
    pub const XEN_SPECIAL_PAGES_SIZE: u64 = 0x8000;
    /// The console ring's page (`HVM_PARAM_CONSOLE_PFN`).
    pub const XEN_CONSOLE_PAGE: u64 = XEN_SPECIAL_PAGES;
    /// The XenStore ring's page (`HVM_PARAM_STORE_PFN`).
    pub const XEN_STORE_PAGE: u64 = XEN_SPECIAL_PAGES + 0x1000;
    /// I/O APIC registers (82093AA default).
    pub const IO_APIC: u64 = 0xFEC0_0000;
    /// HPET registers (IA-PC HPET 1.0a default).
    pub const HPET: u64 = 0xFED0_0000;
    /// Local APIC registers (Intel SDM vol. 3A, 12.4.1 default).
    pub const LOCAL_APIC: u64 = 0xFEE0_0000;
}

/// ACPI values the tables and the power-management device must agree on.
pub mod acpi {
    /// The SLP_TYP value of the soft-off state: the DSDT's `_S5` package
    /// gives it, the guest writes it to PM1_CNT with SLP_EN (ACPI 6.5,
    /// 7.4.2 "\\_Sx (System States)" and 4.8.3.2.1). 0, as PIIX4 decodes it.
    pub const S5_SLP_TYP: u8 = 0;
}

/// Where the drives sit on the two IDE channels (ATA/ATAPI-6, 5.2: each
/// channel has a master, device 0, and a slave, device 1). The CD-ROM is the
/// secondary master, as on QEMU's `pc` machine and Xen's HVM guests; the
/// hard disks, in the order they are given, take the other three places, so
/// Linux's libata names them sda, sdb, sdc and the BIOS 80h, 81h, 82h.
pub mod ide_drives {
    /// An IDE position: channel (0 primary, 1 secondary) and whether slave.
    pub type Position = (usize, bool);
    /// The ATAPI CD-ROM drive: secondary master.
    pub const CDROM: Position = (1, false);
    /// The hard disks, first to last: primary master, primary slave,
    /// secondary slave. Their count is how many disks a guest can have.
    pub const DISKS: [Position; 3] = [(0, false), (0, true), (1, true)];
}

/// The runner's control channel to the hypervisor, the one place its
/// protocol is written down (the hypervisor's `vmm_core::control` reads it,
/// `cargo xtask run` writes it).
///
/// The channel is the host machine's COM3, a 16550A at 3E8h that only the
/// hypervisor drives (the guest's COM3 is the emulated board's own). Under
/// QEMU the runner gives it a `pipe:` character device on two FIFOs it
/// creates with mkfifo, `<run dir>/control.in` (runner to hypervisor) and
/// `control.out` (unused). Each request is one byte; unknown bytes are
/// ignored, so noise on a real machine's COM3 does nothing. Where the port
/// is absent (Bochs, most real machines: the scratch register does not
/// keep a value, or the line status register reads FFh) the hypervisor
/// never reads it.
pub mod host_control {
    /// The host UART the channel uses: COM3.
    pub const PORT: u16 = super::ports::COM[2];
    /// "Shut down gracefully": the hypervisor writes `control/shutdown` =
    /// `poweroff` into the guest's XenStore as domain 0, as `xl shutdown`
    /// does (Xen's docs/misc/xenstore-paths.pandoc, `~/control/shutdown`),
    /// so the guest's PV drivers power it off; a guest without the Xen
    /// platform cannot be asked, and the runner's grace period applies.
    pub const SHUTDOWN: u8 = b'S';
    /// The FIFOs' base name in the run folder: QEMU's `pipe:` backend
    /// opens `<base>.in` and `<base>.out`.
    pub const FIFO_BASE: &str = "control";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_do_not_overlap() {
        let mut ranges = [
            (ports::PIC_MASTER, 2),
            (ports::PIC_SLAVE, 2),
            (ports::PIC_ELCR, 2),
            (ports::PIT, ports::PIT_COUNT),
            (ports::PORT_B, 1),
            (ports::I8042_DATA, 1),
            (ports::I8042_COMMAND, 1),
            (ports::SYSTEM_CONTROL_A, 1),
            (ports::CMOS_INDEX, 2),
            (ports::POST, 1),
            (ports::COM[0], ports::UART_COUNT),
            (ports::COM[1], ports::UART_COUNT),
            (ports::COM[2], ports::UART_COUNT),
            (ports::COM[3], ports::UART_COUNT),
            (ports::VGA, ports::VGA_COUNT),
            (ports::PCI_CONFIG, ports::PCI_CONFIG_COUNT),
            (ports::IDE_PRIMARY_COMMAND, 8),
            (ports::IDE_PRIMARY_CONTROL, 1),
            (ports::IDE_SECONDARY_COMMAND, 8),
            (ports::IDE_SECONDARY_CONTROL, 1),
            (ports::IDE_BUS_MASTER, 16),
            (ports::XEN_UNPLUG, ports::XEN_UNPLUG_COUNT),
            (ports::XEN_PLATFORM_IO, ports::XEN_PLATFORM_IO_SIZE),
            (ports::TEST_EXIT, 1),
            (ports::BIOS_TRAP, 1),
            (ports::ACPI_PM, ports::ACPI_PM_COUNT),
        ];
        ranges.sort();
        for pair in ranges.windows(2) {
            let ((a, len), (b, _)) = (pair[0], pair[1]);
            assert!(a + len <= b, "{a:#x}+{len} overlaps {b:#x}");
        }
    }

    #[test]
    fn pci_registers_lie_in_the_pci_config_range() {
        const {
            assert!(ports::PCI_CONFIG < ports::RESET_CONTROL);
            assert!(ports::RESET_CONTROL < ports::PCI_CONFIG_DATA);
            assert!(ports::PCI_CONFIG_DATA + 4 == ports::PCI_CONFIG + ports::PCI_CONFIG_COUNT);
        }
    }

    #[test]
    fn irq_lines_fit_the_pic_pair() {
        for irq in [
            irqs::PIT,
            irqs::KEYBOARD,
            irqs::RTC,
            irqs::MOUSE,
            irqs::IDE_PRIMARY,
            irqs::IDE_SECONDARY,
            irqs::XEN_PLATFORM,
            irqs::ACPI_SCI,
        ]
        .iter()
        .chain(irqs::COM.iter())
        {
            assert!(*irq < irqs::ISA_COUNT && *irq != irqs::CASCADE);
        }
    }

    #[test]
    fn memory_regions_are_in_order() {
        let order = [
            memory::IVT,
            memory::BDA,
            memory::EBDA,
            memory::VGA_WINDOW,
            memory::VGA_TEXT,
            memory::ROM_AREA,
            memory::HIGH_MEMORY,
            memory::RAM_BELOW_4G_LIMIT,
            memory::XEN_PLATFORM_MMIO,
            memory::XEN_PLATFORM_MMIO + memory::XEN_PLATFORM_MMIO_SIZE,
            memory::IO_APIC,
            memory::HPET,
            memory::LOCAL_APIC,
            memory::XEN_SPECIAL_PAGES,
            memory::XEN_SPECIAL_PAGES + memory::XEN_SPECIAL_PAGES_SIZE,
            memory::FOUR_GIB - memory::MAX_ROM_SIZE,
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }
}
