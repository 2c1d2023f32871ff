//! `cargo xtask bench disk`: what a Linux guest's disk I/O gets through
//! each path, measured side by side in one run on one scratch image.
//!
//! Every path boots the same Linux ISO (`target/guests/linux.iso`, whose
//! initramfs carries our `/bin/diskbench`, `guest-tools/diskbench`) with
//! the same RAM and runs the same workloads on the disk from its shell:
//! sequential read and write in 1 MiB `O_DIRECT` requests, and 4 KiB
//! `O_DIRECT` random reads at queue depth 1 and 32 (threads each keeping a
//! `pread` in flight). The paths ([`PATHS`], a list so more can join):
//!
//! - `ide-pio`: the hypervisor nested in QEMU TCG (`--xen off`), the disk
//!   on its emulated IDE backed by the host virtio-blk device, libata
//!   reloaded with `dma=0` after boot (checked: the disk's `xfer_mode` in
//!   sysfs must say PIO);
//! - `ide-dma`: the same with bus-master DMA (libata's default);
//! - `ide-dma-mem`: the same with the disk a boot module in the
//!   hypervisor's memory, the old path (its writes are discarded);
//! - `pv`: the hypervisor with the Xen platform on (`bench io` only unless
//!   named): the stock kernel's xen-blkfront sees the disk as `/dev/xvda`
//!   (waited for: blkfront probes asynchronously) through the hypervisor's
//!   blkback on the same host virtio-blk device;
//! - `qemu-virtio`, `qemu-ide`: the same kernel booted by plain QEMU TCG
//!   (SeaBIOS), the image as QEMU's own virtio-blk or IDE disk with the
//!   same host cache options.
//!
//! Exits per MiB (hypervisor paths): the hypervisor logs an exit-statistics
//! snapshot every 100 ms; each workload runs inside a shell function that
//! sleeps 0.3 s before and after it and then prints a marker, and the
//! runner notes how long the log was when each marker matched, so the
//! snapshots at two markers bracket one workload. The same function run
//! around `true` (the calibration window: typing, sleeping, the marker)
//! gives the exits that are not the workload's, taken off. With the Xen
//! platform on, the snapshots' hypercall, event-channel and vbd counters
//! are taken the same way (`xen_counts.rs`).
//!
//! `bench disk` reports issue 13's table (`results::table`, `disk.json`);
//! `bench io` runs every path and reports issue 14's (`crate::bench_io`,
//! `io.json`, `io.svg`), both through [`run_bench`].

mod direct;
pub mod repeat;
pub mod results;
mod xen_counts;

pub use direct::QemuDisk;
pub use results::{Record, WORKLOADS};

use crate::packages::Need;
use crate::provision::{provision, Toolchain};
use crate::qemu::Accel;
use crate::runner::{self, Outcome, RunOptions, BIOS_GUEST};
use crate::{linux_iso, tools, workspace_root};
use regex::Regex;
use results::{console_errors, last_complete_counts, parse_console, record, Counts};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a path's guest runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// On the hypervisor nested in QEMU TCG.
    Hypervisor { xen: bool, disk_in_memory: bool },
    /// On plain QEMU TCG.
    Qemu(QemuDisk),
}

/// One way from the guest to the image.
#[derive(Clone, Copy, Debug)]
pub struct DiskPath {
    pub name: &'static str,
    pub host: Host,
    /// The guest's block device of the image.
    pub device: &'static str,
    /// Shell commands typed after boot, before the workloads.
    pub setup: &'static str,
    /// What libata's transfer mode of the disk must contain (IDE paths).
    pub ata_mode: Option<&'static str>,
    /// Sequential workloads move `Sizes::slow_seq_mib` (PIO).
    pub slow: bool,
}

/// libata reloaded with DMA off: the CD is unmounted so `sr_mod` can go.
const PIO_SETUP: &str = "umount /mnt; rmmod sd_mod sr_mod ata_piix libata; \
                         modprobe libata dma=0 && modprobe ata_piix && modprobe sd_mod";

const fn hv(name: &'static str, disk_in_memory: bool, setup: &'static str) -> DiskPath {
    DiskPath {
        name,
        host: Host::Hypervisor {
            xen: false,
            disk_in_memory,
        },
        device: "/dev/sda",
        setup,
        ata_mode: Some(if setup.is_empty() { "DMA" } else { "PIO" }),
        slow: !setup.is_empty(),
    }
}

/// Every path, in the order they run and are shown.
pub const PATHS: [DiskPath; 6] = [
    hv("ide-pio", false, PIO_SETUP),
    hv("ide-dma", false, ""),
    hv("ide-dma-mem", true, ""),
    DiskPath {
        name: "pv",
        host: Host::Hypervisor {
            xen: true,
            disk_in_memory: false,
        },
        device: "/dev/xvda",
        setup: "",
        ata_mode: None,
        slow: false,
    },
    DiskPath {
        name: "qemu-virtio",
        host: Host::Qemu(QemuDisk::Virtio),
        device: "/dev/vda",
        setup: "",
        ata_mode: None,
        slow: false,
    },
    DiskPath {
        name: "qemu-ide",
        host: Host::Qemu(QemuDisk::Ide),
        device: "/dev/sda",
        setup: "",
        ata_mode: Some("DMA"),
        slow: false,
    },
];

/// How much each workload moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizes {
    pub image_mib: u64,
    pub seq_mib: u64,
    /// Sequential MiB on the slow (PIO) path.
    pub slow_seq_mib: u64,
    /// Seconds of each random-read workload.
    pub rand_secs: f64,
}

impl Sizes {
    /// `cargo xtask bench disk`.
    pub const FULL: Sizes = Sizes {
        image_mib: 256,
        seq_mib: 64,
        slow_seq_mib: 4,
        rand_secs: 3.0,
    };
    /// `--quick`, and the smoke test.
    pub const QUICK: Sizes = Sizes {
        image_mib: 32,
        seq_mib: 4,
        slow_seq_mib: 1,
        rand_secs: 0.5,
    };
}

/// Which benchmark a run is, for its default paths and its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// `bench disk`: issue 13's emulated paths (every path but `pv` unless
    /// asked for) and their table.
    Disk,
    /// `bench io`: every path, issue 14's table with its ratios and
    /// targets, and the plot (`crate::bench_io`).
    Io,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub report: Report,
    pub sizes: Sizes,
    /// Path names; empty: the report's default (see [`Report`]).
    pub paths: Vec<String>,
    /// The scratch image is `target/bench/<name>.img` (removed at the end),
    /// the results `target/bench/<name>.json`.
    pub name: String,
    /// Where the hypervisor is built (None: the workspace's target folder).
    pub target_dir: Option<PathBuf>,
    /// Rounds over every path; each path and workload keeps its median
    /// run ([`repeat`]). 0 counts as 1.
    pub repeat: u32,
}

/// The paths `names` asks for, in [`PATHS`] order (none: `report`'s
/// default); an unknown name is one line.
pub fn select_paths(names: &[String], report: Report) -> Result<Vec<DiskPath>, String> {
    let known: Vec<&str> = PATHS.iter().map(|p| p.name).collect();
    if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(format!(
            "--paths: no path `{bad}` (there are: {})",
            known.join(", ")
        ));
    }
    Ok(PATHS
        .iter()
        .filter(|p| {
            if names.is_empty() {
                report == Report::Io || p.name != "pv"
            } else {
                names.iter().any(|n| n == p.name)
            }
        })
        .copied()
        .collect())
}

/// The line the set-up step ends with: libata's transfer mode of the disk
/// (`XFER_MW_DMA_2`, `XFER_PIO_4`; `none` without libata) and whether the
/// device is there.
const MODE_LINE: &str = r"mode=([A-Za-z0-9_/]+) dev=(ok|missing)";
/// What the workload functions print when done, and how it is typed.
const MARKER: &str = "dbm=42";
const DEFINE: &str = "w() { sleep 0.3; \"$@\"; sleep 0.3; echo \"dbm=$((6*7))\"; }";
/// The expectation index of the calibration window's end; workload `i`'s
/// window ends at `FIRST_WINDOW + 1 + i`.
const FIRST_WINDOW: usize = 2;

/// The session typed at a path's shell: what must be seen, in order, and
/// what is typed after how many matched.
pub fn script(path: &DiskPath, sizes: &Sizes) -> (Vec<Regex>, Vec<(usize, String)>) {
    let literal = |s: &str| Regex::new(&regex::escape(s)).expect("an escaped literal");
    let dev = path.device;
    let setup = if path.setup.is_empty() {
        String::new()
    } else {
        format!("{}; ", path.setup)
    };
    let prepare = format!(
        "{DEFINE}; {setup}i=0; while [ ! -b {dev} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; \
         echo \"mode=$(cat /sys/class/ata_device/dev1.0/xfer_mode 2>/dev/null || echo none) \
         dev=$([ -b {dev} ] && echo ok || echo missing)\"\r"
    );
    let mib = if path.slow {
        sizes.slow_seq_mib
    } else {
        sizes.seq_mib
    };
    let mut expect = vec![
        literal(linux_iso::SHELL_READY),
        Regex::new(MODE_LINE).expect("a valid regex"),
    ];
    let mut send = vec![(1, prepare)];
    let args = |w: &str| match w {
        "seq-read" | "seq-write" => format!("{dev} {w} --mib {mib}"),
        _ => format!("{dev} {w} --secs {}", sizes.rand_secs),
    };
    // The calibration window: the same typing, sleeps and marker around `true`.
    let runs = std::iter::once(format!("w true {}", args(WORKLOADS[0])))
        .chain(WORKLOADS.iter().map(|w| format!("w diskbench {}", args(w))));
    for command in runs {
        send.push((expect.len(), format!("{command}\r")));
        expect.push(literal(MARKER));
    }
    (expect, send)
}

/// How long a path's session may take.
fn timeout(path: &DiskPath, sizes: &Sizes) -> Duration {
    let per_mib = if path.slow { 10 } else { 2 };
    let seq = 2
        * per_mib
        * if path.slow {
            sizes.slow_seq_mib
        } else {
            sizes.seq_mib
        };
    Duration::from_secs(300 + seq + 5 * (sizes.rand_secs as u64 + 3))
}

/// Writes `mib` MiB of non-zero pseudo-random data to `path`.
pub fn make_image(path: &Path, mib: u64) -> Result<(), String> {
    let mut file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    // xorshift64 (Marsaglia 2003), fixed seed: the same image every run.
    let mut state: u64 = 0x6469_736b_6265_6e63;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&(state | 1).to_le_bytes());
        }
        file.write_all(&chunk)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A path's console, and for hypervisor paths the exit counts at each
/// expectation match.
struct Session {
    console: String,
    counts: Option<Vec<Option<Counts>>>,
}

fn run_session(
    path: &DiskPath,
    sizes: &Sizes,
    iso: &Path,
    image: &Path,
    target_dir: Option<&PathBuf>,
) -> Result<Session, String> {
    let (expect, send) = script(path, sizes);
    let n = expect.len();
    match path.host {
        Host::Qemu(disk) => {
            let console = direct::session(iso, disk, image, expect, &send, timeout(path, sizes))?;
            Ok(Session {
                console,
                counts: None,
            })
        }
        Host::Hypervisor {
            xen,
            disk_in_memory,
        } => {
            let opts = RunOptions {
                guest: BIOS_GUEST.into(),
                iso: Some(iso.to_path_buf()),
                disk: Some(image.to_path_buf()),
                disk_in_memory,
                xen,
                mem_mib: crate::bench_boot::MEM_MIB,
                accel: Accel::Tcg,
                timeout: timeout(path, sizes),
                expect,
                send: send
                    .into_iter()
                    .map(|(after, text)| (after, text.into_bytes()))
                    .collect(),
                stats_every_ms: Some(100),
                log_level: "info".into(),
                target_dir: target_dir.cloned(),
                ..RunOptions::default()
            };
            let report = runner::run(&opts)?;
            if report.outcome != Outcome::ExpectationsMet {
                return Err(format!(
                    "{:?}; last console lines:\n{}",
                    report.outcome,
                    report.console_tail(15)
                ));
            }
            let counts = (0..n)
                .map(|i| report.hv_log_at(i).and_then(last_complete_counts))
                .collect();
            Ok(Session {
                console: report.console,
                counts: Some(counts),
            })
        }
    }
}

/// Runs one path and makes its records.
fn measure(
    path: &DiskPath,
    sizes: &Sizes,
    iso: &Path,
    image: &Path,
    target_dir: Option<&PathBuf>,
) -> Result<Vec<Record>, String> {
    let session = run_session(path, sizes, iso, image, target_dir)?;
    let mode_re = Regex::new(MODE_LINE).expect("a valid regex");
    let caps = mode_re
        .captures(&session.console)
        .ok_or("the shell never printed the disk's mode")?;
    if &caps[2] != "ok" {
        return Err(format!("{} never appeared in the guest", path.device));
    }
    let mode = caps[1].to_string();
    if let Some(want) = path.ata_mode {
        if !mode.contains(want) {
            return Err(format!(
                "libata runs the disk in {mode}, not {want} (/sys/class/ata_device/dev1.0/xfer_mode)"
            ));
        }
    }
    let lines = parse_console(&session.console);
    let window = |end: usize| -> Option<Counts> {
        let counts = session.counts.as_ref()?;
        let (a, b) = (counts.get(end - 1)?.as_ref()?, counts.get(end)?.as_ref()?);
        Some(b.since(a))
    };
    let idle = window(FIRST_WINDOW);
    let mut records = Vec::new();
    for (i, w) in WORKLOADS.iter().enumerate() {
        let line = lines.iter().find(|l| l.workload == *w).ok_or_else(|| {
            let errors = console_errors(&session.console);
            format!(
                "no diskbench line for {w}{}",
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {}", errors.join("; "))
                }
            )
        })?;
        let win = window(FIRST_WINDOW + 1 + i);
        if session.counts.is_some() && win.is_none() {
            return Err(format!(
                "no exit-statistics snapshots around {w} in the hypervisor log"
            ));
        }
        let xfer = path.ata_mode.map(|_| mode.as_str());
        records.push(record(path.name, line, win.as_ref(), idle.as_ref(), xfer));
    }
    Ok(records)
}

/// `cargo xtask bench disk|io [--quick] [--paths a,b] [--repeat N]`: a bad path name
/// is refused before anything is provisioned or built.
pub fn command(report: Report, quick: bool, paths: Vec<String>, repeat: u32) -> Result<(), String> {
    select_paths(&paths, report)?;
    provision(Toolchain::Target, &[Need::Qemu, Need::GuestMedia])?;
    let opts = BenchOptions {
        report,
        sizes: if quick { Sizes::QUICK } else { Sizes::FULL },
        paths,
        name: match report {
            Report::Disk => "disk",
            Report::Io => "io",
        }
        .into(),
        target_dir: None,
        repeat,
    };
    run_bench(&opts).map(|_| ())
}

/// Runs the benchmark, prints its table, writes `target/bench/<name>.json`
/// (and for `bench io` the plot `<name>.svg`) and returns the records; a
/// path that failed is named in the error (after the others ran and were
/// shown).
pub fn run_bench(opts: &BenchOptions) -> Result<Vec<Record>, String> {
    let paths = select_paths(&opts.paths, opts.report)?;
    let what = match opts.report {
        Report::Disk => "bench disk",
        Report::Io => "bench io",
    };
    tools::require("qemu-system-x86_64")?;
    let dir = workspace_root().join("target").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let iso = linux_iso::make_linux_iso(false)?;
    // Build the hypervisor before any clock starts.
    crate::build::hypervisor_elf(opts.target_dir.as_ref())?;
    let image = dir.join(format!("{}.img", opts.name));
    make_image(&image, opts.sizes.image_mib)?;
    let started = Instant::now();
    let rounds = opts.repeat.max(1);
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for round in 1..=rounds {
        let of = if rounds > 1 {
            format!(" (round {round} of {rounds})")
        } else {
            String::new()
        };
        for path in &paths {
            eprintln!("xtask: {what}: {}{of} ...", path.name);
            let t = Instant::now();
            match measure(path, &opts.sizes, &iso, &image, opts.target_dir.as_ref()) {
                Ok(r) => {
                    eprintln!(
                        "xtask: {what}: {} done in {:.0} s",
                        path.name,
                        t.elapsed().as_secs_f64()
                    );
                    runs.extend(r);
                }
                Err(e) => {
                    eprintln!("xtask: {what}: {}{of} failed: {e}", path.name);
                    failures.push(format!("{}: {}", path.name, e.lines().next().unwrap_or("")));
                }
            }
        }
    }
    let medians = repeat::medians(&runs);
    let records: Vec<Record> = medians.iter().map(|(r, _, _)| r.clone()).collect();
    // bench io with the pv path: our own PV guest on the same image.
    let demo = (opts.report == Report::Io && paths.iter().any(|p| p.name == "pv"))
        .then(|| crate::bench_io::no_linux::measure(&image, opts.target_dir.as_ref()));
    let _ = std::fs::remove_file(&image);
    let s = &opts.sizes;
    println!(
        "disk I/O of one Linux guest (256 MiB RAM, QEMU TCG), image {} MiB; sequential {} MiB \
         (ide-pio {} MiB) in 1 MiB O_DIRECT requests, random 4 KiB O_DIRECT reads for {} s; {}{:.0} s in all",
        s.image_mib,
        s.seq_mib,
        s.slow_seq_mib,
        s.rand_secs,
        if rounds > 1 {
            format!("each path's median of {rounds} runs; ")
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    let json = dir.join(format!("{}.json", opts.name));
    std::fs::write(&json, results::to_json(&records))
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    match opts.report {
        Report::Disk => print!("{}", results::table(&records)),
        Report::Io => {
            print!("{}", crate::bench_io::table(&records));
            match &demo {
                Some(Ok(d)) => {
                    let linux = results::find(&records, "pv", "seq-read").map(|r| r.mib_per_s);
                    print!("{}", crate::bench_io::no_linux::line(d, linux));
                }
                Some(Err(e)) => failures.push(format!("pv-demo: {e}")),
                None => {}
            }
            let svg = dir.join(format!("{}.svg", opts.name));
            crate::bench_io::plot::write_svg(&records, &svg)?;
            println!("plot: {}", svg.display());
        }
    }
    if rounds > 1 {
        print!("{}", repeat::spread_table(&medians, rounds));
    }
    println!("records: {}", json.display());
    if failures.is_empty() {
        Ok(records)
    } else {
        Err(format!("{what}: {}", failures.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_selected_by_name_and_unknown_ones_refused_in_one_line() {
        assert_eq!(select_paths(&[], Report::Io).unwrap().len(), PATHS.len());
        let disk = select_paths(&[], Report::Disk).unwrap();
        assert_eq!(disk.len(), PATHS.len() - 1);
        assert!(disk.iter().all(|p| p.name != "pv"));
        let two = select_paths(&["qemu-ide".into(), "pv".into()], Report::Disk).unwrap();
        let names: Vec<&str> = two.iter().map(|p| p.name).collect();
        assert_eq!(names, ["pv", "qemu-ide"]);
        let e = select_paths(&["xvda".into()], Report::Io).unwrap_err();
        assert!(
            e.starts_with("--paths: no path `xvda`") && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn the_script_types_each_workload_after_the_previous_marker() {
        let (expect, send) = script(&PATHS[0], &Sizes::FULL);
        assert_eq!(expect.len(), FIRST_WINDOW + 1 + WORKLOADS.len());
        assert_eq!(send.len(), expect.len() - 1);
        assert!(send[0].1.contains("dma=0") && send[0].1.contains("[ ! -b /dev/sda ]"));
        assert_eq!(send[1], (2, "w true /dev/sda seq-read --mib 4\r".into()));
        assert_eq!(
            send[2],
            (3, "w diskbench /dev/sda seq-read --mib 4\r".into())
        );
        assert_eq!(
            send[5],
            (6, "w diskbench /dev/sda rand-read-qd32 --secs 3\r".into())
        );
        // What is typed (and echoed) never matches what is expected after it.
        for (after, text) in &send {
            for e in &expect[*after..] {
                assert!(!e.is_match(text), "{e} matches the typed {text}");
            }
        }
        let (_, send) = script(&PATHS[4], &Sizes::QUICK);
        assert!(send[0].1.contains("/dev/vda") && !send[0].1.contains("rmmod"));
        assert_eq!(send[2].1, "w diskbench /dev/vda seq-read --mib 4\r");
    }

    #[test]
    fn only_pv_runs_with_xen_and_only_mem_keeps_the_disk_in_memory() {
        for p in PATHS {
            match p.host {
                Host::Hypervisor {
                    xen,
                    disk_in_memory,
                } => {
                    assert_eq!(xen, p.name == "pv", "{}", p.name);
                    assert_eq!(p.device == "/dev/xvda", xen, "{}", p.name);
                    assert_eq!(disk_in_memory, p.name == "ide-dma-mem");
                }
                Host::Qemu(_) => assert!(p.name.starts_with("qemu-")),
            }
        }
    }

    #[test]
    fn the_image_is_non_zero_and_the_same_every_time() {
        let dir = workspace_root().join("target").join("tmp");
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join(format!("bench-disk-{}-a.img", std::process::id()));
        make_image(&a, 2).unwrap();
        let data = std::fs::read(&a).unwrap();
        assert_eq!(data.len(), 2 << 20);
        assert!(data.chunks(8).all(|w| w.iter().any(|b| *b != 0)));
        make_image(&a, 1).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), data[..1 << 20]);
        let _ = std::fs::remove_file(&a);
    }
}
