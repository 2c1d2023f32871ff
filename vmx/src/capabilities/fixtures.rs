//! Recorded VMX capability MSR values, for tests: one emulator the project runs
//! on and three real Intel processors of different generations.
//!
//! Every value below was read from a machine (or from a dump of one); none is
//! derived from a manual. An MSR missing from a dump faults on that machine.

use super::msr::*;

/// One machine's capability MSRs.
#[derive(Clone, Copy, Debug)]
pub struct MsrDump {
    /// Which machine, for assertion messages.
    pub name: &'static str,
    /// (MSR index, value) pairs.
    pub values: &'static [(u32, u64)],
}

impl MsrDump {
    /// What RDMSR returns on that machine; None where it raises #GP.
    pub fn read(&self, msr: u32) -> Option<u64> {
        self.values.iter().find(|(m, _)| *m == msr).map(|(_, v)| *v)
    }
}

/// Bochs 2.7 (Debian 12 package `bochs` 2.7+dfsg-4+deb12u1) with
/// `cpu: model=corei7_skylake_x`. Captured on this project's machines: a boot
/// sector executed RDMSR for each index in real mode and wrote the result to
/// port E9h (shared/notes/bochs-vmx.md quotes the BASIC, EPT_VPID_CAP,
/// FEATURE_CONTROL and CR0_FIXED0 values). RDMSR of 0x492
/// (IA32_VMX_PROCBASED_CTLS3) returned 0 without faulting.
pub const BOCHS_SKYLAKE_X: MsrDump = MsrDump {
    name: "Bochs 2.7 corei7_skylake_x",
    values: &[
        (IA32_FEATURE_CONTROL, 0x0000_0000_0000_0005),
        (IA32_VMX_BASIC, 0x00D8_1000_0000_002B),
        (IA32_VMX_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_PROCBASED_CTLS, 0xF7F9_FFFE_0401_E172),
        (IA32_VMX_EXIT_CTLS, 0x007F_FFFF_0003_6DFF),
        (IA32_VMX_ENTRY_CTLS, 0x0000_FFFF_0000_11FF),
        (IA32_VMX_MISC, 0x0000_0000_6004_01E0),
        (IA32_VMX_CR0_FIXED0, 0x0000_0000_8000_0021),
        (IA32_VMX_CR0_FIXED1, 0x0000_0000_FFFF_FFFF),
        (IA32_VMX_CR4_FIXED0, 0x0000_0000_0000_2000),
        (IA32_VMX_CR4_FIXED1, 0x0000_0000_0037_27FF),
        (IA32_VMX_VMCS_ENUM, 0x0000_0000_0000_0034),
        (IA32_VMX_PROCBASED_CTLS2, 0x0217_7FFF_0000_0000),
        (IA32_VMX_EPT_VPID_CAP, 0x0000_0F01_0633_4141),
        (IA32_VMX_TRUE_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_TRUE_PROCBASED_CTLS, 0xF7F9_FFFE_0400_6172),
        (IA32_VMX_TRUE_EXIT_CTLS, 0x007F_FFFF_0003_6DFB),
        (IA32_VMX_TRUE_ENTRY_CTLS, 0x0000_FFFF_0000_11FB),
        (IA32_VMX_VMFUNC, 0x0000_0000_0000_0001),
        (0x492, 0),
    ],
};

/// Intel Core i7-6700K (Skylake client, family 6 model 94). Source: VirtualBox's
/// CPU database, repository VirtualBox/virtualbox, file
/// src/VBox/VMM/VMMR3/cpus/Intel_Core_i7_6700K.h (commit 4908d8d1a85c), the
/// `g_aMsrRanges_Intel_Core_i7_6700K` entries for MSRs 0x480-0x491, recorded
/// by VBoxCpuReport on that processor.
pub const CORE_I7_6700K_SKYLAKE: MsrDump = MsrDump {
    name: "Core i7-6700K (Skylake)",
    values: &[
        (IA32_VMX_BASIC, 0x00DA_0400_0000_0004),
        (IA32_VMX_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_PROCBASED_CTLS, 0xFFF9_FFFE_0401_E172),
        (IA32_VMX_EXIT_CTLS, 0x01FF_FFFF_0003_6DFF),
        (IA32_VMX_ENTRY_CTLS, 0x0003_FFFF_0000_11FF),
        (IA32_VMX_MISC, 0x0000_0000_7004_C1E7),
        (IA32_VMX_CR0_FIXED0, 0x0000_0000_8000_0021),
        (IA32_VMX_CR0_FIXED1, 0x0000_0000_FFFF_FFFF),
        (IA32_VMX_CR4_FIXED0, 0x0000_0000_0000_2000),
        (IA32_VMX_CR4_FIXED1, 0x0000_0000_0037_27FF),
        (IA32_VMX_VMCS_ENUM, 0x0000_0000_0000_002E),
        (IA32_VMX_PROCBASED_CTLS2, 0x001F_FCFF_0000_0000),
        (IA32_VMX_EPT_VPID_CAP, 0x0000_0F01_0633_4141),
        (IA32_VMX_TRUE_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_TRUE_PROCBASED_CTLS, 0xFFF9_FFFE_0400_6172),
        (IA32_VMX_TRUE_EXIT_CTLS, 0x01FF_FFFF_0003_6DFB),
        (IA32_VMX_TRUE_ENTRY_CTLS, 0x0003_FFFF_0000_11FB),
        (IA32_VMX_VMFUNC, 0x0000_0000_0000_0001),
    ],
};

/// Intel Core i7-5600U (Broadwell client, family 6 model 61). Source: VirtualBox's
/// CPU database, repository VirtualBox/virtualbox, file
/// src/VBox/VMM/VMMR3/cpus/Intel_Core_i7_5600U.h (commit 4908d8d1a85c), the
/// `g_aMsrRanges_Intel_Core_i7_5600U` entries for MSRs 0x480-0x491.
pub const CORE_I7_5600U_BROADWELL: MsrDump = MsrDump {
    name: "Core i7-5600U (Broadwell)",
    values: &[
        (IA32_VMX_BASIC, 0x00DA_0400_0000_0012),
        (IA32_VMX_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_PROCBASED_CTLS, 0xFFF9_FFFE_0401_E172),
        (IA32_VMX_EXIT_CTLS, 0x007F_FFFF_0003_6DFF),
        (IA32_VMX_ENTRY_CTLS, 0x0000_FFFF_0000_11FF),
        (IA32_VMX_MISC, 0x0000_0000_3004_81E5),
        (IA32_VMX_CR0_FIXED0, 0x0000_0000_8000_0021),
        (IA32_VMX_CR0_FIXED1, 0x0000_0000_FFFF_FFFF),
        (IA32_VMX_CR4_FIXED0, 0x0000_0000_0000_2000),
        (IA32_VMX_CR4_FIXED1, 0x0000_0000_0037_67FF),
        (IA32_VMX_VMCS_ENUM, 0x0000_0000_0000_002A),
        (IA32_VMX_PROCBASED_CTLS2, 0x0005_7CFF_0000_0000),
        (IA32_VMX_EPT_VPID_CAP, 0x0000_0F01_0633_4141),
        (IA32_VMX_TRUE_PINBASED_CTLS, 0x0000_007F_0000_0016),
        (IA32_VMX_TRUE_PROCBASED_CTLS, 0xFFF9_FFFE_0400_6172),
        (IA32_VMX_TRUE_EXIT_CTLS, 0x007F_FFFF_0003_6DFB),
        (IA32_VMX_TRUE_ENTRY_CTLS, 0x0000_FFFF_0000_11FB),
        (IA32_VMX_VMFUNC, 0x0000_0000_0000_0001),
    ],
};

/// Intel Xeon X5482 (Penryn server, family 6 model 23): VMX without EPT, VPID,
/// unrestricted guest or TRUE control MSRs; the dump ends at
/// IA32_VMX_PROCBASED_CTLS2. Source: VirtualBox's CPU database, repository
/// VirtualBox/virtualbox, file src/VBox/VMM/VMMR3/cpus/Intel_Xeon_X5482_3_20GHz.h
/// (commit 4908d8d1a85c), the `g_aMsrRanges_Intel_Xeon_X5482_3_20GHz` entries
/// for MSRs 0x480-0x48B.
pub const XEON_X5482_PENRYN: MsrDump = MsrDump {
    name: "Xeon X5482 (Penryn)",
    values: &[
        (IA32_VMX_BASIC, 0x005A_0800_0000_000D),
        (IA32_VMX_PINBASED_CTLS, 0x0000_003F_0000_0016),
        (IA32_VMX_PROCBASED_CTLS, 0xF7F9_FFFE_0401_E172),
        (IA32_VMX_EXIT_CTLS, 0x0003_FFFF_0003_6DFF),
        (IA32_VMX_ENTRY_CTLS, 0x0000_3FFF_0000_11FF),
        (IA32_VMX_MISC, 0x0000_0000_0004_03C0),
        (IA32_VMX_CR0_FIXED0, 0x0000_0000_8000_0021),
        (IA32_VMX_CR0_FIXED1, 0x0000_0000_FFFF_FFFF),
        (IA32_VMX_CR4_FIXED0, 0x0000_0000_0000_2000),
        (IA32_VMX_CR4_FIXED1, 0x0000_0000_0000_27FF),
        (IA32_VMX_VMCS_ENUM, 0x0000_0000_0000_002C),
        (IA32_VMX_PROCBASED_CTLS2, 0x0000_0041_0000_0000),
    ],
};
