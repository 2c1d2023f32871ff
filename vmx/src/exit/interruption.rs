//! The interruption-information format shared by VM-exit interruption
//! information, IDT-vectoring information and VM-entry interruption
//! information (SDM vol. 3C, 25.8.3 "VM-Entry Controls for Event Injection",
//! 25.9.2 "Information for VM Exits Due to Vectored Events", 25.9.3
//! "Information for VM Exits That Occur During Event Delivery", 27.6.1.1
//! "Details of Vectored-Event Injection"; numbering and revision as in
//! [`crate::controls`]).

/// Interruption-information bits 7:0: vector.
const INTR_VECTOR_MASK: u32 = 0xFF;
/// Bits 10:8: interruption type.
const INTR_TYPE_SHIFT: u32 = 8;
/// Width of the type (3 bits).
const INTR_TYPE_MASK: u32 = 0x7;
/// Bit 11: an error code is delivered (exit: was pushed; entry: push one).
const INTR_ERROR_CODE_VALID: u32 = 1 << 11;
/// Bit 12 (VM-exit interruption information only): NMI unblocking due to IRET.
const INTR_NMI_UNBLOCKING: u32 = 1 << 12;
/// Bit 31: the field is valid.
const INTR_VALID: u32 = 1 << 31;

/// Interruption type, bits 10:8 (SDM 25.8.3, 25.9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum InterruptionType {
    ExternalInterrupt = 0,
    /// Type 1, which the SDM reserves.
    Reserved = 1,
    Nmi = 2,
    /// A fault or abort raised by the processor (#PF, #GP, ...).
    HardwareException = 3,
    /// INT n.
    SoftwareInterrupt = 4,
    /// INT1 (ICEBP).
    PrivilegedSoftwareException = 5,
    /// INT3 or INTO.
    SoftwareException = 6,
    /// Other event (injection of a pending MTF VM exit).
    OtherEvent = 7,
}

impl InterruptionType {
    fn from_bits(bits: u32) -> Self {
        match bits & INTR_TYPE_MASK {
            0 => InterruptionType::ExternalInterrupt,
            1 => InterruptionType::Reserved,
            2 => InterruptionType::Nmi,
            3 => InterruptionType::HardwareException,
            4 => InterruptionType::SoftwareInterrupt,
            5 => InterruptionType::PrivilegedSoftwareException,
            6 => InterruptionType::SoftwareException,
            _ => InterruptionType::OtherEvent,
        }
    }

    /// True for the types whose injection needs the VM-entry instruction-length
    /// field (software interrupts, privileged software exceptions and software
    /// exceptions: SDM 25.8.3, 27.6.1.1): the event is delivered as if by an
    /// instruction of that length, which the return address skips.
    pub fn needs_instruction_length(self) -> bool {
        matches!(
            self,
            InterruptionType::SoftwareInterrupt
                | InterruptionType::PrivilegedSoftwareException
                | InterruptionType::SoftwareException
        )
    }
}

/// VM-exit interruption information or IDT-vectoring information, decoded
/// (SDM 25.9.2, 25.9.3). The error code, when valid, is in the matching
/// error-code field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptionInfo {
    pub vector: u8,
    pub kind: InterruptionType,
    pub error_code_valid: bool,
    /// Bit 12 of VM-exit interruption information: the exit happened while
    /// IRET was unblocking NMIs (undefined in IDT-vectoring information).
    pub nmi_unblocking: bool,
}

impl InterruptionInfo {
    /// Decodes the field; None when its valid bit is clear.
    pub fn decode(raw: u32) -> Option<Self> {
        if raw & INTR_VALID == 0 {
            return None;
        }
        Some(Self {
            vector: (raw & INTR_VECTOR_MASK) as u8,
            kind: InterruptionType::from_bits(raw >> INTR_TYPE_SHIFT),
            error_code_valid: raw & INTR_ERROR_CODE_VALID != 0,
            nmi_unblocking: raw & INTR_NMI_UNBLOCKING != 0,
        })
    }
}

/// The VM-entry interruption-information field injecting `vector` as `kind`
/// (SDM 25.8.3). With `error_code` the deliver-error-code bit is set; the
/// caller writes the code itself into the VM-entry exception error code field,
/// and for the types where [`InterruptionType::needs_instruction_length`] the
/// VM-entry instruction length as well. VM entry accepts an error code only
/// for hardware exceptions that push one (SDM 27.2.1.3).
pub fn encode_entry_interruption(
    vector: u8,
    kind: InterruptionType,
    error_code: Option<u32>,
) -> u32 {
    let mut v = u32::from(vector) | (u32::from(kind as u8) << INTR_TYPE_SHIFT) | INTR_VALID;
    if error_code.is_some() {
        v |= INTR_ERROR_CODE_VALID;
    }
    v
}

/// CR0.PE (bit 0).
const CR0_PE: u64 = 1;

/// The error code a hardware exception injected into a guest whose CR0 is
/// `guest_cr0` carries: none in real mode, where exceptions push no error
/// code (SDM vol. 3B, chapter "8086 Emulation", "Interrupt and Exception
/// Handling" in real-address mode) and VM
/// entry refuses one under "unrestricted guest" with CR0.PE = 0 (SDM vol. 3C,
/// 27.2.1.3 "Checks on VM-Entry Control Fields").
pub fn entry_error_code(error_code: Option<u32>, guest_cr0: u64) -> Option<u32> {
    error_code.filter(|_| guest_cr0 & CR0_PE != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_fault_exit_interruption_info_decodes() {
        // #PF (vector 14), hardware exception, error code valid, valid.
        let raw = 14 | (3 << 8) | (1 << 11) | (1 << 31);
        assert_eq!(
            InterruptionInfo::decode(raw),
            Some(InterruptionInfo {
                vector: 14,
                kind: InterruptionType::HardwareException,
                error_code_valid: true,
                nmi_unblocking: false
            })
        );
    }

    #[test]
    fn interruption_types_decode_and_invalid_is_none() {
        let kinds = [
            InterruptionType::ExternalInterrupt,
            InterruptionType::Reserved,
            InterruptionType::Nmi,
            InterruptionType::HardwareException,
            InterruptionType::SoftwareInterrupt,
            InterruptionType::PrivilegedSoftwareException,
            InterruptionType::SoftwareException,
            InterruptionType::OtherEvent,
        ];
        for (t, kind) in kinds.into_iter().enumerate() {
            let info = InterruptionInfo::decode((1 << 31) | ((t as u32) << 8) | 0x20).unwrap();
            assert_eq!(info.kind, kind);
            assert_eq!(info.vector, 0x20);
        }
        assert_eq!(InterruptionInfo::decode(0x20 | (3 << 8) | (1 << 11)), None);
        assert!(
            InterruptionInfo::decode((1 << 31) | (1 << 12) | (2 << 8) | 2)
                .unwrap()
                .nmi_unblocking
        );
    }

    #[test]
    fn entry_injection_encodes_per_sdm() {
        // #GP with an error code.
        assert_eq!(
            encode_entry_interruption(13, InterruptionType::HardwareException, Some(0)),
            13 | (3 << 8) | (1 << 11) | (1 << 31)
        );
        // External interrupt 0x30 from the PIC.
        assert_eq!(
            encode_entry_interruption(0x30, InterruptionType::ExternalInterrupt, None),
            0x30 | (1 << 31)
        );
        // NMI.
        assert_eq!(
            encode_entry_interruption(2, InterruptionType::Nmi, None),
            2 | (2 << 8) | (1 << 31)
        );
    }

    #[test]
    fn injection_round_trips_through_the_exit_decoder() {
        let raw = encode_entry_interruption(8, InterruptionType::HardwareException, Some(0));
        let info = InterruptionInfo::decode(raw).unwrap();
        assert_eq!(info.vector, 8);
        assert_eq!(info.kind, InterruptionType::HardwareException);
        assert!(info.error_code_valid);
    }

    #[test]
    fn real_mode_exceptions_carry_no_error_code() {
        const ET_NE: u64 = 0x30;
        assert_eq!(
            entry_error_code(Some(0), ET_NE),
            None,
            "#GP(0) in real mode"
        );
        assert_eq!(entry_error_code(Some(0), ET_NE | 1), Some(0));
        assert_eq!(entry_error_code(None, ET_NE | 1), None);
    }

    #[test]
    fn only_software_events_need_the_instruction_length() {
        assert!(InterruptionType::SoftwareInterrupt.needs_instruction_length());
        assert!(InterruptionType::SoftwareException.needs_instruction_length());
        assert!(InterruptionType::PrivilegedSoftwareException.needs_instruction_length());
        assert!(!InterruptionType::HardwareException.needs_instruction_length());
        assert!(!InterruptionType::ExternalInterrupt.needs_instruction_length());
        assert!(!InterruptionType::Nmi.needs_instruction_length());
    }
}
