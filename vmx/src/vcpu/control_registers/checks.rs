//! The checks a processor makes on MOV to CR0 and MOV to CR4, as pure
//! functions: a guest write the hypervisor completes (because it touched a
//! host-owned bit) must fault exactly where the processor's own would, with
//! #GP(0) and RIP left on the instruction, never reach VM entry as a state
//! the entry checks refuse.
//!
//! Cited manual (numbering and revision as in [`crate::controls`]):
//! - vol. 2B, "MOV—Move to/from Control Registers", its "Protected Mode
//!   Exceptions", "Real-Address Mode Exceptions" and "64-Bit Mode
//!   Exceptions", and "Operation" (outside 64-bit mode the source operand is
//!   32 bits wide);
//! - vol. 3A, 2.5 "Control Registers" (reserved bits, CR0.PG/PE, CR0.NW/CD,
//!   CR4.PCIDE, CR4.LA57, CR4.CET);
//! - vol. 3A, 10.8.5 "Initializing IA-32e Mode" (activating long mode needs
//!   CR4.PAE; leaving it only from compatibility mode, never with PAE
//!   cleared first).

/// CR0.PE (bit 0): protection enable.
pub const CR0_PE: u64 = 1 << 0;
/// CR0.WP (bit 16): write protect.
pub const CR0_WP: u64 = 1 << 16;
/// CR0.NW (bit 29): not write-through.
pub const CR0_NW: u64 = 1 << 29;
/// CR0.CD (bit 30): cache disable.
pub const CR0_CD: u64 = 1 << 30;
/// CR0.PG (bit 31): paging.
pub const CR0_PG: u64 = 1 << 31;
/// CR0 bits 63:32, reserved: writing a 1 is #GP(0) (SDM vol. 3A, 2.5).
pub const CR0_RESERVED_HIGH: u64 = 0xFFFF_FFFF_0000_0000;

/// CR4.PAE (bit 5): physical address extension.
pub const CR4_PAE: u64 = 1 << 5;
/// CR4.LA57 (bit 12): 5-level paging.
pub const CR4_LA57: u64 = 1 << 12;
/// CR4.PCIDE (bit 17): process-context identifiers.
pub const CR4_PCIDE: u64 = 1 << 17;
/// CR4.CET (bit 23): control-flow enforcement.
pub const CR4_CET: u64 = 1 << 23;

/// EFER.LME (bit 8): long mode enable.
const EFER_LME: u64 = 1 << 8;
/// EFER.LMA (bit 10): long mode active.
const EFER_LMA: u64 = 1 << 10;
/// CR3 bits 11:0: the PCID when CR4.PCIDE = 1.
const CR3_PCID: u64 = 0xFFF;

/// The guest state a MOV to CR0 or CR4 is checked against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrWriteContext {
    /// CR0 as the guest sees it before the write.
    pub cr0: u64,
    /// CR3 before the write.
    pub cr3: u64,
    /// CR4 as the guest sees it before the write.
    pub cr4: u64,
    /// EFER as the guest sees it.
    pub efer: u64,
    /// CS.L: with EFER.LMA, the guest is in 64-bit mode.
    pub cs_long: bool,
    /// CR4 bits the guest may not set: those outside IA32_VMX_CR4_FIXED1
    /// (SDM vol. 3D, A.8 "VMX-Fixed Bits in CR4") and those of features the
    /// guest's CPUID does not offer.
    pub cr4_reserved: u64,
}

impl CrWriteContext {
    /// EFER.LMA: IA-32e mode is active.
    fn long_mode_active(&self) -> bool {
        self.efer & EFER_LMA != 0
    }

    /// IA-32e mode with CS.L = 1: 64-bit mode, where MOV to CR takes all
    /// 64 bits of its source.
    fn in_64_bit_mode(&self) -> bool {
        self.long_mode_active() && self.cs_long
    }

    /// The value a MOV to CR loads from the general-purpose register
    /// `source`: outside 64-bit mode only its low 32 bits (SDM vol. 2B, MOV
    /// to CR, "Operation").
    pub fn operand(&self, source: u64) -> u64 {
        if self.in_64_bit_mode() {
            source
        } else {
            source & 0xFFFF_FFFF
        }
    }
}

/// Why a MOV to CR0 or CR4 raises #GP(0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrWriteFault {
    /// A 1 in a reserved bit: CR0 bits 63:32, or a CR4 bit the processor
    /// (or the guest's CPUID) does not offer.
    ReservedBit,
    /// CR0.PG = 1 with CR0.PE = 0.
    PagingWithoutProtection,
    /// CR0.NW = 1 with CR0.CD = 0.
    NotWriteThroughWithCachingEnabled,
    /// CR0.PG set with EFER.LME = 1 and CR4.PAE = 0: IA-32e mode cannot be
    /// activated without PAE (SDM vol. 3A, 10.8.5).
    LongModeWithoutPae,
    /// CR0.PG cleared in 64-bit mode: IA-32e mode is left only from
    /// compatibility mode (SDM vol. 3A, 10.8.5; MOV to CR, "64-Bit Mode
    /// Exceptions").
    PagingClearedIn64BitMode,
    /// CR0.PG cleared with CR4.PCIDE = 1 (SDM vol. 3A, 2.5).
    PagingClearedWithPcide,
    /// CR0.WP cleared with CR4.CET = 1, or CR4.CET set with CR0.WP = 0.
    CetWithoutWriteProtect,
    /// CR4.PAE cleared while IA-32e mode is active.
    PaeClearedInLongMode,
    /// CR4.LA57 changed while IA-32e mode is active.
    La57ChangedInLongMode,
    /// CR4.PCIDE set outside IA-32e mode or with a nonzero PCID in CR3.
    PcideNotAllowed,
}

/// Checks a MOV to CR0 of `value` (already narrowed by
/// [`CrWriteContext::operand`]) against `ctx`: Ok when the processor would
/// load it, else the #GP(0) it would raise (SDM vol. 2B, MOV to CR,
/// "Protected Mode Exceptions" and "64-Bit Mode Exceptions").
pub fn check_cr0_write(value: u64, ctx: &CrWriteContext) -> Result<(), CrWriteFault> {
    let old = ctx.cr0;
    if value & CR0_RESERVED_HIGH != 0 {
        return Err(CrWriteFault::ReservedBit);
    }
    if value & CR0_PG != 0 && value & CR0_PE == 0 {
        return Err(CrWriteFault::PagingWithoutProtection);
    }
    if value & CR0_NW != 0 && value & CR0_CD == 0 {
        return Err(CrWriteFault::NotWriteThroughWithCachingEnabled);
    }
    let enables_paging = old & CR0_PG == 0 && value & CR0_PG != 0;
    let disables_paging = old & CR0_PG != 0 && value & CR0_PG == 0;
    if enables_paging && ctx.efer & EFER_LME != 0 && ctx.cr4 & CR4_PAE == 0 {
        return Err(CrWriteFault::LongModeWithoutPae);
    }
    if disables_paging && ctx.in_64_bit_mode() {
        return Err(CrWriteFault::PagingClearedIn64BitMode);
    }
    if disables_paging && ctx.cr4 & CR4_PCIDE != 0 {
        return Err(CrWriteFault::PagingClearedWithPcide);
    }
    if value & CR0_WP == 0 && ctx.cr4 & CR4_CET != 0 {
        return Err(CrWriteFault::CetWithoutWriteProtect);
    }
    Ok(())
}

/// Checks a MOV to CR4 of `value` (already narrowed by
/// [`CrWriteContext::operand`]) against `ctx`: Ok when the processor would
/// load it, else the #GP(0) it would raise (SDM vol. 2B, MOV to CR,
/// "Protected Mode Exceptions" and "64-Bit Mode Exceptions").
pub fn check_cr4_write(value: u64, ctx: &CrWriteContext) -> Result<(), CrWriteFault> {
    let old = ctx.cr4;
    if value & ctx.cr4_reserved != 0 {
        return Err(CrWriteFault::ReservedBit);
    }
    let long_mode = ctx.long_mode_active();
    if long_mode && value & CR4_PAE == 0 {
        return Err(CrWriteFault::PaeClearedInLongMode);
    }
    if long_mode && (value ^ old) & CR4_LA57 != 0 {
        return Err(CrWriteFault::La57ChangedInLongMode);
    }
    if old & CR4_PCIDE == 0 && value & CR4_PCIDE != 0 && (!long_mode || ctx.cr3 & CR3_PCID != 0) {
        return Err(CrWriteFault::PcideNotAllowed);
    }
    if value & CR4_CET != 0 && ctx.cr0 & CR0_WP == 0 {
        return Err(CrWriteFault::CetWithoutWriteProtect);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CR4.VMXE, hidden from the guest.
    const VMXE: u64 = 1 << 13;
    /// Skylake's IA32_VMX_CR4_FIXED1 (capabilities/fixtures.rs).
    const SKYLAKE_CR4_FIXED1: u64 = 0x0037_27FF;
    /// CR0.ET and CR0.NE, as every guest since the 486 has them.
    const ET_NE: u64 = (1 << 4) | (1 << 5);

    fn real_mode() -> CrWriteContext {
        CrWriteContext {
            cr0: ET_NE,
            cr4_reserved: !SKYLAKE_CR4_FIXED1 | VMXE,
            ..Default::default()
        }
    }

    /// 64-bit mode: PE, PG, PAE, LME and LMA, CS.L = 1.
    fn long_mode_64() -> CrWriteContext {
        CrWriteContext {
            cr0: ET_NE | CR0_PE | CR0_PG,
            cr4: CR4_PAE,
            efer: EFER_LME | EFER_LMA,
            cs_long: true,
            ..real_mode()
        }
    }

    /// Compatibility mode: IA-32e mode with CS.L = 0.
    fn compatibility_mode() -> CrWriteContext {
        CrWriteContext {
            cs_long: false,
            ..long_mode_64()
        }
    }

    #[test]
    fn paging_without_protection_faults() {
        assert_eq!(
            check_cr0_write(ET_NE | CR0_PG, &real_mode()),
            Err(CrWriteFault::PagingWithoutProtection)
        );
        assert_eq!(
            check_cr0_write(ET_NE | CR0_PE | CR0_PG, &real_mode()),
            Ok(())
        );
    }

    #[test]
    fn not_write_through_without_cache_disable_faults() {
        assert_eq!(
            check_cr0_write(ET_NE | CR0_NW, &real_mode()),
            Err(CrWriteFault::NotWriteThroughWithCachingEnabled)
        );
        // The reset value, CD and NW both set, is fine.
        assert_eq!(
            check_cr0_write(ET_NE | CR0_CD | CR0_NW, &real_mode()),
            Ok(())
        );
        assert_eq!(check_cr0_write(ET_NE | CR0_CD, &real_mode()), Ok(()));
    }

    #[test]
    fn activating_long_mode_without_pae_faults() {
        let ctx = CrWriteContext {
            cr0: ET_NE | CR0_PE,
            efer: EFER_LME,
            ..real_mode()
        };
        assert_eq!(
            check_cr0_write(ET_NE | CR0_PE | CR0_PG, &ctx),
            Err(CrWriteFault::LongModeWithoutPae)
        );
        let with_pae = CrWriteContext {
            cr4: CR4_PAE,
            ..ctx
        };
        assert_eq!(check_cr0_write(ET_NE | CR0_PE | CR0_PG, &with_pae), Ok(()));
        // Without LME it is 32-bit paging, which needs no PAE.
        let legacy = CrWriteContext { efer: 0, ..ctx };
        assert_eq!(check_cr0_write(ET_NE | CR0_PE | CR0_PG, &legacy), Ok(()));
    }

    #[test]
    fn clearing_paging_in_64_bit_code_faults_but_compatibility_mode_may_leave() {
        let off = ET_NE | CR0_PE;
        assert_eq!(
            check_cr0_write(off, &long_mode_64()),
            Err(CrWriteFault::PagingClearedIn64BitMode)
        );
        assert_eq!(check_cr0_write(off, &compatibility_mode()), Ok(()));
    }

    #[test]
    fn clearing_paging_with_pcide_faults() {
        let ctx = CrWriteContext {
            cr4: CR4_PAE | CR4_PCIDE,
            ..compatibility_mode()
        };
        assert_eq!(
            check_cr0_write(ET_NE | CR0_PE, &ctx),
            Err(CrWriteFault::PagingClearedWithPcide)
        );
    }

    #[test]
    fn cr0_bits_63_32_fault_in_64_bit_mode_and_are_not_seen_elsewhere() {
        let ctx = long_mode_64();
        let value = ctx.operand((1 << 40) | ctx.cr0);
        assert_eq!(check_cr0_write(value, &ctx), Err(CrWriteFault::ReservedBit));
        // Outside 64-bit mode the operand is 32 bits: stale upper halves of
        // the register are not written.
        let ctx = real_mode();
        let value = ctx.operand((1 << 40) | ET_NE);
        assert_eq!(value, ET_NE);
        assert_eq!(check_cr0_write(value, &ctx), Ok(()));
        let ctx = compatibility_mode();
        assert_eq!(ctx.operand(u64::MAX), 0xFFFF_FFFF);
    }

    #[test]
    fn cr4_bits_outside_fixed1_or_hidden_fault() {
        const UMIP: u64 = 1 << 11; // not in Skylake's CR4_FIXED1
        assert_eq!(
            check_cr4_write(UMIP, &real_mode()),
            Err(CrWriteFault::ReservedBit)
        );
        assert_eq!(
            check_cr4_write(VMXE, &real_mode()),
            Err(CrWriteFault::ReservedBit),
            "VMX is not offered to the guest"
        );
        let ctx = long_mode_64();
        assert_eq!(
            check_cr4_write(CR4_PAE | (1 << 32), &ctx),
            Err(CrWriteFault::ReservedBit)
        );
        // PSE, PAE, PGE, OSFXSR, OSXMMEXCPT are all offered.
        let ordinary = (1 << 4) | CR4_PAE | (1 << 7) | (1 << 9) | (1 << 10);
        assert_eq!(check_cr4_write(ordinary, &real_mode()), Ok(()));
    }

    #[test]
    fn clearing_pae_in_long_mode_faults() {
        assert_eq!(
            check_cr4_write(0, &long_mode_64()),
            Err(CrWriteFault::PaeClearedInLongMode)
        );
        assert_eq!(
            check_cr4_write(0, &compatibility_mode()),
            Err(CrWriteFault::PaeClearedInLongMode)
        );
        // Outside long mode PAE may come and go.
        let pae_paging = CrWriteContext {
            cr0: ET_NE | CR0_PE | CR0_PG,
            cr4: CR4_PAE,
            ..real_mode()
        };
        assert_eq!(check_cr4_write(0, &pae_paging), Ok(()));
    }

    #[test]
    fn la57_may_not_change_in_long_mode() {
        let ctx = CrWriteContext {
            cr4_reserved: 0,
            ..long_mode_64()
        };
        assert_eq!(
            check_cr4_write(CR4_PAE | CR4_LA57, &ctx),
            Err(CrWriteFault::La57ChangedInLongMode)
        );
    }

    #[test]
    fn pcide_needs_long_mode_and_pcid_zero() {
        let ctx = long_mode_64();
        assert_eq!(check_cr4_write(CR4_PAE | CR4_PCIDE, &ctx), Ok(()));
        let with_pcid = CrWriteContext { cr3: 0x1001, ..ctx };
        assert_eq!(
            check_cr4_write(CR4_PAE | CR4_PCIDE, &with_pcid),
            Err(CrWriteFault::PcideNotAllowed)
        );
        assert_eq!(
            check_cr4_write(CR4_PCIDE, &real_mode()),
            Err(CrWriteFault::PcideNotAllowed)
        );
    }

    #[test]
    fn cet_needs_write_protect() {
        let ctx = CrWriteContext {
            cr4_reserved: 0,
            ..long_mode_64()
        };
        assert_eq!(
            check_cr4_write(CR4_PAE | CR4_CET, &ctx),
            Err(CrWriteFault::CetWithoutWriteProtect)
        );
        let wp = CrWriteContext {
            cr0: ctx.cr0 | CR0_WP,
            ..ctx
        };
        assert_eq!(check_cr4_write(CR4_PAE | CR4_CET, &wp), Ok(()));
        let cet = CrWriteContext {
            cr4: CR4_PAE | CR4_CET,
            ..wp
        };
        assert_eq!(
            check_cr0_write(wp.cr0 & !CR0_WP, &cet),
            Err(CrWriteFault::CetWithoutWriteProtect)
        );
    }

    #[test]
    fn ordinary_writes_pass() {
        // Real mode to protected mode, then leaving it.
        assert_eq!(check_cr0_write(ET_NE | CR0_PE, &real_mode()), Ok(()));
        let pm = CrWriteContext {
            cr0: ET_NE | CR0_PE,
            ..real_mode()
        };
        assert_eq!(check_cr0_write(ET_NE, &pm), Ok(()));
        // Setting NE or TS in 64-bit mode.
        let ctx = long_mode_64();
        assert_eq!(check_cr0_write(ctx.cr0 | (1 << 3), &ctx), Ok(()));
        assert_eq!(check_cr4_write(CR4_PAE | (1 << 7), &ctx), Ok(()));
    }
}
