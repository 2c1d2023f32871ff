//! One IDE channel: two device slots behind the shared Device and Device
//! Control registers, the Command Block registers as the selected device
//! presents them, command dispatch, software reset (SRST) and INTRQ. The
//! channel also holds its bus-master registers, which `bus_master` drives.

use super::device::Device;
use super::opcodes::CMD_EXECUTE_DIAGNOSTIC;
use super::registers::{
    DEVCTL_HOB, DEVCTL_SRST, DEVICE_DEV, REG_DEVICE, REG_ERROR_FEATURES, REG_LBA_HIGH, REG_LBA_LOW,
    REG_LBA_MID, REG_SECTOR_COUNT, REG_STATUS_COMMAND,
};
use crate::bus::all_ones;

/// One IDE channel: two device slots, the shared Device and Device Control
/// registers, INTRQ, and this channel's bus-master registers.
pub(super) struct Channel {
    pub(super) devices: [Option<Device>; 2],
    device_reg: u8,
    pub(super) devctl: u8,
    pub(super) irq_pending: bool,
    pub(super) bm_command: u8,
    pub(super) bm_status: u8,
    pub(super) bm_prdt: u32,
}

impl Channel {
    pub(super) fn new() -> Self {
        Self {
            devices: [None, None],
            device_reg: 0,
            devctl: 0,
            irq_pending: false,
            bm_command: 0,
            bm_status: 0,
            bm_prdt: 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.devices.iter().all(Option::is_none)
    }

    pub(super) fn selected_index(&self) -> usize {
        usize::from(self.device_reg & DEVICE_DEV != 0)
    }

    pub(super) fn selected(&mut self) -> Option<&mut Device> {
        let i = self.selected_index();
        self.devices[i].as_mut()
    }

    /// Collects INTRQ requests from the devices. Each also sets the bus
    /// master's Interrupt bit (SFF-8038i, Bus Master IDE Status register
    /// bit 2: "set by the rising edge of the IDE interrupt line"), so a
    /// DMA command the device ends before any transfer (a write to a
    /// read-only disk, aborted at issue) is seen by a driver that checks
    /// that bit to claim the interrupt (Linux's `ata_bmdma_port_intr`).
    pub(super) fn harvest(&mut self) {
        for d in self.devices.iter_mut().flatten() {
            if core::mem::take(&mut d.raise) {
                self.irq_pending = true;
                self.bm_status |= super::bus_master::BM_STATUS_INTERRUPT;
            }
        }
    }

    pub(super) fn read_register(&mut self, reg: u16) -> u8 {
        if self.is_empty() {
            return 0xFF;
        }
        if reg == REG_DEVICE {
            return self.device_reg;
        }
        let hob = self.devctl & DEVCTL_HOB != 0;
        let Some(dev) = self.selected() else {
            return 0;
        };
        let tf = &dev.tf;
        let v = match reg {
            REG_ERROR_FEATURES => tf.error,
            REG_SECTOR_COUNT => tf.sector_count.read(hob),
            REG_LBA_LOW => tf.lba_low.read(hob),
            REG_LBA_MID => tf.lba_mid.read(hob),
            REG_LBA_HIGH => tf.lba_high.read(hob),
            _ => tf.status,
        };
        if reg == REG_STATUS_COMMAND {
            self.irq_pending = false;
        }
        v
    }

    pub(super) fn alternate_status(&mut self) -> u8 {
        if self.is_empty() {
            return 0xFF;
        }
        self.selected().map_or(0, |d| d.tf.status)
    }

    pub(super) fn write_register(&mut self, reg: u16, value: u8) {
        self.devctl &= !DEVCTL_HOB;
        match reg {
            REG_DEVICE => self.device_reg = value,
            REG_STATUS_COMMAND => self.command(value),
            _ => {
                for d in self.devices.iter_mut().flatten() {
                    let tf = &mut d.tf;
                    match reg {
                        REG_ERROR_FEATURES => tf.features.push(value),
                        REG_SECTOR_COUNT => tf.sector_count.push(value),
                        REG_LBA_LOW => tf.lba_low.push(value),
                        REG_LBA_MID => tf.lba_mid.push(value),
                        _ => tf.lba_high.push(value),
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: u8) {
        if self.devctl & DEVCTL_SRST != 0 {
            return;
        }
        if cmd == CMD_EXECUTE_DIAGNOSTIC {
            // Addressed to both devices (ATA-6 clause 9, EXECUTE DEVICE
            // DIAGNOSTIC command protocol); device 0 is selected afterwards.
            if self.is_empty() {
                return;
            }
            self.irq_pending = false;
            for d in self.devices.iter_mut().flatten() {
                d.reset();
            }
            self.device_reg = 0;
            self.irq_pending = true;
            return;
        }
        let device_reg = self.device_reg;
        let Some(dev) = self.selected() else {
            return;
        };
        dev.stop_transfer();
        dev.tf.error = 0;
        if dev.is_cdrom() {
            dev.cdrom_command(cmd);
        } else {
            dev.disk_command(cmd, device_reg);
        }
        self.irq_pending = false;
        self.harvest();
    }

    pub(super) fn write_control(&mut self, value: u8) {
        let was_reset = self.devctl & DEVCTL_SRST != 0;
        let reset = value & DEVCTL_SRST != 0;
        self.devctl = value;
        if reset && !was_reset {
            for d in self.devices.iter_mut().flatten() {
                d.reset_enter();
            }
            self.irq_pending = false;
        } else if !reset && was_reset {
            for d in self.devices.iter_mut().flatten() {
                d.reset();
            }
            self.device_reg = 0;
        }
    }

    pub(super) fn data_read(&mut self, size: u8) -> u32 {
        if self.is_empty() {
            return all_ones(size);
        }
        let v = self
            .selected()
            .map_or(0, |d| d.data_read(usize::from(size)));
        self.harvest();
        v
    }

    pub(super) fn data_write(&mut self, size: u8, value: u32) {
        if let Some(d) = self.selected() {
            d.data_write(usize::from(size), value);
        }
        self.harvest();
    }
}
