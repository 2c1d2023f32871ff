//! The disk durability soak (issue 13): what a guest flushed is in the
//! image file even when QEMU dies at any moment.
//!
//! One *kill run*: a fresh zeroed image in `target/soak-disks/`, the
//! `disk-stream` guest (`guests::disk_stream`) streaming numbered sectors
//! to it through the hypervisor's IDE disk (a host virtio-blk device under
//! QEMU), by PIO on even runs and by bus-master DMA (`disk-stream-dma`,
//! which the hypervisor completes asynchronously) on odd ones, and, a random delay after the guest's first `flushed` line,
//! QEMU killed with SIGKILL (`RunOptions::kill_after`). Then the file is
//! checked: every sector below the last `flushed` count the runner saw
//! holds its pattern, and every other sector holds either zeros or its
//! exact pattern (a torn, misplaced or garbage sector fails).
//!
//! Only counts the runner saw are claims: the guest prints a count after
//! its FLUSH CACHE completed, so a count on the console is durable; a line
//! the guest was printing at the kill may or may not have reached the
//! runner, and a count not seen claims nothing.
//!
//! A SIGKILL of QEMU loses what QEMU had not handed to the host kernel
//! yet, not the host's page cache, so this checks the hypervisor's side
//! (a flush completes only after the writes before it reached the host
//! device, and every sector written is whole and in its place), not the
//! host disk's own power-loss behaviour. Bochs has no virtio: its images
//! are boot modules and writes are discarded, so this runs on QEMU only.
//!
//! `cargo xtask soak disks` runs [`DEFAULT_RUNS`] kill runs; the
//! integration test `tests/tests/disk_durability.rs` runs fewer, and one
//! run to the end of the disk.

use crate::guests::disk_stream::{
    pattern_owner, sector_pattern, Transfer, DONE_LINE, ERROR_PREFIX, FLUSHED_PREFIX, SECTOR_BYTES,
};
use crate::runner::{run, Emulator, Outcome, RunOptions, RunReport};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use test_rng::XorShift;

/// Size of a kill run's image: 16384 sectors, which the guest takes about
/// 12 s to stream nested in QEMU TCG (about 1300 sectors a second on a
/// 2-core machine, 2026-12-06), so the kill comes long before the end even
/// on a much faster host.
pub const IMAGE_BYTES: u64 = 8 << 20;
/// Kill runs of `cargo xtask soak disks` without `--runs`.
pub const DEFAULT_RUNS: usize = 100;
/// Kill delays are drawn uniformly below this, counted from the first
/// `flushed` line the runner saw.
pub const MAX_KILL_DELAY: Duration = Duration::from_millis(2_000);
/// How long a run may take to reach its first flush (or, run to the end,
/// `stream done`).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// Sectors per image of `bytes`.
fn sectors_of(bytes: u64) -> u64 {
    bytes / SECTOR_BYTES as u64
}

/// What a run left in its image and on its console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    /// The last `flushed` count the runner saw: sectors 0.. this are durable.
    pub durable: u64,
    /// How many `flushed` lines the runner saw.
    pub flushes_seen: usize,
    /// Sectors holding their pattern (the rest are zeros).
    pub written: u64,
    /// The runner killed QEMU (rather than the guest ending first).
    pub killed: bool,
    /// The guest printed `stream done`.
    pub done: bool,
    /// From starting the run to the end of the check.
    pub elapsed: Duration,
}

/// A sector that breaks the durability promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectorFault {
    pub sector: u64,
    /// The sector is below the last `flushed` count seen.
    pub below_flushed: bool,
    /// What the sector holds, in words.
    pub found: String,
}

impl std::fmt::Display for SectorFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = if self.below_flushed {
            "below the last flushed count, so it must hold its pattern"
        } else {
            "above the last flushed count, so it must hold zeros or its exact pattern"
        };
        write!(f, "sector {} ({rule}) holds {}", self.sector, self.found)
    }
}

/// The `flushed` counts on a console, in order (8 hex digits each: a
/// count shorter than that was cut off and is not counted).
pub fn flushed_counts(console: &str) -> Vec<u64> {
    let re = Regex::new(&format!("{}([0-9a-f]{{8}})", regex::escape(FLUSHED_PREFIX)))
        .expect("a valid regex");
    re.captures_iter(console)
        .filter_map(|c| u64::from_str_radix(&c[1], 16).ok())
        .collect()
}

/// Checks an image against the claim that sectors `0..durable` are
/// durable; returns how many sectors hold their pattern.
pub fn check_image(image: &[u8], durable: u64) -> Result<u64, SectorFault> {
    let mut written = 0;
    for (sector, data) in (0u64..).zip(image.chunks(SECTOR_BYTES)) {
        let pattern = sector_pattern(sector);
        if data == pattern {
            written += 1;
            continue;
        }
        let below_flushed = sector < durable;
        if below_flushed || data.iter().any(|b| *b != 0) {
            return Err(SectorFault {
                sector,
                below_flushed,
                found: describe(data, &pattern),
            });
        }
    }
    Ok(written)
}

/// What a sector that is not its pattern holds.
fn describe(data: &[u8], pattern: &[u8]) -> String {
    if data.len() < SECTOR_BYTES {
        return format!("only {} bytes (the image is cut short)", data.len());
    }
    if data.iter().all(|b| *b == 0) {
        return "all zeros".into();
    }
    if let Some(other) = pattern_owner(data) {
        return format!("the pattern of sector {other}");
    }
    let first = data
        .iter()
        .zip(pattern)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    if data[first..].iter().all(|b| *b == 0) {
        return format!("a torn write: its pattern up to byte {first}, zeros after");
    }
    let same = data.iter().zip(pattern).filter(|(a, b)| a == b).count();
    let zeros = data.iter().filter(|b| **b == 0).count();
    let head: Vec<String> = data[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "neither zeros nor its pattern: {same} of {SECTOR_BYTES} bytes match its pattern, \
         {zeros} are zero, the first difference at byte {}; it begins {}",
        first,
        head.join(" ")
    )
}

/// A fresh zeroed image of `bytes` in `target/soak-disks/`, named `name`.
pub fn fresh_image(name: &str, bytes: u64) -> Result<PathBuf, String> {
    let dir = crate::workspace_root().join("target").join("soak-disks");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.img"));
    let _ = std::fs::remove_file(&path);
    let file = std::fs::File::create(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.set_len(bytes)
        .map_err(|e| format!("cannot size {}: {e}", path.display()))?;
    Ok(path)
}

/// `base` running `disk-stream` (by `transfer`) on QEMU with `image` as
/// its disk, until the first `flushed` line and then `kill_after` that
/// (or, with None, until `stream done`).
pub fn stream_options(
    base: &RunOptions,
    transfer: Transfer,
    image: &Path,
    kill_after: Option<Duration>,
) -> RunOptions {
    let first = match kill_after {
        Some(_) => Regex::new(&regex::escape(FLUSHED_PREFIX)),
        None => Regex::new(&regex::escape(DONE_LINE)),
    };
    RunOptions {
        guest: transfer.guest().into(),
        emulator: Emulator::Qemu,
        disk: Some(image.to_path_buf()),
        snapshot: false,
        expect: vec![first.expect("a valid regex")],
        timeout: RUN_TIMEOUT,
        kill_after,
        ..base.clone()
    }
}

/// Runs `disk-stream` (by `transfer`) on a fresh image named `name` of `bytes`; with
/// `kill_after`, SIGKILLs QEMU that long after the first flush, else lets
/// the guest stream to the end. Checks the image; the error is one line
/// (the offending sector, or how the run went wrong) and the image is kept
/// for a look, otherwise it is removed.
pub fn stream_run(
    base: &RunOptions,
    transfer: Transfer,
    name: &str,
    bytes: u64,
    kill_after: Option<Duration>,
) -> Result<RunSummary, String> {
    let started = Instant::now();
    let image = fresh_image(name, bytes)?;
    let report = run(&stream_options(base, transfer, &image, kill_after)).inspect_err(|_| {
        // The run never started: the image holds nothing worth a look.
        let _ = std::fs::remove_file(&image);
    })?;
    let summary = judge(&report, &image, bytes, kill_after.is_none(), started)
        .map_err(|e| format!("{e} (image kept: {})", image.display()))?;
    let _ = std::fs::remove_file(&image);
    Ok(summary)
}

/// The run's console and its image against each other.
fn judge(
    report: &RunReport,
    image: &Path,
    bytes: u64,
    to_the_end: bool,
    started: Instant,
) -> Result<RunSummary, String> {
    let console = &report.console;
    if let Some(at) = console.find(ERROR_PREFIX) {
        let line = console[at..].lines().next().unwrap_or_default();
        return Err(format!("the guest reported `{}`", line.trim_end()));
    }
    if report.outcome != Outcome::ExpectationsMet {
        let tail = report.console_tail(5);
        return Err(format!(
            "the run ended {:?} before the guest's {} (console tail: {:?})",
            report.outcome,
            if to_the_end { DONE_LINE } else { "first flush" },
            tail
        ));
    }
    let counts = flushed_counts(console);
    if let Some(w) = counts.windows(2).find(|w| w[1] <= w[0]) {
        return Err(format!(
            "the flushed counts went from {:#x} to {:#x}",
            w[0], w[1]
        ));
    }
    let durable = counts.last().copied().unwrap_or(0);
    let data = std::fs::read(image).map_err(|e| format!("cannot read {}: {e}", image.display()))?;
    if data.len() as u64 != bytes {
        return Err(format!(
            "the image is {} bytes, not the {bytes} it was made with",
            data.len()
        ));
    }
    let done = console.contains(DONE_LINE);
    if durable > sectors_of(bytes) || (done && durable != sectors_of(bytes)) {
        return Err(format!(
            "the guest's last flushed count is {durable:#x}, the image has {:#x} sectors",
            sectors_of(bytes)
        ));
    }
    let written = check_image(&data, durable).map_err(|f| f.to_string())?;
    Ok(RunSummary {
        durable,
        flushes_seen: counts.len(),
        written,
        killed: report.killed_after.is_some(),
        done,
        elapsed: started.elapsed(),
    })
}

/// The kill delays of `runs` runs from `seed` (uniform below
/// [`MAX_KILL_DELAY`], in whole milliseconds).
pub fn kill_delays(seed: u64, runs: usize) -> Vec<Duration> {
    let mut rng = XorShift::new(seed.max(1));
    let max_ms = MAX_KILL_DELAY.as_millis() as u64;
    (0..runs)
        .map(|_| Duration::from_millis(rng.below(max_ms)))
        .collect()
}

/// The transfer of kill run `run`: PIO on even runs, DMA on odd ones.
pub fn transfer_of_run(run: usize) -> Transfer {
    if run.is_multiple_of(2) {
        Transfer::Pio
    } else {
        Transfer::Dma
    }
}

/// One run's line: what the kill left and what was checked.
pub fn describe_run(run: usize, delay: Duration, s: &RunSummary) -> String {
    format!(
        "run {run} ({}): {} {} ms after the first flush: flushed {:#06x} seen ({} flushes), \
         {} sectors written, checked in {:.1} s",
        transfer_of_run(run).guest(),
        if s.killed {
            "killed"
        } else if s.done {
            "finished before its kill"
        } else {
            "stopped by itself"
        },
        delay.as_millis(),
        s.durable,
        s.flushes_seen,
        s.written,
        s.elapsed.as_secs_f64()
    )
}

/// What a soak found.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: usize,
    /// One line per failed run, naming the seed and the run.
    pub failures: Vec<String>,
}

/// `runs` kill runs with delays from `seed`, each reported through `line`
/// as it ends (a failure names the seed, the run and what was wrong).
pub fn soak(base: &RunOptions, seed: u64, runs: usize, mut line: impl FnMut(&str)) -> Tally {
    let mut tally = Tally::default();
    let pid = std::process::id();
    for (i, delay) in kill_delays(seed, runs).into_iter().enumerate() {
        let transfer = transfer_of_run(i);
        let name = format!("kill-{pid}-{i}");
        match stream_run(base, transfer, &name, IMAGE_BYTES, Some(delay)) {
            Ok(s) => {
                tally.passed += 1;
                line(&describe_run(i, delay, &s));
            }
            Err(e) => {
                let failure = format!(
                    "seed {seed:#x}, run {i} ({}, kill {} ms after the first flush): {e}",
                    transfer.guest(),
                    delay.as_millis()
                );
                line(&format!("run {i}: FAILED: {failure}"));
                tally.failures.push(failure);
            }
        }
    }
    tally
}

/// The seed of a soak: `--seed` (0x... or decimal), else `VMM_TEST_SEED`,
/// else a fresh one from the clock.
pub fn soak_seed(given: Option<&str>) -> Result<u64, String> {
    if let Some(text) = given {
        return test_rng::parse_seed(text)
            .ok_or_else(|| format!("--seed {text}: give a non-zero number, 0x... or decimal"));
    }
    if let Some(seed) = std::env::var(test_rng::SEED_VARIABLE)
        .ok()
        .and_then(|v| test_rng::parse_seed(&v))
    {
        return Ok(seed);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    // Spread the clock's low bits over the seed (one xorshift64 step of a
    // non-zero value never gives zero).
    Ok(XorShift::new(nanos | 1).next())
}

/// `cargo xtask soak`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    #[arg(value_enum)]
    pub what: SoakKind,
    /// Kill runs, each on a fresh image.
    #[arg(long, default_value_t = DEFAULT_RUNS)]
    pub runs: usize,
    /// Replay an earlier soak's kill delays from the seed it printed
    /// (0x... or decimal) [default: VMM_TEST_SEED, else a new one].
    #[arg(long)]
    pub seed: Option<String>,
}

/// The soak tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SoakKind {
    /// Guest disk durability: what the guest flushed survives QEMU being killed.
    Disks,
}

/// `cargo xtask soak ...`; returns the exit code: 0 every run passed, 1 a
/// run failed, 3 bad arguments or a set-up failure (one line).
pub fn soak_command(args: &SoakArgs) -> i32 {
    let result = match args.what {
        SoakKind::Disks => command(args.runs, args.seed.as_deref(), || {
            crate::provision::provision(
                crate::provision::Toolchain::Target,
                &[crate::packages::Need::Qemu],
            )
        }),
    };
    match result {
        Ok(tally) if tally.failures.is_empty() => 0,
        Ok(_) => 1,
        Err(e) => {
            eprintln!("xtask: {e}");
            3
        }
    }
}

/// `cargo xtask soak disks`: checks the arguments, calls `prepare` (the
/// provisioning), then `runs` kill runs on QEMU with a hypervisor built
/// once, one line per run and a tally; the tally's failures decide the
/// exit code.
pub fn command(
    runs: usize,
    seed: Option<&str>,
    prepare: impl FnOnce() -> Result<(), String>,
) -> Result<Tally, String> {
    if runs == 0 {
        return Err("--runs 0: give at least one run".into());
    }
    let seed = soak_seed(seed)?;
    prepare()?;
    // One build for every run (each run would otherwise ask cargo again).
    if std::env::var_os(crate::build::HV_ELF_ENV).is_none() {
        let elf = crate::build::build_hypervisor(true, None)?;
        std::env::set_var(crate::build::HV_ELF_ENV, elf);
    }
    println!(
        "soak disks: {runs} kill runs, seed {seed:#x} (replay the kill delays: \
         cargo xtask soak disks --runs {runs} --seed {seed:#x})"
    );
    let started = Instant::now();
    let tally = soak(&RunOptions::default(), seed, runs, |line| {
        println!("{line}")
    });
    println!(
        "soak disks: {} of {runs} runs passed, {} failed, in {:.0} s (seed {seed:#x})",
        tally.passed,
        tally.failures.len(),
        started.elapsed().as_secs_f64()
    );
    for f in &tally.failures {
        println!("  FAILED: {f}");
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(sectors: u64, written: u64) -> Vec<u8> {
        let mut v = vec![0u8; (sectors as usize) * SECTOR_BYTES];
        for s in 0..written {
            let at = s as usize * SECTOR_BYTES;
            v[at..at + SECTOR_BYTES].copy_from_slice(&sector_pattern(s));
        }
        v
    }

    #[test]
    fn flushed_counts_are_read_in_order_and_cut_lines_are_not() {
        let console =
            "stream sectors 00002000\r\nflushed 00000020\r\nflushed 00000040\r\nflushed 0000";
        assert_eq!(flushed_counts(console), vec![0x20, 0x40]);
        assert!(flushed_counts("").is_empty());
    }

    #[test]
    fn written_sectors_beyond_the_flushed_count_and_zeros_pass() {
        assert_eq!(check_image(&image(64, 40), 32), Ok(40));
        assert_eq!(check_image(&image(64, 0), 0), Ok(0));
        // Written but not in order (a later sector reached the file first).
        let mut v = image(64, 32);
        let at = 50 * SECTOR_BYTES;
        v[at..at + SECTOR_BYTES].copy_from_slice(&sector_pattern(50));
        assert_eq!(check_image(&v, 32), Ok(33));
    }

    #[test]
    fn a_flushed_sector_missing_fails_naming_it() {
        let e = check_image(&image(64, 31), 32).unwrap_err();
        assert_eq!((e.sector, e.below_flushed), (31, true));
        assert!(
            e.to_string().contains("sector 31") && e.found == "all zeros",
            "{e}"
        );
    }

    #[test]
    fn torn_misplaced_and_garbage_sectors_fail_wherever_they_are() {
        let mut torn = image(64, 40);
        torn[39 * SECTOR_BYTES + 256..40 * SECTOR_BYTES].fill(0);
        let e = check_image(&torn, 32).unwrap_err();
        assert_eq!((e.sector, e.below_flushed), (39, false));
        assert_eq!(
            e.found,
            "a torn write: its pattern up to byte 256, zeros after"
        );

        let mut misplaced = image(64, 32);
        let at = 45 * SECTOR_BYTES;
        misplaced[at..at + SECTOR_BYTES].copy_from_slice(&sector_pattern(44));
        let e = check_image(&misplaced, 32).unwrap_err();
        assert_eq!(e.found, "the pattern of sector 44");

        let mut garbage = image(64, 32);
        garbage[10 * SECTOR_BYTES + 7] ^= 1;
        let e = check_image(&garbage, 32).unwrap_err();
        assert_eq!(e.sector, 10);
        assert!(
            e.found.contains("first difference at byte 7"),
            "{}",
            e.found
        );
    }

    #[test]
    fn seeds_come_from_the_option_and_bad_ones_are_one_line() {
        assert_eq!(soak_seed(Some("0x1f")), Ok(31));
        assert_eq!(soak_seed(Some("42")), Ok(42));
        let e = soak_seed(Some("zz")).unwrap_err();
        assert!(e.starts_with("--seed zz:") && !e.contains('\n'), "{e}");
        assert_ne!(soak_seed(None), Ok(0));
        let e = command(0, None, || panic!("nothing is provisioned for bad input")).unwrap_err();
        assert_eq!(e, "--runs 0: give at least one run");
    }

    #[test]
    fn kill_delays_replay_from_the_seed_and_stay_below_the_maximum() {
        let a = kill_delays(0x5EED, 50);
        assert_eq!(a, kill_delays(0x5EED, 50));
        assert_ne!(a, kill_delays(0x5EEE, 50));
        assert!(a.iter().all(|d| *d < MAX_KILL_DELAY));
    }
}
