//! The initramfs: busybox, the `/init` script, the kernel modules `/init`
//! loads with their `modules.dep`, Debian's XenStore tools with the
//! shared libraries they load, and `/bin/diskbench`, written as a gzip'd
//! cpio archive.
//!
//! Format followed: the kernel's initramfs buffer format
//! (Documentation/driver-api/early-userspace/buffer-format.rst, Linux 6.1).

use super::cpio;
use super::host::{read, run, write};
use super::modules::{
    index_modules, load_order, module_image, modules_dep_line, normalize, parse_modinfo,
    strip_compression, ModInfo,
};
use super::userland::{closure, xenstore_tools, Entry, DLOPENED_LIBRARIES, XENSTORE_PROGRAM};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `/init` prints first, once proc, sysfs and devtmpfs are mounted.
pub const INIT_STARTED: &str = "vmm-linux: init started";
/// What `/init` prints just before the interactive shell takes the console.
pub const SHELL_READY: &str = "vmm-linux: shell ready";
/// What `/init` prints once it has started a second shell on the Xen PV
/// console `/dev/hvc0` (only when the kernel made that device).
pub const HVC0_SHELL_STARTED: &str = "vmm-linux: hvc0 shell started";
/// What `/sbin/poweroff` prints on the console before it powers off.
pub const POWERING_OFF: &str = "vmm-linux: powering off";

/// `/sbin/poweroff`, kept in place of busybox's applet link (`busybox
/// --install -s` leaves an existing file alone). Busybox's `poweroff`
/// without `-f` only signals init (SIGUSR2 to PID 1, busybox 1.35
/// init/halt.c), and PID 1 here is a shell that ignores it; so the
/// kernel's orderly power-off, which runs `/sbin/poweroff` as a usermode
/// helper (kernel/reboot.c, `__orderly_poweroff`) when Xen's
/// `control/shutdown` watch reads `poweroff` (drivers/xen/manage.c,
/// `do_poweroff`: `orderly_poweroff(false)` on a running system, so no
/// forced fallback), would do nothing. This one syncs and powers off at
/// once, as init would at the end of its shutdown. With `acpi=off` the
/// kernel has no power-off handler, so `reboot(RB_POWER_OFF)` halts instead
/// (kernel/reboot.c) and prints `reboot: System halted`.
pub(super) const POWEROFF_SCRIPT: &str = r#"#!/bin/busybox sh
# /sbin/poweroff of the vmm Linux test guest: there is no init to signal.
echo "vmm-linux: powering off" >/dev/console 2>/dev/null
/bin/busybox sync
exec /bin/busybox poweroff -f
"#;

/// Where `/init` mounts the CD (`/dev/sr0`, ISO 9660, read-only).
pub const CD_MOUNT: &str = "/mnt";

/// Where the busybox package keeps the binary.
const BUSYBOX_IN_PACKAGE: &str = "bin/busybox";

/// The modules `/init` loads, before their dependencies are added: Debian
/// builds the IDE, SCSI, CD-ROM and ISO 9660 drivers as modules, and the
/// virtio-blk ones too (the same kernel on plain QEMU with a virtio disk,
/// `cargo xtask bench disk`'s `qemu-virtio` path; nothing binds to them on
/// the hypervisor's PC), and Xen's PV block frontend (the disk as `xvda`
/// when the Xen platform is on; it binds to nothing on plain QEMU).
pub(super) const WANTED_MODULES: &[&str] = &[
    "ata_piix",
    "sr_mod",
    "sd_mod",
    "isofs",
    "virtio_pci",
    "virtio_blk",
    "xen_blkfront",
];

/// `/init` up to the module loading. The applets are linked only once /proc
/// is there (busybox finds itself through /proc/self/exe).
pub(super) const INIT_HEAD: &str = r#"#!/bin/busybox sh
# /init of the vmm Linux test guest, written by `cargo xtask make-linux-iso`.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
echo "vmm-linux: init started"
echo "vmm-linux: kernel $(uname -r)"
"#;

/// `/init` after the module loading: mount the CD (waiting for its drive
/// only on a machine with a PCI bus: a PVH guest has none), start a shell on
/// the Xen PV console when there is one and it is not already the console
/// (`setsid -c` makes it that shell's controlling terminal; a PVH guest
/// booted with `console=hvc0` gets one shell there, not two reading the same
/// terminal), hand over the console.
pub(super) const INIT_TAIL: &str = r#"i=0
if [ -n "$(ls /sys/bus/pci/devices 2>/dev/null)" ]; then
  while [ ! -b /dev/sr0 ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
fi
if mount -t iso9660 -o ro /dev/sr0 /mnt; then
  echo "vmm-linux: cdrom mounted at /mnt"
else
  echo "vmm-linux: cannot mount /dev/sr0 at /mnt"
fi
if grep -qw hvc0 /sys/class/tty/console/active 2>/dev/null; then
  echo "vmm-linux: the console is hvc0"
elif [ -c /dev/hvc0 ]; then
  setsid -c sh </dev/hvc0 >/dev/hvc0 2>&1 &
  echo "vmm-linux: hvc0 shell started"
fi
echo "vmm-linux: shell ready"
exec setsid cttyhack sh
"#;

/// Writes the initramfs: busybox, `/init`, the modules `/init` loads with
/// their `modules.dep`, the console device the kernel opens before init, and
/// the XenStore tools (each a link to the one program, as the package's hard
/// links are) with everything the dynamic loader needs for them.
pub(super) fn make_initrd(
    root: &Path,
    version: &str,
    diskbench: &[u8],
    work: &Path,
) -> Result<PathBuf, String> {
    let modules_dir = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|d| root.join(d).join(version))
        .find(|d| d.is_dir())
        .ok_or_else(|| format!("the kernel package has no /lib/modules/{version}"))?;
    let index = index_modules(&modules_dir)?;
    let mut loaded: BTreeMap<String, ModInfo> = BTreeMap::new();
    let mut images: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let order = load_order(WANTED_MODULES, |name| {
        let rel = index
            .get(name)
            .ok_or_else(|| format!("module {name} is not in the kernel package"))?;
        let image = module_image(&modules_dir.join(rel))?;
        let info = parse_modinfo(&image).map_err(|e| format!("{rel}: {e}"))?;
        // Soft "pre" dependencies load first too, where they name a module
        // file (an alias such as crc-t10dif's "crct10dif" is left to the kernel).
        let mut deps = info.depends.clone();
        for soft in info.softdep_pre.iter().map(|d| normalize(d)) {
            if index.contains_key(&soft) && !deps.contains(&soft) {
                deps.push(soft);
            }
        }
        images.insert(name.to_string(), image);
        loaded.insert(name.to_string(), info);
        Ok(deps)
    })?;

    let mut cpio = cpio::Archive::new();
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "mnt", "tmp", "root", "etc",
    ] {
        cpio.dir(d);
    }
    cpio.char_device("dev/console", 0o600, 5, 1);
    let busybox = root.join(BUSYBOX_IN_PACKAGE);
    cpio.file("bin/busybox", 0o755, &read(&busybox)?);
    cpio.symlink("bin/sh", "busybox");
    cpio.file(super::diskbench::GUEST_PATH, 0o755, diskbench);
    cpio.file("sbin/poweroff", 0o755, POWEROFF_SCRIPT.as_bytes());
    let programs: Vec<&str> = [XENSTORE_PROGRAM]
        .into_iter()
        .chain(DLOPENED_LIBRARIES.iter().copied())
        .collect();
    for entry in closure(root, &programs)? {
        match entry {
            Entry::File { path, perm, data } => cpio.file(&path, perm, &data),
            Entry::Symlink { path, target } => cpio.symlink(&path, &target),
        }
    }
    let program = XENSTORE_PROGRAM.rsplit('/').next().expect("a file name");
    for tool in xenstore_tools(root)? {
        cpio.symlink(&format!("usr/bin/{tool}"), program);
    }

    let ko_path = |name: &str| strip_compression(&index[name]).to_string();
    let mut dep_lines = String::new();
    let mut init = String::from(INIT_HEAD);
    for name in &order {
        let rel = ko_path(name);
        // modules.dep lists every module a module needs, the ones to load
        // last first (modprobe loads the list from its end).
        let needs: Vec<String> = load_order(&[name.as_str()], |m| Ok(loaded[m].depends.clone()))?
            .iter()
            .rev()
            .skip(1)
            .map(|d| ko_path(d))
            .collect();
        dep_lines.push_str(&modules_dep_line(&rel, &needs));
        cpio.file(
            &format!("lib/modules/{version}/{rel}"),
            0o644,
            &images[name],
        );
        init.push_str(&format!(
            "insmod /lib/modules/{version}/{rel} || echo \"vmm-linux: insmod {name} failed\"\n"
        ));
    }
    cpio.file(
        &format!("lib/modules/{version}/modules.dep"),
        0o644,
        dep_lines.as_bytes(),
    );
    init.push_str(INIT_TAIL);
    cpio.file("init", 0o755, init.as_bytes());

    let raw = work.join("initrd.img");
    write(&raw, &cpio.finish())?;
    run(
        Command::new("gzip").args(["-9", "-n", "-f"]).arg(&raw),
        "gzip initrd.img",
    )?;
    Ok(work.join("initrd.img.gz"))
}
