//! The DSDT (ACPI 6.5, 5.2.11.1): its AML, generated with `acpi_tables::aml`.
//!
//! In ASL, for the PC board (PVH: only the processors and `\_S5_`):
//!
//! ```text
//! Scope (\_SB) {
//!     Device (C000) { Name (_HID, "ACPI0007") Name (_UID, 0) }  // per vCPU
//!     Device (PCI0) {
//!         Name (_HID, EisaId ("PNP0A03")) Name (_UID, 0) Name (_BBN, 0)
//!         Name (_CRS, ResourceTemplate () {
//!             WordBusNumber (0x00-0xFF)
//!             IO (Decode16, 0x0CF8, 0x0CF8, 1, 8)
//!             WordIO (0x0000-0x0CF7)  WordIO (0x0D00-0xFFFF)
//!             DWordMemory (Cacheable, 0x000A0000-0x000BFFFF)
//!             DWordMemory (NonCacheable, RAM_BELOW_4G_LIMIT-(IO_APIC - 1))
//!         })
//!         Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, gsi }, ... })
//!         Device (ISA_) {
//!             Name (_ADR, 0x00010000)
//!             Device (RTC_) { PNP0B00: IO 70h-71h, IRQNoFlags {8} }
//!             Device (KBD_) { PNP0303: IO 60h, IO 64h, IRQNoFlags {1} }
//!             Device (MOU_) { PNP0F13: IRQNoFlags {12} }
//!             Device (COM1) { PNP0501, _UID 1: IO 3F8h-3FFh, IRQNoFlags {4} }
//!             Device (COM2) { PNP0501, _UID 2: IO 2F8h-2FFh, IRQNoFlags {3} }
//!         }
//!     }
//!     Device (HPET) { PNP0103: Memory32Fixed (ReadOnly, HPET, 0x400) }  // if hpet
//! }
//! Name (_S5_, Package () { S5_SLP_TYP, S5_SLP_TYP, 0, 0 })
//! ```

use crate::system_tables::bytes_of;
use crate::{PcAcpiConfig, OEM_ID, OEM_REVISION, OEM_TABLE_ID};
use acpi_tables::aml::{
    AddressSpace, AddressSpaceCacheable, Device, EISAName, Memory32Fixed, Name, Package,
    PackageBuilder, Path, ResourceTemplate, Scope, IO, ZERO,
};
use acpi_tables::sdt::Sdt;
use acpi_tables::{Aml, AmlSink};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use pc_layout::{acpi, irqs, memory, ports};

/// DSDT revision 2: integers are 64 bits (5.2.11.1).
const DSDT_REVISION: u8 = 2;
/// Devices on PCI bus 0 the `_PRT` covers.
const PCI_SLOTS: u32 = 32;
/// The PIIX3's PCI device number: its function 0 is the ISA bridge.
const PIIX3_DEVICE: u32 = 1;
/// Bytes of the HPET's register block.
const HPET_SIZE: u32 = 0x400;

/// AML already serialised, as a child of a scope or device.
struct Raw(Vec<u8>);

impl Aml for Raw {
    fn to_aml_bytes(&self, sink: &mut dyn AmlSink) {
        sink.vec(&self.0);
    }
}

/// The small IRQ descriptor without its information byte, ASL
/// `IRQNoFlags () {irq}` (6.4.2.1: edge, active high, exclusive), what the
/// ISA devices of a PC declare.
struct IrqNoFlags(u8);

impl Aml for IrqNoFlags {
    fn to_aml_bytes(&self, sink: &mut dyn AmlSink) {
        // Small item, type 4 (IRQ), length 2; then the IRQ mask.
        sink.byte(0x22);
        sink.word(1 << self.0);
    }
}

/// `Device (name) { Name (_HID, EisaId (hid)) [Name (_UID, uid)] Name (_CRS,
/// resources) }`.
fn isa_device(name: &str, hid: &str, uid: Option<u32>, resources: &[&dyn Aml]) -> Raw {
    let hid = Name::new("_HID".into(), &EISAName::new(hid));
    let crs = Name::new("_CRS".into(), &ResourceTemplate::new(resources.to_vec()));
    let uid = uid.map(|u| Name::new("_UID".into(), &u));
    let mut children: Vec<&dyn Aml> = vec![&hid];
    if let Some(uid) = &uid {
        children.push(uid);
    }
    children.push(&crs);
    Raw(bytes_of(&Device::new(name.into(), children)))
}

/// The PIIX3 ISA bridge (device 1, function 0) and the PC's own devices.
fn isa_bridge() -> Raw {
    let adr = Name::new("_ADR".into(), &(PIIX3_DEVICE << 16));
    let rtc = isa_device(
        "RTC_",
        "PNP0B00",
        None,
        &[
            &IO::new(ports::CMOS_INDEX, ports::CMOS_INDEX, 1, 2),
            &IrqNoFlags(irqs::RTC),
        ],
    );
    let kbd = isa_device(
        "KBD_",
        "PNP0303",
        None,
        &[
            &IO::new(ports::I8042_DATA, ports::I8042_DATA, 1, 1),
            &IO::new(ports::I8042_COMMAND, ports::I8042_COMMAND, 1, 1),
            &IrqNoFlags(irqs::KEYBOARD),
        ],
    );
    let mouse = isa_device("MOU_", "PNP0F13", None, &[&IrqNoFlags(irqs::MOUSE)]);
    let uart = |i: usize| {
        let base = ports::COM[i];
        isa_device(
            if i == 0 { "COM1" } else { "COM2" },
            "PNP0501",
            Some(i as u32 + 1),
            &[
                &IO::new(base, base, 1, ports::UART_COUNT as u8),
                &IrqNoFlags(irqs::COM[i]),
            ],
        )
    };
    let (com1, com2) = (uart(0), uart(1));
    Raw(bytes_of(&Device::new(
        "ISA_".into(),
        vec![&adr, &rtc, &kbd, &mouse, &com1, &com2],
    )))
}

/// The PIRQ line (0 = PIRQA#) INTx# pin `pin` (0 = INTA#) of the device in
/// `slot` reaches on the i440FX board (QEMU's `pci_slot_get_pirq`).
pub(crate) fn pirq_of(slot: u32, pin: u32) -> usize {
    ((slot + pin + 3) % 4) as usize
}

/// `_PRT` (6.2.13): for every slot and pin whose PIRQ is routed, the GSI
/// (= the ISA IRQ the PIRQ is routed to, the I/O APIC pin of that number)
/// with source 0.
fn prt(config: &PcAcpiConfig) -> PackageBuilder {
    let mut prt = PackageBuilder::new();
    for slot in 0..PCI_SLOTS {
        for pin in 0..4u32 {
            let Some(irq) = config.pirq_routes[pirq_of(slot, pin)] else {
                continue;
            };
            let address = slot << 16 | 0xFFFF;
            let gsi = u32::from(irq);
            prt.add_element(&Package::new(vec![&address, &pin, &ZERO, &gsi]));
        }
    }
    prt
}

/// `\_SB.PCI0`, the PCI host bridge: bus 0, and the I/O and memory windows
/// it forwards to PCI (everything but the configuration ports, the VGA
/// window, and the PCI hole between low RAM and the I/O APIC). No `_ADR`:
/// a device has a `_HID` or an `_ADR`, "but should not contain both" (ACPI
/// 6.5, 6.1 "Device Identification Objects"; `iasl` warns), and the root bridge's bus is `_BBN`.
fn pci0(config: &PcAcpiConfig) -> Raw {
    let hid = Name::new("_HID".into(), &EISAName::new("PNP0A03"));
    let uid = Name::new("_UID".into(), &ZERO);
    let bbn = Name::new("_BBN".into(), &ZERO);
    let config_end = ports::PCI_CONFIG + ports::PCI_CONFIG_COUNT;
    let crs = Name::new(
        "_CRS".into(),
        &ResourceTemplate::new(vec![
            &AddressSpace::<u16>::new_bus_number(0, 0xFF),
            &IO::new(
                ports::PCI_CONFIG,
                ports::PCI_CONFIG,
                1,
                ports::PCI_CONFIG_COUNT as u8,
            ),
            &AddressSpace::<u16>::new_io(0, ports::PCI_CONFIG - 1, None),
            // From the next 256-port block after the configuration ports.
            &AddressSpace::<u16>::new_io(config_end.next_multiple_of(0x100), 0xFFFF, None),
            &AddressSpace::<u32>::new_memory(
                AddressSpaceCacheable::Cacheable,
                true,
                memory::VGA_WINDOW as u32,
                (memory::VGA_WINDOW + 0x2_0000 - 1) as u32,
                None,
            ),
            &AddressSpace::<u32>::new_memory(
                AddressSpaceCacheable::NotCacheable,
                true,
                memory::RAM_BELOW_4G_LIMIT as u32,
                (memory::IO_APIC - 1) as u32,
                None,
            ),
        ]),
    );
    let prt = Name::new("_PRT".into(), &prt(config));
    let isa = isa_bridge();
    Raw(bytes_of(&Device::new(
        "PCI0".into(),
        vec![&hid, &uid, &bbn, &crs, &prt, &isa],
    )))
}

/// `Device (Cnnn) { Name (_HID, "ACPI0007") Name (_UID, n) }` (8.4,
/// "Declaring Processors"): n is the MADT's ACPI processor UID.
fn processor(uid: u32) -> Raw {
    let hid = Name::new("_HID".into(), &"ACPI0007");
    let uid_name = Name::new("_UID".into(), &uid);
    let name = format!("C{uid:03X}");
    Raw(bytes_of(&Device::new(
        Path::new(&name),
        vec![&hid, &uid_name],
    )))
}

/// The HPET's device (`PNP0103`), so the OS knows its registers are taken.
fn hpet_device() -> Raw {
    let hid = Name::new("_HID".into(), &EISAName::new("PNP0103"));
    let uid = Name::new("_UID".into(), &ZERO);
    let crs = Name::new(
        "_CRS".into(),
        &ResourceTemplate::new(vec![&Memory32Fixed::new(
            false,
            memory::HPET as u32,
            HPET_SIZE,
        )]),
    );
    Raw(bytes_of(&Device::new(
        "HPET".into(),
        vec![&hid, &uid, &crs],
    )))
}

/// The DSDT's AML (the definition block's body).
pub(crate) fn dsdt_aml(config: &PcAcpiConfig) -> Vec<u8> {
    let mut sb: Vec<Raw> = (0..config.vcpus).map(processor).collect();
    if !config.pvh {
        sb.push(pci0(config));
        if config.hpet {
            sb.push(hpet_device());
        }
    }
    let sb_children: Vec<&dyn Aml> = sb.iter().map(|r| r as &dyn Aml).collect();
    let mut aml = bytes_of(&Scope::new("\\_SB_".into(), sb_children));
    let slp_typ = acpi::S5_SLP_TYP;
    Name::new(
        "_S5_".into(),
        &Package::new(vec![&slp_typ, &slp_typ, &ZERO, &ZERO]),
    )
    .to_aml_bytes(&mut aml);
    aml
}

/// The DSDT for `config`.
pub(crate) fn dsdt(config: &PcAcpiConfig) -> Vec<u8> {
    let mut sdt = Sdt::new(
        *b"DSDT",
        36,
        DSDT_REVISION,
        OEM_ID,
        OEM_TABLE_ID,
        OEM_REVISION,
    );
    sdt.append_slice(&dsdt_aml(config));
    sdt.as_slice().to_vec()
}
