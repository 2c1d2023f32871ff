//! The state of a device's data transfer: what the current PIO DRQ block
//! means, the DMA job waiting for the bus master, the DMA mode SET FEATURES
//! selected, and the chunk size ATAPI READs are streamed in. Plain data, shared
//! by the command sets, the PIO and PACKET protocols and the bus master.

use alloc::vec::Vec;

/// ATAPI blocks read from the drive at a time while streaming a READ.
pub(super) const ATAPI_CHUNK_BLOCKS: u32 = 32;

/// What the end of the current PIO DRQ block means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Pio {
    /// No PIO transfer.
    Idle,
    /// IDENTIFY (PACKET) DEVICE data: one block, then done without interrupt.
    Identify,
    /// Data-in from the disk: `lba` of the next block, `left` sectors not yet loaded.
    DiskRead { lba: u64, left: u32, per_block: u32 },
    /// Data-out to the disk: `lba` of the buffered block, `left` sectors not yet written.
    DiskWrite { lba: u64, left: u32, per_block: u32 },
    /// Receiving the 12-byte ATAPI command packet.
    CommandPacket { dma: bool, limit: u16 },
    /// ATAPI data-in: `buf` holds the data (or a staged READ chunk of which
    /// `read` says what remains).
    PacketIn {
        limit: u16,
        read: Option<(u32, u32)>,
    },
}

impl Pio {
    pub(super) fn is_data_in(self) -> bool {
        matches!(
            self,
            Pio::Identify | Pio::DiskRead { .. } | Pio::PacketIn { .. }
        )
    }

    pub(super) fn is_data_out(self) -> bool {
        matches!(self, Pio::DiskWrite { .. } | Pio::CommandPacket { .. })
    }
}

/// A DMA command waiting for the bus master.
pub(super) enum DmaJob {
    Disk {
        lba: u64,
        count: u32,
        write: bool,
    },
    Packet {
        data: Vec<u8>,
        read: Option<(u32, u32)>,
    },
}

/// The DMA mode SET FEATURES selected (reflected in IDENTIFY words 63/88).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum DmaMode {
    None,
    Multiword(u8),
    Ultra(u8),
}
