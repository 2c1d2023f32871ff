//! The emulator's view of a domain's memory: each access is translated
//! through the guest's paging page by page, and each page-sized piece goes to
//! guest RAM or, where no RAM backs it, to the MMIO bus. An MMIO piece is
//! handed to the device in one access when it is 1, 2, 4 or 8 bytes, else byte
//! by byte.

use super::{EmuError, EmuMemory, GuestFault};
use crate::guest_memory::GuestMemory;
use crate::guest_paging::{data_access, translate, TranslateError};
use crate::vcpu::{vector, Exception, Vcpu};
use device_model::mmio_bus::MmioBus;

/// A domain's RAM and MMIO, for the emulator.
pub struct GuestAccess<'a> {
    pub memory: &'a mut GuestMemory,
    pub mmio: &'a mut MmioBus,
    pub max_phys_bits: u8,
}

/// Length of the piece of `[linear, linear+len)` that stays in one page.
fn in_page(linear: u64, len: usize) -> usize {
    let room = 4096 - (linear & 0xFFF) as usize;
    room.min(len)
}

impl GuestAccess<'_> {
    fn gpa(&mut self, vcpu: &dyn Vcpu, linear: u64, write: bool) -> Result<u64, EmuError> {
        translate(
            vcpu,
            self.memory,
            self.max_phys_bits,
            linear,
            data_access(vcpu, write),
        )
        .map_err(|e| match e {
            TranslateError::PageFault { error_code, linear } => EmuError::Fault(GuestFault {
                exception: Exception {
                    vector: vector::PF,
                    error_code: Some(error_code),
                },
                cr2: Some(linear),
            }),
            TranslateError::TableOutsideRam { gpa } => EmuError::Fatal { gpa },
        })
    }

    fn mmio_read(&mut self, gpa: u64, buf: &mut [u8]) {
        match buf.len() {
            n @ (1 | 2 | 4 | 8) => {
                buf.copy_from_slice(&self.mmio.read(gpa, n as u8).to_le_bytes()[..n])
            }
            _ => {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = self.mmio.read(gpa + i as u64, 1) as u8;
                }
            }
        }
    }

    fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
        match data.len() {
            n @ (1 | 2 | 4 | 8) => {
                let mut v = [0u8; 8];
                v[..n].copy_from_slice(data);
                self.mmio.write(gpa, n as u8, u64::from_le_bytes(v));
            }
            _ => {
                for (i, b) in data.iter().enumerate() {
                    self.mmio.write(gpa + i as u64, 1, u64::from(*b));
                }
            }
        }
    }
}

impl EmuMemory for GuestAccess<'_> {
    fn read(&mut self, vcpu: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError> {
        let mut done = 0;
        while done < buf.len() {
            let at = linear.wrapping_add(done as u64);
            let n = in_page(at, buf.len() - done);
            let gpa = self.gpa(vcpu, at, false)?;
            let piece = &mut buf[done..done + n];
            if self.memory.read(gpa, piece).is_err() {
                self.mmio_read(gpa, piece);
            }
            done += n;
        }
        Ok(())
    }

    fn write(&mut self, vcpu: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError> {
        // Translate every page first, so a fault on the second page leaves the
        // first unwritten, as the processor checks before it stores.
        let mut pieces = [(0u64, 0usize, 0usize); 2];
        let mut count = 0;
        let mut done = 0;
        while done < data.len() && count < pieces.len() {
            let at = linear.wrapping_add(done as u64);
            let n = in_page(at, data.len() - done);
            pieces[count] = (self.gpa(vcpu, at, true)?, done, n);
            count += 1;
            done += n;
        }
        if done < data.len() {
            return Err(EmuError::Unsupported(iced_x86::Mnemonic::INVALID));
        }
        for &(gpa, off, n) in &pieces[..count] {
            let piece = &data[off..off + n];
            match self.memory.write(gpa, piece) {
                Ok(()) => {}
                // Writes to the ROM alias are dropped, as a ROM ignores them.
                Err(crate::guest_memory::GuestMemoryError::ReadOnly { .. }) => {}
                Err(_) => self.mmio_write(gpa, piece),
            }
        }
        Ok(())
    }
}
