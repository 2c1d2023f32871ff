//! The run folder and the media a run boots: checking disk, floppy and ISO
//! images before they become boot modules.

use crate::workspace_root;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A new folder for one run's files, `target/runs/<guest>-<pid>-<n>`.
pub(super) fn fresh_run_dir(guest: &str) -> Result<PathBuf, String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = workspace_root()
        .join("target")
        .join("runs")
        .join(format!("{guest}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A readable, non-empty image file, or the one line saying what is wrong.
pub(super) fn check_image(path: &std::path::Path, what: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
        Ok(_) => Err(format!(
            "{what} image {} is empty or not a file",
            path.display()
        )),
        Err(e) => Err(format!("cannot read {what} image {}: {e}", path.display())),
    }
}

/// Byte offset of the ISO 9660 standard identifier "CD001" in the first
/// volume descriptor (ECMA-119, 8.1: descriptors start at sector 16).
const ISO9660_ID_OFFSET: u64 = 16 * 2048 + 1;

/// Checks for the ISO 9660 volume descriptor signature.
pub(super) fn check_iso9660(path: &std::path::Path) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    let mut id = [0u8; 5];
    let ok = std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(ISO9660_ID_OFFSET))?;
            f.read_exact(&mut id)
        })
        .is_ok();
    if ok && &id == b"CD001" {
        Ok(())
    } else {
        Err(format!(
            "{} is not an ISO 9660 image (no CD001 volume descriptor at sector 16)",
            path.display()
        ))
    }
}

/// File the guest's COM2 (the screen mirror's frames) is written to.
pub(super) const SCREEN_FILE: &str = "screen.out";
