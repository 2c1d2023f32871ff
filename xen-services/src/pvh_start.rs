//! Where a PVH guest's boot data goes in its memory, and the bytes of its
//! `hvm_start_info`, module list and memory map (`arch-x86/hvm/start_info.h`;
//! the boot protocol in `docs/misc/pvh.pandoc` of Xen and the notes in
//! `../shared/notes/xen-abi.md` section 11).
//!
//! The guest's RAM is flat from address 0. The plan:
//!
//! - the kernel's PT_LOAD segments at their physical addresses (Linux 6.1
//!   PVH is not relocatable), which must lie in RAM above 1 MiB;
//! - the boot-information block at [`BOOT_INFO_BASE`]: `hvm_start_info`,
//!   then the module list, the memory map and the command line, all far
//!   below the 1 GiB the kernel's first page tables map (it reads them
//!   through `__va`); the block is reserved in the memory map, since
//!   nothing else in the guest would keep an early allocation off it;
//! - the ACPI tables (RSDP first) at [`ACPI_BASE`], in the 0xE0000–0xFFFFF
//!   window Linux reserves for the legacy BIOS area on every boot anyway,
//!   typed ACPI in the map;
//! - the initrd (module 0, which Linux takes as its initramfs) at the top
//!   of RAM below 4 GiB (`ramdisk_image` is 32 bits), page aligned, above
//!   every kernel segment;
//! - the memory map: RAM below the boot block and from its end to
//!   0xA0000 (RAM below 1 MiB is required: Linux puts its real-mode
//!   trampoline there and panics without it), and RAM from 1 MiB to the end.
//!
//! Every address and length is checked: a kernel outside RAM, a command
//! line past Linux's 2048 bytes, an initrd or tables that do not fit are
//! errors the caller reports, never a write outside the guest's memory.

use crate::hvm::guest::put;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use xen_abi::hvm::{
    HvmMemmapTableEntry, HvmModlistEntry, HvmStartInfo, HVM_START_INFO_VERSION,
    XEN_HVM_MEMMAP_TYPE_ACPI, XEN_HVM_MEMMAP_TYPE_RAM, XEN_HVM_MEMMAP_TYPE_RESERVED,
    XEN_HVM_START_MAGIC_VALUE,
};

/// Where the boot-information block starts (above the first pages, which
/// Linux keeps for itself and the BIOS data area would hold on a PC).
pub const BOOT_INFO_BASE: u64 = 0x8000;
/// Its size: start info, module list and memory map in the first page,
/// the command line in the second.
pub const BOOT_INFO_LEN: u64 = 0x2000;
/// Where the ACPI tables go: the RSDP first.
pub const ACPI_BASE: u64 = 0xE_0000;
/// The end of the ACPI window (the legacy BIOS area ends at 1 MiB).
pub const ACPI_END: u64 = 0x10_0000;
/// Linux's x86 `COMMAND_LINE_SIZE`, the terminating NUL included.
pub const MAX_CMDLINE: usize = 2048;

const PAGE: u64 = 0x1000;
/// The end of conventional memory: RAM below it, the legacy window above.
const LOW_RAM_END: u64 = 0xA_0000;
/// The kernel and the initrd live above this.
const HIGH_RAM_START: u64 = 0x10_0000;
const FOUR_GIB: u64 = 1 << 32;

const START_INFO_AT: u64 = BOOT_INFO_BASE;
const MODLIST_AT: u64 = BOOT_INFO_BASE + 0x40;
const MEMMAP_AT: u64 = BOOT_INFO_BASE + 0x80;
const CMDLINE_AT: u64 = BOOT_INFO_BASE + PAGE;

/// What is to be booted.
#[derive(Clone, Copy, Debug)]
pub struct PvhImage<'a> {
    /// The kernel's segments: physical address and size in memory.
    pub segments: &'a [(u64, u64)],
    /// Bytes of the initrd (0: none).
    pub initrd_len: u64,
    /// The command line, without its NUL.
    pub cmdline: &'a [u8],
    /// Bytes of the ACPI tables, RSDP included.
    pub acpi_len: u64,
}

/// Why an image does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// A kernel segment lies outside RAM above 1 MiB.
    KernelOutsideRam { paddr: u64, end: u64, ram: u64 },
    /// The command line is longer than Linux takes.
    CmdlineTooLong { len: usize },
    /// The command line has a NUL inside.
    CmdlineHasNul,
    /// No room for the initrd between the kernel and the top of RAM (below
    /// 4 GiB).
    InitrdTooLarge { len: u64, room: u64 },
    /// The ACPI tables do not fit their window.
    AcpiTooLarge { len: u64 },
}

impl core::fmt::Display for PlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PlanError::KernelOutsideRam { paddr, end, ram } => write!(
                f,
                "the kernel loads at {paddr:#x}..{end:#x}, outside the guest's RAM above 1 MiB \
                 (1 MiB..{ram:#x}): give the guest more memory"
            ),
            PlanError::CmdlineTooLong { len } => write!(
                f,
                "the command line has {len} bytes; Linux takes at most {}",
                MAX_CMDLINE - 1
            ),
            PlanError::CmdlineHasNul => write!(f, "the command line contains a NUL byte"),
            PlanError::InitrdTooLarge { len, room } => write!(
                f,
                "the initrd has {len} bytes, but only {room} fit above the kernel and below \
                 the end of RAM (and 4 GiB): give the guest more memory"
            ),
            PlanError::AcpiTooLarge { len } => write!(
                f,
                "the ACPI tables have {len} bytes, more than the {} of their window",
                ACPI_END - ACPI_BASE
            ),
        }
    }
}

/// Where everything goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvhPlan {
    /// The physical address of `hvm_start_info` (the guest's EBX).
    pub start_info: u64,
    pub modlist: u64,
    pub memmap: u64,
    pub cmdline: u64,
    /// The initrd's physical address, if there is one.
    pub initrd: Option<u64>,
    /// The RSDP's physical address (the tables follow it).
    pub rsdp: u64,
    /// The memory map given to the guest, in address order.
    pub memory_map: Vec<HvmMemmapTableEntry>,
}

/// Plans `image` in a guest of `ram` bytes of RAM.
pub fn plan(ram: u64, image: &PvhImage<'_>) -> Result<PvhPlan, PlanError> {
    if image.cmdline.len() >= MAX_CMDLINE {
        return Err(PlanError::CmdlineTooLong {
            len: image.cmdline.len(),
        });
    }
    if image.cmdline.contains(&0) {
        return Err(PlanError::CmdlineHasNul);
    }
    if image.acpi_len > ACPI_END - ACPI_BASE {
        return Err(PlanError::AcpiTooLarge {
            len: image.acpi_len,
        });
    }
    let mut kernel_end = HIGH_RAM_START;
    for &(paddr, size) in image.segments {
        let end = paddr.checked_add(size);
        match end {
            Some(end) if paddr >= HIGH_RAM_START && end <= ram => {
                kernel_end = kernel_end.max(end);
            }
            _ => {
                return Err(PlanError::KernelOutsideRam {
                    paddr,
                    end: end.unwrap_or(u64::MAX),
                    ram,
                })
            }
        }
    }
    let initrd = if image.initrd_len == 0 {
        None
    } else {
        let top = ram.min(FOUR_GIB) & !(PAGE - 1);
        let room = top.saturating_sub(align_up(kernel_end));
        let len = align_up(image.initrd_len);
        if len > room {
            return Err(PlanError::InitrdTooLarge {
                len: image.initrd_len,
                room,
            });
        }
        Some(top - len)
    };
    let entry = |addr: u64, size: u64, kind: u32| HvmMemmapTableEntry {
        addr,
        size,
        kind,
        reserved: 0,
    };
    let boot_end = BOOT_INFO_BASE + BOOT_INFO_LEN;
    let memory_map = alloc::vec![
        entry(0, BOOT_INFO_BASE, XEN_HVM_MEMMAP_TYPE_RAM),
        entry(BOOT_INFO_BASE, BOOT_INFO_LEN, XEN_HVM_MEMMAP_TYPE_RESERVED),
        entry(boot_end, LOW_RAM_END - boot_end, XEN_HVM_MEMMAP_TYPE_RAM),
        entry(ACPI_BASE, ACPI_END - ACPI_BASE, XEN_HVM_MEMMAP_TYPE_ACPI),
        entry(
            HIGH_RAM_START,
            ram.saturating_sub(HIGH_RAM_START),
            XEN_HVM_MEMMAP_TYPE_RAM
        ),
    ];
    Ok(PvhPlan {
        start_info: START_INFO_AT,
        modlist: MODLIST_AT,
        memmap: MEMMAP_AT,
        cmdline: CMDLINE_AT,
        initrd,
        rsdp: ACPI_BASE,
        memory_map,
    })
}

fn align_up(x: u64) -> u64 {
    x.saturating_add(PAGE - 1) & !(PAGE - 1)
}

impl PvhPlan {
    /// The boot-information block's bytes, to be written at
    /// [`BOOT_INFO_BASE`]: `hvm_start_info` (flags 0: a domU), the module
    /// list (the initrd, of `initrd_len` bytes, if any), the memory map and
    /// the NUL-terminated `cmdline`.
    pub fn boot_info(&self, initrd_len: u64, cmdline: &[u8]) -> Vec<u8> {
        let mut block = alloc::vec![0u8; BOOT_INFO_LEN as usize];
        let modules = self.initrd.map(|paddr| HvmModlistEntry {
            paddr,
            size: initrd_len,
            cmdline_paddr: 0,
            reserved: 0,
        });
        let info = HvmStartInfo {
            magic: XEN_HVM_START_MAGIC_VALUE,
            version: HVM_START_INFO_VERSION,
            flags: 0,
            nr_modules: u32::from(modules.is_some()),
            modlist_paddr: if modules.is_some() { self.modlist } else { 0 },
            cmdline_paddr: self.cmdline,
            rsdp_paddr: self.rsdp,
            memmap_paddr: self.memmap,
            memmap_entries: self.memory_map.len() as u32,
            reserved: 0,
        };
        let at = |paddr: u64| (paddr - BOOT_INFO_BASE) as usize;
        put(&mut block, at(self.start_info), &start_info_bytes(&info));
        if let Some(m) = modules {
            put(&mut block, at(self.modlist), &modlist_bytes(&m));
        }
        let entry_len = size_of::<HvmMemmapTableEntry>() as u64;
        for (i, e) in self.memory_map.iter().enumerate() {
            let paddr = self.memmap + entry_len * i as u64;
            put(&mut block, at(paddr), &memmap_bytes(e));
        }
        let len = cmdline.len().min(MAX_CMDLINE - 1);
        put(&mut block, at(self.cmdline), &cmdline[..len]);
        block
    }
}

/// `hvm_start_info`'s bytes, each field at the offset `xen-abi`'s layout
/// checks.
fn start_info_bytes(s: &HvmStartInfo) -> [u8; size_of::<HvmStartInfo>()] {
    let mut b = [0u8; size_of::<HvmStartInfo>()];
    put(
        &mut b,
        offset_of!(HvmStartInfo, magic),
        &s.magic.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, version),
        &s.version.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, flags),
        &s.flags.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, nr_modules),
        &s.nr_modules.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, modlist_paddr),
        &s.modlist_paddr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, cmdline_paddr),
        &s.cmdline_paddr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, rsdp_paddr),
        &s.rsdp_paddr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, memmap_paddr),
        &s.memmap_paddr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmStartInfo, memmap_entries),
        &s.memmap_entries.to_le_bytes(),
    );
    b
}

/// `hvm_modlist_entry`'s bytes.
fn modlist_bytes(m: &HvmModlistEntry) -> [u8; size_of::<HvmModlistEntry>()] {
    let mut b = [0u8; size_of::<HvmModlistEntry>()];
    put(
        &mut b,
        offset_of!(HvmModlistEntry, paddr),
        &m.paddr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmModlistEntry, size),
        &m.size.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmModlistEntry, cmdline_paddr),
        &m.cmdline_paddr.to_le_bytes(),
    );
    b
}

/// `hvm_memmap_table_entry`'s bytes.
fn memmap_bytes(e: &HvmMemmapTableEntry) -> [u8; size_of::<HvmMemmapTableEntry>()] {
    let mut b = [0u8; size_of::<HvmMemmapTableEntry>()];
    put(
        &mut b,
        offset_of!(HvmMemmapTableEntry, addr),
        &e.addr.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmMemmapTableEntry, size),
        &e.size.to_le_bytes(),
    );
    put(
        &mut b,
        offset_of!(HvmMemmapTableEntry, kind),
        &e.kind.to_le_bytes(),
    );
    b
}

pub mod kernel_module;

#[cfg(test)]
mod tests;
