//! Where a guest's request to reset the machine came from. The devices only
//! record a request (`I8042::take_reset_source`, `PciBus::take_reset_request`);
//! the hypervisor decides what a reset does.
//!
//! The three ways a PC/AT-compatible guest asks, from:
//! - the IBM Personal Computer AT Technical Reference, "Keyboard Controller",
//!   commands F0-FF "Pulse Output Port" (bits 0-3 of the command select the
//!   output port lines pulsed low for about 6 us; output port bit 0 is the
//!   system reset line, so FEh resets the processor) and D1 "Write Output
//!   Port" (bit 0 written 0); the output port is the 8042's port 2 (Intel
//!   UPI-41A data sheet), whose pin P20 the AT wires to the reset line;
//! - the Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator data
//!   sheet, "RC—Reset Control Register (I/O Address CF9h)": RCPU (bit 2) going
//!   to 1 starts a hard reset (SRST, bit 1, set: PCIRST# and CPU reset) or a
//!   soft reset (SRST clear: INIT); bit 3 is reserved on the PIIX3 (later
//!   chipsets call it FULL_RST), so 06h and 0Eh both ask for a hard reset;
//! - the IBM PS/2 Hardware Interface Technical Reference, "System Support",
//!   "System Control Port A (Hex 0092)": bit 0, Alternate Hot Reset, going from
//!   0 to 1 resets the processor ("fast reset").

use crate::pci::ResetKind;
use core::fmt;

/// Where a guest's request to reset the machine came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetSource {
    /// 8042 command F0h-FFh with bit 0 clear (FEh): the output port's system
    /// reset line pulsed low.
    I8042Pulse,
    /// 8042 command D1h (Write Output Port) with bit 0, system reset, 0.
    I8042OutputPort,
    /// System Control Port A (92h) bit 0, Alternate Hot Reset, from 0 to 1.
    FastReset,
    /// The PIIX3's RC register (CF9h) with RCPU set; SRST chose the kind.
    ResetControl(ResetKind),
}

impl fmt::Display for ResetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResetSource::I8042Pulse => "i8042 pulse",
            ResetSource::I8042OutputPort => "i8042 output port",
            ResetSource::FastReset => "port 92h fast reset",
            ResetSource::ResetControl(ResetKind::Hard) => "PIIX3 CF9h hard reset",
            ResetSource::ResetControl(ResetKind::Soft) => "PIIX3 CF9h soft reset",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn each_source_names_itself_in_one_short_phrase() {
        assert_eq!(ResetSource::I8042Pulse.to_string(), "i8042 pulse");
        assert_eq!(
            ResetSource::I8042OutputPort.to_string(),
            "i8042 output port"
        );
        assert_eq!(ResetSource::FastReset.to_string(), "port 92h fast reset");
        assert_eq!(
            ResetSource::ResetControl(ResetKind::Hard).to_string(),
            "PIIX3 CF9h hard reset"
        );
        assert_eq!(
            ResetSource::ResetControl(ResetKind::Soft).to_string(),
            "PIIX3 CF9h soft reset"
        );
    }
}
