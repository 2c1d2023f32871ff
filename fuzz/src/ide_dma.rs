//! `ide_dma`: the IDE controller driven as a hostile guest drives it. The
//! input is a script of port accesses (command and control blocks of both
//! channels, the bus-master block), writes of PRD tables and data into a
//! small guest memory, ATA commands and ATAPI packets, with the bus master
//! run after every port write as the hypervisor runs it after every I/O
//! exit. Attached: a writable disk and a read-only disk on the primary
//! channel, a CD-ROM with a disc and an empty one on the secondary.

use crate::input::Input;
use block_backend::MemoryBlock;
use device_model::atapi::{AtapiDrive, ATAPI_BLOCK_SIZE};
use device_model::ide::{
    IdeController, BUS_MASTER_LEN, PRIMARY_COMMAND_BASE, PRIMARY_CONTROL_PORT,
    SECONDARY_COMMAND_BASE, SECONDARY_CONTROL_PORT, SECTOR_SIZE,
};
use device_model::{DmaError, DmaMemory};

/// Guest memory the bus master reaches; addresses past it fail.
const MEMORY_SIZE: usize = 0x2_0000;
/// Most operations one input runs.
const MAX_OPS: usize = 2048;

/// Every legacy port of the controller, and one on each side of each block.
const PORTS: [u16; 22] = [
    PRIMARY_COMMAND_BASE,
    PRIMARY_COMMAND_BASE + 1,
    PRIMARY_COMMAND_BASE + 2,
    PRIMARY_COMMAND_BASE + 3,
    PRIMARY_COMMAND_BASE + 4,
    PRIMARY_COMMAND_BASE + 5,
    PRIMARY_COMMAND_BASE + 6,
    PRIMARY_COMMAND_BASE + 7,
    PRIMARY_CONTROL_PORT,
    SECONDARY_COMMAND_BASE,
    SECONDARY_COMMAND_BASE + 1,
    SECONDARY_COMMAND_BASE + 2,
    SECONDARY_COMMAND_BASE + 3,
    SECONDARY_COMMAND_BASE + 4,
    SECONDARY_COMMAND_BASE + 5,
    SECONDARY_COMMAND_BASE + 6,
    SECONDARY_COMMAND_BASE + 7,
    SECONDARY_CONTROL_PORT,
    PRIMARY_COMMAND_BASE - 1,
    PRIMARY_COMMAND_BASE + 8,
    PRIMARY_CONTROL_PORT + 1,
    SECONDARY_CONTROL_PORT - 1,
];

/// ATA commands worth reaching quickly (any byte can still be written to
/// the Command register through a port write).
const COMMANDS: [u8; 24] = [
    0xC8, 0xCA, 0x25, 0x35, 0xC9, 0xCB, // DMA
    0x20, 0x30, 0x24, 0x34, 0xC4, 0xC5, 0x29, 0x39, // PIO
    0xA0, 0xA1, 0xEC, 0xEF, 0xC6, 0x91, 0x08, 0x90, 0x40, 0xE7,
];

/// ATAPI operation codes worth reaching quickly.
const PACKET_OPCODES: [u8; 16] = [
    0x28, 0xA8, 0x12, 0x03, 0x00, 0x25, 0x43, 0x5A, 0x46, 0x4A, 0x51, 0x1B, 0x1E, 0xBD, 0xAD, 0xBE,
];

/// Guest RAM for the bus master.
struct Memory(Vec<u8>);

impl Memory {
    fn range(&self, gpa: u64, len: usize) -> Result<std::ops::Range<usize>, DmaError> {
        let end = gpa.checked_add(len as u64).ok_or(DmaError { gpa })?;
        if end > self.0.len() as u64 {
            return Err(DmaError { gpa });
        }
        Ok(gpa as usize..end as usize)
    }

    fn patch(&mut self, at: usize, bytes: &[u8]) {
        let at = at % self.0.len();
        let end = (at + bytes.len()).min(self.0.len());
        self.0[at..end].copy_from_slice(&bytes[..end - at]);
    }
}

impl DmaMemory for Memory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let r = self.range(gpa, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }

    fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), DmaError> {
        let r = self.range(gpa, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
}

/// Bytes that differ between sectors and within one.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i >> 9) as u8).wrapping_mul(31) ^ (i as u8))
        .collect()
}

fn controller() -> IdeController {
    let mut ide = IdeController::new();
    ide.attach_disk(
        0,
        false,
        Box::new(MemoryBlock::new(pattern(64 * SECTOR_SIZE), false)),
    );
    ide.attach_disk(
        0,
        true,
        Box::new(MemoryBlock::new(pattern(8 * SECTOR_SIZE + 100), true)),
    );
    let disc = MemoryBlock::new(pattern(16 * ATAPI_BLOCK_SIZE), true);
    ide.attach_cdrom(1, false, AtapiDrive::new(Some(Box::new(disc))));
    ide.attach_cdrom(1, true, AtapiDrive::new(None));
    ide
}

fn size(input: &mut Input) -> u8 {
    input.choose(&[1, 2, 4, 1, 2, 3])
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut ide = controller();
    let mut mem = Memory(vec![0u8; MEMORY_SIZE]);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.u8() % 12 {
            0 => {
                let port = input.choose(&PORTS);
                let size = size(&mut input);
                ide.write(port, size, input.u32());
                ide.run_dma(&mut mem);
            }
            1 => {
                let port = input.choose(&PORTS);
                let size = size(&mut input);
                let _ = ide.read(port, size);
            }
            2 => {
                let offset = u16::from(input.u8()) % (BUS_MASTER_LEN + 2);
                let size = size(&mut input);
                ide.bm_write(offset, size, input.u32());
                ide.run_dma(&mut mem);
            }
            3 => {
                let offset = u16::from(input.u8()) % (BUS_MASTER_LEN + 2);
                let size = size(&mut input);
                let _ = ide.bm_read(offset, size);
            }
            4 => {
                // Data anywhere in memory.
                let at = input.u32() as usize;
                let len = usize::from(input.u8());
                mem.patch(at, input.bytes(len));
            }
            5 => prd_table(&mut input, &mut mem),
            6 => {
                let channel = usize::from(input.u8() % 3);
                let mut out = vec![0u8; usize::from(input.u16() % 0x2000)];
                let _ = ide.read_data_block(channel, &mut out);
            }
            7 => {
                let channel = usize::from(input.u8() % 3);
                let len = usize::from(input.u16() % 0x2000);
                let _ = ide.write_data_block(channel, input.bytes(len));
            }
            8 => {
                let _ = (ide.irq_level(0), ide.irq_level(1), ide.irq_level(2));
            }
            9 => ata_command(&mut input, &mut ide, &mut mem),
            10 => atapi_packet(&mut input, &mut ide, &mut mem),
            _ => {
                // Program and start a channel's bus master in one go.
                let channel = u16::from(input.u8() & 1) * 8;
                let table = input.u32() % MEMORY_SIZE as u32;
                ide.bm_write(channel + 4, 4, table);
                ide.bm_write(channel + 2, 1, 0x06);
                ide.bm_write(channel, 1, u32::from(input.u8() & 0x08) | 1);
                ide.run_dma(&mut mem);
            }
        }
    }
    // Whatever is still started runs once more, as after the next exit.
    ide.run_dma(&mut mem);
}

/// A PRD table: up to 16 entries, each an address (mostly inside memory), a
/// byte count and maybe EOT.
fn prd_table(input: &mut Input, mem: &mut Memory) {
    let at = usize::from(input.u16()) & !3;
    let entries = usize::from(input.u8() % 16) + 1;
    for i in 0..entries {
        let flags = input.u8();
        let address = if flags & 1 != 0 {
            input.u32()
        } else {
            u32::from(input.u16()) * 2
        };
        let count = input.u16();
        let eot = if flags & 2 != 0 || i + 1 == entries && flags & 4 == 0 {
            1u32 << 31
        } else {
            0
        };
        let mut entry = [0u8; 8];
        entry[..4].copy_from_slice(&address.to_le_bytes());
        entry[4..].copy_from_slice(&(u32::from(count) | eot).to_le_bytes());
        mem.patch(at + 8 * i, &entry);
    }
}

/// Selects a device and issues a command with LBA and count, 28- or 48-bit.
fn ata_command(input: &mut Input, ide: &mut IdeController, mem: &mut Memory) {
    let flags = input.u8();
    let base = if flags & 1 != 0 {
        SECONDARY_COMMAND_BASE
    } else {
        PRIMARY_COMMAND_BASE
    };
    let device = 0xE0 | (flags & 0x10);
    let lba = input.u64();
    let count = input.u16();
    let command = if flags & 2 != 0 {
        input.u8()
    } else {
        input.choose(&COMMANDS)
    };
    ide.write(base + 1, 1, u32::from(input.u8()));
    ide.write(base + 6, 1, u32::from(device | ((lba >> 24) as u8 & 0x0F)));
    if flags & 4 != 0 {
        // The previous content (HOB) for 48-bit commands.
        ide.write(base + 2, 1, u32::from(count >> 8));
        ide.write(base + 3, 1, (lba >> 24) as u32 & 0xFF);
        ide.write(base + 4, 1, (lba >> 32) as u32 & 0xFF);
        ide.write(base + 5, 1, (lba >> 40) as u32 & 0xFF);
    }
    ide.write(base + 2, 1, u32::from(count & 0xFF));
    ide.write(base + 3, 1, lba as u32 & 0xFF);
    ide.write(base + 4, 1, (lba >> 8) as u32 & 0xFF);
    ide.write(base + 5, 1, (lba >> 16) as u32 & 0xFF);
    ide.write(base + 7, 1, u32::from(command));
    ide.run_dma(mem);
}

/// PACKET with DMA or PIO, then the 12-byte command packet through the
/// Data register of the secondary channel.
fn atapi_packet(input: &mut Input, ide: &mut IdeController, mem: &mut Memory) {
    let flags = input.u8();
    let base = SECONDARY_COMMAND_BASE;
    ide.write(base + 6, 1, u32::from(0xA0 | (flags & 0x10)));
    ide.write(base + 1, 1, u32::from(flags & 1));
    ide.write(base + 4, 1, u32::from(input.u8()));
    ide.write(base + 5, 1, u32::from(input.u8()));
    ide.write(base + 7, 1, 0xA0);
    let mut packet: [u8; 12] = input.array();
    if flags & 2 == 0 {
        packet[0] = PACKET_OPCODES[usize::from(packet[0]) % PACKET_OPCODES.len()];
    }
    for pair in packet.chunks(2) {
        ide.write(base, 2, u32::from(u16::from_le_bytes([pair[0], pair[1]])));
    }
    ide.run_dma(mem);
}
