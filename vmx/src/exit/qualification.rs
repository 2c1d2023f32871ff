//! Exit qualifications this backend decodes: task switches, I/O
//! instructions, control-register accesses and EPT violations (SDM vol. 3C,
//! 28.2.1 "Basic VM-Exit Information"; numbering and revision as in
//! [`crate::controls`]).

/// Task-switch qualification bits 15:0: the selector of the new task's TSS.
const TASK_SWITCH_SELECTOR_MASK: u64 = 0xFFFF;
/// Task-switch qualification bits 31:30: what started the switch.
const TASK_SWITCH_SOURCE_SHIFT: u32 = 30;
/// Width of the source (2 bits).
const TASK_SWITCH_SOURCE_MASK: u64 = 0x3;

/// What started a task switch, bits 31:30 of its qualification (SDM 28.2.1,
/// table "Exit Qualification for Task Switches").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSwitchSource {
    /// 0: a CALL instruction.
    Call,
    /// 1: an IRET instruction (EFLAGS.NT = 1).
    Iret,
    /// 2: a JMP instruction.
    Jmp,
    /// 3: a task gate in the IDT; the IDT-vectoring information describes
    /// the event (SDM vol. 3C, 26.4.2 "Treatment of Task Switches", 25.9.3).
    IdtGate,
}

/// Exit qualification of a task switch (SDM 28.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSwitchQualification {
    /// The new task's TSS selector.
    pub selector: u16,
    pub source: TaskSwitchSource,
}

impl TaskSwitchQualification {
    /// Decodes the qualification (bits 29:16 and 63:32 are reserved).
    pub fn decode(q: u64) -> Self {
        Self {
            selector: (q & TASK_SWITCH_SELECTOR_MASK) as u16,
            source: match (q >> TASK_SWITCH_SOURCE_SHIFT) & TASK_SWITCH_SOURCE_MASK {
                0 => TaskSwitchSource::Call,
                1 => TaskSwitchSource::Iret,
                2 => TaskSwitchSource::Jmp,
                _ => TaskSwitchSource::IdtGate,
            },
        }
    }
}

/// I/O qualification bits 2:0: access size minus one (0, 1 or 3).
const IO_SIZE_MASK: u64 = 0x7;
/// I/O qualification bit 3: direction, 1 = IN.
const IO_DIRECTION_IN: u64 = 1 << 3;
/// I/O qualification bit 4: string instruction (INS/OUTS).
const IO_STRING: u64 = 1 << 4;
/// I/O qualification bit 5: REP prefix.
const IO_REP: u64 = 1 << 5;
/// I/O qualification bit 6: operand encoding, 1 = immediate port.
const IO_IMMEDIATE: u64 = 1 << 6;
/// I/O qualification bits 31:16: port number.
const IO_PORT_SHIFT: u32 = 16;

/// Exit qualification of an I/O instruction (SDM 28.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoQualification {
    pub port: u16,
    /// Access size in bytes: 1, 2 or 4.
    pub size: u8,
    /// True for IN/INS.
    pub is_in: bool,
    pub string: bool,
    pub rep: bool,
    /// The port was an immediate operand (otherwise DX).
    pub immediate: bool,
}

impl IoQualification {
    /// Decodes the qualification; None for a size encoding the SDM does not
    /// define (only 0, 1 and 3 are; hardware reports nothing else).
    pub fn decode(q: u64) -> Option<Self> {
        let size = match q & IO_SIZE_MASK {
            0 => 1,
            1 => 2,
            3 => 4,
            _ => return None,
        };
        Some(Self {
            port: (q >> IO_PORT_SHIFT) as u16,
            size,
            is_in: q & IO_DIRECTION_IN != 0,
            string: q & IO_STRING != 0,
            rep: q & IO_REP != 0,
            immediate: q & IO_IMMEDIATE != 0,
        })
    }
}

/// CR-access qualification bits 3:0: the control register.
const CR_NUMBER_MASK: u64 = 0xF;
/// CR-access qualification bits 5:4: access type.
const CR_ACCESS_TYPE_SHIFT: u32 = 4;
/// Width of the access type (2 bits).
const CR_ACCESS_TYPE_MASK: u64 = 0x3;
/// Access type 0: MOV to CR.
const CR_ACCESS_MOV_TO: u64 = 0;
/// Access type 1: MOV from CR.
const CR_ACCESS_MOV_FROM: u64 = 1;
/// Access type 2: CLTS.
const CR_ACCESS_CLTS: u64 = 2;
/// CR-access qualification bit 6: LMSW operand type, 1 = memory.
const CR_LMSW_MEMORY: u64 = 1 << 6;
/// CR-access qualification bits 11:8: the general-purpose register.
const CR_GPR_SHIFT: u32 = 8;
/// Width of the register number (4 bits).
const CR_GPR_MASK: u64 = 0xF;
/// CR-access qualification bits 31:16: the LMSW source data.
const CR_LMSW_SOURCE_SHIFT: u32 = 16;

/// Exit qualification of a control-register access (SDM 28.2.1). Register
/// numbers follow the instruction encoding: 0 = RAX, 1 = RCX, 2 = RDX, 3 = RBX,
/// 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8-15 = R8-R15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrAccess {
    /// MOV to CRn from a general-purpose register.
    MovToCr { cr: u8, gpr: u8 },
    /// MOV from CRn to a general-purpose register.
    MovFromCr { cr: u8, gpr: u8 },
    /// CLTS (always CR0).
    Clts,
    /// LMSW (always CR0), with its 16-bit source operand.
    Lmsw { source: u16, memory_operand: bool },
}

impl CrAccess {
    /// Decodes the qualification.
    pub fn decode(q: u64) -> Self {
        let cr = (q & CR_NUMBER_MASK) as u8;
        let gpr = ((q >> CR_GPR_SHIFT) & CR_GPR_MASK) as u8;
        match (q >> CR_ACCESS_TYPE_SHIFT) & CR_ACCESS_TYPE_MASK {
            CR_ACCESS_MOV_TO => CrAccess::MovToCr { cr, gpr },
            CR_ACCESS_MOV_FROM => CrAccess::MovFromCr { cr, gpr },
            CR_ACCESS_CLTS => CrAccess::Clts,
            _ => CrAccess::Lmsw {
                source: (q >> CR_LMSW_SOURCE_SHIFT) as u16,
                memory_operand: q & CR_LMSW_MEMORY != 0,
            },
        }
    }
}

/// EPT-violation qualification bit 0: the access was a data read.
const EPT_READ: u64 = 1 << 0;
/// Bit 1: the access was a data write.
const EPT_WRITE: u64 = 1 << 1;
/// Bit 2: the access was an instruction fetch.
const EPT_FETCH: u64 = 1 << 2;
/// Bit 3: the guest-physical address was readable (AND of the walk's read bits).
const EPT_READABLE: u64 = 1 << 3;
/// Bit 4: the guest-physical address was writable.
const EPT_WRITABLE: u64 = 1 << 4;
/// Bit 5: the guest-physical address was executable.
const EPT_EXECUTABLE: u64 = 1 << 5;
/// Bit 7: the guest linear-address field is valid.
const EPT_LINEAR_VALID: u64 = 1 << 7;
/// Bit 8 (when bit 7 is set): 1 = the access was to the translated linear
/// address, 0 = to a guest paging-structure entry.
const EPT_TRANSLATED_ACCESS: u64 = 1 << 8;
/// Bit 12: the violation happened while IRET was unblocking NMIs.
const EPT_NMI_UNBLOCKING: u64 = 1 << 12;

/// Exit qualification of an EPT violation (SDM 28.2.1); the guest-physical
/// address itself is in its own VMCS field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EptViolation {
    pub read: bool,
    pub write: bool,
    pub fetch: bool,
    /// The translation allowed reads (false for an unmapped address).
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    /// The guest linear-address field holds the linear address accessed.
    pub linear_address_valid: bool,
    /// The access was to the final translation, not to a guest page-table entry.
    pub translated_access: bool,
    pub nmi_unblocking: bool,
}

impl EptViolation {
    /// Decodes the qualification.
    pub fn decode(q: u64) -> Self {
        Self {
            read: q & EPT_READ != 0,
            write: q & EPT_WRITE != 0,
            fetch: q & EPT_FETCH != 0,
            readable: q & EPT_READABLE != 0,
            writable: q & EPT_WRITABLE != 0,
            executable: q & EPT_EXECUTABLE != 0,
            linear_address_valid: q & EPT_LINEAR_VALID != 0,
            translated_access: q & EPT_LINEAR_VALID != 0 && q & EPT_TRANSLATED_ACCESS != 0,
            nmi_unblocking: q & EPT_NMI_UNBLOCKING != 0,
        }
    }

    /// True when the address is mapped in no way (an MMIO candidate), rather
    /// than mapped without the permission the access needed.
    pub fn not_present(&self) -> bool {
        !(self.readable || self.writable || self.executable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_switch_sources_and_selector_decode() {
        // CALL to TSS selector 0x28.
        assert_eq!(
            TaskSwitchQualification::decode(0x28),
            TaskSwitchQualification {
                selector: 0x28,
                source: TaskSwitchSource::Call
            }
        );
        let source = |q| TaskSwitchQualification::decode(q).source;
        assert_eq!(source(1 << 30), TaskSwitchSource::Iret);
        assert_eq!(source(2 << 30), TaskSwitchSource::Jmp);
        assert_eq!(source(3 << 30), TaskSwitchSource::IdtGate);
        // Reserved bits 29:16 and 63:32 change nothing.
        let q = TaskSwitchQualification::decode(0xFFFF_FFFF_3FFF_0000 | (3 << 30) | 0x4B);
        assert_eq!(q.selector, 0x4B);
        assert_eq!(q.source, TaskSwitchSource::IdtGate);
    }

    #[test]
    fn io_out_dx_byte() {
        // OUT DX, AL to 0x3F8: size 0 (byte), direction 0, DX operand.
        let q = IoQualification::decode(0x3F8 << 16).unwrap();
        assert_eq!(
            q,
            IoQualification {
                port: 0x3F8,
                size: 1,
                is_in: false,
                string: false,
                rep: false,
                immediate: false
            }
        );
    }

    #[test]
    fn io_rep_insw_and_in_imm_dword() {
        // REP INSW from 0x1F0: size 1 (word), IN, string, REP.
        let q =
            IoQualification::decode((0x1F0 << 16) | (1 << 5) | (1 << 4) | (1 << 3) | 1).unwrap();
        assert_eq!(
            (q.port, q.size, q.is_in, q.string, q.rep),
            (0x1F0, 2, true, true, true)
        );
        // IN EAX, 0x71: size 3 (dword), IN, immediate.
        let q = IoQualification::decode((0x71 << 16) | (1 << 6) | (1 << 3) | 3).unwrap();
        assert_eq!(
            (q.port, q.size, q.is_in, q.immediate),
            (0x71, 4, true, true)
        );
    }

    #[test]
    fn io_undefined_size_encodings_are_refused() {
        for size in [2, 4, 5, 6, 7] {
            assert_eq!(IoQualification::decode(size), None);
        }
    }

    #[test]
    fn cr_access_types_decode() {
        // MOV CR0, RBX: CR 0, type 0, register 3.
        assert_eq!(
            CrAccess::decode(3 << 8),
            CrAccess::MovToCr { cr: 0, gpr: 3 }
        );
        // MOV R12, CR3: CR 3, type 1, register 12.
        assert_eq!(
            CrAccess::decode((12 << 8) | (1 << 4) | 3),
            CrAccess::MovFromCr { cr: 3, gpr: 12 }
        );
        assert_eq!(CrAccess::decode(2 << 4), CrAccess::Clts);
        // LMSW [mem] with source 0x0011: type 3, memory operand.
        assert_eq!(
            CrAccess::decode((0x0011 << 16) | (1 << 6) | (3 << 4)),
            CrAccess::Lmsw {
                source: 0x11,
                memory_operand: true
            }
        );
        // MOV CR8, RAX.
        assert_eq!(CrAccess::decode(8), CrAccess::MovToCr { cr: 8, gpr: 0 });
    }

    #[test]
    fn ept_violation_write_to_unmapped_page() {
        // Write, nothing permitted, linear address valid, access to the translation.
        let v = EptViolation::decode((1 << 1) | (1 << 7) | (1 << 8));
        assert!(v.write && !v.read && !v.fetch);
        assert!(v.not_present());
        assert!(v.linear_address_valid && v.translated_access);
    }

    #[test]
    fn ept_violation_write_to_read_only_page_is_not_a_missing_mapping() {
        // Write to a page that is readable and executable but not writable.
        let v = EptViolation::decode((1 << 1) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8));
        assert!(v.readable && !v.writable && v.executable);
        assert!(!v.not_present());
    }

    #[test]
    fn ept_violation_bit_8_means_nothing_without_bit_7() {
        let v = EptViolation::decode((1 << 0) | (1 << 8) | (1 << 12));
        assert!(v.read && !v.linear_address_valid && !v.translated_access);
        assert!(v.nmi_unblocking);
    }
}
