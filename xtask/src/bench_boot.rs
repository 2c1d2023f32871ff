//! `cargo xtask bench boot`: how long FreeDOS and Linux take to boot on the
//! hypervisor nested in QEMU TCG, beside the same ISO booted directly by QEMU
//! TCG with its own SeaBIOS, measured in one run.
//!
//! Both boots of a guest run the same ISO on the same QEMU with the same guest
//! RAM, and both are timed from the moment the emulator process starts to the
//! moment the guest prints its marker on COM1: for Linux the ISO's init
//! printing `shell ready` just before the shell prompt, for FreeDOS a copy of
//! `../shared/guests/freedos-boot.img` whose AUTOEXEC.BAT ends with
//! `ECHO VMM-BOOTED > COM1` (the line before the `A:\>` prompt), wrapped as
//! an El Torito floppy-emulation CD as the shared ISO is. The nested run also
//! logs exit-statistics snapshots every 100 ms; the last one before the marker
//! gives the exit counts at the prompt.
//!
//! The Linux ISO's own kernel and initrd are also booted a third way, as a
//! PVH guest of the hypervisor, beside QEMU's own direct kernel boot of
//! them (`kernel_boots`): the same kernel to the same shell marker, with no
//! firmware on either side.

mod kernel_boots;

use crate::qemu::Accel;
use crate::runner::{self, Outcome, RunOptions, BIOS_GUEST};
use crate::{linux_iso, tools, workspace_root};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Guest RAM for every boot.
pub const MEM_MIB: u64 = 256;
/// How long one boot may take before the benchmark gives up.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// What the FreeDOS image's AUTOEXEC.BAT sends to COM1 last.
pub const FREEDOS_MARKER: &str = "VMM-BOOTED";
/// What the Linux ISO's init prints before starting the shell.
pub const LINUX_MARKER: &str = "shell ready";
/// The target of issue 6: a nested boot within twice the direct one.
pub const TARGET_RATIO: f64 = 2.0;
/// Statistics snapshot period of the nested runs.
const SNAPSHOT_MS: u64 = 100;

/// One guest to boot both ways.
pub struct BootCase {
    pub name: &'static str,
    pub iso: PathBuf,
    pub marker: &'static str,
}

/// One guest's two boots.
pub struct BootResult {
    pub name: &'static str,
    pub direct: Duration,
    pub nested: Duration,
    /// The exit-statistics table as of the marker.
    pub stats: Option<String>,
}

impl BootResult {
    pub fn ratio(&self) -> f64 {
        self.nested.as_secs_f64() / self.direct.as_secs_f64().max(1e-9)
    }
}

/// Makes the FreeDOS benchmark CD in `dir` from the shared floppy image:
/// AUTOEXEC.BAT gains a last line sending the marker to COM1.
pub fn freedos_iso(shared_img: &Path, dir: &Path) -> Result<PathBuf, String> {
    tools::require("mtype")?;
    tools::require("xorriso")?;
    let tree = dir.join("freedos-cd");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).map_err(|e| format!("cannot create {}: {e}", tree.display()))?;
    let img = tree.join("freedos-boot.img");
    std::fs::copy(shared_img, &img)
        .map_err(|e| format!("cannot copy {}: {e}", shared_img.display()))?;
    let original = output(
        Command::new("mtype")
            .arg("-i")
            .arg(&img)
            .arg("::AUTOEXEC.BAT"),
    )?;
    let autoexec = dir.join("AUTOEXEC.BAT");
    std::fs::write(&autoexec, autoexec_with_marker(&original))
        .map_err(|e| format!("cannot write {}: {e}", autoexec.display()))?;
    output(
        Command::new("mcopy")
            .args(["-o", "-i"])
            .arg(&img)
            .arg(&autoexec)
            .arg("::AUTOEXEC.BAT"),
    )?;
    let iso = dir.join("freedos-bench.iso");
    output(
        Command::new("xorriso")
            .args([
                "-as",
                "mkisofs",
                "-quiet",
                "-b",
                "freedos-boot.img",
                "-c",
                "boot.cat",
                "-o",
            ])
            .arg(&iso)
            .arg(&tree),
    )?;
    Ok(iso)
}

/// AUTOEXEC.BAT with the marker line appended (DOS line ends).
pub fn autoexec_with_marker(original: &[u8]) -> Vec<u8> {
    let mut text = original.to_vec();
    // A trailing Ctrl-Z ends a DOS text file: drop it and what follows.
    if let Some(eof) = text.iter().position(|b| *b == 0x1A) {
        text.truncate(eof);
    }
    if !text.ends_with(b"\r\n") && !text.is_empty() {
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(format!("ECHO {FREEDOS_MARKER} > COM1\r\n").as_bytes());
    text
}

fn output(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Boots `iso` directly in QEMU TCG (SeaBIOS, standard VGA) and returns the
/// time from start to `marker` on COM1.
pub fn boot_direct(iso: &Path, marker: &str) -> Result<Duration, String> {
    let mut args: Vec<std::ffi::OsString> = vec!["-cdrom".into(), iso.into()];
    args.extend(["-boot", "d"].map(Into::into));
    boot_qemu_until(&args, &iso.display().to_string(), marker)
}

/// Starts QEMU TCG (the `pc` machine, `qemu64`, [`MEM_MIB`], standard VGA,
/// COM1 on stdout) with `args` added and returns the time from start to
/// `marker` on COM1; `what` names the guest in errors.
pub fn boot_qemu_until(
    args: &[std::ffi::OsString],
    what: &str,
    marker: &str,
) -> Result<Duration, String> {
    let marker = Regex::new(&regex::escape(marker)).expect("an escaped marker is a valid regex");
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-cpu", "qemu64", "-machine", "pc", "-m"])
        .arg(MEM_MIB.to_string())
        .args(args)
        .args(["-display", "none", "-vga", "std"])
        .args(["-monitor", "none", "-parallel", "none", "-net", "none"])
        .args(["-serial", "stdio", "-no-reboot"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    let started = Instant::now();
    let rx = runner::stream_stdout(&mut child);
    let mut seen = Vec::new();
    let result = loop {
        let left = BOOT_TIMEOUT.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                seen.extend_from_slice(&chunk);
                if marker.is_match(&String::from_utf8_lossy(&seen)) {
                    break Ok(started.elapsed());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                break Err(format!(
                    "the direct boot of {what} did not print {marker} within {} s",
                    BOOT_TIMEOUT.as_secs()
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(format!(
                    "QEMU stopped before the direct boot of {what} printed {marker}"
                ))
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Boots `iso` on the hypervisor nested in QEMU TCG; returns the time from
/// start to `marker` and the exit statistics as of then.
pub fn boot_nested(
    iso: &Path,
    marker: &str,
    target_dir: Option<&PathBuf>,
) -> Result<(Duration, Option<String>), String> {
    let opts = RunOptions {
        iso: Some(iso.to_path_buf()),
        ..nested_options(marker, target_dir)
    };
    boot_nested_until(&opts, &iso.display().to_string(), marker)
}

/// The options every nested boot shares: the BIOS guest (or, with `pvh`
/// set, a PVH start) with [`MEM_MIB`], QEMU TCG, statistics snapshots,
/// waiting for `marker`.
pub fn nested_options(marker: &str, target_dir: Option<&PathBuf>) -> RunOptions {
    RunOptions {
        guest: BIOS_GUEST.into(),
        mem_mib: MEM_MIB,
        accel: Accel::Tcg,
        timeout: BOOT_TIMEOUT,
        expect: vec![
            Regex::new(&regex::escape(marker)).expect("an escaped marker is a valid regex")
        ],
        stats_every_ms: Some(SNAPSHOT_MS),
        log_level: "info".into(),
        target_dir: target_dir.cloned(),
        ..RunOptions::default()
    }
}

/// Runs `opts` and returns the time to `marker` and the exit statistics as
/// of then; `what` names the guest in errors.
pub fn boot_nested_until(
    opts: &RunOptions,
    what: &str,
    marker: &str,
) -> Result<(Duration, Option<String>), String> {
    let report = runner::run(opts)?;
    match (&report.outcome, report.matched_after) {
        (Outcome::ExpectationsMet, Some(t)) => Ok((t, report.stats_at_match())),
        (other, _) => Err(format!(
            "the nested boot of {what} did not print {marker}: {other:?}; last output:\n{}",
            report.console_tail(20)
        )),
    }
}

/// One row of an exit-statistics table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsRow {
    pub reason: String,
    pub count: u64,
    pub cycles: u64,
}

/// The per-reason rows, the total handling cycles and the in-guest cycles of
/// a statistics block.
pub fn parse_stats(block: &str) -> (Vec<StatsRow>, u64, u64) {
    let mut rows = Vec::new();
    let (mut total, mut guest) = (0, 0);
    for line in block.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["in-guest", cycles] => guest = cycles.parse().unwrap_or(0),
            ["total", _count, cycles] => total = cycles.parse().unwrap_or(0),
            [reason, count, cycles, _per] => {
                if let (Ok(count), Ok(cycles)) = (count.parse(), cycles.parse()) {
                    rows.push(StatsRow {
                        reason: reason.to_string(),
                        count,
                        cycles,
                    });
                }
            }
            _ => {}
        }
    }
    (rows, total, guest)
}

/// One sentence on where a nested boot's time went: the share spent handling
/// exits in the hypervisor and the reason that took most of it.
pub fn what_dominates(block: &str) -> Option<String> {
    let (rows, handling, guest) = parse_stats(block);
    let top = rows.iter().max_by_key(|r| r.cycles)?;
    let all = (handling + guest).max(1) as f64;
    Some(format!(
        "{:.0}% of the TSC cycles went to handling exits and {:.0}% to guest execution (with world switches); \
         the costliest exit reason was {} ({} exits, {:.0}% of the handling cycles)",
        handling as f64 * 100.0 / all,
        guest as f64 * 100.0 / all,
        top.reason,
        top.count,
        top.cycles as f64 * 100.0 / handling.max(1) as f64
    ))
}

/// The cases: FreeDOS (when `../shared` is present) and the Linux ISO (built
/// on first use).
pub fn cases(dir: &Path) -> Result<Vec<BootCase>, String> {
    let mut cases = Vec::new();
    let img = crate::shared_dir().join("guests").join("freedos-boot.img");
    if img.exists() {
        cases.push(BootCase {
            name: "freedos",
            iso: freedos_iso(&img, dir)?,
            marker: FREEDOS_MARKER,
        });
    } else {
        eprintln!(
            "xtask: skipping FreeDOS: {} is absent (../shared is not beside the checkout)",
            img.display()
        );
    }
    cases.push(BootCase {
        name: "linux",
        iso: linux_iso::make_linux_iso(false)?,
        marker: LINUX_MARKER,
    });
    Ok(cases)
}

/// Runs the benchmark and prints its table; the results, for a caller that
/// wants to check them. The hypervisor is built into `target_dir` (None: the
/// workspace's target folder) unless `VMM_ELF` names it.
pub fn run_bench(target_dir: Option<&PathBuf>) -> Result<Vec<BootResult>, String> {
    tools::require("qemu-system-x86_64")?;
    let dir = workspace_root().join("target").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cases = cases(&dir)?;
    // Build the hypervisor before any clock starts.
    crate::build::hypervisor_elf(target_dir)?;
    let mut results = Vec::new();
    for case in &cases {
        eprintln!("xtask: booting {} directly in QEMU TCG ...", case.name);
        let direct = boot_direct(&case.iso, case.marker)?;
        eprintln!(
            "xtask: booting {} on the hypervisor nested in QEMU TCG ...",
            case.name
        );
        let (nested, stats) = boot_nested(&case.iso, case.marker, target_dir)?;
        results.push(BootResult {
            name: case.name,
            direct,
            nested,
            stats,
        });
    }
    // The Linux ISO's own kernel and initrd: QEMU's direct kernel boot
    // beside our PVH start (the HVM boot through our BIOS is the `linux`
    // case above).
    results.push(kernel_boots::run(target_dir)?);
    print_results(&results);
    Ok(results)
}

fn print_results(results: &[BootResult]) {
    println!(
        "boot time, emulator start to the guest's prompt marker on COM1 ({MEM_MIB} MiB, QEMU TCG):"
    );
    println!(
        "{:<9} {:>18} {:>18} {:>14}",
        "guest", "direct (SeaBIOS)", "nested (vmm)", "nested/direct"
    );
    let (kernel, iso): (Vec<&BootResult>, Vec<&BootResult>) =
        results.iter().partition(|r| r.name == kernel_boots::NAME);
    for r in &iso {
        println!(
            "{:<9} {:>16.2} s {:>16.2} s {:>13.2}x",
            r.name,
            r.direct.as_secs_f64(),
            r.nested.as_secs_f64(),
            r.ratio()
        );
    }
    let hvm = iso.iter().find(|r| r.name == "linux");
    for r in &kernel {
        kernel_boots::print(r, hvm.copied());
    }
    for r in iso.iter().chain(&kernel) {
        if r.name == kernel_boots::NAME {
            println!("\n{}: exit counts at the prompt (nested):", r.name);
            match &r.stats {
                Some(block) => println!("{block}"),
                None => println!("(no statistics snapshot was logged before the marker)"),
            }
            continue;
        }
        let verdict = if r.ratio() <= TARGET_RATIO {
            "within"
        } else {
            "OVER"
        };
        println!(
            "\n{}: {verdict} the target of {TARGET_RATIO}x; exit counts at the prompt (nested):",
            r.name
        );
        match &r.stats {
            Some(block) => {
                println!("{block}");
                if let Some(why) = what_dominates(block) {
                    println!("{why}");
                }
            }
            None => println!("(no statistics snapshot was logged before the marker)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "domain 1 backend svm at_ms 2500
exit               count           cycles  cycles/exit
ioio               40000         80000000         2000
hlt                  100          1000000        10000
npf                 2000         19000000         9500
total              42100        100000000
in-guest                        300000000";

    #[test]
    fn parses_a_statistics_block() {
        let (rows, total, guest) = parse_stats(BLOCK);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            StatsRow {
                reason: "ioio".into(),
                count: 40000,
                cycles: 80000000
            }
        );
        assert_eq!((total, guest), (100_000_000, 300_000_000));
    }

    #[test]
    fn names_the_costliest_reason_and_the_handling_share() {
        let why = what_dominates(BLOCK).unwrap();
        assert!(
            why.starts_with("25% of the TSC cycles went to handling exits"),
            "{why}"
        );
        assert!(why.contains("ioio (40000 exits, 80%"), "{why}");
        assert_eq!(what_dominates("no table here"), None);
    }

    #[test]
    fn the_marker_line_follows_the_original_autoexec() {
        assert_eq!(
            autoexec_with_marker(b"ECHO OFF\r\ncls"),
            b"ECHO OFF\r\ncls\r\nECHO VMM-BOOTED > COM1\r\n"
        );
        assert_eq!(
            autoexec_with_marker(b"cls\r\n\x1a\x1a"),
            b"cls\r\nECHO VMM-BOOTED > COM1\r\n"
        );
    }

    #[test]
    fn ratio_is_nested_over_direct() {
        let r = BootResult {
            name: "x",
            direct: Duration::from_secs(4),
            nested: Duration::from_secs(6),
            stats: None,
        };
        assert!((r.ratio() - 1.5).abs() < 1e-9);
    }
}
