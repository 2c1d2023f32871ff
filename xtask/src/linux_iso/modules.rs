//! Kernel modules: finding them in the kernel package, what their `.modinfo`
//! says, the order to load them in, their `modules.dep` lines, and their
//! images decompressed for busybox's insmod.
//!
//! Formats followed: the `.modinfo` key=value strings `modinfo(8)` reads
//! (found through [`super::elf`]), and `modules.dep` as `modules.dep(5)`
//! describes it.

use super::elf::section;
use super::host::{file_name, list_dir, read, run};
use crate::tools;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `modinfo(8)` would print as `name`, `depends` and the `pre:` half of `softdep`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ModInfo {
    pub(super) name: String,
    /// Normalized module names (`-` written `_`).
    pub(super) depends: Vec<String>,
    /// As written: module names or aliases.
    pub(super) softdep_pre: Vec<String>,
}

/// Module names treat `-` and `_` alike; the kernel writes `_`.
pub(super) fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Reads `name=`, `depends=` and `softdep=` from a module's `.modinfo`
/// section: NUL-separated `key=value` strings.
pub(super) fn parse_modinfo(elf: &[u8]) -> Result<ModInfo, String> {
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
pub(super) fn load_order(
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

/// A `modules.dep` line: the module, a colon, and what it needs (paths
/// relative to `/lib/modules/<version>`).
pub(super) fn modules_dep_line(module: &str, needs: &[String]) -> String {
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
pub(super) fn index_modules(modules_dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut index = BTreeMap::new();
    let mut pending = vec![PathBuf::from("kernel")];
    while let Some(rel) = pending.pop() {
        for name in list_dir(&modules_dir.join(&rel))? {
            let child = rel.join(&name);
            if modules_dir.join(&child).is_dir() {
                pending.push(child);
            } else if let Some(stem) = module_stem(&name) {
                index.insert(normalize(stem), child.to_string_lossy().into_owned());
            }
        }
    }
    Ok(index)
}

/// The compression suffixes module files may carry, and the program that
/// undoes each (with its Debian package).
const MODULE_COMPRESSIONS: &[(&str, &str)] = &[(".xz", "xz"), (".zst", "zstd"), (".gz", "gzip")];

/// `ata_piix` for `ata_piix.ko` or `ata_piix.ko.xz`; None for other files.
pub(super) fn module_stem(file: &str) -> Option<&str> {
    let file = strip_compression(file);
    file.strip_suffix(".ko")
}

pub(super) fn strip_compression(file: &str) -> &str {
    MODULE_COMPRESSIONS
        .iter()
        .find_map(|(suffix, _)| file.strip_suffix(suffix))
        .unwrap_or(file)
}

/// A module's ELF image, decompressed when the package compresses modules
/// (busybox insmod may not read xz or zstd, so the initramfs holds plain `.ko`).
pub(super) fn module_image(path: &Path) -> Result<Vec<u8>, String> {
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
