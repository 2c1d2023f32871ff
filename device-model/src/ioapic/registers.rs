//! The register indices behind IOWIN and the layout of a redirection table
//! entry (82093AA datasheet, 3.2 "IOAPIC Registers").

use super::IoApicDeliveryMode;

/// IOAPICID: the ID in bits 27:24.
pub const ID_REGISTER: u8 = 0x00;
/// IOAPICVER: read-only.
pub const VERSION_REGISTER: u8 = 0x01;
/// IOAPICARB: the arbitration ID in bits 27:24, read-only.
pub const ARB_REGISTER: u8 = 0x02;
/// IOREDTBL0 low dword; entry n is at 10h + 2n (low) and 11h + 2n (high).
pub const FIRST_REDIRECTION: u8 = 0x10;
/// Where the ID sits in IOAPICID and IOAPICARB.
pub const ID_SHIFT: u32 = 24;
/// IOAPICVER: maximum redirection entry 23 (bits 23:16), version 20h (bits
/// 7:0), no IRQ assertion register (bit 15 clear).
pub const VERSION_VALUE: u32 = ((super::IOAPIC_PINS as u32 - 1) << 16) | 0x20;

/// Bits 7:0: the vector.
pub const VECTOR: u64 = 0xFF;
/// Bits 10:8: the delivery mode.
pub const DELIVERY_MODE_SHIFT: u32 = 8;
/// Bit 11: logical destination mode (clear: physical).
pub const DEST_LOGICAL: u64 = 1 << 11;
/// Bit 12: delivery status (read-only; always 0 here).
pub const DELIVERY_STATUS: u64 = 1 << 12;
/// Bit 13: input pin polarity, set for active low (stored only).
pub const POLARITY_LOW: u64 = 1 << 13;
/// Bit 14: remote IRR (read-only): a level-triggered interrupt was accepted
/// and its EOI has not come yet.
pub const REMOTE_IRR: u64 = 1 << 14;
/// Bit 15: trigger mode, set for level.
pub const TRIGGER_LEVEL: u64 = 1 << 15;
/// Bit 16: the interrupt is masked.
pub const MASK: u64 = 1 << 16;
/// Bits 63:56: the destination.
pub const DESTINATION_SHIFT: u32 = 56;

/// Bits 55:17: reserved, read 0.
pub const RESERVED: u64 = 0x00FF_FFFF_FFFE_0000;
/// The bits a guest write sets: everything but delivery status, remote IRR
/// and the reserved bits.
pub const GUEST_WRITABLE: u64 = !(DELIVERY_STATUS | REMOTE_IRR | RESERVED);

/// One redirection table entry, as the guest reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry(pub u64);

impl Entry {
    /// After reset: masked, everything else 0.
    pub const RESET: Self = Self(MASK);

    /// The entry after the guest writes `value` to its high (bits 63:32) or
    /// low dword; read-only and reserved bits keep their value.
    pub fn with_guest_dword(self, high: bool, value: u32) -> Self {
        let value = u64::from(value);
        let written = if high {
            (self.0 & 0xFFFF_FFFF) | (value << 32)
        } else {
            (self.0 & !0xFFFF_FFFF) | value
        };
        Self((written & GUEST_WRITABLE) | (self.0 & !GUEST_WRITABLE))
    }

    pub fn vector(self) -> u8 {
        (self.0 & VECTOR) as u8
    }

    /// The delivery mode, `None` for the reserved encodings.
    pub fn mode(self) -> Option<IoApicDeliveryMode> {
        IoApicDeliveryMode::from_bits((self.0 >> DELIVERY_MODE_SHIFT) as u8)
    }

    pub fn logical(self) -> bool {
        self.0 & DEST_LOGICAL != 0
    }

    pub fn remote_irr(self) -> bool {
        self.0 & REMOTE_IRR != 0
    }

    pub fn set_remote_irr(&mut self, set: bool) {
        if set {
            self.0 |= REMOTE_IRR;
        } else {
            self.0 &= !REMOTE_IRR;
        }
    }

    /// The trigger mode bit says level.
    pub fn level(self) -> bool {
        self.0 & TRIGGER_LEVEL != 0
    }

    /// The entry behaves as level-triggered: its trigger mode bit says so and
    /// its delivery mode allows it (fixed or lowest priority).
    pub fn level_triggered(self) -> bool {
        self.level() && self.mode().is_some_and(IoApicDeliveryMode::can_be_level)
    }

    pub fn masked(self) -> bool {
        self.0 & MASK != 0
    }

    pub fn destination(self) -> u8 {
        (self.0 >> DESTINATION_SHIFT) as u8
    }
}
