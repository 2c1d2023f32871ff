//! The Video DAC: PEL Mask (3C6h), PEL Address Read Mode (write 3C7h) / DAC
//! State (read 3C7h), PEL Address Write Mode (3C8h) and PEL Data (3C9h),
//! which reads and writes 256 entries of three 6-bit components, one
//! component per access.

use super::VgaText;

/// DAC State: the DAC is in write mode (last address written was 3C8h).
pub const DAC_STATE_WRITE: u8 = 0b00;
/// DAC State: the DAC is in read mode (last address written was 3C7h).
pub const DAC_STATE_READ: u8 = 0b11;
/// PEL Data: each colour component is 6 bits.
pub const DAC_COMPONENT_MASK: u8 = 0x3F;
/// Number of DAC colour entries.
pub const DAC_ENTRIES: usize = 256;

/// The EGA colour a DAC entry 0-63 holds after mode 3: bits 2-0 add 2/3 of
/// red, green, blue and bits 5-3 add 1/3 (6-bit components, 2Ah and 15h).
pub(super) fn ega_color(index: u8) -> [u8; 3] {
    let level = |hi: u8, lo: u8| {
        let mut v = 0;
        if index & hi != 0 {
            v += 0x2A;
        }
        if index & lo != 0 {
            v += 0x15;
        }
        v
    };
    [
        level(1 << 2, 1 << 5),
        level(1 << 1, 1 << 4),
        level(1 << 0, 1 << 3),
    ]
}

impl VgaText {
    /// Moves to the next colour component; true when an entry's third
    /// (blue) component was the one just accessed.
    fn dac_step(&mut self) -> bool {
        self.dac_component = self.dac_component.wrapping_add(1);
        if self.dac_component >= 3 {
            self.dac_component = 0;
            true
        } else {
            false
        }
    }

    /// A PEL Data read: the next component of the entry at the read index.
    pub(super) fn dac_data_read(&mut self) -> u8 {
        let entry = self.dac_color(self.dac_read_index);
        let value = entry
            .get(usize::from(self.dac_component))
            .copied()
            .unwrap_or(0);
        if self.dac_step() {
            self.dac_read_index = self.dac_read_index.wrapping_add(1);
        }
        value
    }

    /// A PEL Data write: components are latched and the entry at the write
    /// index changes only once all three are written.
    pub(super) fn dac_data_write(&mut self, value: u8) {
        if let Some(slot) = self.dac_latch.get_mut(usize::from(self.dac_component)) {
            *slot = value & DAC_COMPONENT_MASK;
        }
        if self.dac_step() {
            let latch = self.dac_latch;
            if let Some(entry) = self.dac.get_mut(usize::from(self.dac_write_index)) {
                *entry = latch;
            }
            self.dac_write_index = self.dac_write_index.wrapping_add(1);
        }
    }

    /// DAC entry `index` as 6-bit (red, green, blue).
    pub fn dac_color(&self, index: u8) -> [u8; 3] {
        self.dac.get(usize::from(index)).copied().unwrap_or([0; 3])
    }
}
