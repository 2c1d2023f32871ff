//! Segment selectors and descriptors as a task switch reads them from the
//! GDT and LDT (Intel SDM vol. 3A, 3.4.2 "Segment Selectors", 3.4.5
//! "Segment Descriptors", 3.5 "System Descriptor Types", 8.2.2 "TSS
//! Descriptor").

use super::memory::System;
use super::Failure;
use crate::vcpu::{DescriptorTable, Segment, SystemSegReg, Vcpu};

/// Selector bit 2: the descriptor is in the LDT.
pub(super) const SELECTOR_TI: u16 = 1 << 2;
/// Selector bits 1:0: the requested privilege level.
pub(super) const SELECTOR_RPL: u16 = 3;

/// System-descriptor types (S = 0; SDM vol. 3A, 3.5, table 3-2).
pub(super) mod system_type {
    pub const AVAILABLE_TSS16: u8 = 1;
    pub const LDT: u8 = 2;
    pub const BUSY_TSS16: u8 = 3;
    pub const AVAILABLE_TSS32: u8 = 9;
    pub const BUSY_TSS32: u8 = 11;
}

/// Type bit 1 of a TSS descriptor: busy.
pub(super) const TYPE_TSS_BUSY: u8 = 1 << 1;
/// Type bit 0 of a code or data descriptor: accessed.
const TYPE_ACCESSED: u8 = 1 << 0;
/// Type bit 1: readable (code) or writable (data).
const TYPE_READ_WRITE: u8 = 1 << 1;
/// Type bit 2: conforming (code) or expand-down (data).
const TYPE_CONFORMING_OR_DOWN: u8 = 1 << 2;
/// Type bit 3: code.
const TYPE_CODE: u8 = 1 << 3;

/// Offset of the type/S/DPL/P byte in a descriptor.
pub(super) const ACCESS_BYTE: u32 = 5;

/// An 8-byte segment descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Descriptor(pub u64);

impl Descriptor {
    /// Base address, bits 15:0 at 16, 23:16 at 32, 31:24 at 56.
    pub fn base(self) -> u32 {
        (((self.0 >> 16) & 0xFF_FFFF) | ((self.0 >> 32) & 0xFF00_0000)) as u32
    }

    /// The limit in bytes, scaled by G (4 KiB units when set).
    pub fn limit(self) -> u32 {
        let raw = ((self.0 & 0xFFFF) | ((self.0 >> 32) & 0xF_0000)) as u32;
        if self.0 & (1 << 55) != 0 {
            (raw << 12) | 0xFFF
        } else {
            raw
        }
    }

    /// The 4-bit type field.
    pub fn kind(self) -> u8 {
        ((self.0 >> 40) & 0xF) as u8
    }

    /// S = 1: a code or data segment (else a system descriptor).
    pub fn code_or_data(self) -> bool {
        self.0 & (1 << 44) != 0
    }

    pub fn dpl(self) -> u8 {
        ((self.0 >> 45) & 3) as u8
    }

    pub fn present(self) -> bool {
        self.0 & (1 << 47) != 0
    }

    pub fn code(self) -> bool {
        self.code_or_data() && self.kind() & TYPE_CODE != 0
    }

    pub fn data(self) -> bool {
        self.code_or_data() && self.kind() & TYPE_CODE == 0
    }

    pub fn conforming(self) -> bool {
        self.code() && self.kind() & TYPE_CONFORMING_OR_DOWN != 0
    }

    /// A code segment that may be read, or any data segment.
    pub fn readable(self) -> bool {
        self.data() || self.kind() & TYPE_READ_WRITE != 0
    }

    pub fn writable_data(self) -> bool {
        self.data() && self.kind() & TYPE_READ_WRITE != 0
    }

    pub fn accessed(self) -> bool {
        self.kind() & TYPE_ACCESSED != 0
    }

    /// With the accessed bit set, as loading a segment register leaves it.
    pub fn with_accessed(self) -> Self {
        Self(self.0 | (u64::from(TYPE_ACCESSED) << 40))
    }

    /// The attributes in the packed form of [`Segment::attrs`]: bits 47:40
    /// and 55:52 of the descriptor.
    pub fn attrs(self) -> u16 {
        (((self.0 >> 40) & 0xFF) | ((self.0 >> 44) & 0xF00)) as u16
    }

    /// The hidden part a segment register loads from this descriptor.
    pub fn segment(self, selector: u16) -> Segment {
        Segment {
            selector,
            attrs: self.attrs(),
            limit: self.limit(),
            base: u64::from(self.base()),
        }
    }
}

/// The linear address of entry `selector` (TI ignored) of `table`, or None
/// past its limit.
fn entry(table: DescriptorTable, selector: u16) -> Option<u32> {
    let offset = u32::from(selector & !7);
    (offset + 7 <= table.limit).then(|| (table.base as u32).wrapping_add(offset))
}

/// The linear address of GDT entry `selector` (TI ignored: TR always names
/// the GDT), or None past the GDT's limit.
pub(super) fn gdt_entry(vcpu: &dyn Vcpu, selector: u16) -> Option<u32> {
    entry(vcpu.gdtr(), selector)
}

/// Where `selector`'s descriptor lies: its linear address, or None when it
/// is outside its table (or names the LDT while LDTR is null).
pub(super) fn locate(vcpu: &dyn Vcpu, selector: u16) -> Option<u32> {
    if selector & SELECTOR_TI == 0 {
        return gdt_entry(vcpu, selector);
    }
    let ldtr = vcpu.system_segment(SystemSegReg::Ldtr);
    if ldtr.attrs & 0x80 == 0 {
        return None;
    }
    let ldt = DescriptorTable {
        base: ldtr.base,
        limit: ldtr.limit,
    };
    entry(ldt, selector)
}

/// Reads `selector`'s descriptor: its linear address and value, or None
/// when it is outside its table.
pub(super) fn fetch(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    selector: u16,
) -> Result<Option<(u32, Descriptor)>, Failure> {
    let Some(linear) = locate(vcpu, selector) else {
        return Ok(None);
    };
    let raw = sys.read_u64(vcpu, linear)?;
    Ok(Some((linear, Descriptor(raw))))
}

/// Sets the accessed bit of the descriptor at `linear` in memory, as the
/// processor does when it loads a segment register from it (SDM vol. 3A,
/// 3.4.5, type field), and returns it so.
pub(super) fn touch(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    linear: u32,
    descriptor: Descriptor,
) -> Result<Descriptor, Failure> {
    if !descriptor.accessed() {
        let access = (descriptor.with_accessed().0 >> 40) as u8;
        sys.write(vcpu, linear.wrapping_add(ACCESS_BYTE), &[access])?;
    }
    Ok(descriptor.with_accessed())
}

/// Sets or clears the busy bit of the TSS descriptor at `linear` (SDM vol.
/// 3A, 8.2.2; 8.3, table 8-2).
pub(super) fn set_busy(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    linear: u32,
    busy: bool,
) -> Result<(), Failure> {
    let at = linear.wrapping_add(ACCESS_BYTE);
    let access = sys.read_u8(vcpu, at)?;
    let access = if busy {
        access | TYPE_TSS_BUSY
    } else {
        access & !TYPE_TSS_BUSY
    };
    sys.write(vcpu, at, &[access])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_code_descriptor_decodes() {
        // Base 0, limit FFFFFh pages, P, DPL 0, S, type Bh (code, read,
        // accessed), D/B, G: 00CF9B00_0000FFFF.
        let d = Descriptor(0x00CF_9B00_0000_FFFF);
        assert_eq!(d.base(), 0);
        assert_eq!(d.limit(), 0xFFFF_FFFF);
        assert!(d.code() && d.readable() && d.present() && d.accessed());
        assert!(!d.conforming());
        assert_eq!(d.attrs(), 0xC9B);
    }

    #[test]
    fn a_tss_descriptor_decodes_base_limit_and_type() {
        // Base 12345678h, limit 67h, P, DPL 0, type 9 (available 32-bit TSS).
        let d = Descriptor(0x1200_8934_5678_0067);
        assert_eq!(d.base(), 0x1234_5678);
        assert_eq!(d.limit(), 0x67);
        assert_eq!(d.kind(), system_type::AVAILABLE_TSS32);
        assert!(!d.code_or_data() && d.present());
        assert_eq!(d.dpl(), 0);
    }
}
