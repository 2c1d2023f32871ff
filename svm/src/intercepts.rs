//! Intercept vectors 3 and 4 of the VMCB control area (AMD APM vol. 2,
//! appendix B, table B-1, offsets 00Ch and 010h).

use bitflags::bitflags;

bitflags! {
    /// Intercept vector 3 (VMCB offset 00Ch).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Misc1: u32 {
        const INTR = 1 << 0;
        const NMI = 1 << 1;
        const SMI = 1 << 2;
        const INIT = 1 << 3;
        const VINTR = 1 << 4;
        const CR0_SEL_WRITE = 1 << 5;
        const IDTR_READ = 1 << 6;
        const GDTR_READ = 1 << 7;
        const LDTR_READ = 1 << 8;
        const TR_READ = 1 << 9;
        const IDTR_WRITE = 1 << 10;
        const GDTR_WRITE = 1 << 11;
        const LDTR_WRITE = 1 << 12;
        const TR_WRITE = 1 << 13;
        const RDTSC = 1 << 14;
        const RDPMC = 1 << 15;
        const PUSHF = 1 << 16;
        const POPF = 1 << 17;
        const CPUID = 1 << 18;
        const RSM = 1 << 19;
        const IRET = 1 << 20;
        const INTN = 1 << 21;
        const INVD = 1 << 22;
        const PAUSE = 1 << 23;
        const HLT = 1 << 24;
        const INVLPG = 1 << 25;
        const INVLPGA = 1 << 26;
        const IOIO_PROT = 1 << 27;
        const MSR_PROT = 1 << 28;
        const TASK_SWITCH = 1 << 29;
        const FERR_FREEZE = 1 << 30;
        const SHUTDOWN = 1 << 31;
    }
}

bitflags! {
    /// Intercept vector 4 (VMCB offset 010h).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Misc2: u32 {
        const VMRUN = 1 << 0;
        const VMMCALL = 1 << 1;
        const VMLOAD = 1 << 2;
        const VMSAVE = 1 << 3;
        const STGI = 1 << 4;
        const CLGI = 1 << 5;
        const SKINIT = 1 << 6;
        const RDTSCP = 1 << 7;
        const ICEBP = 1 << 8;
        const WBINVD = 1 << 9;
        const MONITOR = 1 << 10;
        const MWAIT = 1 << 11;
        const MWAIT_CONDITIONAL = 1 << 12;
        const XSETBV = 1 << 13;
        const RDPRU = 1 << 14;
        const EFER_WRITE_TRAP = 1 << 15;
    }
}

/// What this hypervisor intercepts in vector 3: external events, the
/// instructions whose answer is policy (CPUID, MSR, I/O, HLT), INVD, and
/// shutdown so a guest triple fault reaches us instead of resetting the
/// machine.
///
/// INVD invalidates the caches without writing them back (AMD APM vol. 3,
/// "INVD"): executed by the guest it would discard the hypervisor's own
/// modified lines as well, so it is intercepted (APM vol. 2, 15.9
/// "Instruction Intercepts") and completed as WBINVD by the hypervisor, as
/// VT-x forces for every hypervisor (Intel SDM vol. 3C, 26.1.2).
///
/// Task switches are not intercepted (vector 3 bit 29, exit code 7Dh, APM
/// vol. 2, appendix B table B-1 and appendix C): the processor performs
/// them in the guest itself, a #DF task gate included. VT-x, which cannot,
/// exits on each one and `vmm-core` completes it.
pub fn default_misc1() -> Misc1 {
    Misc1::INTR
        | Misc1::NMI
        | Misc1::SMI
        | Misc1::INIT
        | Misc1::CPUID
        | Misc1::INVD
        | Misc1::HLT
        | Misc1::INVLPGA
        | Misc1::IOIO_PROT
        | Misc1::MSR_PROT
        | Misc1::SHUTDOWN
}

/// What this hypervisor intercepts in vector 4: every SVM instruction (VMRUN
/// must be intercepted or VMRUN fails, APM vol. 2, 15.5.1), and XSETBV, since
/// XCR0 is not part of the state VMRUN switches.
pub fn default_misc2() -> Misc2 {
    Misc2::VMRUN
        | Misc2::VMMCALL
        | Misc2::VMLOAD
        | Misc2::VMSAVE
        | Misc2::STGI
        | Misc2::CLGI
        | Misc2::SKINIT
        | Misc2::XSETBV
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invd_is_intercepted_so_a_guest_cannot_discard_the_hosts_dirty_lines() {
        assert!(default_misc1().contains(Misc1::INVD));
    }

    #[test]
    fn task_switches_are_left_to_the_processor() {
        assert!(!default_misc1().contains(Misc1::TASK_SWITCH));
    }
}
