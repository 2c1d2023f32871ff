//! The memory a task switch touches: both TSSs, the GDT and LDT entries it
//! reads and marks, and the new task's stack for an error code. All of them
//! are linear addresses (32 bits wide outside IA-32e mode, wrapping at
//! 4 GiB), translated through the guest's paging as implicit supervisor
//! accesses (Intel SDM vol. 3A, 4.6 "Access Rights"), except the error-code
//! push, which runs at the new task's CPL.
//!
//! Only guest RAM is reached: a TSS, descriptor table, stack or page table
//! that a device or nothing backs stops the guest (the hypervisor does not
//! play the processor's part against MMIO). Writes to ROM are dropped, as
//! the ROM drops them.

use super::{fault, Failure, StopCause};
use crate::emulator::GuestFault;
use crate::guest_memory::{GuestMemory, GuestMemoryError};
use crate::guest_paging::{translate, TranslateError};
use crate::page_walk::Access;
use crate::vcpu::{vector, Exception, Vcpu};

/// The guest memory of a task switch, and what its faults report.
pub(super) struct System<'a> {
    pub mem: &'a mut GuestMemory,
    pub max_phys_bits: u8,
    /// Error-code bit 0 (EXT) for the faults of this switch: set while an
    /// event from outside the program is delivered (SDM vol. 3A, 7.13
    /// "Error Code").
    pub ext: u32,
}

/// Length of the piece of `[linear, linear + len)` that stays in one page.
fn in_page(linear: u32, len: usize) -> usize {
    let room = 4096 - (linear & 0xFFF) as usize;
    room.min(len)
}

impl System<'_> {
    /// The fault `vector` with the error code of `selector` (index and TI,
    /// RPL bits replaced by EXT).
    pub fn selector_fault(&self, vector: u8, selector: u16) -> Failure {
        fault(vector, (u32::from(selector) & 0xFFFC) | self.ext)
    }

    /// The fault `vector` with error code 0 (and EXT).
    pub fn zero_fault(&self, vector: u8) -> Failure {
        fault(vector, self.ext)
    }

    fn gpa(
        &mut self,
        vcpu: &dyn Vcpu,
        linear: u32,
        write: bool,
        user: bool,
    ) -> Result<u64, Failure> {
        let access = Access {
            write,
            user,
            fetch: false,
        };
        translate(
            vcpu,
            self.mem,
            self.max_phys_bits,
            u64::from(linear),
            access,
        )
        .map_err(|e| match e {
            TranslateError::PageFault { error_code, linear } => Failure::Fault(GuestFault {
                exception: Exception {
                    vector: vector::PF,
                    error_code: Some(error_code),
                },
                cr2: Some(linear),
            }),
            TranslateError::TableOutsideRam { gpa } => Failure::Stop(StopCause::OutsideRam { gpa }),
        })
    }

    /// Translates every page of `[linear, linear + len)` for a read or a
    /// write and checks that RAM backs it, so that a #PF or a stop comes
    /// before anything is written (SDM vol. 3A, 8.3 step 5: the old TSS, the
    /// new TSS and the descriptors are checked to be paged in before the
    /// switch changes anything).
    pub fn probe(
        &mut self,
        vcpu: &dyn Vcpu,
        linear: u32,
        len: usize,
        write: bool,
    ) -> Result<(), Failure> {
        let mut done = 0;
        while done < len {
            let at = linear.wrapping_add(done as u32);
            let n = in_page(at, len - done);
            let gpa = self.gpa(vcpu, at, write, false)?;
            let mut piece = [0; 4096];
            if let Err(e) = self.mem.read(gpa, &mut piece[..n]) {
                let (GuestMemoryError::Unbacked { gpa } | GuestMemoryError::ReadOnly { gpa }) = e;
                return Err(Failure::Stop(StopCause::OutsideRam { gpa }));
            }
            done += n;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `linear`, a supervisor access.
    pub fn read(&mut self, vcpu: &dyn Vcpu, linear: u32, buf: &mut [u8]) -> Result<(), Failure> {
        let mut done = 0;
        while done < buf.len() {
            let at = linear.wrapping_add(done as u32);
            let n = in_page(at, buf.len() - done);
            let gpa = self.gpa(vcpu, at, false, false)?;
            self.mem
                .read(gpa, &mut buf[done..done + n])
                .map_err(|_| Failure::Stop(StopCause::OutsideRam { gpa }))?;
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at `linear`, at the privilege `user` says.
    pub fn write_as(
        &mut self,
        vcpu: &dyn Vcpu,
        linear: u32,
        data: &[u8],
        user: bool,
    ) -> Result<(), Failure> {
        let mut done = 0;
        while done < data.len() {
            let at = linear.wrapping_add(done as u32);
            let n = in_page(at, data.len() - done);
            let gpa = self.gpa(vcpu, at, true, user)?;
            match self.mem.write(gpa, &data[done..done + n]) {
                Ok(()) | Err(GuestMemoryError::ReadOnly { .. }) => {}
                Err(GuestMemoryError::Unbacked { gpa }) => {
                    return Err(Failure::Stop(StopCause::OutsideRam { gpa }))
                }
            }
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at `linear`, a supervisor access.
    pub fn write(&mut self, vcpu: &dyn Vcpu, linear: u32, data: &[u8]) -> Result<(), Failure> {
        self.write_as(vcpu, linear, data, false)
    }

    pub fn read_u8(&mut self, vcpu: &dyn Vcpu, linear: u32) -> Result<u8, Failure> {
        let mut b = [0; 1];
        self.read(vcpu, linear, &mut b)?;
        Ok(b[0])
    }

    pub fn read_u64(&mut self, vcpu: &dyn Vcpu, linear: u32) -> Result<u64, Failure> {
        let mut b = [0; 8];
        self.read(vcpu, linear, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Reads the four PAE PDPTEs at guest-physical `gpa` (CR3 bits 31:5).
    pub fn read_pdptes(&mut self, gpa: u64) -> Result<[u64; 4], Failure> {
        let mut pdptes = [0; 4];
        for (i, entry) in pdptes.iter_mut().enumerate() {
            let at = gpa + 8 * i as u64;
            *entry = self
                .mem
                .read_bytes::<8>(at)
                .map(u64::from_le_bytes)
                .map_err(|_| Failure::Stop(StopCause::OutsideRam { gpa: at }))?;
        }
        Ok(pdptes)
    }
}
