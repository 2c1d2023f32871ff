//! Tests of `linux_iso`, its parts in the order of the files: cpio, kernel
//! modules, ELF dynamic sections and the userland closure, apt, host tools,
//! the test file, ISOLINUX and `/init`.

use super::apt::{cached_deb, cached_kernel, is_kernel_package, kernel_dependency};
use super::cpio;
use super::elf::{interpreter, needed_libraries};
use super::host::error_line;
use super::modules::{load_order, module_stem, modules_dep_line, parse_modinfo, strip_compression};
use super::testdata::parse_sha256_line;
use super::userland::{closure, normalize, resolve_link, xenstore_tools, Entry};
use super::*;

/// The 13 numeric fields of the header starting at `at`.
fn fields(archive: &[u8], at: usize) -> Vec<u32> {
    assert_eq!(&archive[at..at + 6], b"070701");
    (0..13)
        .map(|i| {
            let hex = std::str::from_utf8(&archive[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
            u32::from_str_radix(hex, 16).unwrap()
        })
        .collect()
}

#[test]
fn cpio_file_entry_has_newc_header_name_and_padded_data() {
    let mut a = cpio::Archive::new();
    a.file("init", 0o755, b"hello");
    let out = a.finish();
    let f = fields(&out, 0);
    assert_eq!(f[0], 1, "inode");
    assert_eq!(f[1], 0o100_755, "mode");
    assert_eq!(f[4], 1, "nlink");
    assert_eq!(f[6], 5, "filesize");
    assert_eq!(f[11], 5, "namesize counts the NUL");
    assert_eq!(f[12], 0, "check");
    // 110 header + "init\0" = 115, padded to 116; 5 data bytes padded to 8.
    assert_eq!(&out[110..116], b"init\0\0");
    assert_eq!(&out[116..124], b"hello\0\0\0");
    assert!(out.len().is_multiple_of(4));
}

#[test]
fn cpio_ends_with_trailer() {
    let out = cpio::Archive::new().finish();
    let f = fields(&out, 0);
    assert_eq!(f[6], 0);
    assert_eq!(f[11], 11);
    assert_eq!(&out[110..121], b"TRAILER!!!\0");
    assert_eq!(out.len(), 124);
}

#[test]
fn cpio_adds_parent_directories_first_once() {
    let mut a = cpio::Archive::new();
    a.file("/lib/modules/x/a.ko", 0o644, b"");
    a.file("lib/modules/x/b.ko", 0o644, b"");
    a.symlink("bin/sh", "busybox");
    a.char_device("dev/console", 0o600, 5, 1);
    let out = a.finish();
    let text = String::from_utf8_lossy(&out);
    let names: Vec<&str> = text
        .split("070701")
        .skip(1)
        .map(|e| e[104..].split('\0').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "lib",
            "lib/modules",
            "lib/modules/x",
            "lib/modules/x/a.ko",
            "lib/modules/x/b.ko",
            "bin",
            "bin/sh",
            "dev",
            "dev/console",
            "TRAILER!!!"
        ]
    );
    let console = text.find("dev/console").unwrap() - 110;
    let f = fields(&out, console);
    assert_eq!(f[1], 0o020_600);
    assert_eq!((f[9], f[10]), (5, 1));
    let dir = fields(&out, 0);
    assert_eq!((dir[1], dir[4]), (0o040_755, 2));
}

/// A minimal ELF-64 file: a null section, .shstrtab and the sections given.
fn elf_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut shstrtab = b"\0.shstrtab\0".to_vec();
    let mut name_at = Vec::new();
    for (name, _) in sections {
        name_at.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
    }
    let mut elf = vec![0u8; 0x40];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2;
    elf[5] = 1;
    let strtab_at = elf.len();
    elf.extend_from_slice(&shstrtab);
    let mut data_at = Vec::new();
    for (_, data) in sections {
        data_at.push(elf.len());
        elf.extend_from_slice(data);
    }
    let shoff = elf.len();
    let mut section = |name: u32, offset: usize, size: usize| {
        let mut h = [0u8; 0x40];
        h[0..4].copy_from_slice(&name.to_le_bytes());
        h[0x18..0x20].copy_from_slice(&(offset as u64).to_le_bytes());
        h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
        elf.extend_from_slice(&h);
    };
    section(0, 0, 0);
    section(1, strtab_at, shstrtab.len());
    for (i, (_, data)) in sections.iter().enumerate() {
        section(name_at[i], data_at[i], data.len());
    }
    elf[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
    elf[0x3A..0x3C].copy_from_slice(&0x40u16.to_le_bytes());
    elf[0x3C..0x3E].copy_from_slice(&(2 + sections.len() as u16).to_le_bytes());
    elf[0x3E..0x40].copy_from_slice(&1u16.to_le_bytes());
    elf
}

fn elf_with_modinfo(modinfo: &[u8]) -> Vec<u8> {
    elf_with_sections(&[(".modinfo", modinfo)])
}

/// A dynamically linked ELF file: `.interp` if given, `DT_NEEDED` entries
/// for `needs`, and an unrelated entry before them.
fn dynamic_elf(interp: Option<&str>, needs: &[&str]) -> Vec<u8> {
    let mut dynstr = b"\0".to_vec();
    let mut dynamic = Vec::new();
    let mut entry = |tag: u64, value: u64| {
        dynamic.extend_from_slice(&tag.to_le_bytes());
        dynamic.extend_from_slice(&value.to_le_bytes());
    };
    entry(0x6fff_fef5, 0x1234); // DT_GNU_HASH: not a library
    for n in needs {
        entry(1, dynstr.len() as u64);
        dynstr.extend_from_slice(n.as_bytes());
        dynstr.push(0);
    }
    entry(0, 0);
    entry(1, 0); // past DT_NULL: ignored
    let interp = interp.map(|i| format!("{i}\0").into_bytes());
    let mut sections: Vec<(&str, &[u8])> = Vec::new();
    if let Some(i) = &interp {
        sections.push((".interp", i));
    }
    sections.push((".dynstr", &dynstr));
    sections.push((".dynamic", &dynamic));
    elf_with_sections(&sections)
}

#[test]
fn dynamic_section_names_the_needed_libraries_and_the_interpreter() {
    let elf = dynamic_elf(
        Some("/lib64/ld-linux-x86-64.so.2"),
        &["libxenstore.so.4", "libc.so.6"],
    );
    assert_eq!(
        needed_libraries(&elf).unwrap(),
        ["libxenstore.so.4", "libc.so.6"]
    );
    assert_eq!(
        interpreter(&elf).unwrap().as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    let library = dynamic_elf(None, &[]);
    assert!(needed_libraries(&library).unwrap().is_empty());
    assert_eq!(interpreter(&library).unwrap(), None);
    // A static program has no .dynamic at all.
    let static_program = elf_with_modinfo(b"name=x\0");
    assert!(needed_libraries(&static_program).unwrap().is_empty());
    assert!(needed_libraries(b"#!/bin/sh\n")
        .unwrap_err()
        .contains("ELF-64"));
}

#[test]
fn link_targets_resolve_from_the_link_folder_or_the_root() {
    assert_eq!(normalize("/lib64/./x/../ld.so"), "lib64/ld.so");
    assert_eq!(
        resolve_link("usr/lib/x86_64-linux-gnu/liba.so.1", "liba.so.1.0"),
        "usr/lib/x86_64-linux-gnu/liba.so.1.0"
    );
    assert_eq!(
        resolve_link("lib64/ld.so", "/lib/x86_64-linux-gnu/ld.so"),
        "lib/x86_64-linux-gnu/ld.so"
    );
    assert_eq!(
        resolve_link("usr/bin/tool", "../lib/x/tool"),
        "usr/lib/x/tool"
    );
}

/// A folder under target/ for one test's fake unpacked packages.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = crate::workspace_root()
        .join("target")
        .join("test-images")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn put(root: &std::path::Path, path: &str, data: &[u8]) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn link(root: &std::path::Path, path: &str, target: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

#[test]
fn closure_follows_interp_needed_entries_and_links_each_file_once() {
    let root = scratch("closure");
    let interp = "/lib64/ld-linux-x86-64.so.2";
    put(
        &root,
        "usr/bin/xenstore",
        &dynamic_elf(Some(interp), &["libxenstore.so.4", "libc.so.6"]),
    );
    link(
        &root,
        "lib64/ld-linux-x86-64.so.2",
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    );
    put(
        &root,
        "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        &dynamic_elf(None, &[]),
    );
    put(
        &root,
        "lib/x86_64-linux-gnu/libc.so.6",
        &dynamic_elf(None, &["ld-linux-x86-64.so.2"]),
    );
    link(
        &root,
        "usr/lib/x86_64-linux-gnu/libxenstore.so.4",
        "libxenstore.so.4.0",
    );
    put(
        &root,
        "usr/lib/x86_64-linux-gnu/libxenstore.so.4.0",
        &dynamic_elf(None, &["libxentoolcore.so.1", "libc.so.6"]),
    );
    put(
        &root,
        "usr/lib/x86_64-linux-gnu/libxentoolcore.so.1",
        &dynamic_elf(None, &["libc.so.6"]),
    );
    put(&root, "usr/lib/x86_64-linux-gnu/unrelated.so", b"");
    let entries = closure(&root, &["usr/bin/xenstore"]).unwrap();
    let names: Vec<String> = entries
        .iter()
        .map(|e| match e {
            Entry::File { path, .. } => path.clone(),
            Entry::Symlink { path, target } => format!("{path} -> {target}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "usr/bin/xenstore",
            "lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "usr/lib/x86_64-linux-gnu/libxenstore.so.4 -> libxenstore.so.4.0",
            "usr/lib/x86_64-linux-gnu/libxenstore.so.4.0",
            "usr/lib/x86_64-linux-gnu/libxentoolcore.so.1",
            "lib/x86_64-linux-gnu/libc.so.6",
        ]
    );
    // A library in none of the packages is named, with who needs it.
    put(
        &root,
        "usr/bin/other",
        &dynamic_elf(None, &["libmissing.so.9"]),
    );
    let err = closure(&root, &["usr/bin/other"]).unwrap_err();
    assert!(
        err.contains("/usr/bin/other needs libmissing.so.9"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn xenstore_tools_are_the_hard_links_to_the_one_program() {
    let root = scratch("xstools");
    put(&root, "usr/bin/xenstore", b"program");
    for tool in super::userland::XENSTORE_TOOLS {
        std::fs::hard_link(
            root.join("usr/bin/xenstore"),
            root.join("usr/bin").join(tool),
        )
        .unwrap();
    }
    link(
        &root,
        "usr/bin/xenstore-control",
        "../lib/xen-common/bin/xen-utils-wrapper",
    );
    let tools = xenstore_tools(&root).unwrap();
    assert_eq!(tools, super::userland::XENSTORE_TOOLS);
    std::fs::remove_file(root.join("usr/bin/xenstore-watch")).unwrap();
    let err = xenstore_tools(&root).unwrap_err();
    assert!(err.contains("no xenstore-watch"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn modinfo_reads_name_depends_and_softdep_pre() {
    let elf = elf_with_modinfo(
        b"license=GPL\0softdep=pre: crc64 foo post: bar\0depends=crc-t10dif,crc64-rocksoft\0name=t10_pi\0",
    );
    let info = parse_modinfo(&elf).unwrap();
    assert_eq!(info.name, "t10_pi");
    assert_eq!(info.depends, ["crc_t10dif", "crc64_rocksoft"]);
    assert_eq!(info.softdep_pre, ["crc64", "foo"]);
}

#[test]
fn modinfo_empty_depends_is_no_dependency() {
    let info = parse_modinfo(&elf_with_modinfo(b"depends=\0name=cdrom\0")).unwrap();
    assert!(info.depends.is_empty());
}

#[test]
fn modinfo_rejects_non_elf_and_missing_section() {
    assert!(
        parse_modinfo(b"MZ not an ELF file at all, not at all........")
            .unwrap_err()
            .contains("ELF-64")
    );
    let mut elf = elf_with_modinfo(b"name=x\0");
    let at = elf.len() - 0x40;
    elf[at] = 1; // .modinfo now names itself ".shstrtab"
    assert!(parse_modinfo(&elf).unwrap_err().contains("no .modinfo"));
}

#[test]
fn load_order_puts_dependencies_first_once() {
    let deps = |m: &str| -> Result<Vec<String>, String> {
        Ok(match m {
            "ata_piix" => vec!["libata".into()],
            "libata" => vec!["scsi_mod".into(), "scsi_common".into()],
            "scsi_mod" => vec!["scsi_common".into()],
            "sr_mod" => vec!["scsi_mod".into(), "cdrom".into()],
            _ => vec![],
        })
    };
    assert_eq!(
        load_order(&["ata_piix", "sr_mod", "crc-t10dif"], deps).unwrap(),
        [
            "scsi_common",
            "scsi_mod",
            "libata",
            "ata_piix",
            "cdrom",
            "sr_mod",
            "crc_t10dif"
        ]
    );
}

#[test]
fn load_order_reports_cycles() {
    let deps = |m: &str| -> Result<Vec<String>, String> {
        Ok(vec![if m == "a" { "b" } else { "a" }.to_string()])
    };
    let err = load_order(&["a"], deps).unwrap_err();
    assert!(err.contains("a -> b -> a"), "{err}");
}

#[test]
fn kernel_package_from_apt_cache_depends() {
    let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-28-amd64\n";
    assert_eq!(
        kernel_dependency(out).as_deref(),
        Some("linux-image-6.1.0-28-amd64")
    );
    assert_eq!(kernel_dependency("E: No packages found\n"), None);
    assert!(!is_kernel_package("linux-image-amd64"));
    assert!(!is_kernel_package("linux-image-6.1.0-28-amd64-unsigned"));
}

#[test]
fn cache_lookup_matches_package_names_exactly() {
    let files: Vec<String> = [
        "busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb",
        "busybox_1%3a1.35.0-4_amd64.deb",
        "isolinux_3%3a6.04~git20190206.bf6db5b4+dfsg1-3_all.deb",
        "linux-image-6.1.0-28-amd64_6.1.119-1_amd64.deb",
        "linux-image-6.1.0-28-amd64-dbg_6.1.119-1_amd64.deb",
        "notes.txt",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        cached_deb(&files, "busybox-static").map(String::as_str),
        Some("busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb")
    );
    assert_eq!(cached_deb(&files, "syslinux-common"), None);
    assert_eq!(
        cached_kernel(&files).as_deref(),
        Some("linux-image-6.1.0-28-amd64")
    );
}

#[test]
fn module_names_come_without_compression_suffix() {
    assert_eq!(module_stem("ata_piix.ko"), Some("ata_piix"));
    assert_eq!(module_stem("crc-t10dif.ko.xz"), Some("crc-t10dif"));
    assert_eq!(module_stem("modules.order"), None);
    assert_eq!(
        strip_compression("kernel/fs/isofs/isofs.ko.zst"),
        "kernel/fs/isofs/isofs.ko"
    );
}

#[test]
fn modules_dep_line_lists_needs_after_a_colon() {
    assert_eq!(modules_dep_line("kernel/a.ko", &[]), "kernel/a.ko:\n");
    assert_eq!(
        modules_dep_line("kernel/a.ko", &["kernel/b.ko".into(), "kernel/c.ko".into()]),
        "kernel/a.ko: kernel/b.ko kernel/c.ko\n"
    );
}

#[test]
fn error_line_prefers_apt_errors_and_xorriso_failures() {
    let apt = "W: Download is performed unsandboxed\nE: Can't find a source to download version '1' of 'x'\n";
    assert_eq!(
        error_line(apt).unwrap(),
        "E: Can't find a source to download version '1' of 'x'"
    );
    let xorriso =
        "xorriso 1.5.4 : RockRidge filesystem manipulator\nxorriso : FAILURE : Cannot find path\n";
    assert_eq!(
        error_line(xorriso).unwrap(),
        "xorriso : FAILURE : Cannot find path"
    );
    assert_eq!(error_line("\n  first\nsecond").unwrap(), "first");
    assert_eq!(error_line(""), None);
}

#[test]
fn testdata_is_fixed_text_spanning_several_sectors() {
    let data = testdata_bytes();
    assert_eq!(data, testdata_bytes());
    assert!(data.len() > 2 * 2048 && !data.len().is_multiple_of(2048));
    let text = String::from_utf8(data).unwrap();
    assert!(text.starts_with("hello 001/120 "));
    assert_eq!(text.lines().count(), 120);
}

#[test]
fn sha256_line_parses_digest() {
    let d = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(
        parse_sha256_line(&format!("{d}  testdata/hello.txt\n")).as_deref(),
        Some(d)
    );
    assert_eq!(parse_sha256_line("abc  x"), None);
}

#[test]
fn isolinux_cfg_starts_with_serial_and_keeps_the_platform_options() {
    assert!(ISOLINUX_CFG.starts_with("serial 0 115200\n"));
    assert!(ISOLINUX_CFG.contains("console=ttyS0,115200 panic=-1"));
    // The stock command line: the PC has an APIC and ACPI (issue 15).
    for option in ["noapic", "nolapic", "acpi=off"] {
        assert!(!ISOLINUX_CFG.contains(option), "{option}");
    }
}

#[test]
fn init_prints_the_markers() {
    assert!(INIT_HEAD.starts_with("#!/bin/busybox sh\n"));
    assert!(INIT_HEAD.contains(&format!("echo \"{INIT_STARTED}\"")));
    assert!(INIT_TAIL.contains(&format!("echo \"{SHELL_READY}\"")));
    assert!(INIT_TAIL.contains(&format!("/dev/sr0 {CD_MOUNT}")));
}

#[test]
fn init_starts_a_shell_on_hvc0_only_when_there_is_one_and_keeps_the_serial_shell() {
    let hvc = INIT_TAIL
        .find("if [ -c /dev/hvc0 ]; then")
        .expect("a test for the device");
    let started = INIT_TAIL
        .find(&format!("echo \"{HVC0_SHELL_STARTED}\""))
        .expect("the marker");
    let ready = INIT_TAIL.find(SHELL_READY).unwrap();
    assert!(hvc < started && started < ready, "{INIT_TAIL}");
    assert!(
        INIT_TAIL.contains("setsid -c sh </dev/hvc0 >/dev/hvc0 2>&1 &\n"),
        "{INIT_TAIL}"
    );
    assert!(INIT_TAIL.ends_with("exec setsid cttyhack sh\n"));
    // Kernel messages stay on ttyS0 alone.
    assert!(!ISOLINUX_CFG.contains("hvc0"));
}
