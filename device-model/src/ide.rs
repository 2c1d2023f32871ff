//! IDE/ATA controller: two channels of two devices each, PIO and bus-master DMA.
//!
//! Implements, from ATA/ATAPI-6 (T13/1410D revision 3b):
//! - clause 7 "Register descriptions": the Command Block (Data, Error/Features,
//!   Sector Count, LBA Low/Mid/High, Device, Status/Command) and the Control Block
//!   (Alternate Status/Device Control with nIEN, SRST and HOB), including the
//!   two-deep register FIFO that HOB selects for 48-bit addressing;
//! - clause 8 "Command descriptions": DEVICE RESET, EXECUTE DEVICE DIAGNOSTIC,
//!   FLUSH CACHE (EXT), IDENTIFY DEVICE (table 27), IDENTIFY PACKET DEVICE,
//!   INITIALIZE DEVICE PARAMETERS, PACKET, READ/WRITE DMA (EXT), READ/WRITE
//!   MULTIPLE (EXT), READ/WRITE SECTORS (EXT), READ VERIFY SECTORS (EXT),
//!   RECALIBRATE, SEEK, SET FEATURES (transfer mode, write cache), SET MULTIPLE
//!   MODE, IDLE/STANDBY IMMEDIATE and CHECK POWER MODE;
//! - clause 9 "Protocol": power-on/software reset and the device signatures,
//!   non-data, PIO data-in, PIO data-out, DMA, PACKET and EXECUTE DEVICE
//!   DIAGNOSTIC command protocols, and the interrupt (INTRQ) rules: INTRQ is
//!   asserted at each PIO data-in block, after each PIO data-out block, at command
//!   completion, and is cleared by reading Status or writing Command.
//!
//! and from SFF-8038i rev 1.0 "Bus Master Programming Interface for IDE ATA
//! Controllers": the Bus Master IDE Command register (Start/Stop, Read/Write
//! Control), Status register (Active, Error, Interrupt, Drive 0/1 DMA capable,
//! Simplex), the Descriptor Table Pointer register, and Physical Region
//! Descriptor tables (32-bit address, 16-bit byte count with 0 = 64 KiB, EOT).
//!
//! Hard disks are emulated here over a [`BlockBackend`]; CD-ROMs are ATAPI
//! devices whose packet commands [`crate::atapi::AtapiDrive`] executes, while this
//! module runs the PACKET protocol around them (command packet, byte count limit,
//! interrupt reason, DMA).
//!
//! The pieces live in submodules, one concept each, listed from the bottom up;
//! each imports only from those above it in this list:
//! - `registers` (the task file and the bits of its registers), `opcodes` (the
//!   ATA command opcodes and SET FEATURES values) and `transfer` (the state of
//!   a data transfer: PIO block, DMA job, DMA mode);
//! - `media` (a device's hard disk or CD-ROM drive, sector geometry);
//! - `prd` (PRD tables and the ways a DMA transfer stops early) and
//!   `queued_dma` (a disk DMA command in flight on the medium's queue);
//! - `identify` (IDENTIFY DEVICE data);
//! - `device` (one device: its medium, its state and how a command ends);
//! - `commands` (the ATA command set a hard disk executes), `pio` (PIO data
//!   transfer) and `packet` (the PACKET protocol of ATAPI devices), which add
//!   to `Device` and do not import one another;
//! - `channel` (a channel's shared registers, command dispatch and INTRQ);
//! - `bus_master` (the SFF-8038i registers and PRD tables).
//!
//! This file holds the controller and the adapters that put it on the
//! port-I/O bus.
//!
//! Choices where the standards leave room:
//! - Commands complete instantly, except READ/WRITE DMA on a medium with a
//!   queue (a host virtio-blk disk, `queued_dma`): BSY and the bus master's
//!   Active stay set while the host works, and the command ends on a later
//!   [`IdeController::run_dma`] poll. Otherwise BSY is only seen while SRST is
//!   held. PIO, ATAPI (PACKET, also its DMA) and FLUSH CACHE stay
//!   synchronous: they wait on the queue until their request completes.
//! - A channel with no device at all floats: every register reads all ones
//!   (0xFF; Linux's `ata_check_ready` reads that as "no device"). With one device
//!   present, selecting the absent one reads 00h from every register but Device,
//!   so its Status is 00h (ATA-6 clause 9 "Host determination of device
//!   presence") and its signature is not mistaken for the other device's.
//! - Writes to read-only media abort (ABRT) before any data moves.
//! - Out-of-range addresses fail with IDNF and leave the address registers
//!   holding the requested start address.
//! - A Command written while DRQ is set abandons the transfer in progress.
//! - SET MULTIPLE MODE with a count of 0 disables multiple mode; counts that are
//!   not a power of two up to 16 abort.
//! - An ATAPI device that aborts an ATA command places its signature in the
//!   Sector Count and LBA registers.
//! - A DMA direction (SFF-8038i Read/Write Control) opposite to the command's
//!   direction is treated like a bus error.
//! - nIEN masks INTRQ without discarding it: an interrupt that became pending
//!   while nIEN was set shows once nIEN is cleared, until Status is read.
//! - A 1-byte access to the Data register moves one byte.
//! - After a DMA transfer that leaves PRD space unused, Active stays set with
//!   Interrupt (SFF-8038i Bus Master IDE Status register table); Stop clears it.
//! - Bus-master DMA never happens during a port access: the hypervisor calls
//!   [`IdeController::run_dma`] after each exit, which moves the whole
//!   transfer at once (or, on a queued medium, what the host completed so
//!   far), bounded by [`MAX_PRD_ENTRIES`] descriptors.
//! - A queued DMA command the guest abandons (SRST, a new command, EXECUTE
//!   DEVICE DIAGNOSTIC, the bus master stopped) is dropped at once: its late
//!   completions are recognised by their request ids and discarded, never
//!   written to guest memory. Stopping the bus master mid-transfer ends the
//!   command with ABRT. The PRD table pointer is read when the bus master
//!   starts; rewriting it during the transfer does not redirect it.

mod bus_master;
mod channel;
mod commands;
mod device;
mod identify;
mod media;
mod opcodes;
mod packet;
mod pio;
mod prd;
mod queued_dma;
mod registers;
mod transfer;

pub use bus_master::{
    BM_CMD_START, BM_CMD_WRITE_MEMORY, BM_STATUS_ACTIVE, BM_STATUS_DRIVE0_DMA,
    BM_STATUS_DRIVE1_DMA, BM_STATUS_ERROR, BM_STATUS_INTERRUPT, BM_STATUS_SIMPLEX,
};
pub use media::{MAX_MULTIPLE, SECTOR_SIZE};
pub use prd::MAX_PRD_ENTRIES;
pub use registers::{
    DEVCTL_HOB, DEVCTL_NIEN, DEVCTL_SRST, DEVICE_DEV, DEVICE_LBA, ERROR_ABRT, ERROR_AMNF,
    ERROR_ICRC, ERROR_IDNF, ERROR_MC, ERROR_MCR, ERROR_NM, ERROR_UNC, FEATURES_DMA, FEATURES_OVL,
    IREASON_COD, IREASON_IO, IREASON_REL, STATUS_BSY, STATUS_CORR, STATUS_DF, STATUS_DRDY,
    STATUS_DRQ, STATUS_DSC, STATUS_ERR, STATUS_IDX,
};

use bus_master::BM_CHANNEL_STRIDE;
use channel::Channel;
use device::Device;
use media::{Disk, Media, DEFAULT_HEADS, DEFAULT_SPT, MAX_LBA48};
use registers::REG_DATA;

use crate::atapi::AtapiDrive;
use crate::bus::{all_ones, PortIoDevice};
use crate::DmaMemory;
use alloc::boxed::Box;
use alloc::rc::Rc;
use block_backend::BlockBackend;
use core::cell::RefCell;

/// Command Block of the primary channel (Data register port).
pub const PRIMARY_COMMAND_BASE: u16 = pc_layout::ports::IDE_PRIMARY_COMMAND;
/// Control Block (Alternate Status/Device Control) of the primary channel.
pub const PRIMARY_CONTROL_PORT: u16 = pc_layout::ports::IDE_PRIMARY_CONTROL;
/// Command Block of the secondary channel.
pub const SECONDARY_COMMAND_BASE: u16 = pc_layout::ports::IDE_SECONDARY_COMMAND;
/// Control Block of the secondary channel.
pub const SECONDARY_CONTROL_PORT: u16 = pc_layout::ports::IDE_SECONDARY_CONTROL;
/// Ports in a Command Block.
pub const COMMAND_BLOCK_LEN: u16 = 8;
/// Ports in a Control Block this controller claims (0x3F7/0x377 are not ours).
pub const CONTROL_BLOCK_LEN: u16 = 1;
/// ISA IRQ of the primary channel.
pub const PRIMARY_IRQ: u8 = pc_layout::irqs::IDE_PRIMARY;
/// ISA IRQ of the secondary channel.
pub const SECONDARY_IRQ: u8 = pc_layout::irqs::IDE_SECONDARY;
/// Size of the bus-master I/O block (BAR4): 8 bytes per channel.
pub const BUS_MASTER_LEN: u16 = 16;

/// Which register a legacy port reaches.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Port {
    Command(usize, u16),
    Control(usize),
}

fn decode_port(port: u16) -> Option<Port> {
    let in_block = |base: u16| port.wrapping_sub(base) < COMMAND_BLOCK_LEN && port >= base;
    if in_block(PRIMARY_COMMAND_BASE) {
        Some(Port::Command(0, port - PRIMARY_COMMAND_BASE))
    } else if in_block(SECONDARY_COMMAND_BASE) {
        Some(Port::Command(1, port - SECONDARY_COMMAND_BASE))
    } else if port == PRIMARY_CONTROL_PORT {
        Some(Port::Control(0))
    } else if port == SECONDARY_CONTROL_PORT {
        Some(Port::Control(1))
    } else {
        None
    }
}

/// The IDE controller: primary and secondary channels plus the SFF-8038i bus
/// master.
pub struct IdeController {
    channels: [Channel; 2],
}

impl Default for IdeController {
    fn default() -> Self {
        Self::new()
    }
}

impl IdeController {
    /// A controller with no devices attached.
    pub fn new() -> Self {
        Self {
            channels: [Channel::new(), Channel::new()],
        }
    }

    /// Attaches a hard disk as device 0 (`slave` false) or 1 of `channel` (0 =
    /// primary, 1 = secondary), replacing what was there. Other channels are
    /// ignored.
    pub fn attach_disk(&mut self, channel: usize, slave: bool, media: Box<dyn BlockBackend>) {
        let sectors = (media.len() / SECTOR_SIZE as u64).min(MAX_LBA48);
        let mut serial = *b"VMMHD000000000000000";
        serial[18] = b'0' + (channel as u8 & 1);
        serial[19] = b'0' + u8::from(slave);
        let disk = Disk {
            backend: media,
            sectors,
            multiple: 0,
            heads: DEFAULT_HEADS,
            sectors_per_track: DEFAULT_SPT,
            write_cache: true,
            serial,
        };
        self.attach(channel, slave, Media::Disk(disk));
    }

    /// Attaches an ATAPI CD-ROM drive as device 0 or 1 of `channel`.
    pub fn attach_cdrom(&mut self, channel: usize, slave: bool, drive: AtapiDrive) {
        self.attach(channel, slave, Media::Cdrom(drive));
    }

    /// Whether a hard disk (not a CD-ROM drive) is at device 0 (`slave`
    /// false) or 1 of `channel`.
    pub fn has_disk(&self, channel: usize, slave: bool) -> bool {
        self.channels.get(channel).is_some_and(|ch| {
            ch.devices[usize::from(slave)]
                .as_ref()
                .is_some_and(|d| matches!(d.media, Media::Disk(_)))
        })
    }

    /// Removes the hard disk at device 0 (`slave` false) or 1 of `channel`,
    /// as the Xen unplug protocol takes an emulated disk away
    /// (`crate::xen_platform`); a CD-ROM drive or an empty position stays as
    /// it is. True if a disk was removed.
    pub fn detach_disk(&mut self, channel: usize, slave: bool) -> bool {
        let Some(ch) = self.channels.get_mut(channel) else {
            return false;
        };
        let slot = &mut ch.devices[usize::from(slave)];
        if !slot
            .as_ref()
            .is_some_and(|d| matches!(d.media, Media::Disk(_)))
        {
            return false;
        }
        *slot = None;
        ch.bm_status &= !if slave {
            BM_STATUS_DRIVE1_DMA
        } else {
            BM_STATUS_DRIVE0_DMA
        };
        true
    }

    fn attach(&mut self, channel: usize, slave: bool, media: Media) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        ch.devices[usize::from(slave)] = Some(Device::new(media, slave));
        ch.bm_status |= if slave {
            BM_STATUS_DRIVE1_DMA
        } else {
            BM_STATUS_DRIVE0_DMA
        };
    }

    /// A guest read of `size` bytes from a legacy port (0x1F0-0x1F7, 0x3F6,
    /// 0x170-0x177, 0x376). Data register accesses move `size` bytes; wider
    /// accesses to other registers read consecutive registers.
    pub fn read(&mut self, port: u16, size: u8) -> u32 {
        let size = size.clamp(1, 4);
        match decode_port(port) {
            None => all_ones(size),
            Some(Port::Command(ch, REG_DATA)) => self.channels[ch].data_read(size),
            Some(Port::Command(ch, reg)) => (0..u16::from(size)).fold(0, |acc, i| {
                let r = reg + i;
                let b = if r < COMMAND_BLOCK_LEN {
                    self.channels[ch].read_register(r)
                } else {
                    0xFF
                };
                acc | (u32::from(b) << (8 * i))
            }),
            Some(Port::Control(ch)) => {
                let v = u32::from(self.channels[ch].alternate_status());
                v | (all_ones(size) & !0xFF)
            }
        }
    }

    /// A guest write of the low `size` bytes of `value` to a legacy port.
    pub fn write(&mut self, port: u16, size: u8, value: u32) {
        let size = size.clamp(1, 4);
        match decode_port(port) {
            None => {}
            Some(Port::Command(ch, REG_DATA)) => self.channels[ch].data_write(size, value),
            Some(Port::Command(ch, reg)) => {
                for i in 0..u16::from(size) {
                    let r = reg + i;
                    if r < COMMAND_BLOCK_LEN {
                        self.channels[ch].write_register(r, (value >> (8 * i)) as u8);
                    }
                }
            }
            Some(Port::Control(ch)) => self.channels[ch].write_control(value as u8),
        }
    }

    /// String-I/O fast path for `rep insw/insd` on `channel`'s Data register:
    /// moves up to `out.len()` bytes of data-in and returns how many it moved.
    /// It stops early when no data is offered (DRQ clear); the rest of the
    /// string should then go through [`IdeController::read`].
    pub fn read_data_block(&mut self, channel: usize, out: &mut [u8]) -> usize {
        let Some(ch) = self.channels.get_mut(channel) else {
            return 0;
        };
        let n = ch.selected().map_or(0, |d| d.read_block(out));
        ch.harvest();
        n
    }

    /// String-I/O fast path for `rep outsw/outsd`: moves up to `data.len()`
    /// bytes into data-out blocks and returns how many it took.
    pub fn write_data_block(&mut self, channel: usize, data: &[u8]) -> usize {
        let Some(ch) = self.channels.get_mut(channel) else {
            return 0;
        };
        let n = ch.selected().map_or(0, |d| d.write_block(data));
        ch.harvest();
        n
    }

    /// A guest read from the bus-master block (`offset` 0..16 from BAR4).
    pub fn bm_read(&mut self, offset: u16, size: u8) -> u32 {
        let size = size.clamp(1, 4);
        (0..u16::from(size)).fold(0, |acc, i| {
            let off = offset.wrapping_add(i);
            let b = if off < BUS_MASTER_LEN {
                let ch = usize::from(off / BM_CHANNEL_STRIDE);
                self.channels[ch].bm_read(off % BM_CHANNEL_STRIDE)
            } else {
                0xFF
            };
            acc | (u32::from(b) << (8 * i))
        })
    }

    /// A guest write to the bus-master block.
    pub fn bm_write(&mut self, offset: u16, size: u8, value: u32) {
        let size = size.clamp(1, 4);
        for i in 0..u16::from(size) {
            let off = offset.wrapping_add(i);
            if off < BUS_MASTER_LEN {
                let ch = usize::from(off / BM_CHANNEL_STRIDE);
                self.channels[ch].bm_write(off % BM_CHANNEL_STRIDE, (value >> (8 * i)) as u8);
            }
        }
    }

    /// Runs any DMA transfer that is both commanded and started, and polls
    /// the transfers on a host disk's queue; call after every exit, on the
    /// host tick and while the guest is halted. Guest memory is touched only
    /// here, only through `mem`.
    pub fn run_dma(&mut self, mem: &mut dyn DmaMemory) {
        for ch in self.channels.iter_mut() {
            ch.run_dma(mem);
        }
    }

    /// True while a DMA transfer waits for the host disk: polling
    /// [`Self::run_dma`] soon ends it.
    pub fn dma_in_flight(&self) -> bool {
        self.channels.iter().any(|ch| ch.queued_busy())
    }

    /// The level of `channel`'s interrupt line (IRQ14 primary, IRQ15 secondary).
    pub fn irq_level(&self, channel: usize) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|ch| ch.irq_pending && ch.devctl & DEVCTL_NIEN == 0 && !ch.is_empty())
    }
}

/// The legacy ports of one register block on the port-I/O bus: register at
/// `PRIMARY_COMMAND_BASE`/`SECONDARY_COMMAND_BASE` with length
/// [`COMMAND_BLOCK_LEN`], or at the control ports with [`CONTROL_BLOCK_LEN`].
pub struct IdePorts {
    base: u16,
    ide: Rc<RefCell<IdeController>>,
}

impl IdePorts {
    /// The block starting at absolute port `base`.
    pub fn new(base: u16, ide: Rc<RefCell<IdeController>>) -> Self {
        Self { base, ide }
    }
}

impl PortIoDevice for IdePorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.ide.try_borrow_mut() {
            Ok(mut ide) => ide.read(self.base.wrapping_add(offset), size),
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut ide) = self.ide.try_borrow_mut() {
            ide.write(self.base.wrapping_add(offset), size, value);
        }
    }
}

/// The bus-master block (BAR4, [`BUS_MASTER_LEN`] ports) on the port-I/O bus.
pub struct BusMasterPorts {
    ide: Rc<RefCell<IdeController>>,
}

impl BusMasterPorts {
    /// The bus-master registers of `ide`.
    pub fn new(ide: Rc<RefCell<IdeController>>) -> Self {
        Self { ide }
    }
}

impl PortIoDevice for BusMasterPorts {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        match self.ide.try_borrow_mut() {
            Ok(mut ide) => ide.bm_read(offset, size),
            Err(_) => all_ones(size),
        }
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        if let Ok(mut ide) = self.ide.try_borrow_mut() {
            ide.bm_write(offset, size, value);
        }
    }
}

#[cfg(test)]
mod host_error_tests;
#[cfg(test)]
mod queued_dma_tests;
#[cfg(test)]
mod tests;
