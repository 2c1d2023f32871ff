//! The Debian packages the ISO is made from: which kernel the
//! `linux-image-amd64` metapackage names, and `apt-get download` into the
//! cache, where a kernel package, once there, stays the one used. Other
//! guests made from Debian packages (`crate::ipxe`) fetch theirs through
//! [`Apt::fetch`] into the same cache.

use super::host::{create_dir, list_dir, run};
use crate::tools;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The metapackage that names Debian's current stock kernel.
const KERNEL_METAPACKAGE: &str = "linux-image-amd64";
/// The packages other than the kernel, by name.
const BUSYBOX_PACKAGE: &str = "busybox-static";
const ISOLINUX_PACKAGE: &str = "isolinux";
const SYSLINUX_COMMON_PACKAGE: &str = "syslinux-common";
/// Debian's XenStore tools and the packages holding the shared libraries
/// they load (`crate::linux_iso::userland` finds which files from the
/// programs' `DT_NEEDED` entries, and names the library if one is missing
/// here), and `libgcc-s1`, whose library glibc loads at run time for
/// `pthread_cancel` (`xenstore-watch` cancels libxenstore's reader thread).
pub(super) const USERLAND_PACKAGES: [&str; 5] = [
    "xenstore-utils",
    "libxenstore4",
    "libxentoolcore1",
    "libc6",
    "libgcc-s1",
];

/// The cached packages an ISO is built from.
pub(super) struct Debs {
    pub(super) kernel: PathBuf,
    pub(super) busybox: PathBuf,
    pub(super) isolinux: PathBuf,
    pub(super) syslinux_common: PathBuf,
    /// [`USERLAND_PACKAGES`], in that order.
    pub(super) userland: [PathBuf; USERLAND_PACKAGES.len()],
}

impl Debs {
    pub(super) fn all(&self) -> Vec<&Path> {
        let mut all: Vec<&Path> = vec![
            &self.kernel,
            &self.busybox,
            &self.isolinux,
            &self.syslinux_common,
        ];
        all.extend(self.userland.iter().map(PathBuf::as_path));
        all
    }
}

/// apt: resolving the stock kernel and downloading packages into the cache,
/// running `apt-get update` at most once when the package lists are stale.
#[derive(Default)]
pub(crate) struct Apt {
    updated: bool,
}

impl Apt {
    /// The packages, from the cache or downloaded into it.
    pub(super) fn fetch_debs(&mut self, cache: &Path) -> Result<Debs, String> {
        require_apt()?;
        let kernel_package = match cached_kernel(&list_dir(cache)?) {
            Some(package) => package,
            None => self.resolve_kernel()?,
        };
        let [kernel, busybox, isolinux, syslinux_common] = self.fetch(
            cache,
            [
                kernel_package.as_str(),
                BUSYBOX_PACKAGE,
                ISOLINUX_PACKAGE,
                SYSLINUX_COMMON_PACKAGE,
            ],
        )?;
        let userland = self.fetch(cache, USERLAND_PACKAGES)?;
        Ok(Debs {
            kernel,
            busybox,
            isolinux,
            syslinux_common,
            userland,
        })
    }

    /// The `.deb` files of `packages` (names), in that order: each the
    /// cached one (the highest version if several), the missing ones
    /// downloaded with one `apt-get download`. Downloads into the cache take
    /// turns, across threads and processes.
    pub(crate) fn fetch<const N: usize>(
        &mut self,
        cache: &Path,
        packages: [&str; N],
    ) -> Result<[PathBuf; N], String> {
        require_apt()?;
        create_dir(cache)?;
        let lock_path = cache.join(".download.lock");
        let lock = std::fs::File::create(&lock_path)
            .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        let cached = list_dir(cache)?;
        let missing: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|p| cached_deb(&cached, p).is_none())
            .collect();
        if !missing.is_empty() {
            self.download(&missing, cache)?;
        }
        let cached = list_dir(cache)?;
        let mut paths = Vec::with_capacity(N);
        for package in packages {
            let file = cached_deb(&cached, package).ok_or_else(|| {
                format!(
                    "apt-get download left no {package}_*.deb in {}",
                    cache.display()
                )
            })?;
            paths.push(cache.join(file));
        }
        Ok(paths
            .try_into()
            .expect("one path for each of the N packages"))
    }

    /// The `linux-image-<version>-amd64` package the metapackage depends on.
    fn resolve_kernel(&mut self) -> Result<String, String> {
        loop {
            let out = run(
                Command::new("apt-cache").args(["depends", KERNEL_METAPACKAGE]),
                &format!("apt-cache depends {KERNEL_METAPACKAGE}"),
            );
            let found = out
                .as_ref()
                .ok()
                .and_then(|o| kernel_dependency(&String::from_utf8_lossy(&o.stdout)));
            match (found, out) {
                (Some(package), _) => return Ok(package),
                (None, _) if !self.updated => self.update()?,
                (None, Err(e)) => return Err(e),
                (None, Ok(_)) => {
                    return Err(format!(
                        "apt-cache depends {KERNEL_METAPACKAGE} names no linux-image-*-amd64 package, even after apt-get update"
                    ))
                }
            }
        }
    }

    /// `apt-get download` into `cache/partial`, then into the cache, so an
    /// interrupted download never looks cached.
    fn download(&mut self, packages: &[&str], cache: &Path) -> Result<(), String> {
        let partial = cache.join("partial");
        let _ = std::fs::remove_dir_all(&partial);
        create_dir(&partial)?;
        eprintln!("xtask: downloading {} ...", packages.join(" "));
        let what = format!("apt-get download {}", packages.join(" "));
        let attempt = || {
            run(
                Command::new("apt-get")
                    .args(["download", "-q"])
                    .args(packages)
                    .current_dir(&partial),
                &what,
            )
        };
        match attempt() {
            Ok(_) => {}
            // The lists may name versions the mirror no longer has.
            Err(first) if !self.updated => {
                self.update().map_err(|e| format!("{first}; then {e}"))?;
                attempt()?;
            }
            Err(e) => return Err(e),
        }
        for name in list_dir(&partial)? {
            if name.ends_with(".deb") {
                std::fs::rename(partial.join(&name), cache.join(&name))
                    .map_err(|e| format!("cannot move {name} into {}: {e}", cache.display()))?;
            }
        }
        let _ = std::fs::remove_dir_all(&partial);
        Ok(())
    }

    /// Under the runner's apt lock, so it never races another runner's install.
    fn update(&mut self) -> Result<(), String> {
        self.updated = true;
        eprintln!("xtask: apt-get update ...");
        let _lock = crate::provision::apt_lock()?;
        run(
            &mut crate::provision::apt_get(&["update", "-q"]),
            "apt-get update",
        )
        .map(|_| ())
    }
}

/// Guests made from Debian packages need a Debian or Ubuntu host.
fn require_apt() -> Result<(), String> {
    if tools::has("apt-get") && tools::has("dpkg-deb") {
        Ok(())
    } else {
        Err("guests made from Debian packages (make-linux-iso, the iPXE CD) need apt-get and dpkg-deb (a Debian or Ubuntu host)".into())
    }
}

/// In `apt-cache depends linux-image-amd64` output, the kernel package.
pub(super) fn kernel_dependency(apt_cache_depends: &str) -> Option<String> {
    apt_cache_depends.lines().find_map(|line| {
        let package = line.trim().strip_prefix("Depends:")?.trim();
        let package = package.trim_start_matches('<').trim_end_matches('>');
        is_kernel_package(package).then(|| package.to_string())
    })
}

/// `linux-image-6.1.0-28-amd64`, but not the metapackage or `-dbg`/`-unsigned` ones.
pub(super) fn is_kernel_package(package: &str) -> bool {
    package != KERNEL_METAPACKAGE
        && package.starts_with("linux-image-")
        && package.ends_with("-amd64")
}

/// The package name of a cached `.deb` file (`name_version_arch.deb`).
fn deb_package(file: &str) -> Option<&str> {
    file.strip_suffix(".deb")?.split('_').next()
}

pub(super) fn cached_deb<'a>(files: &'a [String], package: &str) -> Option<&'a String> {
    files
        .iter()
        .filter(|f| deb_package(f) == Some(package))
        .max()
}

/// The kernel package already in the cache (the highest name if several).
pub(super) fn cached_kernel(files: &[String]) -> Option<String> {
    files
        .iter()
        .filter_map(|f| deb_package(f))
        .filter(|p| is_kernel_package(p))
        .max()
        .map(str::to_string)
}
