//! `cargo xtask`: build, run and test the hypervisor.

use clap::{Parser, Subcommand};
use regex::Regex;
use std::process::{Command, ExitCode};
use std::time::Duration;
use xtask::build::{build_hypervisor, HV_ELF_ENV};
use xtask::guests;
use xtask::packages::{Need, ALL_NEEDS};
use xtask::provision::{provision, Toolchain};
use xtask::qemu::Accel;
use xtask::runner::{
    catch_ctrl_c, parse_on_off, run, Console, DiskImage, Emulator, Loader, Outcome, RunOptions,
    BIOS_GUEST, DEFAULT_SHUTDOWN_GRACE,
};
use xtask::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, boot and test the hypervisor")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the bare-metal hypervisor image.
    Build {
        /// Build with optimizations.
        #[arg(long)]
        release: bool,
    },
    /// Boot the hypervisor in QEMU with a guest.
    Run(Box<RunArgs>),
    /// Run every check: formatting, unsafe audit, clippy, unit tests, QEMU integration tests.
    Test {
        /// Skip formatting, the unsafe audit and clippy (tests only).
        #[arg(long)]
        no_lint: bool,
    },
    /// List the built-in guests.
    Guests,
    /// Build target/guests/linux.iso: Debian's stock kernel, busybox and ISOLINUX on a bootable CD.
    MakeLinuxIso {
        /// Rebuild the ISO even when it is up to date (downloaded packages are kept).
        #[arg(long)]
        force: bool,
    },
    /// Check that `unsafe` appears only in the files xtask/src/unsafe_audit.rs allows.
    AuditUnsafe {
        /// The checkout to audit [default: the workspace xtask is built from].
        #[arg(long, value_name = "DIR")]
        root: Option<std::path::PathBuf>,
    },
    /// Run a benchmark and print its ratios.
    Bench {
        #[arg(value_enum)]
        what: BenchKind,
        /// `disk`, `io`: tiny sizes (a 32 MiB image, 4 MiB sequential, 0.5 s random), to see it work.
        #[arg(long)]
        quick: bool,
        /// `disk`, `io`: only these paths, comma-separated (ide-pio, ide-dma, ide-dma-mem, pv, qemu-virtio, qemu-ide).
        #[arg(long, value_delimiter = ',', value_name = "PATHS")]
        paths: Vec<String>,
    },
    /// Coverage-guided fuzzing (libFuzzer) of a target, or `all` in turn; `--list` lists them.
    Fuzz(xtask::fuzz::FuzzArgs),
    /// Soak tests: `disks` kills QEMU at random moments while a guest streams
    /// flushed writes to its disk, and checks every flushed sector survived.
    Soak(xtask::soak_disks::SoakArgs),
}

/// The benchmarks.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum BenchKind {
    /// Instruction emulator: decode+execute cost beside the decode alone.
    Emulate,
    /// Boot time of FreeDOS and Linux nested on the hypervisor beside QEMU alone.
    Boot,
    /// Linux guest disk I/O through emulated IDE (PIO, DMA, in-memory) beside plain QEMU's virtio-blk and IDE.
    Disk,
    /// Linux guest disk I/O through the PV block device beside emulated IDE and plain QEMU, with issue 14's ratios, targets and plot.
    Io,
}

#[derive(clap::Args)]
struct RunArgs {
    /// A domain described the way `xl create` takes it (xl.cfg: type =
    /// "hvm", name, memory, vcpus, disk = [ ... ], boot, acpi,
    /// xen_platform_pci, on_poweroff/on_reboot/on_crash); keys without
    /// effect here are named. Options given here win over the file's;
    /// relative paths are from the file's folder. See examples/.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Built-in test guest to boot (see `cargo xtask guests`); `bios` boots
    /// --iso/--disk/--floppy through the emulated BIOS, which is the default
    /// when any of those is given.
    #[arg(long)]
    guest: Option<String>,
    /// Guest RAM in MiB, 1 to 3072 [default: 256 for BIOS guests, 16 for built-in guests].
    #[arg(long)]
    mem: Option<u64>,
    /// QEMU acceleration: auto uses KVM only where it offers nested SVM or VMX.
    #[arg(long, value_enum, default_value = "auto")]
    accel: Accel,
    /// How QEMU loads the hypervisor: `kernel` (-kernel, Multiboot) or `grub` (a GRUB ISO, Multiboot2).
    #[arg(long, value_enum, default_value = "kernel")]
    loader: Loader,
    /// The emulator: QEMU, or Bochs (VT-x and a second SVM; boots the GRUB ISO).
    #[arg(long, value_enum, default_value = "qemu")]
    emulator: Emulator,
    /// The CPU Bochs emulates: intel (VT-x with EPT) or amd (SVM with NRIP-save).
    #[arg(long, value_enum, default_value = "intel")]
    cpu: xtask::bochs::BochsCpu,
    /// Give up after this many seconds [default: 60, or no limit for an
    /// interactive BIOS guest run without --expect].
    #[arg(long)]
    timeout: Option<u64>,
    /// Regular expression the guest console (serial or mirrored screen) must
    /// match; repeat for several, matched in order.
    #[arg(long)]
    expect: Vec<String>,
    /// Text to type once the `--expect`s before it on the command line have
    /// matched; `\r` is Enter (also `\n`, `\t`, `\\`, `\xNN`).
    #[arg(long)]
    send: Vec<String>,
    /// Disk image, FILE or FILE,ro (read-only); repeat for up to 3 disks, on
    /// the IDE primary master (BIOS drive 80h), primary slave (81h) and
    /// secondary slave (82h): sda, sdb, sdc, or xvda, xvdb, xvdc through the
    /// Xen PV disk. Under QEMU the hypervisor drives each as a host
    /// virtio-blk device: what the guest writes reaches the file (flushed to
    /// the host's disk when the guest flushes). Under Bochs (no virtio) it
    /// is copied into memory and writes are discarded.
    #[arg(long, value_name = "FILE[,ro]")]
    disk: Vec<String>,
    /// ISO image for the ATAPI CD-ROM (IDE secondary master), read-only.
    #[arg(long, value_name = "FILE")]
    iso: Option<std::path::PathBuf>,
    /// Floppy image (drive A: through INT 13h), attached read-only.
    #[arg(long, value_name = "FILE")]
    floppy: Option<std::path::PathBuf>,
    /// Keep the image files unchanged: the guest's writes go to a temporary
    /// overlay (QEMU's snapshot=on on each drive) and are gone at the end.
    #[arg(long)]
    snapshot: bool,
    /// BIOS boot order: a comma-separated list of cd, disk, floppy.
    #[arg(long, value_name = "ORDER")]
    boot: Option<String>,
    /// Terminal input goes to the guest's PS/2 keyboard instead of its COM1.
    #[arg(long)]
    keyboard: bool,
    /// The guest console terminal input goes to: ttyS0 (COM1) or hvc0 (the
    /// Xen PV console, which needs --xen on; the Linux ISO starts a shell on
    /// it). Output of both appears here either way.
    #[arg(long, value_name = "ttyS0|hvc0", default_value = "ttyS0")]
    console: String,
    /// Offer the guest the Xen HVM interface (Xen CPUID leaves, hypercalls,
    /// XenStore, the PV console hvc0): on or off; off gives a plain PC.
    #[arg(long, value_name = "on|off", default_value = "on")]
    xen: String,
    /// The board: on, the modern PC (local APIC, I/O APIC, ACPI tables and
    /// power management; `poweroff` ends the run through ACPI S5); off, the
    /// PC/AT with its 8259 pair only, like QEMU's -no-acpi.
    #[arg(long, value_name = "on|off", default_value = "on")]
    acpi: String,
    /// A reset the guest requests (8042 pulse, port 92h, CF9h) ends the run
    /// with exit code 0 instead of rebooting the guest, like QEMU's
    /// -no-reboot. A triple fault stops and reports the guest either way.
    #[arg(long)]
    no_reboot: bool,
    /// Ctrl-C asks the guest to shut down (control/shutdown = poweroff, as
    /// `xl shutdown` does); a second Ctrl-C, or this many seconds without
    /// the guest stopping, stops it (exit status 130). QEMU only.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE.as_secs())]
    shutdown_grace: u64,
    /// Print exit statistics (count and handling cycles per exit reason) when the guest stops.
    #[arg(long)]
    stats: bool,
    /// Show the hypervisor's log after the run.
    #[arg(long)]
    log: bool,
    /// Hypervisor log level.
    #[arg(long, default_value = "info", value_parser = ["error", "warn", "info", "debug", "trace"])]
    log_level: String,
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // Where each --send stands among the --expects decides when it is typed.
    let send_after: Vec<usize> = matches
        .subcommand_matches("run")
        .map(|m| {
            let expects: Vec<usize> = m
                .indices_of("expect")
                .map(Iterator::collect)
                .unwrap_or_default();
            m.indices_of("send")
                .map(|sends| {
                    sends
                        .map(|s| expects.iter().filter(|e| **e < s).count())
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let code = match cli.command {
        Cmd::Build { release } => {
            match provision(Toolchain::Target, &[]).and_then(|()| build_hypervisor(release, None)) {
                Ok(p) => {
                    println!("{}", p.display());
                    0
                }
                Err(e) => fail(&e),
            }
        }
        Cmd::Run(mut args) => {
            let given = |id: &str| {
                matches
                    .subcommand_matches("run")
                    .and_then(|m| m.value_source(id))
                    == Some(clap::parser::ValueSource::CommandLine)
            };
            match apply_config(&mut args, given("xen"), given("acpi")) {
                Ok(()) => run_command(*args, &send_after),
                Err(e) => fail(&e),
            }
        }
        Cmd::Test { no_lint } => test_command(no_lint),
        Cmd::Bench {
            what: BenchKind::Emulate,
            ..
        } => {
            if step(
                "cargo bench -p vmm-core --bench emulate",
                cargo().args(["bench", "-q", "-p", "vmm-core", "--bench", "emulate"]),
            ) {
                0
            } else {
                fail("the emulator benchmark failed")
            }
        }
        Cmd::Bench {
            what: BenchKind::Boot,
            ..
        } => match provision(Toolchain::Target, &[Need::Qemu, Need::GuestMedia])
            .and_then(|()| xtask::bench_boot::run_bench(None))
        {
            Ok(_) => 0,
            Err(e) => fail(&e),
        },
        Cmd::Bench {
            what: BenchKind::Disk,
            quick,
            paths,
        } => match xtask::bench_disk::command(xtask::bench_disk::Report::Disk, quick, paths) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        },
        Cmd::Bench {
            what: BenchKind::Io,
            quick,
            paths,
        } => match xtask::bench_disk::command(xtask::bench_disk::Report::Io, quick, paths) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        },
        Cmd::MakeLinuxIso { force } => match provision(Toolchain::Target, &[Need::GuestMedia])
            .and_then(|()| xtask::linux_iso::make_linux_iso(force))
        {
            Ok(p) => {
                println!("{}", p.display());
                0
            }
            Err(e) => fail(&e),
        },
        Cmd::AuditUnsafe { root } => audit_unsafe(&root.unwrap_or_else(workspace_root)),
        Cmd::Fuzz(args) => xtask::fuzz::command(&args),
        Cmd::Soak(args) => xtask::soak_disks::soak_command(&args),
        Cmd::Guests => {
            for g in guests::BUILTIN_GUESTS {
                println!("{:<14} {}", g.name, g.about);
            }
            0
        }
    };
    ExitCode::from(code as u8)
}

fn fail(message: &str) -> i32 {
    eprintln!("xtask: {message}");
    3
}

/// Turns `\r`, `\n`, `\t`, `\\` and `\xNN` into the bytes they name.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            Some(other) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

/// Guest RAM for BIOS guests when `--mem` is not given: enough for the
/// Linux ISO's kernel and initramfs, and plenty for DOS.
const DEFAULT_BIOS_MEM_MIB: u64 = 256;
/// "No limit": a year.
const NO_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// Fills what `--config` describes into the options the command line left
/// unset (the command line wins, as `xl create cfg KEY=VALUE`), and names
/// the settings without effect here on one line.
fn apply_config(args: &mut RunArgs, xen_given: bool, acpi_given: bool) -> Result<(), String> {
    let Some(path) = &args.config else {
        return Ok(());
    };
    let dom = xtask::xl_config::load(path)?;
    if let Some(name) = &dom.name {
        eprintln!("xtask: domain {name} from {}", path.display());
    }
    if !dom.ignored.is_empty() {
        eprintln!(
            "xtask: {}: without effect here: {}",
            path.display(),
            dom.ignored.join("; ")
        );
    }
    args.mem = args.mem.or(dom.mem_mib);
    if args.disk.is_empty() {
        args.disk = dom
            .disks
            .iter()
            .map(|d| {
                let file = d.path.display().to_string().replace(',', ",,");
                if d.read_only {
                    format!("{file},ro")
                } else {
                    file
                }
            })
            .collect();
    }
    if args.iso.is_none() {
        args.iso = dom.iso;
    }
    if args.boot.is_none() {
        args.boot = dom.boot;
    }
    let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
    if let (false, Some(x)) = (xen_given, dom.xen) {
        args.xen = on_off(x);
    }
    if let (false, Some(a)) = (acpi_given, dom.acpi) {
        args.acpi = on_off(a);
    }
    args.no_reboot |= dom.no_reboot;
    Ok(())
}

fn run_command(args: RunArgs, send_after: &[usize]) -> i32 {
    let mut expect = Vec::new();
    for e in &args.expect {
        match Regex::new(e) {
            Ok(r) => expect.push(r),
            Err(err) => {
                return fail(&format!(
                    "--expect {e:?} is not a valid regular expression: {err}"
                ))
            }
        }
    }
    let console = match Console::parse(&args.console) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let xen = match parse_on_off("--xen", &args.xen) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let acpi = match parse_on_off("--acpi", &args.acpi) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let disks = match DiskImage::parse_all(&args.disk) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let media = args.iso.is_some() || !disks.is_empty() || args.floppy.is_some();
    if let Err(e) = provision(Toolchain::Target, &run_needs(&args, media)) {
        return fail(&e);
    }
    let mut iso = args.iso;
    let guest = match args.guest {
        Some(g) => g,
        None if media => BIOS_GUEST.into(),
        // The default guest: the Linux ISO of `make-linux-iso`, built on first use.
        None => match xtask::linux_iso::make_linux_iso(false) {
            Ok(path) => {
                iso = Some(path);
                BIOS_GUEST.into()
            }
            Err(e) => return fail(&format!("cannot build the default Linux ISO: {e}")),
        },
    };
    let bios = guest == BIOS_GUEST;
    let mem_mib = args
        .mem
        .unwrap_or(if bios { DEFAULT_BIOS_MEM_MIB } else { 16 });
    let timeout = match args.timeout {
        Some(secs) => Duration::from_secs(secs),
        // An interactive session with a BIOS guest lasts until the user quits.
        None if bios && expect.is_empty() => Duration::from_secs(NO_TIMEOUT_SECS),
        None => Duration::from_secs(60),
    };
    let opts = RunOptions {
        guest,
        mem_mib,
        accel: args.accel,
        loader: args.loader,
        emulator: args.emulator,
        bochs_cpu: args.cpu,
        timeout,
        expect,
        stats: args.stats,
        stats_every_ms: None,
        log_level: args.log_level,
        echo: true,
        target_dir: None,
        qemu_cpu: None,
        selftest: None,
        disk: None,
        iso,
        floppy: args.floppy,
        snapshot: args.snapshot,
        disk_faults: None,
        disk_in_memory: false,
        boot: args.boot,
        input: Vec::new(),
        send: args
            .send
            .iter()
            .zip(send_after.iter().chain(std::iter::repeat(&0)))
            .map(|(t, n)| (*n, unescape(t)))
            .collect(),
        keyboard: args.keyboard,
        console,
        xen,
        acpi,
        until_stopped: false,
        no_reboot: args.no_reboot,
        shutdown_after: None,
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        kill_after: None,
        ..RunOptions::default()
    }
    .with_disks(disks);
    // From here Ctrl-C asks the guest to shut down (runner::control).
    if let Err(e) = catch_ctrl_c() {
        return fail(&e);
    }
    let report = match run(&opts) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if args.log {
        eprintln!(
            "--- hypervisor log ({}) ---\n{}",
            report.hv_log_path.display(),
            report.hv_log.trim_end()
        );
    }
    if args.stats {
        match report.stats() {
            Some(s) => eprintln!("{s}"),
            None => eprintln!("xtask: the hypervisor printed no exit statistics (it did not reach the guest's end)"),
        }
    }
    let tail = || {
        eprintln!(
            "--- last 40 lines of guest output ---\n{}",
            report.console_tail(40)
        )
    };
    match &report.outcome {
        Outcome::ExpectationsMet => eprintln!("xtask: every expectation matched"),
        Outcome::GuestFinished => eprintln!("xtask: guest finished"),
        Outcome::ExpectationsUnmet { pending, .. } => {
            eprintln!(
                "xtask: the machine stopped before the guest printed a match for {pending:?}"
            );
            tail();
        }
        Outcome::GuestFailed => {
            eprintln!("xtask: the guest failed; the hypervisor's report:");
            print_errors(&report.hv_log);
        }
        Outcome::HypervisorFailed => {
            eprintln!("xtask: the hypervisor failed:");
            print_errors(&report.hv_log);
        }
        Outcome::EmulatorFailed { status, stderr } => {
            eprintln!(
                "xtask: QEMU exited with status {status:?}: {}",
                stderr.trim()
            );
        }
        Outcome::Timeout => {
            eprintln!("xtask: timed out after {} s", timeout.as_secs());
            eprintln!("{}", report.timeout_report().unwrap_or_default());
        }
        // The runner said why when it stopped the guest.
        Outcome::Interrupted { .. } => {}
    }
    report.outcome.exit_code()
}

/// What a run with these arguments uses from the host.
fn run_needs(args: &RunArgs, media: bool) -> Vec<Need> {
    let mut needs = Vec::new();
    match args.emulator {
        Emulator::Qemu => needs.push(Need::Qemu),
        Emulator::Bochs => needs.extend([Need::Bochs, Need::GrubIso]),
    }
    if args.loader == Loader::Grub {
        needs.push(Need::GrubIso);
    }
    // Without a guest or media the default Linux ISO is built.
    if args.guest.is_none() && !media {
        needs.push(Need::GuestMedia);
    }
    needs
}

/// Prints the error part of the hypervisor log: error lines and the register dump after them.
fn print_errors(log: &str) {
    let start = log
        .lines()
        .position(|l| l.starts_with("[ERROR]"))
        .unwrap_or(0);
    for line in log
        .lines()
        .skip(start)
        .filter(|l| !l.starts_with("[INFO ]"))
    {
        eprintln!("  {line}");
    }
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

fn step(name: &str, cmd: &mut Command) -> bool {
    eprintln!("xtask: {name}");
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// The unsafe audit of the checkout at `root`: a summary line, or one line
/// per offending file and a failure.
fn audit_unsafe(root: &std::path::Path) -> i32 {
    match xtask::unsafe_audit::check(root) {
        Ok(summary) => {
            eprintln!("xtask: {summary}");
            0
        }
        Err(problems) => {
            for line in problems.lines() {
                eprintln!("xtask: {line}");
            }
            fail("the unsafe audit failed")
        }
    }
}

fn test_command(no_lint: bool) -> i32 {
    // Everything the suite uses, once and serially, before any lint, build or
    // test: tests themselves never install anything.
    if let Err(e) = provision(Toolchain::TargetAndLinters, &ALL_NEEDS) {
        return fail(&e);
    }
    eprintln!("xtask: the Linux test ISO");
    if let Err(e) = xtask::linux_iso::make_linux_iso(false) {
        return fail(&format!("cannot build the Linux test ISO: {e}"));
    }
    eprintln!("xtask: the iPXE test ISO");
    if let Err(e) = xtask::ipxe::ipxe_iso() {
        return fail(&format!("cannot fetch the iPXE test ISO: {e}"));
    }
    if !no_lint {
        if !step(
            "cargo fmt --check",
            cargo().args(["fmt", "--all", "--", "--check"]),
        ) {
            return fail("formatting differs: run `cargo fmt --all`");
        }
        eprintln!("xtask: unsafe audit");
        if audit_unsafe(&workspace_root()) != 0 {
            return 3;
        }
        if !step(
            "clippy (host)",
            cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ) {
            return fail("clippy found problems in the host build");
        }
        if !step(
            "clippy (bare metal)",
            cargo().args([
                "clippy",
                "-p",
                "vmm-core",
                "--bin",
                "vmm",
                "--target",
                "x86_64-unknown-none",
                "--",
                "-D",
                "warnings",
            ]),
        ) {
            return fail("clippy found problems in the bare-metal build");
        }
    }
    let hv = match build_hypervisor(true, None) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    eprintln!("xtask: cargo test --workspace");
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).env(HV_ELF_ENV, &hv);
    let (ok, passed, failed) = match run_counting_tests(&mut cmd) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // One closing line over every test binary, so the total is not lost among
    // the per-binary summaries (the last of which is often an empty doc-test run).
    println!("tests: {passed} passed, {failed} failed");
    if !ok || failed > 0 {
        return fail("tests failed");
    }
    eprintln!("xtask: fuzz smoke");
    if let Err(e) = xtask::fuzz::smoke() {
        return fail(&e);
    }
    0
}

/// Runs a `cargo test` command, passing its output through, and adds up the
/// "test result" lines: (success, passed, failed).
fn run_counting_tests(cmd: &mut Command) -> Result<(bool, u64, u64), String> {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading cargo test output: {e}"))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count_before(rest, "passed");
            failed += count_before(rest, "failed");
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    Ok((ok, passed, failed))
}

/// In "ok. 5 passed; 0 failed; ...", the number before `word`.
fn count_before(summary: &str, word: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            let mut words = part.split_whitespace().rev();
            (words.next() == Some(word)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod unescape_tests {
    use super::unescape;

    #[test]
    fn escapes_become_bytes() {
        assert_eq!(unescape(r"dir\r"), b"dir\r");
        assert_eq!(unescape(r"a\tb\\c\x41"), b"a\tb\\cA");
    }
}

#[cfg(test)]
mod cli_tests {
    use super::{Cli, Cmd};
    use clap::{CommandFactory, Parser};

    #[test]
    fn help_says_where_disk_writes_go_and_snapshot_keeps_the_files() {
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--disk", "d.img", "--snapshot"])
            .expect("--snapshot parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert!(args.snapshot);
        let cli = Cli::try_parse_from(["x", "run", "--disk", "a.img", "--disk", "b.img,ro"])
            .expect("--disk repeats");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!(args.disk, ["a.img", "b.img,ro"]);
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        assert!(help.contains("virtio-blk"), "{help}");
        assert!(help.contains("Bochs"), "{help}");
        assert!(help.contains("writes are discarded"), "{help}");
        assert!(help.contains("snapshot=on"), "{help}");
        assert!(
            help.contains("FILE[,ro]") && help.contains("up to 3 disks"),
            "{help}"
        );
    }

    #[test]
    fn no_reboot_is_a_run_option_whose_help_says_a_triple_fault_still_stops() {
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--guest", "reset", "--no-reboot"])
            .expect("--no-reboot parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert!(args.no_reboot);
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        assert!(help.contains("--no-reboot"), "{help}");
        assert!(help.contains("triple fault"), "{help}");
    }

    #[test]
    fn xen_and_console_are_run_options_with_their_defaults_in_the_help() {
        let cli = Cli::try_parse_from(["cargo xtask", "run"]).expect("a bare run parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!((args.xen.as_str(), args.console.as_str()), ("on", "ttyS0"));
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--xen", "off", "--console", "hvc0"])
            .expect("--xen and --console parse");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!((args.xen.as_str(), args.console.as_str()), ("off", "hvc0"));
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        for needle in [
            "--xen <on|off>",
            "--console <ttyS0|hvc0>",
            "[default: on]",
            "[default: ttyS0]",
        ] {
            assert!(help.contains(needle), "{needle}: {help}");
        }
    }
}
