//! `cargo xtask fuzz`: coverage-guided fuzzing of what a guest (or the media
//! it boots from) feeds the hypervisor: the instruction emulator, the IDE
//! controller with bus-master DMA, the BIOS services, the El Torito parser,
//! the BIOS trap path, the XenStore ring, the Xen hypercall dispatcher and
//! the interrupt fabric with the ACPI PM registers (local and I/O APIC).
//! The targets are the `fuzz/` crate (its own workspace, so the
//! workspace's tests and clippy never build it).
//!
//! The fuzzer is libFuzzer on the pinned stable toolchain: the
//! `libfuzzer-sys` crate builds libFuzzer from its bundled sources with the
//! system C++ compiler (Debian's `g++`, provisioned here), and the targets
//! are compiled with the SanitizerCoverage flags `cargo fuzz build
//! --sanitizer none` passes ([`SANCOV_FLAGS`]: inline 8-bit counters, the PC
//! table, comparison tracing), which are stable `-C` options. Nothing else is
//! installed: no cargo-fuzz, no nightly. The fuzz profile keeps debug
//! assertions and overflow checks, so an overflow is a finding.
//!
//! Everything the runs leave is under `target/fuzz/`: the instrumented build
//! (`build/`), each target's corpus (`corpus/TARGET/`, grown across runs and
//! seeded by the target itself), what libFuzzer found (`artifacts/TARGET/`)
//! and its full output (`logs/TARGET.log`). A finding is reported in one
//! line with its reproducer and the command that replays it.

use crate::packages::Need;
use crate::provision::{provision, Toolchain};
use crate::workspace_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One fuzz target: a binary of the `fuzz/` crate.
#[derive(Debug)]
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    /// Longest input libFuzzer makes for it.
    pub max_len: usize,
}

/// Every target, in the order `all` and the smoke step run them.
pub const TARGETS: [Target; 10] = [
    Target {
        name: "emulator",
        about: "the instruction emulator: random instruction bytes and vCPU state, flat memory or the MMIO path through guest paging",
        max_len: 4096,
    },
    Target {
        name: "ide_dma",
        about: "the IDE controller: port scripts, PRD tables and ATAPI packets with bus-master DMA, a disk and a CD attached",
        max_len: 8192,
    },
    Target {
        name: "bios_handle",
        about: "firmware::bios::Bios::handle: any service, registers, memory and media contents, in sequences",
        max_len: 65536,
    },
    Target {
        name: "eltorito",
        about: "the El Torito parser on an arbitrary CD image",
        max_len: 65536,
    },
    Target {
        name: "bios_trap",
        about: "exits::handle_exit on the BIOS trap port from the ROM segment, on a domain built as the hypervisor builds it",
        max_len: 65536,
    },
    Target {
        name: "xenstore_ring",
        about: "the XenStore ring page of two hostile guests over one store: split and garbage requests, scribbled indices, kicks and flushes",
        max_len: 16384,
    },
    Target {
        name: "hypercall",
        about: "xen_services' hypercall dispatcher: any number, sub-op, arguments, privilege and mode over guest memory with a hole and a read-only range, between polls, console input and shutdown requests",
        max_len: 16384,
    },
    Target {
        name: "blkif_ring",
        about: "the PV block backend's engine: hostile request slots and ring indices, changing grants, indirect pages, a disk completing in any order or failing",
        max_len: 16384,
    },
    Target {
        name: "apic_pm",
        about: "two local APICs, the I/O APIC and the ACPI PM block wired as the modern PC: xAPIC MMIO at any offset and width, x2APIC/APIC-base/TSC-deadline MSRs, IPIs, acknowledge and EOI, pin levels, PM ports, the power button, time advancing",
        max_len: 16384,
    },
    Target {
        name: "pvh_start",
        about: "a PVH start's kernel module decoded and planned in guests of any RAM size with any command line, initrd and ACPI size, and its boot block",
        max_len: 16384,
    },
];

/// The SanitizerCoverage instrumentation libFuzzer feeds on, as `cargo fuzz
/// build --sanitizer none` passes it (all stable options).
pub const SANCOV_FLAGS: [&str; 7] = [
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
];

/// Seconds the smoke step of `cargo xtask test` fuzzes for, all targets
/// together (a new target shortens each one's share, not the step).
pub const SMOKE_TOTAL_SECS: u64 = 50;
/// Seconds each target runs in the smoke step: its share of
/// [`SMOKE_TOTAL_SECS`].
pub const SMOKE_SECS: u64 = SMOKE_TOTAL_SECS / TARGETS.len() as u64;
// The shares fit in the total, and each is still long enough to be worth it.
const _: () = assert!(SMOKE_SECS * (TARGETS.len() as u64) <= SMOKE_TOTAL_SECS && SMOKE_SECS >= 5);
/// Seconds a target runs when `--secs` is not given.
pub const DEFAULT_SECS: u64 = 60;
/// Longest one input may run before libFuzzer reports it as a hang.
pub const INPUT_TIMEOUT_SECS: u64 = 10;
/// Memory (RSS) above which libFuzzer reports an input as out-of-memory.
pub const RSS_LIMIT_MB: u64 = 2048;
/// The variable the targets read to write their seeds into their corpus
/// (the fuzz crate's `seeds::SEED_DIR_VAR`).
const SEED_DIR_VAR: &str = "VMM_FUZZ_SEEDS";
/// The host target the fuzz binaries are built for: naming it keeps
/// [`SANCOV_FLAGS`] off build scripts and proc macros.
const HOST_TARGET: &str = "x86_64-unknown-linux-gnu";

/// `cargo xtask fuzz`'s arguments.
#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// The target (see --list), or `all` to run each in turn.
    #[arg(required_unless_present = "list")]
    pub target: Option<String>,
    /// How long to fuzz each target, in seconds.
    #[arg(long, default_value_t = DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub secs: u64,
    /// List the targets.
    #[arg(long)]
    pub list: bool,
    /// Run one input (a reproducer the fuzzer wrote) through the target once
    /// and show what it does.
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    pub replay: Option<PathBuf>,
}

/// The `fuzz/` crate.
pub fn fuzz_crate() -> PathBuf {
    workspace_root().join("fuzz")
}

/// Where everything the fuzzing leaves goes: `target/fuzz/`.
pub fn out_dir() -> PathBuf {
    workspace_root().join("target").join("fuzz")
}

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The targets `name` selects: one, or every one for `all`.
pub fn select(name: &str) -> Result<Vec<&'static Target>, String> {
    if name == "all" {
        return Ok(TARGETS.iter().collect());
    }
    find(name).map(|t| vec![t]).ok_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        format!(
            "no fuzz target `{name}`: the targets are {} (or `all`)",
            names.join(", ")
        )
    })
}

/// `cargo xtask fuzz`: 0 when nothing was found, 1 for a finding (or a
/// replay that still fails), 3 when the fuzzing could not run.
pub fn command(args: &FuzzArgs) -> i32 {
    if args.list {
        for t in &TARGETS {
            println!("{:<12} {}", t.name, t.about);
        }
        return 0;
    }
    let name = args.target.as_deref().unwrap_or("all");
    let targets = match select(name) {
        Ok(t) => t,
        Err(e) => return setup_failed(&e),
    };
    if let Some(file) = &args.replay {
        let [target] = targets[..] else {
            return setup_failed("--replay needs one target, not `all`");
        };
        return match prepare().and_then(|bins| replay(&bins, target, file)) {
            Ok(true) => {
                eprintln!(
                    "xtask: fuzz {}: {} runs without a finding",
                    target.name,
                    file.display()
                );
                0
            }
            Ok(false) => {
                eprintln!(
                    "xtask: fuzz {}: {} still fails",
                    target.name,
                    file.display()
                );
                1
            }
            Err(e) => setup_failed(&e),
        };
    }
    let bins = match prepare() {
        Ok(b) => b,
        Err(e) => return setup_failed(&e),
    };
    match run_all(&bins, &targets, args.secs) {
        Ok(0) => 0,
        Ok(_) => 1,
        Err(e) => setup_failed(&e),
    }
}

fn setup_failed(message: &str) -> i32 {
    eprintln!("xtask: {message}");
    3
}

/// The smoke step of `cargo xtask test`: every target for [`SMOKE_SECS`];
/// an error names the findings (each already reported in its line).
pub fn smoke() -> Result<(), String> {
    let started = Instant::now();
    let bins = build()?;
    let built = started.elapsed();
    let targets: Vec<&Target> = TARGETS.iter().collect();
    let fuzzing = Instant::now();
    let findings = run_all(&bins, &targets, SMOKE_SECS)?;
    eprintln!(
        "xtask: fuzz smoke: {} targets x {SMOKE_SECS} s in {:.1} s (build {:.1} s)",
        targets.len(),
        fuzzing.elapsed().as_secs_f64(),
        built.as_secs_f64()
    );
    match findings {
        0 => Ok(()),
        n => Err(format!(
            "the fuzz smoke found {n} problem(s); each is reported above with its replay command"
        )),
    }
}

/// Installs the C++ compiler if needed, then builds the targets.
fn prepare() -> Result<PathBuf, String> {
    provision(Toolchain::Target, &[Need::Fuzz])?;
    build()
}

/// Builds every target with coverage instrumentation; returns the folder
/// of the binaries.
pub fn build() -> Result<PathBuf, String> {
    let build_dir = out_dir().join("build");
    eprintln!("xtask: building the fuzz targets (libFuzzer, SanitizerCoverage) ...");
    let manifest = fuzz_crate().join("Cargo.toml");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "--bins",
            "--target",
            HOST_TARGET,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", SANCOV_FLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the fuzz targets ({}) failed",
            manifest.display()
        ));
    }
    Ok(build_dir.join(HOST_TARGET).join("release"))
}

/// Runs `targets` for `secs` each, one line per target; returns the number
/// of findings.
fn run_all(bins: &Path, targets: &[&Target], secs: u64) -> Result<usize, String> {
    let mut findings = 0;
    for target in targets {
        let report = run_target(bins, target, secs)?;
        match &report.finding {
            None => eprintln!("xtask: fuzz {}", report.summary(target.name)),
            Some(f) => {
                findings += 1;
                eprintln!("xtask: fuzz {}", f.line(target.name, &report.log));
            }
        }
    }
    Ok(findings)
}

/// What one run of a target came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// libFuzzer's random seed (replays the run's choices).
    pub seed: Option<u64>,
    /// Inputs executed.
    pub runs: Option<u64>,
    /// Coverage points and corpus size at the last status line.
    pub coverage: Option<u64>,
    pub corpus: Option<u64>,
    pub finding: Option<Finding>,
    /// The run's full output.
    pub log: PathBuf,
    pub elapsed: Duration,
}

/// Something the fuzzer found: a panic (crash), a hang, memory exhaustion.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// "crash", "timeout", "oom", ...: the prefix of the reproducer's name.
    pub kind: String,
    /// The panic message, or libFuzzer's description.
    pub message: String,
    /// The input that reproduces it, if libFuzzer wrote one.
    pub reproducer: Option<PathBuf>,
}

impl RunReport {
    /// The line for a run that found nothing.
    pub fn summary(&self, target: &str) -> String {
        let n = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        format!(
            "{target}: no finding in {:.0} s: {} runs, coverage {}, corpus {} inputs (seed {})",
            self.elapsed.as_secs_f64(),
            n(self.runs),
            n(self.coverage),
            n(self.corpus),
            n(self.seed)
        )
    }
}

impl Finding {
    /// The one line that reports it: what, where the reproducer is, and how
    /// to replay it.
    pub fn line(&self, target: &str, log: &Path) -> String {
        let log = relative(log);
        match &self.reproducer {
            Some(file) => {
                let file = relative(file);
                format!(
                    "{target}: FOUND {}: {}; reproducer {file}; replay: cargo xtask fuzz {target} --replay {file} (output in {log})",
                    self.kind, self.message
                )
            }
            None => format!(
                "{target}: FOUND {}: {}; libFuzzer wrote no reproducer (output in {log})",
                self.kind, self.message
            ),
        }
    }
}

/// `path` relative to the workspace root where it lies inside it.
fn relative(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Fuzzes `target` for `secs` seconds with its corpus and seeds.
pub fn run_target(bins: &Path, target: &Target, secs: u64) -> Result<RunReport, String> {
    let out = out_dir();
    let corpus = out.join("corpus").join(target.name);
    let artifacts = out.join("artifacts").join(target.name);
    let logs = out.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let log = logs.join(format!("{}.log", target.name));
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
    let started = Instant::now();
    let mut child = Command::new(bins.join(target.name))
        .arg(&corpus)
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg(format!("-max_len={}", target.max_len))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .env(SEED_DIR_VAR, &corpus)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run the fuzz target {}: {e}", target.name))?;
    // libFuzzer stops itself; this is only a guard against a fuzzer that
    // does not (a hang it fails to report).
    let deadline = Duration::from_secs(secs + INPUT_TIMEOUT_SECS + 60);
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for the fuzz target {}: {e}", target.name))?
        {
            break Some(status);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut report = parse_log(&text);
    report.log = log;
    report.elapsed = started.elapsed();
    match status {
        Some(s) if s.success() => report.finding = None,
        Some(s) => {
            report.finding.get_or_insert(Finding {
                kind: "failure".into(),
                message: format!("the fuzzer exited with {s}"),
                reproducer: None,
            });
        }
        None => {
            report.finding = Some(Finding {
                kind: "hang".into(),
                message: format!(
                    "the fuzzer was still running {} s after its time was up and was stopped",
                    deadline.as_secs() - secs
                ),
                reproducer: None,
            })
        }
    }
    Ok(report)
}

/// Runs `file` through `target` once, its output on the terminal; true if
/// it ran without a finding.
pub fn replay(bins: &Path, target: &Target, file: &Path) -> Result<bool, String> {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    let status = Command::new(bins.join(target.name))
        .arg(file)
        .env("RUST_BACKTRACE", "1")
        .status()
        .map_err(|e| format!("cannot run the fuzz target {}: {e}", target.name))?;
    Ok(status.success())
}

/// What libFuzzer's output says: seed, runs, coverage, and a finding with
/// its reproducer (the finding is `None` unless the output reports one).
pub fn parse_log(text: &str) -> RunReport {
    let mut report = RunReport::default();
    let number_after = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut reproducer = None;
    let mut error = None;
    let mut panic = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("INFO: Seed:") {
            report.seed = number_after(line, "Seed:");
        } else if line.starts_with('#') && line.contains("cov: ") {
            report.coverage = number_after(line, "cov:");
            report.corpus = number_after(line, "corp:");
            report.runs = number_after(line, "#");
        } else if line.starts_with("Done ") {
            report.runs = number_after(line, "Done");
        } else if let Some(at) = line.find("Test unit written to ") {
            reproducer = Some(PathBuf::from(
                line[at + "Test unit written to ".len()..].trim(),
            ));
        } else if let Some(at) = line.find("ERROR: libFuzzer: ") {
            error.get_or_insert_with(|| line[at + "ERROR: libFuzzer: ".len()..].trim().to_string());
        } else if let Some(at) = line.find("panicked at ") {
            if panic.is_none() {
                let place = line[at + "panicked at ".len()..].trim_end_matches(':');
                let message = lines.get(i + 1).map_or("", |m| m.trim());
                panic = Some(format!("panicked at {place}: {message}"));
            }
        }
    }
    if reproducer.is_some() || error.is_some() || panic.is_some() {
        let kind = reproducer
            .as_ref()
            .and_then(|p: &PathBuf| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('-').next())
            .map(str::to_string)
            .unwrap_or_else(|| "crash".into());
        report.finding = Some(Finding {
            kind,
            message: panic.or(error).unwrap_or_else(|| "no message".into()),
            reproducer,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "\
INFO: Running with entropic power schedule (0xFF, 100).
INFO: Seed: 3249789451
INFO: Loaded 1 modules   (1111 inline 8-bit counters): 1111 [0x1, 0x2),
#2\tINITED cov: 181 ft: 190 corp: 3/48Kb exec/s: 0 rss: 27Mb
#1048576\tpulse  cov: 222 ft: 530 corp: 58/420Kb lim: 28705 exec/s: 116508 rss: 29Mb
#1373688\tDONE   cov: 223 ft: 537 corp: 60/436Kb lim: 28705 exec/s: 124880 rss: 29Mb
Done 1373688 runs in 11 second(s)
";

    const CRASH: &str = "\
INFO: Seed: 42
#2\tINITED cov: 181 ft: 190 corp: 3/48Kb exec/s: 0 rss: 27Mb

thread '<unnamed>' panicked at vmm-core/src/emulator/stack.rs:31:17:
attempt to add with overflow
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
==1234== ERROR: libFuzzer: deadly signal
    #0 0x55 in __sanitizer_print_stack_trace
NOTE: libFuzzer has rudimentary signal handlers.
SUMMARY: libFuzzer: deadly signal
MS: 2 ChangeBit-InsertByte-; base unit: 0123
artifact_prefix='/w/target/fuzz/artifacts/emulator/'; Test unit written to /w/target/fuzz/artifacts/emulator/crash-5f1e
Base64: AAEC
";

    #[test]
    fn a_clean_run_gives_its_seed_runs_coverage_and_corpus() {
        let r = parse_log(CLEAN);
        assert_eq!(r.seed, Some(3_249_789_451));
        assert_eq!(r.runs, Some(1_373_688));
        assert_eq!((r.coverage, r.corpus), (Some(223), Some(60)));
        assert_eq!(r.finding, None);
    }

    #[test]
    fn a_crash_gives_the_panic_and_the_reproducer() {
        let r = parse_log(CRASH);
        let f = r.finding.expect("a finding");
        assert_eq!(f.kind, "crash");
        assert_eq!(
            f.message,
            "panicked at vmm-core/src/emulator/stack.rs:31:17: attempt to add with overflow"
        );
        assert_eq!(
            f.reproducer.as_deref(),
            Some(Path::new("/w/target/fuzz/artifacts/emulator/crash-5f1e"))
        );
        let line = f.line("emulator", Path::new("/w/target/fuzz/logs/emulator.log"));
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.contains("replay: cargo xtask fuzz emulator --replay /w/target/fuzz/artifacts/emulator/crash-5f1e"),
            "{line}"
        );
    }

    #[test]
    fn a_timeout_is_named_after_its_reproducer() {
        let log = "==7== ERROR: libFuzzer: timeout after 10 seconds\n\
                   artifact_prefix='a/'; Test unit written to a/timeout-99\n";
        let f = parse_log(log).finding.expect("a finding");
        assert_eq!(f.kind, "timeout");
        assert_eq!(f.message, "timeout after 10 seconds");
    }

    #[test]
    fn all_selects_every_target_and_unknown_names_are_refused() {
        assert_eq!(select("all").unwrap().len(), TARGETS.len());
        assert_eq!(select("eltorito").unwrap()[0].name, "eltorito");
        let e = select("nope").unwrap_err();
        assert!(e.contains("emulator") && e.contains("all"), "{e}");
    }

    #[test]
    fn every_target_is_a_binary_of_the_fuzz_crate_with_seeds() {
        let manifest = std::fs::read_to_string(fuzz_crate().join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("\n[workspace]"),
            "the fuzz crate is its own workspace"
        );
        let seeds = std::fs::read_to_string(fuzz_crate().join("src/seeds.rs")).unwrap();
        assert!(seeds.contains(&format!("\"{SEED_DIR_VAR}\"")));
        for t in &TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{}\"", t.name)),
                "{} is not a [[bin]] of fuzz/Cargo.toml",
                t.name
            );
            assert!(fuzz_crate()
                .join("fuzz_targets")
                .join(format!("{}.rs", t.name))
                .is_file());
            assert!(
                seeds.contains(&format!("\"{}\" =>", t.name)),
                "{} has no seeds",
                t.name
            );
        }
    }

    #[test]
    fn the_workspace_does_not_build_the_fuzz_crate() {
        let root = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        let members = root
            .lines()
            .filter(|l| l.starts_with("members") || l.starts_with("default-members"));
        for line in members {
            assert!(!line.contains("\"fuzz\""), "{line}");
        }
    }
}
