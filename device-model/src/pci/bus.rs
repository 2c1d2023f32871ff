//! PCI bus 0 behind configuration mechanism #1, from the PCI Local Bus
//! Specification, Revision 3.0, §3.2.2.3.2 "Software Generation of
//! Configuration Transactions": CONFIG_ADDRESS at 0xCF8 and CONFIG_DATA at
//! 0xCFC-0xCFF; [`PciBus`], the device and function slots they reach, laid
//! out as an i440FX/PIIX3 PC by [`PciBus::new_pc`]; PIIX3's RC Reset Control
//! register at 0xCF9, which shares the port range; and [`PciPorts`], the
//! port-I/O adapter. The [`PciBus`] accessors for PIIX3 registers are in
//! `piix3`.

use super::config_space::{width, ConfigSpace};
use super::i440fx::i440fx_host_config;
use super::piix3::{
    piix3_ide_config, piix3_isa_config, PIIX3_DEVICE, PIIX3_IDE_FUNCTION, PIIX3_ISA_FUNCTION,
};
use crate::bus::{all_ones, PortIoDevice};
use crate::PciFunction;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

// ---------------------------------------------------------------------------
// Ports (§3.2.2.3.2; PIIX3 RC)
// ---------------------------------------------------------------------------

/// CONFIG_ADDRESS: the 32-bit configuration address register.
pub const CONFIG_ADDRESS_PORT: u16 = pc_layout::ports::PCI_CONFIG;
/// PIIX3 RC (Reset Control) register, a byte at 0CF9h.
pub const RESET_CONTROL_PORT: u16 = pc_layout::ports::RESET_CONTROL;
/// CONFIG_DATA: the first of the four configuration data ports 0xCFC-0xCFF.
pub const CONFIG_DATA_PORT: u16 = pc_layout::ports::PCI_CONFIG_DATA;
/// Ports the bus occupies: 0xCF8-0xCFF.
pub const PCI_PORT_COUNT: u16 = pc_layout::ports::PCI_CONFIG_COUNT;
/// The last configuration data port (0xCFF).
const CONFIG_DATA_LAST: u16 = CONFIG_DATA_PORT + 3;

/// CONFIG_ADDRESS bit 31: Enable bit; CONFIG_DATA accesses become
/// configuration transactions only while it is set.
pub const CONFIG_ADDRESS_ENABLE: u32 = 1 << 31;
/// CONFIG_ADDRESS bits 23:16: Bus Number.
const CONFIG_ADDRESS_BUS_SHIFT: u32 = 16;
/// CONFIG_ADDRESS bits 15:11: Device Number.
const CONFIG_ADDRESS_DEVICE_SHIFT: u32 = 11;
/// CONFIG_ADDRESS bits 10:8: Function Number.
const CONFIG_ADDRESS_FUNCTION_SHIFT: u32 = 8;
/// CONFIG_ADDRESS bits 7:2: Register Number (a dword offset in bytes).
const CONFIG_ADDRESS_REGISTER: u32 = 0xFC;
/// The CONFIG_ADDRESS bits that hold state: 30:24 (Reserved) and 1:0 are
/// read-only and read as 0.
pub(super) const CONFIG_ADDRESS_IMPLEMENTED: u32 = 0x80FF_FFFC;

/// Largest Device Number on a bus, plus one.
pub const DEVICES_PER_BUS: u8 = 32;
/// Largest Function Number of a device, plus one.
pub const FUNCTIONS_PER_DEVICE: u8 = 8;

/// RC bit 1: System Reset (SRST); selects a hard reset (1) or a soft reset,
/// INIT to the CPU only (0), for RCPU to start.
pub const RC_SRST: u8 = 1 << 1;
/// RC bit 2: Reset CPU (RCPU); setting it starts the reset SRST selects.
pub const RC_RCPU: u8 = 1 << 2;

// ---------------------------------------------------------------------------
// The bus
// ---------------------------------------------------------------------------

/// Device number of the 82441FX host bridge.
pub const HOST_BRIDGE_DEVICE: u8 = 0;

/// The reset a write to RC asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetKind {
    /// RCPU with SRST = 0: INIT to the CPU only (soft reset).
    Soft,
    /// RCPU with SRST = 1: a hard reset of CPU and system (PCIRST#).
    Hard,
}

/// Why [`PciBus::add`] refused a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciSlotError {
    /// Device number 32 or above, or function number 8 or above.
    NoSuchSlot { device: u8, function: u8 },
    /// Something already sits at that device and function.
    Taken { device: u8, function: u8 },
}

enum Function {
    /// A plain configuration space the bus can inspect (BARs, PIRQs).
    Config(Box<ConfigSpace>),
    /// Any other implementation.
    Custom(Box<dyn PciFunction>),
}

struct Slot {
    device: u8,
    function: u8,
    inner: Function,
}

impl Slot {
    fn as_function(&mut self) -> &mut dyn PciFunction {
        match &mut self.inner {
            Function::Config(cs) => cs.as_mut(),
            Function::Custom(f) => f.as_mut(),
        }
    }
}

/// PCI bus 0 behind configuration mechanism #1, plus PIIX3's RC register.
#[derive(Default)]
pub struct PciBus {
    config_address: u32,
    reset_control: u8,
    reset_request: Option<ResetKind>,
    slots: Vec<Slot>,
}

impl PciBus {
    /// An empty bus: CONFIG_ADDRESS 0, no functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bus 0 of an i440FX/PIIX3 PC: 00.0 82441FX host bridge, 01.0 PIIX3
    /// ISA bridge, 01.1 PIIX3 IDE.
    pub fn new_pc() -> Self {
        let mut bus = Self::new();
        let functions = [
            (HOST_BRIDGE_DEVICE, 0, i440fx_host_config()),
            (PIIX3_DEVICE, PIIX3_ISA_FUNCTION, piix3_isa_config()),
            (PIIX3_DEVICE, PIIX3_IDE_FUNCTION, piix3_ide_config()),
        ];
        for (device, function, cs) in functions {
            // Three distinct, in-range slots on an empty bus cannot clash.
            let _ = bus.add_config(device, function, cs);
        }
        bus
    }

    fn check_slot(&self, device: u8, function: u8) -> Result<(), PciSlotError> {
        if device >= DEVICES_PER_BUS || function >= FUNCTIONS_PER_DEVICE {
            return Err(PciSlotError::NoSuchSlot { device, function });
        }
        if self.slot(device, function).is_some() {
            return Err(PciSlotError::Taken { device, function });
        }
        Ok(())
    }

    /// Places a function implemented elsewhere at `device`.`function`.
    pub fn add(
        &mut self,
        device: u8,
        function: u8,
        f: Box<dyn PciFunction>,
    ) -> Result<(), PciSlotError> {
        self.check_slot(device, function)?;
        self.slots.push(Slot {
            device,
            function,
            inner: Function::Custom(f),
        });
        Ok(())
    }

    /// Places a plain [`ConfigSpace`] at `device`.`function`; unlike
    /// [`PciBus::add`], the bus can then show it through [`PciBus::config`].
    pub fn add_config(
        &mut self,
        device: u8,
        function: u8,
        cs: ConfigSpace,
    ) -> Result<(), PciSlotError> {
        self.check_slot(device, function)?;
        self.slots.push(Slot {
            device,
            function,
            inner: Function::Config(Box::new(cs)),
        });
        Ok(())
    }

    fn slot(&self, device: u8, function: u8) -> Option<&Slot> {
        self.slots
            .iter()
            .find(|s| s.device == device && s.function == function)
    }

    fn slot_mut(&mut self, device: u8, function: u8) -> Option<&mut Slot> {
        self.slots
            .iter_mut()
            .find(|s| s.device == device && s.function == function)
    }

    /// The configuration space at `device`.`function`, if it was added with
    /// [`PciBus::add_config`].
    pub fn config(&self, device: u8, function: u8) -> Option<&ConfigSpace> {
        match &self.slot(device, function)?.inner {
            Function::Config(cs) => Some(cs),
            Function::Custom(_) => None,
        }
    }

    /// Mutable access to a configuration space added with
    /// [`PciBus::add_config`] (device-side changes, firmware set-up).
    pub fn config_mut(&mut self, device: u8, function: u8) -> Option<&mut ConfigSpace> {
        match &mut self.slot_mut(device, function)?.inner {
            Function::Config(cs) => Some(cs),
            Function::Custom(_) => None,
        }
    }

    /// Reads the dword at `offset & 0xFC` of bus 0 `device`.`function`, as a
    /// configuration read cycle would; all ones if nothing is there.
    pub fn config_read(&mut self, device: u8, function: u8, offset: u8) -> u32 {
        match self.slot_mut(device, function) {
            Some(s) => s.as_function().config_read(offset & 0xFC),
            None => all_ones(4),
        }
    }

    /// Writes the bytes of `value` chosen by `byte_mask` to the dword at
    /// `offset & 0xFC` of bus 0 `device`.`function`; dropped if nothing is there.
    pub fn config_write(
        &mut self,
        device: u8,
        function: u8,
        offset: u8,
        value: u32,
        byte_mask: u8,
    ) {
        if let Some(s) = self.slot_mut(device, function) {
            s.as_function()
                .config_write(offset & 0xFC, value, byte_mask & 0xF);
        }
    }

    /// The CONFIG_ADDRESS register as the guest last wrote it.
    pub fn config_address(&self) -> u32 {
        self.config_address
    }

    /// The (device, function, register) CONFIG_DATA currently reaches, or
    /// `None` while the enable bit is clear or the bus is not bus 0.
    fn data_target(&self) -> Option<(u8, u8, u8)> {
        let a = self.config_address;
        let bus = (a >> CONFIG_ADDRESS_BUS_SHIFT) as u8;
        if a & CONFIG_ADDRESS_ENABLE == 0 || bus != 0 {
            return None;
        }
        let device = ((a >> CONFIG_ADDRESS_DEVICE_SHIFT) & 0x1F) as u8;
        let function = ((a >> CONFIG_ADDRESS_FUNCTION_SHIFT) & 0x7) as u8;
        let register = (a & CONFIG_ADDRESS_REGISTER) as u8;
        Some((device, function, register))
    }

    /// A guest read of `size` bytes (1, 2 or 4) at absolute `port`
    /// (0xCF8-0xCFF; any other port reads all ones).
    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        let size = width(size);
        match port {
            CONFIG_ADDRESS_PORT if size == 4 => self.config_address,
            RESET_CONTROL_PORT if size == 1 => u32::from(self.reset_control),
            CONFIG_DATA_PORT..=CONFIG_DATA_LAST => self.data_read(port, size),
            _ => all_ones(size),
        }
    }

    /// A guest write of the low `size` bytes (1, 2 or 4) of `value` at
    /// absolute `port` (0xCF8-0xCFF; any other port is ignored).
    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        let size = width(size);
        match port {
            CONFIG_ADDRESS_PORT if size == 4 => {
                self.config_address = value & CONFIG_ADDRESS_IMPLEMENTED
            }
            RESET_CONTROL_PORT if size == 1 => self.write_reset_control(value as u8),
            CONFIG_DATA_PORT..=CONFIG_DATA_LAST => self.data_write(port, size, value),
            _ => {}
        }
    }

    fn data_read(&mut self, port: u16, size: u8) -> u32 {
        let Some((device, function, register)) = self.data_target() else {
            return all_ones(size);
        };
        let dword = self.config_read(device, function, register);
        let lane = u32::from(port & 3);
        (0..u32::from(size)).fold(0, |acc, i| {
            // Bytes that would spill past 0xCFF are not CONFIG_DATA: unclaimed.
            let byte = match lane + i {
                l @ 0..=3 => (dword >> (8 * l)) & 0xFF,
                _ => 0xFF,
            };
            acc | (byte << (8 * i))
        })
    }

    fn data_write(&mut self, port: u16, size: u8, value: u32) {
        let Some((device, function, register)) = self.data_target() else {
            return;
        };
        let lane = u32::from(port & 3);
        let mut data = 0u32;
        let mut byte_mask = 0u8;
        for i in 0..u32::from(size) {
            let l = lane + i;
            if l < 4 {
                data |= ((value >> (8 * i)) & 0xFF) << (8 * l);
                byte_mask |= 1 << l;
            }
        }
        self.config_write(device, function, register, data, byte_mask);
    }

    fn write_reset_control(&mut self, value: u8) {
        // RCPU's reset clears RC, so RCPU reads back 0 and every write with
        // it set is a fresh 0-to-1 transition.
        if value & RC_RCPU != 0 {
            self.reset_request = Some(if value & RC_SRST != 0 {
                ResetKind::Hard
            } else {
                ResetKind::Soft
            });
        }
        self.reset_control = value & RC_SRST;
    }

    /// The reset the guest requested through RC (0xCF9) since the last call,
    /// if any. The hypervisor should poll it after each write to 0xCF8-0xCFF.
    pub fn take_reset_request(&mut self) -> Option<ResetKind> {
        self.reset_request.take()
    }
}

/// The port-I/O face of a shared [`PciBus`]: register it at
/// [`CONFIG_ADDRESS_PORT`] with length [`PCI_PORT_COUNT`].
pub struct PciPorts {
    bus: Rc<RefCell<PciBus>>,
}

impl PciPorts {
    /// Ports 0xCF8-0xCFF of `bus`.
    pub fn new(bus: Rc<RefCell<PciBus>>) -> Self {
        Self { bus }
    }
}

impl PortIoDevice for PciPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.bus.try_borrow_mut() {
            Ok(mut bus) => bus.read(CONFIG_ADDRESS_PORT.wrapping_add(offset), size),
            // Re-entered while the hypervisor holds the bus: nobody answers.
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut bus) = self.bus.try_borrow_mut() {
            bus.write(CONFIG_ADDRESS_PORT.wrapping_add(offset), size, value);
        }
    }
}
