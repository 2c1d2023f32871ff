//! Hypercall numbers, the sub-operation numbers (`cmd`) that the multiplexed
//! hypercalls take as their first argument, and the hypercall page.
//!
//! # Calling convention (64-bit guest)
//!
//! From `arch-x86/xen-x86_64.h`: the hypercall number is in RAX, up to five
//! arguments are in RDI, RSI, RDX, R10 and R8, and the result, a C `long`,
//! comes back in RAX. Errors are negative [`crate::errno::Errno`] values.
//! The guest expects RAX and the argument registers to be clobbered and
//! every other register to be preserved. A guest enters the hypervisor with
//! VMCALL (Intel) or VMMCALL (AMD), either directly or through a stub of the
//! [hypercall page](HYPERCALL_PAGE_STUBS).
//!
//! The numbers are `u32`: a RAX or RDI with any of bits 63:32 set matches no
//! hypercall and no sub-operation.
//!
//! Values that travel inside an argument structure live with the structure:
//! shutdown reasons in [`crate::sched`], HVM parameter indices in
//! [`crate::hvm`], feature bits in [`crate::version`].

// Hypercall numbers (`__HYPERVISOR_*`, `xen.h`). Numbers 6, 16 and 19 are
// the pre-3.0.2 compatibility forms of sched_op, event_channel_op and
// physdev_op; 11 is unused.

/// `set_trap_table` (PV only).
pub const HYPERVISOR_SET_TRAP_TABLE: u32 = 0;
/// `mmu_update` (PV only).
pub const HYPERVISOR_MMU_UPDATE: u32 = 1;
/// `set_gdt` (PV only).
pub const HYPERVISOR_SET_GDT: u32 = 2;
/// `stack_switch` (PV only).
pub const HYPERVISOR_STACK_SWITCH: u32 = 3;
/// `set_callbacks` (32-bit PV only).
pub const HYPERVISOR_SET_CALLBACKS: u32 = 4;
/// `fpu_taskswitch` (PV only).
pub const HYPERVISOR_FPU_TASKSWITCH: u32 = 5;
/// `sched_op_compat`: the old form of [`HYPERVISOR_SCHED_OP`].
pub const HYPERVISOR_SCHED_OP_COMPAT: u32 = 6;
/// `platform_op` (dom0 only).
pub const HYPERVISOR_PLATFORM_OP: u32 = 7;
/// `set_debugreg` (PV only).
pub const HYPERVISOR_SET_DEBUGREG: u32 = 8;
/// `get_debugreg` (PV only).
pub const HYPERVISOR_GET_DEBUGREG: u32 = 9;
/// `update_descriptor` (PV only).
pub const HYPERVISOR_UPDATE_DESCRIPTOR: u32 = 10;
/// `memory_op(cmd, arg)`: `XENMEM_*`.
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `multicall(calls, count)`.
pub const HYPERVISOR_MULTICALL: u32 = 13;
/// `update_va_mapping` (PV only).
pub const HYPERVISOR_UPDATE_VA_MAPPING: u32 = 14;
/// `set_timer_op(timeout_abs_ns)`: a one-shot timer; 0 cancels it.
pub const HYPERVISOR_SET_TIMER_OP: u32 = 15;
/// `event_channel_op_compat`: the old form of
/// [`HYPERVISOR_EVENT_CHANNEL_OP`].
pub const HYPERVISOR_EVENT_CHANNEL_OP_COMPAT: u32 = 16;
/// `xen_version(cmd, arg)`: `XENVER_*`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `console_io(cmd, count, buffer)`: `CONSOLEIO_*`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `physdev_op_compat`: the old form of [`HYPERVISOR_PHYSDEV_OP`].
pub const HYPERVISOR_PHYSDEV_OP_COMPAT: u32 = 19;
/// `grant_table_op(cmd, args, count)`: `GNTTABOP_*`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `vm_assist(cmd, type)`: `VMASST_*`.
pub const HYPERVISOR_VM_ASSIST: u32 = 21;
/// `update_va_mapping_otherdomain` (PV only).
pub const HYPERVISOR_UPDATE_VA_MAPPING_OTHERDOMAIN: u32 = 22;
/// `iret` (PV only); its hypercall-page slot holds UD2 for HVM guests.
pub const HYPERVISOR_IRET: u32 = 23;
/// `vcpu_op(cmd, vcpu, arg)`: `VCPUOP_*`.
pub const HYPERVISOR_VCPU_OP: u32 = 24;
/// `set_segment_base` (64-bit PV only).
pub const HYPERVISOR_SET_SEGMENT_BASE: u32 = 25;
/// `mmuext_op` (PV only).
pub const HYPERVISOR_MMUEXT_OP: u32 = 26;
/// `xsm_op`: security-module operations.
pub const HYPERVISOR_XSM_OP: u32 = 27;
/// `nmi_op`.
pub const HYPERVISOR_NMI_OP: u32 = 28;
/// `sched_op(cmd, arg)`: `SCHEDOP_*`.
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `callback_op(cmd, arg)`: `CALLBACKOP_*` (PV only).
pub const HYPERVISOR_CALLBACK_OP: u32 = 30;
/// `xenoprof_op` (dropped in Xen 4.22).
pub const HYPERVISOR_XENOPROF_OP: u32 = 31;
/// `event_channel_op(cmd, arg)`: `EVTCHNOP_*`.
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `physdev_op(cmd, arg)`: only with `XENFEAT_hvm_pirqs` or for dom0.
pub const HYPERVISOR_PHYSDEV_OP: u32 = 33;
/// `hvm_op(cmd, arg)`: `HVMOP_*`.
pub const HYPERVISOR_HVM_OP: u32 = 34;
/// `sysctl` (toolstack only).
pub const HYPERVISOR_SYSCTL: u32 = 35;
/// `domctl` (toolstack only).
pub const HYPERVISOR_DOMCTL: u32 = 36;
/// `kexec_op`.
pub const HYPERVISOR_KEXEC_OP: u32 = 37;
/// `tmem_op` (obsolete: transcendent memory is gone from Xen).
pub const HYPERVISOR_TMEM_OP: u32 = 38;
/// `argo_op`.
pub const HYPERVISOR_ARGO_OP: u32 = 39;
/// `xenpmu_op`.
pub const HYPERVISOR_XENPMU_OP: u32 = 40;
/// `dm_op` (device models).
pub const HYPERVISOR_DM_OP: u32 = 41;
/// `hypfs_op`.
pub const HYPERVISOR_HYPFS_OP: u32 = 42;

// The hypercall page. The public headers fix only the calling rule (call
// `page + nr * 32`, `arch-x86/xen-x86_64.h`) and the MSR that asks for the
// page (`arch-x86/cpuid.h`, leaf base+2); the stub contents below are what
// Xen writes (`xen/arch/x86/domain.c`, `hvm/vmx/vmx.c`, `hvm/svm/svm.c`).

/// Bytes per stub: hypercall `n` is entered by calling `page + n * 32`.
pub const HYPERCALL_STUB_SIZE: usize = 32;
/// Stubs in the one 4 KiB hypercall page, one per number 0-127.
pub const HYPERCALL_PAGE_STUBS: usize = crate::XEN_PAGE_SIZE / HYPERCALL_STUB_SIZE;
/// The byte the page is filled with before the stubs are written (INT3).
pub const HYPERCALL_PAGE_FILL: u8 = 0xCC;
/// VMCALL (Intel VT-x).
pub const VMCALL: [u8; 3] = [0x0F, 0x01, 0xC1];
/// VMMCALL (AMD SVM).
pub const VMMCALL: [u8; 3] = [0x0F, 0x01, 0xD9];
/// UD2, the whole stub of [`HYPERVISOR_IRET`].
pub const UD2: [u8; 2] = [0x0F, 0x0B];

/// Offset of hypercall `nr`'s stub in the hypercall page.
pub const fn hypercall_stub_offset(nr: u32) -> usize {
    nr as usize * HYPERCALL_STUB_SIZE
}

/// The 32 bytes of hypercall `nr`'s stub as Xen writes it for an HVM guest:
/// `mov eax, nr` (B8 imm32), the VM-exit instruction `insn` ([`VMCALL`] or
/// [`VMMCALL`]), `ret` (C3), the rest [`HYPERCALL_PAGE_FILL`]; the `iret`
/// slot is [`UD2`] instead.
pub const fn hypercall_stub(nr: u32, insn: [u8; 3]) -> [u8; HYPERCALL_STUB_SIZE] {
    let mut stub = [HYPERCALL_PAGE_FILL; HYPERCALL_STUB_SIZE];
    if nr == HYPERVISOR_IRET {
        stub[0] = UD2[0];
        stub[1] = UD2[1];
        return stub;
    }
    let imm = nr.to_le_bytes();
    stub[0] = 0xB8;
    stub[1] = imm[0];
    stub[2] = imm[1];
    stub[3] = imm[2];
    stub[4] = imm[3];
    stub[5] = insn[0];
    stub[6] = insn[1];
    stub[7] = insn[2];
    stub[8] = 0xC3;
    stub
}

// memory_op (`memory.h`).

/// Give the domain more machine memory (PV).
pub const XENMEM_INCREASE_RESERVATION: u32 = 0;
/// Return the pages at the given GFNs to the hypervisor (balloon out).
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
/// Highest machine frame of the host.
pub const XENMEM_MAXIMUM_RAM_PAGE: u32 = 2;
/// The domain's current page count.
pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
/// The domain's maximum page count.
pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
/// Populate the given GFNs with memory (balloon in).
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
/// Map a hypervisor page (shared_info, a grant frame) at a GFN:
/// [`crate::memory::XenAddToPhysmap`].
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
/// The domain's E820 map: [`crate::memory::XenMemoryMap`].
pub const XENMEM_MEMORY_MAP: u32 = 9;
/// The host's E820 map (dom0).
pub const XENMEM_MACHINE_MEMORY_MAP: u32 = 10;
/// Exchange pages for others (PV).
pub const XENMEM_EXCHANGE: u32 = 11;
/// The domain's highest GFN.
pub const XENMEM_MAXIMUM_GPFN: u32 = 14;
/// Unmap the page at a GFN.
pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;
/// Several add_to_physmap mappings in one call.
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u32 = 23;

// xen_version (`version.h`).

/// Returns `major << 16 | minor` directly in RAX; no argument.
pub const XENVER_VERSION: u32 = 0;
/// Copies the 16-byte extra-version string (such as ".2" or
/// "-unstable").
pub const XENVER_EXTRAVERSION: u32 = 1;
/// Copies compiler and build information.
pub const XENVER_COMPILE_INFO: u32 = 2;
/// Copies the 1024-byte capabilities string.
pub const XENVER_CAPABILITIES: u32 = 3;
/// Copies the 64-byte changeset string.
pub const XENVER_CHANGESET: u32 = 4;
/// Copies the platform parameters (the hypervisor's virtual start).
pub const XENVER_PLATFORM_PARAMETERS: u32 = 5;
/// Fills a [`crate::version::XenFeatureInfo`] submap.
pub const XENVER_GET_FEATURES: u32 = 6;
/// Returns the page size directly in RAX.
pub const XENVER_PAGESIZE: u32 = 7;
/// Copies the domain handle (UUID).
pub const XENVER_GUEST_HANDLE: u32 = 8;
/// Copies the hypervisor's command line.
pub const XENVER_COMMANDLINE: u32 = 9;
/// Copies the build id; returns its length.
pub const XENVER_BUILD_ID: u32 = 10;

// console_io (`xen.h`).

/// Write `count` bytes from a guest buffer to the hypervisor's console.
pub const CONSOLEIO_WRITE: u32 = 0;
/// Read from the hypervisor's console (dom0).
pub const CONSOLEIO_READ: u32 = 1;

// grant_table_op (`grant_table.h`).

/// Map a foreign grant.
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// Unmap a foreign grant.
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// Set up (and for PV list) the grant frames:
/// [`crate::grant_table::GnttabSetupTable`].
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// Dump the table to the hypervisor's console.
pub const GNTTABOP_DUMP_TABLE: u32 = 3;
/// Transfer a page to another domain.
pub const GNTTABOP_TRANSFER: u32 = 4;
/// Copy between grants.
pub const GNTTABOP_COPY: u32 = 5;
/// Current and maximum frame count:
/// [`crate::grant_table::GnttabQuerySize`].
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// Unmap a grant and put another mapping in its place.
pub const GNTTABOP_UNMAP_AND_REPLACE: u32 = 7;
/// Select the entry format: [`crate::grant_table::GnttabSetVersion`].
pub const GNTTABOP_SET_VERSION: u32 = 8;
/// The status frames of a v2 table.
pub const GNTTABOP_GET_STATUS_FRAMES: u32 = 9;
/// The entry format in use.
pub const GNTTABOP_GET_VERSION: u32 = 10;
/// Swap two entries.
pub const GNTTABOP_SWAP_GRANT_REF: u32 = 11;
/// Cache maintenance on a grant (Arm).
pub const GNTTABOP_CACHE_FLUSH: u32 = 12;

// vm_assist (`xen.h`).

/// Turn an assist on.
pub const VMASST_CMD_ENABLE: u32 = 0;
/// Turn an assist off.
pub const VMASST_CMD_DISABLE: u32 = 1;
/// Assist: set [`crate::shared_info::XEN_RUNSTATE_UPDATE`] while the
/// runstate area is being rewritten.
pub const VMASST_TYPE_RUNSTATE_UPDATE_FLAG: u32 = 5;

// vcpu_op (`vcpu.h`).

/// Set the initial register state of an offline vCPU (PV).
pub const VCPUOP_INITIALISE: u32 = 0;
/// Bring a vCPU up.
pub const VCPUOP_UP: u32 = 1;
/// Take a vCPU down.
pub const VCPUOP_DOWN: u32 = 2;
/// Is the vCPU up?
pub const VCPUOP_IS_UP: u32 = 3;
/// Copy the vCPU's runstate.
pub const VCPUOP_GET_RUNSTATE_INFO: u32 = 4;
/// [`crate::vcpu::VcpuRegisterRunstateMemoryArea`].
pub const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u32 = 5;
/// [`crate::vcpu::VcpuSetPeriodicTimer`].
pub const VCPUOP_SET_PERIODIC_TIMER: u32 = 6;
/// Stop the periodic timer; no argument.
pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
/// [`crate::vcpu::VcpuSetSingleshotTimer`].
pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
/// Stop the one-shot timer; no argument.
pub const VCPUOP_STOP_SINGLESHOT_TIMER: u32 = 9;
/// [`crate::vcpu::VcpuRegisterVcpuInfo`].
pub const VCPUOP_REGISTER_VCPU_INFO: u32 = 10;
/// Send an NMI to the vCPU.
pub const VCPUOP_SEND_NMI: u32 = 11;
/// The physical CPU's APIC and ACPI ids (dom0).
pub const VCPUOP_GET_PHYSID: u32 = 12;
/// [`crate::vcpu::VcpuRegisterTimeMemoryArea`] (user-mode pvclock).
pub const VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA: u32 = 13;
/// Runstate area by guest-physical address.
pub const VCPUOP_REGISTER_RUNSTATE_PHYS_AREA: u32 = 14;
/// Time area by guest-physical address.
pub const VCPUOP_REGISTER_VCPU_TIME_PHYS_AREA: u32 = 15;

// sched_op (`sched.h`).

/// Give up the CPU; no argument.
pub const SCHEDOP_YIELD: u32 = 0;
/// Sleep until an event is pending; no argument.
pub const SCHEDOP_BLOCK: u32 = 1;
/// Stop the domain: [`crate::sched::SchedShutdown`].
pub const SCHEDOP_SHUTDOWN: u32 = 2;
/// Sleep until one of some ports is pending: [`crate::sched::SchedPoll`].
pub const SCHEDOP_POLL: u32 = 3;
/// Shut another domain down (privileged).
pub const SCHEDOP_REMOTE_SHUTDOWN: u32 = 4;
/// Record a shutdown code without shutting down.
pub const SCHEDOP_SHUTDOWN_CODE: u32 = 5;
/// Arm or disarm a watchdog.
pub const SCHEDOP_WATCHDOG: u32 = 6;
/// Pin to a physical CPU (hardware domain).
pub const SCHEDOP_PIN_OVERRIDE: u32 = 7;

// event_channel_op (`event_channel.h`); argument structures in
// `crate::event_channel`.

/// Connect to a remote domain's unbound port.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// Bind a virtual IRQ (`VIRQ_*`) on a vCPU.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// Bind a physical IRQ.
pub const EVTCHNOP_BIND_PIRQ: u32 = 2;
/// Close a port.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// Notify the other end of a port.
pub const EVTCHNOP_SEND: u32 = 4;
/// Describe a port.
pub const EVTCHNOP_STATUS: u32 = 5;
/// Allocate a port for a remote domain to bind to.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// Allocate an IPI port on a vCPU.
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// Deliver a port to another vCPU.
pub const EVTCHNOP_BIND_VCPU: u32 = 8;
/// Unmask a port and deliver it if pending.
pub const EVTCHNOP_UNMASK: u32 = 9;
/// Close every port of a domain.
pub const EVTCHNOP_RESET: u32 = 10;
/// Switch to the FIFO ABI (a guest takes success as "FIFO in use").
pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
/// Add a FIFO event array page.
pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
/// Set a port's FIFO priority.
pub const EVTCHNOP_SET_PRIORITY: u32 = 13;

// hvm_op (`hvm/hvm_op.h`); argument structures in `crate::hvm`. Numbers
// 2-4 were device-model operations, gone since interface version 4.9.

/// Write an HVM parameter: [`crate::hvm::XenHvmParam`].
pub const HVMOP_SET_PARAM: u32 = 0;
/// Read an HVM parameter: [`crate::hvm::XenHvmParam`].
pub const HVMOP_GET_PARAM: u32 = 1;
/// Flush every vCPU's TLB.
pub const HVMOP_FLUSH_TLBS: u32 = 5;
/// A page table is going away: [`crate::hvm::XenHvmPagetableDying`].
pub const HVMOP_PAGETABLE_DYING: u32 = 9;
/// Hypervisor system time in ns.
pub const HVMOP_GET_TIME: u32 = 10;
/// The memory type of a GFN (kdump).
pub const HVMOP_GET_MEM_TYPE: u32 = 15;
/// Per-vCPU upcall vector: [`crate::hvm::XenHvmEvtchnUpcallVector`].
pub const HVMOP_SET_EVTCHN_UPCALL_VECTOR: u32 = 23;
/// Send a vm_event to a monitor.
pub const HVMOP_GUEST_REQUEST_VM_EVENT: u32 = 24;
/// Alternate p2m views.
pub const HVMOP_ALTP2M: u32 = 25;

// callback_op (`callback.h`); PV only.

/// Register an event or failsafe callback.
pub const CALLBACKOP_REGISTER: u32 = 0;
/// Unregister a callback.
pub const CALLBACKOP_UNREGISTER: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_holds_128_stubs_of_32_bytes() {
        assert_eq!(HYPERCALL_PAGE_STUBS, 128);
        assert_eq!(hypercall_stub_offset(HYPERVISOR_MEMORY_OP), 0x180);
        assert_eq!(hypercall_stub_offset(127) + HYPERCALL_STUB_SIZE, 4096);
    }

    #[test]
    fn a_stub_loads_its_number_exits_and_returns() {
        let stub = hypercall_stub(HYPERVISOR_EVENT_CHANNEL_OP, VMCALL);
        assert_eq!(stub[..9], [0xB8, 32, 0, 0, 0, 0x0F, 0x01, 0xC1, 0xC3]);
        assert!(stub[9..].iter().all(|&b| b == 0xCC));
        let stub = hypercall_stub(HYPERVISOR_SCHED_OP, VMMCALL);
        assert_eq!(stub[..9], [0xB8, 29, 0, 0, 0, 0x0F, 0x01, 0xD9, 0xC3]);
    }

    #[test]
    fn the_iret_stub_is_ud2() {
        let stub = hypercall_stub(HYPERVISOR_IRET, VMCALL);
        assert_eq!(stub[..2], UD2);
        assert!(stub[2..].iter().all(|&b| b == 0xCC));
    }
}
