//! Scripted sessions at the Linux test ISO's shell (`cargo xtask
//! make-linux-iso`): boot the ISO on one backend, wait for `/init`'s
//! markers, then type each step's command once everything before it has
//! matched, so one boot checks many things in turn; a failure names the
//! step whose output never came.
//!
//! Commands are written so that their own echo on the console cannot match
//! what they are expected to print (`echo "name=$(...)"` is expected as
//! `name=value`).

use crate::{literal, options};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use xtask::bochs::BochsCpu;
use xtask::expect::Expectations;
use xtask::runner::{Emulator, Outcome, RunOptions, RunReport, BIOS_GUEST};

/// Guest RAM for the Linux ISO (as the other Linux tests give it).
pub const LINUX_MEM_MIB: u64 = 256;

/// Which hardware virtualisation the hypervisor runs the guest with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// AMD SVM: QEMU (TCG, or KVM where it nests SVM).
    Svm,
    /// Intel VT-x with EPT: Debian's Bochs (`--cpu intel`), some minutes a boot.
    Vmx,
}

impl Backend {
    /// Options booting `iso` through the emulated BIOS on this backend,
    /// with a time limit fitting a Linux boot there plus `extra_secs`.
    pub fn options(self, iso: PathBuf, extra_secs: u64) -> RunOptions {
        self.on(
            RunOptions {
                iso: Some(iso),
                ..self.linux_base()
            },
            extra_secs,
        )
    }

    /// The options every Linux run starts from: the BIOS guest (or, with
    /// `pvh` set, a PVH start) with [`LINUX_MEM_MIB`].
    pub fn linux_base(self) -> RunOptions {
        RunOptions {
            guest: BIOS_GUEST.into(),
            mem_mib: LINUX_MEM_MIB,
            ..options(BIOS_GUEST)
        }
    }

    /// `base` on this backend, with a time limit fitting a Linux boot
    /// there plus `extra_secs`.
    pub fn on(self, base: RunOptions, extra_secs: u64) -> RunOptions {
        match self {
            Backend::Svm => RunOptions {
                timeout: Duration::from_secs(300 + extra_secs),
                ..base
            },
            Backend::Vmx => RunOptions {
                emulator: Emulator::Bochs,
                bochs_cpu: BochsCpu::Intel,
                timeout: Duration::from_secs(600 + 2 * extra_secs),
                ..base
            },
        }
    }
}

/// The Linux test ISO, built on first use.
pub fn linux_iso() -> PathBuf {
    xtask::linux_iso::make_linux_iso(false).unwrap_or_else(|e| panic!("the Linux ISO: {e}"))
}

/// A command typed at the shell and what its output must show, in order.
#[derive(Clone, Debug)]
pub struct Step {
    pub command: String,
    pub expect: Vec<Regex>,
}

impl Step {
    pub fn new(command: &str, expect: Vec<Regex>) -> Self {
        Step {
            command: command.into(),
            expect,
        }
    }

    /// `echo "name=$(command)"`, expected as `name=value`.
    pub fn value(name: &str, command: &str, value: &str) -> Self {
        Step::new(
            &format!("echo \"{name}=$({command})\""),
            vec![literal(&format!("{name}={value}"))],
        )
    }
}

/// A whole session: what the boot must print, the steps, and optionally a
/// last command after which the machine must stop by itself (a clean stop
/// is then the outcome `ExpectationsMet`).
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub boot: Vec<Regex>,
    pub steps: Vec<Step>,
    pub last: Option<String>,
}

impl Session {
    /// `base` with the expectations and the typed input of this session.
    pub fn apply(&self, base: RunOptions) -> RunOptions {
        let mut expect = self.boot.clone();
        let mut send = Vec::new();
        for step in &self.steps {
            send.push((expect.len(), format!("{}\r", step.command).into_bytes()));
            expect.extend(step.expect.iter().cloned());
        }
        if let Some(last) = &self.last {
            send.push((expect.len(), format!("{last}\r").into_bytes()));
        }
        RunOptions {
            expect,
            send,
            until_stopped: self.last.is_some(),
            ..base
        }
    }

    /// Where the session got to on `console`: "every expectation matched",
    /// or the boot marker or step (with its command) still waited for.
    pub fn progress(&self, console: &str) -> String {
        let all: Vec<Regex> = self
            .boot
            .iter()
            .chain(self.steps.iter().flat_map(|s| s.expect.iter()))
            .cloned()
            .collect();
        let mut e = Expectations::new(all);
        e.advance(console);
        let mut n = e.matched();
        if n < self.boot.len() {
            return format!("the boot never printed /{}/", self.boot[n]);
        }
        n -= self.boot.len();
        for (i, step) in self.steps.iter().enumerate() {
            if n < step.expect.len() {
                return format!(
                    "step {} `{}` never printed /{}/",
                    i + 1,
                    step.command,
                    step.expect[n]
                );
            }
            n -= step.expect.len();
        }
        match &self.last {
            Some(last) => format!("every expectation matched; then `{last}` was typed"),
            None => "every expectation matched".into(),
        }
    }

    /// Fails the test unless every expectation matched (and, with a last
    /// command, the machine then stopped cleanly), naming where it stopped.
    pub fn assert_met(&self, report: &RunReport) {
        assert_eq!(
            report.outcome,
            Outcome::ExpectationsMet,
            "{}\n--- console ---\n{}\n--- hypervisor log (last 60 lines) ---\n{}",
            self.progress(&report.console),
            report.console,
            tail(&report.hv_log, 60)
        );
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One entry of a cpio "newc" archive.
#[derive(Clone, Debug)]
pub struct CpioEntry {
    pub name: String,
    pub mode: u32,
    /// A file's contents, or a symbolic link's target.
    pub data: Vec<u8>,
}

pub const S_IFMT: u32 = 0o170_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;

/// The entries of a cpio "newc" archive (the kernel's initramfs buffer
/// format: a 110-byte header of "070701" and 13 eight-digit hex fields,
/// the name and the data each padded to 4 bytes), up to its trailer.
pub fn cpio_entries(archive: &[u8]) -> Vec<CpioEntry> {
    let pad = |n: usize| n.div_ceil(4) * 4;
    let mut at = 0;
    let mut entries = Vec::new();
    while at + 110 <= archive.len() {
        assert_eq!(&archive[at..at + 6], b"070701", "a newc header at {at}");
        let field = |i: usize| {
            let hex = std::str::from_utf8(&archive[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
            u32::from_str_radix(hex, 16).unwrap() as usize
        };
        let (mode, size, namesize) = (field(1) as u32, field(6), field(11));
        let name_at = at + 110;
        let name = String::from_utf8_lossy(&archive[name_at..name_at + namesize - 1]).into_owned();
        let data_at = pad(name_at + namesize);
        if name == "TRAILER!!!" {
            break;
        }
        entries.push(CpioEntry {
            name,
            mode,
            data: archive[data_at..data_at + size].to_vec(),
        });
        at = pad(data_at + size);
    }
    entries
}

/// The ISO's `/boot/initrd.img`, decompressed.
pub fn initramfs_of(iso: &Path, scratch: &Path) -> Vec<u8> {
    xtask::tools::require("xorriso").unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(scratch).unwrap();
    let gz = scratch.join("initrd.img");
    let _ = std::fs::remove_file(&gz);
    let out = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .args(["-extract", "/boot/initrd.img"])
        .arg(&gz)
        .output()
        .expect("xorriso runs");
    assert!(
        out.status.success(),
        "xorriso -extract: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
        .expect("gzip runs");
    assert!(out.status.success(), "gzip -dc initrd.img");
    out.stdout
}

/// Writes the regular files and symbolic links of `entries` under `dir`.
pub fn unpack(entries: &[CpioEntry], dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for e in entries {
        let path = dir.join(&e.name);
        match e.mode & S_IFMT {
            S_IFREG => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &e.data).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(e.mode & 0o7777))
                    .unwrap();
            }
            S_IFLNK => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let target = String::from_utf8_lossy(&e.data).into_owned();
                std::os::unix::fs::symlink(target, &path).unwrap();
            }
            _ => {}
        }
    }
}
