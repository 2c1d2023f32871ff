//! Bit layout of the control word register (port 0x43), of the read-back
//! command written there, and of the status byte read-back latches
//! ("Operational Description": control word format, "Read-Back Command").
//! Only the encoding lives here; what the commands do to a counter is in
//! `control_commands`.

/// Control word bits 7-6, SC1-SC0: select counter (3 = read-back command).
pub(super) const CW_SC_SHIFT: u8 = 6;
/// SC1-SC0 value of the read-back command.
pub(super) const CW_SC_READ_BACK: u8 = 0b11;
/// Control word bits 5-4, RW1-RW0: read/write access.
pub(super) const CW_RW_SHIFT: u8 = 4;
/// Mask of RW1-RW0 after shifting.
pub(super) const CW_RW_MASK: u8 = 0b11;
/// RW1-RW0 = 00: counter latch command.
pub(super) const CW_RW_LATCH: u8 = 0b00;
/// RW1-RW0 = 01: read/write least significant byte only.
pub(super) const CW_RW_LSB: u8 = 0b01;
/// RW1-RW0 = 10: read/write most significant byte only.
pub(super) const CW_RW_MSB: u8 = 0b10;
/// RW1-RW0 = 11: read/write least significant byte first, then most.
pub(super) const CW_RW_LSB_MSB: u8 = 0b11;
/// Control word bits 3-1, M2-M0: counter mode.
pub(super) const CW_M_SHIFT: u8 = 1;
/// Mask of M2-M0 after shifting.
pub(super) const CW_M_MASK: u8 = 0b111;
/// Control word bit 0, BCD: 1 = four-decade BCD counter, 0 = 16-bit binary.
pub(super) const CW_BCD: u8 = 1 << 0;

/// Read-back bit 5, COUNT: 0 = latch the count of the selected counters.
pub(super) const RB_COUNT: u8 = 1 << 5;
/// Read-back bit 4, STATUS: 0 = latch the status of the selected counters.
pub(super) const RB_STATUS: u8 = 1 << 4;
/// Read-back bit 1, CNT 0: select counter 0 (bits 2 and 3 select 1 and 2).
pub(super) const RB_CNT0: u8 = 1 << 1;

/// Status byte bit 7, OUTPUT: state of the OUT pin.
pub(super) const STATUS_OUTPUT: u8 = 1 << 7;
/// Status byte bit 6, NULL COUNT: the last count written has not reached the CE.
pub(super) const STATUS_NULL_COUNT: u8 = 1 << 6;

/// Read/write access selected by RW1-RW0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    Lsb,
    Msb,
    LsbMsb,
}

impl Access {
    pub(super) fn bits(self) -> u8 {
        match self {
            Access::Lsb => CW_RW_LSB,
            Access::Msb => CW_RW_MSB,
            Access::LsbMsb => CW_RW_LSB_MSB,
        }
    }
}
