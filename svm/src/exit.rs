//! #VMEXIT codes and their decoding into typed exits (AMD APM vol. 2, appendix C
//! "SVM Intercept Exit Codes"; 15.25.6 "Nested versus Guest Page Faults, Fault
//! Ordering" for the nested page fault information; 15.7.2 "Intercepts During
//! IDT Interrupt Delivery" for EXITINTINFO).

use crate::event::Event;
use crate::ioio::IoioInfo;

/// EXITCODE values (APM vol. 2, table C-1).
pub mod code {
    pub const EXCEPTION_BASE: u64 = 0x40;
    pub const INTR: u64 = 0x60;
    pub const NMI: u64 = 0x61;
    pub const SMI: u64 = 0x62;
    pub const INIT: u64 = 0x63;
    pub const VINTR: u64 = 0x64;
    pub const CPUID: u64 = 0x72;
    pub const INVD: u64 = 0x76;
    pub const HLT: u64 = 0x78;
    pub const INVLPGA: u64 = 0x7A;
    pub const IOIO: u64 = 0x7B;
    pub const MSR: u64 = 0x7C;
    pub const SHUTDOWN: u64 = 0x7F;
    pub const VMRUN: u64 = 0x80;
    pub const VMMCALL: u64 = 0x81;
    pub const VMLOAD: u64 = 0x82;
    pub const VMSAVE: u64 = 0x83;
    pub const STGI: u64 = 0x84;
    pub const CLGI: u64 = 0x85;
    pub const SKINIT: u64 = 0x86;
    pub const WBINVD: u64 = 0x89;
    pub const XSETBV: u64 = 0x8D;
    pub const NPF: u64 = 0x400;
    /// VMEXIT_INVALID (-1). QEMU's TCG zero-extends it from 32 bits
    /// (shared/notes/qemu-tcg-svm.md, bug 1), so compare the low 32 bits only.
    pub const INVALID_LOW32: u32 = 0xFFFF_FFFF;
}

/// An SVM instruction the guest executed (all are intercepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvmInstruction {
    Vmrun,
    Vmload,
    Vmsave,
    Stgi,
    Clgi,
    Skinit,
    Invlpga,
}

/// Nested page fault information: EXITINFO1 holds a #PF-style error code,
/// EXITINFO2 the faulting guest-physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NestedPageFault {
    pub gpa: u64,
    /// Error code bit 0: the nested translation was present (a protection fault).
    pub present: bool,
    /// Error code bit 1: a write.
    pub write: bool,
    /// Error code bit 4: an instruction fetch.
    pub fetch: bool,
    /// The event the processor was delivering when the fault happened (its
    /// IDT, GDT or stack accesses faulted), from EXITINTINFO (APM vol. 2,
    /// 15.7.2); None for a fault of the instruction at RIP.
    pub during_delivery: Option<Event>,
}

/// A #VMEXIT, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvmExit {
    Ioio {
        info: IoioInfo,
        next_rip: u64,
    },
    Cpuid,
    Msr {
        write: bool,
    },
    Hlt,
    Shutdown,
    Intr,
    /// The guest can take a virtual interrupt (the interrupt window opened).
    Vintr,
    Nmi,
    Smi,
    Init,
    Vmmcall,
    Svm(SvmInstruction),
    Xsetbv,
    /// INVD (intercepted: see [`crate::intercepts::default_misc1`]).
    Invd,
    /// WBINVD or WBNOINVD, when intercepted.
    Wbinvd,
    /// An intercepted exception (vector, EXITINFO1 error code).
    Exception {
        vector: u8,
        error_code: u32,
    },
    NestedPageFault(NestedPageFault),
    /// VMRUN found the guest state invalid (APM vol. 2, 15.5.1 "Basic Operation").
    Invalid,
    /// Any other exit code.
    Other {
        code: u64,
        info1: u64,
        info2: u64,
    },
}

impl SvmExit {
    /// Decodes EXITCODE, EXITINFO1, EXITINFO2 and EXITINTINFO: as
    /// [`SvmExit::decode`], with the event in delivery, if any, attached to a
    /// nested page fault (which then is the processor's, not the
    /// instruction's).
    pub fn decode_with_exit_int_info(
        exit_code: u64,
        info1: u64,
        info2: u64,
        exit_int_info: u64,
    ) -> Self {
        match Self::decode(exit_code, info1, info2) {
            SvmExit::NestedPageFault(fault) => SvmExit::NestedPageFault(NestedPageFault {
                during_delivery: Event::decode(exit_int_info),
                ..fault
            }),
            other => other,
        }
    }

    /// Decodes EXITCODE, EXITINFO1 and EXITINFO2.
    pub fn decode(exit_code: u64, info1: u64, info2: u64) -> Self {
        if exit_code as u32 == code::INVALID_LOW32 {
            return SvmExit::Invalid;
        }
        match exit_code {
            code::IOIO => match IoioInfo::decode(info1) {
                Some(info) => SvmExit::Ioio {
                    info,
                    next_rip: info2,
                },
                None => SvmExit::Other {
                    code: exit_code,
                    info1,
                    info2,
                },
            },
            code::CPUID => SvmExit::Cpuid,
            code::MSR => SvmExit::Msr {
                write: info1 & 1 != 0,
            },
            code::HLT => SvmExit::Hlt,
            code::SHUTDOWN => SvmExit::Shutdown,
            code::INTR => SvmExit::Intr,
            code::VINTR => SvmExit::Vintr,
            code::NMI => SvmExit::Nmi,
            code::SMI => SvmExit::Smi,
            code::INIT => SvmExit::Init,
            code::VMMCALL => SvmExit::Vmmcall,
            code::VMRUN => SvmExit::Svm(SvmInstruction::Vmrun),
            code::VMLOAD => SvmExit::Svm(SvmInstruction::Vmload),
            code::VMSAVE => SvmExit::Svm(SvmInstruction::Vmsave),
            code::STGI => SvmExit::Svm(SvmInstruction::Stgi),
            code::CLGI => SvmExit::Svm(SvmInstruction::Clgi),
            code::SKINIT => SvmExit::Svm(SvmInstruction::Skinit),
            code::INVLPGA => SvmExit::Svm(SvmInstruction::Invlpga),
            code::XSETBV => SvmExit::Xsetbv,
            code::INVD => SvmExit::Invd,
            code::WBINVD => SvmExit::Wbinvd,
            c if (code::EXCEPTION_BASE..code::EXCEPTION_BASE + 32).contains(&c) => {
                SvmExit::Exception {
                    vector: (c - code::EXCEPTION_BASE) as u8,
                    error_code: info1 as u32,
                }
            }
            code::NPF => SvmExit::NestedPageFault(NestedPageFault {
                gpa: info2,
                present: info1 & 1 != 0,
                write: info1 & 2 != 0,
                fetch: info1 & 0x10 != 0,
                during_delivery: None,
            }),
            _ => SvmExit::Other {
                code: exit_code,
                info1,
                info2,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_is_recognised_sign_or_zero_extended() {
        assert_eq!(SvmExit::decode(u64::MAX, 0, 0), SvmExit::Invalid);
        assert_eq!(SvmExit::decode(0xFFFF_FFFF, 0, 0), SvmExit::Invalid);
    }

    #[test]
    fn ioio_carries_next_rip_from_exitinfo2() {
        let e = SvmExit::decode(code::IOIO, (0x3F8 << 16) | (1 << 4) | (1 << 7), 0xFFF3);
        match e {
            SvmExit::Ioio { info, next_rip } => {
                assert_eq!(info.port, 0x3F8);
                assert_eq!(next_rip, 0xFFF3);
            }
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn msr_direction_comes_from_exitinfo1() {
        assert_eq!(
            SvmExit::decode(code::MSR, 0, 0),
            SvmExit::Msr { write: false }
        );
        assert_eq!(
            SvmExit::decode(code::MSR, 1, 0),
            SvmExit::Msr { write: true }
        );
    }

    #[test]
    fn exceptions_and_npf_decode() {
        assert_eq!(
            SvmExit::decode(0x4E, 0x6, 0),
            SvmExit::Exception {
                vector: 14,
                error_code: 6
            }
        );
        assert_eq!(
            SvmExit::decode(code::NPF, 0x12, 0xFEE0_0000),
            SvmExit::NestedPageFault(NestedPageFault {
                gpa: 0xFEE0_0000,
                present: false,
                write: true,
                fetch: true,
                during_delivery: None,
            })
        );
    }

    #[test]
    fn an_npf_during_event_delivery_carries_the_event_from_exitintinfo() {
        // INT3 being delivered (#BP, type 3, valid) when the IDT read faulted.
        let int3 = 3 | (3 << 8) | (1 << 31);
        let e = SvmExit::decode_with_exit_int_info(code::NPF, 0x4, 0xC000_0018, int3);
        assert_eq!(
            e,
            SvmExit::NestedPageFault(NestedPageFault {
                gpa: 0xC000_0018,
                present: false,
                write: false,
                fetch: false,
                during_delivery: Some(Event::exception(3, None)),
            })
        );
        // No event in delivery: EXITINTINFO's valid bit is clear.
        let e = SvmExit::decode_with_exit_int_info(code::NPF, 0x4, 0xC000_0018, 3 | (3 << 8));
        assert!(matches!(
            e,
            SvmExit::NestedPageFault(NestedPageFault {
                during_delivery: None,
                ..
            })
        ));
        // Other exits are decoded as without EXITINTINFO.
        assert_eq!(
            SvmExit::decode_with_exit_int_info(code::HLT, 0, 0, int3),
            SvmExit::Hlt
        );
    }

    #[test]
    fn invd_and_wbinvd_decode() {
        assert_eq!(SvmExit::decode(0x76, 0, 0), SvmExit::Invd);
        assert_eq!(SvmExit::decode(0x89, 0, 0), SvmExit::Wbinvd);
    }

    #[test]
    fn svm_instructions_decode() {
        assert_eq!(
            SvmExit::decode(0x80, 0, 0),
            SvmExit::Svm(SvmInstruction::Vmrun)
        );
        assert_eq!(
            SvmExit::decode(0x85, 0, 0),
            SvmExit::Svm(SvmInstruction::Clgi)
        );
        assert_eq!(SvmExit::decode(0x81, 0, 0), SvmExit::Vmmcall);
    }
}
