//! HVM-specific ABI: the `hvm_op` argument structures (`hvm/hvm_op.h`;
//! sub-operation numbers in [`crate::hypercall`]), the HVM parameters a
//! guest reads and writes (`hvm/params.h`), and the PVH start-of-day
//! structures (`arch-x86/hvm/start_info.h`, with the `SIF_*` flags of
//! `xen.h`).

use crate::memory::DomId;

/// `HVMOP_set_param` / `HVMOP_get_param` (`struct xen_hvm_param`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenHvmParam {
    /// The domain (`DOMID_SELF`).
    pub domid: DomId,
    /// Always zero.
    pub pad: u16,
    /// An `HVM_PARAM_*` index.
    pub index: u32,
    /// In for set, out for get.
    pub value: u64,
}

layout!(XenHvmParam, size 16, domid @ 0, pad @ 2, index @ 4, value @ 8);

// HVM parameter indices (`HVM_PARAM_*`).

/// How event-channel upcalls reach vCPU 0: 0 for not at all, otherwise a
/// type in bits 63:56 (`HVM_PARAM_CALLBACK_TYPE_*`) and its payload below.
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
/// GFN of the XenStore ring page ([`crate::xenstore::XenstoreDomainInterface`]).
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// Event-channel port of the XenStore ring.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// GFN of the synchronous ioreq page (device models).
pub const HVM_PARAM_IOREQ_PFN: u32 = 5;
/// GFN of the buffered ioreq page (device models).
pub const HVM_PARAM_BUFIOREQ_PFN: u32 = 6;
/// Viridian (Hyper-V) enlightenment mask.
pub const HVM_PARAM_VIRIDIAN: u32 = 9;
/// Timer mode for missed ticks.
pub const HVM_PARAM_TIMER_MODE: u32 = 10;
/// Whether the HPET is emulated.
pub const HVM_PARAM_HPET_ENABLED: u32 = 11;
/// Identity page table for unpaged real mode (VMX without unrestricted
/// guest).
pub const HVM_PARAM_IDENT_PT: u32 = 12;
/// The ACPI S-state the domain is in.
pub const HVM_PARAM_ACPI_S_STATE: u32 = 14;
/// TSS for virtual-8086 mode emulation.
pub const HVM_PARAM_VM86_TSS: u32 = 15;
/// Whether to align virtual platform timers.
pub const HVM_PARAM_VPT_ALIGN: u32 = 16;
/// GFN of the PV console ring page ([`crate::console::XenconsInterface`]).
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// Event-channel port of the PV console ring.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;
/// Number of HVM parameters; indices are below it.
pub const HVM_NR_PARAMS: u32 = 39;

/// The type field of an [`HVM_PARAM_CALLBACK_IRQ`] value, bits 63:56.
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_MASK: u64 = 0xFF00_0000_0000_0000;
/// Type 0: bits 55:0 are a GSI (GSI 0 cannot be named: the value would
/// be 0, "no callback").
pub const HVM_PARAM_CALLBACK_TYPE_GSI: u8 = 0;
/// Type 1: a PCI INTx line: segment in bits 47:32, bus 31:16, devfn
/// 15:8, pin (0 = INTA) 1:0.
pub const HVM_PARAM_CALLBACK_TYPE_PCI_INTX: u8 = 1;
/// Type 2 (x86): bits 7:0 are a vector, injected directly on the vCPU
/// with `evtchn_upcall_pending` set; needs
/// [`crate::version::XENFEAT_HVM_CALLBACK_VECTOR`].
pub const HVM_PARAM_CALLBACK_TYPE_VECTOR: u8 = 2;

/// The callback type of an [`HVM_PARAM_CALLBACK_IRQ`] value.
pub const fn callback_type(value: u64) -> u8 {
    (value >> 56) as u8
}

/// The payload of an [`HVM_PARAM_CALLBACK_IRQ`] value, bits 55:0.
pub const fn callback_payload(value: u64) -> u64 {
    value & !HVM_PARAM_CALLBACK_IRQ_TYPE_MASK
}

/// The [`HVM_PARAM_CALLBACK_IRQ`] value that selects delivery through
/// `vector` (0xF3 gives 0x0200_0000_0000_00F3).
pub const fn callback_via_vector(vector: u8) -> u64 {
    (HVM_PARAM_CALLBACK_TYPE_VECTOR as u64) << 56 | vector as u64
}

/// `HVMOP_set_evtchn_upcall_vector` (`struct
/// xen_hvm_evtchn_upcall_vector`): deliver `vcpu`'s upcalls through its
/// local APIC at `vector`, which the guest acknowledges with an EOI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenHvmEvtchnUpcallVector {
    /// The vCPU.
    pub vcpu: u32,
    /// The vector (Xen refuses those below 0x10).
    pub vector: u8,
    /// Always zero.
    pub pad: [u8; 3],
}

layout!(XenHvmEvtchnUpcallVector, size 8, vcpu @ 0, vector @ 4, pad @ 5);

/// `HVMOP_pagetable_dying` (`struct xen_hvm_pagetable_dying`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct XenHvmPagetableDying {
    /// The domain (`DOMID_SELF`).
    pub domid: DomId,
    /// Always zero.
    pub pad: [u16; 3],
    /// Guest-physical address of the top-level page table going away.
    pub gpa: u64,
}

layout!(XenHvmPagetableDying, size 16, domid @ 0, pad @ 2, gpa @ 8);

// PVH start of day.

/// [`HvmStartInfo::magic`]: "xEn3" with bit 7 of the "E" set.
pub const XEN_HVM_START_MAGIC_VALUE: u32 = 0x336e_c578;
/// The start-info version with the memory map fields.
pub const HVM_START_INFO_VERSION: u32 = 1;

/// `hvm_start_info.flags` / `start_info.flags` (`SIF_*`, `xen.h`): the
/// domain is privileged. Never set for a domU.
pub const SIF_PRIVILEGED: u32 = 1 << 0;
/// The domain is the initial control domain (dom0).
pub const SIF_INITDOMAIN: u32 = 1 << 1;
/// The module is a multiboot module list.
pub const SIF_MULTIBOOT_MOD: u32 = 1 << 2;
/// The module start is a frame number.
pub const SIF_MOD_START_PFN: u32 = 1 << 3;

/// Where a PVH guest starts (`struct hvm_start_info`): its physical
/// address is in EBX at the entry point. Addresses of 0 mean "absent".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct HvmStartInfo {
    /// [`XEN_HVM_START_MAGIC_VALUE`].
    pub magic: u32,
    /// Structure version; 1 adds the memory map.
    pub version: u32,
    /// `SIF_*` flags; 0 for a domU.
    pub flags: u32,
    /// Entries at `modlist_paddr`.
    pub nr_modules: u32,
    /// Physical address of an array of [`HvmModlistEntry`].
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP.
    pub rsdp_paddr: u64,
    /// Version 1: physical address of an array of [`HvmMemmapTableEntry`].
    pub memmap_paddr: u64,
    /// Version 1: entries at `memmap_paddr` (0: no map given).
    pub memmap_entries: u32,
    /// Version 1: zero.
    pub reserved: u32,
}

layout!(HvmStartInfo, size 56,
    magic @ 0, version @ 4, flags @ 8, nr_modules @ 12, modlist_paddr @ 16,
    cmdline_paddr @ 24, rsdp_paddr @ 32, memmap_paddr @ 40,
    memmap_entries @ 48, reserved @ 52);

/// A boot module (`struct hvm_modlist_entry`); Linux takes module 0 as
/// its initrd.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct HvmModlistEntry {
    /// Physical address.
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Physical address of the module's command line (0: none).
    pub cmdline_paddr: u64,
    /// Zero.
    pub reserved: u64,
}

layout!(HvmModlistEntry, size 32,
    paddr @ 0, size @ 8, cmdline_paddr @ 16, reserved @ 24);

/// A memory map entry (`struct hvm_memmap_table_entry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct HvmMemmapTableEntry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// A `XEN_HVM_MEMMAP_TYPE_*` value (the ACPI address range types).
    pub kind: u32,
    /// Zero.
    pub reserved: u32,
}

layout!(HvmMemmapTableEntry, size 24, addr @ 0, size @ 8, kind @ 16, reserved @ 20);

/// Usable RAM.
pub const XEN_HVM_MEMMAP_TYPE_RAM: u32 = 1;
/// Reserved.
pub const XEN_HVM_MEMMAP_TYPE_RESERVED: u32 = 2;
/// ACPI tables, reclaimable.
pub const XEN_HVM_MEMMAP_TYPE_ACPI: u32 = 3;
/// ACPI non-volatile storage.
pub const XEN_HVM_MEMMAP_TYPE_NVS: u32 = 4;
/// Unusable.
pub const XEN_HVM_MEMMAP_TYPE_UNUSABLE: u32 = 5;
/// Disabled.
pub const XEN_HVM_MEMMAP_TYPE_DISABLED: u32 = 6;
/// Persistent memory.
pub const XEN_HVM_MEMMAP_TYPE_PMEM: u32 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_callback_encoding() {
        let value = callback_via_vector(0xF3);
        assert_eq!(value, 0x0200_0000_0000_00F3);
        assert_eq!(callback_type(value), HVM_PARAM_CALLBACK_TYPE_VECTOR);
        assert_eq!(callback_payload(value), 0xF3);
        assert_eq!(callback_type(28), HVM_PARAM_CALLBACK_TYPE_GSI);
        assert_eq!(callback_payload(28), 28);
        let intx = 1u64 << 56 | 3 << 8;
        assert_eq!(callback_type(intx), HVM_PARAM_CALLBACK_TYPE_PCI_INTX);
    }

    #[test]
    fn the_start_info_magic_spells_xen3() {
        let bytes = XEN_HVM_START_MAGIC_VALUE.to_le_bytes();
        assert_eq!([bytes[0], bytes[1] & 0x7F, bytes[2], bytes[3]], *b"xEn3");
        assert_eq!(bytes[1] & 0x80, 0x80);
    }
}
