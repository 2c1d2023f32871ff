//! The tables through ACPICA's disassembler, `iasl -d` (Debian's
//! `acpica-tools`; `cargo xtask test` installs it): it must take every table
//! without an error, and the DSDT it prints must have what the PC needs.
//! Without `iasl` these tests fail, naming the package: they never skip.

use super::{configs, Tables};
use crate::PcAcpiConfig;
use std::format;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::vec::Vec;

/// Leaves the files in place when `PC_ACPI_KEEP` is set (to read the
/// `.dsl` files: `PC_ACPI_KEEP=1 cargo test -p pc-acpi iasl`).
fn clean_up(dir: &Path) {
    if std::env::var_os("PC_ACPI_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        std::eprintln!(
            "pc-acpi: tables and their disassembly kept in {}",
            dir.display()
        );
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pc-acpi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `iasl` with `args` in `dir`; returns its output, stdout and stderr
/// together, after checking it exited with 0 and printed no error.
fn iasl(dir: &Path, args: &[&str]) -> String {
    let out = match Command::new("iasl").args(args).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run iasl ({e}): install Debian's acpica-tools \
             (apt-get install acpica-tools, or cargo xtask test)"
        ),
    };
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "iasl {args:?} failed:\n{text}");
    // Any line naming an error, but the compiler's "0 Errors" summary.
    let error = text
        .lines()
        .filter(|l| !l.starts_with("Compilation successful"))
        .any(|l| l.contains("Error") || l.contains("error"));
    assert!(!error, "iasl {args:?} reported errors:\n{text}");
    text
}

/// Writes every table of `t` to `dir` as `<sig>.dat`, disassembles each
/// with `iasl -d`, and returns the `.dsl` texts by file stem. (Not the
/// RSDP: `iasl -d` takes only tables with the standard header or the FACS;
/// the RSDP's own tests check its layout and checksums.)
fn disassemble_all(t: &Tables, dir: &Path) -> Vec<(String, String)> {
    let files: Vec<(String, Vec<u8>)> = t
        .all()
        .into_iter()
        .map(|(sig, bytes)| (String::from_utf8_lossy(&sig).to_lowercase(), bytes.to_vec()))
        .collect();
    let mut out = Vec::new();
    for (stem, bytes) in files {
        let dat = format!("{stem}.dat");
        std::fs::write(dir.join(&dat), &bytes).unwrap();
        let log = iasl(dir, &["-d", &dat]);
        let dsl = std::fs::read_to_string(dir.join(format!("{stem}.dsl")))
            .unwrap_or_else(|e| panic!("iasl -d {dat} wrote no {stem}.dsl ({e}):\n{log}"));
        out.push((stem, dsl));
    }
    out
}

fn dsl_of<'a>(all: &'a [(String, String)], stem: &str) -> &'a str {
    &all.iter().find(|(s, _)| s == stem).unwrap().1
}

#[test]
fn iasl_disassembles_every_table_of_every_board_without_errors() {
    for (i, config) in configs().iter().enumerate() {
        let dir = scratch(&format!("all{i}"));
        let all = disassemble_all(&Tables::build(config), &dir);
        let dsdt = dsl_of(&all, "dsdt");
        assert!(dsdt.contains("_S5_"), "{config:?}:\n{dsdt}");
        if config.pvh {
            assert!(!dsdt.contains("PCI0"), "{dsdt}");
        } else {
            assert!(dsdt.contains("_PRT"), "{dsdt}");
            assert!(dsdt.contains("PNP0A03"), "{dsdt}");
        }
        // iasl's own reading of the checksums.
        for (stem, dsl) in &all {
            assert!(!dsl.contains("Incorrect checksum"), "{stem}:\n{dsl}");
            assert!(!dsl.contains("Invalid"), "{stem}:\n{dsl}");
        }
        clean_up(&dir);
    }
}

#[test]
fn iasl_reads_the_pc_dsdt_as_intended_and_it_recompiles() {
    let mut config = PcAcpiConfig::hvm(2);
    config.pirq_routes[2] = Some(11);
    config.hpet = true;
    let dir = scratch("dsdt");
    let all = disassemble_all(&Tables::build(&config), &dir);
    let dsdt = dsl_of(&all, "dsdt");
    for needle in [
        "Device (PCI0)",
        "EisaId (\"PNP0A03\")",
        "Name (_PRT, Package",
        "0x0003FFFF",
        "Device (ISA)",
        "EisaId (\"PNP0B00\")",
        "EisaId (\"PNP0303\")",
        "EisaId (\"PNP0F13\")",
        "EisaId (\"PNP0501\")",
        "EisaId (\"PNP0103\")",
        "IRQNoFlags ()",
        "0x03F8",
        "0x02F8",
        "WordBusNumber",
        "0x0CF7",
        "0x0D00",
        "0x000A0000",
        "0xE0000000",
        "0xFEBFFFFF",
        "Name (_S5, Package",
        "\"ACPI0007\"",
    ] {
        assert!(dsdt.contains(needle), "no {needle} in:\n{dsdt}");
    }
    // ASL that compiles back: iasl's semantic checks (object types of the
    // reserved names, resource descriptors) pass.
    let log = iasl(&dir, &["-p", "recompiled", "dsdt.dsl"]);
    assert!(
        log.contains("Compilation successful. 0 Errors, 0 Warnings"),
        "{log}"
    );
    let fadt = dsl_of(&all, "facp");
    for needle in [
        "SCI Interrupt : 0009",
        "PM1A Event Block Address : 00000600",
    ] {
        let squeezed: String = fadt.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squeezed.contains(needle), "no {needle} in:\n{fadt}");
    }
    clean_up(&dir);
}
