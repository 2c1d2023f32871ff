//! Kernel modules: finding them in the kernel package, what their `.modinfo`
//! says, the order to load them in, their `modules.dep` lines, and their
//! images decompressed for busybox's insmod.
//!
//! Formats followed: the ELF-64 section header table (System V ABI, generic
//! "gABI" 4.1, chapter 4 "Sections"), the `.modinfo` key=value strings
//! `modinfo(8)` reads, and `modules.dep` as `modules.dep(5)` describes it.

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
