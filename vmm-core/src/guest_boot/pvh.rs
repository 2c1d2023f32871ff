//! Xen PVH guests: no firmware, no emulated devices; the kernel is started
//! at its `XEN_ELFNOTE_PHYS32_ENTRY` in 32-bit protected mode with EBX
//! pointing at an `hvm_start_info` (Xen's `docs/misc/pvh.pandoc`,
//! `xen/include/public/arch-x86/hvm/start_info.h`; the shared notes,
//! `xen-abi.md` section 11).
//!
//! The runner hands the kernel over as the boot module [`KERNEL_MODULE`]
//! (its segments and entry, read from the ELF on the host:
//! `xen_services::pvh_start::kernel_module`), the initrd as
//! [`INITRD_MODULE`] and the command line as [`CMDLINE_MODULE`]. Where
//! everything goes is `xen_services::pvh_start::plan`'s decision; this file
//! writes it into the guest's RAM, gives the Xen platform the same memory
//! map for `XENMEM_memory_map`, and returns the vCPU's first state.

use crate::domain::Domain;
use crate::vcpu::{ControlRegs, Gpr, InitialState, Segment, CR0_PE};
use alloc::string::String;
use alloc::vec::Vec;
use pc_acpi::PcAcpiConfig;
use xen_abi::hvm::{HvmMemmapTableEntry, XEN_HVM_MEMMAP_TYPE_RESERVED};
use xen_abi::memory::E820Entry;
use xen_services::pvh_start::{self, kernel_module, PvhImage};

/// The boot module holding the kernel's segments and entry.
pub const KERNEL_MODULE: &str = "pvh-kernel";
/// The boot module holding the initrd (optional).
pub const INITRD_MODULE: &str = "pvh-initrd";
/// The boot module holding the kernel command line (optional).
pub const CMDLINE_MODULE: &str = "pvh-cmdline";

/// CR0.ET: set on every processor since the 486; Xen's PVH entry has it.
const CR0_ET: u64 = 1 << 4;
/// Where the tables after the RSDP start (the FACS in them must be 64-byte
/// aligned, ACPI 6.5 section 5.2.10).
const TABLES_OFFSET: u64 = 0x40;

/// What the runner gave for a PVH start.
pub struct PvhBoot<'a> {
    pub kernel: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    pub cmdline: &'a [u8],
}

/// Loads `boot` into `dom`'s RAM with its boot information and ACPI tables
/// and returns the vCPU's state at the kernel's entry. Every problem (a
/// damaged kernel module, a kernel outside RAM, an initrd or command line
/// too large) is one line for the user.
pub fn load_pvh(dom: &mut Domain, boot: &PvhBoot<'_>) -> Result<InitialState, String> {
    let kernel = kernel_module::decode(boot.kernel).map_err(|e| alloc::format!("{e}"))?;
    let config = PcAcpiConfig::pvh(dom.cpu.vcpus.max(1));
    let tables_base = pvh_start::ACPI_BASE + TABLES_OFFSET;
    let acpi = pc_acpi::build(&config, tables_base)
        .map_err(|e| alloc::format!("cannot build the PVH ACPI tables: {e:?}"))?;
    let segments: Vec<(u64, u64)> = kernel
        .segments
        .iter()
        .map(|s| (s.paddr, s.mem_size))
        .collect();
    let cmdline = trim_cmdline(boot.cmdline);
    let initrd = boot.initrd.unwrap_or(&[]);
    let image = PvhImage {
        segments: &segments,
        initrd_len: initrd.len() as u64,
        cmdline,
        acpi_len: TABLES_OFFSET + acpi.tables.len() as u64,
    };
    let mut plan =
        pvh_start::plan(dom.memory.ram_size(), &image).map_err(|e| alloc::format!("PVH: {e}"))?;
    // The Xen special pages (XenStore and console rings) sit above RAM:
    // reserved in the map, as the notes' gotcha 8 asks.
    plan.memory_map.push(HvmMemmapTableEntry {
        addr: pc_layout::memory::XEN_SPECIAL_PAGES,
        size: pc_layout::memory::XEN_SPECIAL_PAGES_SIZE,
        kind: XEN_HVM_MEMMAP_TYPE_RESERVED,
        reserved: 0,
    });

    for s in &kernel.segments {
        write_ram(dom, s.paddr, s.data)?;
        let bss = s.mem_size - s.data.len() as u64;
        zero_ram(dom, s.paddr + s.data.len() as u64, bss)?;
    }
    if let Some(at) = plan.initrd {
        write_ram(dom, at, initrd)?;
    }
    write_ram(dom, plan.rsdp, &acpi.rsdp)?;
    write_ram(dom, tables_base, &acpi.tables)?;
    let info = plan.boot_info(initrd.len() as u64, cmdline);
    write_ram(dom, pvh_start::BOOT_INFO_BASE, &info)?;
    if let Some(xen) = dom.xen.as_mut() {
        xen.domain.set_memory_map(
            plan.memory_map
                .iter()
                .map(|e| E820Entry {
                    addr: e.addr,
                    size: e.size,
                    kind: e.kind,
                })
                .collect(),
        );
    }
    log::info!(
        "dom{}: PVH kernel entry {:#x}, {} segment(s), initrd {} KiB, command line `{}`",
        dom.id,
        kernel.entry,
        kernel.segments.len(),
        initrd.len() >> 10,
        core::str::from_utf8(cmdline).unwrap_or("(not UTF-8)")
    );
    Ok(entry_state(kernel.entry, plan.start_info))
}

/// The command line without trailing NULs or line ends (a file written by
/// an editor ends in one).
fn trim_cmdline(cmdline: &[u8]) -> &[u8] {
    let end = cmdline
        .iter()
        .rposition(|&b| !matches!(b, 0 | b'\n' | b'\r'))
        .map_or(0, |i| i + 1);
    &cmdline[..end]
}

/// The PVH entry state (notes §11 "Entry state"; pvh.pandoc): CR0 with PE,
/// paging off, CR4 and EFER 0, flat 32-bit code and data segments, EBX the
/// start info's address, IF clear. TR and LDTR keep their reset values (a
/// busy 32-bit TSS, an unusable LDT), which the spec allows.
pub fn entry_state(entry: u32, start_info: u64) -> InitialState {
    let code = Segment {
        selector: 0x08,
        // Present, DPL 0, code execute/read accessed; D/B and G set.
        attrs: 0xC9B,
        limit: 0xFFFF_FFFF,
        base: 0,
    };
    let data = Segment {
        selector: 0x10,
        // Present, DPL 0, data read/write accessed; D/B and G set.
        attrs: 0xC93,
        ..code
    };
    let mut state = InitialState {
        rip: u64::from(entry),
        rflags: 0x2,
        control: ControlRegs {
            cr0: CR0_PE | CR0_ET,
            ..Default::default()
        },
        segments: [data; 6],
        ..Default::default()
    };
    state.segments[1] = code;
    state.gprs[Gpr::Rbx as usize] = start_info;
    state
}

/// Writes `data` to guest RAM at `gpa` through the hypervisor's view (the
/// legacy BIOS window is RAM for a PVH guest, whatever the board's ROM
/// shadowing would say).
fn write_ram(dom: &mut Domain, gpa: u64, data: &[u8]) -> Result<(), String> {
    ram_range(dom, gpa, data.len() as u64)?.copy_from_slice(data);
    Ok(())
}

fn zero_ram(dom: &mut Domain, gpa: u64, len: u64) -> Result<(), String> {
    ram_range(dom, gpa, len)?.fill(0);
    Ok(())
}

fn ram_range(dom: &mut Domain, gpa: u64, len: u64) -> Result<&mut [u8], String> {
    let outside = || alloc::format!("PVH: {len} bytes at {gpa:#x} lie outside the guest's RAM");
    let start = usize::try_from(gpa).map_err(|_| outside())?;
    let end = gpa
        .checked_add(len)
        .and_then(|e| usize::try_from(e).ok())
        .ok_or_else(outside)?;
    dom.memory.ram_mut().get_mut(start..end).ok_or_else(outside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcpu::SegReg;

    #[test]
    fn the_entry_state_is_the_one_pvh_specifies() {
        let s = entry_state(0x100_0850, 0x8000);
        assert_eq!(s.rip, 0x100_0850);
        assert_eq!(s.control.cr0, 0x11);
        assert_eq!(s.control.cr4, 0);
        assert_eq!(s.control.efer, 0);
        assert_eq!(s.gprs[Gpr::Rbx as usize], 0x8000);
        assert_eq!(s.rflags & (1 << 9), 0, "IF clear");
        let cs = SegReg::ALL.iter().position(|&r| r == SegReg::Cs).unwrap();
        assert_eq!(s.segments[cs].attrs & 0xF, 0xB);
        for (i, seg) in s.segments.iter().enumerate() {
            assert_eq!((seg.base, seg.limit), (0, 0xFFFF_FFFF));
            assert_ne!(seg.attrs & Segment::ATTR_DB, 0, "segment {i} 32-bit");
        }
    }

    #[test]
    fn a_command_line_file_loses_its_line_end_and_nuls() {
        assert_eq!(trim_cmdline(b"console=hvc0\n"), b"console=hvc0");
        assert_eq!(trim_cmdline(b"a b\r\n\0\0"), b"a b");
        assert_eq!(trim_cmdline(b"\n"), b"");
        assert_eq!(trim_cmdline(b""), b"");
    }
}
