//! Debian's iPXE boot CD as a test guest: `usr/lib/ipxe/ipxe.iso` from the
//! `ipxe` package, exactly as Debian ships it (ISOLINUX loading `ipxe.krn`).
//!
//! [`ipxe_iso`] downloads the package once into `target/guests/cache/` with
//! the Linux ISO's apt machinery (`crate::linux_iso::apt`), unpacks it with
//! `dpkg-deb -x` and keeps the CD as `target/guests/ipxe.iso`; later calls
//! reuse it as long as the cached package is the one it came from.
//!
//! Our PC has no network card yet, so iPXE initialises, prints its banner
//! and then [`NO_MORE_DEVICES`]. Before it gets there it programs the RTC's
//! periodic interrupt and waits for IRQ8 (it measures the TSC against it),
//! which is what hung in issue 17.

use crate::linux_iso::apt::Apt;
use crate::linux_iso::guests_dir;
use crate::linux_iso::host::{create_dir, file_name, run, write};
use std::path::PathBuf;
use std::process::Command;

/// The Debian package.
pub const PACKAGE: &str = "ipxe";
/// The CD inside the package.
const ISO_IN_PACKAGE: &str = "usr/lib/ipxe/ipxe.iso";
/// What iPXE prints once it has looked for network cards and found none.
pub const NO_MORE_DEVICES: &str = "No more network devices";

/// Where [`ipxe_iso`] keeps the CD.
pub fn iso_path() -> PathBuf {
    guests_dir().join("ipxe.iso")
}

/// `target/guests/ipxe.iso`, taken out of the cached `ipxe` package (which
/// is downloaded first if the cache lacks it) unless it is already there
/// from the same package.
pub fn ipxe_iso() -> Result<PathBuf, String> {
    let dir = guests_dir();
    let cache = dir.join("cache");
    create_dir(&cache)?;
    // One extractor at a time, across threads and processes.
    let lock_path = dir.join(".ipxe-iso.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let [deb] = Apt::default().fetch(&cache, [PACKAGE])?;
    let iso = iso_path();
    let stamp_path = dir.join("ipxe.iso.stamp");
    let stamp = format!("deb {}\n", file_name(&deb));
    if iso.is_file() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(iso);
    }
    let _ = std::fs::remove_file(&stamp_path);
    let work = dir.join("ipxe-work");
    let _ = std::fs::remove_dir_all(&work);
    create_dir(&work)?;
    let extracted = run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&work),
        &format!("dpkg-deb -x {}", file_name(&deb)),
    )
    .and_then(|_| {
        let from = work.join(ISO_IN_PACKAGE);
        let partial = dir.join("ipxe.iso.partial");
        std::fs::copy(&from, &partial)
            .and_then(|_| std::fs::rename(&partial, &iso))
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), iso.display()))
    });
    let _ = std::fs::remove_dir_all(&work);
    extracted?;
    write(&stamp_path, stamp.as_bytes())?;
    eprintln!("xtask: {} from {}", iso.display(), file_name(&deb));
    Ok(iso)
}
