//! Fetching and decoding the guest instruction at CS:RIP, for the exits whose
//! instruction length the hardware does not report (QEMU's SVM has no
//! NRIP-save: shared/notes/qemu-tcg-svm.md).
//!
//! The processor mode comes from CR0.PE, EFER.LMA, CS.L and CS.D (Intel SDM
//! vol. 3A, 2.2 "Modes of Operation"; AMD APM vol. 2, 1.2 "Modes of
//! Operation"). Instruction bytes are fetched through the guest's paging
//! ([`crate::page_walk`]), page by page, so an instruction may straddle pages.

use crate::guest_memory::GuestMemory;
use crate::guest_paging::{translate, TranslateError};
use crate::page_walk::Access;
use crate::vcpu::{SegReg, Segment, Vcpu, CR0_PE, EFER_LMA};
use iced_x86::{Decoder, DecoderOptions, Instruction};

/// Longest x86 instruction (Intel SDM vol. 2A, 2.3.11).
pub const MAX_INSTRUCTION_LEN: usize = 15;

/// Why no instruction could be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// Fetching the first byte faults: the guest must take this #PF.
    PageFault { error_code: u32, linear: u64 },
    /// The guest's page tables are outside its RAM.
    TableOutsideRam { gpa: u64 },
    /// No guest memory at the instruction's address.
    Unbacked { gpa: u64 },
    /// The bytes at this linear address are not a valid instruction.
    Invalid { linear: u64 },
}

/// The code size the guest executes in: 16, 32 or 64.
pub fn code_bitness(cr0: u64, efer: u64, cs: &Segment) -> u32 {
    if efer & EFER_LMA != 0 && cs.attrs & Segment::ATTR_L != 0 {
        64
    } else if cr0 & CR0_PE != 0 && cs.attrs & Segment::ATTR_DB != 0 {
        32
    } else {
        16
    }
}

/// The linear address of CS:RIP.
pub fn code_linear_address(bitness: u32, cs: &Segment, rip: u64) -> u64 {
    match bitness {
        64 => rip,
        32 => cs.base.wrapping_add(rip & 0xFFFF_FFFF) & 0xFFFF_FFFF,
        _ => cs.base.wrapping_add(rip & 0xFFFF) & 0xFFFF_FFFF,
    }
}

/// Decodes the instruction at the guest's CS:RIP.
pub fn decode_at_rip(
    vcpu: &dyn Vcpu,
    mem: &mut GuestMemory,
    max_phys_bits: u8,
) -> Result<Instruction, FetchError> {
    let cr = vcpu.control_regs();
    let cs = vcpu.segment(SegReg::Cs);
    let bitness = code_bitness(cr.cr0, cr.efer, &cs);
    let linear = code_linear_address(bitness, &cs, vcpu.rip());
    let access = Access {
        write: false,
        user: vcpu.cpl() == 3,
        fetch: true,
    };
    // Fetch as many bytes as are reachable, up to 15: an instruction that ends
    // just before an unmapped page is still decodable.
    let mut bytes = [0u8; MAX_INSTRUCTION_LEN];
    let mut n = 0;
    while n < MAX_INSTRUCTION_LEN {
        let gpa = match translate(
            vcpu,
            mem,
            max_phys_bits,
            linear.wrapping_add(n as u64),
            access,
        ) {
            Ok(gpa) => gpa,
            Err(TranslateError::PageFault { error_code, linear }) if n == 0 => {
                return Err(FetchError::PageFault { error_code, linear })
            }
            Err(TranslateError::TableOutsideRam { gpa }) if n == 0 => {
                return Err(FetchError::TableOutsideRam { gpa })
            }
            Err(_) => break,
        };
        if mem.read(gpa, &mut bytes[n..=n]).is_err() {
            if n == 0 {
                return Err(FetchError::Unbacked { gpa });
            }
            break;
        }
        n += 1;
    }
    let mut decoder = Decoder::with_ip(bitness, &bytes[..n], vcpu.rip(), DecoderOptions::NONE);
    let insn = decoder.decode();
    if insn.is_invalid() {
        return Err(FetchError::Invalid { linear });
    }
    Ok(insn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_state_is_16_bit_at_top_of_4g() {
        let cs = Segment {
            selector: 0xF000,
            attrs: 0x9B,
            limit: 0xFFFF,
            base: 0xFFFF_0000,
        };
        let b = code_bitness(0x6000_0010, 0, &cs);
        assert_eq!(b, 16);
        assert_eq!(code_linear_address(b, &cs, 0xFFF0), 0xFFFF_FFF0);
        // IP wraps within the 64 KiB segment in real mode
        assert_eq!(code_linear_address(b, &cs, 0x1_0002), 0xFFFF_0002);
    }

    #[test]
    fn protected_and_long_mode_bitness() {
        let cs32 = Segment {
            attrs: 0x9B | Segment::ATTR_DB,
            ..Default::default()
        };
        let cs64 = Segment {
            attrs: 0x9B | Segment::ATTR_L,
            ..Default::default()
        };
        assert_eq!(code_bitness(1, 0, &cs32), 32);
        assert_eq!(code_bitness(0x8000_0001, EFER_LMA, &cs64), 64);
        // compatibility mode: LMA but CS.L clear
        assert_eq!(code_bitness(0x8000_0001, EFER_LMA, &cs32), 32);
    }
}
