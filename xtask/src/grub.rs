//! A GRUB rescue ISO that boots the hypervisor through Multiboot2, with the
//! guest's modules beside it: how it boots in Bochs and on real hardware.

use crate::qemu::BootModule;
use crate::tools;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `iso` from the hypervisor ELF and modules, using `grub-mkrescue`.
pub fn make_iso(
    hypervisor: &Path,
    modules: &[BootModule],
    work: &Path,
    iso: &Path,
) -> Result<PathBuf, String> {
    for program in [
        "grub-mkrescue",
        "xorriso",
        "mformat",
        "/usr/lib/grub/i386-pc",
    ] {
        tools::require(program)?;
    }
    let root = work.join("iso-root");
    let boot = root.join("boot");
    std::fs::create_dir_all(boot.join("grub"))
        .map_err(|e| format!("cannot create {}: {e}", boot.display()))?;
    let copy = |from: &Path, to: &Path| {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))
    };
    copy(hypervisor, &boot.join("vmm.elf"))?;
    let mut entry = String::from(
        "set timeout=0\nset default=0\nmenuentry \"vmm\" {\n  multiboot2 /boot/vmm.elf\n",
    );
    for (i, m) in modules.iter().enumerate() {
        let file = format!("module{i}.bin");
        copy(&m.path, &boot.join(&file))?;
        entry.push_str(&format!("  module2 /boot/{file} name={}\n", m.name));
    }
    entry.push_str("  boot\n}\n");
    std::fs::write(boot.join("grub").join("grub.cfg"), entry)
        .map_err(|e| format!("cannot write grub.cfg: {e}"))?;
    let out = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(iso)
        .arg(&root)
        .output()
        .map_err(|e| format!("cannot run grub-mkrescue: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "grub-mkrescue failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(iso.to_path_buf())
}
