//! The POST diagnostic port (80h): firmware and some kernels write progress
//! codes here (IBM PC/AT Technical Reference, "Manufacturing Test Port";
//! Linux also writes it as an I/O delay). The codes go to the log; reads
//! return the last code written, as POST cards latch it.

use crate::bus::PortIoDevice;
use crate::rate_limit::RateLimit;

/// The POST code port.
pub const POST_PORT: u16 = pc_layout::ports::POST;

/// The latch behind port 80h.
pub struct PostCode {
    last: u8,
    log: RateLimit,
}

impl Default for PostCode {
    fn default() -> Self {
        Self {
            last: 0,
            log: RateLimit::new(64, 100_000),
        }
    }
}

impl PostCode {
    /// The last code written.
    pub fn last(&self) -> u8 {
        self.last
    }
}

impl PortIoDevice for PostCode {
    fn read(&mut self, _offset: u16, _size: u8) -> u32 {
        u32::from(self.last)
    }

    fn write(&mut self, _offset: u16, _size: u8, value: u32) {
        let code = value as u8;
        // Linux's I/O delay writes 80h constantly; log only changes.
        if code != self.last && self.log.allow() {
            log::debug!("POST code {code:#04x}");
        }
        self.last = code;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latches_the_last_code() {
        let mut p = PostCode::default();
        assert_eq!(p.read(0, 1), 0);
        p.write(0, 1, 0x1_55);
        assert_eq!(p.last(), 0x55);
        assert_eq!(p.read(0, 1), 0x55);
    }
}
