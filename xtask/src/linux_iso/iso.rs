//! The CD itself: the packages unpacked, ISOLINUX and its configuration, the
//! kernel, the initramfs and the test file laid out, and `xorriso` making an
//! El Torito no-emulation ISO of them.

use super::apt::Debs;
use super::host::{copy, create_dir, file_name, list_dir, run, write};
use super::initrd::make_initrd;
use super::testdata::{sha256_of, testdata_bytes, TESTDATA_PATH};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ISO's volume label.
const VOLUME_ID: &str = "VMMLINUX";
/// Where the isolinux and syslinux-common packages keep what the CD needs.
const ISOLINUX_BIN_IN_PACKAGE: &str = "usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX_IN_PACKAGE: &str = "usr/lib/syslinux/modules/bios/ldlinux.c32";

/// ISOLINUX's configuration. `serial` must come first to take effect.
pub(super) const ISOLINUX_CFG: &str = "\
serial 0 115200
default linux
prompt 0
timeout 0
label linux
  kernel /boot/vmlinuz
  append initrd=/boot/initrd.img console=ttyS0,115200 panic=-1 loglevel=4
";

/// Unpacks the packages into `work` and makes `iso` there, with the test
/// file's `sha256sum` line at `sha256_path`; returns a summary.
pub(super) fn build(
    debs: &Debs,
    diskbench: &[u8],
    work: &Path,
    iso: &Path,
    sha256_path: &Path,
) -> Result<String, String> {
    let _ = std::fs::remove_dir_all(work);
    let root = work.join("packages");
    create_dir(&root)?;
    for deb in debs.all() {
        run(
            Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root),
            &format!("dpkg-deb -x {}", file_name(deb)),
        )?;
    }
    let cd = work.join("cd");
    for sub in ["isolinux", "boot", "testdata"] {
        create_dir(&cd.join(sub))?;
    }
    copy(
        &root.join(ISOLINUX_BIN_IN_PACKAGE),
        &cd.join("isolinux/isolinux.bin"),
    )?;
    copy(
        &root.join(LDLINUX_IN_PACKAGE),
        &cd.join("isolinux/ldlinux.c32"),
    )?;
    write(&cd.join("isolinux/isolinux.cfg"), ISOLINUX_CFG.as_bytes())?;

    let (kernel, version) = find_kernel(&root.join("boot"))?;
    copy(&kernel, &cd.join("boot/vmlinuz"))?;
    let initrd = make_initrd(&root, &version, diskbench, work)?;
    copy(&initrd, &cd.join("boot/initrd.img"))?;
    let testdata = cd.join(TESTDATA_PATH);
    write(&testdata, &testdata_bytes())?;
    let sha = sha256_of(&testdata)?;

    let partial = iso.with_extension("iso.partial");
    run(
        Command::new("xorriso")
            .args(["-as", "mkisofs", "-o"])
            .arg(&partial)
            .args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"])
            .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"])
            .args(["-J", "-R", "-V", VOLUME_ID])
            .arg(&cd),
        "xorriso -as mkisofs",
    )?;
    std::fs::rename(&partial, iso)
        .map_err(|e| format!("cannot move the ISO to {}: {e}", iso.display()))?;
    write(sha256_path, format!("{sha}  {TESTDATA_PATH}\n").as_bytes())?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let kib = |n: u64| n.div_ceil(1024);
    Ok(format!(
        "built {} ({} KiB): Linux {version} ({} KiB), initrd {} KiB",
        iso.display(),
        kib(size(iso)),
        kib(size(&kernel)),
        kib(size(&initrd)),
    ))
}

/// The one `vmlinuz-<version>` in the kernel package's /boot, and its version.
fn find_kernel(boot: &Path) -> Result<(PathBuf, String), String> {
    let found: Vec<String> = list_dir(boot)?
        .into_iter()
        .filter(|n| n.starts_with("vmlinuz-"))
        .collect();
    match found.as_slice() {
        [one] => Ok((boot.join(one), one["vmlinuz-".len()..].to_string())),
        _ => Err(format!(
            "expected one vmlinuz-* in the kernel package's /boot, found {found:?}"
        )),
    }
}
