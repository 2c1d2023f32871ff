//! Dynamically linked Debian programs in the initramfs, at their Debian
//! paths: Debian's own XenStore tools (`xenstore-utils`) and every file the
//! dynamic loader needs to run them, found by following the programs'
//! `.interp`, their `DT_NEEDED` entries and those of each library found, in
//! the unpacked packages, as `ld.so(8)` searches them without a cache.

use super::elf::{interpreter, is_elf64, needed_libraries};
use super::host::{list_dir, read};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The one program of `xenstore-utils`; its tools are hard links to it that
/// pick their mode from the name they are run by (`xenstore-read` reads).
pub(super) const XENSTORE_PROGRAM: &str = "usr/bin/xenstore";
/// Libraries the programs load with `dlopen` rather than through
/// `DT_NEEDED`, so the closure must be told: glibc's `pthread_cancel` loads
/// `libgcc_s.so.1` for unwinding (without it `xenstore-watch` aborts with
/// "libgcc_s.so.1 must be installed for pthread_cancel to work").
pub(super) const DLOPENED_LIBRARIES: &[&str] = &["lib/x86_64-linux-gnu/libgcc_s.so.1"];
/// The tools the guest must have (the package has these as hard links).
pub(super) const XENSTORE_TOOLS: &[&str] = &[
    "xenstore-chmod",
    "xenstore-exists",
    "xenstore-list",
    "xenstore-ls",
    "xenstore-read",
    "xenstore-rm",
    "xenstore-watch",
    "xenstore-write",
];

/// Where the dynamic loader looks for a `DT_NEEDED` library when there is
/// no `/etc/ld.so.cache`: Debian's system search path, in its order (what
/// `/lib64/ld-linux-x86-64.so.2 --help` lists on Debian 12).
pub(super) const LIBRARY_DIRS: &[&str] = &[
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib",
    "usr/lib",
];

/// An initramfs entry, its path relative to the root.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Entry {
    File {
        path: String,
        perm: u32,
        data: Vec<u8>,
    },
    Symlink {
        path: String,
        target: String,
    },
}

/// The names of the XenStore tools under `usr/bin` of the unpacked packages
/// at `root`: the files that are hard links to [`XENSTORE_PROGRAM`]. Fails
/// if one of [`XENSTORE_TOOLS`] is missing.
pub(super) fn xenstore_tools(root: &Path) -> Result<Vec<String>, String> {
    let program = root.join(XENSTORE_PROGRAM);
    let inode = std::fs::symlink_metadata(&program)
        .map_err(|e| format!("xenstore-utils has no /{XENSTORE_PROGRAM}: {e}"))?
        .ino();
    let bin = program.parent().expect("usr/bin");
    let tools: Vec<String> = list_dir(bin)?
        .into_iter()
        .filter(|name| name.starts_with("xenstore-"))
        .filter(|name| {
            std::fs::symlink_metadata(bin.join(name))
                .is_ok_and(|m| m.file_type().is_file() && m.ino() == inode)
        })
        .collect();
    for wanted in XENSTORE_TOOLS {
        if !tools.iter().any(|t| t == wanted) {
            return Err(format!(
                "xenstore-utils has no {wanted} beside /{XENSTORE_PROGRAM} (it has {tools:?})"
            ));
        }
    }
    Ok(tools)
}

/// `programs` (paths relative to `root`) and everything the dynamic loader
/// needs to run them, each file once: symbolic links as links (and what
/// they point to), regular files with their permission bits.
pub(super) fn closure(root: &Path, programs: &[&str]) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    let mut pending: Vec<(String, String)> = programs
        .iter()
        .rev()
        .map(|p| (normalize(p), "the programs wanted".to_string()))
        .collect();
    while let Some((path, wanted_by)) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let on_host = root.join(&path);
        let meta = std::fs::symlink_metadata(&on_host).map_err(|e| {
            format!("/{path} (needed by {wanted_by}) is in none of the packages: {e}")
        })?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&on_host)
                .map_err(|e| format!("cannot read the link {}: {e}", on_host.display()))?
                .to_string_lossy()
                .into_owned();
            let resolved = resolve_link(&path, &target);
            entries.push(Entry::Symlink {
                path: path.clone(),
                target,
            });
            pending.push((resolved, format!("the link /{path}")));
            continue;
        }
        if !meta.file_type().is_file() {
            return Err(format!("/{path} is neither a file nor a symbolic link"));
        }
        let data = read(&on_host)?;
        if is_elf64(&data) {
            let what = |e: String| format!("/{path}: {e}");
            let mut next = Vec::new();
            if let Some(interp) = interpreter(&data).map_err(what)? {
                next.push(normalize(&interp));
            }
            for library in needed_libraries(&data).map_err(what)? {
                next.push(find_library(root, &library).ok_or_else(|| {
                    format!(
                        "/{path} needs {library}, which is in none of {} of the packages",
                        LIBRARY_DIRS
                            .iter()
                            .map(|d| format!("/{d}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?);
            }
            for n in next.into_iter().rev() {
                pending.push((n, format!("/{path}")));
            }
        }
        entries.push(Entry::File {
            path,
            perm: meta.mode() & 0o7777,
            data,
        });
    }
    Ok(entries)
}

/// Where the loader finds `library` among the unpacked packages.
fn find_library(root: &Path, library: &str) -> Option<String> {
    LIBRARY_DIRS
        .iter()
        .map(|dir| format!("{dir}/{library}"))
        .find(|p| std::fs::symlink_metadata(root.join(p)).is_ok())
}

/// The path a link at `link` (relative to the root) pointing to `target`
/// names, relative to the root: absolute targets from the root, relative
/// ones from the link's folder.
pub(super) fn resolve_link(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        return normalize(target);
    }
    match link.rsplit_once('/') {
        Some((dir, _)) => normalize(&format!("{dir}/{target}")),
        None => normalize(target),
    }
}

/// A path relative to the root without `.`, `..` or empty components.
pub(super) fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}
