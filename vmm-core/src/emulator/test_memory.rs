//! Flat memory for emulator tests: linear = physical, backed by a vector,
//! recording every access so tests see exactly what an MMIO device would.

use super::{EmuError, EmuMemory};
use crate::vcpu::Vcpu;
use alloc::vec;
use alloc::vec::Vec;

pub struct FlatMemory {
    pub bytes: Vec<u8>,
    /// (is_write, linear, len)
    pub accesses: Vec<(bool, u64, usize)>,
}

impl FlatMemory {
    pub fn new(size: usize) -> Self {
        Self {
            bytes: vec![0; size],
            accesses: Vec::new(),
        }
    }

    fn range(&self, linear: u64, len: usize) -> Result<core::ops::Range<usize>, EmuError> {
        let end = linear
            .checked_add(len as u64)
            .ok_or(EmuError::Fatal { gpa: linear })?;
        if end > self.bytes.len() as u64 {
            return Err(EmuError::Fault(super::GuestFault::gp()));
        }
        Ok(linear as usize..end as usize)
    }
}

impl EmuMemory for FlatMemory {
    fn read(&mut self, _vcpu: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError> {
        let r = self.range(linear, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        self.accesses.push((false, linear, buf.len()));
        Ok(())
    }

    fn write(&mut self, _vcpu: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError> {
        let r = self.range(linear, data.len())?;
        self.bytes[r].copy_from_slice(data);
        self.accesses.push((true, linear, data.len()));
        Ok(())
    }
}
