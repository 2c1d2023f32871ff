//! The [`PciBus`] accessors the hypervisor and firmware set-up use for the
//! PIIX3's registers: the bus-master IDE base (BMIBA), IDE Decode Enable
//! (IDETIM/SIDETIM) and PIRQ routing (PIRQRCA-D), from the Intel 82371FB
//! (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator datasheet.

use super::bus::PciBus;
use super::config_space::{bar_offset, COMMAND, COMMAND_BUS_MASTER, COMMAND_IO_SPACE};
use super::piix3::{
    IDETIM_IDE, PIIX3_BMIBA_BAR, PIIX3_DEVICE, PIIX3_IDETIM, PIIX3_IDE_FUNCTION,
    PIIX3_ISA_FUNCTION, PIIX3_PIRQRC, PIIX3_PIRQ_COUNT, PIRQRC_IRQROUTEN_DISABLE, PIRQRC_IRQ_MASK,
};

impl PciBus {
    /// The I/O base of the bus-master IDE registers (PIIX3 IDE BAR 4), while
    /// the IDE function's I/O Space bit is set and the base is non-zero and
    /// below 0x10000; `None` otherwise (no IDE function, decoding off,
    /// unassigned).
    pub fn ide_bmide_base(&self) -> Option<u16> {
        let ide = self.config(PIIX3_DEVICE, PIIX3_IDE_FUNCTION)?;
        let base = ide.bar_address(PIIX3_BMIBA_BAR)?;
        u16::try_from(base).ok().filter(|&b| b != 0)
    }

    /// Firmware set-up: programs PIIX3 IDE BAR 4 to `base` (aligned down to
    /// 16 bytes, as the BAR's hardwired bits do) and sets I/O Space and Bus
    /// Master in its Command register. Does nothing without an IDE function.
    pub fn set_ide_bmide_base(&mut self, base: u16) {
        let Some(ide) = self.config_mut(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return;
        };
        ide.write_dword(bar_offset(PIIX3_BMIBA_BAR), u32::from(base), 0xF);
        let command = ide.command() | COMMAND_IO_SPACE | COMMAND_BUS_MASTER;
        ide.write_dword(COMMAND, u32::from(command), 0x3);
    }

    /// Whether the PIIX3 IDE's IDETIM for `channel` (0 primary, 1 secondary)
    /// has IDE Decode Enable set. The datasheet default is off; firmware
    /// turns it on (see [`PciBus::set_ide_decode`]).
    pub fn ide_decode_enabled(&self, channel: usize) -> bool {
        let Some(ide) = self.config(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return false;
        };
        if channel > 1 {
            return false;
        }
        let idetim = ide.read_u16(PIIX3_IDETIM + 2 * channel as u8);
        idetim & IDETIM_IDE != 0
    }

    /// Firmware set-up: sets or clears IDE Decode Enable in both channels'
    /// IDETIM, leaving their timing bits alone.
    pub fn set_ide_decode(&mut self, enabled: bool) {
        let Some(ide) = self.config_mut(PIIX3_DEVICE, PIIX3_IDE_FUNCTION) else {
            return;
        };
        for reg in [PIIX3_IDETIM, PIIX3_IDETIM + 2] {
            let old = ide.read_u16(reg);
            let new = if enabled {
                old | IDETIM_IDE
            } else {
                old & !IDETIM_IDE
            };
            let lane = reg & 3;
            ide.write_dword(reg, u32::from(new) << (8 * lane), 0x3 << lane);
        }
    }

    /// Firmware set-up: routes PIRQ`pirq`# (0 = A .. 3 = D) to ISA IRQ
    /// `irq` (its low four bits), or disables its routing (IRQROUTEN) for
    /// `None`. Does nothing for another `pirq` or without an ISA function.
    pub fn set_pirq_route(&mut self, pirq: usize, irq: Option<u8>) {
        if pirq >= PIIX3_PIRQ_COUNT {
            return;
        }
        let Some(isa) = self.config_mut(PIIX3_DEVICE, PIIX3_ISA_FUNCTION) else {
            return;
        };
        let value = irq.map_or(PIRQRC_IRQROUTEN_DISABLE, |irq| irq & PIRQRC_IRQ_MASK);
        isa.write_dword(PIIX3_PIRQRC, u32::from(value) << (8 * pirq), 1 << pirq);
    }

    /// The ISA IRQ that PIIX3 routes PIRQ`pirq`# (0 = A .. 3 = D) to, or
    /// `None` when routing is disabled (IRQROUTEN set) or the IRQ field holds
    /// a reserved value (0-2, 8, 13).
    pub fn pirq_route(&self, pirq: usize) -> Option<u8> {
        if pirq >= PIIX3_PIRQ_COUNT {
            return None;
        }
        let isa = self.config(PIIX3_DEVICE, PIIX3_ISA_FUNCTION)?;
        let v = isa.read_u8(PIIX3_PIRQRC + pirq as u8);
        let irq = v & PIRQRC_IRQ_MASK;
        let usable = !matches!(irq, 0..=2 | 8 | 13);
        (v & PIRQRC_IRQROUTEN_DISABLE == 0 && usable).then_some(irq)
    }
}
