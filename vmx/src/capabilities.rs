//! What the processor's VMX implementation allows, from its capability MSRs,
//! and the computation of control values VM entry will accept.
//!
//! Cited manual: Intel 64 and IA-32 Architectures Software Developer's Manual,
//! order number 325462, in the chapter numbering Intel adopted in 2023 (see
//! [`crate::controls`]):
//! - vol. 3D, appendix A "VMX Capability Reporting Facility": A.1 "Basic VMX
//!   Information", A.3 "VM-Execution Controls", A.4 "VM-Exit Controls", A.5
//!   "VM-Entry Controls", A.6 "Miscellaneous Data", A.7 "VMX-Fixed Bits in CR0",
//!   A.8 "VMX-Fixed Bits in CR4", A.10 "VPID and EPT Capabilities";
//! - vol. 3C, 27.2.1 "Checks on VMX Controls" (26.2.1 in older editions): a
//!   control field with a bit its MSR does not allow fails VM entry;
//! - vol. 3C, 27.3.1.1 "Checks on Guest Control Registers, Debug Registers, and
//!   MSRs" (26.3.1.1 before): the CR0/CR4 fixed bits, with PE and PG exempt
//!   under "unrestricted guest".
//!
//! Each control MSR reports, in bits 31:0, the allowed 0-settings (a bit set
//! there must be 1 in the control) and, in bits 63:32, the allowed 1-settings
//! (a bit clear there must be 0). When IA32_VMX_BASIC bit 55 is set, the
//! IA32_VMX_TRUE_* MSRs replace the four original ones: they report the same
//! allowed 1-settings but may allow 0 for bits the originals force to 1
//! (appendix A.2 "Reserved Controls and Default Settings").

use crate::controls::{
    ControlRegister, EntryControls, ExitControls, PinBasedControls, PrimaryControls,
    SecondaryControls,
};
use bitflags::bitflags;
use core::fmt;

pub mod fixtures;

/// Capability MSR indices (SDM vol. 4, table 2-2, and vol. 3D appendix A).
pub mod msr {
    /// IA32_FEATURE_CONTROL: lock and VMXON enables.
    pub const IA32_FEATURE_CONTROL: u32 = 0x3A;
    /// IA32_VMX_BASIC: revision, VMCS size, memory type, true-controls flag.
    pub const IA32_VMX_BASIC: u32 = 0x480;
    /// IA32_VMX_PINBASED_CTLS: pin-based controls.
    pub const IA32_VMX_PINBASED_CTLS: u32 = 0x481;
    /// IA32_VMX_PROCBASED_CTLS: primary processor-based controls.
    pub const IA32_VMX_PROCBASED_CTLS: u32 = 0x482;
    /// IA32_VMX_EXIT_CTLS: VM-exit controls.
    pub const IA32_VMX_EXIT_CTLS: u32 = 0x483;
    /// IA32_VMX_ENTRY_CTLS: VM-entry controls.
    pub const IA32_VMX_ENTRY_CTLS: u32 = 0x484;
    /// IA32_VMX_MISC: preemption-timer rate, activity states, list sizes.
    pub const IA32_VMX_MISC: u32 = 0x485;
    /// IA32_VMX_CR0_FIXED0: CR0 bits that must be 1.
    pub const IA32_VMX_CR0_FIXED0: u32 = 0x486;
    /// IA32_VMX_CR0_FIXED1: CR0 bits that may be 1.
    pub const IA32_VMX_CR0_FIXED1: u32 = 0x487;
    /// IA32_VMX_CR4_FIXED0: CR4 bits that must be 1.
    pub const IA32_VMX_CR4_FIXED0: u32 = 0x488;
    /// IA32_VMX_CR4_FIXED1: CR4 bits that may be 1.
    pub const IA32_VMX_CR4_FIXED1: u32 = 0x489;
    /// IA32_VMX_VMCS_ENUM: highest VMCS field index.
    pub const IA32_VMX_VMCS_ENUM: u32 = 0x48A;
    /// IA32_VMX_PROCBASED_CTLS2: secondary processor-based controls.
    pub const IA32_VMX_PROCBASED_CTLS2: u32 = 0x48B;
    /// IA32_VMX_EPT_VPID_CAP: EPT and VPID capabilities.
    pub const IA32_VMX_EPT_VPID_CAP: u32 = 0x48C;
    /// IA32_VMX_TRUE_PINBASED_CTLS: pin-based controls, true 0-settings.
    pub const IA32_VMX_TRUE_PINBASED_CTLS: u32 = 0x48D;
    /// IA32_VMX_TRUE_PROCBASED_CTLS: primary controls, true 0-settings.
    pub const IA32_VMX_TRUE_PROCBASED_CTLS: u32 = 0x48E;
    /// IA32_VMX_TRUE_EXIT_CTLS: VM-exit controls, true 0-settings.
    pub const IA32_VMX_TRUE_EXIT_CTLS: u32 = 0x48F;
    /// IA32_VMX_TRUE_ENTRY_CTLS: VM-entry controls, true 0-settings.
    pub const IA32_VMX_TRUE_ENTRY_CTLS: u32 = 0x490;
    /// IA32_VMX_VMFUNC: allowed VM functions.
    pub const IA32_VMX_VMFUNC: u32 = 0x491;

    /// The SDM's name of a capability MSR, for messages.
    pub fn name(msr: u32) -> &'static str {
        match msr {
            IA32_FEATURE_CONTROL => "IA32_FEATURE_CONTROL",
            IA32_VMX_BASIC => "IA32_VMX_BASIC",
            IA32_VMX_PINBASED_CTLS => "IA32_VMX_PINBASED_CTLS",
            IA32_VMX_PROCBASED_CTLS => "IA32_VMX_PROCBASED_CTLS",
            IA32_VMX_EXIT_CTLS => "IA32_VMX_EXIT_CTLS",
            IA32_VMX_ENTRY_CTLS => "IA32_VMX_ENTRY_CTLS",
            IA32_VMX_MISC => "IA32_VMX_MISC",
            IA32_VMX_CR0_FIXED0 => "IA32_VMX_CR0_FIXED0",
            IA32_VMX_CR0_FIXED1 => "IA32_VMX_CR0_FIXED1",
            IA32_VMX_CR4_FIXED0 => "IA32_VMX_CR4_FIXED0",
            IA32_VMX_CR4_FIXED1 => "IA32_VMX_CR4_FIXED1",
            IA32_VMX_VMCS_ENUM => "IA32_VMX_VMCS_ENUM",
            IA32_VMX_PROCBASED_CTLS2 => "IA32_VMX_PROCBASED_CTLS2",
            IA32_VMX_EPT_VPID_CAP => "IA32_VMX_EPT_VPID_CAP",
            IA32_VMX_TRUE_PINBASED_CTLS => "IA32_VMX_TRUE_PINBASED_CTLS",
            IA32_VMX_TRUE_PROCBASED_CTLS => "IA32_VMX_TRUE_PROCBASED_CTLS",
            IA32_VMX_TRUE_EXIT_CTLS => "IA32_VMX_TRUE_EXIT_CTLS",
            IA32_VMX_TRUE_ENTRY_CTLS => "IA32_VMX_TRUE_ENTRY_CTLS",
            IA32_VMX_VMFUNC => "IA32_VMX_VMFUNC",
            _ => "an unnamed MSR",
        }
    }
}

bitflags! {
    /// IA32_FEATURE_CONTROL bits that gate VMXON (SDM vol. 3C, 24.7 "Enabling
    /// and Entering VMX Operation").
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FeatureControl: u64 {
        /// Bit 0: the MSR is locked until reset; VMXON faults while it is clear.
        const LOCK = 1 << 0;
        /// Bit 1: VMXON is allowed inside SMX operation.
        const VMX_INSIDE_SMX = 1 << 1;
        /// Bit 2: VMXON is allowed outside SMX operation.
        const VMX_OUTSIDE_SMX = 1 << 2;
    }
}

/// IA32_VMX_BASIC bits 30:0: the VMCS revision identifier.
const BASIC_REVISION_MASK: u64 = 0x7FFF_FFFF;
/// IA32_VMX_BASIC bits 44:32: bytes to allocate for the VMXON region and each VMCS.
const BASIC_REGION_SIZE_SHIFT: u32 = 32;
/// Width of the region-size field (13 bits).
const BASIC_REGION_SIZE_MASK: u64 = 0x1FFF;
/// IA32_VMX_BASIC bit 48: VMXON/VMCS/bitmap addresses are limited to 32 bits.
const BASIC_ADDRESSES_32BIT: u64 = 1 << 48;
/// IA32_VMX_BASIC bit 49: the dual-monitor treatment of SMIs is supported.
const BASIC_DUAL_MONITOR: u64 = 1 << 49;
/// IA32_VMX_BASIC bits 53:50: memory type for VMCS and VMX structures.
const BASIC_MEMORY_TYPE_SHIFT: u32 = 50;
/// Width of the memory-type field (4 bits).
const BASIC_MEMORY_TYPE_MASK: u64 = 0xF;
/// IA32_VMX_BASIC bit 54: INS/OUTS exits report the instruction-information field.
const BASIC_INS_OUTS_INFO: u64 = 1 << 54;
/// IA32_VMX_BASIC bit 55: the IA32_VMX_TRUE_* control MSRs exist.
const BASIC_TRUE_CONTROLS: u64 = 1 << 55;

/// IA32_VMX_BASIC, decoded (SDM appendix A.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmxBasic {
    /// VMCS revision identifier, written into the VMXON region and every VMCS.
    pub revision_id: u32,
    /// Size in bytes of the VMXON region and of a VMCS (at most 4096).
    pub region_size: u16,
    /// Physical addresses of VMX structures must fit in 32 bits.
    pub addresses_32bit: bool,
    /// The dual-monitor treatment of SMIs and SMM is supported.
    pub dual_monitor: bool,
    /// Memory type the processor uses for the VMCS and structures it references (6 = WB).
    pub memory_type: u8,
    /// VM exits for INS/OUTS record the VM-exit instruction-information field.
    pub ins_outs_info: bool,
    /// The IA32_VMX_TRUE_* control MSRs exist and should be used.
    pub true_controls: bool,
}

impl VmxBasic {
    /// Decodes IA32_VMX_BASIC.
    pub fn decode(raw: u64) -> Self {
        Self {
            revision_id: (raw & BASIC_REVISION_MASK) as u32,
            region_size: ((raw >> BASIC_REGION_SIZE_SHIFT) & BASIC_REGION_SIZE_MASK) as u16,
            addresses_32bit: raw & BASIC_ADDRESSES_32BIT != 0,
            dual_monitor: raw & BASIC_DUAL_MONITOR != 0,
            memory_type: ((raw >> BASIC_MEMORY_TYPE_SHIFT) & BASIC_MEMORY_TYPE_MASK) as u8,
            ins_outs_info: raw & BASIC_INS_OUTS_INFO != 0,
            true_controls: raw & BASIC_TRUE_CONTROLS != 0,
        }
    }
}

/// IA32_VMX_MISC bits 4:0: the preemption timer counts once per 2^N TSC ticks.
const MISC_TIMER_SHIFT_MASK: u64 = 0x1F;
/// IA32_VMX_MISC bit 5: VM exits store IA32_EFER.LMA into "IA-32e mode guest".
const MISC_STORES_LMA: u64 = 1 << 5;
/// IA32_VMX_MISC bit 6: the HLT activity state is supported.
const MISC_ACTIVITY_HLT: u64 = 1 << 6;
/// IA32_VMX_MISC bit 7: the shutdown activity state is supported.
const MISC_ACTIVITY_SHUTDOWN: u64 = 1 << 7;
/// IA32_VMX_MISC bit 8: the wait-for-SIPI activity state is supported.
const MISC_ACTIVITY_WAIT_FOR_SIPI: u64 = 1 << 8;
/// IA32_VMX_MISC bits 24:16: number of CR3-target values.
const MISC_CR3_TARGETS_SHIFT: u32 = 16;
/// Width of the CR3-target count (9 bits).
const MISC_CR3_TARGETS_MASK: u64 = 0x1FF;
/// IA32_VMX_MISC bits 27:25: N, where 512 * (N + 1) is the recommended MSR-list maximum.
const MISC_MSR_LIST_SHIFT: u32 = 25;
/// Width of the MSR-list field (3 bits).
const MISC_MSR_LIST_MASK: u64 = 0x7;
/// IA32_VMX_MISC bit 29: VMWRITE may write the VM-exit information fields.
const MISC_VMWRITE_ANY_FIELD: u64 = 1 << 29;
/// IA32_VMX_MISC bit 30: software interrupts and exceptions may be injected with length 0.
const MISC_ZERO_LENGTH_INJECTION: u64 = 1 << 30;

/// IA32_VMX_MISC, decoded (SDM appendix A.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmxMisc {
    /// The preemption timer decrements every 2^shift TSC ticks.
    pub preemption_timer_shift: u8,
    /// VM exits store IA32_EFER.LMA into the "IA-32e mode guest" entry control.
    pub stores_lma: bool,
    /// The HLT activity state may be entered.
    pub activity_hlt: bool,
    /// The shutdown activity state may be entered.
    pub activity_shutdown: bool,
    /// The wait-for-SIPI activity state may be entered.
    pub activity_wait_for_sipi: bool,
    /// Number of CR3-target values.
    pub cr3_target_count: u16,
    /// Recommended maximum number of entries in each MSR load/store list.
    pub max_msr_list_entries: u32,
    /// VMWRITE may write the read-only VM-exit information fields.
    pub vmwrite_any_field: bool,
    /// Software interrupts and exceptions may be injected with instruction length 0.
    pub zero_length_injection: bool,
}

impl VmxMisc {
    /// Decodes IA32_VMX_MISC.
    pub fn decode(raw: u64) -> Self {
        let n = ((raw >> MISC_MSR_LIST_SHIFT) & MISC_MSR_LIST_MASK) as u32;
        Self {
            preemption_timer_shift: (raw & MISC_TIMER_SHIFT_MASK) as u8,
            stores_lma: raw & MISC_STORES_LMA != 0,
            activity_hlt: raw & MISC_ACTIVITY_HLT != 0,
            activity_shutdown: raw & MISC_ACTIVITY_SHUTDOWN != 0,
            activity_wait_for_sipi: raw & MISC_ACTIVITY_WAIT_FOR_SIPI != 0,
            cr3_target_count: ((raw >> MISC_CR3_TARGETS_SHIFT) & MISC_CR3_TARGETS_MASK) as u16,
            max_msr_list_entries: 512 * (n + 1),
            vmwrite_any_field: raw & MISC_VMWRITE_ANY_FIELD != 0,
            zero_length_injection: raw & MISC_ZERO_LENGTH_INJECTION != 0,
        }
    }
}

bitflags! {
    /// IA32_VMX_EPT_VPID_CAP (SDM appendix A.10).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct EptVpidCap: u64 {
        /// Bit 0: EPT entries may allow execute without read.
        const EXECUTE_ONLY = 1 << 0;
        /// Bit 6: page-walk length 4 is supported.
        const PAGE_WALK_4 = 1 << 6;
        /// Bit 7: page-walk length 5 is supported.
        const PAGE_WALK_5 = 1 << 7;
        /// Bit 8: the EPT structures may be uncacheable (UC).
        const MEMORY_TYPE_UC = 1 << 8;
        /// Bit 14: the EPT structures may be write-back (WB).
        const MEMORY_TYPE_WB = 1 << 14;
        /// Bit 16: an EPT PDE may map a 2-MiB page.
        const PAGES_2M = 1 << 16;
        /// Bit 17: an EPT PDPTE may map a 1-GiB page.
        const PAGES_1G = 1 << 17;
        /// Bit 20: INVEPT is supported.
        const INVEPT = 1 << 20;
        /// Bit 21: EPT accessed and dirty flags are supported.
        const ACCESSED_DIRTY = 1 << 21;
        /// Bit 22: EPT violations report advanced information in the qualification.
        const ADVANCED_EXIT_INFO = 1 << 22;
        /// Bit 25: INVEPT single-context type is supported.
        const INVEPT_SINGLE_CONTEXT = 1 << 25;
        /// Bit 26: INVEPT all-context type is supported.
        const INVEPT_ALL_CONTEXT = 1 << 26;
        /// Bit 32: INVVPID is supported.
        const INVVPID = 1 << 32;
        /// Bit 40: INVVPID individual-address type is supported.
        const INVVPID_INDIVIDUAL_ADDRESS = 1 << 40;
        /// Bit 41: INVVPID single-context type is supported.
        const INVVPID_SINGLE_CONTEXT = 1 << 41;
        /// Bit 42: INVVPID all-context type is supported.
        const INVVPID_ALL_CONTEXT = 1 << 42;
        /// Bit 43: INVVPID single-context-retaining-globals type is supported.
        const INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS = 1 << 43;
    }
}

/// The allowed settings of one 32-bit control field, as its capability MSR
/// reports them (SDM appendix A.3-A.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowedSettings {
    /// Bits that must be 1 (the MSR's bits 31:0).
    pub must_be_one: u32,
    /// Bits that may be 1 (the MSR's bits 63:32).
    pub may_be_one: u32,
}

impl AllowedSettings {
    /// Splits a control capability MSR.
    pub fn from_msr(msr: u64) -> Self {
        Self {
            must_be_one: msr as u32,
            may_be_one: (msr >> 32) as u32,
        }
    }

    /// Nothing may be set: the settings of a control field the processor lacks.
    pub const NONE: Self = Self {
        must_be_one: 0,
        may_be_one: 0,
    };

    /// True when every bit of `bits` may be 1.
    pub fn allows(self, bits: u32) -> bool {
        bits & !self.may_be_one == 0
    }

    /// The control value: `required` and the bits that must be 1, plus whichever
    /// of `optional` may be 1; an error naming the bits that cannot be 1.
    pub fn adjust(
        self,
        register: ControlRegister,
        required: u32,
        optional: u32,
    ) -> Result<u32, MissingControls> {
        let needed = required | self.must_be_one;
        let missing = needed & !self.may_be_one;
        if missing != 0 {
            return Err(MissingControls { register, missing });
        }
        Ok(needed | (optional & self.may_be_one))
    }
}

/// The control value for `wanted` under a control capability MSR (SDM 27.2.1,
/// appendix A.3): allowed-0 bits forced to 1, and an error if a wanted bit is
/// not allowed to be 1.
pub fn adjust_controls(
    register: ControlRegister,
    msr: u64,
    wanted: u32,
) -> Result<u32, MissingControls> {
    AllowedSettings::from_msr(msr).adjust(register, wanted, 0)
}

/// As [`adjust_controls`], with `optional` bits set only where allowed.
pub fn adjust_controls_with_optional(
    register: ControlRegister,
    msr: u64,
    required: u32,
    optional: u32,
) -> Result<u32, MissingControls> {
    AllowedSettings::from_msr(msr).adjust(register, required, optional)
}

/// Control bits the hypervisor needs that the processor cannot set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingControls {
    pub register: ControlRegister,
    pub missing: u32,
}

impl fmt::Display for MissingControls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lack bits {:#010x} (",
            self.register.name(),
            self.missing
        )?;
        let mut first = true;
        for bit in (0..32).filter(|b| self.missing & (1 << b) != 0) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            match self.register.bit_name(bit) {
                Some(name) => f.write_str(name)?,
                None => write!(f, "bit {bit}")?,
            }
        }
        f.write_str(")")
    }
}

/// Why the capabilities could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityError {
    /// A capability MSR the SDM says exists could not be read (RDMSR faulted).
    Unreadable { msr: u32 },
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapabilityError::Unreadable { msr: m } => {
                write!(f, "{} (MSR {m:#x}) could not be read", msr::name(*m))
            }
        }
    }
}

/// CR0 bit 0: protection enable.
pub const CR0_PE: u64 = 1 << 0;
/// CR0 bit 31: paging.
pub const CR0_PG: u64 = 1 << 31;

/// Everything the capability MSRs report that this backend uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmxCapabilities {
    pub basic: VmxBasic,
    /// Pin-based controls (from the TRUE MSR when BASIC bit 55 is set).
    pub pin: AllowedSettings,
    /// Primary processor-based controls (TRUE MSR when available).
    pub primary: AllowedSettings,
    /// Secondary processor-based controls; [`AllowedSettings::NONE`] without them.
    pub secondary: AllowedSettings,
    /// VM-exit controls (TRUE MSR when available).
    pub exit: AllowedSettings,
    /// VM-entry controls (TRUE MSR when available).
    pub entry: AllowedSettings,
    pub misc: VmxMisc,
    pub cr0_fixed0: u64,
    pub cr0_fixed1: u64,
    pub cr4_fixed0: u64,
    pub cr4_fixed1: u64,
    /// EPT and VPID capabilities; empty when neither EPT nor VPID can be enabled.
    pub ept_vpid: EptVpidCap,
}

impl VmxCapabilities {
    /// Reads the capability MSRs through `read` (None where RDMSR would fault).
    /// IA32_VMX_PROCBASED_CTLS2 is read only when "activate secondary controls"
    /// may be 1, and IA32_VMX_EPT_VPID_CAP only when "enable EPT" or "enable
    /// VPID" may be 1 (appendix A.3.3, A.10).
    pub fn from_msrs(read: impl Fn(u32) -> Option<u64>) -> Result<Self, CapabilityError> {
        let get = |m: u32| read(m).ok_or(CapabilityError::Unreadable { msr: m });
        let basic = VmxBasic::decode(get(msr::IA32_VMX_BASIC)?);
        let (pin, proc, exit, entry) = if basic.true_controls {
            (
                msr::IA32_VMX_TRUE_PINBASED_CTLS,
                msr::IA32_VMX_TRUE_PROCBASED_CTLS,
                msr::IA32_VMX_TRUE_EXIT_CTLS,
                msr::IA32_VMX_TRUE_ENTRY_CTLS,
            )
        } else {
            (
                msr::IA32_VMX_PINBASED_CTLS,
                msr::IA32_VMX_PROCBASED_CTLS,
                msr::IA32_VMX_EXIT_CTLS,
                msr::IA32_VMX_ENTRY_CTLS,
            )
        };
        let primary = AllowedSettings::from_msr(get(proc)?);
        let secondary = if primary.allows(PrimaryControls::ACTIVATE_SECONDARY_CONTROLS.bits()) {
            AllowedSettings::from_msr(get(msr::IA32_VMX_PROCBASED_CTLS2)?)
        } else {
            AllowedSettings::NONE
        };
        let ept_or_vpid = SecondaryControls::ENABLE_EPT | SecondaryControls::ENABLE_VPID;
        let ept_vpid = if secondary.may_be_one & ept_or_vpid.bits() != 0 {
            EptVpidCap::from_bits_retain(get(msr::IA32_VMX_EPT_VPID_CAP)?)
        } else {
            EptVpidCap::empty()
        };
        Ok(Self {
            basic,
            pin: AllowedSettings::from_msr(get(pin)?),
            primary,
            secondary,
            exit: AllowedSettings::from_msr(get(exit)?),
            entry: AllowedSettings::from_msr(get(entry)?),
            misc: VmxMisc::decode(get(msr::IA32_VMX_MISC)?),
            cr0_fixed0: get(msr::IA32_VMX_CR0_FIXED0)?,
            cr0_fixed1: get(msr::IA32_VMX_CR0_FIXED1)?,
            cr4_fixed0: get(msr::IA32_VMX_CR4_FIXED0)?,
            cr4_fixed1: get(msr::IA32_VMX_CR4_FIXED1)?,
            ept_vpid,
        })
    }

    /// Pin-based controls: `required`, the forced bits, and what `optional` allows.
    pub fn pin_based_controls(
        &self,
        required: PinBasedControls,
        optional: PinBasedControls,
    ) -> Result<PinBasedControls, MissingControls> {
        self.pin
            .adjust(ControlRegister::Pin, required.bits(), optional.bits())
            .map(PinBasedControls::from_bits_retain)
    }

    /// Primary processor-based controls, as [`Self::pin_based_controls`].
    pub fn primary_controls(
        &self,
        required: PrimaryControls,
        optional: PrimaryControls,
    ) -> Result<PrimaryControls, MissingControls> {
        self.primary
            .adjust(ControlRegister::Primary, required.bits(), optional.bits())
            .map(PrimaryControls::from_bits_retain)
    }

    /// Secondary processor-based controls, as [`Self::pin_based_controls`].
    pub fn secondary_controls(
        &self,
        required: SecondaryControls,
        optional: SecondaryControls,
    ) -> Result<SecondaryControls, MissingControls> {
        self.secondary
            .adjust(ControlRegister::Secondary, required.bits(), optional.bits())
            .map(SecondaryControls::from_bits_retain)
    }

    /// VM-exit controls, as [`Self::pin_based_controls`].
    pub fn exit_controls(
        &self,
        required: ExitControls,
        optional: ExitControls,
    ) -> Result<ExitControls, MissingControls> {
        self.exit
            .adjust(ControlRegister::Exit, required.bits(), optional.bits())
            .map(ExitControls::from_bits_retain)
    }

    /// VM-entry controls, as [`Self::pin_based_controls`].
    pub fn entry_controls(
        &self,
        required: EntryControls,
        optional: EntryControls,
    ) -> Result<EntryControls, MissingControls> {
        self.entry
            .adjust(ControlRegister::Entry, required.bits(), optional.bits())
            .map(EntryControls::from_bits_retain)
    }

    /// `value` with CR0_FIXED0 bits set and bits outside CR0_FIXED1 cleared
    /// (appendix A.7); PE and PG are left as given under "unrestricted guest"
    /// (SDM 27.3.1.1). For the guest the caller shows its own view through the
    /// CR0 read shadow.
    pub fn fixed_cr0(&self, value: u64, unrestricted_guest: bool) -> u64 {
        let mut must_be_one = self.cr0_fixed0;
        if unrestricted_guest {
            must_be_one &= !(CR0_PE | CR0_PG);
        }
        (value | must_be_one) & self.cr0_fixed1
    }

    /// `value` with CR4_FIXED0 bits set and bits outside CR4_FIXED1 cleared
    /// (appendix A.8). CR4.VMXE is among the fixed-1 bits; hide it from the guest
    /// with the CR4 read shadow.
    pub fn fixed_cr4(&self, value: u64) -> u64 {
        (value | self.cr4_fixed0) & self.cr4_fixed1
    }

    /// True when guests can run from the reset vector on this backend's EPT:
    /// secondary controls with "enable EPT" and "unrestricted guest", and EPT
    /// with 4-level walks and write-back paging structures (the EPTP
    /// [`crate::ept::Ept`]'s root pointer builds).
    pub fn supports_unrestricted_guest_with_ept(&self) -> bool {
        let secondary = SecondaryControls::ENABLE_EPT | SecondaryControls::UNRESTRICTED_GUEST;
        self.primary
            .allows(PrimaryControls::ACTIVATE_SECONDARY_CONTROLS.bits())
            && self.secondary.allows(secondary.bits())
            && self
                .ept_vpid
                .contains(EptVpidCap::PAGE_WALK_4 | EptVpidCap::MEMORY_TYPE_WB)
    }
}

#[cfg(test)]
mod tests;
