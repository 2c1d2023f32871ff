//! A PVH start (`--kernel`): the boot modules and configuration lines that
//! hand a Linux kernel, its initrd and command line to the hypervisor,
//! which starts it at its PVH entry with no firmware and no emulated
//! devices (`vmm-core`'s `guest_boot::pvh`; the shared notes, `xen-abi.md`
//! section 11).
//!
//! The kernel is read here (`crate::pvh_kernel`: bzImage or ELF, the entry
//! note, the segments) and handed over flattened
//! (`xen_services::pvh_start::kernel_module`), so the hypervisor needs no
//! ELF reader or decompressor.

use super::options::{PvhBoot, RunOptions};
use crate::qemu::BootModule;
use std::path::Path;
use xen_services::pvh_start::kernel_module::{self, KernelSegment};
use xen_services::pvh_start::{self, PvhImage};

/// The module names `guest_boot::pvh` looks for.
const KERNEL_MODULE: &str = "pvh-kernel";
const INITRD_MODULE: &str = "pvh-initrd";
const CMDLINE_MODULE: &str = "pvh-cmdline";

/// Checks that the run can be a PVH one, writes the kernel and command
/// line modules into `dir`, and returns the configuration lines and the
/// modules. Every problem is one line.
pub(super) fn prepare(
    pvh: &PvhBoot,
    opts: &RunOptions,
    dir: &Path,
) -> Result<(String, Vec<BootModule>), String> {
    if opts.iso.is_some() || opts.floppy.is_some() {
        return Err(
            "a PVH guest has no emulated CD-ROM or floppy drive: give its disks with --disk \
             (they are xvda, xvdb, ... through the PV block backend)"
                .into(),
        );
    }
    if !opts.xen {
        return Err(
            "a PVH guest runs on the Xen interface: --xen off cannot be used with --kernel".into(),
        );
    }
    if opts.keyboard {
        return Err("a PVH guest has no keyboard: its console is hvc0".into());
    }
    let kernel = crate::pvh_kernel::load(&pvh.kernel)?;
    let segments: Vec<KernelSegment<'_>> = kernel
        .segments
        .iter()
        .map(|s| KernelSegment {
            paddr: s.paddr,
            mem_size: s.mem_size,
            data: &s.data,
        })
        .collect();
    // Whether it fits the guest is checked here too, so a kernel linked
    // where it cannot load, or an initrd or command line too large, is one
    // line before the machine starts (the hypervisor checks again, with
    // its real ACPI tables).
    let placed: Vec<(u64, u64)> = segments.iter().map(|s| (s.paddr, s.mem_size)).collect();
    let initrd_len = match &pvh.initrd {
        Some(p) => std::fs::metadata(p)
            .map_err(|e| format!("{}: cannot read: {e}", p.display()))?
            .len(),
        None => 0,
    };
    pvh_start::plan(
        opts.mem_mib << 20,
        &PvhImage {
            segments: &placed,
            initrd_len,
            cmdline: pvh.cmdline.as_bytes(),
            acpi_len: 0,
        },
    )
    .map_err(|e| format!("PVH start of {}: {e}", pvh.kernel.display()))?;
    let module = kernel_module::encode(kernel.entry, &segments);
    let kernel_path = dir.join("pvh-kernel.bin");
    write(&kernel_path, &module)?;
    if pvh.cmdline.contains('\0') {
        return Err("--cmdline contains a NUL byte".into());
    }
    let cmdline_path = dir.join("pvh-cmdline.txt");
    write(&cmdline_path, pvh.cmdline.as_bytes())?;
    let mut modules = vec![
        BootModule {
            path: kernel_path,
            name: KERNEL_MODULE.into(),
        },
        BootModule {
            path: cmdline_path,
            name: CMDLINE_MODULE.into(),
        },
    ];
    if let Some(initrd) = &pvh.initrd {
        let meta = std::fs::metadata(initrd)
            .map_err(|e| format!("{}: cannot read: {e}", initrd.display()))?;
        if !meta.is_file() || meta.len() == 0 {
            return Err(format!(
                "{}: not an initrd (empty or not a file)",
                initrd.display()
            ));
        }
        modules.push(BootModule {
            path: initrd.clone(),
            name: INITRD_MODULE.into(),
        });
    }
    Ok(("firmware = pvh\n".to_string(), modules))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
