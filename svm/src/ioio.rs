//! EXITINFO1 of an IOIO intercept (AMD APM vol. 2, 15.10.2 "IN and OUT
//! Behavior", figure 15-2 "EXITINFO1 for IOIO Intercept").

/// A decoded IOIO EXITINFO1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoioInfo {
    pub port: u16,
    /// Access size in bytes: 1, 2 or 4.
    pub size: u8,
    /// True for IN/INS.
    pub is_in: bool,
    pub string: bool,
    pub rep: bool,
    /// Address size of a string instruction in bits: 16, 32 or 64.
    pub address_size: u8,
}

/// Bit 0: TYPE, 1 = IN.
const TYPE_IN: u64 = 1 << 0;
/// Bit 2: string instruction.
const STR: u64 = 1 << 2;
/// Bit 3: REP prefix.
const REP: u64 = 1 << 3;
/// Bits 4-6: SZ8, SZ16, SZ32.
const SZ8: u64 = 1 << 4;
const SZ16: u64 = 1 << 5;
const SZ32: u64 = 1 << 6;
/// Bits 7-9: A16, A32, A64.
const A16: u64 = 1 << 7;
const A32: u64 = 1 << 8;
const A64: u64 = 1 << 9;

impl IoioInfo {
    /// Decodes EXITINFO1; None if no valid size bit is set (never from real hardware).
    pub fn decode(info1: u64) -> Option<Self> {
        let size = if info1 & SZ8 != 0 {
            1
        } else if info1 & SZ16 != 0 {
            2
        } else if info1 & SZ32 != 0 {
            4
        } else {
            return None;
        };
        let address_size = if info1 & A64 != 0 {
            64
        } else if info1 & A32 != 0 {
            32
        } else if info1 & A16 != 0 {
            16
        } else {
            0
        };
        Some(Self {
            port: (info1 >> 16) as u16,
            size,
            is_in: info1 & TYPE_IN != 0,
            string: info1 & STR != 0,
            rep: info1 & REP != 0,
            address_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_out_dx_al() {
        // OUT DX, AL to 0x3F8 from 16-bit code
        let i = IoioInfo::decode((0x3F8 << 16) | SZ8 | A16).unwrap();
        assert_eq!(
            i,
            IoioInfo {
                port: 0x3F8,
                size: 1,
                is_in: false,
                string: false,
                rep: false,
                address_size: 16
            }
        );
    }

    #[test]
    fn decodes_rep_insw() {
        let i = IoioInfo::decode((0x1F0 << 16) | TYPE_IN | STR | REP | SZ16 | A32).unwrap();
        assert_eq!(
            (i.port, i.size, i.is_in, i.string, i.rep, i.address_size),
            (0x1F0, 2, true, true, true, 32)
        );
    }

    #[test]
    fn decodes_in_eax_from_high_port() {
        let i = IoioInfo::decode((0xCFC << 16) | TYPE_IN | SZ32 | A64).unwrap();
        assert_eq!((i.port, i.size, i.is_in), (0xCFC, 4, true));
    }

    #[test]
    fn rejects_missing_size() {
        assert_eq!(IoioInfo::decode(0x3F8 << 16), None);
    }
}
