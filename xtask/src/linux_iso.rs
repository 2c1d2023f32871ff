//! A Linux test guest on an El Torito CD, made from Debian's own packages so
//! the kernel and the boot loader are exactly what Debian ships.
//!
//! `make_linux_iso` downloads (once, into `target/guests/cache/`) the stock
//! kernel the `linux-image-amd64` metapackage points at, `busybox-static`,
//! `isolinux`, `syslinux-common`, and `xenstore-utils` with the packages of
//! the libraries it loads, and builds `target/guests/linux.iso`:
//!
//! | path on the CD | what it is |
//! | --- | --- |
//! | `isolinux/isolinux.bin` | the El Torito no-emulation boot image (4 sectors loaded, boot info table patched in) |
//! | `isolinux/ldlinux.c32`, `isolinux/isolinux.cfg` | the rest of ISOLINUX and its configuration (serial console on COM1 at 115200) |
//! | `boot/vmlinuz` | Debian's unmodified bzImage |
//! | `boot/initrd.img` | a gzip'd cpio "newc" archive written here: busybox, `/init`, the kernel modules for the PIIX IDE controller, the ATAPI CD-ROM, ISO 9660 and virtio-blk on PCI, Debian's `xenstore-*` tools with their shared libraries and dynamic loader at their Debian paths, and our disk benchmark `/bin/diskbench` (`guest-tools/diskbench`, built here, static) |
//! | `testdata/hello.txt` | a few KB of deterministic text; its sha256 is written beside the ISO as `linux.iso.testdata.sha256` |
//!
//! Once a kernel package is in the cache it stays the kernel the ISO is made
//! from, so test runs do not change under a Debian kernel update; delete the
//! cache to move to the kernel `linux-image-amd64` names then.
//!
//! The guest's `/init` prints [`INIT_STARTED`], loads the modules, mounts the
//! CD at [`CD_MOUNT`], starts a shell on the Xen PV console when the kernel
//! has one (`/dev/hvc0`, then [`HVC0_SHELL_STARTED`]) and prints
//! [`SHELL_READY`] before it gives the serial console an interactive shell. The kernel runs with
//! the stock command line (only the serial console, `panic=-1` and a quiet
//! log level added): the hypervisor's PC gives it a local APIC, an I/O APIC
//! and ACPI tables as QEMU's `pc` machine does (issue 15).
//!
//! Formats followed: the kernel's initramfs buffer format
//! (Documentation/driver-api/early-userspace/buffer-format.rst, Linux 6.1),
//! the ELF-64 section header table and dynamic section (System V ABI, generic
//! "gABI" 4.1, chapters 4 "Sections" and 5 "Dynamic Section"), the
//! `.modinfo` key=value strings `modinfo(8)` reads, and `modules.dep` as
//! `modules.dep(5)` describes it.
//!
//! The parts, each using only those listed before it: `host` (running tools,
//! file helpers), `cpio` (the archive writer), `testdata` (the test file),
//! `elf` (sections, `.interp`, `DT_NEEDED`), `modules` (kernel modules:
//! `.modinfo`, load order, decompression), `userland` (dynamically linked
//! programs and what the loader needs for them), `apt` (the package cache),
//! `diskbench` (building `/bin/diskbench`), `initrd` (the initramfs and
//! `/init`), `iso` (the CD and `xorriso`), `pvh_files` (the ISO's kernel
//! and initrd as host files, for a PVH start); this file decides when to
//! rebuild: a changed package, recipe or `diskbench` rebuilds the ISO.

pub(crate) mod apt;
mod cpio;
mod diskbench;
mod elf;
pub(crate) mod host;
mod initrd;
mod iso;
mod modules;
mod pvh_files;
mod testdata;
mod userland;

pub use initrd::{CD_MOUNT, HVC0_SHELL_STARTED, INIT_STARTED, POWERING_OFF, SHELL_READY};
pub use pvh_files::{linux_pvh_files, PvhFiles};
pub use testdata::{testdata_bytes, TESTDATA_PATH};

use crate::tools;
use crate::workspace_root;
use apt::{Apt, Debs};
use host::{create_dir, file_name, write};
use initrd::{INIT_HEAD, INIT_TAIL, POWEROFF_SCRIPT, WANTED_MODULES};
use iso::ISOLINUX_CFG;
use std::path::PathBuf;
use testdata::parse_sha256_line;

/// Raise when the way the ISO is put together changes (the cpio writer, the
/// test file, the layout), so existing ISOs are rebuilt; the package files,
/// `/init` and `isolinux.cfg` are compared on their own.
const RECIPE_VERSION: u32 = 4;

/// The workspace's folder for generated guests.
pub fn guests_dir() -> PathBuf {
    workspace_root().join("target").join("guests")
}

/// Where `make_linux_iso` puts the ISO.
pub fn iso_path() -> PathBuf {
    guests_dir().join("linux.iso")
}

/// The `sha256sum`-format line for the test file, beside the ISO.
pub fn testdata_sha256_path() -> PathBuf {
    guests_dir().join("linux.iso.testdata.sha256")
}

/// The test file's sha256 (64 lowercase hex digits), as the last build wrote it.
pub fn testdata_sha256() -> Result<String, String> {
    let path = testdata_sha256_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_sha256_line(&text).ok_or_else(|| format!("{} holds no sha256", path.display()))
}

/// Builds `target/guests/linux.iso` unless it is already built from the same
/// packages and recipe; `force` rebuilds it (the package cache is kept).
pub fn make_linux_iso(force: bool) -> Result<PathBuf, String> {
    let dir = guests_dir();
    let cache = dir.join("cache");
    create_dir(&cache)?;
    // One builder at a time, across threads and processes (tests run in parallel).
    let lock_path = dir.join(".linux-iso.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let mut apt = Apt::default();
    let debs = apt.fetch_debs(&cache)?;
    let diskbench = diskbench::build()?;
    let iso = iso_path();
    let stamp_path = dir.join("linux.iso.stamp");
    let stamp = recipe_stamp(&debs, &diskbench::fingerprint(&diskbench));
    let up_to_date = iso.is_file()
        && testdata_sha256_path().is_file()
        && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp);
    if up_to_date && !force {
        return Ok(iso);
    }
    for program in ["xorriso", "gzip"] {
        tools::require(program)?;
    }
    // A stale stamp must not vouch for a half-written ISO.
    let _ = std::fs::remove_file(&stamp_path);
    let work = dir.join("work");
    let built = iso::build(&debs, &diskbench, &work, &iso, &testdata_sha256_path());
    // The unpacked kernel package is some 400 MB: never keep it.
    let _ = std::fs::remove_dir_all(&work);
    let summary = built?;
    write(&stamp_path, stamp.as_bytes())?;
    eprintln!("xtask: {summary}");
    Ok(iso)
}

/// What decides whether an existing ISO can be reused.
fn recipe_stamp(debs: &Debs, diskbench: &str) -> String {
    let mut s = format!("recipe {RECIPE_VERSION}\ndiskbench {diskbench}\n");
    for deb in debs.all() {
        s.push_str(&format!("deb {}\n", file_name(deb)));
    }
    s.push_str(ISOLINUX_CFG);
    s.push_str(INIT_HEAD);
    s.push_str(&WANTED_MODULES.join(" "));
    s.push_str(INIT_TAIL);
    s.push_str(POWEROFF_SCRIPT);
    s
}

#[cfg(test)]
mod tests;
