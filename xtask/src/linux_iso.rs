//! A Linux test guest on an El Torito CD, made from Debian's own packages so
//! the kernel and the boot loader are exactly what Debian ships.
//!
//! `make_linux_iso` downloads (once, into `target/guests/cache/`) the stock
//! kernel the `linux-image-amd64` metapackage points at, `busybox-static`,
//! `isolinux` and `syslinux-common`, and builds `target/guests/linux.iso`:
//!
//! | path on the CD | what it is |
//! | --- | --- |
//! | `isolinux/isolinux.bin` | the El Torito no-emulation boot image (4 sectors loaded, boot info table patched in) |
//! | `isolinux/ldlinux.c32`, `isolinux/isolinux.cfg` | the rest of ISOLINUX and its configuration (serial console on COM1 at 115200) |
//! | `boot/vmlinuz` | Debian's unmodified bzImage |
//! | `boot/initrd.img` | a gzip'd cpio "newc" archive written here: busybox, `/init`, and the kernel modules for the PIIX IDE controller, the ATAPI CD-ROM and ISO 9660 |
//! | `testdata/hello.txt` | a few KB of deterministic text; its sha256 is written beside the ISO as `linux.iso.testdata.sha256` |
//!
//! Once a kernel package is in the cache it stays the kernel the ISO is made
//! from, so test runs do not change under a Debian kernel update; delete the
//! cache to move to the kernel `linux-image-amd64` names then.
//!
//! The guest's `/init` prints [`INIT_STARTED`], loads the modules, mounts the
//! CD at [`CD_MOUNT`] and prints [`SHELL_READY`] before it gives the serial
//! console an interactive shell. The kernel runs with `noapic nolapic
//! acpi=off`: the hypervisor's PC has one CPU, an 8259 PIC pair, and neither
//! an APIC nor ACPI tables.
//!
//! Formats followed: the kernel's initramfs buffer format
//! (Documentation/driver-api/early-userspace/buffer-format.rst, Linux 6.1),
//! the ELF-64 section header table (System V ABI, generic "gABI" 4.1, chapter
//! 4 "Sections"), the `.modinfo` key=value strings `modinfo(8)` reads, and
//! `modules.dep` as `modules.dep(5)` describes it.

use crate::tools;
use crate::workspace_root;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What `/init` prints first, once proc, sysfs and devtmpfs are mounted.
pub const INIT_STARTED: &str = "vmm-linux: init started";
/// What `/init` prints just before the interactive shell takes the console.
pub const SHELL_READY: &str = "vmm-linux: shell ready";
/// Where `/init` mounts the CD (`/dev/sr0`, ISO 9660, read-only).
pub const CD_MOUNT: &str = "/mnt";
/// The test file's path on the CD (relative to its root).
pub const TESTDATA_PATH: &str = "testdata/hello.txt";

/// The ISO's volume label.
const VOLUME_ID: &str = "VMMLINUX";
/// The metapackage that names Debian's current stock kernel.
const KERNEL_METAPACKAGE: &str = "linux-image-amd64";
/// The packages other than the kernel, by name.
const BUSYBOX_PACKAGE: &str = "busybox-static";
const ISOLINUX_PACKAGE: &str = "isolinux";
const SYSLINUX_COMMON_PACKAGE: &str = "syslinux-common";
/// Where those packages keep what the CD needs.
const BUSYBOX_IN_PACKAGE: &str = "bin/busybox";
const ISOLINUX_BIN_IN_PACKAGE: &str = "usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX_IN_PACKAGE: &str = "usr/lib/syslinux/modules/bios/ldlinux.c32";

/// The modules `/init` loads, before their dependencies are added: Debian
/// builds the IDE, SCSI, CD-ROM and ISO 9660 drivers as modules.
const WANTED_MODULES: &[&str] = &["ata_piix", "sr_mod", "sd_mod", "isofs"];

/// Raise when the way the ISO is put together changes (the cpio writer, the
/// test file, the layout), so existing ISOs are rebuilt; the package files,
/// `/init` and `isolinux.cfg` are compared on their own.
const RECIPE_VERSION: u32 = 1;

/// ISOLINUX's configuration. `serial` must come first to take effect.
const ISOLINUX_CFG: &str = "\
serial 0 115200
default linux
prompt 0
timeout 0
label linux
  kernel /boot/vmlinuz
  append initrd=/boot/initrd.img console=ttyS0,115200 noapic nolapic acpi=off panic=-1 loglevel=4
";

/// `/init` up to the module loading. The applets are linked only once /proc
/// is there (busybox finds itself through /proc/self/exe).
const INIT_HEAD: &str = r#"#!/bin/busybox sh
# /init of the vmm Linux test guest, written by `cargo xtask make-linux-iso`.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
echo "vmm-linux: init started"
echo "vmm-linux: kernel $(uname -r)"
"#;

/// `/init` after the module loading: mount the CD, hand over the console.
const INIT_TAIL: &str = r#"i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
if mount -t iso9660 -o ro /dev/sr0 /mnt; then
  echo "vmm-linux: cdrom mounted at /mnt"
else
  echo "vmm-linux: cannot mount /dev/sr0 at /mnt"
fi
echo "vmm-linux: shell ready"
exec setsid cttyhack sh
"#;

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
    let iso = iso_path();
    let stamp_path = dir.join("linux.iso.stamp");
    let stamp = recipe_stamp(&debs);
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
    let built = build(&debs, &work, &iso);
    // The unpacked kernel package is some 400 MB: never keep it.
    let _ = std::fs::remove_dir_all(&work);
    let summary = built?;
    write(&stamp_path, stamp.as_bytes())?;
    eprintln!("xtask: {summary}");
    Ok(iso)
}

/// The cached packages an ISO is built from.
struct Debs {
    kernel: PathBuf,
    busybox: PathBuf,
    isolinux: PathBuf,
    syslinux_common: PathBuf,
}

impl Debs {
    fn all(&self) -> [&Path; 4] {
        [
            &self.kernel,
            &self.busybox,
            &self.isolinux,
            &self.syslinux_common,
        ]
    }
}

/// What decides whether an existing ISO can be reused.
fn recipe_stamp(debs: &Debs) -> String {
    let mut s = format!("recipe {RECIPE_VERSION}\n");
    for deb in debs.all() {
        s.push_str(&format!("deb {}\n", file_name(deb)));
    }
    s.push_str(ISOLINUX_CFG);
    s.push_str(INIT_HEAD);
    s.push_str(&WANTED_MODULES.join(" "));
    s.push_str(INIT_TAIL);
    s
}

/// Unpacks the packages into `work` and makes `iso` there; returns a summary.
fn build(debs: &Debs, work: &Path, iso: &Path) -> Result<String, String> {
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
    let initrd = make_initrd(&root, &version, work)?;
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
    write(
        &testdata_sha256_path(),
        format!("{sha}  {TESTDATA_PATH}\n").as_bytes(),
    )?;
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

/// Writes the initramfs: busybox, `/init`, the modules `/init` loads with
/// their `modules.dep`, and the console device the kernel opens before init.
fn make_initrd(root: &Path, version: &str, work: &Path) -> Result<PathBuf, String> {
    let modules_dir = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|d| root.join(d).join(version))
        .find(|d| d.is_dir())
        .ok_or_else(|| format!("the kernel package has no /lib/modules/{version}"))?;
    let index = index_modules(&modules_dir)?;
    let mut loaded: BTreeMap<String, modinfo::ModInfo> = BTreeMap::new();
    let mut images: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let order = modinfo::load_order(WANTED_MODULES, |name| {
        let rel = index
            .get(name)
            .ok_or_else(|| format!("module {name} is not in the kernel package"))?;
        let image = module_image(&modules_dir.join(rel))?;
        let info = modinfo::parse(&image).map_err(|e| format!("{rel}: {e}"))?;
        // Soft "pre" dependencies load first too, where they name a module
        // file (an alias such as crc-t10dif's "crct10dif" is left to the kernel).
        let mut deps = info.depends.clone();
        for soft in info.softdep_pre.iter().map(|d| modinfo::normalize(d)) {
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

    let ko_path = |name: &str| strip_compression(&index[name]).to_string();
    let mut dep_lines = String::new();
    let mut init = String::from(INIT_HEAD);
    for name in &order {
        let rel = ko_path(name);
        // modules.dep lists every module a module needs, the ones to load
        // last first (modprobe loads the list from its end).
        let needs: Vec<String> =
            modinfo::load_order(&[name.as_str()], |m| Ok(loaded[m].depends.clone()))?
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

/// A `modules.dep` line: the module, a colon, and what it needs (paths
/// relative to `/lib/modules/<version>`).
fn modules_dep_line(module: &str, needs: &[String]) -> String {
    let mut line = format!("{module}:");
    for n in needs {
        line.push(' ');
        line.push_str(n);
    }
    line.push('\n');
    line
}

/// Every module file under `modules_dir/kernel`, by normalized module name,
/// as a path relative to `modules_dir`.
fn index_modules(modules_dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut index = BTreeMap::new();
    let mut pending = vec![PathBuf::from("kernel")];
    while let Some(rel) = pending.pop() {
        for name in list_dir(&modules_dir.join(&rel))? {
            let child = rel.join(&name);
            if modules_dir.join(&child).is_dir() {
                pending.push(child);
            } else if let Some(stem) = module_stem(&name) {
                index.insert(
                    modinfo::normalize(stem),
                    child.to_string_lossy().into_owned(),
                );
            }
        }
    }
    Ok(index)
}

/// The compression suffixes module files may carry, and the program that
/// undoes each (with its Debian package).
const MODULE_COMPRESSIONS: &[(&str, &str)] = &[(".xz", "xz"), (".zst", "zstd"), (".gz", "gzip")];

/// `ata_piix` for `ata_piix.ko` or `ata_piix.ko.xz`; None for other files.
fn module_stem(file: &str) -> Option<&str> {
    let file = strip_compression(file);
    file.strip_suffix(".ko")
}

fn strip_compression(file: &str) -> &str {
    MODULE_COMPRESSIONS
        .iter()
        .find_map(|(suffix, _)| file.strip_suffix(suffix))
        .unwrap_or(file)
}

/// A module's ELF image, decompressed when the package compresses modules
/// (busybox insmod may not read xz or zstd, so the initramfs holds plain `.ko`).
fn module_image(path: &Path) -> Result<Vec<u8>, String> {
    let name = file_name(path);
    let Some((_, program)) = MODULE_COMPRESSIONS
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
    else {
        return read(path);
    };
    tools::require(program)?;
    let out = run(
        Command::new(program).arg("-dc").arg(path),
        &format!("{program} -dc {name}"),
    )?;
    Ok(out.stdout)
}

/// The test file: lines of text from a fixed pseudo-random sequence, about
/// 6 KB, so it spans several 2 KiB CD sectors and ends inside one.
pub fn testdata_bytes() -> Vec<u8> {
    const LINES: u32 = 120;
    // xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
    // generators, scrambled", 2016): fixed seed, fixed output.
    let mut state: u64 = 0x766d_6d2d_6c69_6e78; // "vmm-linx"
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut text = String::new();
    for i in 1..=LINES {
        let (a, b) = (next(), next());
        text.push_str(&format!("hello {i:03}/{LINES} {a:016x}{b:016x}\n"));
    }
    text.into_bytes()
}

/// The hex digest at the start of a `sha256sum` line.
fn parse_sha256_line(line: &str) -> Option<String> {
    let digest = line.split_whitespace().next()?;
    (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| digest.to_ascii_lowercase())
}

fn sha256_of(path: &Path) -> Result<String, String> {
    let out = run(Command::new("sha256sum").arg(path), "sha256sum")?;
    parse_sha256_line(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| format!("sha256sum printed no digest for {}", path.display()))
}

/// apt: resolving the stock kernel and downloading packages into the cache,
/// running `apt-get update` at most once when the package lists are stale.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    /// The four packages, from the cache or downloaded into it.
    fn fetch_debs(&mut self, cache: &Path) -> Result<Debs, String> {
        if !tools::has("apt-get") || !tools::has("dpkg-deb") {
            return Err(
                "make-linux-iso needs apt-get and dpkg-deb (a Debian or Ubuntu host)".into(),
            );
        }
        let cached = list_dir(cache)?;
        let kernel_package = match cached_kernel(&cached) {
            Some(package) => package,
            None => self.resolve_kernel()?,
        };
        let wanted = [
            kernel_package.as_str(),
            BUSYBOX_PACKAGE,
            ISOLINUX_PACKAGE,
            SYSLINUX_COMMON_PACKAGE,
        ];
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|p| cached_deb(&cached, p).is_none())
            .collect();
        if !missing.is_empty() {
            self.download(&missing, cache)?;
        }
        let cached = list_dir(cache)?;
        let path = |package: &str| {
            cached_deb(&cached, package)
                .map(|f| cache.join(f))
                .ok_or_else(|| {
                    format!(
                        "apt-get download left no {package}_*.deb in {}",
                        cache.display()
                    )
                })
        };
        Ok(Debs {
            kernel: path(&kernel_package)?,
            busybox: path(BUSYBOX_PACKAGE)?,
            isolinux: path(ISOLINUX_PACKAGE)?,
            syslinux_common: path(SYSLINUX_COMMON_PACKAGE)?,
        })
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

/// In `apt-cache depends linux-image-amd64` output, the kernel package.
fn kernel_dependency(apt_cache_depends: &str) -> Option<String> {
    apt_cache_depends.lines().find_map(|line| {
        let package = line.trim().strip_prefix("Depends:")?.trim();
        let package = package.trim_start_matches('<').trim_end_matches('>');
        is_kernel_package(package).then(|| package.to_string())
    })
}

/// `linux-image-6.1.0-28-amd64`, but not the metapackage or `-dbg`/`-unsigned` ones.
fn is_kernel_package(package: &str) -> bool {
    package != KERNEL_METAPACKAGE
        && package.starts_with("linux-image-")
        && package.ends_with("-amd64")
}

/// The package name of a cached `.deb` file (`name_version_arch.deb`).
fn deb_package(file: &str) -> Option<&str> {
    file.strip_suffix(".deb")?.split('_').next()
}

fn cached_deb<'a>(files: &'a [String], package: &str) -> Option<&'a String> {
    files
        .iter()
        .filter(|f| deb_package(f) == Some(package))
        .max()
}

/// The kernel package already in the cache (the highest name if several).
fn cached_kernel(files: &[String]) -> Option<String> {
    files
        .iter()
        .filter_map(|f| deb_package(f))
        .filter(|p| is_kernel_package(p))
        .max()
        .map(str::to_string)
}

/// Runs a command to completion; a failure becomes one line naming `what`.
fn run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reason = error_line(&stderr).unwrap_or_else(|| out.status.to_string());
        Err(format!("{what} failed: {reason}"))
    }
}

/// The most telling line of a failed tool's stderr: apt's `E:` lines and
/// xorriso's FAILURE/SORRY lines before anything else, else the first line.
fn error_line(stderr: &str) -> Option<String> {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.starts_with("E:") || l.contains("FAILURE") || l.contains("SORRY"))
        .or_else(|| lines().next())
        .map(str::to_string)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn list_dir(dir: &Path) -> Result<Vec<String>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, data: &[u8]) -> Result<(), String> {
    std::fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Kernel modules: what `.modinfo` says about a module, and the order to load them in.
mod modinfo {
    use std::collections::BTreeSet;

    /// What `modinfo(8)` would print as `name`, `depends` and the `pre:` half of `softdep`.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct ModInfo {
        pub name: String,
        /// Normalized module names (`-` written `_`).
        pub depends: Vec<String>,
        /// As written: module names or aliases.
        pub softdep_pre: Vec<String>,
    }

    /// Module names treat `-` and `_` alike; the kernel writes `_`.
    pub fn normalize(name: &str) -> String {
        name.replace('-', "_")
    }

    // ELF-64 header and section header fields used here (gABI 4.1, "ELF
    // Header" and "Sections"), as byte offsets.
    const EI_CLASS: usize = 4;
    const ELFCLASS64: u8 = 2;
    const EI_DATA: usize = 5;
    const ELFDATA2LSB: u8 = 1;
    const E_SHOFF: usize = 0x28;
    const E_SHENTSIZE: usize = 0x3A;
    const E_SHNUM: usize = 0x3C;
    const E_SHSTRNDX: usize = 0x3E;
    const SH_NAME: usize = 0x00;
    const SH_OFFSET: usize = 0x18;
    const SH_SIZE: usize = 0x20;
    const SHDR_SIZE: usize = 0x40;

    fn le(bytes: &[u8], at: usize, len: usize) -> Result<u64, String> {
        let b = bytes
            .get(at..at + len)
            .ok_or_else(|| format!("ELF field at {at:#x} lies past the end of the file"))?;
        Ok(b.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x)))
    }

    /// The bytes of the section called `name`.
    fn section<'a>(elf: &'a [u8], name: &str) -> Result<&'a [u8], String> {
        if elf.get(..4) != Some(b"\x7fELF".as_slice())
            || elf.get(EI_CLASS) != Some(&ELFCLASS64)
            || elf.get(EI_DATA) != Some(&ELFDATA2LSB)
        {
            return Err("not a little-endian ELF-64 file".into());
        }
        let shoff = le(elf, E_SHOFF, 8)? as usize;
        let entsize = le(elf, E_SHENTSIZE, 2)? as usize;
        let count = le(elf, E_SHNUM, 2)? as usize;
        let strndx = le(elf, E_SHSTRNDX, 2)? as usize;
        if entsize < SHDR_SIZE {
            return Err(format!("section headers of {entsize} bytes"));
        }
        let bytes_of = |index: usize| -> Result<&'a [u8], String> {
            let header = shoff + index * entsize;
            let offset = le(elf, header + SH_OFFSET, 8)? as usize;
            let size = le(elf, header + SH_SIZE, 8)? as usize;
            elf.get(offset..offset.saturating_add(size))
                .ok_or_else(|| format!("section {index} lies past the end of the file"))
        };
        let names = bytes_of(strndx)?;
        for index in 0..count {
            let at = le(elf, shoff + index * entsize + SH_NAME, 4)? as usize;
            let this = names.get(at..).unwrap_or_default();
            let this = this.split(|&b| b == 0).next().unwrap_or_default();
            if this == name.as_bytes() {
                return bytes_of(index);
            }
        }
        Err(format!("no {name} section"))
    }

    /// Reads `name=`, `depends=` and `softdep=` from a module's `.modinfo`
    /// section: NUL-separated `key=value` strings.
    pub fn parse(elf: &[u8]) -> Result<ModInfo, String> {
        let mut info = ModInfo::default();
        for entry in section(elf, ".modinfo")?.split(|&b| b == 0) {
            let entry = String::from_utf8_lossy(entry);
            let Some((key, value)) = entry.split_once('=') else {
                continue;
            };
            match key {
                "name" => info.name = value.to_string(),
                "depends" => info
                    .depends
                    .extend(value.split(',').filter(|d| !d.is_empty()).map(normalize)),
                "softdep" => {
                    let mut pre = false;
                    for word in value.split_whitespace() {
                        match word {
                            "pre:" => pre = true,
                            "post:" => pre = false,
                            w if pre => info.softdep_pre.push(w.to_string()),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if info.name.is_empty() {
            return Err(".modinfo has no name=".into());
        }
        Ok(info)
    }

    /// `wanted` and everything they depend on, each module after its
    /// dependencies; `depends` gives a module's direct dependencies.
    pub fn load_order(
        wanted: &[&str],
        mut depends: impl FnMut(&str) -> Result<Vec<String>, String>,
    ) -> Result<Vec<String>, String> {
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        for w in wanted {
            visit(
                &normalize(w),
                &mut depends,
                &mut Vec::new(),
                &mut done,
                &mut order,
            )?;
        }
        Ok(order)
    }

    fn visit(
        name: &str,
        depends: &mut impl FnMut(&str) -> Result<Vec<String>, String>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) -> Result<(), String> {
        if done.contains(name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            return Err(format!(
                "modules depend on each other in a cycle: {} -> {name}",
                path.join(" -> ")
            ));
        }
        path.push(name.to_string());
        for dep in depends(name)? {
            visit(&dep, depends, path, done, order)?;
        }
        path.pop();
        done.insert(name.to_string());
        order.push(name.to_string());
        Ok(())
    }
}

/// The initramfs archive: cpio "newc" as the kernel's unpacker reads it
/// (buffer-format.rst): per entry a 110-byte ASCII header, the NUL-terminated
/// name padded to 4 bytes, the data padded to 4 bytes; "TRAILER!!!" ends it.
mod cpio {
    use std::collections::BTreeSet;

    const MAGIC: &str = "070701";
    const S_IFDIR: u32 = 0o040_000;
    const S_IFREG: u32 = 0o100_000;
    const S_IFLNK: u32 = 0o120_000;
    const S_IFCHR: u32 = 0o020_000;
    const TRAILER: &str = "TRAILER!!!";

    /// An archive being written. Parents are added before their children
    /// (the kernel does not create missing directories); every entry is
    /// owned by root with mtime 0, so the same input gives the same bytes.
    #[derive(Default)]
    pub struct Archive {
        out: Vec<u8>,
        inodes: u32,
        dirs: BTreeSet<String>,
    }

    impl Archive {
        pub fn new() -> Self {
            Self::default()
        }

        pub fn dir(&mut self, path: &str) {
            let path = path.trim_matches('/');
            if path.is_empty() || self.dirs.contains(path) {
                return;
            }
            self.parents(path);
            self.dirs.insert(path.to_string());
            self.entry(path, S_IFDIR | 0o755, 2, (0, 0), b"");
        }

        pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
            self.parents(path);
            self.entry(path, S_IFREG | perm, 1, (0, 0), data);
        }

        pub fn symlink(&mut self, path: &str, target: &str) {
            self.parents(path);
            self.entry(path, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
        }

        pub fn char_device(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
            self.parents(path);
            self.entry(path, S_IFCHR | perm, 1, (major, minor), b"");
        }

        /// The archive with its trailer.
        pub fn finish(mut self) -> Vec<u8> {
            self.inodes = 0;
            self.header(TRAILER, 0, 1, (0, 0), 0);
            self.out
        }

        fn parents(&mut self, path: &str) {
            let path = path.trim_matches('/');
            if let Some((parent, _)) = path.rsplit_once('/') {
                self.dir(parent);
            }
        }

        fn entry(&mut self, path: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
            self.inodes += 1;
            let size = u32::try_from(data.len()).expect("an initramfs file under 4 GiB");
            self.header(path.trim_matches('/'), mode, nlink, rdev, size);
            self.out.extend_from_slice(data);
            self.pad();
        }

        fn header(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), size: u32) {
            let namesize = name.len() as u32 + 1;
            let fields = [
                self.inodes, // c_ino
                mode,        // c_mode
                0,           // c_uid
                0,           // c_gid
                nlink,       // c_nlink
                0,           // c_mtime
                size,        // c_filesize
                0,           // c_maj (device holding the file)
                0,           // c_min
                rdev.0,      // c_rmaj (a device node's own number)
                rdev.1,      // c_rmin
                namesize,    // c_namesize, with the NUL
                0,           // c_chksum (0 in "newc")
            ];
            self.out.extend_from_slice(MAGIC.as_bytes());
            for f in fields {
                self.out.extend_from_slice(format!("{f:08X}").as_bytes());
            }
            self.out.extend_from_slice(name.as_bytes());
            self.out.push(0);
            self.pad();
        }

        fn pad(&mut self) {
            while !self.out.len().is_multiple_of(4) {
                self.out.push(0);
            }
        }
    }
}

#[cfg(test)]
mod tests;
