//! `cargo xtask run --config guest.cfg`: a domain described the way Xen's
//! `xl create` takes it (xl.cfg(5), xl-disk-configuration(5)). The subset
//! this hypervisor supports is mapped onto the run's options; every key it
//! does not act on is named back to the user, never silently dropped.
//!
//! Supported: `type` (or the older `builder`) `"hvm"` — the default here,
//! as the ISO-and-disks guest most people start from — or `"pvh"` (a Linux
//! kernel started at its PVH entry, no firmware and no emulated devices:
//! `kernel`, `ramdisk`, and the command line as xl builds it, `cmdline`,
//! or else `root` as `root=...` followed by `extra`); `"pv"` (classic PV)
//! is refused with the reason; `name`; `memory` (MiB); `vcpus` and
//! `maxvcpus` 1; `disk` (raw images: the CD-ROM as `devtype=cdrom`, up to
//! three disks ordered by their vdev letter onto the IDE places the
//! `--disk` option uses, `access=ro` read-only); `boot` (`c` disk, `d`
//! CD-ROM, `a` floppy); `acpi` and `xen_platform_pci` (0 or 1, as `--acpi`
//! and `--xen`); `on_poweroff = "destroy"`, `on_reboot = "restart"` or
//! `"destroy"` (the latter is `--no-reboot`), `on_crash = "destroy"`.
//!
//! Relative paths are taken from the config file's folder (xl takes them
//! from its working directory; a config that travels with its images is
//! what a repository's example needs). Settings given on the command line
//! win over the file's, as `xl create cfg KEY=VALUE` overrides it.

pub mod disk_spec;
pub mod syntax;

use crate::runner::{DiskImage, MAX_DISKS};
use std::path::{Path, PathBuf};
use syntax::{Setting, Value};

/// What a config asks for, in the runner's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XlDomain {
    pub name: Option<String>,
    pub mem_mib: Option<u64>,
    /// In IDE order: primary master, primary slave, secondary slave.
    pub disks: Vec<DiskImage>,
    pub iso: Option<PathBuf>,
    /// `--boot` order (`cd,disk,floppy`).
    pub boot: Option<String>,
    pub xen: Option<bool>,
    pub acpi: Option<bool>,
    /// `on_reboot = "destroy"`.
    pub no_reboot: bool,
    /// `type = "pvh"`.
    pub pvh: bool,
    /// `kernel`, `ramdisk` and the command line, for PVH.
    pub kernel: Option<PathBuf>,
    pub ramdisk: Option<PathBuf>,
    pub cmdline: Option<String>,
    /// The settings without effect here, each with why.
    pub ignored: Vec<String>,
}

/// Reads the config at `path`.
pub fn load(path: &Path) -> Result<XlDomain, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--config {}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_text(&text, base).map_err(|e| format!("--config {}: {e}", path.display()))
}

/// The domain `text` describes, its relative paths taken from `base`.
pub fn from_text(text: &str, base: &Path) -> Result<XlDomain, String> {
    let settings = syntax::parse(text)?;
    let mut seen: Vec<&str> = Vec::new();
    for s in &settings {
        if seen.contains(&s.key.as_str()) {
            return Err(format!("line {}: {} is set twice", s.line, s.key));
        }
        seen.push(&s.key);
    }
    let mut dom = XlDomain::default();
    let mut disks: Vec<(u32, DiskImage)> = Vec::new();
    // The direct-boot keys, decided once `type` is known (it may come last).
    let mut direct: Vec<&Setting> = Vec::new();
    for s in &settings {
        let at = |what: String| format!("line {}: {} {what}", s.line, s.key);
        match s.key.as_str() {
            "type" | "builder" => match string(s)?.as_str() {
                "hvm" => {}
                "pvh" => dom.pvh = true,
                "pv" | "generic" => {
                    return Err(at(
                        "= \"pv\": classic PV guests are not supported; type = \"hvm\" is".into(),
                    ))
                }
                t => return Err(at(format!("= {t:?}: must be \"hvm\" or \"pvh\""))),
            },
            "name" => dom.name = Some(string(s)?),
            "memory" => dom.mem_mib = Some(number(s)?),
            "maxmem" => {
                if Some(number(s)?) != dom.mem_mib {
                    dom.ignored
                        .push("maxmem (no ballooning: the domain has `memory`)".into());
                }
            }
            "vcpus" | "maxvcpus" => {
                let n = number(s)?;
                if n != 1 {
                    dom.ignored
                        .push(format!("{} = {n} (one vCPU per domain here)", s.key));
                }
            }
            "disk" => {
                for item in list(s)? {
                    let Value::String(spec) = item else {
                        return Err(at(format!("must list strings, not {}", item.kind())));
                    };
                    let d = disk_spec::parse(spec).map_err(at)?;
                    dom.ignored
                        .extend(d.ignored.iter().map(|i| format!("disk {i}")));
                    let path = base.join(&d.target);
                    if d.cdrom {
                        if dom.iso.replace(path).is_some() {
                            return Err(at("has more than one CD-ROM; one is supported".into()));
                        }
                        continue;
                    }
                    let index = match &d.vdev {
                        None => disks.len() as u32,
                        Some(v) => disk_spec::vdev_index(v).ok_or_else(|| {
                            at(format!("vdev={v}: not a disk name (xvdX, hdX, sdX)"))
                        })?,
                    };
                    if disks.iter().any(|(i, _)| *i == index) {
                        return Err(at(format!("has two disks in place {}", index + 1)));
                    }
                    disks.push((
                        index,
                        DiskImage {
                            path,
                            read_only: d.read_only,
                        },
                    ));
                }
            }
            "boot" => dom.boot = Some(boot_order(&string(s)?, &mut dom.ignored).map_err(at)?),
            "acpi" => dom.acpi = Some(flag(s)?),
            "xen_platform_pci" => dom.xen = Some(flag(s)?),
            "on_poweroff" | "on_crash" => {
                let action = string(s)?;
                if action != "destroy" {
                    dom.ignored.push(format!(
                        "{} = {action:?} (the run ends, as with \"destroy\")",
                        s.key
                    ));
                }
            }
            "on_reboot" => match string(s)?.as_str() {
                "restart" => {}
                "destroy" => dom.no_reboot = true,
                a => dom
                    .ignored
                    .push(format!("on_reboot = {a:?} (the guest restarts)")),
            },
            "kernel" | "ramdisk" | "cmdline" | "extra" | "root" => direct.push(s),
            "vif" => dom.ignored.push("vif (no network devices)".into()),
            other => dom.ignored.push(other.to_string()),
        }
    }
    direct_boot(&mut dom, &direct, base)?;
    if disks.len() > MAX_DISKS {
        return Err(format!(
            "disk: {} disks; at most {MAX_DISKS} are supported besides the CD-ROM",
            disks.len()
        ));
    }
    disks.sort_by_key(|(i, _)| *i);
    dom.disks = disks.into_iter().map(|(_, d)| d).collect();
    Ok(dom)
}

/// The direct-boot keys: for PVH the kernel (required), the ramdisk and
/// the command line xl would build (`cmdline`, else `root=ROOT EXTRA`);
/// for HVM they are named as without effect (no direct kernel boot of an
/// HVM guest here: it boots through the BIOS).
fn direct_boot(dom: &mut XlDomain, direct: &[&Setting], base: &Path) -> Result<(), String> {
    if !dom.pvh {
        for s in direct {
            dom.ignored.push(format!(
                "{} (an HVM guest boots through the BIOS; type = \"pvh\" takes a kernel)",
                s.key
            ));
        }
        return Ok(());
    }
    let mut root = None;
    let mut extra = None;
    for s in direct {
        let value = string(s)?;
        match s.key.as_str() {
            "kernel" => dom.kernel = Some(base.join(value)),
            "ramdisk" => dom.ramdisk = Some(base.join(value)),
            "cmdline" => dom.cmdline = Some(value),
            "root" => root = Some(value),
            _ => extra = Some(value),
        }
    }
    if dom.kernel.is_none() {
        return Err("type = \"pvh\" needs kernel = \"...\" (a vmlinuz or vmlinux)".into());
    }
    if dom.cmdline.is_some() {
        if root.is_some() || extra.is_some() {
            dom.ignored
                .push("root and extra (cmdline gives the whole command line, as in xl)".into());
        }
    } else if root.is_some() || extra.is_some() {
        let root = root.map(|r| format!("root={r}"));
        dom.cmdline = Some(
            [root, extra]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Ok(())
}

/// xl's `boot` letters as `--boot` names: `c` disk, `d` CD-ROM, `a`
/// floppy; `n` (network) is named as ignored.
fn boot_order(letters: &str, ignored: &mut Vec<String>) -> Result<String, String> {
    let mut order: Vec<&str> = Vec::new();
    for c in letters.chars() {
        let name = match c {
            'c' => "disk",
            'd' => "cd",
            'a' => "floppy",
            'n' => {
                ignored.push("boot n (no network boot)".into());
                continue;
            }
            c => {
                return Err(format!(
                    "= {letters:?}: {c:?} is not a boot device (c, d, a, n)"
                ))
            }
        };
        if !order.contains(&name) {
            order.push(name);
        }
    }
    if order.is_empty() {
        return Err(format!("= {letters:?}: no boot device"));
    }
    Ok(order.join(","))
}

fn string(s: &Setting) -> Result<String, String> {
    match &s.value {
        Value::String(v) => Ok(v.clone()),
        v => Err(format!(
            "line {}: {} must be a string, not {}",
            s.line,
            s.key,
            v.kind()
        )),
    }
}

fn number(s: &Setting) -> Result<u64, String> {
    match &s.value {
        Value::Number(n) => Ok(*n),
        v => Err(format!(
            "line {}: {} must be a number, not {}",
            s.line,
            s.key,
            v.kind()
        )),
    }
}

fn list(s: &Setting) -> Result<&[Value], String> {
    match &s.value {
        Value::List(items) => Ok(items),
        v => Err(format!(
            "line {}: {} must be a [list], not {}",
            s.line,
            s.key,
            v.kind()
        )),
    }
}

/// A 0/1 setting (xl also takes "true"/"false"-less numbers only).
fn flag(s: &Setting) -> Result<bool, String> {
    match number(s)? {
        0 => Ok(false),
        1 => Ok(true),
        n => Err(format!("line {}: {} = {n}: must be 0 or 1", s.line, s.key)),
    }
}

#[cfg(test)]
mod tests;
