//! AMD's own MSRs that a stock Linux kernel reads with unchecked `rdmsr` on
//! the processor the guest is told about. Under QEMU TCG that is QEMU's
//! default `qemu64` model, AuthenticAMD family 0Fh model 6Bh (a K8), and
//! under Bochs `--cpu amd` a Ryzen (family 17h); CPUID passes the host's
//! family through.
//!
//! | MSR | read | write | why a guest needs it |
//! | --- | --- | --- | --- |
//! | C001_0055h Interrupt Pending Message | 0 | #GP | Linux 6.1 marks families 0Fh (model 41h and up) and 10h with erratum 400 (`X86_BUG_AMD_E400`) and `arch_post_acpi_subsys_init` reads this MSR unchecked, even with `acpi=off`: a #GP prints `unchecked MSR access error: RDMSR from 0xc0010055` with a call trace |
//! | C001_0015h HWCR | [`HWCR_VALUE`] (TscFreqSel) | [`HWCR_IGNORED`] bits accepted and ignored, anything else #GP | `bsp_init_amd` reads it unchecked on family 10h (model 2 and up) and later when the TSC is constant, and warns `TSC doesn't count with P0 frequency!` if TscFreqSel is clear; K8's `init_amd_k8` sets FFDIS (bit 6) |
//! | C001_001Fh NB_CFG | 0 | accepted and ignored | from family 10h on, `pci_io_ecs_init` registers `amd_bus_cpu_online`, which reads it unchecked and writes EnableCf8ExtCfg (bit 46) back unchecked: two call traces on Bochs' Ryzen |
//! | 8Bh PATCH_LEVEL | [`PATCH_LEVEL_VALUE`] | accepted and ignored | the microcode revision in `/proc/cpuinfo` |
//!
//! Interrupt Pending Message (AMD BKDG for family 0Fh, "Interrupt Pending
//! and CMP-Halt Register", and for family 10h, MSRC001_0055): bits 27
//! (SmiOnCmpHalt) and 28 (C1eOnCmpHalt) enable C1E when every core halts.
//! Zero says C1E is off, which is true (a halted vCPU is only descheduled);
//! Linux then keeps the plain idle path and does not set
//! `X86_BUG_AMD_APIC_C1E`. KVM reads it as 0 and refuses writes (it is in
//! `kvm_get_msr_common`'s read-as-zero list, not in the set side's list).
//!
//! HWCR (AMD APM vol. 2, "Hardware Configuration Register (HWCR)"; family
//! 10h/15h BKDGs and family 17h PPRs, MSRC001_0015): bit 24 TscFreqSel
//! "TSC increments at the P0 frequency", read-only 1 from family 10h on,
//! and true of the guest's TSC, which runs at one constant rate. KVM reads
//! HWCR as what was written (0 after reset), ignores writes of TlbCacheDis
//! (3), FFDIS (6) and IgnneEm (8) and refuses every other bit but
//! McStatusWrEn (18); we refuse McStatusWrEn too (machine-check status
//! registers stay read-as-zero, see [`super::mce`]), so HWCR needs no state.
//!
//! NB_CFG (family 10h BKDG and family 17h PPR, MSRC001_001F, the
//! northbridge configuration; bit 46 EnableCf8ExtCfg lets CF8h carry
//! register bits 11:8): read as 0 with writes accepted and ignored, KVM's
//! answer (in both its read-as-zero and its ignored-write lists), and the one
//! MSR here whose written value does not read back: the guest's northbridge
//! is an i440FX, and Linux sets `PCI_HAS_IO_ECS` from the family alone, not
//! from this MSR, so nothing the guest does depends on the bit.
//!
//! Not answered, on purpose: DE_CFG (C001_1029h; Linux sets its LFENCE
//! serialization bit with `msr_set_bit`, a checked access, and treats a
//! processor without it as having a serializing LFENCE already; the value
//! would be the host core's, which this policy cannot see), SYSCFG, TOP_MEM,
//! TSEG and the MMIO configuration base (read with checked accessors,
//! or only once an AMD northbridge, SME or an MTRR cleanup is found, none of
//! which the guest has), the K7 performance counters (Linux probes them with
//! checked accessors and falls back to software events, as on plain QEMU),
//! and everything SVM's (C001_0114h VM_CR, C001_0117h VM_HSAVE_PA: CPUID
//! hides SVM). All of them raise #GP.

/// MSR_K8_INT_PENDING_MSG, C001_0055h.
pub const MSR_INT_PENDING_MSG: u32 = 0xC001_0055;
/// MSR_K7_HWCR, C001_0015h.
pub const MSR_HWCR: u32 = 0xC001_0015;
/// HWCR.TscFreqSel (bit 24).
const HWCR_TSC_FREQ_SEL: u64 = 1 << 24;
/// What HWCR reads: TscFreqSel set, every other bit clear (caches, flush
/// filter, SMM lock, McStatusWrEn and the rest at their reset values).
pub const HWCR_VALUE: u64 = HWCR_TSC_FREQ_SEL;
/// HWCR bits a write may have either way without effect: TlbCacheDis (3),
/// FFDIS (6) and IgnneEm (8), which KVM ignores too, and the read-only
/// TscFreqSel (24), so that writing back what was read succeeds.
pub const HWCR_IGNORED: u64 = (1 << 3) | (1 << 6) | (1 << 8) | HWCR_TSC_FREQ_SEL;
/// MSR_AMD64_NB_CFG, C001_001Fh.
pub const MSR_NB_CFG: u32 = 0xC001_001F;
/// MSR_AMD64_DE_CFG, C001_1029h: not answered (see the module's notes).
pub const MSR_DE_CFG: u32 = 0xC001_1029;
/// What PATCH_LEVEL (8Bh) reads on AMD: KVM's default for AMD guests
/// (`microcode_version` = 0x0100_0065 in `kvm_arch_vcpu_create`).
pub const PATCH_LEVEL_VALUE: u64 = 0x0100_0065;

/// RDMSR of an AMD MSR: `None` (#GP) for any other.
pub(super) fn read(msr: u32) -> Option<u64> {
    match msr {
        MSR_INT_PENDING_MSG | MSR_NB_CFG => Some(0),
        MSR_HWCR => Some(HWCR_VALUE),
        super::MSR_UCODE_REV => Some(PATCH_LEVEL_VALUE),
        _ => None,
    }
}

/// WRMSR of `value` to an AMD MSR: `None` when `msr` is not one of these,
/// else whether the write is done (false: #GP).
pub(super) fn write(msr: u32, value: u64) -> Option<bool> {
    match msr {
        MSR_INT_PENDING_MSG => Some(false),
        MSR_NB_CFG => Some(true),
        MSR_HWCR => Some(value & !HWCR_IGNORED == 0),
        super::MSR_UCODE_REV => Some(true),
        _ => None,
    }
}
