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
    use crate::guest_config::GuestConfig;
    use crate::test_support::test_domain;
    use crate::vcpu::SegReg;
    use kernel_module::KernelSegment;

    const MIB: u64 = 1 << 20;

    /// A PVH domain of `ram_mib` MiB with the Xen platform.
    fn pvh_domain(ram_mib: u64) -> Domain {
        let config = GuestConfig {
            pvh: true,
            mem_mib: ram_mib,
            ..GuestConfig::default()
        };
        test_domain(config, (ram_mib * MIB) as usize, true)
    }

    fn kernel(paddr: u64, data: &[u8], mem_size: u64) -> Vec<u8> {
        kernel_module::encode(
            paddr as u32 + 0x10,
            &[KernelSegment {
                paddr,
                mem_size,
                data,
            }],
        )
    }

    #[test]
    fn a_pvh_board_has_a_local_apic_and_no_legacy_devices_or_io_apic() {
        let mut dom = pvh_domain(16);
        assert!(dom.board.legacy.is_none());
        assert!(dom.board.apic.is_some());
        assert!(dom.cpu.local_apic);
        // Unclaimed ports read all ones (the 8259's IMR, the PIT, CMOS).
        for port in [0x21u16, 0x40, 0x71, 0x3F8] {
            assert_eq!(dom.io.read(port, 1), 0xFF, "port {port:#x}");
        }
        // The local APIC's page answers; the I/O APIC's is not there.
        assert_eq!(
            dom.mmio.read(pc_layout::memory::LOCAL_APIC + 0x30, 4) & 0xFF,
            0x14
        );
        assert!(dom.mmio.claims(pc_layout::memory::LOCAL_APIC));
        assert!(!dom.mmio.claims(pc_layout::memory::IO_APIC));
    }

    #[test]
    fn the_kernel_initrd_tables_and_start_info_land_where_the_plan_says() {
        let mut dom = pvh_domain(32);
        let module = kernel(0x100_0000, b"KERNEL", 0x3000);
        // Dirty the .bss first: it must be zeroed.
        dom.memory.ram_mut()[0x100_0006..0x100_3000].fill(0xAA);
        let initrd = [7u8; 5000];
        let state = load_pvh(
            &mut dom,
            &PvhBoot {
                kernel: &module,
                initrd: Some(&initrd),
                cmdline: b"console=hvc0\n",
            },
        )
        .unwrap();
        let ram = dom.memory.ram_mut();
        assert_eq!(&ram[0x100_0000..0x100_0006], b"KERNEL");
        assert!(ram[0x100_0006..0x100_3000].iter().all(|&b| b == 0));
        assert_eq!(state.rip, 0x100_0010);
        let info = state.gprs[Gpr::Rbx as usize] as usize;
        assert_eq!(info as u64, pvh_start::BOOT_INFO_BASE);
        let u32_at = |a: usize| u32::from_le_bytes(ram[a..a + 4].try_into().unwrap());
        let u64_at = |a: usize| u64::from_le_bytes(ram[a..a + 8].try_into().unwrap());
        assert_eq!(u32_at(info), xen_abi::hvm::XEN_HVM_START_MAGIC_VALUE);
        // One module: the initrd, page aligned at the top of RAM.
        assert_eq!(u32_at(info + 12), 1);
        let modlist = u64_at(info + 16) as usize;
        let initrd_at = u64_at(modlist) as usize;
        assert_eq!(initrd_at, (32 * MIB - 0x2000) as usize);
        assert_eq!(u64_at(modlist + 8), 5000);
        assert_eq!(&ram[initrd_at..initrd_at + 5000], &initrd[..]);
        // The command line without its line end, NUL-terminated.
        let cmdline = u64_at(info + 24) as usize;
        assert_eq!(&ram[cmdline..cmdline + 13], b"console=hvc0\0");
        // The RSDP where rsdp_paddr says.
        let rsdp = u64_at(info + 32) as usize;
        assert_eq!(&ram[rsdp..rsdp + 8], b"RSD PTR ");
        // The Xen memory map the guest may ask for is the start info's,
        // with the special pages reserved.
        let xen = dom.xen.as_ref().unwrap();
        assert!(xen
            .domain
            .memory_map_entries()
            .iter()
            .any(|e| { e.addr == pc_layout::memory::XEN_SPECIAL_PAGES && e.kind == 2 }));
    }

    #[test]
    fn a_bad_kernel_module_or_a_kernel_outside_ram_is_one_line() {
        let mut dom = pvh_domain(16);
        fn boot(k: &[u8]) -> PvhBoot<'_> {
            PvhBoot {
                kernel: k,
                initrd: None,
                cmdline: b"",
            }
        }
        let e = load_pvh(&mut dom, &boot(b"not a module")).unwrap_err();
        assert!(e.contains("not one the runner wrote"), "{e}");
        // Linked at 16 MiB with 1 MiB of .bss: past the end of 16 MiB.
        let outside = kernel(0x100_0000, b"K", MIB);
        let e = load_pvh(&mut dom, &boot(&outside)).unwrap_err();
        assert!(e.contains("outside the guest's RAM"), "{e}");
        let low = kernel(0x1000, b"K", 0x1000);
        let e = load_pvh(&mut dom, &boot(&low)).unwrap_err();
        assert!(e.contains("outside the guest's RAM above 1 MiB"), "{e}");
        let long = alloc::vec![b'x'; 4096];
        let fine = kernel(0x20_0000, b"K", 0x1000);
        let e = load_pvh(
            &mut dom,
            &PvhBoot {
                kernel: &fine,
                initrd: None,
                cmdline: &long,
            },
        )
        .unwrap_err();
        assert!(e.contains("the command line has 4096 bytes"), "{e}");
        let huge = alloc::vec![0u8; 15 * MIB as usize];
        let e = load_pvh(
            &mut dom,
            &PvhBoot {
                kernel: &fine,
                initrd: Some(&huge),
                cmdline: b"",
            },
        )
        .unwrap_err();
        assert!(e.contains("the initrd has"), "{e}");
    }

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
