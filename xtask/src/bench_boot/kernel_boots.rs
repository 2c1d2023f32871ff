//! The boot benchmark's kernel line: the Linux ISO's own kernel and initrd
//! (`linux_iso::linux_pvh_files`) to its shell marker, booted by QEMU TCG
//! directly (`-kernel`/`-initrd`, no BIOS boot loader, COM1 console) and by
//! the hypervisor as a PVH guest (no firmware, console hvc0), side by side
//! with the HVM boot of the same kernel through our BIOS (the `linux` case).

use super::{boot_nested_until, boot_qemu_until, nested_options, BootResult, LINUX_MARKER};
use crate::linux_iso;
use crate::runner::PvhBoot;
use std::path::PathBuf;

/// The result's name.
pub const NAME: &str = "linux-pvh";

/// Boots the kernel both ways; `direct` is QEMU's `-kernel` boot, `nested`
/// the PVH one.
pub fn run(target_dir: Option<&PathBuf>) -> Result<BootResult, String> {
    let files = linux_iso::linux_pvh_files()?;
    eprintln!("xtask: booting the Linux kernel directly in QEMU TCG (-kernel) ...");
    let args: Vec<std::ffi::OsString> = vec![
        "-kernel".into(),
        files.kernel.clone().into(),
        "-initrd".into(),
        files.initrd.clone().into(),
        "-append".into(),
        "console=ttyS0,115200 panic=-1 loglevel=4".into(),
    ];
    let direct = boot_qemu_until(&args, "the Linux kernel (-kernel)", LINUX_MARKER)?;
    eprintln!("xtask: booting the Linux kernel PVH on the hypervisor nested in QEMU TCG ...");
    let opts = crate::runner::RunOptions {
        pvh: Some(PvhBoot {
            kernel: files.kernel,
            initrd: Some(files.initrd),
            cmdline: "console=hvc0 panic=-1 loglevel=4".into(),
        }),
        ..nested_options(LINUX_MARKER, target_dir)
    };
    let (nested, stats) = boot_nested_until(&opts, "the Linux kernel (PVH)", LINUX_MARKER)?;
    Ok(BootResult {
        name: NAME,
        direct,
        nested,
        stats,
    })
}

/// Prints the three boots of the kernel; `hvm` is the ISO's boot through
/// our BIOS, when it ran.
pub fn print(r: &BootResult, hvm: Option<&BootResult>) {
    let base = r.direct.as_secs_f64().max(1e-9);
    println!("\nthe same Linux kernel and initrd to `{LINUX_MARKER}`:");
    println!(
        "  {:<44} {:>8.2} s",
        "QEMU TCG direct kernel boot (-kernel)",
        r.direct.as_secs_f64()
    );
    if let Some(h) = hvm {
        println!(
            "  {:<44} {:>8.2} s {:>7.2}x",
            "nested, HVM through our BIOS (ISO)",
            h.nested.as_secs_f64(),
            h.nested.as_secs_f64() / base
        );
    }
    println!(
        "  {:<44} {:>8.2} s {:>7.2}x",
        "nested, PVH (no firmware, no devices)",
        r.nested.as_secs_f64(),
        r.nested.as_secs_f64() / base
    );
}
