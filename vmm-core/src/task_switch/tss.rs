//! The dynamic fields of a task-state segment: what a task switch saves
//! into the old TSS and loads from the new one (Intel SDM vol. 3A, 8.2.1
//! "Task-State Segment (TSS)", figure 8-2; 8.6 "16-Bit Task-State Segment
//! (TSS)", figure 8-11).

use super::descriptor::system_type;
use super::memory::System;
use super::Failure;
use crate::vcpu::Vcpu;

/// The two TSS formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TssFormat {
    Bits16,
    Bits32,
}

/// 32-bit TSS offsets (figure 8-2).
mod tss32 {
    pub const CR3: u32 = 0x1C;
    pub const EIP: u32 = 0x20;
    pub const EFLAGS: u32 = 0x24;
    /// EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, 4 bytes apart.
    pub const GPRS: u32 = 0x28;
    /// ES, CS, SS, DS, FS, GS, 4 bytes apart (a 16-bit selector each).
    pub const SEGMENTS: u32 = 0x48;
    pub const LDT: u32 = 0x60;
}

/// 16-bit TSS offsets (figure 8-11).
mod tss16 {
    pub const IP: u32 = 0x0E;
    pub const FLAGS: u32 = 0x10;
    /// AX, CX, DX, BX, SP, BP, SI, DI, 2 bytes apart.
    pub const GPRS: u32 = 0x12;
    /// ES, CS, SS, DS, 2 bytes apart.
    pub const SEGMENTS: u32 = 0x22;
    pub const LDT: u32 = 0x2A;
}

impl TssFormat {
    /// The format of a TSS descriptor of type `kind`, if it is one.
    pub fn of_type(kind: u8) -> Option<Self> {
        match kind {
            system_type::AVAILABLE_TSS16 | system_type::BUSY_TSS16 => Some(TssFormat::Bits16),
            system_type::AVAILABLE_TSS32 | system_type::BUSY_TSS32 => Some(TssFormat::Bits32),
            _ => None,
        }
    }

    /// The least limit a new TSS may have: 67h for a 32-bit TSS (SDM vol.
    /// 3A, 8.2.2: "a limit less than 67H generates #TS"), 2Bh for a 16-bit
    /// one (its last field, the LDT selector, ends at 2Bh).
    pub fn min_limit(self) -> u32 {
        match self {
            TssFormat::Bits16 => 0x2B,
            TssFormat::Bits32 => 0x67,
        }
    }

    /// First and last byte of the fields saved into the old TSS.
    pub fn saved_range(self) -> (u32, u32) {
        match self {
            TssFormat::Bits16 => (tss16::IP, tss16::SEGMENTS + 4 * 2 - 1),
            TssFormat::Bits32 => (tss32::EIP, tss32::SEGMENTS + 6 * 4 - 1),
        }
    }
}

/// A task's dynamic state as its TSS holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TaskState {
    pub eip: u32,
    pub eflags: u32,
    /// EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI.
    pub gprs: [u32; 8],
    /// ES, CS, SS, DS, FS, GS (FS and GS null for a 16-bit TSS).
    pub selectors: [u16; 6],
    pub ldt: u16,
    /// CR3 (PDBR); only a 32-bit TSS has one.
    pub cr3: Option<u32>,
}

/// Saves `state`'s EIP, EFLAGS, general-purpose registers and segment
/// selectors into the TSS at `base` (SDM vol. 3A, 8.3 step 8); CR3 and the
/// LDT selector are static fields and stay as they are.
pub(super) fn save(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    base: u32,
    format: TssFormat,
    state: &TaskState,
) -> Result<(), Failure> {
    let at = |offset: u32| base.wrapping_add(offset);
    match format {
        TssFormat::Bits32 => {
            let mut bytes = [0u8; 0x48 - 0x20 + 6 * 4];
            let mut put = |offset: u32, value: &[u8]| {
                let i = (offset - tss32::EIP) as usize;
                bytes[i..i + value.len()].copy_from_slice(value);
            };
            put(tss32::EIP, &state.eip.to_le_bytes());
            put(tss32::EFLAGS, &state.eflags.to_le_bytes());
            for (i, gpr) in state.gprs.iter().enumerate() {
                put(tss32::GPRS + 4 * i as u32, &gpr.to_le_bytes());
            }
            // Each selector fills the low word of its dword; the high word
            // is reserved and written as 0.
            for (i, selector) in state.selectors.iter().enumerate() {
                put(tss32::SEGMENTS + 4 * i as u32, &selector.to_le_bytes());
            }
            sys.write(vcpu, at(tss32::EIP), &bytes)
        }
        TssFormat::Bits16 => {
            let mut bytes = [0u8; 0x2A - 0x0E];
            let mut put = |offset: u32, value: u16| {
                let i = (offset - tss16::IP) as usize;
                bytes[i..i + 2].copy_from_slice(&value.to_le_bytes());
            };
            put(tss16::IP, state.eip as u16);
            put(tss16::FLAGS, state.eflags as u16);
            for (i, gpr) in state.gprs.iter().enumerate() {
                put(tss16::GPRS + 2 * i as u32, *gpr as u16);
            }
            for (i, selector) in state.selectors[..4].iter().enumerate() {
                put(tss16::SEGMENTS + 2 * i as u32, *selector);
            }
            sys.write(vcpu, at(tss16::IP), &bytes)
        }
    }
}

/// Reads the new task's state from the TSS at `base` (SDM vol. 3A, 8.3
/// step 12). A 16-bit TSS holds 16-bit registers: the upper halves of the
/// loaded EIP, EFLAGS and general-purpose registers are 0, and FS and GS
/// are null.
pub(super) fn load(
    sys: &mut System,
    vcpu: &dyn Vcpu,
    base: u32,
    format: TssFormat,
) -> Result<TaskState, Failure> {
    let at = |offset: u32| base.wrapping_add(offset);
    let mut state = TaskState::default();
    match format {
        TssFormat::Bits32 => {
            let mut bytes = [0u8; 0x64 - 0x1C];
            sys.read(vcpu, at(tss32::CR3), &mut bytes)?;
            let dword = |offset: u32| {
                let i = (offset - tss32::CR3) as usize;
                u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]])
            };
            state.cr3 = Some(dword(tss32::CR3));
            state.eip = dword(tss32::EIP);
            state.eflags = dword(tss32::EFLAGS);
            for (i, gpr) in state.gprs.iter_mut().enumerate() {
                *gpr = dword(tss32::GPRS + 4 * i as u32);
            }
            for (i, selector) in state.selectors.iter_mut().enumerate() {
                *selector = dword(tss32::SEGMENTS + 4 * i as u32) as u16;
            }
            state.ldt = dword(tss32::LDT) as u16;
        }
        TssFormat::Bits16 => {
            let mut bytes = [0u8; 0x2C - 0x0E];
            sys.read(vcpu, at(tss16::IP), &mut bytes)?;
            let word = |offset: u32| {
                let i = (offset - tss16::IP) as usize;
                u16::from_le_bytes([bytes[i], bytes[i + 1]])
            };
            state.eip = u32::from(word(tss16::IP));
            state.eflags = u32::from(word(tss16::FLAGS));
            for (i, gpr) in state.gprs.iter_mut().enumerate() {
                *gpr = u32::from(word(tss16::GPRS + 2 * i as u32));
            }
            for (i, selector) in state.selectors[..4].iter_mut().enumerate() {
                *selector = word(tss16::SEGMENTS + 2 * i as u32);
            }
            state.ldt = word(tss16::LDT);
        }
    }
    Ok(state)
}
