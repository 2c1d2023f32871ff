//! The Linux ISO's kernel and initrd as files on the host, for a PVH start
//! of the same guest (`cargo xtask run --kernel`, the PVH tests and the
//! boot benchmark's PVH line): `boot/vmlinuz` and `boot/initrd.img` taken
//! out of the ISO with `xorriso -osirrox`, again whenever the ISO is newer.

use super::{guests_dir, make_linux_iso};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ISO's kernel and initrd on the host.
#[derive(Clone, Debug)]
pub struct PvhFiles {
    /// Debian's unmodified bzImage.
    pub kernel: PathBuf,
    /// The ISO's initramfs (busybox `/init`, the modules, the xenstore tools).
    pub initrd: PathBuf,
}

/// Builds the ISO if needed and returns its kernel and initrd, taken out of
/// it when they are missing or older than the ISO.
pub fn linux_pvh_files() -> Result<PvhFiles, String> {
    let iso = make_linux_iso(false)?;
    let dir = guests_dir().join("linux-pvh");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // One extractor at a time (tests run in parallel).
    let lock_path = guests_dir().join(".linux-pvh.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let files = PvhFiles {
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
    };
    for (inside, out) in [
        ("/boot/vmlinuz", &files.kernel),
        ("/boot/initrd.img", &files.initrd),
    ] {
        if !newer_than(out, &iso) {
            extract(&iso, inside, out)?;
        }
    }
    Ok(files)
}

/// True when `file` exists and was written after `than`.
fn newer_than(file: &Path, than: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(file), modified(than)), (Some(f), Some(t)) if f >= t)
}

/// Copies `inside` out of `iso` to `out` (through a temporary name, so a
/// half-written file is never taken for a whole one).
fn extract(iso: &Path, inside: &str, out: &Path) -> Result<(), String> {
    let partial = out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let output = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .arg("-extract")
        .arg(inside)
        .arg(&partial)
        .output()
        .map_err(|e| format!("cannot run xorriso: {e}"))?;
    if !output.status.success() || !partial.is_file() {
        return Err(format!(
            "xorriso could not take {inside} out of {}: {}",
            iso.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // xorriso keeps the ISO's read-only mode bits.
    let mut perms = std::fs::metadata(&partial)
        .map_err(|e| format!("{}: {e}", partial.display()))?
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    let _ = std::fs::set_permissions(&partial, perms);
    std::fs::rename(&partial, out).map_err(|e| format!("cannot move to {}: {e}", out.display()))
}
